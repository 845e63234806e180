/* virtio-net receive under NAPI: a poll over its weight, and the races
 * between the device, its interrupt and napi_complete_done (Linux
 * virtqueue_napi_complete). Each on both notification schemes: ring flags
 * and VIRTIO_F_EVENT_IDX. Fixture: vnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/net/virtio_net_priv.h"
#include "kernel/napi.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/softirq.h"
#include "tests/unit/test_support.h"
#include "tests/unit/vnet_fixture.h"

static void open_started(bool event_idx, int weight)
{
    struct fx_cfg c = DEFAULT_CFG;
    c.event_idx = event_idx;
    c.weight = weight;
    fx_open(&c);
    fx_start();
}

static void poll_over_weight(bool event_idx)
{
    open_started(event_idx, 4);
    /* As the interrupt handler leaves it; then we are net_rx_action. */
    vq_disable_cb(F->rq->vq);
    assert_false(dev_rx_frames(6, 60, 0));
    assert_true(napi_schedule_prep(&F->rq->napi));

    assert_int_equal(vnet_rx_poll(&F->rq->napi, 4), 4);
    assert_int_equal(F->nrx, 4);
    assert_int_equal(F->rq->napi.state, NAPI_STATE_SCHED); /* not completed */
    assert_int_equal(napi_stats.completes, 0);
    assert_false(rx_cb_enabled());
    assert_false(dev_rx_frames(1, 60, 6)); /* still masked: no interrupt */

    assert_int_equal(vnet_rx_poll(&F->rq->napi, 4), 3);
    assert_int_equal(F->nrx, 7);
    assert_int_equal(F->rq->napi.state, 0);
    assert_int_equal(napi_stats.completes, 1);
    assert_int_equal(napi_stats.rescheduled, 0);
    assert_true(rx_cb_enabled());
    assert_int_equal(softirq_pending(), 0);

    /* Re-armed: the next frame interrupts, and is delivered. */
    assert_true(dev_rx_frames(1, 60, 7));
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    run_softirqs();
    assert_int_equal(F->nrx, 8);
    for (unsigned i = 0; i < 8; i++)
        check_frame(&F->rx[i], 60, i);
    assert_true(rx_cb_enabled());
}

BOTH_RING_SCHEMES(test_napi_poll_over_weight_stays_scheduled, poll_over_weight)

static unsigned race_at;

/* napi_complete_done's irq_save, right after vq_enable_cb_prepare: the
 * device completes a frame and raises its interrupt, which the CPU takes
 * when napi_complete_done sets IF again, i.e. after SCHED was cleared. */
static void race_complete_inside_complete_done(void)
{
    assert_true(rx_cb_enabled()); /* enable_cb_prepare has run */
    assert_true(dev_rx_frames(1, 60, 50));
    assert_true(F->rx_irq_pending);
}

static void race_arm_at_complete_done(unsigned nrx)
{
    if (nrx == race_at)
        F->on_irq_save = race_complete_inside_complete_done;
}

static void recheck_race_after_prepare(bool event_idx)
{
    open_started(event_idx, DEFAULT_CFG.weight);
    race_at = 3;
    F->after_rx = race_arm_at_complete_done;
    assert_true(dev_rx_frames(3, 60, 0));
    run_softirqs();
    assert_null(F->on_irq_save);
    assert_int_equal(F->nrx, 4); /* delivered, not stranded */
    check_frame(&F->rx[3], 60, 50);
    assert_int_equal(napi_stats.rescheduled, 1);
    assert_int_equal(napi_stats.missed, 0);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 2);
    assert_int_equal(F->rq->napi.polls, 2);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
}

BOTH_RING_SCHEMES(test_napi_recheck_race_after_enable_cb_prepare, recheck_race_after_prepare)

/* ixy#21: the device completes a frame after the poll's last get_buf while
 * the queue is still masked (here: on the refill kick), so it raises no
 * interrupt; only the driver's re-check after re-enabling finds it. */
static void race_complete_on_refill_kick(void)
{
    assert_false(rx_cb_enabled());
    assert_false(dev_rx_frames(1, 60, 60)); /* masked: no interrupt */
}

static void race_arm_at_refill_kick(unsigned nrx)
{
    if (nrx == race_at)
        F->on_rx_kick = race_complete_on_refill_kick;
}

static void recheck_race_ixy21(bool event_idx)
{
    open_started(event_idx, DEFAULT_CFG.weight);
    race_at = 9; /* 9 free slots > 16 / 2: the poll refills and kicks */
    F->after_rx = race_arm_at_refill_kick;
    assert_true(dev_rx_frames(9, 60, 0));
    run_softirqs();
    assert_null(F->on_rx_kick);
    assert_int_equal(F->nrx, 10);
    check_frame(&F->rx[9], 60, 60);
    assert_int_equal(napi_stats.rescheduled, 1);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
}

BOTH_RING_SCHEMES(test_napi_recheck_race_ixy21_not_stranded, recheck_race_ixy21)

/* The interrupt is taken just before napi_complete_done's cli: the entry is
 * MISSED, stays scheduled and is polled again, and the driver masks the
 * queue again meanwhile, so the device does not interrupt a queue that is
 * already being polled. */
static void missed_irq_before_cli(void)
{
    assert_true(rx_cb_enabled());
    test_irq_set(true);                    /* IF was still set a moment ago */
    assert_true(dev_rx_frames(1, 60, 50)); /* taken at once */
    test_irq_set(false);
}

static void missed_arm(unsigned nrx)
{
    if (nrx == race_at) {
        F->on_irq_save = missed_irq_before_cli;
    } else if (nrx == race_at + 1) {
        /* In the repoll: masked again. */
        assert_false(rx_cb_enabled());
        assert_false(dev_rx_frames(1, 60, 51));
    }
}

static void missed_completion(bool event_idx)
{
    open_started(event_idx, DEFAULT_CFG.weight);
    race_at = 3;
    F->after_rx = missed_arm;
    assert_true(dev_rx_frames(3, 60, 0));
    run_softirqs();
    assert_null(F->on_irq_save);
    assert_int_equal(F->nrx, 5);
    check_frame(&F->rx[3], 60, 50);
    check_frame(&F->rx[4], 60, 51);
    assert_int_equal(napi_stats.missed, 1);
    assert_int_equal(napi_stats.rescheduled, 0);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 2);
    assert_int_equal(F->rq->napi.state, 0);
    assert_true(rx_cb_enabled());
}

BOTH_RING_SCHEMES(test_napi_missed_completion_keeps_queue_masked, missed_completion)

/* ---- deferral (napi.defer_hard_irqs / napi.defer_timeout_us) ---- */

static void open_deferring(bool event_idx, int defer, uint32_t timeout_us)
{
    open_started(event_idx, DEFAULT_CFG.weight);
    napi_config.defer_hard_irqs = defer;
    napi_config.defer_timeout_us = timeout_us;
}

/* The ring words the driver writes to mask or re-arm. */
static uint32_t rx_notify_words(void)
{
    return (uint32_t)F->rxd.avail->flags << 16 | *virtq_used_event(F->rxd.avail, F->rxd.num);
}

/* What the deferral timer does when it expires (ktimers_run), then the
 * NET_RX softirq it raised. */
static void fire_defer_timer(void)
{
    timer_fire(&F->rq->napi.defer_timer);
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);
    run_softirqs();
}

/* A poll with work defers: masked, timer armed; a frame arriving meanwhile
 * raises no interrupt and the timer's poll delivers it (resetting the
 * countdown); after defer_hard_irqs empty polls in a row the queue is
 * re-armed and the next frame interrupts. */
static void defer_cycle(bool event_idx)
{
    open_deferring(event_idx, 2, 20);
    assert_true(dev_rx_frames(3, 60, 0));
    run_softirqs();
    assert_int_equal(F->nrx, 3);
    assert_int_equal(napi_stats.deferred, 1);
    assert_int_equal(F->rq->napi.state, 0);
    assert_false(rx_cb_enabled());
    assert_true(F->rq->napi.defer_timer.armed);
    assert_int_equal(timer_last_delay, 20000);
    assert_int_equal(F->rq->napi.defer_count, 1);

    assert_false(dev_rx_frames(1, 60, 3)); /* masked: no interrupt */
    uint32_t words = rx_notify_words();
    fire_defer_timer();
    assert_int_equal(F->nrx, 4);
    check_frame(&F->rx[3], 60, 3);
    assert_int_equal(F->rq->napi.defer_count, 1); /* work reset it to 2, then 1 */
    assert_int_equal(napi_stats.deferred, 2);
    assert_false(rx_cb_enabled());
    /* Asked before vq_enable_cb_prepare: nothing written to re-arm/re-mask. */
    assert_int_equal(rx_notify_words(), words);

    fire_defer_timer(); /* empty: 1 -> 0, still deferred */
    assert_int_equal(napi_stats.deferred, 3);
    assert_false(rx_cb_enabled());
    assert_true(F->rq->napi.defer_timer.armed);
    fire_defer_timer(); /* empty with the countdown at 0: completes as usual */
    assert_int_equal(napi_stats.deferred, 3);
    assert_true(rx_cb_enabled());
    assert_false(F->rq->napi.defer_timer.armed);
    assert_int_equal(F->rq->napi.polls, 4);
    assert_int_equal(napi_stats.completes, 4);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);

    assert_true(dev_rx_frames(1, 60, 4)); /* re-armed: interrupts */
    run_softirqs();
    assert_int_equal(F->nrx, 5);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 2);
    assert_int_equal(napi_stats.deferred, 4); /* and defers again */
    F->rq->napi.defer_count = 0;
    fire_defer_timer();
    assert_true(rx_cb_enabled());
}

BOTH_RING_SCHEMES(test_napi_defer_masks_and_timer_polls, defer_cycle)

static bool land_in_flush;

/* dev->tx_flush, run by the poll after its last get_buf and before it
 * completes: the device completes a frame while the queue is masked. */
static void land_frame_before_rearm(struct netdev *dev)
{
    (void)dev;
    if (!land_in_flush)
        return;
    land_in_flush = false;
    assert_false(rx_cb_enabled());
    assert_false(dev_rx_frames(1, 60, 70)); /* masked: no interrupt */
}

/* The poll that ends the deferral re-arms and re-checks exactly as a plain
 * completion: a frame landing between its last get_buf and the re-arm is
 * delivered, not stranded until the next interrupt (ixy#21). */
static void defer_end_recheck(bool event_idx)
{
    open_deferring(event_idx, 1, 20);
    F->vn.dev.tx_flush = land_frame_before_rearm;
    assert_true(dev_rx_frames(2, 60, 0));
    run_softirqs();
    assert_int_equal(napi_stats.deferred, 1);
    assert_int_equal(F->rq->napi.defer_count, 0);
    land_in_flush = true;
    fire_defer_timer();
    assert_false(land_in_flush);
    assert_int_equal(F->nrx, 3);
    check_frame(&F->rx[2], 60, 70);
    assert_int_equal(napi_stats.rescheduled, 1);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 1);
    /* The reschedule's poll had work: deferred again, the timer finishes. */
    assert_int_equal(napi_stats.deferred, 2);
    fire_defer_timer();
    assert_true(rx_cb_enabled());
    assert_int_equal(F->rq->napi.state, 0);
    F->vn.dev.tx_flush = NULL;
}

BOTH_RING_SCHEMES(test_napi_defer_end_recheck_not_stranded, defer_end_recheck)

/* defer_hard_irqs=0 or defer_timeout_us=0: today's completion, re-armed
 * after every poll, no timer. */
static void defer_off(bool event_idx, int defer, uint32_t timeout_us)
{
    open_deferring(event_idx, defer, timeout_us);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(dev_rx_frames(2, 60, 2 * i));
        run_softirqs();
        assert_true(rx_cb_enabled());
    }
    assert_int_equal(F->nrx, 6);
    assert_int_equal(F->vn.dev.q[0].irq_rx, 3);
    assert_int_equal(napi_stats.deferred, 0);
    assert_int_equal(napi_stats.completes, 3);
    assert_false(F->rq->napi.defer_timer.armed);
    assert_int_equal(timer_arms, 0);
}

static void defer_zero_count(bool event_idx) { defer_off(event_idx, 0, 20); }
static void defer_zero_timeout(bool event_idx) { defer_off(event_idx, 2, 0); }

BOTH_RING_SCHEMES(test_napi_defer_hard_irqs_0_as_before, defer_zero_count)
BOTH_RING_SCHEMES(test_napi_defer_timeout_0_as_before, defer_zero_timeout)

/* net.mode=irq: one interrupt per packet by definition, never deferred. */
static void irq_mode_never_defers(bool event_idx)
{
    open_deferring(event_idx, 2, 20);
    F->vn.mode = NET_MODE_IRQ;
    F->rq->irq_vector = -1; /* no vector to re-raise: the poll takes what is there */
    assert_true(dev_rx_frames(2, 60, 0));
    run_softirqs();
    assert_int_equal(F->nrx, 2);
    assert_int_equal(napi_stats.deferred, 0);
    assert_false(F->rq->napi.defer_timer.armed);
    assert_true(rx_cb_enabled());
    assert_int_equal(F->rq->napi.state, 0);
}

BOTH_RING_SCHEMES(test_napi_irq_mode_never_defers, irq_mode_never_defers)

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_napi_poll_over_weight_stays_scheduled_flags),
        T(test_napi_poll_over_weight_stays_scheduled_event_idx),
        T(test_napi_recheck_race_after_enable_cb_prepare_flags),
        T(test_napi_recheck_race_after_enable_cb_prepare_event_idx),
        T(test_napi_recheck_race_ixy21_not_stranded_flags),
        T(test_napi_recheck_race_ixy21_not_stranded_event_idx),
        T(test_napi_missed_completion_keeps_queue_masked_flags),
        T(test_napi_missed_completion_keeps_queue_masked_event_idx),
        T(test_napi_defer_masks_and_timer_polls_flags),
        T(test_napi_defer_masks_and_timer_polls_event_idx),
        T(test_napi_defer_end_recheck_not_stranded_flags),
        T(test_napi_defer_end_recheck_not_stranded_event_idx),
        T(test_napi_defer_hard_irqs_0_as_before_flags),
        T(test_napi_defer_hard_irqs_0_as_before_event_idx),
        T(test_napi_defer_timeout_0_as_before_flags),
        T(test_napi_defer_timeout_0_as_before_event_idx),
        T(test_napi_irq_mode_never_defers_flags),
        T(test_napi_irq_mode_never_defers_event_idx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
