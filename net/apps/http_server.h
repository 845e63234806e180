/* The HTTP/1.1 demo server (SPEC.md "HTTP") on lwIP's raw TCP API.
 * Main loop only, like every lwIP call. */
#ifndef NET_HTTP_SERVER_H
#define NET_HTTP_SERVER_H

#include <stdint.h>

#ifndef HTTP_MAX_CONNS
#define HTTP_MAX_CONNS 256          /* connection states in the fixed pool (~2.7 KiB each) */
#endif
#define HTTP_IDLE_TIMEOUT_MS   30000 /* nothing received, nothing to send */
#define HTTP_HEADER_TIMEOUT_MS 10000 /* from a request's first byte to its end */
#define HTTP_SEND_TIMEOUT_MS   60000 /* response queued, peer acks nothing */
#define HTTP_LINGER_TIMEOUT_MS  5000 /* after our FIN, waiting for the peer's */

/* Listens on port (any address). 0 on success, -1 (logged) on failure. */
int http_server_start(uint16_t port);

#endif
