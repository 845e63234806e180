/* Split virtqueue layout, virtio 1.x (OASIS virtio v1.2, §2.7 "Split Virtqueues").
 *
 * Names are the spec's own (struct virtq_*, VIRTQ_*), not Linux's vring_*.
 * Every field is little-endian on the wire (§2.7, non-legacy); this header is
 * only for little-endian hosts, so fields are plain uintN_t (asserted below).
 * Each of the three parts is written by exactly one side: the descriptor table
 * and available ring by the driver, the used ring by the device. */
#ifndef DRIVERS_VIRTIO_VIRTIO_RING_REG_H
#define DRIVERS_VIRTIO_VIRTIO_RING_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "virtio 1.x rings are little-endian; add byte swaps for a BE host");

/* Reserved feature bits (§6 "Reserved Feature Bits"). */
#define VIRTIO_F_INDIRECT_DESC 28 /* §2.7.5.3 indirect descriptor tables */
#define VIRTIO_F_EVENT_IDX     29 /* §2.7.7 / §2.7.10 used_event, avail_event */
#define VIRTIO_F_VERSION_1     32 /* non-legacy device: LE rings, separate parts */

/* Alignment of each part (§2.7, table "Virtqueue Part / Alignment / Size"). */
#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4
#define VIRTQ_MAX_SIZE    32768 /* Queue Size: a power of 2, at most 32768 (§2.7) */

/* §2.7.5 The Virtqueue Descriptor Table: Queue Size entries, 16 bytes each.
 * All fields written by driver, read by device. */
#define VIRTQ_DESC_F_NEXT     1 /* chain continues at .next */
#define VIRTQ_DESC_F_WRITE    2 /* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4 /* .addr/.len is a table of virtq_desc (§2.7.5.3);
                                   never together with NEXT, never inside a table */
struct virtq_desc {
    uint64_t addr;  /* written by driver: guest-physical buffer address */
    uint32_t len;   /* written by driver: buffer length in bytes */
    uint16_t flags; /* written by driver: VIRTQ_DESC_F_* */
    uint16_t next;  /* written by driver: next index if flags & NEXT */
};

/* §2.7.6 The Virtqueue Available Ring (the Driver Area): 6 + 2 * Queue Size bytes.
 *   le16 flags; le16 idx; le16 ring[Queue Size]; le16 used_event;
 * used_event sits right after ring[] and is only meaningful with EVENT_IDX:
 * reach it with virtq_used_event(). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* §2.7.7: only without EVENT_IDX; else flags = 0 */
struct virtq_avail {
    uint16_t flags;  /* written by driver: VIRTQ_AVAIL_F_NO_INTERRUPT or 0 */
    uint16_t idx;    /* written by driver: free-running, next slot to fill */
    uint16_t ring[]; /* written by driver: heads of descriptor chains */
};

/* §2.7.8 The Virtqueue Used Ring (the Device Area): 6 + 8 * Queue Size bytes.
 *   le16 flags; le16 idx; struct virtq_used_elem ring[Queue Size]; le16 avail_event; */
#define VIRTQ_USED_F_NO_NOTIFY 1 /* §2.7.10: only without EVENT_IDX */
struct virtq_used_elem {
    uint32_t id;  /* written by device: head index of the used chain (le32 for padding) */
    uint32_t len; /* written by device: bytes written into the chain's writable part */
};
struct virtq_used {
    uint16_t flags; /* written by device: VIRTQ_USED_F_NO_NOTIFY or 0 */
    uint16_t idx;   /* written by device: free-running, next slot it will fill */
    struct virtq_used_elem ring[]; /* written by device */
};

_Static_assert(sizeof(struct virtq_desc) == 16, "§2.7.5: descriptor is 16 bytes");
_Static_assert(offsetof(struct virtq_desc, len) == 8 && offsetof(struct virtq_desc, flags) == 12 &&
               offsetof(struct virtq_desc, next) == 14, "§2.7.5 descriptor layout");
_Static_assert(sizeof(struct virtq_avail) == 4 && offsetof(struct virtq_avail, ring) == 4,
               "§2.7.6: flags, idx, then ring[]");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "§2.7.8: used element is 8 bytes");
_Static_assert(sizeof(struct virtq_used) == 4 && offsetof(struct virtq_used, ring) == 4,
               "§2.7.8: flags, idx, then ring[]");
_Static_assert(VIRTQ_DESC_F_NEXT == 1 && VIRTQ_DESC_F_WRITE == 2 && VIRTQ_DESC_F_INDIRECT == 4,
               "§2.7.5 descriptor flags");
_Static_assert(VIRTQ_AVAIL_F_NO_INTERRUPT == 1 && VIRTQ_USED_F_NO_NOTIFY == 1,
               "§2.7.6/§2.7.8 ring flags");
_Static_assert(VIRTIO_F_INDIRECT_DESC == 28 && VIRTIO_F_EVENT_IDX == 29 && VIRTIO_F_VERSION_1 == 32,
               "§6 reserved feature bits");

/* Sizes of each part for a queue of num entries, event fields included (§2.7 table). */
static inline size_t virtq_desc_size(unsigned num)  { return 16u * (size_t)num; }
static inline size_t virtq_avail_size(unsigned num) { return 6u + 2u * (size_t)num; }
static inline size_t virtq_used_size(unsigned num)  { return 6u + 8u * (size_t)num; }

/* used_event: written by driver, after avail->ring[num] (§2.7.6, §2.7.7). */
static inline uint16_t *virtq_used_event(struct virtq_avail *avail, unsigned num)
{
    return &avail->ring[num];
}

/* avail_event: written by device, after used->ring[num] (§2.7.8, §2.7.10). */
static inline uint16_t *virtq_avail_event(struct virtq_used *used, unsigned num)
{
    return (uint16_t *)&used->ring[num];
}

/* The event-index rule of §2.7.7/§2.7.10, in the form the spec's virtio_queue.h
 * helper gives it: the side that moved its idx from old to new_idx must notify
 * iff the other side's event index lies in [old, new_idx), i.e. idx passed
 * event + 1. All arithmetic is mod 2^16, so it holds across the index wrap as
 * long as fewer than 65536 entries were published since old. */
static inline bool vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif
