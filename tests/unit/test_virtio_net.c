/* virtio-net RX/TX: the real drivers/net/virtio_net_rx.c and virtio_net_tx.c,
 * with the real virtqueue, NAPI and softirq code, against the simulated
 * device (sim_device.c) working on the real ring memory.
 *
 * A struct vnet is put together by hand, as create_queues() + vnet_open()
 * do, minus PCI. The interrupt handlers of virtio_net.c are static; the RX
 * one is restated here (mask the queue, schedule NAPI), and interrupt
 * delivery honours the simulated IF: an interrupt raised while IF is clear
 * is taken at the irq_restore that sets it again, as on the CPU.
 *
 * Test doubles: kernel/timer.h (ktimer_arm records, the test fires),
 * kernel/log.h (klog counts), dma_alloc failure knobs in test_support.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/virtio_net_priv.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/dma.h"
#include "kernel/irqflags.h"
#include "kernel/log.h"
#include "kernel/napi.h"
#include "kernel/softirq.h"
#include "kernel/timer.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"

#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define MAX_REC 128
#define MAX_HELD 1024

/* ---- test doubles: klog, ktimer ---- */

static unsigned nlog[LOG_DEBUG + 1];
static char last_log[256];

/* net.mode=irq re-raises a queue's vector; these tests run napi mode. */
static unsigned self_ipis;
void lapic_self_ipi(int vector)
{
    (void)vector;
    self_ipis++;
}

void klog(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof(last_log), fmt, ap);
    va_end(ap);
    if ((unsigned)level <= LOG_DEBUG)
        nlog[level]++;
}

static unsigned timer_arms;
static unsigned timer_rearmed_while_armed; /* would postpone a pending retry */
static uint64_t timer_last_delay;

void ktimer_arm(struct ktimer *t, uint64_t delay_ns, void (*fn)(void *ctx), void *ctx)
{
    if (t->armed)
        timer_rearmed_while_armed++;
    t->deadline_ns = delay_ns;
    t->fn = fn;
    t->ctx = ctx;
    t->armed = true;
    timer_arms++;
    timer_last_delay = delay_ns;
}

void ktimer_cancel(struct ktimer *t) { t->armed = false; }

/* What ktimers_run does for an expired timer. */
static void timer_fire(struct ktimer *t)
{
    assert_true(t->armed);
    t->armed = false;
    t->fn(t->ctx);
}

static unsigned vq_warns;
static void vq_warn(struct virtqueue *vq, const char *why)
{
    (void)vq;
    (void)why;
    vq_warns++;
}

/* ---- the fixture: one queue pair ---- */

struct fx_cfg {
    unsigned rx_num, tx_num;
    bool event_idx, indirect, mergeable;
    int weight;
};

static const struct fx_cfg DEFAULT_CFG = {
    .rx_num = 16, .tx_num = 32, .event_idx = false, .indirect = false, .mergeable = true,
    .weight = 64,
};

struct rx_rec {
    unsigned nfrags;
    struct netdev_rx_frag frags[VNET_MAX_MERGE];
    uint32_t total;
    uint8_t *bytes; /* the frame, frags concatenated */
    unsigned flags; /* NETDEV_RX_* */
};

struct fx {
    struct vnet vn;
    struct vnet_rxq *rq;
    struct vnet_txq *tq;
    struct sim_device rxd, txd;
    long dma_base;

    /* interrupts */
    bool rx_irq_pending, tx_irq_pending;
    unsigned long tx_irqs;            /* TX interrupts delivered */
    bool tx_complete_on_kick;         /* a device that finishes all at once when kicked */

    /* upper layer */
    struct rx_rec rx[MAX_REC];
    unsigned nrx;
    void *held[MAX_HELD]; /* RX buffers the upper layer holds */
    unsigned nheld;
    void *done[MAX_REC];  /* tx_done tokens, in call order */
    unsigned ndone;
    unsigned wakes;
    bool in_xmit;
    unsigned wake_xmits;  /* frames tx_wake sends, as netif's backlog drain */
    unsigned wake_xmit_ok;

    uint64_t dev_addr[64]; /* buffers the device wrote in the last dev_rx */

    /* injection points */
    void (*after_rx)(unsigned nrx); /* after each rx upcall */
    void (*on_rx_kick)(void);       /* once, at the next RX queue notify */
    void (*on_irq_save)(void);      /* once, at the next irq_save */
};

static struct fx *F;

static const struct netdev_ops test_ops = {
    .xmit = vnet_xmit,
    .xmit_flush = vnet_xmit_flush,
    .rx_buf_release = vnet_rx_buf_release,
};

static void up_rx(struct netdev *dev, const struct netdev_rx_frag *frags, unsigned n,
                  unsigned flags)
{
    assert_ptr_equal(dev, &F->vn.dev);
    assert_true(test_irq_enabled()); /* main loop, never an interrupt handler */
    assert_true(n >= 1 && n <= VNET_MAX_MERGE);
    assert_true(F->nrx < MAX_REC);
    struct rx_rec *r = &F->rx[F->nrx];
    r->nfrags = n;
    r->flags = flags;
    r->total = 0;
    for (unsigned i = 0; i < n; i++) {
        struct vnet_rx_buf *b = frags[i].buf;
        r->frags[i] = frags[i];
        r->total += frags[i].len;
        assert_ptr_equal(b->rq, F->rq);
        assert_ptr_equal(frags[i].upper_room, b->upper);
        assert_int_equal((uintptr_t)frags[i].upper_room % 16, 0);
        assert_true((uint8_t *)frags[i].data >= b->data);
        assert_true((uint8_t *)frags[i].data + frags[i].len <= b->data + VNET_RX_DATA_LEN);
        assert_true(F->nheld < MAX_HELD);
        F->held[F->nheld++] = b;
    }
    r->bytes = malloc(r->total ? r->total : 1);
    uint32_t at = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(r->bytes + at, frags[i].data, frags[i].len);
        at += frags[i].len;
    }
    F->nrx++;
    if (F->after_rx)
        F->after_rx(F->nrx);
}

static void up_tx_done(struct netdev *dev, void *token)
{
    assert_ptr_equal(dev, &F->vn.dev);
    if (F->ndone < MAX_REC)
        F->done[F->ndone] = token;
    F->ndone++;
}

static uint8_t tx_payload[MAX_REC][256];

static int xmit(const struct netdev_tx_sg *sg, unsigned nsg, const struct netdev_tx_offload *off,
                void *token)
{
    assert_false(F->in_xmit);
    F->in_xmit = true;
    int r = F->vn.dev.ops->xmit(&F->vn.dev, 0, sg, nsg, off, token);
    F->in_xmit = false;
    return r;
}

/* One piece of tx_payload[i], len bytes, token i + 1. */
static int xmit_one(unsigned i, uint32_t len)
{
    struct netdev_tx_sg sg = { tx_payload[i], len };
    return xmit(&sg, 1, NULL, (void *)(uintptr_t)(i + 1));
}

static void up_tx_wake(struct netdev *dev, unsigned queue)
{
    assert_ptr_equal(dev, &F->vn.dev);
    assert_int_equal(queue, 0);
    assert_false(F->in_xmit); /* never from inside xmit: the caller is the upper layer */
    F->wakes++;
    /* netif's backlog drain: send from inside the upcall. */
    for (unsigned k = 0; k < F->wake_xmits; k++)
        if (xmit_one(100 + k, 64) == 0)
            F->wake_xmit_ok++;
}

/* The real queue handlers (vnet_rx_irq, vnet_tx_irq), entered as the CPU
 * would: IF cleared on delivery, and a line raised while IF is clear is
 * taken when it is set again. */
static void rx_irq_handler(struct vnet_rxq *rq)
{
    irqflags_t f = irq_save();
    vnet_rx_irq(rq);
    irq_restore(f);
}

static void tx_irq_handler(struct vnet_txq *tq)
{
    irqflags_t f = irq_save();
    F->tx_irqs++;
    vnet_tx_irq(tq);
    irq_restore(f);
}

static void rx_irq_line(void *ctx)
{
    if (test_irq_enabled())
        rx_irq_handler(ctx);
    else
        F->rx_irq_pending = true; /* taken when IF is set again */
}

static void tx_irq_line(void *ctx)
{
    if (test_irq_enabled())
        tx_irq_handler(ctx);
    else
        F->tx_irq_pending = true;
}

static void hook_irq_save(void)
{
    void (*fn)(void) = F ? F->on_irq_save : NULL;
    if (fn) {
        F->on_irq_save = NULL;
        fn();
    }
}

static void hook_irq_enable(void)
{
    if (F && F->rx_irq_pending) {
        F->rx_irq_pending = false;
        rx_irq_handler(F->rq);
    }
    if (F && F->tx_irq_pending) {
        F->tx_irq_pending = false;
        tx_irq_handler(F->tq);
    }
}

static void rx_notify(struct virtqueue *vq)
{
    sim_notify_cb(vq);
    void (*fn)(void) = F->on_rx_kick;
    if (fn) {
        F->on_rx_kick = NULL;
        fn();
    }
}

static void tx_notify(struct virtqueue *vq)
{
    sim_notify_cb(vq);
    if (F->tx_complete_on_kick) {
        sim_fetch(&F->txd, F->txd.num);
        sim_complete(&F->txd, F->txd.inflight_count, 0);
    }
}

static void fx_open(const struct fx_cfg *c)
{
    F = calloc(1, sizeof(*F));
    assert_non_null(F);
    F->dma_base = test_dma_outstanding();
    napi_config.weight = c->weight;
    struct vnet *vn = &F->vn;
    vn->pairs = 1;
    vn->active_pairs = 1;
    vn->mode = NET_MODE_NAPI;
    vn->mergeable = c->mergeable;
    vn->features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_CSUM) |
                   (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                   (c->mergeable ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0) |
                   (c->event_idx ? 1ull << VIRTIO_F_EVENT_IDX : 0) |
                   (c->indirect ? 1ull << VIRTIO_F_INDIRECT_DESC : 0);
    struct virtqueue *rvq = vq_create(VIRTIO_NET_RXQ(0), c->rx_num, c->event_idx, c->indirect,
                                      rx_notify, &F->rxd);
    struct virtqueue *tvq = vq_create(VIRTIO_NET_TXQ(0), c->tx_num, c->event_idx, c->indirect,
                                      tx_notify, &F->txd);
    assert_non_null(rvq);
    assert_non_null(tvq);
    vn->rxq[0] = (struct vnet_rxq){ .vn = vn, .index = 0, .vq = rvq };
    vn->txq[0] = (struct vnet_txq){ .vn = vn, .index = 0, .vq = tvq };
    F->rq = &vn->rxq[0];
    F->tq = &vn->txq[0];
    sim_attach(&F->rxd, rvq, c->event_idx);
    sim_attach(&F->txd, tvq, c->event_idx);
    F->rxd.irq = rx_irq_line;
    F->rxd.irq_ctx = F->rq;
    F->txd.irq = tx_irq_line;
    F->txd.irq_ctx = F->tq;

    struct netdev *dev = &vn->dev;
    dev->name = "vnet-test";
    dev->ops = &test_ops;
    dev->priv = vn;
    dev->mtu = 1500;
    dev->link_up = true;
    dev->tx_csum_offload = true;
    dev->num_queues = 1;
    dev->rx_upper_room = 64;
    dev->rx = up_rx;
    dev->tx_done = up_tx_done;
    dev->tx_wake = up_tx_wake;

    assert_int_equal(vnet_rx_init(F->rq), 0);
    assert_int_equal(vnet_tx_init(F->tq), 0);
    assert_int_equal(F->rq->napi.weight, c->weight);
}

/* vnet_open, and the device picking up what was posted. */
static void fx_start(void)
{
    vnet_rx_open(F->rq);   /* -1 with an empty ring: the OOM tests */
    sim_fetch(&F->rxd, F->rxd.num);
}

static unsigned rx_posted(void) { return vq_num(F->rq->vq) - vq_num_free(F->rq->vq); }

static unsigned rx_free_list_len(void)
{
    unsigned n = 0;
    for (struct vnet_rx_buf *b = F->rq->free_list; b; b = b->next_free)
        n++;
    return n;
}

/* Every buffer ever allocated is posted, on the free list or held above. */
static void check_rx_accounting(void)
{
    assert_int_equal(F->rq->allocated, rx_free_list_len() + rx_posted() + F->nheld);
}

static void release_held(void)
{
    for (unsigned i = 0; i < F->nheld; i++)
        F->vn.dev.ops->rx_buf_release(&F->vn.dev, F->held[i]);
    F->nheld = 0;
}

static void fx_close(void)
{
    if (!F)
        return;
    assert_null(F->rxd.error);
    assert_null(F->txd.error);
    assert_false(vq_is_broken(F->rq->vq));
    assert_false(vq_is_broken(F->tq->vq));
    assert_int_equal(vq_warns, 0);
    assert_int_equal(timer_rearmed_while_armed, 0);
    check_rx_accounting();
    release_held();

    unsigned freed = 0;
    struct vnet_rx_buf *b;
    while ((b = vq_detach_unused_buf(F->rq->vq)) != NULL) {
        dma_free(b);
        freed++;
    }
    while ((b = F->rq->free_list) != NULL) {
        F->rq->free_list = b->next_free;
        dma_free(b);
        freed++;
    }
    assert_int_equal(freed, F->rq->allocated);
    while (vq_detach_unused_buf(F->tq->vq))
        ;
    dma_free(F->tq->slots);
    vq_destroy(F->rq->vq);
    vq_destroy(F->tq->vq);
    sim_detach(&F->rxd);
    sim_detach(&F->txd);
    for (unsigned i = 0; i < F->nrx; i++)
        free(F->rx[i].bytes);
    assert_int_equal(test_dma_outstanding(), F->dma_base);
    /* A failed test may leave the entry on the global poll list: keep its
     * memory then, so later tests fail on their own, not on a stale pointer. */
    if (!F->rq->napi.queued)
        free(F);
    F = NULL;
}

static int setup(void **state)
{
    (void)state;
    napi_init();
    napi_config = (struct napi_config){ .weight = 64, .budget = 300, .budget_us = 2000 };
    memset(&napi_stats, 0, sizeof(napi_stats));
    napi_warn_hook = NULL;
    vq_warn_hook = vq_warn;
    vq_warns = 0;
    test_irq_set(true);
    test_irq_set_hooks(hook_irq_save, hook_irq_enable);
    test_clock_set_us(1000000);
    test_dma_fail_next(0);
    test_dma_fail_after(0);
    memset(nlog, 0, sizeof(nlog));
    timer_arms = timer_rearmed_while_armed = 0;
    timer_last_delay = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_dma_fail_next(0);
    fx_close();
    test_irq_set_hooks(NULL, NULL);
    assert_int_equal(softirq_pending(), 0);
    assert_true(test_irq_enabled());
    return 0;
}

/* ---- frames as the device writes them ---- */

static uint8_t pat(unsigned seed, unsigned i) { return (uint8_t)(seed * 31 + i * 7 + (i >> 8)); }

/* One buffer image: virtio_net_hdr_v1 + frame_len bytes of pattern. */
static uint32_t put_frame(uint8_t *out, uint16_t num_buffers, uint32_t frame_len, unsigned seed)
{
    struct virtio_net_hdr_v1 h = { .num_buffers = num_buffers };
    memcpy(out, &h, HDR);
    for (uint32_t i = 0; i < frame_len; i++)
        out[HDR + i] = pat(seed, i);
    return HDR + frame_len;
}

static void check_frame(const struct rx_rec *r, uint32_t frame_len, unsigned seed)
{
    assert_int_equal(r->total, frame_len);
    for (uint32_t i = 0; i < frame_len; i++)
        if (r->bytes[i] != pat(seed, i))
            fail_msg("frame byte %u: %02x, want %02x", i, r->bytes[i], pat(seed, i));
}

/* The device fetches what is posted and completes n chains from items. */
static bool dev_rx(const struct sim_data *items, unsigned n)
{
    sim_fetch(&F->rxd, F->rxd.num);
    assert_true(F->rxd.inflight_count >= n);
    for (unsigned k = 0; k < n && k < 64; k++)
        F->dev_addr[k] = sim_inflight(&F->rxd, k)->seg[0].addr;
    return sim_complete_with(&F->rxd, n, items);
}

/* n ordinary single-buffer frames of frame_len bytes, seeds seed.. */
static bool dev_rx_frames(unsigned n, uint32_t frame_len, unsigned seed)
{
    static uint8_t img[64][2048];
    struct sim_data items[64];
    assert_true(n <= 64);
    for (unsigned k = 0; k < n; k++)
        items[k] = (struct sim_data){ img[k], put_frame(img[k], 1, frame_len, seed + k) };
    return dev_rx(items, n);
}

static void run_softirqs(void) { assert_false(softirq_run()); }

static bool rx_cb_enabled(void)
{
    /* A completion now would interrupt: flag clear, or used_event at the
     * next entry (what vq_enable_cb_prepare writes). */
    if (F->rxd.event_idx)
        return *virtq_used_event(F->rxd.avail, F->rxd.num) == F->rxd.used_idx;
    return !(F->rxd.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

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
 * checksum, computed the textbook way (RFC 793: field zero, complement). */
static uint32_t build_tcp_ipv4(uint8_t *f, uint16_t *ref, uint32_t *pseudo_sum)
{
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

/* A partial checksum from a local sender is trusted and passed up as such
 * (Linux CHECKSUM_PARTIAL): the frame is not touched, the stack is told not
 * to verify it. */
static void test_needs_csum_passed_up_unverified(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t frame[256], img[300];
    uint16_t ref;
    uint32_t ps;
    uint32_t len = build_tcp_ipv4(frame, &ref, &ps);
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
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t frame[256], img[2][300];
    uint16_t ref;
    uint32_t ps;
    uint32_t len = build_tcp_ipv4(frame, &ref, &ps);
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
    fx_open(&DEFAULT_CFG);
    fx_start();
    static uint8_t frame[256], img[5][300];
    uint16_t ref;
    uint32_t ps;
    uint32_t len = build_tcp_ipv4(frame, &ref, &ps);
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

/* ================= 6. the NAPI poll ================= */

static void poll_over_weight(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    c.weight = 4;
    fx_open(&c);
    fx_start();
    /* As the interrupt handler leaves it; then we are net_rx_action. */
    vq_disable_cb(F->rq->vq);
    assert_false(dev_rx_frames(6, 60, 0));
    assert_true(napi_schedule_prep(&F->rq->napi));

    assert_int_equal(vnet_rx_poll(&F->rq->napi, 4), 4);
    assert_int_equal(F->nrx, 4);
    assert_int_equal(F->rq->napi.state, NAPI_STATE_SCHED); /* not completed */
    assert_int_equal(napi_stats.completes, 0);
    assert_false(rx_cb_enabled());
    assert_false(dev_rx_frames(1, 60, 6)); /* still masked: no interrupt */

    assert_int_equal(vnet_rx_poll(&F->rq->napi, 4), 3);
    assert_int_equal(F->nrx, 7);
    assert_int_equal(F->rq->napi.state, 0);
    assert_int_equal(napi_stats.completes, 1);
    assert_int_equal(napi_stats.rescheduled, 0);
    assert_true(rx_cb_enabled());
    assert_int_equal(softirq_pending(), 0);

    /* Re-armed: the next frame interrupts, and is delivered. */
    assert_true(dev_rx_frames(1, 60, 7));
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    run_softirqs();
    assert_int_equal(F->nrx, 8);
    for (unsigned i = 0; i < 8; i++)
        check_frame(&F->rx[i], 60, i);
    assert_true(rx_cb_enabled());
}

static void test_napi_poll_over_weight_stays_scheduled_flags(void **s)
{
    (void)s;
    poll_over_weight(false);
}

static void test_napi_poll_over_weight_stays_scheduled_event_idx(void **s)
{
    (void)s;
    poll_over_weight(true);
}

static unsigned race_at;

/* napi_complete_done's irq_save, right after vq_enable_cb_prepare: the
 * device completes a frame and raises its interrupt, which the CPU takes
 * when napi_complete_done sets IF again, i.e. after SCHED was cleared. */
static void race_complete_inside_complete_done(void)
{
    assert_true(rx_cb_enabled()); /* enable_cb_prepare has run */
    assert_true(dev_rx_frames(1, 60, 50));
    assert_true(F->rx_irq_pending);
}

static void race_arm_at_complete_done(unsigned nrx)
{
    if (nrx == race_at)
        F->on_irq_save = race_complete_inside_complete_done;
}

static void recheck_race_after_prepare(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    fx_open(&c);
    fx_start();
    race_at = 3;
    F->after_rx = race_arm_at_complete_done;
    assert_true(dev_rx_frames(3, 60, 0));
    run_softirqs();
    assert_null(F->on_irq_save);
    assert_int_equal(F->nrx, 4); /* delivered, not stranded */
    check_frame(&F->rx[3], 60, 50);
    assert_int_equal(napi_stats.rescheduled, 1);
    assert_int_equal(napi_stats.missed, 0);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 2);
    assert_int_equal(F->rq->napi.polls, 2);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
}

static void test_napi_recheck_race_after_enable_cb_prepare_flags(void **s)
{
    (void)s;
    recheck_race_after_prepare(false);
}

static void test_napi_recheck_race_after_enable_cb_prepare_event_idx(void **s)
{
    (void)s;
    recheck_race_after_prepare(true);
}

/* ixy#21: the device completes a frame after the poll's last get_buf while
 * the queue is still masked (here: on the refill kick), so it raises no
 * interrupt; only the driver's re-check after re-enabling finds it. */
static void race_complete_on_refill_kick(void)
{
    assert_false(rx_cb_enabled());
    assert_false(dev_rx_frames(1, 60, 60)); /* masked: no interrupt */
}

static void race_arm_at_refill_kick(unsigned nrx)
{
    if (nrx == race_at)
        F->on_rx_kick = race_complete_on_refill_kick;
}

static void recheck_race_ixy21(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    fx_open(&c);
    fx_start();
    race_at = 9; /* 9 free slots > 16 / 2: the poll refills and kicks */
    F->after_rx = race_arm_at_refill_kick;
    assert_true(dev_rx_frames(9, 60, 0));
    run_softirqs();
    assert_null(F->on_rx_kick);
    assert_int_equal(F->nrx, 10);
    check_frame(&F->rx[9], 60, 60);
    assert_int_equal(napi_stats.rescheduled, 1);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
}

static void test_napi_recheck_race_ixy21_not_stranded_flags(void **s)
{
    (void)s;
    recheck_race_ixy21(false);
}

static void test_napi_recheck_race_ixy21_not_stranded_event_idx(void **s)
{
    (void)s;
    recheck_race_ixy21(true);
}

/* The interrupt is taken just before napi_complete_done's cli: the entry is
 * MISSED, stays scheduled and is polled again, and the driver masks the
 * queue again meanwhile, so the device does not interrupt a queue that is
 * already being polled. */
static void missed_irq_before_cli(void)
{
    assert_true(rx_cb_enabled());
    test_irq_set(true);                    /* IF was still set a moment ago */
    assert_true(dev_rx_frames(1, 60, 50)); /* taken at once */
    test_irq_set(false);
}

static void missed_arm(unsigned nrx)
{
    if (nrx == race_at) {
        F->on_irq_save = missed_irq_before_cli;
    } else if (nrx == race_at + 1) {
        /* In the repoll: masked again. */
        assert_false(rx_cb_enabled());
        assert_false(dev_rx_frames(1, 60, 51));
    }
}

static void missed_completion(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    fx_open(&c);
    fx_start();
    race_at = 3;
    F->after_rx = missed_arm;
    assert_true(dev_rx_frames(3, 60, 0));
    run_softirqs();
    assert_null(F->on_irq_save);
    assert_int_equal(F->nrx, 5);
    check_frame(&F->rx[3], 60, 50);
    check_frame(&F->rx[4], 60, 51);
    assert_int_equal(napi_stats.missed, 1);
    assert_int_equal(napi_stats.rescheduled, 0);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 2);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
}

static void test_napi_missed_completion_keeps_queue_masked_flags(void **s)
{
    (void)s;
    missed_completion(false);
}

static void test_napi_missed_completion_keeps_queue_masked_event_idx(void **s)
{
    (void)s;
    missed_completion(true);
}

/* ================= 7. TX ================= */

/* The device will interrupt for one of the buffers it may still complete:
 * the flag is clear, or used_event lies ahead within the ring (disabled, it
 * sits behind the used idx). */
static bool tx_cb_enabled(void)
{
    if (F->txd.event_idx)
        return (uint16_t)(*virtq_used_event(F->txd.avail, F->txd.num) - F->txd.used_idx) <
               F->txd.num;
    return !(F->txd.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

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
    assert_int_equal(xmit(sg0, 1, NULL, (void *)1), 0);
    assert_int_equal(xmit(sg1, 2, NULL, (void *)2), 0);
    assert_int_equal(xmit(sg2, 3, &off, (void *)3), 0);
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
    assert_int_equal(xmit_one(3, 64), 0);
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(F->txd.notifications, n0 + 1);
    assert_int_equal(vq_get_stats(F->tq->vq)->notify_suppressed, 1);
    sim_set_want_notify(&F->txd, true);

    /* Nothing else happens on the link: the interrupt armed after the
     * batch brings the completions back (issue 10 defect 1). */
    assert_int_equal(sim_fetch(&F->txd, 32), 1);
    assert_int_equal(F->tx_irqs, 0);
    assert_true(sim_complete(&F->txd, 4, 0));
    assert_int_equal(F->tx_irqs, 1);
    assert_int_equal(F->ndone, 0);      /* the handler touches no buffer */
    run_softirqs();
    assert_int_equal(F->ndone, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_ptr_equal(F->done[i], (void *)(uintptr_t)(i + 1));
    assert_int_equal(F->vn.dev.q[0].tx_packets, 4);
    assert_int_equal(F->vn.dev.q[0].tx_bytes, 60 + 114 + 234 + 64);
    assert_int_equal(F->vn.dev.q[0].irq_tx, 1);
    assert_int_equal(F->wakes, 0);
}

static void test_tx_header_plus_pieces_one_kick_per_batch(void **s)
{
    (void)s;
    tx_layout(false);
}

static void test_tx_header_plus_pieces_one_kick_per_batch_indirect(void **s)
{
    (void)s;
    tx_layout(true);
}

/* nanos#41: a full ring is back-pressure (-1, queue stopped once), never a
 * crash. The queue stops right after the post that leaves less room than a
 * worst-case frame (Linux check_sq_full_and_disable); the interrupt at 3/4
 * of the outstanding buffers (event idx) or the next one wakes it once. */
static void tx_ring_full(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    fx_open(&c);
    fx_start();
    unsigned long n0 = F->txd.notifications;
    uint64_t bytes = 0;
    unsigned i = 0;
    while (!F->vn.dev.tx_stopped[0]) {
        assert_int_equal(xmit_one(i, 100 + i), 0);
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
    assert_int_equal(xmit_one(8, 64), -1);
    assert_int_equal(xmit_one(8, 64), -1);
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
    /* The rest still comes back on its own. */
    assert_true(tx_cb_enabled());
    assert_true(sim_complete(&F->txd, F->txd.inflight_count, 0));
    run_softirqs();
    assert_int_equal(F->ndone, 8);
    assert_int_equal(F->wakes, 1);
    for (unsigned k = 0; k < 8; k++)
        assert_ptr_equal(F->done[k], (void *)(uintptr_t)(k + 1));
    assert_int_equal(F->vn.dev.q[0].tx_packets, 8);
    assert_int_equal(F->vn.dev.q[0].tx_bytes, bytes);
    assert_int_equal(xmit_one(8, 64), 0);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 0);
}

static void test_tx_ring_full_nanos41_backpressure_flags(void **s)
{
    (void)s;
    tx_ring_full(false);
}

static void test_tx_ring_full_nanos41_backpressure_event_idx(void **s)
{
    (void)s;
    tx_ring_full(true);
}

/* Issue 10 defect 1: on a quiet link (no RX, no further xmit) every
 * completion is reaped: the interrupt is armed while buffers are
 * outstanding, whatever order the device finishes them in. Before, the TX
 * interrupt was armed only while the queue was stopped, and a lost last
 * segment held by the driver was never retransmitted by lwIP. */
static void tx_quiet_link(bool event_idx)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    fx_open(&c);
    fx_start();
    static const unsigned burst[4] = { 1, 5, 1, 7 }; /* a lone last segment, a window */
    unsigned total = 0;
    for (unsigned round = 0; round < 4; round++) {
        unsigned base = F->ndone;
        for (unsigned k = 0; k < burst[round]; k++)
            assert_int_equal(xmit_one(k, 64), 0);
        vnet_xmit_flush(&F->vn.dev);
        sim_fetch(&F->txd, 32);
        /* The device finishes one at a time; the main loop only runs
         * softirqs (what it does when nothing else happens). */
        for (unsigned k = 0; k < burst[round]; k++) {
            sim_complete(&F->txd, 1, 0);
            run_softirqs();
        }
        assert_int_equal(F->ndone, base + burst[round]);
        assert_int_equal(vq_num_free(F->tq->vq), 32);
        total += burst[round];
    }
    assert_true(F->tx_irqs >= 4);
    assert_true(F->tx_irqs <= total);
}

static void test_tx_quiet_link_completions_reaped_flags(void **s)
{
    (void)s;
    tx_quiet_link(false);
}

static void test_tx_quiet_link_completions_reaped_event_idx(void **s)
{
    (void)s;
    tx_quiet_link(true);
}

/* With event idx the TX interrupt is delayed; the RX poll's reclaim may get
 * there first. It reclaims with the interrupt masked (vq_get_buf would
 * otherwise move the event to the very next buffer), wakes, and re-arms at
 * 3/4 of what is left, so the rest still comes back without traffic. */
static void test_tx_reclaim_from_rx_poll_keeps_delay_event_idx(void **s)
{
    (void)s;
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = true;
    fx_open(&c);
    fx_start();
    unsigned i = 0;
    while (!F->vn.dev.tx_stopped[0])
        assert_int_equal(xmit_one(i++, 64), 0);
    assert_int_equal(i, 8);
    for (; i < 12; i++)
        assert_int_equal(xmit_one(i, 64), -1);
    sim_fetch(&F->txd, 32);
    assert_false(sim_complete(&F->txd, 5, 0)); /* 5 < 6: no interrupt yet */
    dev_rx_frames(1, 60, 0);                   /* the RX poll reclaims */
    run_softirqs();
    assert_int_equal(F->ndone, 5);
    assert_int_equal(F->wakes, 1);
    assert_false(F->vn.dev.tx_stopped[0]);
    /* 3 left: the event sits at 3/4 of them (2), not at the next one. */
    assert_int_equal(*virtq_used_event(F->txd.avail, F->txd.num), 5 + 2);
    assert_false(sim_complete(&F->txd, 2, 0));
    assert_true(sim_complete(&F->txd, 1, 0));
    assert_int_equal(F->tx_irqs, 1);
    run_softirqs();
    assert_int_equal(F->ndone, 8);
    assert_int_equal(F->wakes, 1);
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
            int r = (k % 7 == 6) ? xmit(worst, NETDEV_TX_MAX_SG, NULL, (void *)1)
                                 : xmit_one(k, 64);
            /* A stopped queue may have been woken by the reclaim inside. */
            assert_true(running ? r == 0 : r == 0 || r == -1);
            if (r == 0)
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
    assert_int_equal(xmit(sg, 0, NULL, (void *)1), -2);
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG + 1, NULL, (void *)2), -2);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 2);
    assert_int_equal(vq_num_free(F->tq->vq), 32);
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(sim_fetch(&F->txd, 32), 0);
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG, NULL, (void *)3), 0); /* the limit itself is fine */
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
        assert_int_equal(xmit_one(i++, 64), 0);
    assert_int_equal(i, 8);
    sim_fetch(&F->txd, 32);
    /* Completed with IF clear: the interrupt waits, the xmit reclaims. */
    test_irq_set(false);
    sim_complete(&F->txd, 8, 0);
    assert_int_equal(xmit_one(i, 64), 0); /* netif's own backlog drain */
    assert_int_equal(F->wakes, 0);
    assert_false(F->vn.dev.tx_stopped[0]);
    assert_int_equal(F->ndone, 8);
    test_irq_set(true);
    hook_irq_enable();
    i++;

    while (!F->vn.dev.tx_stopped[0])
        assert_int_equal(xmit_one(i++, 64), 0);
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
        assert_int_equal(xmit_one(i, 64), 0);
        assert_true(F->vn.dev.tx_stopped[0]);
        assert_int_equal(xmit_one(i + 1, 64), -1);
        sim_fetch(&F->txd, 16);
        assert_true(sim_complete(&F->txd, 1, 0));
        run_softirqs();
        assert_int_equal(F->wakes, i + 1);
        assert_false(F->vn.dev.tx_stopped[0]);
    }
    assert_int_equal(F->ndone, 4);
}

static void test_tx_small_ring_stopped_queue_wakes(void **s)
{
    (void)s;
    tx_small_ring_wakes(false);
}

static void test_tx_small_ring_stopped_queue_wakes_indirect(void **s)
{
    (void)s;
    tx_small_ring_wakes(true);
}

/* TCP segmentation offload (5.1.6.2): with HOST_TSO4 a super-segment
 * carries gso_type/gso_size/hdr_len beside the partial checksum, may have
 * up to NETDEV_TX_MAX_SG_GSO pieces, and is counted; the queue keeps room
 * for one of those. Without the feature, or without a partial checksum, it
 * is refused as a bad frame. */
static void test_tso_header_and_long_scatter_list(void **s)
{
    (void)s;
    struct fx_cfg c = DEFAULT_CFG;
    c.tx_num = 256;
    c.indirect = true;
    fx_open(&c);
    fx_start();
    static uint8_t data[NETDEV_TX_MAX_SG_GSO][1460];
    struct netdev_tx_sg sg[NETDEV_TX_MAX_SG_GSO];
    for (unsigned k = 0; k < NETDEV_TX_MAX_SG_GSO; k++)
        sg[k] = (struct netdev_tx_sg){ data[k], k ? 1000 : 54 };
    struct netdev_tx_offload off = { .csum_partial = true, .csum_start = 34, .csum_offset = 16,
                                     .gso_type = NETDEV_GSO_TCPV4, .gso_size = 1000,
                                     .hdr_len = 54 };
    const uint32_t len = 54 + 1000 * (NETDEV_TX_MAX_SG_GSO - 1);

    /* Not negotiated: refused, nothing posted. */
    assert_int_equal(xmit(sg, 20, &off, (void *)1), -2);
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 1);

    F->vn.features |= 1ull << VIRTIO_NET_F_HOST_TSO4;
    F->vn.dev.tx_tso = true;
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO + 1, &off, (void *)1), -2);
    struct netdev_tx_offload nocsum = off;
    nocsum.csum_partial = false;
    assert_int_equal(xmit(sg, 20, &nocsum, (void *)1), -2);
    struct netdev_tx_offload nomss = off;
    nomss.gso_size = 0;
    assert_int_equal(xmit(sg, 20, &nomss, (void *)1), -2);
    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG + 1, NULL, (void *)1), -2); /* plain: 16 */
    assert_int_equal(F->vn.dev.q[0].tx_dropped, 5);

    assert_int_equal(xmit(sg, NETDEV_TX_MAX_SG_GSO, &off, (void *)2), 0);
    assert_int_equal(xmit(sg, 2, NULL, (void *)3), 0);
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
    run_softirqs();
    assert_int_equal(F->ndone, 2);
}

/* Issue 10 defect 4: on a shared MSI-X vector or INTx line every queue's
 * handler runs for any queue's interrupt. Like Linux vring_interrupt, a
 * queue with nothing used neither counts it nor schedules (nor masks). */
static void test_shared_vector_handlers_check_for_work(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    assert_int_equal(xmit_one(0, 64), 0);
    vnet_xmit_flush(&F->vn.dev);
    sim_fetch(&F->txd, 32);
    assert_true(dev_rx_frames(1, 60, 0));   /* RX's interrupt... */
    tx_irq_handler(F->tq);                  /* ...runs TX's handler too */
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    assert_int_equal(F->vn.dev.q[0].irq_tx, 0);
    assert_int_equal(F->tq->napi.state, 0);
    assert_true(tx_cb_enabled());
    run_softirqs();
    assert_int_equal(F->nrx, 1);
    assert_true(rx_cb_enabled());

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
        T(test_napi_poll_over_weight_stays_scheduled_flags),
        T(test_napi_poll_over_weight_stays_scheduled_event_idx),
        T(test_napi_recheck_race_after_enable_cb_prepare_flags),
        T(test_napi_recheck_race_after_enable_cb_prepare_event_idx),
        T(test_napi_recheck_race_ixy21_not_stranded_flags),
        T(test_napi_recheck_race_ixy21_not_stranded_event_idx),
        T(test_napi_missed_completion_keeps_queue_masked_flags),
        T(test_napi_missed_completion_keeps_queue_masked_event_idx),
        T(test_tx_header_plus_pieces_one_kick_per_batch),
        T(test_tx_header_plus_pieces_one_kick_per_batch_indirect),
        T(test_tx_ring_full_nanos41_backpressure_flags),
        T(test_tx_ring_full_nanos41_backpressure_event_idx),
        T(test_tx_quiet_link_completions_reaped_flags),
        T(test_tx_quiet_link_completions_reaped_event_idx),
        T(test_tx_reclaim_from_rx_poll_keeps_delay_event_idx),
        T(test_tx_no_slot_leak_when_device_finishes_at_kick),
        T(test_tx_bad_sg_count_dropped),
        T(test_tx_wake_not_reentered_from_xmit),
        T(test_tx_small_ring_stopped_queue_wakes),
        T(test_tx_small_ring_stopped_queue_wakes_indirect),
        T(test_tso_header_and_long_scatter_list),
        T(test_shared_vector_handlers_check_for_work),
        T(test_open_with_frames_pending_schedules_masked),
        T(test_released_buffers_reused_without_allocation),
        T(test_release_into_empty_ring_refills_from_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
