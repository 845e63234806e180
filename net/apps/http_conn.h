/* One HTTP connection's state, shared by the server (net/apps/http_server.c:
 * lwIP callbacks, sending, lifetime) and its responses (net/apps/http_routes.c).
 * Main loop only. */
#ifndef NET_HTTP_CONN_H
#define NET_HTTP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "net/apps/http_parser.h"

#define HDR_MAX           256
#define JSON_MAX          4096              /* > longest /stats.json (unit test) */

enum conn_state {
    C_FREE,
    C_OPEN,     /* idle or reading a request */
    C_SENDING,  /* a response is being queued */
    C_LINGER,   /* our FIN is queued; discarding input until the peer's FIN */
};

enum body_kind { B_NONE, B_ROM, B_COPY, B_PATTERN };

struct http_conn {
    struct tcp_pcb *pcb;
    uint8_t state;
    uint8_t body_kind;
    bool close_after;       /* end the connection once the response is queued */
    bool in_progress;       /* mid-request (see http_parser_in_progress) */
    bool mem_wait;          /* tcp_write failed for lack of segments/pbufs/heap */
    struct pbuf *rx;        /* received, not yet parsed */
    uint32_t last_ms;       /* last byte received or acked: idle/linger timers */
    uint32_t ack_ms;        /* last acknowledged progress: the send timeout */
    uint32_t acked;         /* bytes acked since ack_ms */
    uint32_t rx_cost;       /* heap c->rx takes (rx_cost()), as of its last change */
    uint32_t req_start_ms;  /* first byte of the current request */
    uint16_t hdr_len, hdr_off;
    uint32_t body_len, body_off;
    const uint8_t *body;    /* B_ROM: read-only for ever, safe to send zero-copy */
    struct http_parser parser;
    char hdr[HDR_MAX];
    char json[JSON_MAX];    /* B_COPY body: copied into lwIP by tcp_write */
};

/* Sets up the response to request r (state C_SENDING); the server queues it. */
void http_route(struct http_conn *c, const struct http_request *r);
/* The same for an error status (404, 405, 500; anything else: 400 + close). */
void http_respond_error(struct http_conn *c, const struct http_request *r, int code);

#endif
