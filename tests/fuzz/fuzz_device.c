/* libFuzzer target: a hostile virtio-net device against the real driver.
 *
 * Each input is one device lifetime: the offered features, config space,
 * mode, pair count and queue sizes the probe sees (drivers/net/virtio_net.c
 * through tests/unit/vnet_fake_pci.c), then a script of device and driver
 * events: frames written into posted RX buffers with any virtio-net header
 * (num_buffers, flags, csum and GSO fields), used elements with any id and
 * len, used idx jumps, raw writes anywhere in the used rings and the TX
 * headers, interrupts at any time, config changes, TX from the stack, TX
 * completions (honest or not), the upper layer holding and releasing
 * buffers, refill and NAPI deferral timers.
 *
 * Besides ASan/UBSan, the upper layer checks what the driver hands it: every
 * RX fragment lies inside a buffer the driver owns and no buffer is handed up
 * twice; every tx_done token is one the stack sent and still outstanding.
 * At the end the device is "reset" and everything is freed (LeakSanitizer). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/virtio_net.h"
#include "drivers/net/virtio_net_priv.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/dma.h"
#include "kernel/napi.h"
#include "kernel/softirq.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"
#include "tests/unit/vnet_fake_pci.h"

#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "fuzz_device: invariant broken: %s (line %d)\n", #c,   \
                    __LINE__);                                                      \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* ---- input ---- */
struct in {
    const uint8_t *p;
    size_t n;
};
static uint8_t u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}
static uint16_t u16(struct in *in) { return (uint16_t)(u8(in) | u8(in) << 8); }
static uint32_t u32(struct in *in) { return (uint32_t)u16(in) | (uint32_t)u16(in) << 16; }

/* ---- the device side ---- */
#define MAXQ (2 * NETDEV_MAX_QUEUES + 1)
static struct sim_device sdev[MAXQ];
static bool attached[MAXQ];
static struct netdev *dev;
static struct vnet *vn;
static struct in *cur;

static void dev_irq(void *ctx) { fake_pci_irq((unsigned)(uintptr_t)ctx); }

/* The control queue (the last one, used during the probe): answer with a
 * hostile ack and len, or not at all (the driver's 1 s timeout: the clock
 * moves 1 ms per read). */
static bool ctrl_event_idx;
static void on_notify(unsigned q)
{
    if (q + 1 != fake_pci.nq || q % 2 != 0 || q < 2)
        return;
    struct sim_device *d = &sdev[q];
    if (!attached[q]) {
        sim_attach_rings(d, fake_pci.q[q].desc, fake_pci.q[q].driver, fake_pci.q[q].device,
                         fake_pci.q[q].num, ctrl_event_idx);
        attached[q] = true;
    }
    uint8_t how = u8(cur);
    if ((how & 1) || sim_fetch(d, 1) != 1)
        return;
    uint8_t ack[1] = { u8(cur) };
    struct sim_data item = { ack, (how & 2) ? u32(cur) : 1 };
    sim_complete_with(d, 1, &item);
}

/* ---- the upper layer ---- */
#define MAX_HELD 4096
static void *held[MAX_HELD];
static unsigned nheld;
#define MAX_TOKENS 4096
static bool outstanding[MAX_TOKENS];
static unsigned next_token;

static bool is_held(void *b)
{
    for (unsigned i = 0; i < nheld; i++)
        if (held[i] == b)
            return true;
    return false;
}

static void up_rx(struct netdev *d, const struct netdev_rx_frag *frags, unsigned n, unsigned flags)
{
    (void)flags;
    CHECK(n >= 1 && n <= VNET_MAX_MERGE);
    uint32_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        struct vnet_rx_buf *b = frags[i].buf;
        CHECK(b != NULL);
        CHECK(!is_held(b));
        for (unsigned k = 0; k < i; k++)
            CHECK(frags[k].buf != b);
        const uint8_t *lo = b->data, *hi = b->data + VNET_RX_DATA_LEN;
        const uint8_t *p = frags[i].data;
        CHECK(p >= lo && p <= hi && frags[i].len <= (uint32_t)(hi - p));
        CHECK(frags[i].upper_room == (void *)b->upper);
        total += frags[i].len;
        /* touch it all: ASan sees any overrun */
        volatile uint8_t sink = 0;
        for (uint32_t k = 0; k < frags[i].len; k += 97)
            sink ^= p[k];
        (void)sink;
    }
    CHECK(total <= VNET_MAX_FRAME);
    for (unsigned i = 0; i < n; i++) {
        if (nheld < MAX_HELD)
            held[nheld++] = frags[i].buf;
        else
            d->ops->rx_buf_release(d, frags[i].buf);
    }
}

static void up_tx_done(struct netdev *d, void *token)
{
    (void)d;
    uintptr_t t = (uintptr_t)token;
    CHECK(t >= 1 && t < MAX_TOKENS && outstanding[t]);
    outstanding[t] = false;
}

static void up_tx_wake(struct netdev *d, unsigned q)
{
    (void)d;
    CHECK(q < NETDEV_MAX_QUEUES);
}

static void release_held(unsigned k)
{
    while (k-- && nheld)
        dev->ops->rx_buf_release(dev, held[--nheld]);
}

/* ---- device actions ---- */

static struct sim_device *pick_q(struct in *in, bool rx)
{
    unsigned pair = u8(in) % vn->pairs;
    unsigned q = rx ? VIRTIO_NET_RXQ(pair) : VIRTIO_NET_TXQ(pair);
    return attached[q] ? &sdev[q] : NULL;
}

static void pop_inflight(struct sim_device *d)
{
    memmove(&d->inflight[0], &d->inflight[1], (d->inflight_count - 1) * sizeof(*d->inflight));
    d->inflight_count--;
}

/* One RX buffer: hostile header + payload written into it, then returned
 * either honestly (right id, len = what was written) or with any id/len. */
static void rx_buffer(struct in *in)
{
    struct sim_device *d = pick_q(in, true);
    if (!d || (!d->inflight_count && sim_fetch(d, 1) != 1))
        return;
    static uint8_t img[VNET_RX_BUF_SIZE + 64];
    uint8_t how = u8(in);
    uint32_t len = u16(in) % (sizeof(img) + 1);
    struct virtio_net_hdr_v1 h;
    for (unsigned k = 0; k < sizeof(h); k++)
        ((uint8_t *)&h)[k] = u8(in);
    if (how & 1)      /* keep num_buffers plausible most of the time */
        h.num_buffers = (uint16_t)(1 + h.num_buffers % 4);
    memset(img, how, sizeof(img));
    memcpy(img, &h, sizeof(h));
    if (how & 2) {
        struct sim_data item = { img, len };   /* capped at the buffer by sim */
        sim_complete_with(d, 1, &item);
    } else {
        uint32_t id = (how & 4) ? d->inflight[0].head : u32(in);
        uint32_t ulen = (how & 8) ? len : u32(in);
        pop_inflight(d);
        sim_inject_used(d, id, ulen);
    }
}

static void tx_complete(struct in *in)
{
    struct sim_device *d = pick_q(in, false);
    if (!d)
        return;
    sim_fetch(d, 64);
    unsigned n = u8(in) % 8;
    uint8_t how = u8(in);
    while (n-- && d->inflight_count) {
        if (how & 1) {
            sim_complete(d, 1, 0);
        } else {
            uint32_t id = (how & 2) ? d->inflight[0].head : u32(in);
            pop_inflight(d);
            sim_inject_used(d, id, u32(in));
        }
    }
}

/* Any bytes anywhere in a used ring (flags, idx, elements, avail_event). */
static void used_raw(struct in *in)
{
    unsigned q = u8(in) % (fake_pci.nq ? fake_pci.nq : 1);
    if (!attached[q])
        return;
    struct sim_device *d = &sdev[q];
    size_t size = virtq_used_size(d->num);
    size_t off = u16(in) % size;
    unsigned n = 1 + u8(in) % 8;
    for (unsigned k = 0; k < n && off + k < size; k++)
        ((uint8_t *)d->used)[off + k] = u8(in);
    if (u8(in) & 1)
        fake_pci_irq(q);
}

/* The device writes the TX headers it should only read (a confidential
 * VM shares every DMA page with the host): any bytes, anywhere in them. */
static void tx_hdr_raw(struct in *in)
{
    struct vnet_txq *tq = &vn->txq[u8(in) % vn->pairs];
    if (!tq->hdrs)
        return;
    size_t size = vq_num(tq->vq) * sizeof(*tq->hdrs);
    size_t off = u16(in) % size;
    unsigned n = 1 + u8(in) % 16;
    for (unsigned k = 0; k < n && off + k < size; k++)
        ((uint8_t *)tq->hdrs)[off + k] = u8(in);
}

static void xmit(struct in *in)
{
    static uint8_t payload[NETDEV_TX_MAX_SG + 2][256];
    struct netdev_tx_sg sg[NETDEV_TX_MAX_SG + 2];
    unsigned q = u8(in) % NETDEV_MAX_QUEUES;
    if (q >= dev->num_queues)
        q = 0;
    unsigned nsg = u8(in) % (NETDEV_TX_MAX_SG + 2);
    for (unsigned i = 0; i < nsg; i++)
        sg[i] = (struct netdev_tx_sg){ payload[i], 1 + u8(in) };
    struct netdev_tx_offload off = { .csum_partial = u8(in) & 1, .csum_start = u16(in),
                                     .csum_offset = u16(in) };
    if (next_token + 1 >= MAX_TOKENS)
        return;
    unsigned t = ++next_token;
    outstanding[t] = true;
    enum netdev_tx r = dev->ops->xmit(dev, q, sg, nsg, off.csum_partial ? &off : NULL,
                                      (void *)(uintptr_t)t);
    if (r != NETDEV_TX_OK)
        outstanding[t] = false;   /* not taken: the stack keeps it */
    if (u8(in) & 1)
        dev->ops->xmit_flush(dev);
}

static void fire_timers(void)
{
    for (unsigned i = 0; i < vn->pairs; i++) {
        struct ktimer *ts[] = { &vn->rxq[i].refill_timer, &vn->rxq[i].napi.defer_timer };
        for (unsigned k = 0; k < 2; k++) {
            struct ktimer *t = ts[k];
            if (t->armed) {
                t->armed = false;
                t->fn(t->ctx);
            }
        }
    }
}

/* ---- one device lifetime ---- */

static const unsigned feature_bits[] = {
    VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_MTU, VIRTIO_NET_F_MAC,
    VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_MRG_RXBUF,
    VIRTIO_NET_F_STATUS, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ, VIRTIO_F_INDIRECT_DESC,
    VIRTIO_F_EVENT_IDX,
};
static const uint16_t qsizes[] = { 16, 8, 4, 2, 1, 256, 1024, 0, 3, 2048, 32768, 65535 };

static void teardown(void)
{
    release_held(MAX_HELD);
    for (unsigned i = 0; i < vn->pairs; i++) {
        struct vnet_rxq *rq = &vn->rxq[i];
        struct vnet_txq *tq = &vn->txq[i];
        if (rq->vq) {
            vnet_rx_free_bufs(rq);
            CHECK(rq->allocated == 0);   /* none lost, none freed twice */
            vq_destroy(rq->vq);
        }
        if (tq->vq) {
            while (vq_detach_unused_buf(tq->vq))
                ;
            vq_destroy(tq->vq);
        }
        vnet_tx_free(tq);
    }
    if (vn->ctrlq) {
        /* a timed-out control buffer stays with the device: free it here */
        void *b;
        while ((b = vq_detach_unused_buf(vn->ctrlq)) != NULL)
            dma_free(b);
        vq_destroy(vn->ctrlq);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = { data, size };
    cur = &in;
    memset(&fake_pci, 0, sizeof(fake_pci));
    memset(sdev, 0, sizeof(sdev));
    memset(attached, 0, sizeof(attached));
    memset(outstanding, 0, sizeof(outstanding));
    nheld = 0;
    next_token = 0;
    test_irq_set(true);
    test_clock_set_us(1000000);
    test_clock_set_tick_ns(1000000);

    uint16_t fsel = u16(&in);
    fake_pci.offered = (fsel & 0x8000) ? 0 : 1ull << VIRTIO_F_VERSION_1;
    for (unsigned i = 0; i < sizeof(feature_bits) / sizeof(feature_bits[0]); i++)
        if (fsel & (1u << i))
            fake_pci.offered |= 1ull << feature_bits[i];
    for (unsigned i = 0; i < sizeof(struct virtio_net_config); i++)
        fake_pci.config[i] = u8(&in);
    uint8_t m = u8(&in);
    enum net_mode mode = m % 3 == 0 ? NET_MODE_NAPI : m % 3 == 1 ? NET_MODE_IRQ : NET_MODE_POLL;
    unsigned max_pairs = 1 + u8(&in) % NETDEV_MAX_QUEUES;
    uint8_t qs = u8(&in);
    for (unsigned q = 0; q < FAKE_PCI_MAX_QUEUES; q++)
        fake_pci.queue_max[q] = (qs & 0x80) ? qsizes[u8(&in) % 12] : qsizes[qs % 12];
    fake_pci.features_ok_fails = (m & 0x80) != 0;
    fake_pci.on_notify = on_notify;
    ctrl_event_idx = (fake_pci.offered >> VIRTIO_F_EVENT_IDX & 1) && mode != NET_MODE_IRQ;

    napi_init();
    const char *reason = NULL;
    vn = NULL;
    dev = virtio_net_probe(mode, max_pairs, &reason);
    if (!dev) {
        CHECK(reason != NULL);
        return 0;
    }
    vn = dev->priv;
    for (unsigned q = 0; q < 2 * vn->pairs; q++) {
        struct virtqueue *v = q % 2 ? vn->txq[q / 2].vq : vn->rxq[q / 2].vq;
        sim_attach(&sdev[q], v, vnet_has(vn, VIRTIO_F_EVENT_IDX));
        sdev[q].irq = dev_irq;
        sdev[q].irq_ctx = (void *)(uintptr_t)q;
        attached[q] = true;
    }
    dev->rx_upper_room = 64;
    dev->rx = up_rx;
    dev->tx_done = up_tx_done;
    dev->tx_wake = up_tx_wake;
    if (dev->ops->open(dev) == 0) {
        unsigned steps = 0;
        while (in.n && steps++ < 4096) {
            switch (u8(&in) % 13) {
            case 0: case 1: case 2: rx_buffer(&in); break;
            case 3: tx_complete(&in); break;
            case 4: used_raw(&in); break;
            case 5: fake_pci_irq(u8(&in) % (fake_pci.nq ? fake_pci.nq : 1)); break;
            case 6:
                fake_pci.config[u8(&in) % sizeof(struct virtio_net_config)] = u8(&in);
                fake_pci_config_irq();
                break;
            case 7: case 8:
                softirq_run();
                if (mode == NET_MODE_POLL)
                    dev->ops->poll_all(dev, 1 + u8(&in) % 64);
                break;
            case 9: xmit(&in); break;
            case 10: release_held(u8(&in) % 32); break;
            case 11: fire_timers(); break;
            case 12: tx_hdr_raw(&in); break;
            }
        }
        softirq_run();
    }
    teardown();
    for (unsigned q = 0; q < MAXQ; q++)
        if (attached[q])
            sim_detach(&sdev[q]);
    return 0;
}
