/* A client that reuses its port while lwIP holds the old connection in
 * TIME_WAIT (net/port/patches/0901-tcp-timewait-reopen-on-new-syn.patch): a SYN
 * beyond the old connection's receive sequence opens a new connection at once,
 * with an ISN a window past the old snd_nxt; any other segment for the 4-tuple
 * is handled by TIME_WAIT as before (RFC 1337: RST ignored, old SYN answered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/lwip_host.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"

#define PORT 80
#define PEER_PORT 41000
#define PEER_ISS 5000u
#define REQUEST_LEN 10u

static struct lwip_host_server srv;

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)arg;
    (void)err;
    if (p == NULL)
        return ERR_OK;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    /* Answer-and-close, as an HTTP/1.0 server: the server side closes first,
     * so it is the one left in TIME_WAIT. */
    assert_int_equal(tcp_write(pcb, "ok", 2, TCP_WRITE_FLAG_COPY), ERR_OK);
    assert_int_equal(tcp_close(pcb), ERR_OK);
    return ERR_OK;
}

static err_t on_accept(struct tcp_pcb *pcb)
{
    tcp_recv(pcb, srv_recv);
    return ERR_OK;
}

static int setup(void **state)
{
    (void)state;
    lwip_host_serve(&srv, PORT, on_accept);
    return 0;
}

static struct seg peer(uint8_t flags, uint32_t seq, uint32_t ack)
{
    return lwip_host_seg(PEER_PORT, PORT, flags, seq, ack, 65535);
}

/* The only frame lwIP sent since the last call. */
static struct seg answer(void)
{
    struct seg r;
    assert_true(lwip_host_output(&r));
    assert_int_equal(lwip_host_output_count(), 0);
    return r;
}

static struct tcp_pcb *time_wait_pcb(void)
{
    for (struct tcp_pcb *p = tcp_tw_pcbs; p != NULL; p = p->next)
        if (p->remote_port == PEER_PORT && p->local_port == PORT)
            return p;
    return NULL;
}

/* One request, the server answers and closes, the peer ACKs and closes:
 * lwIP ends in TIME_WAIT. Returns the old connection's final snd_nxt. */
static uint32_t connection_into_time_wait(void)
{
    struct seg s = peer(TCP_SYN, PEER_ISS, 0);
    s.mss = 1460;
    uint32_t iss = lwip_host_connect(&s).seq;
    s = peer(TCP_ACK | TCP_PSH, PEER_ISS + 1, iss + 1);
    s.len = REQUEST_LEN;
    memset(s.data, 'x', s.len);
    lwip_host_input(&s);
    lwip_host_drain();                             /* "ok" + FIN */
    uint32_t their_fin_seq = PEER_ISS + 1 + REQUEST_LEN;
    s = peer(TCP_ACK | TCP_FIN, their_fin_seq, iss + 1 + 2 + 1);
    lwip_host_input(&s);
    lwip_host_drain();                             /* the ACK of their FIN */
    struct tcp_pcb *tw = time_wait_pcb();
    assert_non_null(tw);
    assert_int_equal(tw->state, TIME_WAIT);
    assert_int_equal(tw->rcv_nxt, their_fin_seq + 1);
    assert_int_equal(tw->snd_nxt, iss + 1 + 2 + 1);
    return tw->snd_nxt;
}

static void test_syn_beyond_old_connection_reopens_at_once(void **state)
{
    (void)state;
    uint32_t old_snd_nxt = connection_into_time_wait();
    uint32_t new_iss = PEER_ISS + 64000;           /* e.g. a BSD-style ISN clock */
    struct seg s = peer(TCP_SYN, new_iss, 0);
    s.mss = 1460;
    struct seg r = lwip_host_syn(&s);
    assert_int_equal(r.seq, old_snd_nxt + 65535 + 2);
    assert_null(time_wait_pcb());
    s = peer(TCP_ACK, new_iss + 1, r.seq + 1);
    lwip_host_input(&s);
    assert_int_equal(srv.accepted, 2);
    assert_int_equal(lwip_host_panics, 0);
}

/* The next connection without reuse takes a keyed ISN again, not the floor. */
static void test_reopen_floor_is_used_once(void **state)
{
    (void)state;
    uint32_t old_snd_nxt = connection_into_time_wait();
    struct seg s = peer(TCP_SYN, PEER_ISS + 64000, 0);
    lwip_host_input(&s);
    struct seg r = answer();
    assert_int_equal(r.seq, old_snd_nxt + 65537);
    s = lwip_host_seg(PEER_PORT + 1, PORT, TCP_SYN, 77, 0, 65535);
    r = lwip_host_syn(&s);
    assert_int_not_equal(r.seq, old_snd_nxt + 65537);
}

/* A SYN at the old rcv_nxt (in window: an error, RST) or below it (an old
 * duplicate: ACKed) leaves TIME_WAIT in place, as unpatched lwIP. */
static void test_old_syn_keeps_time_wait(void **state)
{
    (void)state;
    connection_into_time_wait();
    uint32_t rcv_nxt = time_wait_pcb()->rcv_nxt;
    struct seg s = peer(TCP_SYN, rcv_nxt - 1000, 0);
    lwip_host_input(&s);
    struct seg r = answer();
    assert_int_equal(r.flags & (TCP_SYN | TCP_RST), 0);
    assert_true(r.flags & TCP_ACK);
    assert_int_equal(r.ack, rcv_nxt);
    assert_non_null(time_wait_pcb());
    s = peer(TCP_SYN, rcv_nxt, 0);
    lwip_host_input(&s);
    r = answer();
    assert_true(r.flags & TCP_RST);
    assert_non_null(time_wait_pcb());
    assert_int_equal(srv.accepted, 1);
}

/* Only a bare SYN reopens: with ACK, RST or FIN beside it the segment is no
 * connection request. */
static void test_syn_with_other_flags_keeps_time_wait(void **state)
{
    (void)state;
    connection_into_time_wait();
    uint32_t beyond = time_wait_pcb()->rcv_nxt + 100000;
    const uint8_t extra[] = { TCP_ACK, TCP_RST, TCP_FIN };
    for (size_t i = 0; i < sizeof extra; i++) {
        struct seg s = peer((uint8_t)(TCP_SYN | extra[i]), beyond, 1);
        lwip_host_input(&s);
        lwip_host_drain();
        assert_non_null(time_wait_pcb());
    }
    assert_int_equal(srv.accepted, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LWIP_HOST_TEST(test_syn_beyond_old_connection_reopens_at_once, setup),
        LWIP_HOST_TEST(test_reopen_floor_is_used_once, setup),
        LWIP_HOST_TEST(test_old_syn_keeps_time_wait, setup),
        LWIP_HOST_TEST(test_syn_with_other_flags_keeps_time_wait, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
