/* Split virtqueue against the simulated device, on the real ring memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drivers/virtio/virtio_ring_reg.h"
#include "drivers/virtio/virtqueue.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"

#define BUFSZ 32

static uint8_t hdr[16];
static uint8_t rxbuf[1024][BUFSZ];

static unsigned rng_state = 12345;
static unsigned rnd(unsigned n) /* deterministic, 0..n-1 */
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) % n;
}

static struct virtqueue *mk(unsigned num, bool ev, bool ind, struct sim_device *d)
{
    struct virtqueue *vq = vq_create(3, num, ev, ind, sim_notify_cb, d);
    assert_non_null(vq);
    sim_attach(d, vq, ev);
    return vq;
}

static void rm(struct virtqueue *vq, struct sim_device *d)
{
    assert_null(d->error);
    while (vq_detach_unused_buf(vq))
        ;
    assert_int_equal(vq_num_free(vq), vq_num(vq));
    vq_destroy(vq);
    sim_detach(d);
}

/* One out (header) + one in (BUFSZ) segment, like a virtio-net RX/TX pair. */
static int add_pair(struct virtqueue *vq, unsigned slot, void *token)
{
    struct vq_sg sg[2] = {
        { (uint64_t)(uintptr_t)hdr, sizeof(hdr) },
        { (uint64_t)(uintptr_t)rxbuf[slot % 1024], BUFSZ },
    };
    return vq_add_sgs(vq, sg, 1, 1, token);
}

static int add_in(struct virtqueue *vq, unsigned slot, void *token)
{
    struct vq_sg sg = { (uint64_t)(uintptr_t)rxbuf[slot % 1024], BUFSZ };
    return vq_add_sgs(vq, &sg, 0, 1, token);
}

#define TOK(i) ((void *)(uintptr_t)((i) + 1))

/* §2.7.7/§2.7.10 arithmetic, including the 16-bit wrap. */
static void test_vring_need_event_table(void **state)
{
    (void)state;
    static const struct { uint16_t ev, new_idx, old; bool want; } t[] = {
        { 0, 1, 0, true },             /* first entry after event 0 */
        { 0, 0, 0, false },            /* nothing published */
        { 5, 5, 3, false },            /* idx reached event, not past it */
        { 5, 6, 3, true },
        { 3, 6, 3, true },             /* event == old */
        { 2, 6, 3, false },            /* event already behind old */
        { 6, 6, 3, false },
        { 0xffff, 0x0000, 0xfffe, true },  /* crosses 0xffff -> 0 */
        { 0xffff, 0xffff, 0xfffe, false },
        { 0xfffe, 0x0002, 0xfffc, true },
        { 0x0000, 0x0001, 0xfffe, true },  /* event just after the wrap */
        { 0x0001, 0x0001, 0xfffe, false },
        { 0x0002, 0x0001, 0xfffe, false }, /* event ahead across the wrap */
        { 0xfffd, 0x0001, 0xfffe, false }, /* event behind across the wrap */
        { 0x7fff, 0x8000, 0x0000, true },  /* large window */
        { 0x1234, 0x1234, 0x1234, false },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (vring_need_event(t[i].ev, t[i].new_idx, t[i].old) != t[i].want)
            fail_msg("row %zu: ev=%#x new=%#x old=%#x", i, t[i].ev, t[i].new_idx, t[i].old);
    }
}

static void test_create_rejects_bad_sizes_and_cleans_up(void **state)
{
    (void)state;
    long base = test_dma_outstanding();
    assert_null(vq_create(0, 0, false, false, sim_notify_cb, NULL));
    assert_null(vq_create(0, 3, false, false, sim_notify_cb, NULL));
    assert_null(vq_create(0, 65536, false, false, sim_notify_cb, NULL));
    assert_null(vq_create(0, 8, false, false, NULL, NULL));
    for (int k = 1; k <= 3; k++) { /* each ring allocation failing (desc, avail, used) */
        test_dma_fail_after(k);
        assert_null(vq_create(0, 8, true, true, sim_notify_cb, NULL));
        assert_int_equal(test_dma_outstanding(), base);
    }
    test_dma_fail_after(0);
    struct virtqueue *vq = vq_create(7, 32768, true, false, sim_notify_cb, NULL);
    assert_non_null(vq);
    /* Device memory is the three rings only: the free list and tokens are
     * private (a device must not be able to redirect them). */
    assert_int_equal(test_dma_outstanding() - base, 3);
    assert_int_equal(vq_num(vq), 32768);
    assert_int_equal(vq_index(vq), 7);
    assert_int_equal(vq_num_free(vq), 32768);
    assert_int_equal(vq_desc_addr(vq) % VIRTQ_DESC_ALIGN, 0);
    assert_int_equal(vq_avail_addr(vq) % VIRTQ_AVAIL_ALIGN, 0);
    assert_int_equal(vq_used_addr(vq) % VIRTQ_USED_ALIGN, 0);
    vq_destroy(vq);
    assert_int_equal(test_dma_outstanding(), base);
}

static void test_roundtrip_token_and_len(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, false, false, &d);
    assert_int_equal(add_pair(vq, 0, TOK(0)), 0);
    assert_int_equal(vq_num_free(vq), 6);
    assert_true(vq_kick(vq));
    assert_int_equal(d.notifications, 1);
    assert_int_equal(sim_fetch(&d, 8), 1);
    const struct sim_chain *c = sim_inflight(&d, 0);
    assert_int_equal(c->nseg, 2);
    assert_int_equal(c->out_len, sizeof(hdr));
    assert_int_equal(c->in_len, BUFSZ);
    assert_false(c->seg[0].write);
    assert_true(c->seg[1].write);
    uint32_t len = 0;
    assert_null(vq_get_buf(vq, &len)); /* nothing used yet */
    sim_complete(&d, 1, 20);
    assert_ptr_equal(vq_get_buf(vq, &len), TOK(0));
    assert_int_equal(len, 20);
    assert_int_equal(rxbuf[0][19], d.fill);
    assert_null(vq_get_buf(vq, &len));
    assert_int_equal(vq_num_free(vq), 8);
    assert_false(vq_kick_prepare(vq)); /* nothing added since the last kick */
    rm(vq, &d);
}

/* Push well over 65536 buffers so both 16-bit indexes wrap, checking FIFO
 * order (or set membership for out-of-order completion), free-list integrity
 * and that an idle device is always notified (no lost kick). */
static void run_wrap(bool ev, bool ind, bool out_of_order)
{
    enum { NUM = 64, TOTAL = 70000 };
    struct sim_device d;
    struct virtqueue *vq = mk(NUM, ev, ind, &d);
    static bool outstanding[TOTAL];
    memset(outstanding, 0, sizeof(outstanding));
    unsigned added = 0, done = 0;

    for (unsigned rounds = 0; done < TOTAL; rounds++) {
        assert_true(rounds < 10 * TOTAL); /* a broken free list must fail, not hang */
        unsigned batch = 1 + rnd(NUM);
        bool device_idle = d.last_avail == d.avail->idx;
        unsigned long before = d.notifications;
        unsigned n = 0;
        while (n < batch && added < TOTAL) {
            int r = (added & 1) ? add_pair(vq, added, TOK(added)) : add_in(vq, added, TOK(added));
            if (r == VQ_ENOSPC)
                break;
            assert_int_equal(r, 0);
            outstanding[added++] = true;
            n++;
        }
        vq_kick(vq);
        if (n && device_idle)
            assert_int_equal(d.notifications, before + 1);
        sim_fetch(&d, 1 + rnd(NUM));
        unsigned k = rnd(d.inflight_count + 1);
        while (k--) {
            if (out_of_order)
                sim_complete_nth(&d, rnd(d.inflight_count), -1);
            else
                sim_complete(&d, 1, -1);
        }
        void *tok;
        uint32_t len;
        while ((tok = vq_get_buf(vq, &len))) {
            unsigned i = (unsigned)((uintptr_t)tok - 1);
            assert_int_equal(len, BUFSZ);
            if (!out_of_order)
                assert_int_equal(i, done);
            assert_true(outstanding[i]);
            outstanding[i] = false;
            done++;
        }
        assert_false(vq_is_broken(vq));
        assert_null(d.error);
    }
    assert_int_equal(d.avail->idx, TOTAL % 65536);
    assert_int_equal(d.used->idx, TOTAL % 65536);
    assert_int_equal(vq_num_free(vq), NUM);
    assert_int_equal(vq_get_stats(vq)->used, TOTAL);
    if (ind)
        assert_int_equal(d.indirect_seen, TOTAL / 2);
    rm(vq, &d);
}

static void test_wrap_16bit_indexes_flags(void **s) { (void)s; run_wrap(false, false, false); }
static void test_wrap_16bit_indexes_event_idx(void **s) { (void)s; run_wrap(true, false, false); }
static void test_wrap_16bit_indexes_indirect_out_of_order(void **s) { (void)s; run_wrap(true, true, true); }
static void test_wrap_16bit_indexes_direct_out_of_order(void **s) { (void)s; run_wrap(false, false, true); }

/* Move both indexes of an idle queue to `target` by cycling buffers. */
static void advance_to(struct virtqueue *vq, struct sim_device *d, uint16_t target)
{
    while (d->avail->idx != target) {
        assert_int_equal(add_in(vq, 0, TOK(0)), 0);
        vq_kick(vq);
        sim_fetch(d, 1);
        sim_complete(d, 1, 0);
        assert_non_null(vq_get_buf(vq, NULL));
    }
}

static void test_no_notify_flag_suppresses_kick(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, false, false, &d);
    sim_set_want_notify(&d, false);
    assert_int_equal(d.used->flags, VIRTQ_USED_F_NO_NOTIFY);
    assert_int_equal(add_in(vq, 0, TOK(0)), 0);
    assert_false(vq_kick(vq));
    assert_int_equal(d.notifications, 0);
    assert_int_equal(vq_get_stats(vq)->notify_suppressed, 1);
    assert_int_equal(d.avail->idx, 1); /* published all the same: a polling device sees it */
    sim_set_want_notify(&d, true);
    assert_int_equal(add_in(vq, 1, TOK(1)), 0);
    assert_true(vq_kick(vq));
    assert_int_equal(d.notifications, 1);
    rm(vq, &d);
}

static void test_avail_event_suppresses_kick_across_wrap(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, true, false, &d);
    advance_to(vq, &d, 0xfffc);
    unsigned long base = d.notifications;

    /* Device wants a kick once the driver writes slot 0xffff: idx 0xfffc ->
     * 0xfffe does not reach it, -> 0x0001 crosses it through the wrap. */
    sim_set_avail_event(&d, 0xffff);
    assert_int_equal(add_in(vq, 0, TOK(0)), 0);
    assert_int_equal(add_in(vq, 1, TOK(1)), 0);
    assert_false(vq_kick(vq));
    assert_int_equal(add_in(vq, 2, TOK(2)), 0);
    assert_int_equal(add_in(vq, 3, TOK(3)), 0);
    assert_int_equal(add_in(vq, 4, TOK(4)), 0);
    assert_int_equal(d.avail->idx, 0x0001);
    assert_true(vq_kick(vq));
    assert_int_equal(d.notifications, base + 1);

    /* Event ahead of the new window after the wrap: no kick until reached. */
    sim_set_avail_event(&d, 0x0002);
    assert_int_equal(add_in(vq, 5, TOK(5)), 0);
    assert_false(vq_kick(vq));
    assert_int_equal(add_in(vq, 6, TOK(6)), 0);
    assert_int_equal(add_in(vq, 7, TOK(7)), 0);
    assert_true(vq_kick(vq));
    assert_int_equal(d.notifications, base + 2);
    rm(vq, &d);
}

static void test_no_interrupt_flag_suppresses_interrupt(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, false, false, &d);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(add_in(vq, i, TOK(i)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    assert_true(sim_complete(&d, 1, 1)); /* callbacks on by default */
    vq_disable_cb(vq);
    assert_int_equal(d.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_false(sim_complete(&d, 1, 1));
    assert_false(vq_enable_cb(vq)); /* two used, unread: caller must poll */
    assert_int_equal(d.avail->flags, 0);
    assert_non_null(vq_get_buf(vq, NULL));
    assert_non_null(vq_get_buf(vq, NULL));
    assert_true(vq_enable_cb(vq));
    assert_true(sim_complete(&d, 1, 1));
    rm(vq, &d);
}

static void test_used_event_suppresses_interrupt(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, true, false, &d);
    uint16_t *used_event = virtq_used_event(d.avail, 8);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(add_in(vq, i, TOK(i)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);

    vq_disable_cb(vq);
    assert_int_equal(d.avail->flags, 0); /* §2.7.7: flags stay 0 with EVENT_IDX */
    assert_false(sim_complete(&d, 1, 1));
    assert_false(sim_complete(&d, 1, 1));
    /* Polling with callbacks off leaves used_event alone. */
    uint16_t ev = *used_event;
    assert_non_null(vq_get_buf(vq, NULL));
    assert_int_equal(*used_event, ev);
    assert_non_null(vq_get_buf(vq, NULL));

    unsigned opaque = vq_enable_cb_prepare(vq);
    assert_int_equal(*used_event, 2);
    assert_false(vq_poll(vq, opaque));
    assert_true(sim_complete(&d, 1, 1)); /* writes slot 2 == used_event */
    assert_true(vq_poll(vq, opaque));
    /* With callbacks on, get_buf moves used_event along (Linux). */
    assert_non_null(vq_get_buf(vq, NULL));
    assert_int_equal(*used_event, 3);
    assert_true(sim_complete(&d, 1, 1));
    /* A batch of two notifies once. */
    assert_non_null(vq_get_buf(vq, NULL));
    unsigned long irqs = d.interrupts;
    assert_true(sim_complete(&d, 2, 1));
    assert_int_equal(d.interrupts, irqs + 1);
    rm(vq, &d);
}

static void test_enable_cb_delayed_three_quarters(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, true, false, &d);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(add_pair(vq, i, TOK(i)), 0); /* direct: 2 descs each */
    assert_int_equal(vq_num_free(vq), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    vq_disable_cb(vq);
    assert_true(vq_enable_cb_delayed(vq)); /* 4 outstanding: event at +3 */
    assert_false(sim_complete(&d, 1, 1));
    assert_false(sim_complete(&d, 1, 1));
    assert_false(sim_complete(&d, 1, 1));
    assert_true(sim_complete(&d, 1, 1));
    /* More than 3/4 already used: tells the caller to reclaim now. */
    for (unsigned i = 0; i < 4; i++)
        assert_non_null(vq_get_buf(vq, NULL));
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(add_pair(vq, i, TOK(i)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    vq_disable_cb(vq);
    sim_complete(&d, 4, 1);
    assert_false(vq_enable_cb_delayed(vq));
    rm(vq, &d);
}

/* nanos#41/#912: a full ring is an error return, never a crash or a block. */
static void test_free_list_exhaustion_enospc_and_recovery(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, false, false, &d);
    struct vq_sg three[3] = {
        { (uint64_t)(uintptr_t)hdr, 4 },
        { (uint64_t)(uintptr_t)rxbuf[0], 8 },
        { (uint64_t)(uintptr_t)rxbuf[1], 8 },
    };
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(add_in(vq, i, TOK(i)), 0);
    /* Two free, three needed: refused and nothing changed. */
    assert_int_equal(vq_add_sgs(vq, three, 1, 2, TOK(100)), VQ_ENOSPC);
    assert_int_equal(vq_num_free(vq), 2);
    assert_int_equal(d.avail->idx, 6);
    assert_int_equal(add_in(vq, 6, TOK(6)), 0);
    assert_int_equal(add_in(vq, 7, TOK(7)), 0);
    assert_int_equal(vq_num_free(vq), 0);
    assert_int_equal(add_in(vq, 8, TOK(8)), VQ_ENOSPC);
    assert_int_equal(add_in(vq, 8, TOK(8)), VQ_ENOSPC);
    /* Never fits in this ring: a different error so callers don't wait. */
    struct vq_sg nine[9];
    for (unsigned i = 0; i < 9; i++)
        nine[i] = (struct vq_sg){ (uint64_t)(uintptr_t)rxbuf[i], 4 };
    assert_int_equal(vq_add_sgs(vq, nine, 0, 9, TOK(9)), VQ_EINVAL);
    assert_int_equal(vq_add_sgs(vq, three, 1, 2, NULL), VQ_EINVAL);
    assert_int_equal(vq_add_sgs(vq, three, 0, 0, TOK(1)), VQ_EINVAL);

    vq_kick(vq);
    sim_fetch(&d, 8);
    sim_complete_nth(&d, 3, -1);
    sim_complete_nth(&d, 0, -1);
    sim_complete_nth(&d, 4, -1);
    assert_ptr_equal(vq_get_buf(vq, NULL), TOK(3));
    assert_ptr_equal(vq_get_buf(vq, NULL), TOK(0));
    assert_ptr_equal(vq_get_buf(vq, NULL), TOK(6));
    assert_int_equal(vq_num_free(vq), 3);
    assert_int_equal(vq_add_sgs(vq, three, 1, 2, TOK(100)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    const struct sim_chain *c = sim_inflight(&d, d.inflight_count - 1);
    assert_int_equal(c->nseg, 3);
    assert_int_equal(c->out_len, 4);
    assert_int_equal(c->in_len, 16);
    rm(vq, &d);
}

static void test_indirect_descriptors(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(16, false, true, &d);
    struct vq_sg sg[VQ_INDIRECT_SMALL + 1];
    for (unsigned i = 0; i <= VQ_INDIRECT_SMALL; i++)
        sg[i] = (struct vq_sg){ (uint64_t)(uintptr_t)rxbuf[i], 10 + i };

    /* Header + 2 writable segments: one ring slot. */
    assert_int_equal(vq_add_sgs(vq, sg, 1, 2, TOK(0)), 0);
    assert_int_equal(vq_num_free(vq), 15);
    assert_int_equal(d.desc[0].flags, VIRTQ_DESC_F_INDIRECT);
    assert_int_equal(d.desc[0].len, 3 * sizeof(struct virtq_desc));
    /* A single segment stays direct. */
    assert_int_equal(vq_add_sgs(vq, sg, 0, 1, TOK(1)), 0);
    assert_int_equal(vq_num_free(vq), 14);
    /* More than a table holds: direct chain. */
    assert_int_equal(vq_add_sgs(vq, sg, 2, VQ_INDIRECT_SMALL - 1, TOK(2)), 0);
    assert_int_equal(vq_num_free(vq), 14 - (VQ_INDIRECT_SMALL + 1));
    vq_kick(vq);
    assert_int_equal(sim_fetch(&d, 16), 3);

    const struct sim_chain *c = sim_inflight(&d, 0);
    assert_true(c->indirect);
    assert_int_equal(c->nseg, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(c->seg[i].addr, sg[i].addr);
        assert_int_equal(c->seg[i].len, sg[i].len);
        assert_int_equal(c->seg[i].write, i >= 1);
    }
    assert_false(sim_inflight(&d, 1)->indirect);
    assert_false(sim_inflight(&d, 2)->indirect);
    assert_int_equal(sim_inflight(&d, 2)->nseg, VQ_INDIRECT_SMALL + 1);
    assert_int_equal(vq_get_stats(vq)->indirect, 1);

    sim_complete(&d, 3, -1);
    uint32_t len;
    assert_ptr_equal(vq_get_buf(vq, &len), TOK(0));
    assert_int_equal(len, 11 + 12);
    assert_ptr_equal(vq_get_buf(vq, &len), TOK(1));
    assert_ptr_equal(vq_get_buf(vq, &len), TOK(2));
    assert_int_equal(vq_num_free(vq), 16);
    /* The same head reuses its table. */
    assert_int_equal(vq_add_sgs(vq, sg + 1, 2, 0, TOK(3)), 0);
    vq_kick(vq);
    sim_fetch(&d, 16);
    assert_true(sim_inflight(&d, 0)->indirect);
    assert_int_equal(sim_inflight(&d, 0)->seg[0].addr, sg[1].addr);
    rm(vq, &d);
}

static void test_indirect_pool_alloc_failure_falls_back_to_direct(void **state)
{
    (void)state;
    struct sim_device d;
    test_dma_fail_after(4); /* desc, avail, used, then the pool */
    struct virtqueue *vq = mk(8, false, true, &d);
    struct vq_sg sg[2] = { { (uint64_t)(uintptr_t)hdr, 4 }, { (uint64_t)(uintptr_t)rxbuf[0], 8 } };
    assert_int_equal(vq_add_sgs(vq, sg, 1, 1, TOK(0)), 0);
    assert_int_equal(vq_num_free(vq), 6);
    vq_kick(vq);
    sim_fetch(&d, 8);
    assert_false(sim_inflight(&d, 0)->indirect);
    rm(vq, &d);
}

static int warn_calls;
static const char *warn_why;
static void count_warn(struct virtqueue *vq, const char *why)
{
    (void)vq;
    warn_calls++;
    warn_why = why;
}

/* Two buffers in flight (heads 0 and 2: direct 2-descriptor chains), then a
 * bad used element. The queue must go broken, say so once, stop handing out
 * buffers and refuse new ones, yet still let teardown reclaim the tokens. */
static void check_corrupt(uint32_t id, uint32_t len, bool complete_first, const char *expect)
{
    struct sim_device d;
    struct virtqueue *vq = mk(8, true, false, &d);
    warn_calls = 0;
    vq_warn_hook = count_warn;
    assert_int_equal(add_pair(vq, 0, TOK(0)), 0);
    assert_int_equal(add_pair(vq, 1, TOK(1)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    if (complete_first) {
        sim_complete(&d, 1, -1);
        assert_ptr_equal(vq_get_buf(vq, NULL), TOK(0));
    }
    sim_inject_used(&d, id, len);
    assert_null(vq_get_buf(vq, NULL));
    assert_true(vq_is_broken(vq));
    assert_string_equal(vq_broken_reason(vq), expect);
    assert_int_equal(warn_calls, 1);
    assert_int_equal(vq_get_stats(vq)->device_errors, 1);
    /* Sticky, quiet. */
    sim_complete(&d, 1, -1);
    assert_null(vq_get_buf(vq, NULL));
    assert_int_equal(add_in(vq, 5, TOK(5)), VQ_EIO);
    assert_false(vq_poll(vq, 0));
    assert_false(vq_notify(vq));
    /* Nothing pending on a broken queue, whatever its used idx says: a
     * reclaim-then-re-arm loop ends (found by tests/fuzz: tx_clean spun). */
    assert_true(vq_enable_cb(vq));
    assert_true(vq_enable_cb_delayed(vq));
    assert_int_equal(warn_calls, 1);
    unsigned n = 0;
    while (vq_detach_unused_buf(vq))
        n++;
    assert_int_equal(n, complete_first ? 1 : 2);
    vq_warn_hook = NULL;
    rm(vq, &d);
}

static void test_corrupt_used_id_out_of_range(void **s) { (void)s; check_corrupt(8, 0, false, "used id out of range"); }
static void test_corrupt_used_id_not_a_head(void **s) { (void)s; check_corrupt(1, 0, false, "used id not a buffer in flight"); }
static void test_corrupt_used_id_completed_twice(void **s) { (void)s; check_corrupt(0, 0, true, "used id not a buffer in flight"); }
static void test_corrupt_used_len_too_large(void **s) { (void)s; check_corrupt(2, BUFSZ + 1, false, "used len exceeds the buffer's writable length"); }

static void test_corrupt_used_idx_jump(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, false, false, &d);
    assert_int_equal(add_in(vq, 0, TOK(0)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    sim_complete(&d, 1, -1);
    d.used->idx = 9; /* claims 9 used from an 8-entry queue */
    assert_null(vq_get_buf(vq, NULL));
    assert_true(vq_is_broken(vq));
    rm(vq, &d);
}

#ifndef NDEBUG
static struct virtqueue *reenter_vq;
static void reenter_from_hook(struct virtqueue *vq, const char *why)
{
    (void)why;
    (void)vq;
    vq_get_buf(reenter_vq, NULL); /* e.g. an IRQ handler polling the ring */
}

static void test_debug_reentry_detected(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(8, false, false, &d);
    reenter_vq = vq;
    vq_warn_hook = reenter_from_hook;
    assert_int_equal(add_in(vq, 0, TOK(0)), 0);
    vq_kick(vq);
    sim_fetch(&d, 8);
    sim_inject_used(&d, 7, 0); /* breaks the queue inside vq_get_buf -> hook */
    assert_null(vq_get_buf(vq, NULL));
    assert_int_equal(vq_get_stats(vq)->reentered, 1);
    vq_warn_hook = NULL;
    /* The guard resets: a normal call afterwards is not flagged. */
    assert_null(vq_get_buf(vq, NULL));
    assert_int_equal(vq_get_stats(vq)->reentered, 1);
    rm(vq, &d);
}
#endif

static void test_detach_unused_returns_every_token(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(16, false, true, &d);
    bool seen[5] = { false };
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal((i & 1) ? add_pair(vq, i, TOK(i)) : add_in(vq, i, TOK(i)), 0);
    void *tok;
    unsigned n = 0;
    while ((tok = vq_detach_unused_buf(vq))) {
        unsigned i = (unsigned)((uintptr_t)tok - 1);
        assert_true(i < 5 && !seen[i]);
        seen[i] = true;
        n++;
    }
    assert_int_equal(n, 5);
    assert_int_equal(vq_num_free(vq), 16);
    rm(vq, &d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vring_need_event_table),
        cmocka_unit_test(test_create_rejects_bad_sizes_and_cleans_up),
        cmocka_unit_test(test_roundtrip_token_and_len),
        cmocka_unit_test(test_wrap_16bit_indexes_flags),
        cmocka_unit_test(test_wrap_16bit_indexes_event_idx),
        cmocka_unit_test(test_wrap_16bit_indexes_indirect_out_of_order),
        cmocka_unit_test(test_wrap_16bit_indexes_direct_out_of_order),
        cmocka_unit_test(test_no_notify_flag_suppresses_kick),
        cmocka_unit_test(test_avail_event_suppresses_kick_across_wrap),
        cmocka_unit_test(test_no_interrupt_flag_suppresses_interrupt),
        cmocka_unit_test(test_used_event_suppresses_interrupt),
        cmocka_unit_test(test_enable_cb_delayed_three_quarters),
        cmocka_unit_test(test_free_list_exhaustion_enospc_and_recovery),
        cmocka_unit_test(test_indirect_descriptors),
        cmocka_unit_test(test_indirect_pool_alloc_failure_falls_back_to_direct),
        cmocka_unit_test(test_corrupt_used_id_out_of_range),
        cmocka_unit_test(test_corrupt_used_id_not_a_head),
        cmocka_unit_test(test_corrupt_used_id_completed_twice),
        cmocka_unit_test(test_corrupt_used_len_too_large),
        cmocka_unit_test(test_corrupt_used_idx_jump),
#ifndef NDEBUG
        cmocka_unit_test(test_debug_reentry_detected),
#endif
        cmocka_unit_test(test_detach_unused_returns_every_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
