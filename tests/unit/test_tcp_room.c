/* net/apps/tcp_room.c against the real lwIP (tests/unit/lwip_host.c): a write of
 * tcp_room() bytes is always taken, and at a small MSS the naive write of a
 * send buffer's worth is refused (the red team's stall: ERR_MEM for ever).
 * Also guards net/port/patches/0701-tcp-min-snd-mss.patch. */
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
#include "net/apps/tcp_room.h"

#define PORT 80
#define PEER_PORT 40001
#define PEER_ISS 5000u

static struct lwip_host_server srv;
static uint8_t data[64 * 1024];

static int setup(void **state)
{
    (void)state;
    lwip_host_serve(&srv, PORT, NULL);
    return 0;
}

static void connect_peer(uint16_t mss, uint16_t wnd)
{
    struct seg s = lwip_host_seg(PEER_PORT, PORT, TCP_SYN, PEER_ISS, 0, wnd);
    s.mss = mss;
    lwip_host_connect(&s);
    assert_non_null(srv.pcb);
    lwip_host_drain();
}

/* ---- the arithmetic ---- */

static void test_bytes_limits(void **state)
{
    (void)state;
    /* referenced data: a header and a ROM pbuf a segment, one pbuf spare */
    assert_int_equal(tcp_room_bytes(100000, 0, 21, 100, false), 1000);
    assert_int_equal(tcp_room_bytes(100000, 0, 21, 100, true), 2000);
    /* the send buffer is the limit when segments are large */
    assert_int_equal(tcp_room_bytes(3000, 0, 300, 1460, false), 3000);
    /* a full or nearly full queue: nothing, not a write bound to fail */
    assert_int_equal(tcp_room_bytes(100000, 18, 21, 100, false), 100);
    assert_int_equal(tcp_room_bytes(100000, 19, 21, 100, false), 0);
    assert_int_equal(tcp_room_bytes(100000, 20, 21, 100, true), 0);
    assert_int_equal(tcp_room_bytes(100000, 25, 21, 100, true), 0);
    assert_int_equal(tcp_room_bytes(100000, 0, 21, 0, true), 0);
    assert_int_equal(tcp_room_bytes(0, 0, 21, 100, true), 0);
    /* never above lwIP's own limit */
    assert_int_equal(tcp_room_bytes(UINT32_MAX, 0, 100000, 1, true), TCP_SND_QUEUELEN - 1);
}

/* ---- against lwIP's tcp_write ---- */

/* Fills the send queue with writes of tcp_room() bytes (as net/apps/iperf_tx.c and
 * net/apps/http_server.c do): every one is taken, and the queue ends full to
 * within a segment, not stuck at ERR_MEM with room left. */
static void fill(bool copy, uint32_t chunk)
{
    uint32_t total = 0;
    int writes = 0;

    for (;;) {
        uint32_t n = tcp_room(srv.pcb, TCP_SND_QUEUELEN, copy);
        if (n > chunk)
            n = chunk;
        if (n == 0)
            break;
        assert_int_equal(tcp_write(srv.pcb, data, (u16_t)n,
                                   TCP_WRITE_FLAG_MORE | (copy ? TCP_WRITE_FLAG_COPY : 0)),
                         ERR_OK);
        total += n;
        assert_true(++writes < (1 << 20));   /* bounded: one byte each at worst */
    }
    assert_true(total > 0);
    assert_true(tcp_sndqueuelen(srv.pcb) + 2u * (copy ? 1u : 2u) >= TCP_SND_QUEUELEN ||
                tcp_sndbuf(srv.pcb) < tcp_room_seg_payload(srv.pcb));
}

static void test_small_mss_writes_fit(void **state)
{
    (void)state;
    connect_peer(100, 65535);
    assert_int_equal(srv.pcb->mss, 100);
    assert_int_equal(tcp_room_seg_payload(srv.pcb), 100);
    /* the stall: one write of 32128 bytes needs 322 segments, lwIP refuses it whole */
    assert_int_equal(tcp_write(srv.pcb, data, 32128, 0), ERR_MEM);
    assert_int_equal(tcp_sndqueuelen(srv.pcb), 0);
    fill(false, 32128);
}

static void test_small_mss_copied_writes_fit(void **state)
{
    (void)state;
    connect_peer(88, 65535);
    fill(true, 200);    /* small writes: lwIP also chains onto the last segment */
}

/* Writes that end mid-segment: the next one starts with a pbuf chained onto
 * that segment, one more than its own segments need. */
static void test_odd_chunks(void **state)
{
    static const uint32_t chunk[] = {777, 778, 49, 95, 97, 10, 1, 3000};
    (void)state;
    for (size_t i = 0; i < sizeof chunk / sizeof chunk[0]; i++) {
        for (int copy = 0; copy < 2; copy++) {
            setup(NULL);
            connect_peer(48, 65535);
            fill(copy, chunk[i]);
        }
    }
}

static void test_tiny_window_segments(void **state)
{
    (void)state;
    /* lwIP cuts segments at half the largest window offered */
    connect_peer(1460, 60);
    assert_int_equal(tcp_room_seg_payload(srv.pcb), 30);
    fill(false, 65535);
}

static void test_full_mss_buffer_bound(void **state)
{
    (void)state;
    connect_peer(1460, 65535);
    assert_int_equal(tcp_room(srv.pcb, TCP_SND_QUEUELEN, false), tcp_sndbuf(srv.pcb));
    fill(false, 32128);
}

/* net/port/patches/0701: MSS options below 48 are raised to it. */
static void test_tiny_mss_option_floored(void **state)
{
    static const uint16_t in[] = {1, 8, 47, 48, 88, 536, 1460};
    static const uint16_t want[] = {48, 48, 48, 48, 88, 536, 1460};
    (void)state;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        setup(NULL);
        connect_peer(in[i], 65535);
        assert_int_equal(srv.pcb->mss, want[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_limits),
        LWIP_HOST_TEST(test_small_mss_writes_fit, setup),
        LWIP_HOST_TEST(test_small_mss_copied_writes_fit, setup),
        LWIP_HOST_TEST(test_odd_chunks, setup),
        LWIP_HOST_TEST(test_tiny_window_segments, setup),
        LWIP_HOST_TEST(test_full_mss_buffer_bound, setup),
        LWIP_HOST_TEST(test_tiny_mss_option_floored, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
