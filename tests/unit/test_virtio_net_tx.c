/* virtio-net transmit: layout and kicks, back-pressure and the stop point,
 * completions on a quiet link, TSO, the queue interrupt handlers and open.
 * Fixture: vnet_fixture.h. */
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

/* ================= 7. TX ================= */


static void tx_layout(bool indirect)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.indirect = indirect;
    fx_open(&c);
    fx_start();
    unsigned long n0 = F->txd.notifications;
    uint8_t *p0 = tx_payload[0], *p1 = tx_payload[1], *p2 = tx_payload[2];
    const struct netdev_tx_sg sg0[1] = { { p0, 60 } };
    const struct netdev_tx_sg sg1[2] = { { p1, 14 }, { p1 + 14, 100 } };
    const struct netdev_tx_sg sg2[3] = { { p2, 14 }, { p2 + 14, 20 }, { p2 + 34, 200 } };
    const struct netdev_tx_offload off = { .csum_partial = true, .csum_start = 34, .csum_offset = 16 };
    const struct netdev_tx_sg *sgs[3] = { sg0, sg1, sg2 };
    assert_int_equal(xmit(sg0, 1, NULL, (void *)1), NETDEV_TX_OK);
    assert_int_equal(xmit(sg1, 2, NULL, (void *)2), NETDEV_TX_OK);
    assert_int_equal(xmit(sg2, 3, &off, (void *)3), NETDEV_TX_OK);
    assert_int_equal(F->txd.notifications, n0); /* no kick per frame */
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(F->txd.notifications, n0 + 1); /* one per batch */
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(F->txd.notifications, n0 + 1);

    assert_int_equal(sim_fetch(&F->txd, 32), 3);
    for (unsigned k = 0; k < 3; k++) {
        const struct sim_chain *ch = sim_inflight(&F->txd, k);
        assert_int_equal(ch->nseg, k + 2);
        assert_int_equal(ch->indirect, indirect);
        assert_int_equal(ch->in_len, 0);
        assert_int_equal(ch->seg[0].len, HDR);
        assert_false(ch->seg[0].write);
        const struct virtio_net_hdr_v1 *h = (const void *)(uintptr_t)ch->seg[0].addr;
        assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
        assert_int_equal(h->flags, k == 2 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
        assert_int_equal(h->csum_start, k == 2 ? 34 : 0);
        assert_int_equal(h->csum_offset, k == 2 ? 16 : 0);
        for (unsigned i = 0; i <= k; i++) {
            assert_int_equal(ch->seg[i + 1].addr, dma_addr(sgs[k][i].data));
            assert_int_equal(ch->seg[i + 1].len, sgs[k][i].len);
            assert_false(ch->seg[i + 1].write);
        }
    }
    assert_int_equal(F->vn.dev.q[0].tx_packets, 0); /* counted at completion */

    /* The device's suppression is honoured. */
    sim_set_want_notify(&F->txd, false);
    assert_int_equal(xmit_one(3, 64), NETDEV_TX_OK);
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(F->txd.notifications, n0 + 1);
    assert_int_equal(vq_get_stats(F->tq->vq)->notify_suppressed, 1);
    sim_set_want_notify(&F->txd, true);

    /* Nothing else happens on the link: the reclaim timer armed after the
     * batch brings the completions back (issue 10 defect 1), without a TX
     * interrupt. */
    assert_int_equal(sim_fetch(&F->txd, 32), 1);
    assert_true(F->tq->reclaim_timer.armed);
    assert_int_equal(timer_last_delay, VNET_TX_RECLAIM_NS);
    assert_false(tx_cb_enabled());
    assert_false(sim_complete(&F->txd, 4, 0));
    assert_int_equal(F->ndone, 0);
    timer_fire(&F->tq->reclaim_timer);
    assert_int_equal(F->ndone, 4);
    assert_false(F->tq->reclaim_timer.armed);   /* nothing left to wait for */
    for (unsigned i = 0; i < 4; i++)
        assert_ptr_equal(F->done[i], (void *)(uintptr_t)(i + 1));
    assert_int_equal(F->vn.dev.q[0].tx_packets, 4);
    assert_int_equal(F->vn.dev.q[0].tx_bytes, 60 + 114 + 234 + 64);
    assert_int_equal(F->tx_irqs, 0);
    assert_int_equal(F->wakes, 0);
}

DIRECT_AND_INDIRECT(test_tx_header_plus_pieces_one_kick_per_batch, tx_layout)

/* The default fixture, with or without VIRTIO_F_EVENT_IDX, started. */
static void open_started(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    fx_open(&c);
    fx_start();
}

/* nanos#41: a full ring is back-pressure (-1, queue stopped once), never a
 * crash. The queue stops right after the post that leaves less room than a
 * worst-case frame (Linux check_sq_full_and_disable); the interrupt at 3/4
 * of the outstanding buffers (event idx) or the next one wakes it once. */
static void tx_ring_full(bool event_idx)
{
    open_started(event_idx);
    unsigned long n0 = F->txd.notifications;
    uint64_t bytes = 0;
    unsigned i = 0;
    while (!F->vn.dev.tx_stopped[0]) {
        assert_int_equal(xmit_one(i, 100 + i), NETDEV_TX_OK);
        bytes += 100 + i;
        i++;
    }
    /* 2 descriptors each; stopped once fewer than 17 are free. */
    assert_int_equal(i, 8);
    assert_int_equal(vq_num_free(F->tq->vq), 16);
    assert_int_equal(F->vn.dev.q[0].tx_queue_stopped, 1);
    assert_int_equal(F->txd.notifications, n0 + 1); /* the pending batch went out */
    assert_true(tx_cb_enabled());
    if (event_idx) /* delayed: at 3/4 of the 8 outstanding */
        assert_int_equal(*virtq_used_event(F->txd.avail, F->txd.num), 6);
    assert_int_equal(xmit_one(8, 64), NETDEV_TX_BUSY);
    assert_int_equal(xmit_one(8, 64), NETDEV_TX_BUSY);
    assert_int_equal(F->vn.dev.q[0].tx_queue_stopped, 1); /* counted once */
    assert_int_equal(F->ndone, 0);
    assert_int_equal(vq_num_free(F->tq->vq), 16);  /* a refused frame takes nothing */

    assert_int_equal(sim_fetch(&F->txd, 32), 8);
    if (event_idx)
        assert_false(sim_complete(&F->txd, 6, 0));  /* not before 3/4 */
    assert_true(sim_complete(&F->txd, 1, 0));
    assert_int_equal(F->tx_irqs, 1);
    run_softirqs();
    assert_int_equal(F->ndone, event_idx ? 7 : 1);
    assert_int_equal(F->wakes, 1);
    assert_false(F->vn.dev.tx_stopped[0]);
    /* Running again: interrupt off, the timer covers the rest. */
    assert_false(tx_cb_enabled());
    assert_true(F->tq->reclaim_timer.armed);
    assert_false(sim_complete(&F->txd, F->txd.inflight_count, 0));
    timer_fire(&F->tq->reclaim_timer);
    assert_int_equal(F->ndone, 8);
    assert_int_equal(F->wakes, 1);
    for (unsigned k = 0; k < 8; k++)
        assert_ptr_equal(F->done[k], (void *)(uintptr_t)(k + 1));
    assert_int_equal(F->vn.dev.q[0].tx_packets, 8);
    assert_int_equal(F->vn.dev.q[0].tx_bytes, bytes);
    assert_int_equal(xmit_one(8, 64), NETDEV_TX_OK);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 0);
}

BOTH_RING_SCHEMES(test_tx_ring_full_nanos41_backpressure, tx_ring_full)

/* Issue 10 defect 1: on a quiet link (no RX, no further xmit) every
 * completion is reaped within a bounded time: the reclaim timer is armed
 * while buffers are outstanding, and hands over to the TX interrupt when
 * the device made no progress. Before, only a stopped queue had any, and a
 * lost last segment the driver still held was never retransmitted by lwIP. */
static void tx_quiet_link(bool event_idx)
{
    open_started(event_idx);
    static const unsigned burst[4] = { 1, 5, 1, 7 }; /* a lone last segment, a window */
    for (unsigned round = 0; round < 4; round++) {
        unsigned base = F->ndone;
        for (unsigned k = 0; k < burst[round]; k++)
            assert_int_equal(xmit_one(k, 64), NETDEV_TX_OK);
        vnet_xmit_flush(&F->vn.dev);
        assert_true(F->tq->reclaim_timer.armed);
        sim_fetch(&F->txd, 32);
        /* Rounds 0, 2: the device is done before the timer. 1, 3: it has
         * not even started: the timer finds nothing, the interrupt takes
         * over, and the device finishes one buffer at a time. */
        if (round % 2 == 0) {
            sim_complete(&F->txd, burst[round], 0);
            timer_fire(&F->tq->reclaim_timer);
        } else {
            timer_fire(&F->tq->reclaim_timer);
            assert_false(F->tq->reclaim_timer.armed);
            assert_true(tx_cb_enabled());
            for (unsigned k = 0; k < burst[round]; k++) {
                sim_complete(&F->txd, 1, 0);
                run_softirqs();
                if (F->tq->reclaim_timer.armed)   /* the poll left some: timer again */
                    timer_fire(&F->tq->reclaim_timer);
            }
        }
        assert_int_equal(F->ndone, base + burst[round]);
        assert_int_equal(vq_num_free(F->tq->vq), 32);
        assert_false(F->tq->reclaim_timer.armed);
    }
    /* At least once per slow round (again whenever a poll left some). */
    assert_true(F->vn.dev.q[0].tx_reclaim_irq_armed >= 2);
    assert_true(F->tx_irqs >= 2);
}

BOTH_RING_SCHEMES(test_tx_quiet_link_completions_reaped, tx_quiet_link)

/* On a busy link the RX poll reclaims (Linux virtnet_poll_cleantx) and
 * wakes a stopped queue; what is left is the timer's, with the TX interrupt
 * off: no TX interrupt at all while traffic flows. */
static void test_tx_reclaim_from_rx_poll_no_tx_interrupt_event_idx(void **s)
{
    (void)s;
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = true;
    fx_open(&c);
    fx_start();
    unsigned i = 0;
    while (!F->vn.dev.tx_stopped[0])
        assert_int_equal(xmit_one(i++, 64), NETDEV_TX_OK);
    assert_int_equal(i, 8);
    for (; i < 12; i++)
        assert_int_equal(xmit_one(i, 64), NETDEV_TX_BUSY);
    sim_fetch(&F->txd, 32);
    assert_false(sim_complete(&F->txd, 5, 0)); /* 5 < 6: no interrupt yet */
    dev_rx_frames(1, 60, 0);                   /* the RX poll reclaims */
    run_softirqs();
    assert_int_equal(F->ndone, 5);
    assert_int_equal(F->wakes, 1);
    assert_false(F->vn.dev.tx_stopped[0]);
    assert_false(tx_cb_enabled());
    assert_true(F->tq->reclaim_timer.armed);
    assert_false(sim_complete(&F->txd, 1, 0));
    dev_rx_frames(1, 60, 1);
    run_softirqs();
    assert_int_equal(F->ndone, 6);
    /* The timer's own reclaim finds nothing, but the RX poll's counts as
     * progress: the timer again, still no TX interrupt. */
    timer_fire(&F->tq->reclaim_timer);
    assert_true(F->tq->reclaim_timer.armed);
    assert_false(tx_cb_enabled());
    assert_int_equal(F->vn.dev.q[0].tx_reclaim_irq_armed, 0);
    assert_false(sim_complete(&F->txd, 2, 0));
    dev_rx_frames(1, 60, 2);
    run_softirqs();
    assert_int_equal(F->ndone, 8);
    assert_int_equal(F->tx_irqs, 0);
    timer_fire(&F->tq->reclaim_timer);          /* finds nothing left */
    assert_false(F->tq->reclaim_timer.armed);
    assert_false(tx_cb_enabled());
}

/* Issue 10 defect 2: a device that finishes everything the moment it is
 * kicked (QEMU's TX bottom half can). The kick inside the stop used to
 * reclaim slots onto the free list between taking a slot and popping it,
 * losing half the slots of a 32-entry direct ring. Also: while the queue
 * runs there is room for a worst-case frame, so the next send never fails. */
static unsigned tx_free_slots(void)
{
    unsigned n = 0;
    for (struct vnet_tx_slot *s = F->tq->free_slots; s; s = s->next_free)
        n++;
    return n;
}

static void test_tx_no_slot_leak_when_device_finishes_at_kick(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    F->tx_complete_on_kick = true;
    struct netdev_tx_sg worst[NETDEV_TX_MAX_SG];
    for (unsigned k = 0; k < NETDEV_TX_MAX_SG; k++)
        worst[k] = (struct netdev_tx_sg){ tx_payload[k], 8 };
    unsigned sent = 0;
    for (unsigned round = 0; round < 40; round++) {
        for (unsigned k = 0; k < 24; k++) {
            bool running = !F->vn.dev.tx_stopped[0];
            enum netdev_tx r = (k % 7 == 6) ? xmit(worst, NETDEV_TX_MAX_SG, NULL, (void *)1)
                                            : xmit_one(k, 64);
            /* A stopped queue may have been woken by the reclaim inside. */
            assert_true(running ? r == NETDEV_TX_OK : r == NETDEV_TX_OK || r == NETDEV_TX_BUSY);
            if (r == NETDEV_TX_OK)
                sent++;
            unsigned frames_out = (unsigned)(vq_get_stats(F->tq->vq)->added -
                                             vq_get_stats(F->tq->vq)->used);
            assert_int_equal(tx_free_slots() + frames_out, 32);
            assert_true(F->vn.dev.tx_stopped[0] ||
                        vq_num_free(F->tq->vq) >= NETDEV_TX_MAX_SG + 1);
        }
        run_softirqs();
        vnet_xmit_flush(&F->vn.dev);
        run_softirqs();
    }
    assert_true(sent > 40 * 8);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 0);
    assert_int_equal(nlog[LOG_ERROR], 0);
}

static void test_tx_bad_sg_count_dropped(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    struct netdev_tx_sg sg[NETDEV_TX_MAX_SG + 1];
    for (unsigned i = 0; i <= NETDEV_TX_MAX_SG; i++)
        sg[i] = (struct netdev_tx_sg){ tx_payload[i], 10 };
    assert_int_equal(xmit(sg, 0, NULL, (void *)1), NETDEV_TX_DROPPED);
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG + 1, NULL, (void *)2), NETDEV_TX_DROPPED);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 2);
    assert_int_equal(vq_num_free(F->tq->vq), 32);
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(sim_fetch(&F->txd, 32), 0);
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG, NULL, (void *)3), NETDEV_TX_OK); /* the limit itself is fine */
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 2);
    assert_int_equal(vnet_tx_reclaim(F->tq), 0);
    assert_int_equal(F->ndone, 0);
}

/* Reclaim inside xmit may restart the queue, but must not call tx_wake:
 * that would re-enter the upper layer from its own linkoutput. From the poll
 * path it does call it, and the upcall may send at once. */
static void test_tx_wake_not_reentered_from_xmit(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    unsigned i = 0;
    while (!F->vn.dev.tx_stopped[0])
        assert_int_equal(xmit_one(i++, 64), NETDEV_TX_OK);
    assert_int_equal(i, 8);
    sim_fetch(&F->txd, 32);
    /* Completed with IF clear: the interrupt waits, the xmit reclaims. */
    test_irq_set(false);
    sim_complete(&F->txd, 8, 0);
    assert_int_equal(xmit_one(i, 64), NETDEV_TX_OK); /* netif's own backlog drain */
    assert_int_equal(F->wakes, 0);
    assert_false(F->vn.dev.tx_stopped[0]);
    assert_int_equal(F->ndone, 8);
    test_irq_set(true);
    hook_irq_enable();
    i++;

    while (!F->vn.dev.tx_stopped[0])
        assert_int_equal(xmit_one(i++, 64), NETDEV_TX_OK);
    assert_int_equal(F->vn.dev.q[0].tx_queue_stopped, 2);
    run_softirqs();   /* a TX poll the pending interrupt scheduled, if any */
    vnet_xmit_flush(&F->vn.dev);
    sim_fetch(&F->txd, 32);
    unsigned long n0 = F->txd.notifications;
    F->wake_xmits = 2;
    /* Completed with IF clear, then an RX interrupt: the NAPI poll reclaims
     * TX, wakes, flushes. */
    test_irq_set(false);
    sim_complete(&F->txd, F->txd.inflight_count, 0);
    dev_rx_frames(1, 60, 0);
    test_irq_set(true);
    hook_irq_enable();
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    assert_int_equal(F->wakes, 1);
    assert_int_equal(F->wake_xmit_ok, 2);
    assert_int_equal(F->txd.notifications, n0 + 1);
    assert_int_equal(sim_fetch(&F->txd, 32), 2);
    assert_int_equal(F->ndone, i);
}

/* A ring smaller than a worst-case frame (NETDEV_TX_MAX_SG + 1 descriptors)
 * can never have that much room: it runs one frame at a time and wakes once
 * empty, or a stopped queue would stay stopped for ever. Direct and
 * indirect descriptors. */
static void tx_small_ring_wakes(bool indirect)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.tx_num = 16;
    c.indirect = indirect;
    fx_open(&c);
    fx_start();
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(xmit_one(i, 64), NETDEV_TX_OK);
        assert_true(F->vn.dev.tx_stopped[0]);
        assert_int_equal(xmit_one(i + 1, 64), NETDEV_TX_BUSY);
        sim_fetch(&F->txd, 16);
        assert_true(sim_complete(&F->txd, 1, 0));
        run_softirqs();
        assert_int_equal(F->wakes, i + 1);
        assert_false(F->vn.dev.tx_stopped[0]);
    }
    assert_int_equal(F->ndone, 4);
}

DIRECT_AND_INDIRECT(test_tx_small_ring_stopped_queue_wakes, tx_small_ring_wakes)

/* A 256-entry ring with indirect descriptors, started (HOST_TSO4 not yet
 * negotiated); sg a super-segment of NETDEV_TX_MAX_SG_GSO pieces (54 header
 * bytes, then 1000 each), off its request (TCP/IPv4, gso_size 1000). */
static void open_for_tso(struct netdev_tx_sg *sg, struct netdev_tx_offload *off)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.tx_num = 256;
    c.indirect = true;
    fx_open(&c);
    fx_start();
    static uint8_t data[NETDEV_TX_MAX_SG_GSO][1000];
    for (unsigned k = 0; k < NETDEV_TX_MAX_SG_GSO; k++)
        sg[k] = (struct netdev_tx_sg){ data[k], k ? 1000 : 54 };
    *off = (struct netdev_tx_offload){ .csum_partial = true, .csum_start = 34, .csum_offset = 16,
                                       .gso_type = NETDEV_GSO_TCPV4, .gso_size = 1000,
                                       .hdr_len = 54 };
}

/* TCP segmentation offload (5.1.6.2): with HOST_TSO4 a super-segment
 * carries gso_type/gso_size/hdr_len beside the partial checksum, may have
 * up to NETDEV_TX_MAX_SG_GSO pieces, and is counted; the queue keeps room
 * for one of those. Without the feature, or without a partial checksum, it
 * is refused as a bad frame. */
static void test_tso_header_and_long_scatter_list(void **s)
{
    (void)s;
    struct netdev_tx_sg sg[NETDEV_TX_MAX_SG_GSO];
    struct netdev_tx_offload off;
    open_for_tso(sg, &off);
    const uint32_t len = 54 + 1000 * (NETDEV_TX_MAX_SG_GSO - 1);

    /* Not negotiated: refused, nothing posted. */
    assert_int_equal(xmit(sg, 20, &off, (void *)1), NETDEV_TX_DROPPED);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 1);

    F->vn.features |= 1ull << VIRTIO_NET_F_HOST_TSO4;
    F->vn.dev.tx_tso = true;
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO + 1, &off, (void *)1), NETDEV_TX_DROPPED);
    struct netdev_tx_offload nocsum = off;
    nocsum.csum_partial = false;
    assert_int_equal(xmit(sg, 20, &nocsum, (void *)1), NETDEV_TX_DROPPED);
    struct netdev_tx_offload nomss = off;
    nomss.gso_size = 0;
    assert_int_equal(xmit(sg, 20, &nomss, (void *)1), NETDEV_TX_DROPPED);
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG + 1, NULL, (void *)1), NETDEV_TX_DROPPED); /* plain: 16 */
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 5);

    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO, &off, (void *)2), NETDEV_TX_OK);
    assert_int_equal(xmit(sg, 2, NULL, (void *)3), NETDEV_TX_OK);
    vnet_xmit_flush(&F->vn.dev);
    sim_fetch(&F->txd, 256);
    if (F->txd.error)
        fail_msg("device: %s", F->txd.error);
    assert_int_equal(F->txd.inflight_count, 2);
    const struct sim_chain *ch = sim_inflight(&F->txd, 0);
    assert_int_equal(ch->nseg, NETDEV_TX_MAX_SG_GSO + 1);
    assert_int_equal(ch->out_len, HDR + len);
    const struct virtio_net_hdr_v1 *h = (const void *)(uintptr_t)ch->seg[0].addr;
    assert_int_equal(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(h->gso_size, 1000);
    assert_int_equal(h->hdr_len, 54);
    assert_int_equal(h->csum_start, 34);
    assert_int_equal(h->csum_offset, 16);
    h = (const void *)(uintptr_t)sim_inflight(&F->txd, 1)->seg[0].addr;
    assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(h->gso_size, 0);
    assert_int_equal(F->vn.dev.q[0].tx_tso_frames, 1);
    assert_int_equal(F->vn.dev.q[0].tx_tso_bytes, len);
    /* Room for another worst-case super-segment is kept. */
    assert_false(F->vn.dev.tx_stopped[0]);
    assert_true(vq_num_free(F->tq->vq) >= NETDEV_TX_MAX_SG_GSO + 1);
    sim_complete(&F->txd, 2, 0);
    timer_fire(&F->tq->reclaim_timer);
    assert_int_equal(F->ndone, 2);
}

/* With indirect descriptors a 64-piece super-segment takes one ring slot
 * (a large table), not 65 descriptors, while one of the queue's
 * VNET_TX_INDIRECT_TABLES is free; then frames go direct, still whole. */
static void test_tso_frame_takes_one_ring_slot(void **s)
{
    (void)s;
    struct netdev_tx_sg sg[NETDEV_TX_MAX_SG_GSO];
    struct netdev_tx_offload off;
    open_for_tso(sg, &off);
    F->vn.features |= 1ull << VIRTIO_NET_F_HOST_TSO4;
    F->vn.dev.tx_tso = true;
    const unsigned tables = VNET_TX_INDIRECT_TABLES;
    for (unsigned k = 0; k < tables; k++) {
        assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO, &off, (void *)(uintptr_t)(k + 1)), NETDEV_TX_OK);
        assert_int_equal(vq_num_free(F->tq->vq), 256 - (k + 1));
    }
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO, &off, (void *)(uintptr_t)(tables + 1)), NETDEV_TX_OK);
    assert_int_equal(vq_num_free(F->tq->vq), 256 - tables - (NETDEV_TX_MAX_SG_GSO + 1));
    assert_int_equal(vq_get_stats(F->tq->vq)->indirect_full, 1);
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(sim_fetch(&F->txd, 256), tables + 1);
    if (F->txd.error)
        fail_msg("device: %s", F->txd.error);
    for (unsigned k = 0; k <= tables; k++) {
        const struct sim_chain *ch = sim_inflight(&F->txd, k);
        assert_int_equal(ch->indirect, k < tables);
        assert_int_equal(ch->nseg, NETDEV_TX_MAX_SG_GSO + 1);
        assert_int_equal(ch->out_len, HDR + 54 + 1000 * (NETDEV_TX_MAX_SG_GSO - 1));
    }
    sim_complete(&F->txd, tables + 1, 0);
    assert_int_equal(vnet_tx_reclaim(F->tq), tables + 1);
    assert_int_equal(vq_num_free(F->tq->vq), 256);
    assert_int_equal(F->vn.dev.q[0].tx_tso_frames, tables + 1);
    /* The tables came back. */
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO, &off, (void *)1), NETDEV_TX_OK);
    assert_int_equal(vq_num_free(F->tq->vq), 255);
    assert_int_equal(vq_get_stats(F->tq->vq)->indirect_full, 1);
    vnet_xmit_flush(&F->vn.dev);
    sim_fetch(&F->txd, 256);
    sim_complete(&F->txd, 1, 0);
    vnet_tx_reclaim(F->tq);
    run_softirqs();
}

/* Issue 10 defect 4: on a shared MSI-X vector or INTx line every queue's
 * handler runs for any queue's interrupt. Like Linux vring_interrupt, a
 * queue with nothing used neither counts it nor schedules (nor masks). */
static void test_shared_vector_handlers_check_for_work(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    assert_int_equal(xmit_one(0, 64), NETDEV_TX_OK);
    vnet_xmit_flush(&F->vn.dev);
    sim_fetch(&F->txd, 32);
    timer_fire(&F->tq->reclaim_timer);      /* no progress: TX interrupt on */
    assert_true(dev_rx_frames(1, 60, 0));   /* RX's interrupt... */
    tx_irq_handler(F->tq);                  /* ...runs TX's handler too */
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    assert_int_equal(F->vn.dev.q[0].irq_tx, 0);
    assert_int_equal(F->tq->napi.state, 0);
    assert_true(tx_cb_enabled());
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    assert_true(rx_cb_enabled());

    timer_fire(&F->tq->reclaim_timer);        /* the RX poll put the timer back */
    assert_true(sim_complete(&F->txd, 1, 0)); /* TX's interrupt... */
    rx_irq_handler(F->rq);                    /* ...and RX's handler */
    assert_int_equal(F->vn.dev.q[0].irq_tx, 1);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
    run_softirqs();
    assert_int_equal(F->ndone, 1);
}

/* Issue 10 defect 4: frames that arrived before open armed the queue are
 * polled, with the queue masked as for any scheduled entry: no interrupt
 * per frame until the poll runs (Linux virtnet_napi_enable). */
static void test_open_with_frames_pending_schedules_masked(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    vq_disable_cb(F->rq->vq);     /* as created: nothing armed yet */
    vnet_rx_refill(F->rq);
    assert_false(dev_rx_frames(2, 60, 0));
    vnet_rx_open(F->rq);
    assert_true(F->rq->napi.state & NAPI_STATE_SCHED);
    assert_false(rx_cb_enabled());
    assert_false(dev_rx_frames(1, 60, 2));
    assert_int_equal(F->vn.dev.q[0].irq_rx, 0);
    run_softirqs();
    assert_int_equal(F->nrx, 3);
    assert_true(rx_cb_enabled());
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_tx_header_plus_pieces_one_kick_per_batch),
        T(test_tx_header_plus_pieces_one_kick_per_batch_indirect),
        T(test_tx_ring_full_nanos41_backpressure_flags),
        T(test_tx_ring_full_nanos41_backpressure_event_idx),
        T(test_tx_quiet_link_completions_reaped_flags),
        T(test_tx_quiet_link_completions_reaped_event_idx),
        T(test_tx_reclaim_from_rx_poll_no_tx_interrupt_event_idx),
        T(test_tx_no_slot_leak_when_device_finishes_at_kick),
        T(test_tx_bad_sg_count_dropped),
        T(test_tx_wake_not_reentered_from_xmit),
        T(test_tx_small_ring_stopped_queue_wakes),
        T(test_tx_small_ring_stopped_queue_wakes_indirect),
        T(test_tso_header_and_long_scatter_list),
        T(test_tso_frame_takes_one_ring_slot),
        T(test_shared_vector_handlers_check_for_work),
        T(test_open_with_frames_pending_schedules_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
