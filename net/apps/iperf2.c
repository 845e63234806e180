/* iperf 2 server on TCP 5001 (iperf 2.1's client: plain, -R, --full-duplex,
 * -d, -r, -P, -t/-n) on lwIP's raw API, and the connections it opens back
 * to the client for -d and -r. The header is parsed from any pbuf split
 * (net/apps/iperf2_hdr.c); nothing the peer sends reaches an assert.
 * Main loop only. */
#include "net/apps/iperf2.h"

#include <string.h>

#include "kernel/log.h"
#include "lwip/ip_addr.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "net/apps/iperf2_hdr.h"
#include "net/apps/iperf_tx.h"
#include "net/guard/tcp_guard.h"

#define IPERF2_PORT 5001
#define IPERF2_MAX_CONNS 16         /* test connections and connect-backs together */
#define IPERF2_POLL_TICKS 1         /* 500 ms */
#define IPERF2_IDLE_MS 20000        /* nothing received or acknowledged: give up */

enum conn_state { C_FREE, C_SERVER, C_CONNECTING, C_CLIENT };

struct conn {
    enum conn_state state;
    struct tcp_pcb *pcb;
    ip_addr_t peer;
    u16_t peer_port;
    uint32_t start_ms, last_ms;
    uint64_t rx_bytes;
    bool fin;               /* the peer has finished sending */
    bool sending, tx_shut;
    struct iperf_tx tx;
    struct iperf2_hdr_rx hdr;
};

static struct conn conns[IPERF2_MAX_CONNS];

static const char *mode_name(enum iperf2_mode m)
{
    switch (m) {
    case IPERF2_NORMAL:     return "receive";
    case IPERF2_REVERSE:    return "reverse (-R)";
    case IPERF2_FULLDUPLEX: return "full duplex";
    case IPERF2_DUAL:       return "dual (-d)";
    case IPERF2_TRADEOFF:   return "tradeoff (-r)";
    }
    return "?";
}

static void report(struct conn *c, const char *what, uint64_t bytes)
{
    char a[IPADDR_STRLEN_MAX];
    uint32_t ms = sys_now() - c->start_ms;

    ipaddr_ntoa_r(&c->peer, a, sizeof a);
    log_info("iperf2: %s:%u %s %llu bytes in %lu ms, %llu kbit/s", a, (unsigned)c->peer_port, what,
             (unsigned long long)bytes, (unsigned long)ms,
             (unsigned long long)(ms ? bytes * 8 / ms : 0));
}

static struct conn *conn_alloc(void)
{
    for (int i = 0; i < IPERF2_MAX_CONNS; i++)
        if (conns[i].state == C_FREE) {
            struct conn *c = &conns[i];
            memset(c, 0, offsetof(struct conn, hdr));
            iperf2_hdr_init(&c->hdr);
            c->start_ms = c->last_ms = sys_now();
            return c;
        }
    return NULL;
}

static void conn_detach(struct conn *c)
{
    if (c->pcb) {
        tcp_arg(c->pcb, NULL);
        tcp_recv(c->pcb, NULL);
        tcp_sent(c->pcb, NULL);
        tcp_err(c->pcb, NULL);
        tcp_poll(c->pcb, NULL, 0);
    }
    c->pcb = NULL;
    c->state = C_FREE;
}

static err_t conn_abort(struct conn *c)
{
    struct tcp_pcb *pcb = c->pcb;
    conn_detach(c);     /* first: tcp_abort calls the err callback */
    if (pcb)
        tcp_abort(pcb);
    return ERR_ABRT;
}

static err_t conn_close(struct conn *c)
{
    struct tcp_pcb *pcb = c->pcb;
    conn_detach(c);
    if (pcb && tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static void connect_back(struct conn *server);

/* Sending is over: FIN after the queued data; the connection ends when
 * the peer's FIN arrives too. */
static err_t send_done(struct conn *c)
{
    report(c, c->state == C_CLIENT ? "connect-back sent" : "sent", c->tx.queued);
    c->sending = false;
    if (c->fin)
        return conn_close(c);
    c->tx_shut = true;
    if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
        return conn_abort(c);
    return ERR_OK;
}

static unsigned senders(void)
{
    unsigned n = 0;
    for (int i = 0; i < IPERF2_MAX_CONNS; i++)
        n += conns[i].state != C_FREE && conns[i].sending;
    return n;
}

static err_t pump(struct conn *c)
{
    if (!c->sending)
        return ERR_OK;
    if (iperf_tx_fill(c->pcb, &c->tx, senders()) != ERR_OK)
        return conn_abort(c);
    return c->tx.done ? send_done(c) : ERR_OK;
}

static void start_sending(struct conn *c, const struct iperf2_req *r)
{
    c->sending = true;
    if (r->time_mode)
        iperf_tx_start(&c->tx, (uint32_t)(r->amount > 0xffffffu ? 0xffffffu : r->amount) * 10,
                       UINT64_MAX, r->rate_bps);
    else
        iperf_tx_start(&c->tx, 0, r->amount, r->rate_bps);
}

static bool receives(enum iperf2_mode m) { return m != IPERF2_REVERSE; }

/* The peer's FIN. */
static err_t peer_done(struct conn *c)
{
    c->fin = true;
    if (c->state == C_SERVER && c->hdr.state == IPERF2_HDR_DONE && receives(c->hdr.req.mode))
        report(c, "received", c->rx_bytes);
    if (c->state == C_SERVER && c->hdr.state == IPERF2_HDR_DONE &&
        c->hdr.req.mode == IPERF2_TRADEOFF)
        connect_back(c);
    if (c->sending)
        return ERR_OK;      /* -R/--full-duplex: our side runs its time out */
    return conn_close(c);
}

static err_t on_header(struct conn *c)
{
    const struct iperf2_req *r = &c->hdr.req;
    char a[IPADDR_STRLEN_MAX];

    ipaddr_ntoa_r(&c->peer, a, sizeof a);
    log_info("iperf2: %s:%u %s test, %s %llu%s", a, (unsigned)c->peer_port, mode_name(r->mode),
             r->time_mode ? "time" : "bytes", (unsigned long long)(r->time_mode ? r->amount * 10 : r->amount),
             r->time_mode ? " ms" : "");
    if (r->send_ack) {
        uint8_t ack[IPERF2_ACK_LEN];
        iperf2_ack_build(ack);
        if (tcp_write(c->pcb, ack, sizeof ack, TCP_WRITE_FLAG_COPY) != ERR_OK)
            return conn_abort(c);
        tcp_output(c->pcb);
    }
    if (r->mode == IPERF2_REVERSE || r->mode == IPERF2_FULLDUPLEX) {
        start_sending(c, r);
        return pump(c);
    }
    if (r->mode == IPERF2_DUAL)
        connect_back(c);
    return ERR_OK;
}

/* ---- lwIP callbacks ---- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct conn *c = arg;

    if (!c) {
        if (p)
            pbuf_free(p);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (!p)
        return peer_done(c);
    (void)err;
    c->last_ms = sys_now();
    bool had_header = c->hdr.state == IPERF2_HDR_DONE;
    if (c->state == C_SERVER)
        for (struct pbuf *q = p; q && c->hdr.state < IPERF2_HDR_DONE; q = q->next)
            iperf2_hdr_feed(&c->hdr, q->payload, q->len);
    c->rx_bytes += p->tot_len;
    u16_t len = p->tot_len;
    pbuf_free(p);
    if (c->state == C_SERVER && c->hdr.state == IPERF2_HDR_BAD) {
        char a[IPADDR_STRLEN_MAX];
        ipaddr_ntoa_r(&c->peer, a, sizeof a);
        log_warn("iperf2: %s:%u refused: %s", a, (unsigned)c->peer_port, c->hdr.why);
        tcp_guard.iperf_refused++;
        return conn_abort(c);
    }
    tcp_recved(pcb, len);
    if (c->state == C_SERVER && !had_header && c->hdr.state == IPERF2_HDR_DONE)
        return on_header(c);
    return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct conn *c = arg;

    (void)pcb;
    (void)len;
    if (!c)
        return ERR_OK;
    c->last_ms = sys_now();
    return pump(c);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
    struct conn *c = arg;

    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (sys_now() - c->last_ms > IPERF2_IDLE_MS) {
        char a[IPADDR_STRLEN_MAX];
        ipaddr_ntoa_r(&c->peer, a, sizeof a);
        log_warn("iperf2: %s:%u idle for %u s, aborted", a, (unsigned)c->peer_port,
                 IPERF2_IDLE_MS / 1000);
        tcp_guard.iperf_refused++;
        return conn_abort(c);
    }
    return pump(c);     /* the deadline, and a retry after ERR_MEM */
}

static void on_err(void *arg, err_t err)
{
    struct conn *c = arg;

    if (!c)
        return;
    char a[IPADDR_STRLEN_MAX];
    ipaddr_ntoa_r(&c->peer, a, sizeof a);
    log_info("iperf2: %s:%u connection %s (err %d)", a, (unsigned)c->peer_port,
             c->state == C_CONNECTING ? "refused" : "reset", (int)err);
    c->pcb = NULL;      /* already freed by lwIP */
    conn_detach(c);
}

static void attach(struct conn *c, struct tcp_pcb *pcb)
{
    c->pcb = pcb;
    tcp_arg(pcb, c);
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    tcp_err(pcb, on_err);
    tcp_poll(pcb, on_poll, IPERF2_POLL_TICKS);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct conn *c = arg;

    (void)err;      /* lwIP 2.1 only calls this with ERR_OK */
    if (!c) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    c->state = C_CLIENT;
    c->start_ms = c->last_ms = sys_now();
    start_sending(c, &c->hdr.req);      /* the client's time counts from the connection */
    return pump(c);
}

/* -d/-r: iperf 2's "server reverse" thread connects to the client's listen
 * port and sends for the client's amount, with no header of its own. */
static void connect_back(struct conn *s)
{
    char a[IPADDR_STRLEN_MAX];
    struct conn *c = conn_alloc();

    ipaddr_ntoa_r(&s->peer, a, sizeof a);
    if (!c) {
        log_warn("iperf2: connect-back to %s:%u: all %d connections busy", a,
                 (unsigned)s->hdr.req.port, IPERF2_MAX_CONNS);
        return;
    }
    struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(&s->peer));
    if (!pcb) {
        log_warn("iperf2: connect-back to %s:%u: no pcb", a, (unsigned)s->hdr.req.port);
        return;
    }
    c->state = C_CONNECTING;
    ip_addr_copy(c->peer, s->peer);
    c->peer_port = s->hdr.req.port;
    c->hdr.req = s->hdr.req;
    attach(c, pcb);
    err_t err = tcp_connect(pcb, &c->peer, c->peer_port, on_connected);
    if (err != ERR_OK) {
        log_warn("iperf2: connect-back to %s:%u failed (%d)", a, (unsigned)c->peer_port, (int)err);
        conn_abort(c);
        return;
    }
    log_info("iperf2: connecting back to %s:%u", a, (unsigned)c->peer_port);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    struct conn *c = conn_alloc();
    if (!c) {
        log_warn("iperf2: all %d connections busy, refusing one", IPERF2_MAX_CONNS);
        tcp_guard.iperf_refused++;
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    c->state = C_SERVER;
    ip_addr_copy(c->peer, pcb->remote_ip);
    c->peer_port = pcb->remote_port;
    attach(c, pcb);
    return ERR_OK;
}

int iperf2_server_start(void)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY), *lpcb;

    if (!pcb)
        return -1;
    if (tcp_bind(pcb, IP_ANY_TYPE, IPERF2_PORT) != ERR_OK || !(lpcb = tcp_listen(pcb))) {
        tcp_close(pcb);
        return -1;
    }
    tcp_accept(lpcb, on_accept);
    log_info("iperf2: listening on port %u", (unsigned)IPERF2_PORT);
    return 0;
}
