/* A hostile virtio-net device against the TX path (issue 12 item 4): in a
 * confidential VM it can write every DMA page, and any used element. The
 * driver's bookkeeping is out of its reach, and a violation breaks the
 * queue and is counted where /stats.json reads it. Fixture: vnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "drivers/net/virtio_net_priv.h"
#include "tests/unit/test_support.h"
#include "tests/unit/vnet_fixture.h"

static unsigned tx_free_slots(void)
{
    unsigned n = 0;
    for (struct vnet_tx_slot *s = F->tq->free_slots; s; s = s->next_free)
        n++;
    return n;
}

/* Issue 12 item 4: in a confidential VM the device can write every DMA
 * page, including the headers it should only read. A device scribbling
 * over the whole header block while frames are in flight changes nothing
 * the driver relies on: each tx_done gets its own token once, every slot
 * comes back, and the queue keeps sending. */
static void test_tx_device_scribbles_headers(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned k = 0; k < 8; k++)
            assert_int_equal(xmit_one(k, 64), NETDEV_TX_OK);
        vnet_xmit_flush(&F->vn.dev);
        assert_int_equal(sim_fetch(&F->txd, 32), 8);
        memset(F->tq->hdrs, 0xa5, vq_num(F->tq->vq) * sizeof(*F->tq->hdrs));
        sim_complete(&F->txd, 8, 0);
        assert_int_equal(vnet_tx_reclaim(F->tq), 8);
        assert_int_equal(F->ndone, 8 * (round + 1));
        for (unsigned k = 0; k < 8; k++)
            assert_ptr_equal(F->done[8 * round + k], (void *)(uintptr_t)(k + 1));
        assert_int_equal(tx_free_slots(), 32);
        run_softirqs();
    }
    assert_int_equal(F->ndone, 24);
}

/* Issue 12 item 4: a used element no honest device writes (an id that
 * heads no chain in flight, or any len: TX chains have nothing writable)
 * breaks the queue instead of freeing a wrong slot, and is counted where
 * /stats.json reads it (netdev_device_errors). Once broken the ring is left
 * alone: no token comes back, nothing more is posted or counted. */
static void tx_hostile_used(bool bad_id)
{
    fx_open(&DEFAULT_CFG);
    fx_start();
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(xmit_one(k, 64), NETDEV_TX_OK);
    vnet_xmit_flush(&F->vn.dev);
    assert_int_equal(sim_fetch(&F->txd, 32), 4);
    assert_int_equal(netdev_device_errors(&F->vn.dev), 0);
    uint16_t head = sim_inflight(&F->txd, 0)->head;
    uint16_t free_id = sim_inflight(&F->txd, 1)->head + 1;  /* frame 1's 2nd descriptor */
    sim_inject_used(&F->txd, bad_id ? free_id : head, bad_id ? 0 : 1);
    F->tx_broken_ok = true;
    assert_int_equal(vnet_tx_reclaim(F->tq), 0);
    assert_true(vq_is_broken(F->tq->vq));
    assert_int_equal(F->ndone, 0);
    assert_int_equal(netdev_queue_device_errors(&F->vn.dev, 0), 1);
    assert_int_equal(netdev_device_errors(&F->vn.dev), 1);
    assert_int_equal(xmit_one(5, 64), NETDEV_TX_DROPPED);
    run_softirqs();
    assert_int_equal(vnet_tx_reclaim(F->tq), 0);
    assert_int_equal(netdev_device_errors(&F->vn.dev), 1);
    assert_int_equal(nlog[LOG_ERROR], 0);
}

static void test_tx_hostile_used_id_counted_and_breaks(void **s)
{
    (void)s;
    tx_hostile_used(true);
}

static void test_tx_hostile_used_len_counted_and_breaks(void **s)
{
    (void)s;
    tx_hostile_used(false);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_tx_device_scribbles_headers),
        T(test_tx_hostile_used_id_counted_and_breaks),
        T(test_tx_hostile_used_len_counted_and_breaks),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
