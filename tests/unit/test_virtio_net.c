/* virtio-net receive: refill after allocation failure, mergeable chains and
 * malformed frames, NEEDS_CSUM, the release path (the NAPI poll and its
 * races: test_vnet_napi.c). Fixture: vnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drivers/net/virtio_net_priv.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/dma.h"
#include "kernel/irqflags.h"
#include "kernel/napi.h"
#include "kernel/softirq.h"
#include "tests/unit/test_support.h"
#include "tests/unit/vnet_fixture.h"

/* ================= 1. refill after allocation failure ================= */

/* Linux refill_work: a partly filled ring after OOM gets a retry timer, and
 * the timer fills the rest once memory is back. */
static void test_refill_oom_partial_ring_arms_retry_timer(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    test_dma_fail_after(5); /* 4 buffers, then no memory */
    unsigned long notified = F->rxd.notifications;
    fx_start();
    assert_int_equal(rx_posted(), 4);
    assert_int_equal(F->vn.dev.c.rx_refill_failed, 1);
    assert_true(F->rq->refill_timer.armed);
    assert_int_equal(timer_last_delay, VNET_RX_REFILL_RETRY_NS);
    assert_int_equal(F->rxd.notifications, notified + 1); /* what fit was still kicked */

    timer_fire(&F->rq->refill_timer); /* memory is back */
    assert_int_equal(rx_posted(), 16);
    assert_false(F->rq->refill_timer.armed);
    assert_int_equal(F->vn.dev.c.rx_refill_failed, 1);
    assert_int_equal(F->rxd.notifications, notified + 2);
    assert_int_equal(sim_fetch(&F->rxd, 16), 12);

    /* And the refilled ring receives. */
    assert_true(dev_rx_frames(1, 60, 1));
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    check_frame(&F->rx[0], 60, 1);
    check_rx_accounting();
}

/* The ring starts empty and memory stays short for a while: the timer keeps
 * retrying (re-arming itself), never giving up, and fills the ring later. */
static void test_refill_oom_empty_ring_retries_until_memory_returns(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    test_dma_fail_next(1000);
    fx_start();
    assert_int_equal(rx_posted(), 0);
    assert_int_equal(F->vn.dev.c.rx_refill_failed, 1);
    assert_true(F->rq->refill_timer.armed);

    for (unsigned k = 0; k < 3; k++) {
        timer_fire(&F->rq->refill_timer); /* still no memory */
        assert_int_equal(rx_posted(), 0);
        assert_true(F->rq->refill_timer.armed);
        assert_int_equal(timer_last_delay, VNET_RX_REFILL_RETRY_NS);
    }
    assert_int_equal(F->vn.dev.c.rx_refill_failed, 4);
    assert_int_equal(F->rq->allocated, 0);

    test_dma_fail_next(0);
    timer_fire(&F->rq->refill_timer);
    assert_int_equal(rx_posted(), 16);
    assert_false(F->rq->refill_timer.armed);
    assert_true(dev_rx_frames(2, 100, 7)); /* interrupts were left enabled */
    run_softirqs();
    assert_int_equal(F->nrx, 2);
    check_frame(&F->rx[1], 100, 8);
}

/* Frames drain a full ring while every allocation fails and the stack holds
 * every buffer: at no point is the ring at most half full without a retry
 * timer pending, so it can't end up empty for good. */
static void test_refill_oom_while_draining_never_empty_without_timer(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    assert_int_equal(rx_posted(), 16);
    test_dma_fail_next(1000000);
    unsigned got = 0;
    while (rx_posted() > 0) {
        unsigned n = rx_posted() < 3 ? rx_posted() : 3;
        dev_rx_frames(n, 80, got);
        run_softirqs();
        got += n;
        assert_int_equal(F->nrx, got);
        if (rx_posted() <= 16 / 2 - 1)
            assert_true(F->rq->refill_timer.armed);
    }
    assert_true(F->rq->refill_timer.armed);
    assert_true(F->vn.dev.c.rx_refill_failed >= 1);
    assert_int_equal(timer_arms, 1); /* armed once, never postponed */

    test_dma_fail_next(0);
    timer_fire(&F->rq->refill_timer);
    assert_int_equal(rx_posted(), 16);
    assert_true(dev_rx_frames(1, 80, 99));
    run_softirqs();
    assert_int_equal(F->nrx, got + 1);
    check_rx_accounting();
}

/* ================= 2-4. mergeable chains and malformed frames ================= */

static void test_mergeable_three_buffers_deliver_one_frame(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t frame[3 * VNET_RX_DATA_LEN], b1[VNET_RX_DATA_LEN];
    uint32_t l1 = VNET_RX_DATA_LEN - HDR, l2 = VNET_RX_DATA_LEN, l3 = 100;
    uint32_t total = l1 + l2 + l3;
    for (uint32_t i = 0; i < total; i++)
        frame[i] = pat(5, i);
    struct virtio_net_hdr_v1 h = { .num_buffers = 3 };
    memcpy(b1, &h, HDR);
    memcpy(b1 + HDR, frame, l1);
    struct sim_data items[3] = {
        { b1, HDR + l1 }, { frame + l1, l2 }, { frame + l1 + l2, l3 },
    };
    assert_true(dev_rx(items, 3));
    run_softirqs();

    assert_int_equal(F->nrx, 1);
    const struct rx_rec *r = &F->rx[0];
    assert_int_equal(r->nfrags, 3);
    assert_int_equal(r->frags[0].len, l1);
    assert_int_equal(r->frags[1].len, l2);
    assert_int_equal(r->frags[2].len, l3);
    assert_ptr_equal(r->frags[0].data, ((struct vnet_rx_buf *)r->frags[0].buf)->data + HDR);
    assert_ptr_equal(r->frags[1].data, ((struct vnet_rx_buf *)r->frags[1].buf)->data);
    /* In order: the buffers the device used first, second, third. */
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(dma_addr(((struct vnet_rx_buf *)r->frags[i].buf)->data),
                         F->dev_addr[i]);
    check_frame(r, total, 5);
    assert_int_equal(F->vn.dev.q[0].rx_packets, 1);
    assert_int_equal(F->vn.dev.q[0].rx_bytes, total);
    assert_int_equal(F->vn.dev.q[0].rx_dropped, 0);
    check_rx_accounting();
}

/* The device announced num_buffers = 3 but published two buffers: the frame
 * is dropped and counted, both buffers go back to the free list (and are
 * reused by the next refill), none leaks, the queue keeps working. */
static void test_mergeable_missing_buffers_dropped_without_leak(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t b1[VNET_RX_DATA_LEN];
    struct sim_data items[2] = {
        { b1, put_frame(b1, 3, VNET_RX_DATA_LEN - HDR, 1) }, { NULL, VNET_RX_DATA_LEN },
    };
    dev_rx(items, 2);
    run_softirqs();
    assert_int_equal(F->nrx, 0);
    assert_int_equal(F->vn.dev.q[0].rx_packets, 0);
    assert_int_equal(F->vn.dev.q[0].rx_bytes, 0);
    assert_int_equal(F->vn.dev.q[0].rx_dropped, 1);
    assert_int_equal(F->vn.dev.c.rx_bad_frames, 1);
    assert_int_equal(nlog[LOG_WARN], 1);
    assert_int_equal(rx_free_list_len(), 2);
    check_rx_accounting();

    /* Enough traffic to refill: the two dropped buffers are posted again
     * before anything new is allocated. */
    unsigned long a0 = test_dma_allocs();
    dev_rx_frames(7, 60, 10);
    run_softirqs();
    assert_int_equal(F->nrx, 7);
    check_frame(&F->rx[6], 60, 16);
    assert_int_equal(rx_free_list_len(), 0);
    assert_int_equal(rx_posted(), 16);
    assert_int_equal(test_dma_allocs() - a0, 7); /* 9 slots: 2 reused + 7 new */
    assert_int_equal(F->rq->allocated, 16 + 7);
    check_rx_accounting();
}

/* num_buffers 0 or above VNET_MAX_MERGE, and runts (< 12 + 14 bytes), are
 * dropped and counted; a 12 + 14 byte frame is fine; the queue goes on. */
static void test_bad_num_buffers_and_runts_dropped_queue_survives(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t img[5][128];
    for (unsigned round = 0; round < 3; round++) {
        /* num_buffers too large comes last: its would-be chain is drained
         * (see the smuggling test), and here nothing follows it. */
        struct sim_data items[5] = {
            { img[0], put_frame(img[0], 0, 60, 1) },
            { img[1], put_frame(img[1], 1, 13, 3) },   /* runt: 25 bytes */
            { img[2], put_frame(img[2], 1, 14, 4) },   /* smallest legal */
            { img[3], put_frame(img[3], 1, 60, 5) },
            { img[4], put_frame(img[4], VNET_MAX_MERGE + 1, 60, 2) },
        };
        dev_rx(items, 5);
        run_softirqs();
        assert_int_equal(F->nrx, 2 * (round + 1));
        check_frame(&F->rx[2 * round], 14, 4);
        check_frame(&F->rx[2 * round + 1], 60, 5);
        assert_int_equal(F->vn.dev.q[0].rx_dropped, 3 * (round + 1));
        assert_int_equal(F->vn.dev.c.rx_bad_frames, 3 * (round + 1));
        check_rx_accounting();
    }
    assert_int_equal(F->vn.dev.q[0].rx_packets, 6);
    assert_int_equal(F->vn.dev.q[0].rx_bytes, 3 * (14 + 60));
    assert_false(vq_is_broken(F->rq->vq));
    assert_true(rx_posted() > 16 / 2); /* refilled along the way */
}

/* A first buffer with an impossible num_buffers takes its announced chain
 * down with it: the buffers behind it, whose payload a sender controls, must
 * not be read as frames of their own (each starting with a forged virtio
 * header). Found by the malformed-frame suite with a 60 KB jumbo frame. */
static void test_oversized_chain_drained_not_smuggled(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t img[4][128];
    struct sim_data items[4] = {
        { img[0], put_frame(img[0], VNET_MAX_MERGE + 1, 60, 1) },
        /* the rest of that chain, each shaped like a complete frame */
        { img[1], put_frame(img[1], 1, 60, 2) },
        { img[2], put_frame(img[2], 1, 60, 3) },
        { img[3], put_frame(img[3], 1, 60, 4) },
    };
    dev_rx(items, 4);
    run_softirqs();
    assert_int_equal(F->nrx, 0);
    assert_int_equal(F->vn.dev.q[0].rx_dropped, 1);
    assert_int_equal(F->vn.dev.q[0].rx_packets, 0);
    check_rx_accounting();
    assert_false(vq_is_broken(F->rq->vq));
    /* The queue goes on: the next frame is delivered. */
    struct sim_data ok = { img[0], put_frame(img[0], 1, 60, 5) };
    dev_rx(&ok, 1);
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    check_frame(&F->rx[0], 60, 5);
}

/* What GUEST_TSO4 delivers: a 64000-byte TCP segment as one frame over as
 * many merged buffers as it takes, checksum partial. One frame up, in
 * order; a chain longer than 64 KiB (lwIP's 16-bit length) is dropped. */
static void run_big_frame(uint32_t frame_len, bool expect_delivered)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.rx_num = 64;
    fx_open(&c);
    F->vn.features |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
    fx_start();
    static uint8_t frame[70000], img[VNET_MAX_MERGE][VNET_RX_DATA_LEN];
    struct sim_data items[VNET_MAX_MERGE];
    for (uint32_t i = 0; i < frame_len; i++)
        frame[i] = pat(9, i);
    uint32_t first = VNET_RX_DATA_LEN - HDR;
    unsigned nbuf = 1 + (frame_len > first ? (frame_len - first + VNET_RX_DATA_LEN - 1) / VNET_RX_DATA_LEN : 0);
    assert_true(nbuf <= VNET_MAX_MERGE);
    struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = 1 /* TCPV4 */,
                                   .hdr_len = 54, .gso_size = 1448, .csum_start = 34,
                                   .csum_offset = 16, .num_buffers = (uint16_t)nbuf };
    memcpy(img[0], &h, HDR);
    memcpy(img[0] + HDR, frame, first);
    items[0] = (struct sim_data){ img[0], HDR + first };
    uint32_t at = first;
    for (unsigned k = 1; k < nbuf; k++) {
        uint32_t l = frame_len - at < VNET_RX_DATA_LEN ? frame_len - at : VNET_RX_DATA_LEN;
        memcpy(img[k], frame + at, l);
        items[k] = (struct sim_data){ img[k], l };
        at += l;
    }
    dev_rx(items, nbuf);
    run_softirqs();
    if (expect_delivered) {
        assert_int_equal(F->nrx, 1);
        assert_int_equal(F->rx[0].nfrags, nbuf);
        assert_int_equal(F->rx[0].flags, NETDEV_RX_CSUM_UNNECESSARY);
        check_frame(&F->rx[0], frame_len, 9);
        assert_int_equal(F->vn.dev.q[0].rx_bytes, frame_len);
    } else {
        assert_int_equal(F->nrx, 0);
        assert_int_equal(F->vn.dev.q[0].rx_dropped, 1);
    }
    check_rx_accounting();
}

static void test_gso_segment_64000_bytes_one_frame(void **s)
{
    (void)s;
    run_big_frame(64000, true);
}

static void test_chain_over_64k_dropped(void **s)
{
    (void)s;
    run_big_frame(65536, false);
}

/* Without mergeable buffers num_buffers is not looked at; runts still go. */
static void test_runt_dropped_without_mergeable(void **s)
{
    (void)s;
    struct fx_cfg c = DEFAULT_CFG;
    c.mergeable = false;
    fx_open(&c);
    fx_start();
    static uint8_t img[3][128];
    struct sim_data items[3] = {
        { img[0], put_frame(img[0], 1, 0, 1) },   /* header only */
        { img[1], put_frame(img[1], 0, 60, 2) },  /* num_buffers ignored */
        { img[2], 5 },                            /* not even a header */
    };
    dev_rx(items, 3);
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    check_frame(&F->rx[0], 60, 2);
    assert_int_equal(F->vn.dev.q[0].rx_dropped, 2);
    check_rx_accounting();
}

/* ================= 5. VIRTIO_NET_HDR_F_NEEDS_CSUM ================= */

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        s += (uint32_t)p[i] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

#define TCP_AT (14 + 20)

/* A TCP/IPv4 frame with an odd-length payload, as a host sends it with
 * checksum offload: the TCP checksum field holds the folded pseudo-header
 * sum (Linux ~tcp_v4_check(len, saddr, daddr, 0)). *ref is the complete
 * checksum, computed the textbook way (RFC 793: field zero, complement),
 * *pseudo_sum the pseudo-header's; either may be NULL. */
static uint32_t build_tcp_ipv4(uint8_t *f, uint16_t *ref, uint32_t *pseudo_sum)
{
    uint16_t ref_;
    uint32_t pseudo_sum_;
    if (!ref)
        ref = &ref_;
    if (!pseudo_sum)
        pseudo_sum = &pseudo_sum_;
    static const char payload[] = "GET /stats.json HTTP/1.1\r\nHost: u\r\n\r\n";
    uint32_t plen = sizeof(payload) - 1;
    static const uint8_t src[4] = { 10, 0, 2, 2 }, dst[4] = { 10, 0, 2, 15 };
    memcpy(f, "\x52\x54\x00\x12\x34\x56\x52\x55\x0a\x00\x02\x02\x08\x00", 14);
    uint8_t *ip = f + 14, *tcp = f + TCP_AT;
    uint32_t tcp_len = 20 + plen;
    uint16_t tot = (uint16_t)(20 + tcp_len);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[4] = 0x12;
    ip[5] = 0x34;
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint16_t ipc = (uint16_t)~fold(sum16(0, ip, 20));
    ip[10] = (uint8_t)(ipc >> 8);
    ip[11] = (uint8_t)ipc;
    static const uint8_t th[20] = { 0xc3, 0x50, 0x00, 0x50, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d,
                                    0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0 };
    memcpy(tcp, th, 20);
    memcpy(tcp + 20, payload, plen);
    assert_int_equal(plen % 2, 1);
    uint8_t pseudo[12] = { 0 };
    memcpy(pseudo, src, 4);
    memcpy(pseudo + 4, dst, 4);
    pseudo[9] = 6;
    pseudo[10] = (uint8_t)(tcp_len >> 8);
    pseudo[11] = (uint8_t)tcp_len;
    *pseudo_sum = sum16(0, pseudo, 12);
    *ref = (uint16_t)~fold(sum16(*pseudo_sum, tcp, tcp_len));
    uint16_t partial = fold(*pseudo_sum);
    tcp[16] = (uint8_t)(partial >> 8);
    tcp[17] = (uint8_t)partial;
    return TCP_AT + tcp_len;
}

static uint32_t put_csum_frame(uint8_t *out, const uint8_t *frame, uint32_t len, uint16_t start,
                               uint16_t offset)
{
    struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = start,
                                   .csum_offset = offset, .num_buffers = 1 };
    memcpy(out, &h, HDR);
    memcpy(out + HDR, frame, len);
    return HDR + len;
}

/* The default fixture started and f built by build_tcp_ipv4: its length. */
static uint32_t start_with_tcp_frame(uint8_t *f, uint16_t *ref, uint32_t *ps)
{
    fx_open(&DEFAULT_CFG);
    fx_start();
    return build_tcp_ipv4(f, ref, ps);
}

/* A partial checksum from a local sender is trusted and passed up as such
 * (Linux CHECKSUM_PARTIAL): the frame is not touched, the stack is told not
 * to verify it. */
static void test_needs_csum_passed_up_unverified(void **s)
{
    (void)s;
    static uint8_t frame[256], img[300];
    uint16_t ref;
    uint32_t ps;
    uint32_t len = start_with_tcp_frame(frame, &ref, &ps);
    struct sim_data item = { img, put_csum_frame(img, frame, len, TCP_AT, 16) };
    dev_rx(&item, 1);
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    assert_int_equal(F->rx[0].total, len);
    assert_memory_equal(F->rx[0].bytes, frame, len);
    assert_int_equal(F->rx[0].flags, NETDEV_RX_CSUM_UNNECESSARY);
    /* The field holds the pseudo-header sum: finishing it gives ref. */
    const uint8_t *got = F->rx[0].bytes;
    uint8_t copy[256];
    memcpy(copy, got, len);
    copy[TCP_AT + 16] = copy[TCP_AT + 17] = 0;
    assert_int_equal((uint16_t)~fold(sum16(ps, copy + TCP_AT, len - TCP_AT)), ref);
    assert_int_equal(F->vn.dev.c.rx_csum_offloaded, 1);
    assert_int_equal(F->vn.dev.q[0].rx_packets, 1);
}

/* DATA_VALID: verified by the device; no flag at all: the stack verifies. */
static void test_data_valid_and_plain_frames_flags(void **s)
{
    (void)s;
    static uint8_t frame[256], img[2][300];
    uint32_t len = start_with_tcp_frame(frame, NULL, NULL);
    struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 1 };
    memcpy(img[0], &h, HDR);
    memcpy(img[0] + HDR, frame, len);
    h.flags = 0;
    memcpy(img[1], &h, HDR);
    memcpy(img[1] + HDR, frame, len);
    struct sim_data items[2] = { { img[0], HDR + len }, { img[1], HDR + len } };
    dev_rx(items, 2);
    run_softirqs();
    assert_int_equal(F->nrx, 2);
    assert_int_equal(F->rx[0].flags, NETDEV_RX_CSUM_UNNECESSARY);
    assert_int_equal(F->rx[1].flags, 0);
    assert_int_equal(F->vn.dev.c.rx_csum_offloaded, 1);
}

/* csum_start/csum_offset pointing past the frame: dropped. */
static void test_needs_csum_bad_offsets_dropped(void **s)
{
    (void)s;
    static uint8_t frame[256], img[5][300];
    uint32_t len = start_with_tcp_frame(frame, NULL, NULL);
    struct sim_data items[5] = {
        { img[0], put_csum_frame(img[0], frame, len, (uint16_t)len, 0) },
        { img[1], put_csum_frame(img[1], frame, len, TCP_AT, (uint16_t)(len - TCP_AT - 1)) },
        { img[2], put_csum_frame(img[2], frame, len, 0xffff, 0xffff) },
        { img[3], put_csum_frame(img[3], frame, len, TCP_AT, (uint16_t)(len - TCP_AT - 2)) },
        { img[4], put_csum_frame(img[4], frame, len, TCP_AT, 16) },
    };
    dev_rx(items, 5);
    run_softirqs();
    assert_int_equal(F->nrx, 2); /* the last-two-bytes edge case, and the good one */
    assert_int_equal(F->vn.dev.q[0].rx_dropped, 3);
    assert_int_equal(F->vn.dev.c.rx_bad_frames, 3);
    assert_int_equal(F->vn.dev.c.rx_csum_offloaded, 2);
    assert_int_equal(F->rx[1].flags, NETDEV_RX_CSUM_UNNECESSARY);
    check_rx_accounting();
}

/* gso_type is device-written too: only a segment of a kind negotiated
 * (GUEST_TSO4: TCPV4, no ECN, a segment size, NEEDS_CSUM) goes up. */
static void test_gso_fields_checked(void **s)
{
    (void)s;
    static uint8_t frame[256], img[6][300];
    uint32_t len = start_with_tcp_frame(frame, NULL, NULL);
    struct { uint8_t type; uint16_t size; bool csum; bool tso4; } c[6] = {
        { VIRTIO_NET_HDR_GSO_TCPV4, 1448, true, false },  /* not negotiated */
        { VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448, true, true },
        { 4 /* TCPV6 */, 1448, true, true },
        { VIRTIO_NET_HDR_GSO_TCPV4, 0, true, true },       /* no segment size */
        { VIRTIO_NET_HDR_GSO_TCPV4, 1448, false, true },   /* no partial checksum */
        { VIRTIO_NET_HDR_GSO_TCPV4, 1448, true, true },    /* the good one */
    };
    for (unsigned i = 0; i < 6; i++) {
        F->vn.features = c[i].tso4 ? F->vn.features | 1ull << VIRTIO_NET_F_GUEST_TSO4
                                   : F->vn.features & ~(1ull << VIRTIO_NET_F_GUEST_TSO4);
        uint32_t l = put_csum_frame(img[i], frame, len, TCP_AT, 16);
        struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)img[i];
        h->gso_type = c[i].type;
        h->gso_size = c[i].size;
        if (!c[i].csum)
            h->flags = 0;
        struct sim_data item = { img[i], l };
        dev_rx(&item, 1);
        run_softirqs();
        assert_int_equal(F->nrx, i == 5 ? 1 : 0);
        assert_int_equal(F->vn.dev.c.rx_bad_frames, i < 5 ? i + 1 : 5);
    }
    check_rx_accounting();
}

/* ================= 8. the release path ================= */

static void test_released_buffers_reused_without_allocation(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    dev_rx_frames(10, 60, 0);
    run_softirqs();
    assert_int_equal(F->nrx, 10);
    assert_int_equal(F->rq->allocated, 26);
    void *released[10];
    memcpy(released, F->held, sizeof(released));
    release_held();
    assert_int_equal(rx_free_list_len(), 10);
    assert_false(F->rq->refill_timer.armed); /* ring not empty: nothing to hurry */
    assert_int_equal(rx_posted(), 16);       /* no refill from inside the release */

    unsigned long a0 = test_dma_allocs();
    dev_rx_frames(10, 60, 10);
    run_softirqs();
    assert_int_equal(F->nrx, 20);
    assert_int_equal(test_dma_allocs(), a0);
    assert_int_equal(F->rq->allocated, 26);
    assert_int_equal(rx_free_list_len(), 0);
    assert_int_equal(rx_posted(), 16);
    assert_int_equal(sim_fetch(&F->rxd, 16), 10);
    for (unsigned k = 6; k < 16; k++) {
        uint64_t a = sim_inflight(&F->rxd, k)->seg[0].addr;
        bool found = false;
        for (unsigned j = 0; j < 10; j++)
            found |= a == dma_addr(((struct vnet_rx_buf *)released[j])->data);
        assert_true(found);
    }
    check_rx_accounting();
}

/* The stack held every buffer and the ring ran dry with no memory left.
 * Buffers it then gives back refill the ring from the timer (main loop, not
 * from inside the stack's call), even though dma_alloc still fails. */
static void test_release_into_empty_ring_refills_from_timer(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    test_dma_fail_next(1000000);
    dev_rx_frames(16, 60, 0);
    run_softirqs();
    assert_int_equal(F->nrx, 16);
    assert_int_equal(rx_posted(), 0);
    assert_true(F->rq->refill_timer.armed); /* by the failed refill */

    /* The release path's own guard: with no retry pending (cancelled here),
     * releasing into an empty ring arms one, at once. */
    ktimer_cancel(&F->rq->refill_timer);
    unsigned arms = timer_arms;
    F->vn.dev.ops->rx_buf_release(&F->vn.dev, F->held[0]);
    assert_true(F->rq->refill_timer.armed);
    assert_int_equal(timer_last_delay, 0);
    assert_int_equal(rx_posted(), 0);
    for (unsigned i = 1; i < 16; i++)
        F->vn.dev.ops->rx_buf_release(&F->vn.dev, F->held[i]);
    F->nheld = 0;
    assert_int_equal(timer_arms, arms + 1);
    assert_int_equal(rx_posted(), 0);

    unsigned long a0 = test_dma_allocs();
    timer_fire(&F->rq->refill_timer);
    assert_int_equal(rx_posted(), 16);
    assert_int_equal(test_dma_allocs(), a0);
    assert_int_equal(F->rq->allocated, 16);
    assert_false(F->rq->refill_timer.armed);
    assert_true(dev_rx_frames(1, 60, 20));
    run_softirqs();
    assert_int_equal(F->nrx, 17);
    check_rx_accounting();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_refill_oom_partial_ring_arms_retry_timer),
        T(test_refill_oom_empty_ring_retries_until_memory_returns),
        T(test_refill_oom_while_draining_never_empty_without_timer),
        T(test_mergeable_three_buffers_deliver_one_frame),
        T(test_mergeable_missing_buffers_dropped_without_leak),
        T(test_bad_num_buffers_and_runts_dropped_queue_survives),
        T(test_runt_dropped_without_mergeable),
        T(test_oversized_chain_drained_not_smuggled),
        T(test_gso_segment_64000_bytes_one_frame),
        T(test_chain_over_64k_dropped),
        T(test_needs_csum_passed_up_unverified),
        T(test_data_valid_and_plain_frames_flags),
        T(test_needs_csum_bad_offsets_dropped),
        T(test_gso_fields_checked),
        T(test_released_buffers_reused_without_allocation),
        T(test_release_into_empty_ring_refills_from_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
