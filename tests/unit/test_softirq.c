/* Deferred-work pending mask and softirq_run's restart bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernel/irqflags.h"
#include "kernel/softirq.h"
#include "tests/unit/test_support.h"

static char order[64];
static unsigned norder;
static int rx_reraise; /* NET_RX re-raises itself this many more times (-1: for ever) */
static unsigned rx_cost_us; /* each NET_RX run takes this long */
static bool irqs_were_on;

static void note(char c)
{
    if (norder < sizeof(order) - 1)
        order[norder++] = c;
    order[norder] = 0;
    irqs_were_on = test_irq_enabled();
}

static void timer_fn(void) { note('T'); }
static void tx_fn(void) { note('X'); }
static void rx_fn(void)
{
    note('R');
    test_clock_advance_us(rx_cost_us);
    if (rx_reraise) {
        if (rx_reraise > 0)
            rx_reraise--;
        softirq_raise(SOFTIRQ_NET_RX); /* net_rx_action on time_squeeze */
    }
}

static int setup(void **state)
{
    (void)state;
    softirq_register(SOFTIRQ_TIMER, timer_fn);
    softirq_register(SOFTIRQ_NET_TX, tx_fn);
    softirq_register(SOFTIRQ_NET_RX, rx_fn);
    rx_reraise = 0;
    rx_cost_us = 0;
    norder = 0;
    order[0] = 0;
    test_irq_set(true);
    while (softirq_run())
        ;
    return 0;
}

static void test_raise_from_irq_runs_in_main_loop_with_irqs_on(void **state)
{
    (void)state;
    /* An interrupt handler: IF clear. */
    irqflags_t f = irq_save();
    softirq_raise(SOFTIRQ_NET_RX);
    softirq_raise(SOFTIRQ_NET_RX); /* idempotent bit */
    softirq_raise(SOFTIRQ_TIMER);
    irq_restore(f);
    assert_int_equal(softirq_pending(), (1u << SOFTIRQ_NET_RX) | (1u << SOFTIRQ_TIMER));
    assert_false(softirq_run());
    assert_string_equal(order, "TR"); /* low bits first, each once */
    assert_true(irqs_were_on);
    assert_true(test_irq_enabled());
    assert_int_equal(softirq_pending(), 0);
}

static void test_raise_restores_interrupt_state(void **state)
{
    (void)state;
    test_irq_set(false);
    softirq_raise(SOFTIRQ_NET_TX);
    assert_false(test_irq_enabled()); /* didn't enable interrupts inside a handler */
    test_irq_set(true);
    softirq_raise(SOFTIRQ_NET_TX);
    assert_true(test_irq_enabled());
    unsigned long saves = test_irq_save_calls();
    assert_false(softirq_run());
    assert_true(test_irq_save_calls() > saves); /* mask taken with interrupts off */
    assert_string_equal(order, "X");
}

static void test_reraise_runs_next_round(void **state)
{
    (void)state;
    rx_reraise = 3;
    softirq_raise(SOFTIRQ_NET_RX);
    assert_false(softirq_run());
    assert_string_equal(order, "RRRR");
    assert_int_equal(softirq_pending(), 0);
}

static void test_restart_bound_leaves_bit_pending(void **state)
{
    (void)state;
    uint64_t limit = softirq_stats.restart_limit;
    uint64_t runs = softirq_stats.runs[SOFTIRQ_NET_RX];
    rx_reraise = -1;
    softirq_raise(SOFTIRQ_NET_RX);
    assert_true(softirq_run());
    assert_int_equal(softirq_stats.runs[SOFTIRQ_NET_RX] - runs, SOFTIRQ_MAX_RESTART);
    assert_int_equal(softirq_stats.restart_limit - limit, 1);
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);
    assert_true(test_irq_enabled());
    /* The main loop comes back later and it keeps going. */
    rx_reraise = 0;
    assert_false(softirq_run());
    assert_int_equal(softirq_pending(), 0);
}

/* Issue 10 defect 3: Linux MAX_SOFTIRQ_TIME. A busy queue whose every run
 * takes its whole 2 ms window (net_rx_action's budget_us) gets two rounds,
 * not ten, before the main loop runs its timers (lwIP's among them). */
static void test_time_bound_returns_to_main_loop(void **state)
{
    (void)state;
    uint64_t limit = softirq_stats.time_limit;
    rx_reraise = -1;
    rx_cost_us = 1000;
    softirq_raise(SOFTIRQ_NET_RX);
    assert_true(softirq_run());
    assert_string_equal(order, "RR");
    assert_int_equal(softirq_stats.time_limit - limit, 1);
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);
    /* Cheap rounds still get the restart bound, and the timer its turn. */
    rx_cost_us = 1;
    softirq_raise(SOFTIRQ_TIMER);
    assert_true(softirq_run());
    assert_int_equal(order[2], 'T');
    rx_reraise = 0;
    assert_false(softirq_run());
}

static void test_unregistered_bit_is_counted_and_cleared(void **state)
{
    (void)state;
    softirq_register(SOFTIRQ_TIMER, NULL);
    uint64_t un = softirq_stats.unhandled;
    softirq_raise(SOFTIRQ_TIMER);
    softirq_raise(SOFTIRQ_NR); /* out of range: ignored */
    assert_false(softirq_run());
    assert_int_equal(softirq_stats.unhandled - un, 1);
    assert_int_equal(softirq_pending(), 0);
}

static void nested_fn(void)
{
    note('N');
    softirq_raise(SOFTIRQ_NET_TX);
    assert_true(softirq_run()); /* nested: returns at once, bit still pending */
    assert_string_equal(order, "N");
}

static void test_nested_run_is_refused(void **state)
{
    (void)state;
    softirq_register(SOFTIRQ_TIMER, nested_fn);
    softirq_raise(SOFTIRQ_TIMER);
    assert_false(softirq_run());
    assert_string_equal(order, "NX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_raise_from_irq_runs_in_main_loop_with_irqs_on, setup),
        cmocka_unit_test_setup(test_raise_restores_interrupt_state, setup),
        cmocka_unit_test_setup(test_reraise_runs_next_round, setup),
        cmocka_unit_test_setup(test_restart_bound_leaves_bit_pending, setup),
        cmocka_unit_test_setup(test_time_bound_returns_to_main_loop, setup),
        cmocka_unit_test_setup(test_unregistered_bit_is_counted_and_cleared, setup),
        cmocka_unit_test_setup(test_nested_run_is_refused, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
