/* Split virtqueue (virtio 1.x §2.7), driver side, with Linux virtio_ring semantics.
 *
 * Knows nothing of PCI: the transport creates the queue (virtio_pci_find_vqs:
 * a driver never calls vq_create), programs the device with
 * vq_desc_addr/vq_avail_addr/vq_used_addr/vq_num, and supplies a notify
 * callback that writes the queue's notify register.
 *
 * Calling context. One CPU; every function except vq_disable_cb and the pure
 * accessors is called from the main loop (NAPI poll, xmit, refill timer,
 * setup/teardown) and never concurrently with another of them on the same
 * queue: debug builds detect re-entry and break the queue. vq_disable_cb may
 * run in the queue's interrupt handler at any moment; the worst a race with
 * the main loop can cause is one spurious interrupt, which drivers tolerate
 * (§2.7.7: "The driver MUST handle spurious notifications").
 *
 * A misbehaving device (bad used id or len) marks the queue broken: sticky,
 * counted (stats.device_errors), reported once through vq_warn_hook, after
 * which vq_get_buf returns NULL and vq_add_sgs VQ_EIO, so the driver stops
 * touching the rings instead of corrupting memory. Nothing the driver relies
 * on lives in memory the device can write: the free list, tokens and lengths
 * are private; the rings are only read for indices and ids it checks. */
#ifndef DRIVERS_VIRTIO_VIRTQUEUE_H
#define DRIVERS_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Negative errno values (same numbers as newlib/Linux), so callers can use
 * either spelling without pulling in <errno.h>. */
#define VQ_EIO    (-5)  /* queue is broken */
#define VQ_EINVAL (-22) /* no token, no segments, or a chain that can never fit */
#define VQ_ENOSPC (-28) /* not enough free descriptors right now: retry after get_buf */

/* Indirect tables (§2.7.5.3) come from pools allocated at set-up, so
 * vq_add_sgs never allocates. Every ring slot has a table of
 * VQ_INDIRECT_SMALL entries (indexed by head: created with the queue).
 * Requests of up to VQ_INDIRECT_MAX segments (a 64 KiB TSO frame: header +
 * 64 pieces) use a large table from a bounded pool a driver reserves with
 * vq_indirect_reserve: 1 KiB each, so not one per slot. With none free, or
 * more segments than that, a request goes direct. */
#define VQ_INDIRECT_SMALL 8
#define VQ_INDIRECT_MAX 65

struct virtqueue;

/* One buffer segment, by device (DMA) address: callers use dma_addr(). */
struct vq_sg {
    uint64_t addr;
    uint32_t len;
};

typedef void (*vq_notify_fn)(struct virtqueue *vq);

struct vq_stats {
    uint64_t added;            /* buffers made available */
    uint64_t used;             /* buffers returned by vq_get_buf */
    uint64_t notifies;         /* notify callbacks issued */
    uint64_t notify_suppressed;/* kicks the device said it did not need */
    uint64_t indirect;         /* buffers posted through an indirect table */
    uint64_t indirect_full;    /* would have taken a large table, none was free: direct */
    uint64_t reentered;        /* debug builds: overlapping calls detected */
    uint64_t device_errors;    /* violations that broke (or found broken) the queue */
};

/* Called once per queue when it becomes broken (main-loop context). The
 * kernel points it at a klog wrapper; NULL = silent. */
extern void (*vq_warn_hook)(struct virtqueue *vq, const char *why);

/* num: power of 2, 1..32768. event_idx/indirect: the negotiated
 * VIRTIO_F_EVENT_IDX / VIRTIO_F_INDIRECT_DESC. notify_ctx is for the
 * transport (vq_notify_ctx). NULL on bad arguments or out of memory. Ring
 * memory is zeroed: the used ring's flags start at 0 as §2.7.10 requires. */
struct virtqueue *vq_create(uint16_t index, unsigned num, bool event_idx, bool indirect,
                            vq_notify_fn notify, void *notify_ctx);
/* After the device was reset and unused buffers detached. */
void vq_destroy(struct virtqueue *vq);
/* Set-up, once: a pool of `tables` large indirect tables (VQ_INDIRECT_MAX
 * entries), at most vq_num. 0 on success; -1 without indirect, when already
 * reserved, or out of memory (requests then simply go direct). */
int vq_indirect_reserve(struct virtqueue *vq, unsigned tables);

/* Post one buffer: sg[0..out_num) device-readable, then sg[out_num..+in_num)
 * device-writable (§2.7.4 order). token (non-NULL) comes back from
 * vq_get_buf. With indirect negotiated, any request of 2..VQ_INDIRECT_SMALL
 * segments uses one ring slot plus its pre-allocated table (Linux's policy:
 * ring capacity doubles for header+payload TX, costs one extra device read),
 * and one of up to VQ_INDIRECT_MAX does too while a reserved large table is
 * free; never a table longer than the ring (§2.7.5.3.1).
 * The buffer is visible to the device on return (avail idx published, as
 * Linux does), but it is only told by a kick. Never blocks or allocates.
 * 0, VQ_ENOSPC (nothing changed), VQ_EINVAL or VQ_EIO. */
int vq_add_sgs(struct virtqueue *vq, const struct vq_sg *sg, unsigned out_num,
               unsigned in_num, void *token);
unsigned vq_num_free(const struct virtqueue *vq);

/* Does the device need a notification for what was added since the last
 * kick_prepare? Honours VIRTQ_USED_F_NO_NOTIFY, or avail_event with event idx. */
bool vq_kick_prepare(struct virtqueue *vq);
bool vq_notify(struct virtqueue *vq);   /* calls the transport; false if broken */
bool vq_kick(struct virtqueue *vq);     /* prepare + notify; true if notified */

/* Next used buffer's token (and bytes the device wrote, into *len), or NULL
 * when none is ready or the queue is broken. */
void *vq_get_buf(struct virtqueue *vq, uint32_t *len);

/* Used-buffer notification (interrupt) control, §2.7.7. All are hints:
 * interrupts may still arrive after vq_disable_cb. */
void vq_disable_cb(struct virtqueue *vq);              /* IRQ-safe, see above */
unsigned vq_enable_cb_prepare(struct virtqueue *vq);   /* returns opaque snapshot */
bool vq_poll(struct virtqueue *vq, unsigned opaque);   /* used idx moved past it? */
/* false: buffers already pending, poll again. Both enables return true on a
 * broken queue: nothing will come, and a caller must not loop on it. */
bool vq_enable_cb(struct virtqueue *vq);
/* Like vq_enable_cb, but with event idx asks for the interrupt only after
 * 3/4 of the outstanding buffers are used (TX reclaim when the ring is full). */
bool vq_enable_cb_delayed(struct virtqueue *vq);

/* Interrupt context (Linux vring_interrupt's more_used): has the device
 * used a buffer we have not taken? A stale answer is only ever "yes". */
bool vq_more_used(const struct virtqueue *vq);

/* Teardown, after device reset: returns in-flight tokens one by one, NULL when
 * none is left. */
void *vq_detach_unused_buf(struct virtqueue *vq);

bool vq_is_broken(const struct virtqueue *vq);
const char *vq_broken_reason(const struct virtqueue *vq);   /* NULL if healthy */
void vq_mark_broken(struct virtqueue *vq, const char *why); /* transport: device failed */
const struct vq_stats *vq_get_stats(const struct virtqueue *vq);

/* For the transport. */
unsigned vq_num(const struct virtqueue *vq);
uint16_t vq_index(const struct virtqueue *vq);
void *vq_notify_ctx(const struct virtqueue *vq);
uint64_t vq_desc_addr(const struct virtqueue *vq);  /* Descriptor Area */
uint64_t vq_avail_addr(const struct virtqueue *vq); /* Driver Area */
uint64_t vq_used_addr(const struct virtqueue *vq);  /* Device Area */

#endif
