/* virtio-net transmit. Main loop only (lwIP linkoutput, NAPI poll, the
 * reclaim timer), except vnet_tx_irq.
 *
 * Completions are reaped within a bounded time whatever the traffic: lwIP
 * will not retransmit a segment whose pbuf the driver still holds. Reclaim
 * runs in xmit and in the RX poll (Linux virtnet_poll_cleantx); whenever
 * buffers are still outstanding after a batch, a reclaim timer is armed
 * (VNET_TX_RECLAIM_NS). On a busy link the main loop runs it without any
 * interrupt; on a quiet one it costs one timer wake-up. If a timer run
 * finds the device made no progress, the TX interrupt takes over (delayed
 * to 3/4 of the outstanding buffers with event index) and its TX NAPI entry
 * reclaims. A stopped queue always waits on that interrupt.
 *
 * The queue is stopped right after a post that leaves less room than a
 * worst-case frame (Linux check_sq_full_and_disable), so an xmit on a
 * running queue always fits. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/virtio_net_priv.h"
#include "kernel/barrier.h"
#include "kernel/dma.h"
#include "kernel/log.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr_v1))

/* Descriptors a frame may need: header + its pieces, direct (no indirect,
 * or no large table free), capped by the ring: a ring smaller than that
 * runs one frame at a time. */
static unsigned tx_max_sg(const struct vnet *vn)
{
    return vn->dev.tx_tso || vn->dev.tx_tso6 ? NETDEV_TX_MAX_SG_GSO : NETDEV_TX_MAX_SG;
}

static unsigned tx_room_needed(const struct vnet_txq *tq)
{
    unsigned room = tx_max_sg(tq->vn) + 1;
    return room > vq_num(tq->vq) ? vq_num(tq->vq) : room;
}

static bool tx_outstanding(const struct vnet_txq *tq)
{
    return vq_num_free(tq->vq) != vq_num(tq->vq);
}

static void tx_wake(struct vnet_txq *tq)
{
    struct netdev *dev = &tq->vn->dev;
    dev->tx_stopped[tq->index] = false;
    /* Inside xmit the caller is the upper layer itself: it learns from the
     * return value, and must not be re-entered. */
    if (dev->tx_wake && !tq->in_xmit)
        dev->tx_wake(dev, tq->index);
}

unsigned vnet_tx_reclaim(struct vnet_txq *tq)
{
    struct netdev *dev = &tq->vn->dev;
    struct netdev_queue_counters *qc = &dev->q[tq->index];
    unsigned n = 0;
    uint32_t len;
    struct vnet_tx_slot *s;
    while ((s = vq_get_buf(tq->vq, &len)) != NULL) {
        qc->tx_packets++;
        qc->tx_bytes += s->len;
        void *token = s->token;
        s->token = NULL;
        s->next_free = tq->free_slots;
        tq->free_slots = s;
        dev->tx_done(dev, token);
        n++;
    }
    if (dev->tx_stopped[tq->index] && vq_num_free(tq->vq) >= tx_room_needed(tq))
        tx_wake(tq);
    return n;
}

static void tx_timer_fn(void *ctx);

static void tx_kick(struct vnet_txq *tq)
{
    if (tq->kick_pending) {
        tq->kick_pending = false;
        if (vq_kick(tq->vq))
            tq->vn->dev.q[tq->index].tx_kicks++;
    }
}

/* After any reclaim or batch: make sure what is outstanding will be reaped.
 * Running queue: interrupt off (so vq_get_buf does not move the event to
 * every next buffer), reclaim timer on. Stopped queue: the interrupt, or
 * the NAPI entry if the device already got there. */
static void tx_cover(struct vnet_txq *tq)
{
    struct vnet *vn = tq->vn;
    if (vn->mode == NET_MODE_POLL)
        return;          /* poll_all reclaims on every pass */
    if (vn->dev.tx_stopped[tq->index]) {
        if (!vq_enable_cb_delayed(tq->vq))
            vnet_napi_schedule(&tq->napi, tq->vq);
        return;
    }
    if (!tx_outstanding(tq))
        return;
    vq_disable_cb(tq->vq);
    if (!tq->reclaim_timer.armed) {
        tq->used_at_timer = vq_get_stats(tq->vq)->used;
        ktimer_arm(&tq->reclaim_timer, VNET_TX_RECLAIM_NS, tx_timer_fn, tq);
    }
}

static void tx_timer_fn(void *ctx)
{
    struct vnet_txq *tq = ctx;
    struct netdev *dev = &tq->vn->dev;
    vnet_tx_reclaim(tq);
    vnet_xmit_flush(dev);          /* what a wake sent; re-covers if it posted */
    /* Progress: anything reclaimed since the last run, by us or by the RX
     * poll (which on a busy link gets there first). */
    uint64_t used = vq_get_stats(tq->vq)->used;
    bool progress = used != tq->used_at_timer;
    tq->used_at_timer = used;
    if (dev->tx_stopped[tq->index] || !tx_outstanding(tq) || tq->reclaim_timer.armed)
        return;
    if (progress) {
        ktimer_arm(&tq->reclaim_timer, VNET_TX_RECLAIM_NS, tx_timer_fn, tq);
        return;
    }
    /* The device is slow: let it say when it is done. */
    dev->q[tq->index].tx_reclaim_irq_armed++;
    if (!vq_enable_cb_delayed(tq->vq))
        vnet_napi_schedule(&tq->napi, tq->vq);
}

void vnet_tx_clean(struct vnet_txq *tq)
{
    vnet_tx_reclaim(tq);
    tx_cover(tq);
}

/* Stop, and have the interrupt (or the NAPI entry, if the device already
 * got there) wake the queue. */
static void tx_stop(struct vnet_txq *tq)
{
    struct netdev *dev = &tq->vn->dev;
    dev->tx_stopped[tq->index] = true;
    dev->q[tq->index].tx_queue_stopped++;
    if (tq->kick_pending) {
        /* The device must see what fills the ring, or it never frees it. */
        tq->kick_pending = false;
        if (vq_kick(tq->vq))
            dev->q[tq->index].tx_kicks++;
    }
    if (tq->vn->mode != NET_MODE_POLL && !vq_enable_cb_delayed(tq->vq))
        vnet_napi_schedule(&tq->napi, tq->vq);
}

static void tx_fill_hdr(struct virtio_net_hdr_v1 *h, const struct netdev_tx_offload *off)
{
    memset(h, 0, sizeof(*h));
    h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
    if (!off)
        return;
    if (off->csum_partial) {
        h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        h->csum_start = off->csum_start;
        h->csum_offset = off->csum_offset;
    }
    if (off->gso_type != NETDEV_GSO_NONE) {
        h->gso_type = off->gso_type == NETDEV_GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
                                                        : VIRTIO_NET_HDR_GSO_TCPV6;
        h->gso_size = off->gso_size;
        h->hdr_len = off->hdr_len;
    }
}

/* 5.1.6.2: segmentation only as negotiated, only with the checksum left
 * partial (the device must fill in every segment's), and a real MSS. */
static bool tx_offload_ok(const struct vnet *vn, const struct netdev_tx_offload *off,
                          uint32_t len)
{
    if (!off || off->gso_type == NETDEV_GSO_NONE)
        return true;
    unsigned bit = off->gso_type == NETDEV_GSO_TCPV4 ? VIRTIO_NET_F_HOST_TSO4
                   : off->gso_type == NETDEV_GSO_TCPV6 ? VIRTIO_NET_F_HOST_TSO6
                                                        : 64;
    return bit < 64 && vnet_has(vn, bit) && off->csum_partial && off->gso_size > 0 &&
           off->hdr_len > off->csum_start && off->hdr_len < len && len <= VNET_MAX_FRAME;
}

static enum netdev_tx tx_post(struct vnet_txq *tq, const struct netdev_tx_sg *sg, unsigned nsg,
                              const struct netdev_tx_offload *off, void *token)
{
    struct netdev *dev = &tq->vn->dev;
    if (tx_outstanding(tq)) {
        /* A running queue's interrupt stays off (the batch's end covers
         * what is outstanding); a stopped one's must stay on. */
        if (!dev->tx_stopped[tq->index])
            vq_disable_cb(tq->vq);
        vnet_tx_reclaim(tq);
    }
    if (dev->tx_stopped[tq->index])
        return NETDEV_TX_BUSY;
    uint32_t len = 0;
    for (unsigned i = 0; i < nsg; i++)
        len += sg[i].len;
    if (!tx_offload_ok(tq->vn, off, len))
        return NETDEV_TX_DROPPED;
    /* A running queue has room for this frame and a slot per descriptor;
     * anything else is a bug, not back-pressure: say so and drop. */
    struct vnet_tx_slot *s = tq->free_slots;
    if (!s) {
        log_error("virtio-net: tx queue %u: no free slot on a running queue", tq->index);
        return NETDEV_TX_DROPPED;
    }
    struct virtio_net_hdr_v1 *h = &tq->hdrs[s - tq->slots];
    tx_fill_hdr(h, off);
    struct vq_sg vsg[NETDEV_TX_MAX_SG_GSO + 1];
    vsg[0] = (struct vq_sg){ dma_addr(h), HDR_LEN };
    for (unsigned i = 0; i < nsg; i++)
        vsg[i + 1] = (struct vq_sg){ dma_addr(sg[i].data), sg[i].len };
    int r = vq_add_sgs(tq->vq, vsg, nsg + 1, 0, s);
    if (r == VQ_ENOSPC) {
        /* Only on a ring smaller than a worst-case frame: wait for it to
         * drain. */
        tx_stop(tq);
        return NETDEV_TX_BUSY;
    }
    if (r != 0)
        return NETDEV_TX_DROPPED;
    tq->free_slots = s->next_free;
    s->token = token;
    s->len = len;
    tq->kick_pending = true;
    tq->need_arm = true;
    if (off && off->gso_type != NETDEV_GSO_NONE) {
        dev->q[tq->index].tx_tso_frames++;
        dev->q[tq->index].tx_tso_bytes += len;
    }
    /* Stop while there is still room for a worst-case frame: the next
     * xmit on a running queue never fails. */
    if (vq_num_free(tq->vq) < tx_room_needed(tq))
        tx_stop(tq);
    return NETDEV_TX_OK;
}

enum netdev_tx vnet_xmit(struct netdev *dev, unsigned queue, const struct netdev_tx_sg *sg,
                         unsigned nsg, const struct netdev_tx_offload *off, void *token)
{
    struct vnet *vn = dev->priv;
    struct vnet_txq *tq = &vn->txq[queue];
    unsigned max = off && off->gso_type != NETDEV_GSO_NONE ? tx_max_sg(vn) : NETDEV_TX_MAX_SG;
    if (nsg == 0 || nsg > max) {
        dev->q[queue].tx_dropped++;
        return NETDEV_TX_DROPPED;
    }
    tq->in_xmit = true;
    enum netdev_tx r = tx_post(tq, sg, nsg, off, token);
    tq->in_xmit = false;
    if (r == NETDEV_TX_DROPPED)
        dev->q[queue].tx_dropped++;
    return r;
}

void vnet_xmit_flush(struct netdev *dev)
{
    struct vnet *vn = dev->priv;
    if (dev->tx_flush && !vn->in_flush) {
        vn->in_flush = true;
        dev->tx_flush(dev);
        vn->in_flush = false;
    }
    for (unsigned i = 0; i < vn->pairs; i++) {
        struct vnet_txq *tq = &vn->txq[i];
        tx_kick(tq);
        if (tq->need_arm) {
            tq->need_arm = false;
            tx_cover(tq);
        }
    }
}

/* TX NAPI (Linux virtnet_poll_tx), run after a TX interrupt: no packet
 * budget, so it reports no work, always completes and never defers (its
 * interrupt is already rare: a stopped queue or a slow device). */
int vnet_tx_poll(struct napi *n, int budget)
{
    (void)budget;
    struct vnet_txq *tq = (struct vnet_txq *)((char *)n - offsetof(struct vnet_txq, napi));
    vnet_tx_reclaim(tq);
    tx_kick(tq);   /* what a wake sent */
    if (napi_complete_done(n, 0))
        tx_cover(tq);
    else
        vq_disable_cb(tq->vq);
    return 0;
}

/* Interrupt context (Linux skb_xmit_done via vring_interrupt): nothing used
 * means another queue's interrupt on a shared vector or line. */
void vnet_tx_irq(void *ctx)
{
    struct vnet_txq *tq = ctx;
    if (!vq_more_used(tq->vq))
        return;
    tq->vn->dev.q[tq->index].irq_tx++;
    vnet_napi_schedule(&tq->napi, tq->vq);
}

int vnet_tx_init(struct vnet_txq *tq)
{
    unsigned num = vq_num(tq->vq);
    tq->slots = calloc(num, sizeof(*tq->slots));
    tq->hdrs = dma_alloc(num * sizeof(*tq->hdrs), 64);
    if (!tq->slots || !tq->hdrs) {
        vnet_tx_free(tq);
        return -1;
    }
    /* Optional (no indirect, no memory: frames go direct). */
    vq_indirect_reserve(tq->vq, num < VNET_TX_INDIRECT_TABLES ? num : VNET_TX_INDIRECT_TABLES);
    tq->free_slots = NULL;
    for (unsigned i = num; i-- > 0;) {
        tq->slots[i].next_free = tq->free_slots;
        tq->free_slots = &tq->slots[i];
    }
    tq->kick_pending = false;
    tq->need_arm = false;
    tq->reclaim_timer.armed = false;
    napi_add(&tq->napi, vnet_tx_poll, napi_config.weight);
    vq_disable_cb(tq->vq);     /* armed once something is outstanding */
    return 0;
}

void vnet_tx_free(struct vnet_txq *tq)
{
    free(tq->slots);
    if (tq->hdrs)
        dma_free(tq->hdrs);
    tq->slots = tq->free_slots = NULL;
    tq->hdrs = NULL;
}
