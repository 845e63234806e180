/* virtio-net driver internals shared by virtio_net.c (probe, interrupts),
 * virtio_net_rx.c and virtio_net_tx.c. */
#ifndef DRIVERS_NET_VIRTIO_NET_PRIV_H
#define DRIVERS_NET_VIRTIO_NET_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netdev.h"
#include "drivers/net/virtio_net_reg.h"
#include "drivers/virtio/virtio_pci.h"
#include "drivers/virtio/virtqueue.h"
#include "kernel/napi.h"
#include "kernel/timer.h"

/* One RX buffer. The device writes only data[] (virtio_net_hdr_v1 +
 * frame), its own dma_alloc block; the bookkeeping and the upper layer's
 * room (its pbuf, with a function pointer) are in ordinary memory, where
 * the device cannot reach them. 2 KiB holds a full 1514-byte frame; larger
 * ones (GUEST_TSO4) come as mergeable chains. */
#define VNET_RX_BUF_SIZE     2048
#define VNET_RX_UPPER_ROOM   128
#define VNET_RX_REFILL_RETRY_NS (10 * 1000 * 1000)
/* Reaping what the device finished, when nothing else does: well inside
 * lwIP's RTO (1 s at least), and 1 wake-up per quiet period. */
#define VNET_TX_RECLAIM_NS (1000 * 1000)
#define VNET_MAX_FRAME       65535u  /* lwIP's pbuf length is 16 bits */
/* Large indirect tables per TX queue: while one is free, a frame of more
 * than VQ_INDIRECT_SMALL descriptors (a TSO super-segment: up to 65) takes
 * one ring slot, not one per piece. TCP_SND_BUF (128 KiB) is two 64 KiB
 * frames per connection in flight: 32 cover 16 bulk senders at once, for
 * 32 * 65 * 16 = 33 KiB of DMA memory per queue; past that, frames go direct. */
#define VNET_TX_INDIRECT_TABLES 32u
#define VNET_RX_DATA_LEN     ((uint32_t)VNET_RX_BUF_SIZE)
/* A maximal frame's worth of buffers; num_buffers above this is a device
 * bug (or a jumbo frame no stack here could take). */
#define VNET_MAX_MERGE       ((VNET_MAX_FRAME + VNET_RX_DATA_LEN - 1) / VNET_RX_DATA_LEN + 1)
/* Buffers posted at open (or the whole ring if smaller): the rest of the
 * ring is filled after the stack is up (virtio_net_rx_fill_all), in chunks
 * from the refill timer, so a boot spends no time on buffers its first
 * exchanges do not need. Never fewer than one maximal merged frame: the
 * device waits for room for a whole frame before it delivers any of it. */
#define VNET_RX_FIRST_FILL   64u
#define VNET_RX_FILL_CHUNK   32u
_Static_assert(VNET_RX_FIRST_FILL >= VNET_MAX_MERGE, "first fill holds one maximal frame");

struct vnet_rx_buf {
    struct vnet_rx_buf *next_free;
    struct vnet_rxq *rq;
    uint8_t *data;                   /* VNET_RX_DATA_LEN bytes, written by device */
    uint8_t upper[VNET_RX_UPPER_ROOM] __attribute__((aligned(16)));
};

struct vnet_rxq {
    struct vnet *vn;
    unsigned index;
    struct virtqueue *vq;
    struct napi napi;
    int irq_vector;                  /* its interrupt's IDT vector, -1 if none (irq mode) */
    struct vnet_rx_buf *free_list;   /* returned by the upper layer */
    unsigned allocated, max_bufs;
    unsigned fill_target;            /* buffers kept posted: VNET_RX_FIRST_FILL, then the ring */
    struct ktimer refill_timer;
};

/* Per in-flight TX frame, the virtqueue token: ordinary memory, so the
 * device cannot redirect the free list or the token tx_done frees through
 * (in a confidential VM every DMA page is shared with the host). Its
 * virtio_net_hdr_v1, which the device reads, is hdrs[] at the same index:
 * DMA memory holding data only, left in place until the device is done. */
struct vnet_tx_slot {
    struct vnet_tx_slot *next_free;
    void *token;
    uint32_t len;
};

struct vnet_txq {
    struct vnet *vn;
    unsigned index;
    struct virtqueue *vq;
    struct napi napi;                /* TX completions (Linux napi_tx) */
    struct vnet_tx_slot *slots, *free_slots;   /* [vq_num], private */
    struct virtio_net_hdr_v1 *hdrs;  /* [vq_num], dma_alloc: read by device */
    bool kick_pending;
    bool need_arm;                   /* posted since the last flush: cover it */
    struct ktimer reclaim_timer;
    uint64_t used_at_timer;          /* vq used count when it was armed / last ran */
    bool in_xmit;                    /* suppresses the tx_wake upcall */
};

struct vnet {
    struct netdev dev;
    struct virtio_pci_dev vpci;
    enum net_mode mode;
    uint64_t features;
    bool mergeable;
    unsigned pairs;                  /* queue pairs set up (VIRTIO_NET_F_MQ: the device's max) */
    unsigned active_pairs;           /* of which the device steers to, and we send on */
    struct virtqueue *ctrlq;         /* with VIRTIO_NET_F_MQ only */
    struct vnet_rxq rxq[NETDEV_MAX_QUEUES];
    struct vnet_txq txq[NETDEV_MAX_QUEUES];
    volatile bool config_changed;    /* set in IRQ, handled in NET_TX softirq */
    bool in_flush;                   /* inside dev->tx_flush */
};

/* Linux virtqueue_napi_schedule: mask the queue only if we did schedule.
 * Any context. */
static inline void vnet_napi_schedule(struct napi *n, struct virtqueue *vq)
{
    if (napi_schedule_prep(n)) {
        vq_disable_cb(vq);
        napi_schedule_commit(n);
    }
}

static inline bool vnet_has(const struct vnet *vn, unsigned bit)
{
    return (vn->features >> bit) & 1;
}

/* netdev_ops.device_errors: what the pair's virtqueues counted. */
static inline uint64_t vnet_device_errors(const struct netdev *dev, unsigned queue)
{
    const struct vnet *vn = dev->priv;
    if (queue >= vn->pairs)
        return 0;
    uint64_t n = 0;
    if (vn->rxq[queue].vq)
        n += vq_get_stats(vn->rxq[queue].vq)->device_errors;
    if (vn->txq[queue].vq)
        n += vq_get_stats(vn->txq[queue].vq)->device_errors;
    if (queue == 0 && vn->ctrlq)
        n += vq_get_stats(vn->ctrlq)->device_errors;
    return n;
}

/* virtio_net_rx.c */
int vnet_rx_init(struct vnet_rxq *rq);
int vnet_rx_poll(struct napi *n, int budget);
int vnet_rx_receive(struct vnet_rxq *rq, int budget);
void vnet_rx_refill(struct vnet_rxq *rq);
void vnet_rx_buf_release(struct netdev *dev, void *buf);
/* Post buffers, and poll once: frames may have arrived before the queue
 * was armed (vnet_open). */
int vnet_rx_open(struct vnet_rxq *rq);
void vnet_rx_irq(void *ctx);     /* interrupt context */
/* After device reset: frees every buffer not held by the upper layer (in
 * the ring or on the free list); returns how many. */
unsigned vnet_rx_free_bufs(struct vnet_rxq *rq);

/* virtio_net_tx.c */
int vnet_tx_init(struct vnet_txq *tq);
/* After device reset (or a failed init): frees the slots and headers. */
void vnet_tx_free(struct vnet_txq *tq);
enum netdev_tx vnet_xmit(struct netdev *dev, unsigned queue, const struct netdev_tx_sg *sg,
                         unsigned nsg, const struct netdev_tx_offload *off, void *token);
void vnet_xmit_flush(struct netdev *dev);
/* Frees what the device finished; wakes a stopped queue. Main loop. */
unsigned vnet_tx_reclaim(struct vnet_txq *tq);
/* Reclaim, then make sure what is left will be: the RX poll's TX cleaning. */
void vnet_tx_clean(struct vnet_txq *tq);
int vnet_tx_poll(struct napi *n, int budget);
void vnet_tx_irq(void *ctx);     /* interrupt context */

#endif
