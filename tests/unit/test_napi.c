/* NAPI scheduling, net_rx_action budget/weight/time rotation, and the
 * complete/re-check race against a real virtqueue and the simulated device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "drivers/virtio/virtqueue.h"
#include "kernel/irqflags.h"
#include "kernel/napi.h"
#include "kernel/clock.h"
#include "kernel/softirq.h"
#include "kernel/timer.h"
#include "tests/unit/sim_device.h"
#include "tests/unit/test_support.h"

#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

static char order[256];
static unsigned norder;

static void note(char c)
{
    if (norder < sizeof(order) - 1)
        order[norder++] = c;
    order[norder] = 0;
}

static int setup(void **state)
{
    (void)state;
    napi_init();
    napi_config = (struct napi_config){ .weight = 64, .budget = 300, .budget_us = 2000 };
    memset(&napi_stats, 0, sizeof(napi_stats));
    napi_warn_hook = NULL;
    norder = 0;
    order[0] = 0;
    test_irq_set(true);
    test_clock_set_us(1000000);
    return 0;
}

/* Every test must leave nothing scheduled behind. */
static int teardown(void **state)
{
    (void)state;
    assert_int_equal(softirq_pending(), 0);
    assert_true(test_irq_enabled());
    return 0;
}

/* ---- synthetic entries: a backlog of work, a name, a per-poll cost ---- */

struct fake {
    struct napi napi;
    char name;
    int backlog;
    unsigned cost_us;
    int overrun;          /* return weight + overrun while backlog lasts */
    struct fake *kick;    /* schedule this entry (as an IRQ would) during our first poll */
};

static int fake_poll(struct napi *n, int budget)
{
    struct fake *f = container_of(n, struct fake, napi);
    note(f->name);
    test_clock_advance_us(f->cost_us);
    assert_true(test_irq_enabled()); /* polls run with interrupts on */
    if (f->kick) {
        napi_schedule(&f->kick->napi);
        f->kick = NULL;
    }
    int work = f->backlog < budget ? f->backlog : budget;
    f->backlog -= work;
    if (f->overrun && work == budget)
        return budget + f->overrun;
    if (work < budget)
        napi_complete_done(n, work);
    return work;
}

static void fake_add(struct fake *f, char name, int backlog, int weight)
{
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->backlog = backlog;
    napi_add(&f->napi, fake_poll, weight);
}

static void test_napi_add_default_weight(void **state)
{
    (void)state;
    struct fake a;
    napi_config.weight = 17;
    fake_add(&a, 'A', 0, 0);
    assert_int_equal(a.napi.weight, 17);
    fake_add(&a, 'A', 0, 5);
    assert_int_equal(a.napi.weight, 5);
}

static void test_schedule_twice_queues_once(void **state)
{
    (void)state;
    struct fake a, b;
    fake_add(&a, 'A', 1, 4);
    fake_add(&b, 'B', 1, 4);
    assert_true(napi_schedule(&a.napi));
    assert_true(napi_schedule(&b.napi));
    assert_false(napi_schedule(&a.napi)); /* already queued: no-op */
    assert_false(napi_schedule_prep(&a.napi));
    assert_int_equal(a.napi.state, NAPI_STATE_SCHED); /* not MISSED: not polled yet */
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);
    assert_false(softirq_run());
    assert_string_equal(order, "AB");
    assert_int_equal(napi_stats.polls, 2);
    assert_int_equal(napi_stats.completes, 2);
    assert_int_equal(napi_stats.missed, 0);
    assert_int_equal(a.napi.state, 0);
}

static int poll_with_irq_inside(struct napi *n, int budget)
{
    note('A');
    if (norder == 1)
        napi_schedule(n); /* the device interrupts while we poll */
    napi_complete_done(n, 0);
    (void)budget;
    return 0;
}

static void test_schedule_during_poll_sets_missed_and_repolls(void **state)
{
    (void)state;
    struct napi n;
    napi_add(&n, poll_with_irq_inside, 4);
    napi_schedule(&n);
    assert_false(softirq_run());
    assert_string_equal(order, "AA");
    assert_int_equal(napi_stats.missed, 1);
    assert_int_equal(napi_stats.completes, 1);
    assert_int_equal(n.state, 0);
}

/* Linux net_rx_action: weight per poll, global budget; an entry that used
 * its whole weight goes on the run's repoll list, spliced back at the tail:
 * every entry is polled at most once per run. A run ended by budget or time
 * counts a time_squeeze and re-raises NET_RX, which softirq_run picks up on
 * its next round. */
static void test_budget_and_weight_rotation(void **state)
{
    (void)state;
    struct fake a, b, c;
    napi_config.budget = 10;
    fake_add(&a, 'A', 10, 4);
    fake_add(&b, 'B', 2, 4);
    fake_add(&c, 'C', 10, 4);
    napi_schedule(&a.napi);
    napi_schedule(&b.napi);
    napi_schedule(&c.napi);

    net_rx_action(); /* A4 B2 C4: budget spent, A and C left */
    assert_string_equal(order, "ABC");
    assert_int_equal(napi_stats.budget_exhausted, 2);
    assert_int_equal(napi_stats.time_squeeze, 1);
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);

    assert_false(softirq_run()); /* A4 C4 (repolled: run over) | A2 C2 */
    assert_string_equal(order, "ABCACAC");
    assert_int_equal(napi_stats.runs, 3);
    assert_int_equal(napi_stats.budget_exhausted, 4);
    assert_int_equal(napi_stats.time_squeeze, 1);
    assert_int_equal(napi_stats.completes, 3);
    assert_int_equal(a.napi.polls, 3);
    assert_int_equal(a.napi.budget_exhausted, 2);
    assert_int_equal(a.napi.work, 10);
    assert_int_equal(c.napi.work, 10);
}

/* Issue 10 defect 3: with budget to spare, a busy entry is still polled
 * only once per run (pre-3.19 Linux, and this code before, polled it again
 * and again until the whole budget was gone). */
static void test_full_weight_entry_polled_once_per_run(void **state)
{
    (void)state;
    struct fake a;
    fake_add(&a, 'A', 1000, 4);
    napi_schedule(&a.napi);
    net_rx_action();
    assert_string_equal(order, "A");
    assert_int_equal(napi_stats.time_squeeze, 0);
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);
    net_rx_action();
    assert_string_equal(order, "AA");
    a.backlog = 0;
    assert_false(softirq_run());
    assert_string_equal(order, "AAA");
    assert_int_equal(a.napi.state, 0);
}

/* Linux counts a squeeze whenever budget or time ends the run, even if
 * nothing was left. */
static void test_budget_exactly_spent_counts_squeeze(void **state)
{
    (void)state;
    struct fake a;
    napi_config.budget = 3;
    fake_add(&a, 'A', 3, 4);
    napi_schedule(&a.napi);
    assert_false(softirq_run());
    assert_int_equal(napi_stats.time_squeeze, 1);
    assert_int_equal(napi_stats.completes, 1);
}

/* An entry scheduled during the run queues ahead of the busy entry's next
 * turn: a flood on one queue can't starve another. */
static void test_busy_entry_does_not_starve_new_one(void **state)
{
    (void)state;
    struct fake a, b;
    napi_config.budget = 16;
    fake_add(&a, 'A', 1000, 4);
    fake_add(&b, 'B', 2, 4);
    a.kick = &b;
    napi_schedule(&a.napi);
    net_rx_action();
    assert_string_equal(order, "A");
    net_rx_action();
    assert_string_equal(order, "ABA");
    assert_int_equal(b.napi.state, 0);
    a.backlog = 0;
    assert_false(softirq_run());
}

static void test_time_limit_squeeze_with_fake_clock(void **state)
{
    (void)state;
    struct fake e[4];
    napi_config.budget_us = 100;
    for (unsigned i = 0; i < 4; i++) {
        fake_add(&e[i], (char)('A' + i), 1000, 4);
        e[i].cost_us = 40;
        napi_schedule(&e[i].napi);
    }
    net_rx_action(); /* 40, 80; 120 stops: D not polled */
    assert_string_equal(order, "ABC");
    assert_int_equal(napi_stats.time_squeeze, 1);
    assert_int_equal(softirq_pending(), 1u << SOFTIRQ_NET_RX);
    /* Next run: the unpolled one first, with a fresh time window. */
    net_rx_action();
    assert_string_equal(order, "ABCDAB");
    assert_int_equal(napi_stats.time_squeeze, 2);
    for (unsigned i = 0; i < 4; i++)
        e[i].backlog = 0;
    assert_false(softirq_run());
}

static int warns;
static void count_warn(struct napi *n, const char *what)
{
    (void)n;
    (void)what;
    warns++;
}

static void test_poll_over_weight_is_counted_and_warned_once(void **state)
{
    (void)state;
    struct fake a;
    warns = 0;
    napi_warn_hook = count_warn;
    napi_config.budget = 8;
    fake_add(&a, 'A', 8, 4);
    a.overrun = 3;
    napi_schedule(&a.napi);
    net_rx_action(); /* 7 counted as 4, once per run */
    net_rx_action();
    assert_int_equal(napi_stats.bad_poll, 2);
    assert_int_equal(warns, 1);
    assert_string_equal(order, "AA");
    a.overrun = 0;
    assert_false(softirq_run());
    assert_int_equal(warns, 1);
}

/* ---- a virtio RX queue driven by the simulated device ---- */

enum race_point { RACE_NONE, RACE_BEFORE_ENABLE, RACE_AFTER_PREPARE, RACE_AFTER_COMPLETE };

#define RXQ_NUM 16
#define RX_LEN 256

struct rxq {
    struct napi napi;
    struct virtqueue *vq;
    struct sim_device dev;
    unsigned processed;
    unsigned long irqs;
    enum race_point inject_at;
    bool injected;
    unsigned long irqs_at_inject; /* device interrupts raised by the injected completion */
    bool no_recheck;              /* the bug: complete and re-enable, never look again */
    uint8_t buf[RXQ_NUM][RX_LEN];
};

static void rx_post(struct rxq *q, unsigned slot)
{
    struct vq_sg sg = { (uint64_t)(uintptr_t)q->buf[slot], RX_LEN };
    assert_int_equal(vq_add_sgs(q->vq, &sg, 0, 1, (void *)(uintptr_t)(slot + 1)), 0);
}

/* Interrupt handler: touches no packet (DESIGN "RX walk" step 2). */
static void rx_irq(void *ctx)
{
    struct rxq *q = ctx;
    assert_true(test_irq_enabled()); /* only deliverable with IF set */
    irqflags_t f = irq_save();       /* the CPU clears IF on delivery */
    q->irqs++;
    if (napi_schedule_prep(&q->napi)) {
        vq_disable_cb(q->vq);
        napi_schedule_commit(&q->napi);
    }
    irq_restore(f);
}

static void inject(struct rxq *q, enum race_point here)
{
    if (q->inject_at != here || q->injected)
        return;
    q->injected = true;
    unsigned long before = q->dev.interrupts;
    sim_complete(&q->dev, 1, 60);
    q->irqs_at_inject = q->dev.interrupts - before;
}

static int rx_poll(struct napi *n, int budget)
{
    struct rxq *q = container_of(n, struct rxq, napi);
    int work = 0;
    void *tok;
    uint32_t len;

    while (work < budget && (tok = vq_get_buf(q->vq, &len))) {
        assert_int_equal(len, 60);
        q->processed++;
        work++;
        rx_post(q, (unsigned)((uintptr_t)tok - 1)); /* refill in place */
    }
    if (work)
        vq_kick(q->vq);
    /* The device finishes a buffer after our last get_buf, interrupts off. */
    inject(q, RACE_BEFORE_ENABLE);
    if (work < budget) {
        unsigned opaque = vq_enable_cb_prepare(q->vq);
        inject(q, RACE_AFTER_PREPARE);
        if (napi_complete_done(n, work)) {
            inject(q, RACE_AFTER_COMPLETE);
            if (!q->no_recheck && vq_poll(q->vq, opaque)) {
                vq_disable_cb(q->vq);
                napi_reschedule(n);
            }
        } else {
            vq_disable_cb(q->vq);
        }
    }
    return work;
}

static void rxq_init(struct rxq *q, bool ev, int weight)
{
    memset(q, 0, sizeof(*q));
    q->vq = vq_create(0, RXQ_NUM, ev, false, sim_notify_cb, &q->dev);
    assert_non_null(q->vq);
    sim_attach(&q->dev, q->vq, ev);
    q->dev.irq = rx_irq;
    q->dev.irq_ctx = q;
    napi_add(&q->napi, rx_poll, weight);
    for (unsigned i = 0; i < RXQ_NUM; i++)
        rx_post(q, i);
    assert_true(vq_kick(q->vq));
    assert_int_equal(sim_fetch(&q->dev, RXQ_NUM), RXQ_NUM);
}

static void rxq_fini(struct rxq *q)
{
    assert_null(q->dev.error);
    assert_false(vq_is_broken(q->vq));
    while (vq_detach_unused_buf(q->vq))
        ;
    vq_destroy(q->vq);
    sim_detach(&q->dev);
}

/* Three packets arrive (one interrupt), then a fourth at `point` inside the
 * poll. Returns with the queue idle; checks the fourth was processed and the
 * interrupt is armed again (a fifth packet interrupts and is processed). */
static void run_race(enum race_point point, bool ev)
{
    static struct rxq q;
    rxq_init(&q, ev, 64);
    q.inject_at = point;
    assert_true(sim_complete(&q.dev, 3, 60));
    assert_int_equal(q.irqs, 1);
    assert_false(softirq_run());
    assert_true(q.injected);
    assert_int_equal(q.processed, 4);
    assert_int_equal(q.napi.state, 0);
    assert_int_equal(softirq_pending(), 0);

    switch (point) {
    case RACE_BEFORE_ENABLE: /* device saw interrupts off: only the re-check saves it */
        assert_int_equal(q.irqs_at_inject, 0);
        assert_int_equal(napi_stats.rescheduled, 1);
        break;
    case RACE_AFTER_PREPARE: /* interrupt during poll: MISSED turns completion into a repoll */
        assert_int_equal(q.irqs_at_inject, 1);
        assert_int_equal(napi_stats.missed, 1);
        assert_int_equal(napi_stats.rescheduled, 0);
        break;
    case RACE_AFTER_COMPLETE: /* interrupt schedules it and the re-check sees it: queued once */
        assert_int_equal(q.irqs_at_inject, 1);
        assert_int_equal(napi_stats.rescheduled, 1);
        break;
    default:
        break;
    }

    sim_fetch(&q.dev, RXQ_NUM);
    assert_true(sim_complete(&q.dev, 1, 60));
    assert_false(softirq_run());
    assert_int_equal(q.processed, 5);
    rxq_fini(&q);
}

/* ixy#21: a packet completed between the driver's last look at the ring and
 * re-enabling interrupts raised no interrupt; without the re-check it sat in
 * the ring until the next packet. Flag mode and event-index mode. */
static void test_recheck_race_ixy21_buffer_not_stranded(void **s)
{
    (void)s;
    run_race(RACE_BEFORE_ENABLE, false);
    memset(&napi_stats, 0, sizeof(napi_stats));
    run_race(RACE_BEFORE_ENABLE, true);
}

static void test_recheck_race_irq_between_prepare_and_complete(void **s)
{
    (void)s;
    run_race(RACE_AFTER_PREPARE, false);
    memset(&napi_stats, 0, sizeof(napi_stats));
    run_race(RACE_AFTER_PREPARE, true);
}

static void test_recheck_race_irq_between_complete_and_poll(void **s)
{
    (void)s;
    run_race(RACE_AFTER_COMPLETE, false);
    memset(&napi_stats, 0, sizeof(napi_stats));
    run_race(RACE_AFTER_COMPLETE, true);
}

/* Control: the same timing with the re-check left out strands the buffer,
 * so the test above really exercises the race. */
static void test_recheck_race_ixy21_control_without_recheck_strands_buffer(void **s)
{
    (void)s;
    static struct rxq q;
    rxq_init(&q, true, 64);
    q.inject_at = RACE_BEFORE_ENABLE;
    q.no_recheck = true;
    sim_complete(&q.dev, 3, 60);
    assert_false(softirq_run());
    assert_int_equal(q.processed, 3);
    assert_int_equal(q.irqs_at_inject, 0);
    assert_int_equal(q.napi.state, 0);
    assert_true(vq_poll(q.vq, vq_enable_cb_prepare(q.vq))); /* the stranded buffer */
    rxq_fini(&q);
}

/* A queue busier than its weight stays scheduled with interrupts off, and
 * the device raises no interrupt for packets that arrive meanwhile. */
static void test_virtio_full_weight_stays_scheduled_irq_off(void **s)
{
    (void)s;
    static struct rxq q;
    rxq_init(&q, true, 2);
    assert_true(sim_complete(&q.dev, 5, 60));
    assert_false(softirq_run());
    assert_int_equal(q.processed, 5);
    assert_int_equal(q.irqs, 1);
    assert_int_equal(napi_stats.budget_exhausted, 2);
    assert_int_equal(q.napi.polls, 3);
    rxq_fini(&q);
}

/* ---- deferral, on the real kernel/timer.c and the test clock ---- */

struct dfake {
    struct napi napi;
    int backlog;
    bool irq_inside;   /* schedule ourselves mid-poll, as an interrupt would */
    bool armed_irq;    /* the driver re-armed its interrupt (did not defer) */
};

/* The driver sequence of kernel/napi.h minus the ring. */
static int deferring_poll(struct napi *n, int budget)
{
    struct dfake *f = container_of(n, struct dfake, napi);
    int work = f->backlog < budget ? f->backlog : budget;
    f->backlog -= work;
    if (f->irq_inside) {
        f->irq_inside = false;
        napi_schedule(n);
    }
    if (work < budget && !napi_complete_defer(n, work))
        f->armed_irq = napi_complete_done(n, work);
    return work;
}

/* defer_hard_irqs 2, timeout 50 us; scheduled and run once. */
static void dfake_run(struct dfake *f, int backlog, bool irq_inside)
{
    memset(f, 0, sizeof(*f));
    f->backlog = backlog;
    f->irq_inside = irq_inside;
    napi_add(&f->napi, deferring_poll, 8);
    napi_config.defer_hard_irqs = 2;
    napi_config.defer_timeout_us = 50;
    napi_schedule(&f->napi);
    assert_false(softirq_run());
}

/* The timer, once due, schedules the entry: nothing else would, its
 * interrupt being off. */
static void test_defer_timer_reschedules_when_due(void **s)
{
    (void)s;
    struct dfake f;
    dfake_run(&f, 3, false);
    assert_false(f.armed_irq);
    assert_int_equal(f.napi.state, 0);
    assert_int_equal(napi_stats.deferred, 1);
    assert_int_equal(f.napi.deferred, 1);
    assert_int_equal(ktimers_next_deadline(), clock_now_ns() + 50000);
    test_clock_advance_us(49);
    ktimers_run();
    assert_int_equal(softirq_pending(), 0);
    test_clock_advance_us(1);
    ktimers_run();
    assert_int_equal(f.napi.state, NAPI_STATE_SCHED);
    assert_false(softirq_run()); /* empty: the last deferral */
    assert_false(f.armed_irq);
    assert_int_equal(napi_stats.deferred, 2);
    test_clock_advance_us(50);
    ktimers_run();
    assert_false(softirq_run()); /* empty, countdown 0: interrupt back on */
    assert_true(f.armed_irq);
    assert_int_equal(napi_stats.deferred, 2);
    assert_int_equal(napi_stats.completes, 3);
    assert_int_equal(ktimers_next_deadline(), UINT64_MAX);
}

/* MISSED beats deferral: polled again at once, no timer (as Linux). */
static void test_defer_missed_requeues_without_timer(void **s)
{
    (void)s;
    struct dfake f;
    dfake_run(&f, 1, true);
    assert_int_equal(napi_stats.missed, 1);
    assert_int_equal(f.napi.polls, 2);
    /* The repoll (empty) defers with the countdown the first one left. */
    assert_int_equal(napi_stats.deferred, 1);
    assert_int_equal(f.napi.defer_count, 0);
    assert_int_equal(f.napi.state, 0);
    test_clock_advance_us(50);
    ktimers_run();
    assert_false(softirq_run());
    assert_true(f.armed_irq);
}

/* Scheduled by something else while a deferral timer is pending, the entry
 * completes normally: the timer goes, it would only add a poll. */
static void test_complete_done_cancels_defer_timer(void **s)
{
    (void)s;
    struct dfake f;
    dfake_run(&f, 1, false);
    assert_true(f.napi.defer_timer.armed);
    f.napi.defer_count = 0;
    napi_schedule(&f.napi); /* e.g. a shared vector */
    assert_false(softirq_run());
    assert_true(f.armed_irq);
    assert_false(f.napi.defer_timer.armed);
    assert_int_equal(ktimers_next_deadline(), UINT64_MAX);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_napi_add_default_weight),
        T(test_schedule_twice_queues_once),
        T(test_schedule_during_poll_sets_missed_and_repolls),
        T(test_budget_and_weight_rotation),
        T(test_full_weight_entry_polled_once_per_run),
        T(test_budget_exactly_spent_counts_squeeze),
        T(test_busy_entry_does_not_starve_new_one),
        T(test_time_limit_squeeze_with_fake_clock),
        T(test_poll_over_weight_is_counted_and_warned_once),
        T(test_recheck_race_ixy21_buffer_not_stranded),
        T(test_recheck_race_irq_between_prepare_and_complete),
        T(test_recheck_race_irq_between_complete_and_poll),
        T(test_recheck_race_ixy21_control_without_recheck_strands_buffer),
        T(test_virtio_full_weight_stays_scheduled_irq_off),
        T(test_defer_timer_reschedules_when_due),
        T(test_defer_missed_requeues_without_timer),
        T(test_complete_done_cancels_defer_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
