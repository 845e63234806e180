/* Split virtqueue, driver side. See virtqueue.h for the contract and
 * virtio_ring_reg.h for the layout. The structure follows Linux
 * drivers/virtio/virtio_ring.c (split ring): a private free list and
 * per-head state, so nothing the device can write is trusted when freeing. */
#include "drivers/virtio/virtqueue.h"

#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/barrier.h"
#include "kernel/dma.h"

#include <stddef.h>
#include <stdlib.h>

/* Driver-private view of one descriptor chain, indexed by its head. */
struct vq_desc_state {
    void *token;     /* non-NULL iff this index heads a chain the device owns */
    uint32_t in_len; /* device-writable bytes in the chain: bound for used len */
    uint16_t ndescs; /* ring descriptors the chain occupies (1 when indirect) */
    uint16_t big;    /* large indirect table it uses + 1, or 0 */
};

struct virtqueue {
    /* Shared with the device. */
    struct virtq_desc *desc;      /* written by driver */
    struct virtq_avail *avail;    /* written by driver */
    struct virtq_used *used;      /* written by device */
    uint16_t *used_event;         /* written by driver (event idx) */
    const uint16_t *avail_event;  /* written by device (event idx) */
    struct virtq_desc *indir;     /* a VQ_INDIRECT_SMALL table per head, or NULL */
    uint64_t indir_dma;
    struct virtq_desc *big;       /* nbig VQ_INDIRECT_MAX tables, or NULL */
    uint64_t big_dma;

    /* Driver-private. */
    uint16_t num, index;
    uint16_t free_head;           /* first free descriptor; links in next[] */
    unsigned num_free;
    uint16_t avail_idx_shadow;    /* what we last wrote to avail->idx */
    uint16_t avail_flags_shadow;  /* NO_INTERRUPT also tracks "callbacks off" with event idx */
    uint16_t num_added;           /* published since the last kick_prepare */
    uint16_t last_used_idx;       /* next used slot we will read */
    bool event_idx, indirect, broken;
    uint16_t nbig, nbig_free;     /* large tables reserved / free */
    uint16_t *big_free;           /* [nbig] stack of free large tables: private */
    const char *broken_reason;
    vq_notify_fn notify;
    void *notify_ctx;
    struct vq_stats stats;
#ifndef NDEBUG
    const char *in_use;           /* function currently inside, for re-entry checks */
#endif
    uint16_t *next;               /* free-list and chain links: the device can't touch them */
    struct vq_desc_state state[]; /* [num] */
};

void (*vq_warn_hook)(struct virtqueue *vq, const char *why);

static void set_broken(struct virtqueue *vq, const char *why)
{
    vq->stats.device_errors++;
    if (vq->broken)
        return;
    WRITE_ONCE(vq->broken, true);
    vq->broken_reason = why;
    if (vq_warn_hook)
        vq_warn_hook(vq, why);
}

/* Linux START_USE/END_USE: catches two main-loop paths (or an interrupt
 * handler calling more than vq_disable_cb) inside the ring at once. */
#ifndef NDEBUG
#define START_USE(vq)                                              \
    do {                                                           \
        if ((vq)->in_use) {                                        \
            (vq)->stats.reentered++;                               \
            set_broken((vq), "re-entered (concurrent use)");       \
        }                                                          \
        (vq)->in_use = __func__;                                   \
    } while (0)
#define END_USE(vq) ((vq)->in_use = NULL)
#else
#define START_USE(vq) ((void)0)
#define END_USE(vq) ((void)0)
#endif

struct virtqueue *vq_create(uint16_t index, unsigned num, bool event_idx, bool indirect,
                            vq_notify_fn notify, void *notify_ctx)
{
    if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)) || !notify)
        return NULL;

    /* Private state (free-list links, tokens, lengths) in ordinary memory,
     * never in dma_alloc's: that is what a device may write (with a
     * confidential VM, the pages shared with the host), and the device must
     * not be able to redirect a free or a token. */
    size_t priv = sizeof(struct virtqueue) + num * sizeof(struct vq_desc_state);
    struct virtqueue *vq = calloc(1, priv + num * sizeof(uint16_t));
    if (!vq)
        return NULL;
    vq->next = (uint16_t *)((char *)vq + priv);
    /* One cache line at least per part, so the device-written used ring never
     * shares a line with driver-written memory. */
    vq->desc = dma_alloc(virtq_desc_size(num), 64);
    vq->avail = dma_alloc(virtq_avail_size(num), 64);
    vq->used = dma_alloc(virtq_used_size(num), 64);
    if (!vq->desc || !vq->avail || !vq->used) {
        vq_destroy(vq);
        return NULL;
    }
    vq->indirect = indirect;
    if (indirect) {
        /* Optional: without the pool every request simply goes direct. */
        vq->indir = dma_alloc(sizeof(struct virtq_desc) * VQ_INDIRECT_SMALL * num,
                              VIRTQ_DESC_ALIGN);
        if (vq->indir)
            vq->indir_dma = dma_addr(vq->indir);
    }
    vq->used_event = virtq_used_event(vq->avail, num);
    vq->avail_event = virtq_avail_event(vq->used, num);
    vq->num = (uint16_t)num;
    vq->index = index;
    vq->event_idx = event_idx;
    vq->notify = notify;
    vq->notify_ctx = notify_ctx;
    vq->num_free = num;
    vq->free_head = 0;
    for (unsigned i = 0; i + 1 < num; i++)
        vq->next[i] = (uint16_t)(i + 1);
    return vq;
}

static void free_if(void *p)
{
    if (p)
        dma_free(p);
}

void vq_destroy(struct virtqueue *vq)
{
    if (!vq)
        return;
    free_if(vq->big);
    free(vq->big_free);
    free_if(vq->indir);
    free_if(vq->used);
    free_if(vq->avail);
    free_if(vq->desc);
    free(vq);
}

int vq_indirect_reserve(struct virtqueue *vq, unsigned tables)
{
    if (!vq->indirect || vq->big || tables == 0 || tables > vq->num)
        return -1;
    vq->big_free = calloc(tables, sizeof(*vq->big_free));
    vq->big = dma_alloc(sizeof(struct virtq_desc) * VQ_INDIRECT_MAX * tables, VIRTQ_DESC_ALIGN);
    if (!vq->big || !vq->big_free) {
        free_if(vq->big);
        free(vq->big_free);
        vq->big = NULL;
        vq->big_free = NULL;
        return -1;
    }
    vq->big_dma = dma_addr(vq->big);
    vq->nbig = vq->nbig_free = (uint16_t)tables;
    for (unsigned i = 0; i < tables; i++)
        vq->big_free[i] = (uint16_t)i;
    return 0;
}

/* Fill one descriptor per segment into table t starting at index i. The
 * chain follows links[] (the ring's free list, so freeing needs no walk of
 * device-visible memory) or, for an indirect table (links NULL), 0, 1, 2...
 * Sets *after to the index following the chain; returns the device-writable
 * total, saturated to 32 bits (a used len can't exceed that anyway). */
static uint32_t fill_chain(struct virtq_desc *t, uint16_t i, const uint16_t *links,
                           const struct vq_sg *sg, unsigned out_num, unsigned total,
                           uint16_t *after)
{
    uint64_t in_len = 0;
    for (unsigned k = 0; k < total; k++) {
        uint16_t nxt = links ? links[i] : (uint16_t)(i + 1);
        bool more = k + 1 < total;
        t[i].addr = sg[k].addr;
        t[i].len = sg[k].len;
        t[i].flags = (uint16_t)((k < out_num ? 0 : VIRTQ_DESC_F_WRITE) | (more ? VIRTQ_DESC_F_NEXT : 0));
        t[i].next = more ? nxt : 0;
        if (k >= out_num)
            in_len += sg[k].len;
        i = nxt;
    }
    *after = i;
    return in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)in_len;
}

int vq_add_sgs(struct virtqueue *vq, const struct vq_sg *sg, unsigned out_num,
               unsigned in_num, void *token)
{
    unsigned total = out_num + in_num;
    if (!token || !sg || total == 0)
        return VQ_EINVAL;

    START_USE(vq);
    if (vq->broken) {
        END_USE(vq);
        return VQ_EIO;
    }
    /* §2.7.5.3.1: no chain, indirect ones included, longer than the ring. */
    bool fits = total > 1 && total <= vq->num;
    bool small = fits && vq->indir && total <= VQ_INDIRECT_SMALL;
    bool big = fits && !small && vq->nbig && total <= VQ_INDIRECT_MAX;
    if (big && !vq->nbig_free) {
        big = false;
        vq->stats.indirect_full++;
    }
    unsigned need = small || big ? 1 : total;
    if (need > vq->num_free) {
        END_USE(vq);
        return need > vq->num ? VQ_EINVAL : VQ_ENOSPC;
    }

    uint16_t head = vq->free_head, after;
    uint32_t in_len;
    vq->state[head].big = 0;
    if (small || big) {
        /* A small table is free whenever its head is (one per slot); a
         * large one goes back to the stack when its chain is used. */
        uint64_t dma;
        struct virtq_desc *t;
        if (small) {
            t = vq->indir + (size_t)head * VQ_INDIRECT_SMALL;
            dma = vq->indir_dma + (uint64_t)head * VQ_INDIRECT_SMALL * sizeof(struct virtq_desc);
        } else {
            uint16_t b = vq->big_free[--vq->nbig_free];
            vq->state[head].big = (uint16_t)(b + 1);
            t = vq->big + (size_t)b * VQ_INDIRECT_MAX;
            dma = vq->big_dma + (uint64_t)b * VQ_INDIRECT_MAX * sizeof(struct virtq_desc);
        }
        in_len = fill_chain(t, 0, NULL, sg, out_num, total, &after);
        struct virtq_desc *d = &vq->desc[head];
        d->addr = dma;
        d->len = total * (uint32_t)sizeof(struct virtq_desc);
        d->flags = VIRTQ_DESC_F_INDIRECT;
        d->next = 0;
        vq->free_head = vq->next[head];
        vq->stats.indirect++;
    } else {
        in_len = fill_chain(vq->desc, head, vq->next, sg, out_num, total, &after);
        vq->free_head = after;
    }
    vq->num_free -= need;
    vq->state[head].token = token;
    vq->state[head].in_len = in_len;
    vq->state[head].ndescs = (uint16_t)need;

    vq->avail->ring[vq->avail_idx_shadow & (vq->num - 1)] = head;
    /* Descriptors, indirect table and ring slot must be visible before the idx
     * that hands them over; otherwise a device already polling the ring
     * (NO_NOTIFY mode) reads a stale head or descriptor. */
    wmb();
    vq->avail_idx_shadow++;
    WRITE_ONCE(vq->avail->idx, vq->avail_idx_shadow);
    vq->num_added++;
    vq->stats.added++;
    END_USE(vq);

    /* vring_need_event() compares windows mod 2^16: kick before one overflows. */
    if (vq->num_added == 0xffff)
        vq_kick(vq);
    return 0;
}

unsigned vq_num_free(const struct virtqueue *vq)
{
    return vq->num_free;
}

bool vq_kick_prepare(struct virtqueue *vq)
{
    bool needs;

    START_USE(vq);
    /* Store->load fence: our avail->idx store must be globally visible before
     * we read avail_event/flags. Without it the device can see the old idx, go
     * to sleep and re-enable notifications after we read "suppressed": both
     * sides wait, the buffers sit there (§2.7.13 step 6). */
    mb();
    uint16_t new_idx = vq->avail_idx_shadow;
    uint16_t old = (uint16_t)(new_idx - vq->num_added);
    vq->num_added = 0;
    if (new_idx == old)
        needs = false;
    else if (vq->event_idx)
        needs = vring_need_event(READ_ONCE(*vq->avail_event), new_idx, old);
    else
        needs = !(READ_ONCE(vq->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
    if (!needs && new_idx != old)
        vq->stats.notify_suppressed++;
    END_USE(vq);
    return needs;
}

bool vq_notify(struct virtqueue *vq)
{
    if (READ_ONCE(vq->broken))
        return false;
    vq->stats.notifies++;
    vq->notify(vq);
    return true;
}

bool vq_kick(struct virtqueue *vq)
{
    return vq_kick_prepare(vq) && vq_notify(vq);
}

static void detach_buf(struct virtqueue *vq, uint16_t head)
{
    struct vq_desc_state *st = &vq->state[head];
    uint16_t tail = head;
    for (unsigned k = 1; k < st->ndescs; k++)
        tail = vq->next[tail];
    vq->next[tail] = vq->free_head;
    vq->free_head = head;
    vq->num_free += st->ndescs;
    st->token = NULL;
    if (st->big) {
        vq->big_free[vq->nbig_free++] = (uint16_t)(st->big - 1);
        st->big = 0;
    }
}

void *vq_get_buf(struct virtqueue *vq, uint32_t *len)
{
    START_USE(vq);
    if (vq->broken) {
        END_USE(vq);
        return NULL;
    }
    uint16_t used_idx = READ_ONCE(vq->used->idx);
    if (used_idx == vq->last_used_idx) {
        END_USE(vq);
        return NULL;
    }
    /* Load->load: the element (and the packet data) must be read after the idx
     * that published them, or we could consume a slot the device is still
     * filling. Free on x86 TSO; still stops the compiler. */
    rmb();

    const char *bad = NULL;
    uint16_t slot = vq->last_used_idx & (vq->num - 1);
    uint32_t id = READ_ONCE(vq->used->ring[slot].id);
    uint32_t n = READ_ONCE(vq->used->ring[slot].len);
    if ((uint16_t)(used_idx - vq->last_used_idx) > vq->num)
        bad = "used idx ran ahead of the buffers in flight";
    else if (id >= vq->num)
        bad = "used id out of range";
    else if (!vq->state[id].token)
        bad = "used id not a buffer in flight";
    else if (n > vq->state[id].in_len)
        bad = "used len exceeds the buffer's writable length";
    if (bad) {
        set_broken(vq, bad);
        END_USE(vq);
        return NULL;
    }

    void *token = vq->state[id].token;
    detach_buf(vq, (uint16_t)id);
    vq->last_used_idx++;
    vq->stats.used++;
    /* Callbacks on (no NAPI poll running): ask for an interrupt at the next
     * entry. The fence orders this store before the used->idx load of the
     * caller's next vq_get_buf: else we could see no new entry while the
     * device reads the old used_event and skips the interrupt. */
    if (vq->event_idx && !(vq->avail_flags_shadow & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
        WRITE_ONCE(*vq->used_event, vq->last_used_idx);
        mb();
    }
    if (len)
        *len = n;
    END_USE(vq);
    return token;
}

void vq_disable_cb(struct virtqueue *vq)
{
    /* No START_USE: the interrupt handler calls this while the main loop may
     * be inside another vq_* call (see virtqueue.h). A hint, so no fence. */
    if (vq->avail_flags_shadow & VIRTQ_AVAIL_F_NO_INTERRUPT)
        return;
    vq->avail_flags_shadow |= VIRTQ_AVAIL_F_NO_INTERRUPT;
    if (vq->event_idx)
        /* §2.7.7 forbids the flag with event idx; put used_event as far
         * behind as it goes: the device must wrap all 2^16 to hit it. */
        WRITE_ONCE(*vq->used_event, (uint16_t)(vq->last_used_idx - 1));
    else
        WRITE_ONCE(vq->avail->flags, vq->avail_flags_shadow);
}

unsigned vq_enable_cb_prepare(struct virtqueue *vq)
{
    START_USE(vq);
    if (vq->avail_flags_shadow & VIRTQ_AVAIL_F_NO_INTERRUPT) {
        vq->avail_flags_shadow &= (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT;
        if (!vq->event_idx)
            WRITE_ONCE(vq->avail->flags, vq->avail_flags_shadow);
    }
    /* Interrupt when the device writes slot last_used_idx, i.e. the very next
     * buffer. The store->load fence before re-reading used->idx is vq_poll's. */
    if (vq->event_idx)
        WRITE_ONCE(*vq->used_event, vq->last_used_idx);
    unsigned snapshot = vq->last_used_idx;
    END_USE(vq);
    return snapshot;
}

bool vq_poll(struct virtqueue *vq, unsigned opaque)
{
    if (READ_ONCE(vq->broken))
        return false;
    /* Store->load fence pairing with the device's "write used idx, fence, read
     * used_event/flags": our re-enable (enable_cb_prepare) must be visible
     * before we load used->idx. Then either the device sees interrupts on and
     * raises one, or we see its entry here; without the fence both can miss
     * and the buffer is stranded until the next packet (ixy#21). */
    mb();
    return (uint16_t)opaque != READ_ONCE(vq->used->idx);
}

bool vq_enable_cb(struct virtqueue *vq)
{
    return !vq_poll(vq, vq_enable_cb_prepare(vq));
}

bool vq_enable_cb_delayed(struct virtqueue *vq)
{
    if (!vq->event_idx)
        return vq_enable_cb(vq);
    /* Broken: nothing will ever be pending (as vq_poll says); "poll again"
     * here would spin a caller's reclaim-and-re-arm loop forever. */
    if (READ_ONCE(vq->broken))
        return true;

    START_USE(vq);
    /* Linux's TX threshold: one interrupt per ~3/4 of what is outstanding. */
    uint16_t bufs = (uint16_t)((uint16_t)(vq->avail_idx_shadow - vq->last_used_idx) * 3 / 4);
    vq->avail_flags_shadow &= (uint16_t)~VIRTQ_AVAIL_F_NO_INTERRUPT;
    WRITE_ONCE(*vq->used_event, (uint16_t)(vq->last_used_idx + bufs));
    /* Same store->load race as vq_poll: publish the event before sampling idx. */
    mb();
    bool ok = (uint16_t)(READ_ONCE(vq->used->idx) - vq->last_used_idx) <= bufs;
    END_USE(vq);
    return ok;
}

bool vq_more_used(const struct virtqueue *vq)
{
    /* No START_USE: IRQ-safe. The main loop only moves last_used_idx up to
     * the used idx, so a value read mid-update errs towards "yes". */
    return !READ_ONCE(vq->broken) &&
           READ_ONCE(vq->used->idx) != READ_ONCE(vq->last_used_idx);
}

void *vq_detach_unused_buf(struct virtqueue *vq)
{
    void *token = NULL;

    /* Only after device reset: the device no longer reads the ring, so the
     * avail idx stays as is (§2.7.6 forbids decrementing it anyway). */
    START_USE(vq);
    for (unsigned i = 0; i < vq->num; i++) {
        if (vq->state[i].token) {
            token = vq->state[i].token;
            detach_buf(vq, (uint16_t)i);
            break;
        }
    }
    END_USE(vq);
    return token;
}

bool vq_is_broken(const struct virtqueue *vq) { return READ_ONCE(vq->broken); }
const char *vq_broken_reason(const struct virtqueue *vq) { return vq->broken_reason; }
void vq_mark_broken(struct virtqueue *vq, const char *why) { set_broken(vq, why); }
const struct vq_stats *vq_get_stats(const struct virtqueue *vq) { return &vq->stats; }

unsigned vq_num(const struct virtqueue *vq) { return vq->num; }
uint16_t vq_index(const struct virtqueue *vq) { return vq->index; }
void *vq_notify_ctx(const struct virtqueue *vq) { return vq->notify_ctx; }
uint64_t vq_desc_addr(const struct virtqueue *vq) { return dma_addr(vq->desc); }
uint64_t vq_avail_addr(const struct virtqueue *vq) { return dma_addr(vq->avail); }
uint64_t vq_used_addr(const struct virtqueue *vq) { return dma_addr(vq->used); }
