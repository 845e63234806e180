/* lwIP's persist timer against a peer playing window games (issue 9): the peer
 * ACKs part of a multi-segment answer with window 0, lets the retransmission
 * timeout fire (which puts the in-flight segments back on the unsent queue and
 * starts the persist timer), then ACKs everything with an open window. Unpatched
 * lwIP frees the whole unsent queue in tcp_receive while the persist timer keeps
 * ticking, and the next tcp_slowtmr fails
 * "tcp_slowtimr: persist ticking with empty send buffer" (our PANIC).
 * Guards net/port/patches/0001-tcp-stop-persist-timer-when-unsent-empties.patch. */
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
#define PEER_PORT 40000
#define PEER_ISS 1000u

static size_t answer_len;
static struct lwip_host_server srv;
static uint8_t answer[64 * 1024];

static err_t write_answer(struct tcp_pcb *pcb)
{
    assert_int_equal(tcp_write(pcb, answer, (u16_t)answer_len, 0), ERR_OK);
    return ERR_OK;
}

static struct seg peer(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd)
{
    return lwip_host_seg(PEER_PORT, PORT, flags, seq, ack, wnd);
}

/* Handshake; returns lwIP's ISS. The accept callback queues the answer, which
 * lwIP sends up to its initial congestion window (3 segments of 1460). */
static uint32_t connect_peer(void)
{
    struct seg s = peer(TCP_SYN, PEER_ISS, 0, 65535);
    s.mss = 1460;
    uint32_t iss = lwip_host_connect(&s).seq;
    assert_non_null(srv.pcb);
    return iss;
}

static int setup(void **state)
{
    (void)state;
    lwip_host_serve(&srv, PORT, write_answer);
    return 0;
}

/* Drains the frames lwIP sent; returns the highest sequence number sent + 1. */
static uint32_t drain(uint32_t nxt, size_t *nsegs)
{
    struct seg r;
    *nsegs = 0;
    while (lwip_host_output(&r)) {
        if (r.len) {
            (*nsegs)++;
            if ((int32_t)(r.seq + (uint32_t)r.len - nxt) > 0)
                nxt = r.seq + (uint32_t)r.len;
        }
    }
    return nxt;
}

static void window_game(size_t len)
{
    answer_len = len;
    uint32_t iss = connect_peer();
    size_t n;
    uint32_t sent_end = drain(iss + 1, &n);
    assert_true(n >= 2);                              /* a multi-segment answer in flight */
    /* ACK the first segment only, closing the window. */
    struct seg s = peer(TCP_ACK, PEER_ISS + 1, iss + 1 + 1460, 0);
    lwip_host_input(&s);
    drain(sent_end, &n);
    /* Retransmission timeout (initial RTO 3 s, maybe backed off): in-flight data
     * goes back to unsent, and with a zero window the persist timer starts. */
    for (int i = 0; i < 40 && srv.pcb && srv.pcb->persist_backoff == 0; i++)
        lwip_host_advance(250);
    assert_non_null(srv.pcb);
    assert_true(srv.pcb->persist_backoff > 0);
    assert_null(srv.pcb->unacked);
    drain(sent_end, &n);
    /* ACK everything sent, window open. */
    s = peer(TCP_ACK, PEER_ISS + 1, sent_end, 65535);
    lwip_host_input(&s);
    if (sent_end == iss + 1 + len)
        assert_null(srv.pcb->unsent);
    /* Timers run on: lwIP's asserts (on, fatal) must hold. */
    lwip_host_advance(5000);
    assert_int_equal(lwip_host_panics, 0);
    assert_non_null(srv.pcb);
    assert_int_equal(srv.pcb->state, ESTABLISHED);
    assert_int_equal(srv.pcb->persist_backoff, 0);
    drain(sent_end, &n);
}

/* The whole answer fits the initial window: the final ACK empties unsent. */
static void test_zero_window_then_ack_all_small_answer(void **state)
{
    (void)state;
    window_game(3 * 1460);
}

static void test_zero_window_then_ack_all_two_segments(void **state)
{
    (void)state;
    window_game(2 * 1460);
}

/* More than the initial window: unsent keeps data, output goes on. */
static void test_zero_window_then_ack_all_large_answer(void **state)
{
    (void)state;
    window_game(16 * 1460);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LWIP_HOST_TEST(test_zero_window_then_ack_all_small_answer, setup),
        LWIP_HOST_TEST(test_zero_window_then_ack_all_two_segments, setup),
        LWIP_HOST_TEST(test_zero_window_then_ack_all_large_answer, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
