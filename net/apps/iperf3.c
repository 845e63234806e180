/* iperf3 server on TCP 5201 as iperf 3.12's client speaks to it: TCP tests,
 * -R, --bidir, -P, -t, -n, -k, -O; one test at a time (others get
 * ACCESS_DENIED). The protocol itself is net/apps/iperf3_proto.c; this file runs
 * it on lwIP's raw API. Every message is gathered by net/apps/iperf_rx.h from
 * whatever pbuf split arrives. Main loop only. */
#include "net/apps/iperf3.h"

#include <string.h>

#include "kernel/log.h"
#include "lwip/ip_addr.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "net/apps/iperf.h"
#include "net/apps/iperf3_proto.h"
#include "net/apps/iperf_rx.h"
#include "net/apps/iperf_tx.h"
#include "net/guard/tcp_guard.h"

#define IPERF3_PORT 5201
#define MAX_CONNS (2 * IPERF3_MAX_STREAMS + 4)  /* streams + connections showing a cookie */
#define POLL_TICKS 1                /* 500 ms */
#define SETUP_MS 10000              /* between two setup steps */
#define GRACE_MS 40000              /* iperf3's own server: duration + omit + 40 s */
#define UNTIMED_MS 600000           /* a -n/-k test: at most this long */
#define DENY_POLLS 20               /* a refused connection lingers at most 10 s */
#define RESULTS_MAX (1u << 20)      /* the client's results: skipped past what we keep */

enum tstate { T_IDLE, T_COOKIE, T_PARAM_LEN, T_PARAM, T_STREAMS, T_RUNNING, T_RES_LEN, T_RES,
              T_DISPLAYED };

struct sconn {
    bool used, pending, sender;
    struct tcp_pcb *pcb;
    unsigned index;             /* stream number, in accept order */
    uint64_t bytes, bytes_omit; /* received, or queued when sending */
    struct iperf_tx tx;
    struct iperf_rx rx;
    uint8_t cookie[IPERF3_COOKIE_SIZE];
};

static struct {
    enum tstate state;
    struct tcp_pcb *ctrl;
    ip_addr_t peer;
    u16_t peer_port;
    struct iperf_rx rx;
    struct iperf3_params prm;
    unsigned want_rx, want_tx, have_rx, have_tx;
    uint32_t deadline_ms, start_ms, end_ms, omit_ms;
    uint64_t idle0_ns;
    uint64_t tx_limit, tx_total;    /* -n/-k: the test's bytes, all streams together */
    uint8_t cookie[IPERF3_COOKIE_SIZE];
    char msg[IPERF3_JSON_MAX + 1];
} t;

static struct sconn sc[MAX_CONNS];

/* lwIP wants ERR_ABRT back from a callback whose own pcb was aborted in it;
 * the test can abort every pcb it holds from any of them. */
static struct tcp_pcb *cb_pcb;
static bool cb_aborted;

static void cb_enter(struct tcp_pcb *pcb)
{
    cb_pcb = pcb;
    cb_aborted = false;
}

static err_t cb_exit(void)
{
    cb_pcb = NULL;
    return cb_aborted ? ERR_ABRT : ERR_OK;
}

static void pcb_abort(struct tcp_pcb *pcb)
{
    if (pcb == cb_pcb)
        cb_aborted = true;
    tcp_abort(pcb);
}

static bool omitting(void) { return (int32_t)(sys_now() - t.omit_ms) < 0; }

/* ---- refused connections: one byte, FIN, drain until the peer's FIN ---- */

static err_t deny_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (p) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    tcp_arg(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static err_t deny_poll(void *arg, struct tcp_pcb *pcb)
{
    uintptr_t n = (uintptr_t)arg + 1;
    if (n >= DENY_POLLS) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    tcp_arg(pcb, (void *)n);
    return ERR_OK;
}

static void deny(struct tcp_pcb *pcb)
{
    signed char b = IPERF3_ACCESS_DENIED;

    tcp_guard.iperf_refused++;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, deny_recv);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, deny_poll, POLL_TICKS);
    if (tcp_write(pcb, &b, 1, TCP_WRITE_FLAG_COPY) != ERR_OK || tcp_shutdown(pcb, 0, 1) != ERR_OK)
        pcb_abort(pcb);
}

/* ---- streams ---- */

static void stream_detach(struct sconn *s)
{
    if (s->pcb) {
        tcp_arg(s->pcb, NULL);
        tcp_recv(s->pcb, NULL);
        tcp_sent(s->pcb, NULL);
        tcp_err(s->pcb, NULL);
        tcp_poll(s->pcb, NULL, 0);
    }
    s->pcb = NULL;
}

static void stream_close(struct sconn *s, bool abort)
{
    struct tcp_pcb *pcb = s->pcb;
    stream_detach(s);
    if (pcb && (abort || tcp_close(pcb) != ERR_OK))
        pcb_abort(pcb);
}

static err_t stream_pump(struct sconn *s)
{
    if (!s->sender || !s->pcb || t.state != T_RUNNING)
        return ERR_OK;
    uint64_t before = s->tx.queued;
    if (t.tx_limit != UINT64_MAX)
        s->tx.limit = s->tx.queued + (t.tx_limit - t.tx_total);
    err_t err = iperf_tx_fill(s->pcb, &s->tx, t.want_tx);
    uint64_t n = s->tx.queued - before;
    t.tx_total += n;
    s->bytes += n;
    if (omitting())
        s->bytes_omit += n;
    if (err != ERR_OK)
        stream_close(s, true);
    return ERR_OK;
}

static void test_begin(void);

static err_t stream_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct sconn *s = arg;

    (void)err;
    if (!s) {
        if (p)
            pbuf_free(p);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if (!p) {   /* the client closed a stream: nothing more on it */
        if (s->pending) {
            stream_detach(s);
            s->used = false;
            if (tcp_close(pcb) != ERR_OK) {
                tcp_abort(pcb);
                return ERR_ABRT;
            }
        }
        return ERR_OK;
    }
    u16_t len = p->tot_len;
    size_t cookie_bytes = 0;
    if (s->pending)
        for (struct pbuf *q = p; q && !iperf_rx_complete(&s->rx); q = q->next)
            cookie_bytes += iperf_rx_take(&s->rx, q->payload, q->len);
    pbuf_free(p);
    tcp_recved(pcb, len);
    cb_enter(pcb);
    if (s->pending && iperf_rx_complete(&s->rx)) {
        bool ok = t.state == T_STREAMS && memcmp(s->cookie, t.cookie, sizeof s->cookie) == 0 &&
                  (t.have_rx < t.want_rx || t.have_tx < t.want_tx);
        if (!ok) {
            stream_detach(s);
            s->used = false;
            deny(pcb);
            return cb_exit();
        }
        s->pending = false;
        s->sender = t.have_rx == t.want_rx;     /* receiving streams come first */
        s->index = t.have_rx + t.have_tx;
        if (s->sender)
            t.have_tx++;
        else
            t.have_rx++;
        t.deadline_ms = sys_now() + SETUP_MS;
        if (!s->sender) {
            s->bytes = len - cookie_bytes;   /* the client starts only after TEST_RUNNING */
        }
        if (t.have_rx == t.want_rx && t.have_tx == t.want_tx)
            test_begin();
    } else if (!s->pending && !s->sender) {
        s->bytes += len;
        if (omitting())
            s->bytes_omit += len;
    }
    return cb_exit();
}

static err_t stream_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)len;
    if (!arg)
        return ERR_OK;
    cb_enter(pcb);
    stream_pump(arg);
    return cb_exit();
}

static err_t stream_poll(void *arg, struct tcp_pcb *pcb)
{
    if (!arg) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    cb_enter(pcb);
    stream_pump(arg);
    return cb_exit();
}

static void stream_err(void *arg, err_t err)
{
    struct sconn *s = arg;

    (void)err;
    if (!s)
        return;
    s->pcb = NULL;      /* freed by lwIP; its counts stay for the results */
    if (s->pending)
        s->used = false;
}

/* ---- the control connection ---- */

static bool ctrl_write(const void *p, size_t n)
{
    if (!t.ctrl || tcp_write(t.ctrl, p, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
        return false;
    tcp_output(t.ctrl);
    return true;
}

static bool send_state(signed char st) { return ctrl_write(&st, 1); }

static void peer_name(char *a, size_t n) { ipaddr_ntoa_r(&t.peer, a, (int)n); }

/* Ends the test and frees everything; abort: RST instead of FIN. */
static void test_end(bool abort, const char *why)
{
    char a[IPADDR_STRLEN_MAX];
    uint64_t rx = 0, tx = 0;
    unsigned n = 0;

    for (int i = 0; i < MAX_CONNS; i++) {
        struct sconn *s = &sc[i];
        if (!s->used)
            continue;
        if (!s->pending) {
            n++;
            if (s->sender)
                tx += s->bytes - s->bytes_omit;
            else
                rx += s->bytes - s->bytes_omit;
        }
        stream_close(s, abort);
        s->used = false;
    }
    peer_name(a, sizeof a);
    if (t.state >= T_RUNNING) {
        uint32_t ms = (t.end_ms ? t.end_ms : sys_now()) - t.start_ms;
        log_info("iperf3: %s:%u %s: %u streams, received %llu bytes, sent %llu bytes in %lu ms",
                 a, (unsigned)t.peer_port, why, n, (unsigned long long)rx, (unsigned long long)tx,
                 (unsigned long)ms);
    } else {
        log_info("iperf3: %s:%u %s", a, (unsigned)t.peer_port, why);
    }
    if (t.ctrl) {
        struct tcp_pcb *pcb = t.ctrl;
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_sent(pcb, NULL);
        tcp_err(pcb, NULL);
        tcp_poll(pcb, NULL, 0);
        if (abort || tcp_close(pcb) != ERR_OK)
            pcb_abort(pcb);
    }
    t.ctrl = NULL;
    t.state = T_IDLE;
}

static void test_begin(void)
{
    uint32_t now = sys_now();
    uint32_t run_ms = t.prm.time_s ? t.prm.time_s * 1000u : UNTIMED_MS;

    t.start_ms = now;
    t.end_ms = 0;
    t.omit_ms = now + t.prm.omit_s * 1000u;
    t.deadline_ms = now + run_ms + t.prm.omit_s * 1000u + GRACE_MS;
    t.idle0_ns = main_loop_idle_ns();
    t.tx_total = 0;
    t.tx_limit = t.prm.bytes ? t.prm.bytes
                 : t.prm.blocks ? t.prm.blocks * (uint64_t)t.prm.blksize : UINT64_MAX;
    if (!send_state(IPERF3_TEST_START) || !send_state(IPERF3_TEST_RUNNING)) {
        test_end(true, "could not write to the control connection");
        return;
    }
    t.state = T_RUNNING;
    for (int i = 0; i < MAX_CONNS; i++)
        if (sc[i].used && !sc[i].pending && sc[i].sender) {
            iperf_tx_start(&sc[i].tx, 0, UINT64_MAX, t.prm.rate_bps);
            stream_pump(&sc[i]);
        }
}

/* CPU time spent outside the idle halt since the test began, in percent. */
static uint32_t cpu_busy_e6(void)
{
    uint64_t wall = (uint64_t)(t.end_ms - t.start_ms) * 1000000ull;
    uint64_t idle = main_loop_idle_ns() - t.idle0_ns;
    if (wall == 0 || idle >= wall)
        return 0;
    return (uint32_t)((wall - idle) * 100000000ull / wall);    /* 100 % = 1e8 */
}

static bool send_results(void)
{
    struct iperf3_stream_result res[2 * IPERF3_MAX_STREAMS];
    unsigned n = 0;
    bool sender = false;

    for (int i = 0; i < MAX_CONNS && n < 2 * IPERF3_MAX_STREAMS; i++) {
        const struct sconn *s = &sc[i];
        if (!s->used || s->pending)
            continue;
        res[n].id = iperf3_stream_id(s->index);
        res[n].sender = s->sender;
        res[n].bytes = s->bytes - s->bytes_omit;
        sender |= s->sender;
        n++;
    }
    /* in stream order, the order the client numbered them */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && res[j - 1].id > res[j].id; j--) {
            struct iperf3_stream_result x = res[j];
            res[j] = res[j - 1];
            res[j - 1] = x;
        }
    uint32_t ms = t.end_ms - t.start_ms;
    uint32_t omit = t.prm.omit_s * 1000u;
    uint32_t busy = cpu_busy_e6();
    struct iperf3_results r = {
        .cpu_total_e6 = busy, .cpu_user_e6 = 0, .cpu_system_e6 = busy,
        .sender = sender, .duration_us = (uint64_t)(ms > omit ? ms - omit : 0) * 1000u,
        .nstreams = n, .streams = res,
    };
    size_t len = iperf3_results_format(&r, t.msg, sizeof t.msg);
    if (len >= sizeof t.msg)
        return false;
    uint8_t hdr[4];
    iperf_put_be32(hdr, (uint32_t)len);
    return ctrl_write(hdr, 4) && ctrl_write(t.msg, len);
}

static void stop_streams(void)
{
    t.end_ms = sys_now();
    for (int i = 0; i < MAX_CONNS; i++) {
        struct sconn *s = &sc[i];
        if (!s->used || s->pending)
            continue;
        iperf_tx_stop(&s->tx);
        stream_close(s, false);     /* as iperf3 does at TEST_END; queued data still goes out */
    }
}

static bool params_done(void)
{
    const char *why = NULL;
    char a[IPADDR_STRLEN_MAX];

    peer_name(a, sizeof a);
    t.msg[t.rx.have] = 0;
    if (iperf3_params_parse(t.msg, t.rx.have, &t.prm, &why) != 0) {
        log_warn("iperf3: %s:%u refused: %s", a, (unsigned)t.peer_port, why);
        tcp_guard.iperf_refused++;
        uint8_t e[9];
        e[0] = (uint8_t)IPERF3_SERVER_ERROR;
        iperf_put_be32(e + 1, IPERF3_IEUNIMP);
        iperf_put_be32(e + 5, 0);
        ctrl_write(e, sizeof e);
        return false;
    }
    unsigned n = t.prm.parallel;
    t.want_rx = t.prm.reverse && !t.prm.bidir ? 0 : n;
    t.want_tx = t.prm.reverse || t.prm.bidir ? n : 0;
    t.have_rx = t.have_tx = 0;
    log_info("iperf3: %s:%u test: %u stream(s)%s, %lu s", a, (unsigned)t.peer_port, n,
             t.prm.bidir ? " both ways" : t.prm.reverse ? " reverse (-R)" : "",
             (unsigned long)t.prm.time_s);
    t.state = T_STREAMS;
    return send_state(IPERF3_CREATE_STREAMS);
}

/* One state byte from the client; false ends the test. */
static bool client_state(signed char st)
{
    if (st == IPERF3_CLIENT_TERMINATE || st == IPERF3_IPERF_DONE) {
        test_end(false, st == IPERF3_IPERF_DONE ? "done" : "client terminated the test");
        return false;
    }
    if (t.state == T_RUNNING && st == IPERF3_TEST_END) {
        stop_streams();
        t.state = T_RES_LEN;
        iperf_rx_expect(&t.rx, 4);
        t.deadline_ms = sys_now() + SETUP_MS;
        return send_state(IPERF3_EXCHANGE_RESULTS) || (test_end(true, "write failed"), false);
    }
    if (st == IPERF3_TEST_START || st == IPERF3_TEST_RUNNING)
        return true;    /* 3.12's client does not send these; harmless */
    tcp_guard.iperf_refused++;
    test_end(true, "unexpected message from the client");
    return false;
}

/* Runs the control protocol over bytes in arrival order; false: test ended. */
static bool ctrl_bytes(const uint8_t *p, size_t n)
{
    while (n) {
        if (t.state == T_STREAMS || t.state == T_RUNNING || t.state == T_DISPLAYED) {
            if (!client_state((signed char)*p))
                return false;
            p++;
            n--;
            continue;
        }
        size_t k = iperf_rx_take(&t.rx, p, n);
        p += k;
        n -= k;
        if (!iperf_rx_complete(&t.rx))
            break;
        t.deadline_ms = sys_now() + SETUP_MS;
        switch (t.state) {
        case T_COOKIE:
            memcpy(t.cookie, t.msg, IPERF3_COOKIE_SIZE);
            t.state = T_PARAM_LEN;
            iperf_rx_expect(&t.rx, 4);
            if (!send_state(IPERF3_PARAM_EXCHANGE)) {
                test_end(true, "write failed");
                return false;
            }
            break;
        case T_PARAM_LEN: {
            uint32_t len = iperf_be32((const uint8_t *)t.msg);
            if (len == 0 || len > IPERF3_JSON_MAX) {
                tcp_guard.iperf_refused++;
                test_end(true, "parameters of a size we do not take");
                return false;
            }
            t.state = T_PARAM;
            iperf_rx_expect(&t.rx, len);
            break;
        }
        case T_PARAM:
            if (!params_done()) {
                test_end(false, "test refused");
                return false;
            }
            break;
        case T_RES_LEN: {
            uint32_t len = iperf_be32((const uint8_t *)t.msg);
            if (len > RESULTS_MAX) {
                tcp_guard.iperf_refused++;
                test_end(true, "results of a size we do not take");
                return false;
            }
            t.state = T_RES;
            iperf_rx_expect(&t.rx, len);
            if (len)
                break;
        }
            __attribute__((fallthrough));   /* empty results */
        case T_RES:
            if (!send_results() || !send_state(IPERF3_DISPLAY_RESULTS)) {
                test_end(true, "could not send our results");
                return false;
            }
            t.state = T_DISPLAYED;
            break;
        default:
            break;
        }
    }
    return true;
}

static err_t ctrl_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (pcb != t.ctrl) {
        if (p)
            pbuf_free(p);
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    cb_enter(pcb);
    if (!p) {
        test_end(false, t.state == T_DISPLAYED ? "done" : "client closed the control connection");
        return cb_exit();
    }
    /* window first: a close with data not taken would be a RST */
    tcp_recved(pcb, p->tot_len);
    bool alive = true;
    for (struct pbuf *q = p; q && alive; q = q->next)
        alive = ctrl_bytes(q->payload, q->len);
    pbuf_free(p);
    return cb_exit();
}

static err_t ctrl_poll(void *arg, struct tcp_pcb *pcb)
{
    (void)arg;
    if (pcb != t.ctrl) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    if ((int32_t)(sys_now() - t.deadline_ms) < 0)
        return ERR_OK;
    cb_enter(pcb);
    tcp_guard.iperf_refused++;
    test_end(true, "timed out");
    return cb_exit();
}

static void ctrl_err(void *arg, err_t err)
{
    (void)arg;
    (void)err;
    t.ctrl = NULL;      /* freed by lwIP */
    if (t.state != T_IDLE)
        test_end(true, "control connection reset");
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    if (t.state == T_IDLE) {
        memset(&t, 0, offsetof(__typeof__(t), cookie));
        t.ctrl = pcb;
        ip_addr_copy(t.peer, pcb->remote_ip);
        t.peer_port = pcb->remote_port;
        t.state = T_COOKIE;
        t.deadline_ms = sys_now() + SETUP_MS;
        iperf_rx_init(&t.rx, (uint8_t *)t.msg, IPERF3_JSON_MAX);
        iperf_rx_expect(&t.rx, IPERF3_COOKIE_SIZE);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, ctrl_recv);
        tcp_err(pcb, ctrl_err);
        tcp_poll(pcb, ctrl_poll, POLL_TICKS);
        tcp_nagle_disable(pcb);     /* iperf3 sets TCP_NODELAY on its control connection */
        return ERR_OK;
    }
    struct sconn *s = NULL;
    if (t.state == T_STREAMS)
        for (int i = 0; i < MAX_CONNS && !s; i++)
            if (!sc[i].used)
                s = &sc[i];
    if (!s) {   /* busy with a test, as iperf3 says it: without reading */
        cb_enter(pcb);
        deny(pcb);
        return cb_exit();
    }
    memset(s, 0, sizeof(*s));
    s->used = s->pending = true;
    s->pcb = pcb;
    iperf_rx_init(&s->rx, s->cookie, sizeof s->cookie);
    iperf_rx_expect(&s->rx, IPERF3_COOKIE_SIZE);
    tcp_arg(pcb, s);
    tcp_recv(pcb, stream_recv);
    tcp_sent(pcb, stream_sent);
    tcp_err(pcb, stream_err);
    tcp_poll(pcb, stream_poll, POLL_TICKS);
    return ERR_OK;
}

int iperf3_server_start(void)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY), *lpcb;

    if (!pcb)
        return -1;
    if (tcp_bind(pcb, IP_ANY_TYPE, IPERF3_PORT) != ERR_OK || !(lpcb = tcp_listen(pcb))) {
        tcp_close(pcb);
        return -1;
    }
    tcp_accept(lpcb, on_accept);
    log_info("iperf3: listening on port %u", (unsigned)IPERF3_PORT);
    return 0;
}
