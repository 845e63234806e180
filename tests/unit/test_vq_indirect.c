/* The virtqueue's large indirect tables (vq_indirect_reserve): a request of
 * up to VQ_INDIRECT_MAX segments takes one ring slot while a table is free,
 * goes direct (and is counted) when none is, and its table comes back when
 * the chain is used or detached. Against the simulated device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/virtio/virtio_ring_reg.h"
#include "drivers/virtio/virtqueue.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"

#define TOK(i) ((void *)(uintptr_t)(0x1000 + (i)))

static uint8_t buf[VQ_INDIRECT_MAX][16];
static struct vq_sg sg[VQ_INDIRECT_MAX];

static struct virtqueue *mk(unsigned num, bool ind, struct sim_device *d)
{
    struct virtqueue *vq = vq_create(1, num, false, ind, sim_notify_cb, d);
    assert_non_null(vq);
    sim_attach(d, vq, false);
    for (unsigned i = 0; i < VQ_INDIRECT_MAX; i++)
        sg[i] = (struct vq_sg){ (uint64_t)(uintptr_t)buf[i], 10 + i };
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

static void test_large_tables_one_slot_then_direct(void **state)
{
    (void)state;
    long dma0 = test_dma_outstanding();
    struct sim_device d;
    struct virtqueue *vq = mk(128, true, &d);
    assert_int_equal(vq_indirect_reserve(vq, 2), 0);
    assert_int_equal(vq_indirect_reserve(vq, 2), -1);       /* once */

    /* Two TSO-sized requests: a ring slot each. */
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(0)), 0);
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(1)), 0);
    assert_int_equal(vq_num_free(vq), 126);
    /* Pool empty: the third goes direct, counted. */
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(2)), 0);
    assert_int_equal(vq_num_free(vq), 126 - VQ_INDIRECT_MAX);
    assert_int_equal(vq_get_stats(vq)->indirect_full, 1);
    /* Small requests still use their head's table. */
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_SMALL, 0, TOK(3)), 0);
    assert_int_equal(vq_num_free(vq), 125 - VQ_INDIRECT_MAX);
    vq_kick(vq);
    assert_int_equal(sim_fetch(&d, 8), 4);
    for (unsigned k = 0; k < 4; k++) {
        const struct sim_chain *c = sim_inflight(&d, k);
        assert_int_equal(c->indirect, k != 2);
        assert_int_equal(c->nseg, k == 3 ? VQ_INDIRECT_SMALL : VQ_INDIRECT_MAX);
        for (unsigned i = 0; i < c->nseg; i++) {
            assert_int_equal(c->seg[i].addr, sg[i].addr);
            assert_int_equal(c->seg[i].len, sg[i].len);
        }
    }
    /* Two tables in use at once are distinct memory. */
    assert_int_not_equal(d.desc[sim_inflight(&d, 0)->head].addr,
                         d.desc[sim_inflight(&d, 1)->head].addr);

    /* Used: the tables come back, the next two requests take them again. */
    sim_complete(&d, 4, 0);
    for (unsigned k = 0; k < 4; k++)
        assert_ptr_equal(vq_get_buf(vq, NULL), TOK(k));
    assert_int_equal(vq_num_free(vq), 128);
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(4)), 0);
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(5)), 0);
    assert_int_equal(vq_num_free(vq), 126);
    assert_int_equal(vq_get_stats(vq)->indirect_full, 1);
    /* Detached after a reset: the tables come back as well. */
    while (vq_detach_unused_buf(vq))
        ;
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(6)), 0);
    assert_int_equal(vq_add_sgs(vq, sg, VQ_INDIRECT_MAX, 0, TOK(7)), 0);
    assert_int_equal(vq_num_free(vq), 126);
    assert_int_equal(vq_get_stats(vq)->indirect_full, 1);
    vq_kick(vq);
    rm(vq, &d);
    assert_int_equal(test_dma_outstanding(), dma0);
}

/* §2.7.5.3.1: no table longer than the ring; and no pool without indirect. */
static void test_large_tables_bounded_by_ring(void **state)
{
    (void)state;
    struct sim_device d;
    struct virtqueue *vq = mk(16, false, &d);
    assert_int_equal(vq_indirect_reserve(vq, 1), -1);
    rm(vq, &d);

    vq = mk(16, true, &d);
    assert_int_equal(vq_indirect_reserve(vq, 17), -1);      /* more than the ring */
    assert_int_equal(vq_indirect_reserve(vq, 1), 0);
    assert_int_equal(vq_add_sgs(vq, sg, 17, 0, TOK(0)), VQ_EINVAL);
    assert_int_equal(vq_add_sgs(vq, sg, 16, 0, TOK(1)), 0);
    assert_int_equal(vq_num_free(vq), 15);
    vq_kick(vq);
    assert_int_equal(sim_fetch(&d, 4), 1);
    assert_true(sim_inflight(&d, 0)->indirect);
    assert_int_equal(sim_inflight(&d, 0)->nseg, 16);
    rm(vq, &d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_tables_one_slot_then_direct),
        cmocka_unit_test(test_large_tables_bounded_by_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
