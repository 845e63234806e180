/* A simulated virtio device driving the real ring memory of a struct
 * virtqueue, through the addresses a transport would program (dma_addr is
 * the pointer on the host). It plays the device's half of §2.7: consumes
 * available chains (validating the driver's side of the spec), writes used
 * elements, publishes the used idx, decides used-buffer notifications from
 * NO_INTERRUPT / used_event, and publishes its own NO_NOTIFY / avail_event.
 * Single-threaded: "concurrency" is the test choosing when the device acts. */
#ifndef TESTS_UNIT_SIM_DEVICE_H
#define TESTS_UNIT_SIM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtio/virtio_ring_reg.h"

struct virtqueue;

#define SIM_MAX_SEG 80  /* a TSO frame: header + NETDEV_TX_MAX_SG_GSO pieces */

struct sim_seg {
    uint64_t addr;
    uint32_t len;
    bool write;
};

struct sim_chain {
    uint16_t head;
    bool indirect;
    unsigned nseg;
    uint32_t out_len, in_len; /* device-readable / device-writable totals */
    struct sim_seg seg[SIM_MAX_SEG];
};

struct sim_device {
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    unsigned num;
    bool event_idx;
    uint16_t last_avail;       /* device-private: next avail slot to consume */
    uint16_t used_idx;         /* device-private copy of used->idx */
    struct sim_chain *inflight; /* FIFO of fetched, not yet used chains */
    unsigned inflight_count;
    bool want_notify;          /* device asks for available-buffer notifications */
    unsigned long notifications; /* driver notified us (notify callback) */
    unsigned long interrupts;  /* used-buffer notifications we sent */
    unsigned long indirect_seen;
    uint8_t fill;              /* byte written into device-writable buffers */
    void (*irq)(void *ctx);    /* interrupt delivery, called when we notify */
    void *irq_ctx;
    const char *error;         /* first violation of the driver's spec duties */
};

/* Point the device at vq's rings; wants notifications initially. */
void sim_attach(struct sim_device *d, struct virtqueue *vq, bool event_idx);
void sim_detach(struct sim_device *d);
/* The vq notify callback: pass it to vq_create with the sim_device as ctx. */
void sim_notify_cb(struct virtqueue *vq);

/* Device publishes whether it wants kicks: NO_NOTIFY flag, or with event idx
 * avail_event = next avail slot (on) / as far behind as possible (off). */
void sim_set_want_notify(struct sim_device *d, bool on);
/* Device publishes an explicit avail_event (event idx only). */
void sim_set_avail_event(struct sim_device *d, uint16_t ev);
/* Consume up to max available chains into the in-flight FIFO; returns how many. */
unsigned sim_fetch(struct sim_device *d, unsigned max);
/* Return the in-flight chain at FIFO position pos as used, writing len bytes
 * (len < 0: the chain's whole writable length). Publishes the used idx and
 * notifies (calls irq) if the driver asked for it. Returns true if notified. */
bool sim_complete_nth(struct sim_device *d, unsigned pos, int64_t len);
/* Complete the count oldest chains in one batch (one idx update, at most one
 * notification decision). Returns true if notified. */
bool sim_complete(struct sim_device *d, unsigned count, int64_t len);
/* What the device writes into one chain: len bytes of data (NULL: the fill
 * byte), scattered over the chain's writable segments; used len = len
 * (capped at the chain's writable length, as a correct device would). */
struct sim_data {
    const void *data;
    uint32_t len;
};
/* Complete the count oldest chains in one batch, chain k written from
 * items[k] (a mergeable-buffer frame is published this way, all its buffers
 * under one idx update). Returns true if notified. */
bool sim_complete_with(struct sim_device *d, unsigned count, const struct sim_data *items);
/* Write a raw used element and publish it: for corruption tests. */
void sim_inject_used(struct sim_device *d, uint32_t id, uint32_t len);
/* The chain at FIFO position pos (for checking what the driver posted). */
const struct sim_chain *sim_inflight(const struct sim_device *d, unsigned pos);

#endif
