/* virtio-net receive, the boot-time fill: open posts VNET_RX_FIRST_FILL
 * buffers (a boot needs no more for DHCP and a first request), and
 * virtio_net_rx_fill_all has the refill timer grow the ring to its size in
 * chunks, after which RX runs on the full ring. Fixture: vnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/net/virtio_net.h"
#include "drivers/net/virtio_net_priv.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"
#include "tests/unit/vnet_fixture.h"

static const struct fx_cfg BIG_RING = {
    .rx_num = 256, .tx_num = 32, .event_idx = false, .indirect = false, .mergeable = true,
    .weight = 64,
};

static void test_open_posts_first_fill_only(void **s)
{
    (void)s;
    fx_open(&BIG_RING);
    fx_start();
    assert_int_equal(rx_posted(), VNET_RX_FIRST_FILL);
    assert_false(F->rq->refill_timer.armed);
    check_rx_accounting();
}

/* A ring smaller than the first fill is filled whole at open. */
static void test_small_ring_filled_at_open(void **s)
{
    (void)s;
    fx_open(&DEFAULT_CFG);
    fx_start();
    assert_int_equal(rx_posted(), DEFAULT_CFG.rx_num);
}

/* Before fill_all, the poll refills what it used, up to the first fill. */
static void test_traffic_before_fill_all_keeps_first_fill(void **s)
{
    (void)s;
    fx_open(&BIG_RING);
    fx_start();
    for (unsigned round = 0; round < 3; round++) {
        assert_true(dev_rx_frames(40, 60, 100 * round));
        run_softirqs();
        assert_int_equal(F->nrx, 40 * (round + 1));
        assert_int_equal(rx_posted(), VNET_RX_FIRST_FILL);
    }
    check_rx_accounting();
}

static void test_fill_all_grows_ring_in_chunks_from_timer(void **s)
{
    (void)s;
    fx_open(&BIG_RING);
    fx_start();
    virtio_net_rx_fill_all(&F->vn.dev);
    /* The caller (lwIP's status callback) does no ring work itself. */
    assert_int_equal(rx_posted(), VNET_RX_FIRST_FILL);
    assert_true(F->rq->refill_timer.armed);
    assert_int_equal(timer_last_delay, 0);
    unsigned fires = 0;
    while (F->rq->refill_timer.armed) {
        unsigned before = rx_posted();
        timer_fire(&F->rq->refill_timer);
        fires++;
        assert_true(rx_posted() - before <= VNET_RX_FILL_CHUNK);
        assert_true(fires <= BIG_RING.rx_num / VNET_RX_FILL_CHUNK);
    }
    assert_int_equal(rx_posted(), BIG_RING.rx_num);
    assert_int_equal(fires, (BIG_RING.rx_num - VNET_RX_FIRST_FILL + VNET_RX_FILL_CHUNK - 1) /
                                VNET_RX_FILL_CHUNK);
    /* Then the whole ring is in use: more frames in flight than the first
     * fill held, all delivered, the ring kept full. */
    static uint8_t img[128][2048];
    struct sim_data items[128];
    for (unsigned k = 0; k < 128; k++)
        items[k] = (struct sim_data){ img[k], put_frame(img[k], 1, 60, 1000 + k) };
    assert_true(dev_rx(items, 128));
    run_softirqs();
    assert_int_equal(F->nrx, 128);
    assert_int_equal(rx_posted(), BIG_RING.rx_num);
    check_rx_accounting();
}

/* Out of memory while growing: the timer backs off (retry delay), and the
 * ring still reaches its size once memory is back. */
static void test_fill_all_oom_then_completes(void **s)
{
    (void)s;
    fx_open(&BIG_RING);
    fx_start();
    virtio_net_rx_fill_all(&F->vn.dev);
    test_dma_fail_after(1);
    timer_fire(&F->rq->refill_timer);
    assert_int_equal(rx_posted(), VNET_RX_FIRST_FILL);
    assert_int_equal(F->vn.dev.c.rx_refill_failed, 1);
    /* Fewer than half the ring posted: the retry timer is what is left. */
    assert_true(F->rq->refill_timer.armed);
    assert_int_equal(timer_last_delay, VNET_RX_REFILL_RETRY_NS);
    while (F->rq->refill_timer.armed)
        timer_fire(&F->rq->refill_timer);
    assert_int_equal(rx_posted(), BIG_RING.rx_num);
    check_rx_accounting();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_posts_first_fill_only),
        T(test_small_ring_filled_at_open),
        T(test_traffic_before_fill_all_keeps_first_fill),
        T(test_fill_all_grows_ring_in_chunks_from_timer),
        T(test_fill_all_oom_then_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
