/* HTTP/1.1 server on lwIP's raw TCP API. Everything runs in lwIP callbacks
 * from the main loop (tcp_input, tcp_slowtmr), never blocking: a response is
 * queued as far as the send buffer allows and continued from the sent and
 * poll callbacks, so /bytes/N of 1 GiB streams in a few KiB of state.
 *
 * Per connection: received bytes are parsed at once unless a response is
 * still being queued; then they are held (at most HTTP_RX_HOLD_MAX of heap
 * per connection and HTTP_RX_HOLD_TOTAL for all, counted as the memory the
 * pbufs really take, not payload bytes: a 1-byte segment costs a pbuf; beyond
 * that lwIP keeps one segment as refused data and the window closes) and parsed
 * once the response is fully queued, which keeps pipelined requests in
 * order. tcp_recved() follows parsing, so the peer's window is our
 * back-pressure.
 *
 * Closing: after a response that ends the connection we shut down only our
 * side (FIN after the data) and keep reading and discarding until the
 * peer's FIN or HTTP_LINGER_TIMEOUT_MS: a full close with unread data would
 * make lwIP answer RST, and an RST can destroy the response before the
 * client reads it. */
#include "net/apps/http_server.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#include "kernel/log.h"
#include "net/apps/http_conn.h"
#include "net/apps/http_parser.h"
#include "net/guard/stall_guard.h"
#include "net/glue/stats.h"
#include "net/guard/tcp_guard.h"
#include "net/apps/tcp_room.h"

#define HTTP_POLL_TICKS   1                 /* tcp_poll interval: 500 ms */
#define HTTP_RX_HOLD_MAX  (16 * 1024)       /* heap held per connection while sending */
#define HTTP_RX_HOLD_TOTAL (MEM_SIZE / 4)    /* and by all connections */
#define RXBUF_COST        2048              /* a driver buffer (custom pbuf) */
#define MEM_OVERHEAD      16                /* lwIP's struct mem before each allocation */
#define PATTERN_LEN       (251 * 128)       /* /bytes/N source, any start mod 251 */

static struct http_conn conns[HTTP_MAX_CONNS];
static bool mem_waiters;    /* some conn has mem_wait set */
static unsigned mem_rr;     /* round-robin start for retrying them */
/* Never written after http_server_start(): segments reference it zero-copy
 * until acked, even after their connection is gone. */
static uint8_t pattern[PATTERN_LEN];

static err_t conn_process(struct http_conn *c);

/* ---- helpers ---- */

static bool expired(uint32_t now, uint32_t since, uint32_t ms)
{
    return (uint32_t)(now - since) >= ms;
}

/* Driver RX buffers (custom pbufs) must not stay pinned by a connection
 * that is not reading: copy them into the heap. Keeps the original if the
 * heap is short (it is bounded by HTTP_RX_HOLD_MAX anyway). */
static struct pbuf *rx_compact(struct pbuf *p)
{
    struct pbuf *q;

    for (q = p; q; q = q->next)
        if (q->flags & PBUF_FLAG_IS_CUSTOM)
            break;
    if (!q)
        return p;
    q = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
    if (!q)
        return p;
    pbuf_free(p);
    return q;
}

/* What a chain really takes: a heap pbuf is one allocation from its struct
 * to the end of its payload, a custom pbuf a whole driver buffer. */
static uint32_t rx_cost(const struct pbuf *p)
{
    uint32_t n = 0;
    for (; p; p = p->next)
        n += (p->flags & PBUF_FLAG_IS_CUSTOM)
                 ? RXBUF_COST
                 : (uint32_t)((const uint8_t *)p->payload + p->len - (const uint8_t *)p) +
                       MEM_OVERHEAD;
    return n;
}

static void rx_account(struct http_conn *c)
{
    c->rx_cost = rx_cost(c->rx);
}

/* May c hold n more bytes (copied into one heap pbuf)? */
static bool rx_may_hold(struct http_conn *c, uint32_t n)
{
    uint32_t add = LWIP_MEM_ALIGN_SIZE(sizeof(struct pbuf)) + LWIP_MEM_ALIGN_SIZE(n) + MEM_OVERHEAD;
    uint32_t total = add;

    rx_account(c);
    if (c->rx_cost + add > HTTP_RX_HOLD_MAX)
        return false;
    for (int i = 0; i < HTTP_MAX_CONNS; i++)
        total += conns[i].state == C_FREE ? 0 : conns[i].rx_cost;
    return total <= HTTP_RX_HOLD_TOTAL;
}

static void rx_consume(struct http_conn *c, size_t n)
{
    if (n) {
        c->rx = pbuf_free_header(c->rx, (u16_t)n);
        tcp_recved(c->pcb, (u16_t)n);
    }
    while (c->rx && c->rx->len == 0) {
        struct pbuf *next = c->rx->next;
        c->rx->next = NULL;     /* the chain's reference on next becomes ours */
        pbuf_free(c->rx);
        c->rx = next;
    }
}

static void rx_drop(struct http_conn *c)
{
    if (c->rx) {
        if (c->pcb)
            tcp_recved(c->pcb, c->rx->tot_len);
        pbuf_free(c->rx);
        c->rx = NULL;
    }
    c->rx_cost = 0;
}

/* ---- connection lifetime ---- */

static void conn_detach(struct http_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    rx_drop(c);
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
    c->pcb = NULL;
    c->state = C_FREE;
}

/* Returns ERR_ABRT if the pcb had to be aborted: a callback working on that
 * pcb must return it to lwIP. */
static err_t conn_abort(struct http_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    conn_detach(c);     /* first: tcp_abort calls the err callback */
    tcp_abort(pcb);
    return ERR_ABRT;
}

static err_t conn_close(struct http_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    /* A closing pcb lingers in FIN_WAIT for up to 20 s; at the lowest
     * priority lwIP's tcp_alloc may reclaim it for a new connection when
     * the pool runs dry (tcp_kill_prio), instead of refusing the SYN. */
    tcp_setprio(pcb, TCP_PRIO_MIN);
    conn_detach(c);
    if (tcp_close(pcb) != ERR_OK) {     /* lwIP retries a FIN it could not allocate itself; anything else: RST */
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static err_t conn_linger(struct http_conn *c)
{
    rx_drop(c);
    tcp_setprio(c->pcb, TCP_PRIO_MIN);
    if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK)  /* ERR_MEM is retried by lwIP itself */
        return conn_abort(c);
    c->state = C_LINGER;
    c->last_ms = sys_now();
    return ERR_OK;
}

/* Pool full: end the connection that has gone longest without progress and
 * is not sending. Lingering ones go first (they are done anyway); then age
 * since the last finished response for an idle one, since the first byte of
 * the request for one mid-request. A slowloris client that trickles bytes
 * therefore ages like a silent one, and a just-accepted client (age 0) goes
 * last: it is closed only if a whole pool's worth of connections arrives
 * before its request does.
 *
 * If every connection is a sender making progress, the one that made the
 * least goes anyway (longest since a segment's worth was acknowledged): a
 * fresh client must be served within 2 s, and a pool of readers that ACK a
 * byte a second is a slowloris on the send side that would otherwise refuse
 * every newcomer until STALL_EVICT_MS. A sender acknowledging at least a
 * segment per STALL_EVICT_MS stays ahead of one that does not. */
static uint32_t conn_stall_ms(const struct http_conn *c, uint32_t now)
{
    if (c->state == C_SENDING)
        return now - c->ack_ms;
    return now - (c->in_progress ? c->req_start_ms : c->last_ms);
}

static struct http_conn *conn_evict(void)
{
    struct http_conn *victim = NULL;
    uint32_t now = sys_now(), victim_age = 0;
    bool busy = false;      /* no victim by the rules above: least progress goes */

    for (int i = 0; i < HTTP_MAX_CONNS; i++) {
        struct http_conn *c = &conns[i];
        uint32_t age = conn_stall_ms(c, now);
        /* a sender whose peer acknowledged nothing for a while is idle too */
        if (c->state != C_OPEN && c->state != C_LINGER &&
            !(c->state == C_SENDING && age >= STALL_EVICT_MS))
            continue;
        if (!victim || (c->state == C_LINGER && victim->state != C_LINGER) ||
            (c->state == victim->state && age > victim_age)) {
            victim = c;
            victim_age = age;
        }
    }
    for (int i = 0; i < HTTP_MAX_CONNS && (!victim || busy); i++) {
        struct http_conn *c = &conns[i];
        uint32_t age = conn_stall_ms(c, now);
        if (c->state == C_SENDING && (!victim || age > victim_age)) {
            victim = c;
            victim_age = age;
            busy = true;
        }
    }
    if (victim && victim->state == C_SENDING) {
        log_debug("http: pool full, aborting a sender %s %u ms", busy ? "without progress for" : "stalled",
                  (unsigned)victim_age);
        tcp_guard.stalled_closed++;
        conn_abort(victim);     /* its unacked data would keep the pcb: RST */
    } else if (victim) {
        log_debug("http: pool full, closing a connection stalled %u ms", (unsigned)victim_age);
        conn_close(victim);
    }
    return victim;
}

/* Queues as much of the response as lwIP takes now. ERR_MEM (send buffer,
 * segment or pbuf pools exhausted) is not an error: the sent callback or
 * the next poll calls again. Any other error means the pcb cannot send. */
static err_t conn_send(struct http_conn *c)
{
    struct tcp_pcb *pcb = c->pcb;
    bool queued = false;
    err_t err = ERR_OK;

    c->mem_wait = false;
    while (c->hdr_off < c->hdr_len || c->body_off < c->body_len) {
        uint32_t room = tcp_sndbuf(pcb), n, left;
        const void *ptr;
        u8_t flags = 0;
        bool in_hdr = c->hdr_off < c->hdr_len;
        /* Queue at most the peer's window and two segments more: segments
         * are a pool all connections share, and a crowd of zero-window
         * peers would each pin a whole send buffer's worth of them. */
        uint32_t queued = TCP_SND_BUF - pcb->snd_buf;   /* tcp_sndbuf() clamps to 64K */
        uint32_t cap = pcb->snd_wnd + 2u * TCP_MSS;
        if (queued >= cap)
            break;
        if (room > cap - queued)
            room = cap - queued;

        if (in_hdr) {
            ptr = c->hdr + c->hdr_off;
            n = (uint32_t)(c->hdr_len - c->hdr_off);
            flags = TCP_WRITE_FLAG_COPY;
        } else if (c->body_kind == B_PATTERN) {
            uint32_t start = c->body_off % 251;
            ptr = pattern + start;
            n = c->body_len - c->body_off;
            if (n > PATTERN_LEN - start)
                n = PATTERN_LEN - start;
        } else {
            ptr = c->body + c->body_off;
            n = c->body_len - c->body_off;
            if (c->body_kind == B_COPY)
                flags = TCP_WRITE_FLAG_COPY;
        }
        /* at a small MSS the send queue, not the buffer, is the limit: a
         * write that needs more segments than it has left fails whole, for
         * ever if nothing is in flight to free some */
        uint32_t fits = tcp_room(pcb, TCP_SND_QUEUELEN, flags & TCP_WRITE_FLAG_COPY);
        if (room > fits)
            room = fits;
        if (room == 0)
            break;
        if (n > room)
            n = room;
        if (n > 0xffff)
            n = 0xffff;
        left = in_hdr ? (uint32_t)(c->hdr_len - c->hdr_off) - n + c->body_len
                      : c->body_len - c->body_off - n;
        if (left)
            flags |= TCP_WRITE_FLAG_MORE;   /* PSH only on a response's last segment */

        err = tcp_write(pcb, ptr, (u16_t)n, flags);
        if (err != ERR_OK) {
            if (err == ERR_MEM)     /* shared pools, not our send buffer */
                c->mem_wait = mem_waiters = true;
            break;
        }
        queued = true;
        if (in_hdr)
            c->hdr_off = (uint16_t)(c->hdr_off + n);
        else
            c->body_off += n;
    }
    if (queued)
        tcp_output(pcb);    /* no-op inside tcp_input for this pcb: lwIP outputs after */
    return err == ERR_MEM ? ERR_OK : err;
}

/* Continues the current response. Once it is fully queued, either ends the
 * connection or leaves it C_OPEN for the caller to parse what follows (a
 * loop, not a call back into conn_process: a burst of pipelined requests
 * must not recurse once per request). */
static err_t conn_flush(struct http_conn *c)
{
    err_t err = conn_send(c);

    if (err != ERR_OK)
        return conn_abort(c);
    if (c->hdr_off < c->hdr_len || c->body_off < c->body_len)
        return ERR_OK;
    if (c->close_after)
        return conn_linger(c);
    c->state = C_OPEN;
    return ERR_OK;
}

/* From the sent and poll callbacks: more room in the send buffer. */
static err_t conn_continue(struct http_conn *c)
{
    err_t err = conn_flush(c);

    if (err == ERR_OK && c->state == C_OPEN)
        err = conn_process(c);
    return err;
}

static err_t conn_process(struct http_conn *c)
{
    while (c->state == C_OPEN && c->rx) {
        size_t used;
        enum http_parse_status st = http_parser_feed(&c->parser, c->rx->payload, c->rx->len, &used);
        bool ip;

        rx_consume(c, used);
        ip = http_parser_in_progress(&c->parser);
        if (ip && !c->in_progress)
            c->req_start_ms = sys_now();
        c->in_progress = ip;

        if (st == HTTP_PARSE_DONE) {
            http_route(c, &c->parser.req);
            http_parser_next(&c->parser);
            if (http_parser_in_progress(&c->parser)) {  /* a body to skip */
                c->in_progress = true;
                c->req_start_ms = sys_now();
            }
        } else if (st == HTTP_PARSE_ERROR) {
            log_debug("http: 400: %s", c->parser.error);
            rx_drop(c);
            http_respond_error(c, NULL, 400);
        } else {
            continue;
        }
        err_t err = conn_flush(c);
        if (err != ERR_OK || c->state == C_FREE)
            return err;
    }
    /* held behind a response, or the start of a request: either way it
     * may wait for long (a slowloris crowd), not in a driver buffer */
    if (c->rx)
        c->rx = rx_compact(c->rx);
    return ERR_OK;
}

/* ---- lwIP callbacks ---- */

static err_t http_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct http_conn *c = arg;

    if (!c) {   /* cannot happen: detached pcbs have no callbacks */
        if (p)
            pbuf_free(p);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (!p) {   /* peer's FIN: nothing more will come */
        if (c->state == C_SENDING) {
            c->close_after = true;  /* finish this response, then FIN */
            rx_drop(c);
            return ERR_OK;
        }
        return conn_close(c);
    }
    if (err != ERR_OK || c->state == C_LINGER) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    c->last_ms = sys_now();
    if (c->state == C_SENDING) {
        if (c->close_after) {       /* nobody will parse it */
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
            return ERR_OK;
        }
        if (!rx_may_hold(c, p->tot_len))
            return ERR_MEM;         /* lwIP keeps p as refused data and retries */
        p = rx_compact(p);
    }
    if (c->rx)
        pbuf_cat(c->rx, p);
    else
        c->rx = p;
    err = conn_process(c);
    if (err == ERR_OK && c->state != C_FREE)
        rx_account(c);
    return err;
}

/* An ACK just returned segments, pbufs and heap to the shared pools. A
 * connection that got ERR_MEM with nothing in flight has no ACK of its own
 * to wait for, only its next poll: without this, connections that keep
 * data in flight would take every freed segment and starve it. A few per
 * ACK, round robin, so one ACK does bounded work. */
static void retry_mem_waiters(struct http_conn *self)
{
    int budget = 4;

    mem_waiters = false;
    for (int n = 0; n < HTTP_MAX_CONNS && budget; n++) {
        struct http_conn *c = &conns[mem_rr++ % HTTP_MAX_CONNS];
        if (c == self || !c->mem_wait)
            continue;
        if (c->state != C_SENDING) {
            c->mem_wait = false;
            continue;
        }
        budget--;
        conn_continue(c);   /* another pcb: an abort there is not ours to report */
    }
    if (!budget)
        mem_waiters = true; /* maybe more left */
}

static err_t http_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct http_conn *c = arg;
    err_t err = ERR_OK;

    if (!c)
        return ERR_OK;
    c->last_ms = sys_now();
    /* progress is a segment's worth acked, or everything: a peer acking a
     * byte per window probe makes none */
    c->acked += len;
    if (c->acked >= tcp_mss(pcb) || (!pcb->unacked && !pcb->unsent)) {
        c->ack_ms = c->last_ms;
        c->acked = 0;
    }
    if (c->state == C_SENDING)
        err = conn_continue(c);
    if (mem_waiters)
        retry_mem_waiters(err == ERR_OK ? c : NULL);
    return err;
}

static err_t http_poll(void *arg, struct tcp_pcb *pcb)
{
    struct http_conn *c = arg;
    uint32_t now = sys_now();

    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    switch (c->state) {
    case C_SENDING:
        /* not last_ms: lwIP's retry of refused data every poll refreshes that */
        if (expired(now, c->ack_ms, HTTP_SEND_TIMEOUT_MS)) {
            log_debug("http: send timeout");
            return conn_abort(c);
        }
        return conn_continue(c);    /* retry after ERR_MEM */
    case C_OPEN:
        if (c->in_progress && expired(now, c->req_start_ms, HTTP_HEADER_TIMEOUT_MS)) {
            log_debug("http: request timeout");
            return conn_close(c);
        }
        if (!c->in_progress && expired(now, c->last_ms, HTTP_IDLE_TIMEOUT_MS))
            return conn_close(c);
        return ERR_OK;
    case C_LINGER:
        /* counted from the last ack: a slow reader may still be fetching the
         * tail of a large response */
        if (expired(now, c->last_ms, HTTP_LINGER_TIMEOUT_MS))
            return conn_close(c);
        return ERR_OK;
    default:
        return ERR_OK;
    }
}

/* The pcb is already freed by lwIP (RST, retransmission limit, or the ACK
 * of our FIN in LAST_ACK): only our state goes. */
static void http_err(void *arg, err_t err)
{
    struct http_conn *c = arg;

    (void)err;
    if (!c)
        return;
    if (c->rx)
        pbuf_free(c->rx);   /* no tcp_recved: the pcb is gone */
    c->rx = NULL;
    c->rx_cost = 0;
    c->pcb = NULL;
    c->state = C_FREE;
}

static err_t http_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct http_conn *c = NULL;

    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    for (int i = 0; i < HTTP_MAX_CONNS && !c; i++)
        if (conns[i].state == C_FREE)
            c = &conns[i];
    if (!c)
        c = conn_evict();
    if (!c) {   /* every connection is busy sending */
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    memset(c, 0, offsetof(struct http_conn, parser));   /* also clears mem_wait */
    http_parser_init(&c->parser);
    c->pcb = pcb;
    c->state = C_OPEN;
    c->last_ms = sys_now();
    tcp_arg(pcb, c);
    tcp_recv(pcb, http_recv);
    tcp_sent(pcb, http_sent);
    tcp_err(pcb, http_err);
    tcp_poll(pcb, http_poll, HTTP_POLL_TICKS);
    tcp_nagle_disable(pcb);     /* whole responses are queued before tcp_output */
    return ERR_OK;
}

int http_server_start(uint16_t port)
{
    struct tcp_pcb *pcb, *lpcb;
    err_t err;

    /* One period, then doubling copies (each a whole number of periods): a
     * byte loop here was ~95 k guest instructions of boot. */
    for (uint32_t i = 0; i < 251; i++)
        pattern[i] = (uint8_t)i;
    for (uint32_t n = 251; n < PATTERN_LEN; n *= 2)
        memcpy(pattern + n, pattern, n < PATTERN_LEN - n ? n : PATTERN_LEN - n);

    pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
    if (!pcb) {
        log_error("http: no memory for a pcb");
        return -1;
    }
    err = tcp_bind(pcb, IP_ANY_TYPE, port);
    if (err != ERR_OK) {
        log_error("http: bind to port %u failed (%d)", (unsigned)port, (int)err);
        tcp_close(pcb);
        return -1;
    }
    lpcb = tcp_listen(pcb);
    if (!lpcb) {
        log_error("http: listen failed");
        tcp_close(pcb);
        return -1;
    }
    tcp_accept(lpcb, http_accept);
    log_info("http: listening on port %u (%d connections)", (unsigned)port, HTTP_MAX_CONNS);
    return 0;
}
