/* The interrupt handlers' contract, on the real handlers: drivers/net/
 * virtio_net.c is linked as is and probed through a stand-in transport
 * (vnet_fake_pci.c), which records each queue's interrupt callback. sim_device.c plays the device on the real rings and "raises" an
 * interrupt by calling that callback with interrupts off, as the CPU would.
 *
 * Contract (virtio_net.c, kernel/napi.h):
 *  - RX interrupt, napi mode: the queue is masked (the device's next used
 *    buffer raises nothing) and its NAPI entry is scheduled exactly once
 *    (NET_RX raised, one poll however many interrupts came before it);
 *  - TX interrupt: the queue is masked and its TX NAPI entry scheduled
 *    (NET_RX raised), whose poll reclaims and wakes a stopped queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/virtio_net.h"
#include "drivers/net/virtio_net_priv.h"
#include "drivers/virtio/virtio_pci.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/dma.h"
#include "kernel/irqflags.h"
#include "kernel/log.h"
#include "kernel/napi.h"
#include "kernel/softirq.h"
#include "kernel/timer.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"
#include "tests/unit/vnet_fake_pci.h"

static struct sim_device dev_rx, dev_tx;

/* ---- the upper layer ---- */

static unsigned frames_up, tx_done_calls, tx_wakes;
static struct netdev *dev;
static void (*on_frame_up)(unsigned nth);   /* runs inside the poll */

static void up_rx(struct netdev *d, const struct netdev_rx_frag *frags, unsigned n, unsigned fl)
{
    (void)fl;
    frames_up++;
    for (unsigned i = 0; i < n; i++)
        d->ops->rx_buf_release(d, frags[i].buf);
    if (on_frame_up)
        on_frame_up(frames_up);
}
static void up_tx_done(struct netdev *d, void *token) { (void)d, (void)token; tx_done_calls++; }
static void up_tx_wake(struct netdev *d, unsigned q) { (void)d, (void)q; tx_wakes++; }

/* ---- interrupts: the recorded callbacks, entered with IF clear ---- */

static unsigned long rx_irqs, tx_irqs;

static void raise_irq(unsigned q)
{
    assert_true(q < fake_pci.nq && fake_pci.q[q].callback);
    fake_pci_irq(q);
}
static void dev_irq(void *ctx)
{
    unsigned q = (unsigned)(uintptr_t)ctx;
    if (q == 0)
        rx_irqs++;
    else
        tx_irqs++;
    raise_irq(q);
}

static struct vnet *vn(void) { return dev->priv; }

static void probe(bool event_idx)
{
    memset(&fake_pci, 0, sizeof(fake_pci));
    fake_pci.offered = (1ull << VIRTIO_F_VERSION_1) | (event_idx ? 1ull << VIRTIO_F_EVENT_IDX : 0);
    /* RX small (counts are exact); TX room for many frames past the stop
     * threshold (a worst-case frame). */
    fake_pci.queue_max[0] = 16;
    fake_pci.queue_max[1] = 64;
    frames_up = tx_done_calls = tx_wakes = 0;
    rx_irqs = tx_irqs = 0;
    napi_init();
    /* Plain completions: these count interrupts per poll (deferral is
     * test_vnet_napi.c's). */
    napi_config.defer_hard_irqs = 0;
    const char *reason = NULL;
    dev = virtio_net_probe(NET_MODE_NAPI, 1, &reason);
    assert_non_null(dev);
    assert_int_equal(fake_pci.nq, 2);
    assert_ptr_equal(fake_pci.q[0].ctx, &vn()->rxq[0]);
    assert_ptr_equal(fake_pci.q[1].ctx, &vn()->txq[0]);
    sim_attach(&dev_rx, vn()->rxq[0].vq, event_idx);
    sim_attach(&dev_tx, vn()->txq[0].vq, event_idx);
    dev_rx.irq = dev_irq;
    dev_rx.irq_ctx = (void *)(uintptr_t)0;
    dev_tx.irq = dev_irq;
    dev_tx.irq_ctx = (void *)(uintptr_t)1;
    dev->rx_upper_room = 64;
    dev->rx = up_rx;
    dev->tx_done = up_tx_done;
    dev->tx_wake = up_tx_wake;
    assert_int_equal(dev->ops->open(dev), 0);
    softirq_run();
    assert_int_equal(softirq_pending(), 0);
}

/* Device reset, then what the probe allocated goes back (LeakSanitizer). */
static void finish(void)
{
    struct vnet_rxq *rq = &vn()->rxq[0];
    struct vnet_txq *tq = &vn()->txq[0];
    vnet_rx_free_bufs(rq);
    while (vq_detach_unused_buf(tq->vq))
        ;
    vnet_tx_free(tq);
    vq_destroy(rq->vq);
    vq_destroy(tq->vq);
    sim_detach(&dev_rx);
    sim_detach(&dev_tx);
    assert_null(dev_rx.error);
    assert_null(dev_tx.error);
    assert_int_equal(fake_pci.errors_logged, 0);
}

/* One Ethernet frame's worth into the next posted RX buffer. */
static bool device_rx_frame(void)
{
    static uint8_t frame[12 + 60];
    memset(frame, 0, sizeof(frame));
    ((struct virtio_net_hdr_v1 *)frame)->num_buffers = 1;
    assert_int_equal(sim_fetch(&dev_rx, 1), 1);
    struct sim_data d = { frame, sizeof(frame) };
    return sim_complete_with(&dev_rx, 1, &d);
}

/* Inside the poll, once it caught up with the device: a new frame must not
 * interrupt. With event idx this is what the mask is for: each vq_get_buf
 * with callbacks on would move used_event to the very next entry. */
static bool mid_poll_irq;
static void frame_while_polling(unsigned nth)
{
    if (nth == 3) {
        mid_poll_irq = device_rx_frame();
        on_frame_up = NULL;
    }
}

static void rx_irq_masks_and_schedules_once(bool event_idx)
{
    probe(event_idx);
    struct napi *n = &vn()->rxq[0].napi;
    uint64_t polls = n->polls;

    /* The queue is armed (vnet_open): the first frame interrupts. */
    assert_true(device_rx_frame());
    assert_int_equal(rx_irqs, 1);
    assert_int_equal(dev->q[0].irq_rx, 1);
    assert_true(n->state & NAPI_STATE_SCHED);
    assert_true(n->queued);
    assert_true(softirq_pending() & (1u << SOFTIRQ_NET_RX));

    /* Masked: more frames before the poll raise nothing. */
    assert_false(device_rx_frame());
    assert_false(device_rx_frame());
    assert_int_equal(rx_irqs, 1);

    /* A spurious or shared-vector interrupt meanwhile: still one entry. */
    raise_irq(0);
    assert_int_equal(dev->q[0].irq_rx, 2);

    mid_poll_irq = false;
    on_frame_up = frame_while_polling;
    softirq_run();
    assert_false(mid_poll_irq);
    assert_int_equal(rx_irqs, 1);
    assert_int_equal(n->polls - polls, 1);   /* scheduled once, polled once */
    assert_int_equal(frames_up, 4);
    assert_false(n->state & NAPI_STATE_SCHED);
    assert_int_equal(softirq_pending(), 0);

    /* Completed and re-armed: the next frame interrupts again, once. */
    assert_true(device_rx_frame());
    assert_int_equal(rx_irqs, 2);
    softirq_run();
    assert_int_equal(n->polls - polls, 2);
    assert_int_equal(frames_up, 5);
    finish();
}

static void test_rx_irq_flags(void **state) { (void)state; rx_irq_masks_and_schedules_once(false); }
static void test_rx_irq_event_idx(void **state) { (void)state; rx_irq_masks_and_schedules_once(true); }

/* Fill the TX ring until the stack is told to stop, let the device finish,
 * and check the interrupt schedules the TX NAPI entry, whose poll wakes the
 * queue. */
static void tx_irq_raises_tx_work(bool event_idx)
{
    probe(event_idx);
    static uint8_t payload[64];
    struct netdev_tx_sg sg = { payload, sizeof(payload) };
    unsigned sent = 0;
    enum netdev_tx r;
    while ((r = dev->ops->xmit(dev, 0, &sg, 1, NULL, (void *)(uintptr_t)(sent + 1))) ==
           NETDEV_TX_OK)
        sent++;
    assert_int_equal(r, NETDEV_TX_BUSY);
    assert_true(dev->tx_stopped[0]);
    dev->ops->xmit_flush(dev);
    assert_int_equal(sim_fetch(&dev_tx, 64), sent);
    assert_int_equal(tx_irqs, 0);

    /* Completing all but one crosses the delayed event: one interrupt. The
     * handler masks the queue: the last completion raises nothing. */
    assert_true(sim_complete(&dev_tx, sent - 1, 0));
    assert_int_equal(tx_irqs, 1);
    assert_false(sim_complete(&dev_tx, 1, 0));
    assert_int_equal(tx_irqs, 1);
    assert_int_equal(dev->q[0].irq_tx, 1);
    struct napi *tn = &vn()->txq[0].napi;
    assert_true(tn->state & NAPI_STATE_SCHED);
    assert_true(softirq_pending() & (1u << SOFTIRQ_NET_RX));
    assert_int_equal(tx_done_calls, 0);   /* the handler itself touches no packet */

    softirq_run();
    assert_int_equal(tx_done_calls, sent);
    assert_false(dev->tx_stopped[0]);
    assert_int_equal(tx_wakes, 1);
    assert_int_equal(softirq_pending(), 0);

    /* One frame on a quiet link: its completion must still be reaped (lwIP
     * will not retransmit a segment the driver holds). The reclaim timer
     * does it without an interrupt; when a timer run finds the device made
     * no progress, the TX interrupt takes over. */
    struct ktimer *rt = &vn()->txq[0].reclaim_timer;
    assert_int_equal(dev->ops->xmit(dev, 0, &sg, 1, NULL, (void *)(uintptr_t)1000), NETDEV_TX_OK);
    dev->ops->xmit_flush(dev);
    assert_int_equal(sim_fetch(&dev_tx, 64), 1);
    assert_true(rt->armed);
    assert_false(sim_complete(&dev_tx, 1, 0));
    assert_int_equal(tx_irqs, 1);
    rt->armed = false;
    rt->fn(rt->ctx);
    assert_int_equal(tx_done_calls, sent + 1);
    assert_false(rt->armed);

    assert_int_equal(dev->ops->xmit(dev, 0, &sg, 1, NULL, (void *)(uintptr_t)1001), NETDEV_TX_OK);
    dev->ops->xmit_flush(dev);
    assert_int_equal(sim_fetch(&dev_tx, 64), 1);
    rt->armed = false;
    rt->fn(rt->ctx);                        /* the device has not finished */
    assert_true(sim_complete(&dev_tx, 1, 0));
    assert_int_equal(tx_irqs, 2);
    softirq_run();
    assert_int_equal(tx_done_calls, sent + 2);
    finish();
}

static void test_tx_irq_flags(void **state) { (void)state; tx_irq_raises_tx_work(false); }
static void test_tx_irq_event_idx(void **state) { (void)state; tx_irq_raises_tx_work(true); }

/* Found by tests/fuzz: a device offering a queue size the driver cannot
 * use (not a power of 2) after the RX queue was made: the probe fails and
 * gives back the rings it had allocated. */
static void test_probe_failure_frees_queues(void **state)
{
    (void)state;
    long base = test_dma_outstanding();
    memset(&fake_pci, 0, sizeof(fake_pci));
    fake_pci.offered = 1ull << VIRTIO_F_VERSION_1;
    fake_pci.queue_max[0] = 16;
    fake_pci.queue_max[1] = 3;
    napi_init();
    const char *reason = NULL;
    assert_null(virtio_net_probe(NET_MODE_NAPI, 1, &reason));
    assert_non_null(reason);
    assert_int_equal(test_dma_outstanding(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_failure_frees_queues),
        cmocka_unit_test(test_rx_irq_flags),
        cmocka_unit_test(test_rx_irq_event_idx),
        cmocka_unit_test(test_tx_irq_flags),
        cmocka_unit_test(test_tx_irq_event_idx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
