/* The virtio-net driver fixture: see vnet_fixture.h. */
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
#include "tests/unit/vnet_fixture.h"
/* ---- test doubles: klog, ktimer ---- */

unsigned nlog[LOG_DEBUG + 1];
static char last_log[256];

/* net.mode=irq re-raises a queue's vector; these tests run napi mode. */
unsigned self_ipis;
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

unsigned timer_arms;
unsigned timer_rearmed_while_armed; /* would postpone a pending retry */
uint64_t timer_last_delay;

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
void timer_fire(struct ktimer *t)
{
    assert_true(t->armed);
    t->armed = false;
    t->fn(t->ctx);
}

unsigned vq_warns;
static void vq_warn(struct virtqueue *vq, const char *why)
{
    (void)vq;
    (void)why;
    vq_warns++;
}

const struct fx_cfg DEFAULT_CFG = {
    .rx_num = 16, .tx_num = 32, .event_idx = false, .indirect = false, .mergeable = true,
    .weight = 64,
};

struct fx *F;

static const struct netdev_ops test_ops = {
    .xmit = vnet_xmit,
    .xmit_flush = vnet_xmit_flush,
    .rx_buf_release = vnet_rx_buf_release,
    .device_errors = vnet_device_errors,
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

uint8_t tx_payload[MAX_REC][256];

enum netdev_tx xmit(const struct netdev_tx_sg *sg, unsigned nsg,
                    const struct netdev_tx_offload *off, void *token)
{
    assert_false(F->in_xmit);
    F->in_xmit = true;
    enum netdev_tx r = F->vn.dev.ops->xmit(&F->vn.dev, 0, sg, nsg, off, token);
    F->in_xmit = false;
    return r;
}

/* One piece of tx_payload[i], len bytes, token i + 1. */
enum netdev_tx xmit_one(unsigned i, uint32_t len)
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
        if (xmit_one(100 + k, 64) == NETDEV_TX_OK)
            F->wake_xmit_ok++;
}

/* The real queue handlers (vnet_rx_irq, vnet_tx_irq), entered as the CPU
 * would: IF cleared on delivery, and a line raised while IF is clear is
 * taken when it is set again. */
void rx_irq_handler(struct vnet_rxq *rq)
{
    irqflags_t f = irq_save();
    vnet_rx_irq(rq);
    irq_restore(f);
}

void tx_irq_handler(struct vnet_txq *tq)
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

void hook_irq_enable(void)
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

void fx_open(const struct fx_cfg *c)
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
void fx_start(void)
{
    vnet_rx_open(F->rq);   /* -1 with an empty ring: the OOM tests */
    sim_fetch(&F->rxd, F->rxd.num);
}

unsigned rx_posted(void) { return vq_num(F->rq->vq) - vq_num_free(F->rq->vq); }

unsigned rx_free_list_len(void)
{
    unsigned n = 0;
    for (struct vnet_rx_buf *b = F->rq->free_list; b; b = b->next_free)
        n++;
    return n;
}

/* Every buffer ever allocated is posted, on the free list or held above. */
void check_rx_accounting(void)
{
    assert_int_equal(F->rq->allocated, rx_free_list_len() + rx_posted() + F->nheld);
}

void release_held(void)
{
    for (unsigned i = 0; i < F->nheld; i++)
        F->vn.dev.ops->rx_buf_release(&F->vn.dev, F->held[i]);
    F->nheld = 0;
}

void fx_close(void)
{
    if (!F)
        return;
    assert_null(F->rxd.error);
    assert_null(F->txd.error);
    assert_false(vq_is_broken(F->rq->vq));
    assert_int_equal(vq_is_broken(F->tq->vq), F->tx_broken_ok);
    assert_int_equal(vq_warns, F->tx_broken_ok);
    assert_int_equal(timer_rearmed_while_armed, 0);
    check_rx_accounting();
    release_held();

    unsigned allocated = F->rq->allocated;
    assert_int_equal(vnet_rx_free_bufs(F->rq), allocated);
    assert_int_equal(F->rq->allocated, 0);
    while (vq_detach_unused_buf(F->tq->vq))
        ;
    vnet_tx_free(F->tq);
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

int setup(void **state)
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

int teardown(void **state)
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

uint8_t pat(unsigned seed, unsigned i) { return (uint8_t)(seed * 31 + i * 7 + (i >> 8)); }

/* One buffer image: virtio_net_hdr_v1 + frame_len bytes of pattern. */
uint32_t put_frame(uint8_t *out, uint16_t num_buffers, uint32_t frame_len, unsigned seed)
{
    struct virtio_net_hdr_v1 h = { .num_buffers = num_buffers };
    memcpy(out, &h, HDR);
    for (uint32_t i = 0; i < frame_len; i++)
        out[HDR + i] = pat(seed, i);
    return HDR + frame_len;
}

void check_frame(const struct rx_rec *r, uint32_t frame_len, unsigned seed)
{
    assert_int_equal(r->total, frame_len);
    for (uint32_t i = 0; i < frame_len; i++)
        if (r->bytes[i] != pat(seed, i))
            fail_msg("frame byte %u: %02x, want %02x", i, r->bytes[i], pat(seed, i));
}

/* The device fetches what is posted and completes n chains from items. */
bool dev_rx(const struct sim_data *items, unsigned n)
{
    sim_fetch(&F->rxd, F->rxd.num);
    assert_true(F->rxd.inflight_count >= n);
    for (unsigned k = 0; k < n && k < 64; k++)
        F->dev_addr[k] = sim_inflight(&F->rxd, k)->seg[0].addr;
    return sim_complete_with(&F->rxd, n, items);
}

/* n ordinary single-buffer frames of frame_len bytes, seeds seed.. */
bool dev_rx_frames(unsigned n, uint32_t frame_len, unsigned seed)
{
    static uint8_t img[64][2048];
    struct sim_data items[64];
    assert_true(n <= 64);
    for (unsigned k = 0; k < n; k++)
        items[k] = (struct sim_data){ img[k], put_frame(img[k], 1, frame_len, seed + k) };
    return dev_rx(items, n);
}

void run_softirqs(void) { assert_false(softirq_run()); }

bool rx_cb_enabled(void)
{
    /* A completion now would interrupt: flag clear, or used_event at the
     * next entry (what vq_enable_cb_prepare writes). */
    if (F->rxd.event_idx)
        return *virtq_used_event(F->rxd.avail, F->rxd.num) == F->rxd.used_idx;
    return !(F->rxd.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* The device will interrupt for one of the buffers it may still complete:
 * the flag is clear, or used_event lies ahead within the ring (disabled, it
 * sits behind the used idx). */
bool tx_cb_enabled(void)
{
    if (F->txd.event_idx)
        return (uint16_t)(*virtq_used_event(F->txd.avail, F->txd.num) - F->txd.used_idx) <
               F->txd.num;
    return !(F->txd.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}
