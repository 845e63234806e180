/* The interrupt handlers' contract, on the real handlers: drivers/net/
 * virtio_net.c is linked as is and probed through a stand-in transport (the
 * virtio_pci_* functions below), which records each queue's interrupt
 * callback. sim_device.c plays the device on the real rings and "raises" an
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

/* ---- the stand-in transport ---- */

static uint64_t offered;
static struct virtio_pci_vq_info qinfo[4];
static unsigned nq;
static struct sim_device dev_rx, dev_tx;
static unsigned long notifies[4];
static unsigned errors_logged;

struct pci_dev *virtio_pci_find(unsigned device_type, struct pci_dev *from)
{
    static char fake;
    (void)device_type;
    return from ? NULL : (struct pci_dev *)(void *)&fake;
}
int virtio_pci_init(struct virtio_pci_dev *vdev, struct pci_dev *pci, const char **reason)
{
    (void)vdev, (void)pci, (void)reason;
    return 0;
}
uint64_t virtio_pci_get_features(struct virtio_pci_dev *vdev) { (void)vdev; return offered; }
void virtio_pci_set_features(struct virtio_pci_dev *vdev, uint64_t f) { (void)vdev, (void)f; }
int virtio_pci_features_ok(struct virtio_pci_dev *vdev) { (void)vdev; return 0; }
void virtio_pci_driver_ok(struct virtio_pci_dev *vdev) { (void)vdev; }
void virtio_pci_fail(struct virtio_pci_dev *vdev) { (void)vdev; }
void virtio_pci_teardown(struct virtio_pci_dev *vdev) { (void)vdev; }
int virtio_pci_read_config(struct virtio_pci_dev *vdev, uint32_t off, void *buf, uint32_t len)
{
    (void)vdev, (void)off;
    memset(buf, 0, len);
    return 0;
}
uint16_t virtio_pci_queue_max_size(struct virtio_pci_dev *vdev, uint16_t idx)
{
    (void)vdev;
    /* RX small (counts are exact); TX room for many frames past the stop
     * threshold (a worst-case frame). */
    return idx == 0 ? 16 : idx == 1 ? 64 : 0;
}
const char *virtio_pci_irq_mode_name(enum virtio_pci_irq_mode mode) { (void)mode; return "msix"; }
void virtio_pci_notify(struct virtio_pci_dev *vdev, uint16_t idx)
{
    (void)vdev;
    if (idx < 4)
        notifies[idx]++;
}
int virtio_pci_setup_queues(struct virtio_pci_dev *vdev, unsigned nvqs,
                            const struct virtio_pci_vq_info *vqs, irq_handler_t config_cb,
                            void *config_ctx, enum virtio_pci_irq_mode first_mode,
                            const char **reason)
{
    (void)config_cb, (void)config_ctx, (void)reason;
    assert_true(nvqs <= 4);
    nq = nvqs;
    memcpy(qinfo, vqs, nvqs * sizeof(*vqs));
    vdev->irq_mode = first_mode;
    for (unsigned i = 0; i < nvqs; i++)
        vdev->vq[i].vector = 0x40 + (int)i;
    return 0;
}

/* ---- other kernel services ---- */

void klog(enum log_level level, const char *fmt, ...)
{
    if (level == LOG_ERROR)
        errors_logged++;
    (void)fmt;
}
void ktimer_arm(struct ktimer *t, uint64_t delay_ns, void (*fn)(void *ctx), void *ctx)
{
    t->deadline_ns = delay_ns;
    t->fn = fn;
    t->ctx = ctx;
    t->armed = true;
}
void ktimer_cancel(struct ktimer *t) { t->armed = false; }
void lapic_self_ipi(int vector) { (void)vector; }
const char *net_mode_name(enum net_mode m) { return m == NET_MODE_NAPI ? "napi" : "other"; }

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
    assert_true(q < nq && qinfo[q].callback);
    bool was = test_irq_enabled();
    test_irq_set(false);
    qinfo[q].callback(qinfo[q].ctx);
    test_irq_set(was);
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
    offered = (1ull << VIRTIO_F_VERSION_1) | (event_idx ? 1ull << VIRTIO_F_EVENT_IDX : 0);
    memset(notifies, 0, sizeof(notifies));
    frames_up = tx_done_calls = tx_wakes = 0;
    rx_irqs = tx_irqs = 0;
    errors_logged = 0;
    napi_init();
    const char *reason = NULL;
    dev = virtio_net_probe(NET_MODE_NAPI, 1, &reason);
    assert_non_null(dev);
    assert_int_equal(nq, 2);
    assert_ptr_equal(qinfo[0].ctx, &vn()->rxq[0]);
    assert_ptr_equal(qinfo[1].ctx, &vn()->txq[0]);
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
    void *b;
    while ((b = vq_detach_unused_buf(rq->vq)) != NULL)
        dma_free(b);
    while ((b = rq->free_list) != NULL) {
        rq->free_list = rq->free_list->next_free;
        dma_free(b);
    }
    while (vq_detach_unused_buf(tq->vq))
        ;
    dma_free(tq->slots);
    vq_destroy(rq->vq);
    vq_destroy(tq->vq);
    sim_detach(&dev_rx);
    sim_detach(&dev_tx);
    assert_null(dev_rx.error);
    assert_null(dev_tx.error);
    assert_int_equal(errors_logged, 0);
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
    int r;
    while ((r = dev->ops->xmit(dev, 0, &sg, 1, NULL, (void *)(uintptr_t)(sent + 1))) == 0)
        sent++;
    assert_int_equal(r, -1);
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

    /* One frame on a quiet link: its completion must still interrupt (lwIP
     * will not retransmit a segment the driver holds), and be reaped. */
    assert_int_equal(dev->ops->xmit(dev, 0, &sg, 1, NULL, (void *)(uintptr_t)1000), 0);
    dev->ops->xmit_flush(dev);
    assert_int_equal(sim_fetch(&dev_tx, 64), 1);
    assert_true(sim_complete(&dev_tx, 1, 0));
    assert_int_equal(tx_irqs, 2);
    softirq_run();
    assert_int_equal(tx_done_calls, sent + 1);
    finish();
}

static void test_tx_irq_flags(void **state) { (void)state; tx_irq_raises_tx_work(false); }
static void test_tx_irq_event_idx(void **state) { (void)state; tx_irq_raises_tx_work(true); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rx_irq_flags),
        cmocka_unit_test(test_rx_irq_event_idx),
        cmocka_unit_test(test_tx_irq_flags),
        cmocka_unit_test(test_tx_irq_event_idx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
