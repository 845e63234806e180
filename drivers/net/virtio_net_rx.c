/* virtio-net receive: buffer posting, the NAPI poll, mergeable chains.
 * Everything here runs in the main loop (NAPI poll from net_rx_action,
 * poll mode from the idle loop, the refill timer); the interrupt handler in
 * virtio_net.c only masks the queue and schedules the poll. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/virtio_net.h"
#include "drivers/net/virtio_net_priv.h"
#include "kernel/dma.h"
#include "kernel/irq.h"
#include "kernel/log.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define ETH_MIN_HDR 14

static struct vnet_rx_buf *rx_buf_get(struct vnet_rxq *rq)
{
    struct vnet_rx_buf *b = rq->free_list;
    if (b) {
        rq->free_list = b->next_free;
        return b;
    }
    if (rq->allocated >= rq->max_bufs)
        return NULL;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->data = dma_alloc(VNET_RX_DATA_LEN, 64);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->rq = rq;
    rq->allocated++;
    return b;
}

static void rx_buf_put(struct vnet_rxq *rq, struct vnet_rx_buf *b)
{
    b->next_free = rq->free_list;
    rq->free_list = b;
}

static void rx_buf_free(struct vnet_rxq *rq, struct vnet_rx_buf *b)
{
    dma_free(b->data);
    free(b);
    rq->allocated--;
}

unsigned vnet_rx_free_bufs(struct vnet_rxq *rq)
{
    unsigned n = 0;
    struct vnet_rx_buf *b;
    while ((b = vq_detach_unused_buf(rq->vq)) != NULL) {
        rx_buf_free(rq, b);
        n++;
    }
    while ((b = rq->free_list) != NULL) {
        rq->free_list = b->next_free;
        rx_buf_free(rq, b);
        n++;
    }
    return n;
}

static void refill_timer_fn(void *ctx);

static unsigned rx_posted(struct vnet_rxq *rq)
{
    return vq_num(rq->vq) - vq_num_free(rq->vq);
}

/* Posts up to max_add buffers, at most up to the fill target; one kick for
 * the batch. When memory runs out and fewer than half the target are
 * posted, a timer retries, so the ring can never stay empty with no
 * interrupt left to refill it (Linux refill_work). */
static void rx_fill(struct vnet_rxq *rq, unsigned max_add)
{
    unsigned added = 0;
    bool oom = false;
    while (added < max_add && rx_posted(rq) < rq->fill_target && vq_num_free(rq->vq) > 0) {
        struct vnet_rx_buf *b = rx_buf_get(rq);
        if (!b) {
            oom = true;
            break;
        }
        struct vq_sg sg = { dma_addr(b->data), VNET_RX_DATA_LEN };
        if (vq_add_sgs(rq->vq, &sg, 0, 1, b) != 0) {
            rx_buf_put(rq, b);
            break;
        }
        added++;
    }
    if (added && vq_kick(rq->vq))
        rq->vn->dev.q[rq->index].rx_kicks++;
    if (oom) {
        rq->vn->dev.c.rx_refill_failed++;
        if (rx_posted(rq) < rq->fill_target / 2 && !rq->refill_timer.armed)
            ktimer_arm(&rq->refill_timer, VNET_RX_REFILL_RETRY_NS, refill_timer_fn, rq);
    }
}

/* Deferred work: a chunk per run, then the main loop polls again before
 * the next, so growing the ring after boot never holds a frame up long. */
static void refill_timer_fn(void *ctx)
{
    struct vnet_rxq *rq = ctx;
    unsigned before = rx_posted(rq);
    rx_fill(rq, VNET_RX_FILL_CHUNK);
    if (rx_posted(rq) > before && rx_posted(rq) < rq->fill_target && !rq->refill_timer.armed)
        ktimer_arm(&rq->refill_timer, 0, refill_timer_fn, rq);
}

void vnet_rx_refill(struct vnet_rxq *rq)
{
    rx_fill(rq, ~0u);
}

void virtio_net_rx_fill_all(struct netdev *dev)
{
    struct vnet *vn = dev->priv;
    for (unsigned i = 0; i < vn->pairs; i++) {
        struct vnet_rxq *rq = &vn->rxq[i];
        rq->fill_target = vq_num(rq->vq);
        if (!rq->refill_timer.armed)
            ktimer_arm(&rq->refill_timer, 0, refill_timer_fn, rq);
    }
}

void vnet_rx_buf_release(struct netdev *dev, void *buf)
{
    (void)dev;
    struct vnet_rx_buf *b = buf;
    struct vnet_rxq *rq = b->rq;
    rx_buf_put(rq, b);
    /* The upper layer held on to buffers long enough to drain the ring:
     * refill soon from the main loop, not from inside lwIP's call chain. */
    if (vq_num_free(rq->vq) == vq_num(rq->vq) && !rq->refill_timer.armed)
        ktimer_arm(&rq->refill_timer, 0, refill_timer_fn, rq);
}

/* 5.1.6.4: which segmentation offload a frame may claim. */
static bool rx_gso_ok(const struct vnet *vn, const struct virtio_net_hdr_v1 *h)
{
    unsigned feature = h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4   ? VIRTIO_NET_F_GUEST_TSO4
                       : h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6 ? VIRTIO_NET_F_GUEST_TSO6
                                                                  : 64;
    return feature < 64 && vnet_has(vn, feature) && h->gso_size != 0 &&
           (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

/* VIRTIO_NET_HDR_F_NEEDS_CSUM (5.1.6.4.1): the checksum is partial, to be
 * finished over [csum_start, end) and stored at csum_start + csum_offset.
 * Like Linux (skb_partial_csum_set) the frame is only checked for a sane
 * layout: a local sender's partial checksum is trusted, not computed. */
static bool rx_partial_csum_ok(uint32_t len, const struct virtio_net_hdr_v1 *h)
{
    uint32_t start = h->csum_start, at = (uint32_t)h->csum_start + h->csum_offset;
    return start < len && at + 2 <= len;
}

static void rx_drop(struct vnet_rxq *rq, struct vnet_rx_buf **bufs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        rx_buf_put(rq, bufs[i]);
    rq->vn->dev.q[rq->index].rx_dropped++;
    rq->vn->dev.c.rx_bad_frames++;
}

/* Throws away the rest of a rejected frame's buffers (Linux
 * receive_mergeable's error path). Left on the ring, each would be taken for
 * a frame of its own with its payload read as a virtio header: a way to
 * smuggle frames past every check here. */
static void rx_drain(struct vnet_rxq *rq, unsigned more)
{
    uint32_t l;
    struct vnet_rx_buf *b;
    if (more > vq_num(rq->vq))
        more = vq_num(rq->vq);
    while (more-- && (b = vq_get_buf(rq->vq, &l)) != NULL)
        rx_buf_put(rq, b);
}

/* One frame: the first buffer (already taken) and, with mergeable buffers,
 * num_buffers - 1 more from the used ring. */
static void rx_one(struct vnet_rxq *rq, struct vnet_rx_buf *first, uint32_t len)
{
    struct vnet *vn = rq->vn;
    struct netdev *dev = &vn->dev;
    struct vnet_rx_buf *bufs[VNET_MAX_MERGE];
    struct netdev_rx_frag frags[VNET_MAX_MERGE];
    unsigned n = 1;
    bufs[0] = first;
    if (len < HDR_LEN) {
        rx_drop(rq, bufs, 1);
        return;
    }
    struct virtio_net_hdr_v1 hdr;
    __builtin_memcpy(&hdr, first->data, HDR_LEN);     /* inlined: a constant size */
    unsigned want = vn->mergeable ? hdr.num_buffers : 1;
    if (len < HDR_LEN + ETH_MIN_HDR || want == 0 || want > VNET_MAX_MERGE) {
        rx_drop(rq, bufs, 1);
        if (want > 1)
            rx_drain(rq, want - 1);
        return;
    }
    frags[0] = (struct netdev_rx_frag){ first, first->upper, first->data + HDR_LEN, len - HDR_LEN };
    uint32_t total = len - HDR_LEN;
    while (n < want) {
        uint32_t l;
        struct vnet_rx_buf *b = vq_get_buf(rq->vq, &l);
        if (!b) {
            /* The device published fewer buffers than it announced. */
            log_warn("virtio-net: rx: %u of %u merged buffers missing", want - n, want);
            rx_drop(rq, bufs, n);
            return;
        }
        bufs[n] = b;
        frags[n] = (struct netdev_rx_frag){ b, b->upper, b->data, l };
        total += l;
        n++;
    }
    /* Longer than any Ethernet frame carrying an IPv4 packet can be: the
     * stack's frame length is 16 bits. */
    if (total > VNET_MAX_FRAME) {
        rx_drop(rq, bufs, n);
        return;
    }
    /* 5.1.6.4: a segment only of a kind we negotiated. GUEST_TSO4/6 mean
     * TCPV4/TCPV6 without ECN (GUEST_ECN is never taken), with a segment
     * size, and the device must then set NEEDS_CSUM (5.1.6.4.1). Anything
     * else is a device out of spec: a frame the stack would take for what it
     * is not. */
    if (hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE && !rx_gso_ok(vn, &hdr)) {
        rx_drop(rq, bufs, n);
        return;
    }
    unsigned flags = 0;
    if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!rx_partial_csum_ok(total, &hdr)) {
            rx_drop(rq, bufs, n);
            return;
        }
        flags |= NETDEV_RX_CSUM_UNNECESSARY;
    } else if (hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
        flags |= NETDEV_RX_CSUM_UNNECESSARY;
    }
    if (flags & NETDEV_RX_CSUM_UNNECESSARY)
        dev->c.rx_csum_offloaded++;
    dev->q[rq->index].rx_packets++;
    dev->q[rq->index].rx_bytes += total;
    dev->rx(dev, frags, n, flags);
}

int vnet_rx_receive(struct vnet_rxq *rq, int budget)
{
    int received = 0;
    while (received < budget) {
        uint32_t len;
        struct vnet_rx_buf *b = vq_get_buf(rq->vq, &len);
        if (!b)
            break;
        rx_one(rq, b, len);
        received++;
    }
    /* Refill in batches, as Linux: once more than half the budget's worth
     * of slots (or half the ring) are free. */
    unsigned threshold = (unsigned)budget < vq_num(rq->vq) ? (unsigned)budget : vq_num(rq->vq);
    if (vq_num_free(rq->vq) > threshold / 2)
        vnet_rx_refill(rq);
    return received;
}

int vnet_rx_poll(struct napi *n, int budget)
{
    struct vnet_rxq *rq = (struct vnet_rxq *)((char *)n - offsetof(struct vnet_rxq, napi));
    struct vnet *vn = rq->vn;
    /* net.mode=irq: one frame per interrupt. The queue is re-armed after it,
     * and a re-armed queue with work left interrupts again, as a level-
     * triggered line would; an MSI is an edge, so raise it ourselves. */
    bool irq_mode = vn->mode == NET_MODE_IRQ;
    bool per_packet = irq_mode && rq->irq_vector >= 0;
    int work = vnet_rx_receive(rq, per_packet ? 1 : budget);
    /* TX reclaim in the poll path (Linux virtnet_poll_cleantx): on a busy
     * link it gets there before the delayed TX interrupt. */
    vnet_tx_clean(&vn->txq[rq->index]);
    vnet_xmit_flush(&vn->dev);
    /* Deferral (never in irq mode, whose queue is never masked) is asked
     * first: a deferred completion leaves the queue masked, with no ring
     * write to undo. */
    if (work < budget && (irq_mode || !napi_complete_defer(n, work))) {
        unsigned opaque = vq_enable_cb_prepare(rq->vq);
        if (napi_complete_done(n, work)) {
            if (vq_poll(rq->vq, opaque)) {
                if (per_packet) {
                    lapic_self_ipi(rq->irq_vector);
                } else {
                    vq_disable_cb(rq->vq);
                    napi_reschedule(n);
                }
            }
        } else {
            vq_disable_cb(rq->vq);
        }
    }
    return work;
}

/* Interrupt context (Linux skb_recv_done via vring_interrupt). Nothing
 * used: the interrupt was another queue's on a shared vector or line. */
void vnet_rx_irq(void *ctx)
{
    struct vnet_rxq *rq = ctx;
    if (!vq_more_used(rq->vq))
        return;
    rq->vn->dev.q[rq->index].irq_rx++;
    if (rq->vn->mode == NET_MODE_IRQ) {
        /* No mitigation: leave the queue's interrupt armed. */
        napi_schedule(&rq->napi);
        return;
    }
    vnet_napi_schedule(&rq->napi, rq->vq);
}

int vnet_rx_open(struct vnet_rxq *rq)
{
    vnet_rx_refill(rq);
    if (rq->vn->mode == NET_MODE_POLL) {
        vq_disable_cb(rq->vq);
    } else if (!vq_enable_cb(rq->vq)) {
        /* Frames came before we armed: poll them, masked as any scheduled
         * entry is (Linux virtnet_napi_enable). */
        if (rq->vn->mode == NET_MODE_IRQ)
            napi_schedule(&rq->napi);
        else
            vnet_napi_schedule(&rq->napi, rq->vq);
    }
    return vq_num_free(rq->vq) == vq_num(rq->vq) ? -1 : 0;
}

int vnet_rx_init(struct vnet_rxq *rq)
{
    /* The ring, plus what the stack may hold at once (TCP receive and
     * out-of-order queues, reassembly). */
    rq->max_bufs = vq_num(rq->vq) + 512;
    rq->free_list = NULL;
    rq->allocated = 0;
    rq->fill_target = vq_num(rq->vq) < VNET_RX_FIRST_FILL ? vq_num(rq->vq) : VNET_RX_FIRST_FILL;
    napi_add(&rq->napi, vnet_rx_poll, napi_config.weight);
    return 0;
}
