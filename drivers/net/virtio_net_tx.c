/* virtio-net transmit. Main loop only (lwIP linkoutput, NAPI poll, the
 * NET_TX softirq).
 *
 * The TX interrupt stays disabled while the queue runs: finished
 * descriptors are reclaimed on the next xmit and in the RX poll. Only when
 * the ring is full does the driver stop the queue and enable the interrupt
 * (delayed, 3/4 of the way through the outstanding buffers, with event
 * index), whose softirq reclaims and wakes the queue. */
#include <string.h>

#include "drivers/net/virtio_net_priv.h"
#include "kernel/dma.h"
#include "kernel/log.h"

#define HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr_v1))

static void tx_wake(struct vnet_txq *tq)
{
    struct netdev *dev = &tq->vn->dev;
    if (!dev->tx_stopped[tq->index])
        return;
    dev->tx_stopped[tq->index] = false;
    vq_disable_cb(tq->vq);
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
    /* Wake only with room for a worst-case frame, or the wake would just
     * stop the queue again on the next xmit; a ring smaller than that frame
     * (never -1 for it, but -2) wakes once empty, or it never would. */
    unsigned room = NETDEV_TX_MAX_SG + 1;
    if (room > vq_num(tq->vq))
        room = vq_num(tq->vq);
    if (dev->tx_stopped[tq->index] && vq_num_free(tq->vq) >= room)
        tx_wake(tq);
    return n;
}

static void tx_stop(struct vnet_txq *tq)
{
    struct netdev *dev = &tq->vn->dev;
    dev->tx_stopped[tq->index] = true;
    dev->q[tq->index].tx_queue_stopped++;
    /* Let the device work through what is queued, and ask for an interrupt
     * once most of it is done. If it already finished (enable returned
     * false), reclaim now instead of waiting for an interrupt that the
     * device will not send. */
    if (tq->kick_pending) {
        tq->kick_pending = false;
        if (vq_kick(tq->vq))
            dev->q[tq->index].tx_kicks++;
    }
    if (!vq_enable_cb_delayed(tq->vq))
        vnet_tx_reclaim(tq);
}

static int tx_post(struct vnet_txq *tq, const struct netdev_tx_sg *sg, unsigned nsg,
                   const struct netdev_tx_offload *off, void *token)
{
    struct netdev *dev = &tq->vn->dev;
    vnet_tx_reclaim(tq);
    if (dev->tx_stopped[tq->index])
        return -1;
    struct vnet_tx_slot *s = tq->free_slots;
    if (!s) {
        tx_stop(tq);
        if (dev->tx_stopped[tq->index] || !(s = tq->free_slots))
            return -1;
    }
    memset(&s->hdr, 0, sizeof(s->hdr));
    if (off && off->csum_partial) {
        s->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        s->hdr.csum_start = off->csum_start;
        s->hdr.csum_offset = off->csum_offset;
    }
    s->hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE;

    struct vq_sg vsg[NETDEV_TX_MAX_SG + 1];
    uint32_t len = 0;
    vsg[0] = (struct vq_sg){ dma_addr(&s->hdr), HDR_LEN };
    for (unsigned i = 0; i < nsg; i++) {
        vsg[i + 1] = (struct vq_sg){ dma_addr(sg[i].data), sg[i].len };
        len += sg[i].len;
    }
    int r = vq_add_sgs(tq->vq, vsg, nsg + 1, 0, s);
    if (r == VQ_ENOSPC) {
        tx_stop(tq);
        /* tx_stop may have reclaimed enough to go on at once. */
        if (dev->tx_stopped[tq->index])
            return -1;
        r = vq_add_sgs(tq->vq, vsg, nsg + 1, 0, s);
    }
    if (r == VQ_ENOSPC)
        return -1;
    if (r != 0)
        return -2;
    tq->free_slots = s->next_free;
    s->token = token;
    s->len = len;
    tq->kick_pending = true;
    return 0;
}

int vnet_xmit(struct netdev *dev, unsigned queue, const struct netdev_tx_sg *sg, unsigned nsg,
              const struct netdev_tx_offload *off, void *token)
{
    struct vnet *vn = dev->priv;
    struct vnet_txq *tq = &vn->txq[queue];
    if (nsg == 0 || nsg > NETDEV_TX_MAX_SG) {
        dev->q[queue].tx_dropped++;
        return -2;
    }
    tq->in_xmit = true;
    int r = tx_post(tq, sg, nsg, off, token);
    tq->in_xmit = false;
    if (r == -2)
        dev->q[queue].tx_dropped++;
    return r;
}

void vnet_xmit_flush(struct netdev *dev)
{
    struct vnet *vn = dev->priv;
    for (unsigned i = 0; i < vn->pairs; i++) {
        struct vnet_txq *tq = &vn->txq[i];
        if (tq->kick_pending) {
            tq->kick_pending = false;
            if (vq_kick(tq->vq))
                dev->q[i].tx_kicks++;
        }
    }
}

int vnet_tx_init(struct vnet_txq *tq)
{
    unsigned num = vq_num(tq->vq);
    tq->slots = dma_alloc(num * sizeof(struct vnet_tx_slot), 64);
    if (!tq->slots)
        return -1;
    tq->free_slots = NULL;
    for (unsigned i = num; i-- > 0;) {
        tq->slots[i].next_free = tq->free_slots;
        tq->free_slots = &tq->slots[i];
    }
    tq->kick_pending = false;
    vq_disable_cb(tq->vq);     /* no TX interrupts until the ring fills */
    return 0;
}
