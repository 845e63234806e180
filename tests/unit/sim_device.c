/* Simulated device: see sim_device.h. Barriers mirror what a real device
 * (QEMU virtio.c) must do on its side of each index. */
#include "tests/unit/sim_device.h"

#include "drivers/virtio/virtqueue.h"
#include "kernel/barrier.h"

#include <stdlib.h>
#include <string.h>

static void fail(struct sim_device *d, const char *why)
{
    if (!d->error)
        d->error = why;
}

void sim_attach(struct sim_device *d, struct virtqueue *vq, bool event_idx)
{
    sim_attach_rings(d, vq_desc_addr(vq), vq_avail_addr(vq), vq_used_addr(vq), vq_num(vq),
                     event_idx);
}

void sim_attach_rings(struct sim_device *d, uint64_t desc, uint64_t avail, uint64_t used,
                      unsigned num, bool event_idx)
{
    memset(d, 0, sizeof(*d));
    d->desc = (struct virtq_desc *)(uintptr_t)desc;
    d->avail = (struct virtq_avail *)(uintptr_t)avail;
    d->used = (struct virtq_used *)(uintptr_t)used;
    d->num = num;
    d->event_idx = event_idx;
    d->inflight = calloc(d->num, sizeof(*d->inflight));
    d->fill = 0xa5;
    sim_set_want_notify(d, true);
}

void sim_detach(struct sim_device *d)
{
    free(d->inflight);
    d->inflight = NULL;
}

void sim_notify_cb(struct virtqueue *vq)
{
    struct sim_device *d = vq_notify_ctx(vq);
    d->notifications++;
}

void sim_set_want_notify(struct sim_device *d, bool on)
{
    d->want_notify = on;
    if (d->event_idx)
        WRITE_ONCE(*virtq_avail_event(d->used, d->num),
                   (uint16_t)(on ? d->last_avail : d->last_avail - 1));
    else
        WRITE_ONCE(d->used->flags, (uint16_t)(on ? 0 : VIRTQ_USED_F_NO_NOTIFY));
    mb(); /* publish before re-reading avail->idx, the device's half of §2.7.10 */
}

void sim_set_avail_event(struct sim_device *d, uint16_t ev)
{
    WRITE_ONCE(*virtq_avail_event(d->used, d->num), ev);
    mb();
}

/* Walk one chain per §2.7.5, enforcing the driver's MUSTs. */
static bool walk_chain(struct sim_device *d, uint16_t head, struct sim_chain *c)
{
    const struct virtq_desc *t = d->desc;
    unsigned tsize = d->num, i = head, count = 0;
    bool seen_write = false;

    memset(c, 0, sizeof(*c));
    c->head = head;
    for (;;) {
        if (i >= tsize) {
            fail(d, "descriptor next out of range");
            return false;
        }
        struct virtq_desc desc = t[i];
        if (desc.flags & VIRTQ_DESC_F_INDIRECT) {
            if (c->indirect) {
                fail(d, "INDIRECT inside an indirect table");
                return false;
            }
            if (desc.flags & VIRTQ_DESC_F_NEXT) {
                fail(d, "INDIRECT together with NEXT");
                return false;
            }
            if (desc.len == 0 || desc.len % sizeof(struct virtq_desc)) {
                fail(d, "bad indirect table length");
                return false;
            }
            c->indirect = true;
            d->indirect_seen++;
            t = (const struct virtq_desc *)(uintptr_t)desc.addr;
            tsize = desc.len / sizeof(struct virtq_desc);
            i = 0;
            count = 0;
            continue;
        }
        if (desc.flags & VIRTQ_DESC_F_WRITE)
            seen_write = true;
        else if (seen_write) {
            fail(d, "device-readable descriptor after a writable one");
            return false;
        }
        if (c->nseg == SIM_MAX_SEG || ++count > tsize) {
            fail(d, "descriptor chain loops or is too long");
            return false;
        }
        c->seg[c->nseg++] = (struct sim_seg){ desc.addr, desc.len, (desc.flags & VIRTQ_DESC_F_WRITE) != 0 };
        if (desc.flags & VIRTQ_DESC_F_WRITE)
            c->in_len += desc.len;
        else
            c->out_len += desc.len;
        if (!(desc.flags & VIRTQ_DESC_F_NEXT))
            return true;
        i = desc.next;
    }
}

unsigned sim_fetch(struct sim_device *d, unsigned max)
{
    unsigned got = 0;
    uint16_t avail_idx = READ_ONCE(d->avail->idx);
    rmb(); /* ring entries and descriptors after the idx that published them */
    while (got < max && d->last_avail != avail_idx) {
        if ((uint16_t)(avail_idx - d->last_avail) > d->num) {
            fail(d, "avail idx ran more than queue size ahead");
            break;
        }
        uint16_t head = READ_ONCE(d->avail->ring[d->last_avail & (d->num - 1)]);
        if (d->inflight_count == d->num) {
            fail(d, "more buffers available than the queue holds");
            break;
        }
        if (!walk_chain(d, head, &d->inflight[d->inflight_count]))
            break;
        d->inflight_count++;
        d->last_avail++;
        got++;
    }
    if (d->event_idx && (d->avail->flags != 0))
        fail(d, "driver set avail flags with EVENT_IDX (§2.7.7)");
    if (d->want_notify && d->event_idx)
        sim_set_want_notify(d, true); /* kick me at the next new buffer */
    return got;
}

const struct sim_chain *sim_inflight(const struct sim_device *d, unsigned pos)
{
    return pos < d->inflight_count ? &d->inflight[pos] : NULL;
}

static void write_used_data(struct sim_device *d, const struct sim_chain *c, int64_t len,
                            const uint8_t *data)
{
    uint32_t n = (len < 0 || len > c->in_len) ? c->in_len : (uint32_t)len;
    uint32_t left = n;
    for (unsigned s = 0; s < c->nseg && left; s++) {
        if (!c->seg[s].write)
            continue;
        uint32_t k = c->seg[s].len < left ? c->seg[s].len : left;
        if (data) {
            memcpy((void *)(uintptr_t)c->seg[s].addr, data, k);
            data += k;
        } else {
            memset((void *)(uintptr_t)c->seg[s].addr, d->fill, k);
        }
        left -= k;
    }
    struct virtq_used_elem *e = &d->used->ring[d->used_idx & (d->num - 1)];
    e->id = c->head;
    e->len = n;
    d->used_idx++;
}

static void write_used(struct sim_device *d, const struct sim_chain *c, int64_t len)
{
    write_used_data(d, c, len, NULL);
}

/* Publish used idx, then decide on a notification (§2.7.7). */
static bool publish(struct sim_device *d, uint16_t old)
{
    wmb(); /* element and data before the idx */
    WRITE_ONCE(d->used->idx, d->used_idx);
    mb();  /* idx before reading used_event/flags: pairs with the driver's vq_poll fence */
    bool need;
    if (d->event_idx)
        need = vring_need_event(READ_ONCE(*virtq_used_event(d->avail, d->num)), d->used_idx, old);
    else
        need = !(READ_ONCE(d->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    if (need) {
        d->interrupts++;
        if (d->irq)
            d->irq(d->irq_ctx);
    }
    return need;
}

bool sim_complete_nth(struct sim_device *d, unsigned pos, int64_t len)
{
    if (pos >= d->inflight_count)
        return false;
    uint16_t old = d->used_idx;
    struct sim_chain c = d->inflight[pos];
    memmove(&d->inflight[pos], &d->inflight[pos + 1],
            (d->inflight_count - pos - 1) * sizeof(*d->inflight));
    d->inflight_count--;
    write_used(d, &c, len);
    return publish(d, old);
}

bool sim_complete(struct sim_device *d, unsigned count, int64_t len)
{
    if (count > d->inflight_count)
        count = d->inflight_count;
    if (!count)
        return false;
    uint16_t old = d->used_idx;
    for (unsigned k = 0; k < count; k++)
        write_used(d, &d->inflight[k], len);
    memmove(&d->inflight[0], &d->inflight[count], (d->inflight_count - count) * sizeof(*d->inflight));
    d->inflight_count -= count;
    return publish(d, old);
}

bool sim_complete_with(struct sim_device *d, unsigned count, const struct sim_data *items)
{
    if (count > d->inflight_count)
        count = d->inflight_count;
    if (!count)
        return false;
    uint16_t old = d->used_idx;
    for (unsigned k = 0; k < count; k++)
        write_used_data(d, &d->inflight[k], items[k].len, items[k].data);
    memmove(&d->inflight[0], &d->inflight[count], (d->inflight_count - count) * sizeof(*d->inflight));
    d->inflight_count -= count;
    return publish(d, old);
}

void sim_inject_used(struct sim_device *d, uint32_t id, uint32_t len)
{
    uint16_t old = d->used_idx;
    struct virtq_used_elem *e = &d->used->ring[d->used_idx & (d->num - 1)];
    e->id = id;
    e->len = len;
    d->used_idx++;
    publish(d, old);
}
