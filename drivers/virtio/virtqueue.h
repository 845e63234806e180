/* Split virtqueue (virtio 1.x §2.7), driver side, with Linux virtio_ring semantics.
 *
 * Knows nothing of PCI: the transport creates the queue, programs the device
 * with vq_desc_addr/vq_avail_addr/vq_used_addr/vq_num, and supplies a notify
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
 * reported once through vq_warn_hook, after which vq_get_buf returns NULL and
 * vq_add_sgs VQ_EIO, so the driver stops touching the rings instead of
 * corrupting memory. */
#ifndef DRIVERS_VIRTIO_VIRTQUEUE_H
#define DRIVERS_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Negative errno values (same numbers as newlib/Linux), so callers can use
 * either spelling without pulling in <errno.h>. */
#define VQ_EIO    (-5)  /* queue is broken */
#define VQ_EINVAL (-22) /* no token, no segments, or a chain that can never fit */
#define VQ_ENOSPC (-28) /* not enough free descriptors right now: retry after get_buf */

/* Most segments one request may put in an indirect table. Tables come from a
 * pool allocated at create time (one table per ring slot, indexed by head),
 * so vq_add_sgs never allocates. Requests with more segments go direct. */
#define VQ_INDIRECT_MAX 8

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
    uint64_t reentered;        /* debug builds: overlapping calls detected */
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

/* Post one buffer: sg[0..out_num) device-readable, then sg[out_num..+in_num)
 * device-writable (§2.7.4 order). token (non-NULL) comes back from
 * vq_get_buf. With indirect negotiated, any request of 2..VQ_INDIRECT_MAX
 * segments uses one ring slot plus its pre-allocated table (Linux's policy:
 * ring capacity doubles for header+payload TX, costs one extra device read).
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
bool vq_enable_cb(struct virtqueue *vq);   /* false: buffers already pending, poll again */
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
