/* SYN cookies and keyed ISNs in the real lwIP (net/port/patches/0002-*,
 * net/guard/tcp_syncookie.c, net/guard/tcp_isn.c), driven through tcp_input by a
 * simulated peer: a SYN flood past the threshold is answered statelessly, a
 * valid cookie ACK becomes an accepted connection with the encoded MSS and
 * window scale, forged and stale cookies get RSTs, half-open pcbs stay bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/lwip_host.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/stats.h"
#include "net/guard/syncookie.h"
#include "net/guard/tcp_guard.h"
#include "net/guard/tcp_syncookie.h"

#define PORT 80
#define GHOST "192.0.2.66"

static struct tcp_pcb_listen *listener;
static struct lwip_host_server srv;
static err_t accept_result = ERR_OK;
static char rx[256];
static size_t rx_len;

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (p == NULL)
        return ERR_OK;
    rx_len += pbuf_copy_partial(p, rx + rx_len, (u16_t)(sizeof rx - 1 - rx_len), 0);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t on_accept(struct tcp_pcb *pcb)
{
    if (accept_result != ERR_OK)
        return accept_result;   /* lwIP aborts the pcb */
    tcp_recv(pcb, srv_recv);
    return ERR_OK;
}

static int setup(void **state)
{
    (void)state;
    lwip_host_serve(&srv, PORT, on_accept);
    memset(&tcp_guard, 0, sizeof tcp_guard);
    accept_result = ERR_OK;
    rx_len = 0;
    listener = (struct tcp_pcb_listen *)srv.listener;
    return 0;
}

static struct seg mkseg(const char *src, uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct seg s = lwip_host_seg(sport, PORT, flags, seq, ack, 65535);
    s.src_ip = ip_from_str(src);
    return s;
}

/* Sends a SYN and returns lwIP's answer (must be exactly one segment). */
static struct seg syn(const char *src, uint16_t sport, uint32_t isn, uint16_t mss, int wscale)
{
    struct seg s = mkseg(src, sport, TCP_SYN, isn, 0);
    s.mss = mss;
    s.wscale = wscale;
    return lwip_host_syn(&s);
}

static int count_state(enum tcp_state st)
{
    int n = 0;
    for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next)
        n += p->state == st;
    return n;
}

/* n SYNs from GHOST (whose SYN-ACKs go nowhere), ports from base. */
static void flood(int n, uint16_t base)
{
    for (int i = 0; i < n; i++) {
        struct seg r = syn(GHOST, (uint16_t)(base + i), 0x1000u * (uint32_t)i, 1460, 7);
        (void)r;
    }
}

static void test_flood_answered_statelessly_past_threshold(void **state)
{
    (void)state;
    flood(2000, 10000);
    assert_int_equal(count_state(SYN_RCVD), TCP_SYNCOOKIE_LISTEN_THRESHOLD);
    assert_int_equal(listener->accepts_pending, TCP_SYNCOOKIE_LISTEN_THRESHOLD);
    assert_int_equal(tcp_guard.syncookies_sent, 2000 - TCP_SYNCOOKIE_LISTEN_THRESHOLD);
    assert_int_equal(lwip_stats.memp[MEMP_TCP_PCB]->used, TCP_SYNCOOKIE_LISTEN_THRESHOLD);
    /* Half-open pcbs time out (TCP_SYN_RCVD_TIMEOUT, 20 s): back to stateful SYNs. */
    lwip_host_advance(25000);
    lwip_host_drain();          /* their SYN|ACK retransmissions */
    assert_int_equal(count_state(SYN_RCVD), 0);
    assert_int_equal(listener->accepts_pending, 0);
    uint64_t sent = tcp_guard.syncookies_sent;
    syn(GHOST, 9999, 1, 1460, 7);
    assert_int_equal(count_state(SYN_RCVD), 1);
    assert_int_equal(tcp_guard.syncookies_sent, sent);
}

static void test_cookie_ack_with_data_is_accepted(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD, 10000);
    const char *client = "192.0.2.10";
    struct seg r = syn(client, 40001, 5000, 1400, 7);
    assert_int_equal(tcp_guard.syncookies_sent, 1);
    assert_int_equal(count_state(SYN_RCVD), TCP_SYNCOOKIE_LISTEN_THRESHOLD); /* no new pcb */
    assert_int_equal(r.mss, TCP_MSS);            /* our MSS, as a normal SYN|ACK */
    assert_int_equal(r.wscale, TCP_RCV_SCALE);   /* offered back: the peer offered one */
    assert_int_equal(r.wnd, 65535);
    /* third segment carries the request (as a client may, after its ACK) */
    struct seg a = mkseg(client, 40001, TCP_ACK | TCP_PSH, 5001, r.seq + 1);
    a.wnd = 1000;   /* scaled by 2^7 */
    memcpy(a.data, "GET / HTTP/1.0\r\n\r\n", 18);
    a.len = 18;
    lwip_host_input(&a);
    assert_int_equal(tcp_guard.syncookies_validated, 1);
    assert_int_equal(srv.accepted, 1);
    struct tcp_pcb *p = srv.pcb;
    assert_non_null(p);
    assert_int_equal(p->state, ESTABLISHED);
    assert_int_equal(p->mss, 1300);              /* 1400 rounded down to the table */
    assert_int_equal(p->snd_scale, 7);
    assert_int_equal(p->rcv_scale, TCP_RCV_SCALE);
    assert_int_equal(p->snd_wnd, 1000u << 7);
    assert_int_equal(p->rcv_nxt, 5001 + 18);
    assert_int_equal(rx_len, 18);
    assert_memory_equal(rx, "GET / HTTP/1.0\r\n\r\n", 18);
    /* lwIP acks the data (delayed ACK: on the next fast timer) and can send */
    lwip_host_advance(250);
    struct seg ack;
    bool got = false;
    while (lwip_host_output(&ack))
        if (ack.dport == 40001 && (ack.flags & TCP_ACK) && ack.ack == 5001 + 18)
            got = true;
    assert_true(got);
    assert_int_equal(tcp_write(p, "HTTP/1.0 200 OK\r\n\r\n", 19, TCP_WRITE_FLAG_COPY), ERR_OK);
    assert_int_equal(tcp_output(p), ERR_OK);
    assert_true(lwip_host_output(&ack));
    assert_int_equal(ack.seq, r.seq + 1);
    assert_int_equal(ack.len, 19);
}

static void test_cookie_without_window_scale(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD, 10000);
    struct seg r = syn("192.0.2.11", 40002, 77, 0, -1);   /* no MSS, no wscale */
    assert_int_equal(tcp_guard.syncookies_sent, 1);
    assert_int_equal(r.wscale, -1);
    struct seg a = mkseg("192.0.2.11", 40002, TCP_ACK, 78, r.seq + 1);
    lwip_host_input(&a);
    assert_int_equal(tcp_guard.syncookies_validated, 1);
    assert_int_equal(srv.accepted, 1);
    assert_int_equal(srv.pcb->mss, 536);
    assert_false(srv.pcb->flags & TF_WND_SCALE);
    assert_int_equal(srv.pcb->snd_scale, 0);
    assert_int_equal(srv.pcb->rcv_scale, 0);
    assert_int_equal(srv.pcb->snd_wnd, 65535);
}

static void expect_rst_and_no_pcb(const struct seg *a)
{
    int before = count_state(ESTABLISHED);
    lwip_host_input(a);
    struct seg r;
    assert_true(lwip_host_output(&r));
    assert_true(r.flags & TCP_RST);
    assert_int_equal(r.seq, a->ack);
    assert_int_equal(srv.accepted, 0);
    assert_int_equal(count_state(ESTABLISHED), before);
}

static void test_forged_cookie_gets_rst(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD + 1, 10000);
    struct seg r = syn("192.0.2.12", 40003, 900, 1460, 7);
    struct seg a = mkseg("192.0.2.12", 40003, TCP_ACK, 901, r.seq + 2);   /* wrong cookie */
    expect_rst_and_no_pcb(&a);
    a = mkseg("192.0.2.12", 40003, TCP_ACK, 902, r.seq + 1);              /* wrong peer ISN */
    expect_rst_and_no_pcb(&a);
    a = mkseg("192.0.2.13", 40003, TCP_ACK, 901, r.seq + 1);              /* other address */
    expect_rst_and_no_pcb(&a);
    assert_int_equal(tcp_guard.syncookies_rejected, 3);
    assert_int_equal(tcp_guard.syncookies_validated, 0);
    /* the right one still works */
    a = mkseg("192.0.2.12", 40003, TCP_ACK, 901, r.seq + 1);
    lwip_host_input(&a);
    assert_int_equal(srv.accepted, 1);
}

static void test_stale_cookie_gets_rst(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD, 10000);
    struct seg r = syn("192.0.2.14", 40004, 1234, 1460, 7);
    /* a tick is 2^36 ns: the cookie is good in its tick and the next only */
    lwip_host_advance_ns(2ull << 36);
    syn(GHOST, 9000, 1, 1460, 7);            /* the flood goes on: cookies are recent */
    struct seg a = mkseg("192.0.2.14", 40004, TCP_ACK, 1235, r.seq + 1);
    expect_rst_and_no_pcb(&a);
    assert_int_equal(tcp_guard.syncookies_rejected, 1);
    /* made one tick ago: still good */
    r = syn("192.0.2.15", 40005, 1234, 1460, 7);
    lwip_host_advance_ns(1ull << 36);
    a = mkseg("192.0.2.15", 40005, TCP_ACK, 1235, r.seq + 1);
    lwip_host_input(&a);
    assert_int_equal(srv.accepted, 1);
}

/* The third segment carries a FIN: accepted, then CLOSE_WAIT, FIN acked. */
static void test_cookie_ack_with_fin(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD, 10000);
    struct seg r = syn("192.0.2.17", 40007, 300, 1460, -1);
    struct seg a = mkseg("192.0.2.17", 40007, TCP_ACK | TCP_FIN, 301, r.seq + 1);
    lwip_host_input(&a);
    assert_int_equal(tcp_guard.syncookies_validated, 1);
    assert_int_equal(srv.accepted, 1);
    assert_int_equal(srv.pcb->state, CLOSE_WAIT);
    struct seg ack;
    assert_true(lwip_host_output(&ack));
    assert_int_equal(ack.ack, 302);
    tcp_close(srv.pcb);
}

/* The application refuses the connection: the cookie pcb is aborted (RST) and
 * freed like any other. */
static void test_cookie_accept_refused(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD, 10000);
    u16_t used = lwip_stats.memp[MEMP_TCP_PCB]->used;
    accept_result = ERR_MEM;
    struct seg r = syn("192.0.2.18", 40008, 300, 1460, -1);
    struct seg a = mkseg("192.0.2.18", 40008, TCP_ACK, 301, r.seq + 1);
    lwip_host_input(&a);
    assert_int_equal(srv.accepted, 1);
    struct seg rst;
    assert_true(lwip_host_output(&rst));
    assert_true(rst.flags & TCP_RST);
    assert_int_equal(lwip_stats.memp[MEMP_TCP_PCB]->used, used);
}

/* A valid cookie but no pcb to spare: dropped without RST (the peer is
 * established and retransmits); once a pcb is free the retransmission works. */
static void test_cookie_ack_pool_exhausted(void **state)
{
    (void)state;
    flood(TCP_SYNCOOKIE_LISTEN_THRESHOLD, 10000);
    struct seg r = syn("192.0.2.19", 40009, 300, 1460, -1);
    /* fill the pool with established connections (through cookies too) */
    int n = 0;
    while (lwip_stats.memp[MEMP_TCP_PCB]->used < MEMP_NUM_TCP_PCB) {
        uint16_t port = (uint16_t)(20000 + n++);
        struct seg s = mkseg("192.0.2.30", port, TCP_SYN, 7, 0);
        s.mss = 1460;
        lwip_host_connect(&s);
        lwip_host_drain();
    }
    int before = srv.accepted;
    uint64_t v0 = tcp_guard.syncookies_validated;
    struct seg a = mkseg("192.0.2.19", 40009, TCP_ACK | TCP_PSH, 301, r.seq + 1);
    a.len = 4;
    memcpy(a.data, "GET ", 4);
    lwip_host_input(&a);
    assert_int_equal(srv.accepted, before);
    assert_int_equal(lwip_host_output_count(), 0);   /* no RST */
    assert_int_equal(tcp_guard.syncookies_validated, v0 + 1);
    tcp_abort(srv.pcb);                        /* one pcb free again */
    lwip_host_input(&a);                             /* the peer's retransmission */
    assert_int_equal(srv.accepted, before + 1);
    assert_int_equal(srv.pcb->state, ESTABLISHED);
    assert_int_equal(rx_len, 4);
}

/* Without recent cookies an ACK to the listener is not a cookie candidate. */
static void test_no_cookie_check_when_idle(void **state)
{
    (void)state;
    lwip_host_advance_ns(4ull << 36);
    struct seg a = mkseg("192.0.2.16", 40006, TCP_ACK, 1, 12345);
    expect_rst_and_no_pcb(&a);
    assert_int_equal(tcp_guard.syncookies_rejected, 0);
}

/* RFC 6528: F(tuple) + M(t). Distinct peers, distinct ISNs, not a function of
 * time alone; one tuple advances with the 4.096 us clock. */
static void test_keyed_isn(void **state)
{
    (void)state;
    uint32_t isn[32];
    for (int i = 0; i < 32; i++) {
        struct seg r = syn("192.0.2.20", (uint16_t)(41000 + i), 100, 1460, -1);
        isn[i] = r.seq;
        struct seg rst = mkseg("192.0.2.20", (uint16_t)(41000 + i), TCP_RST, 101, 0);
        lwip_host_input(&rst);
        lwip_host_advance_ns(1000000);   /* 1 ms between handshakes */
    }
    int same_step = 0;
    for (int i = 0; i < 32; i++) {
        for (int j = 0; j < i; j++)
            assert_int_not_equal(isn[i], isn[j]);
        if (i >= 2 && isn[i] - isn[i - 1] == isn[i - 1] - isn[i - 2])
            same_step++;
    }
    assert_int_equal(same_step, 0);       /* not linear in time */
    /* the same tuple 10 s later: exactly the clock's advance */
    struct seg r1 = syn("192.0.2.21", 42000, 100, 1460, -1);
    struct seg rst = mkseg("192.0.2.21", 42000, TCP_RST, 101, 0);
    lwip_host_input(&rst);
    lwip_host_advance_ns(10ull * 1000000000ull);
    struct seg r2 = syn("192.0.2.21", 42000, 100, 1460, -1);
    uint32_t ticks = (uint32_t)((10ull * 1000000000ull) >> 12);
    uint32_t d = r2.seq - r1.seq;
    assert_true(d == ticks || d == ticks + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LWIP_HOST_TEST(test_flood_answered_statelessly_past_threshold, setup),
        LWIP_HOST_TEST(test_cookie_ack_with_data_is_accepted, setup),
        LWIP_HOST_TEST(test_cookie_without_window_scale, setup),
        LWIP_HOST_TEST(test_forged_cookie_gets_rst, setup),
        LWIP_HOST_TEST(test_stale_cookie_gets_rst, setup),
        LWIP_HOST_TEST(test_cookie_ack_with_fin, setup),
        LWIP_HOST_TEST(test_cookie_accept_refused, setup),
        LWIP_HOST_TEST(test_cookie_ack_pool_exhausted, setup),
        LWIP_HOST_TEST(test_no_cookie_check_when_idle, setup),
        LWIP_HOST_TEST(test_keyed_isn, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
