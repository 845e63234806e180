/* NAPI poll lists and net_rx_action, after Linux net/core/dev.c, one CPU.
 *
 * The global poll list is appended to by interrupt handlers, so it is only
 * touched with interrupts off. net_rx_action moves it to a private list and
 * walks that with interrupts on; an entry being polled is on no list, so a
 * MISSED completion or a reschedule from inside poll can queue it again. */
#include "kernel/napi.h"

#include "kernel/barrier.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/irqflags.h"
#include "kernel/softirq.h"
#include "kernel/timer.h"

#include <stddef.h>

/* Deferral on (Linux ships it off): 2 x 5 us, measured on the tap bench,
 * see docs/SPEC.md's command line. */
struct napi_config napi_config = { .weight = 64, .budget = 300, .budget_us = 2000,
                                   .defer_hard_irqs = 2, .defer_timeout_us = 5 };

/* SPEC.md's NAPI keys. The ints hold values below 2^31: stored as uint32_t. */
_Static_assert(sizeof(int) == sizeof(uint32_t), "CMDLINE_U32 stores a uint32_t");
CMDLINE_PARAM(napi_weight, .key = "napi.weight", .type = CMDLINE_U32,
              .dst = &napi_config.weight, .min = 1, .max = 4096);
CMDLINE_PARAM(net_budget, .key = "net.budget", .type = CMDLINE_U32,
              .dst = &napi_config.budget, .min = 1, .max = 1000000);
CMDLINE_PARAM(net_budget_us, .key = "net.budget_us", .type = CMDLINE_U32,
              .dst = &napi_config.budget_us, .min = 1, .max = 10000000);
/* Either 0 turns deferral off (Linux's default). Bounds: a deferred queue is
 * masked for up to defer_hard_irqs * defer_timeout_us after its last packet,
 * so both are kept to what can be worth waiting for. */
CMDLINE_PARAM(napi_defer_hard_irqs, .key = "napi.defer_hard_irqs", .type = CMDLINE_U32,
              .dst = &napi_config.defer_hard_irqs, .min = 0, .max = 100);
CMDLINE_PARAM(napi_defer_timeout_us, .key = "napi.defer_timeout_us", .type = CMDLINE_U32,
              .dst = &napi_config.defer_timeout_us, .min = 0, .max = 10000);
struct napi_stats napi_stats;
void (*napi_warn_hook)(struct napi *n, const char *what);

struct napi_queue {
    struct napi *head, *tail;
};

static struct napi_queue poll_list; /* shared with IRQ handlers: interrupts off */

static void q_push(struct napi_queue *q, struct napi *n)
{
    n->next = NULL;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    n->queued = true;
}

static struct napi *q_pop(struct napi_queue *q)
{
    struct napi *n = q->head;
    q->head = n->next;
    if (!q->head)
        q->tail = NULL;
    n->next = NULL;
    n->queued = false;
    return n;
}

/* dst = dst + src; src emptied. */
static void q_append(struct napi_queue *dst, struct napi_queue *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    src->head = src->tail = NULL;
}

void napi_init(void)
{
    softirq_register(SOFTIRQ_NET_RX, net_rx_action);
}

void napi_add(struct napi *n, int (*poll)(struct napi *, int), int weight)
{
    *n = (struct napi){ .poll = poll, .weight = weight > 0 ? weight : napi_config.weight };
}

bool napi_schedule_prep(struct napi *n)
{
    irqflags_t f = irq_save();
    uint32_t s = n->state;
    n->state = s | NAPI_STATE_SCHED;
    /* Scheduled and off every list means its poll is running right now: mark
     * MISSED so completion polls once more instead of losing this event
     * (Linux NAPI_STATE_MISSED). A queued entry has not been polled yet and
     * will see this work anyway. */
    if ((s & NAPI_STATE_SCHED) && !n->queued)
        n->state |= NAPI_STATE_MISSED;
    irq_restore(f);
    return !(s & NAPI_STATE_SCHED);
}

void napi_schedule_commit(struct napi *n)
{
    irqflags_t f = irq_save();
    if (!n->queued)
        q_push(&poll_list, n);
    softirq_raise(SOFTIRQ_NET_RX);
    irq_restore(f);
}

bool napi_schedule(struct napi *n)
{
    if (!napi_schedule_prep(n))
        return false;
    napi_schedule_commit(n);
    return true;
}

/* Clears SCHED, or on MISSED keeps it and requeues (false). */
static bool complete_state(struct napi *n)
{
    irqflags_t f = irq_save();
    uint32_t s = n->state;
    if (s & NAPI_STATE_MISSED) {
        /* An interrupt came while we polled: keep SCHED and poll again. */
        n->state = NAPI_STATE_SCHED;
        if (!n->queued)
            q_push(&poll_list, n);
        softirq_raise(SOFTIRQ_NET_RX);
        irq_restore(f);
        napi_stats.missed++;
        return false;
    }
    n->state = 0;
    irq_restore(f);
    /* Completing an idle entry is a driver bug but harmless (the caller then
     * keeps the device interrupt on, the only safe state for it). */
    if (s & NAPI_STATE_SCHED) {
        n->completes++;
        napi_stats.completes++;
    }
    return true;
}

/* Linux napi_watchdog. The queue is still masked: scheduling is all the
 * interrupt handler would have done. Already scheduled (by anything else
 * meanwhile): that poll sees the buffers too. */
static void defer_timer_fn(void *ctx)
{
    napi_schedule(ctx);
}

bool napi_complete_defer(struct napi *n, int work_done)
{
    int defer = napi_config.defer_hard_irqs;
    uint32_t us = napi_config.defer_timeout_us;
    if (defer <= 0 || us == 0)
        return false;
    if (work_done > 0)
        n->defer_count = defer;
    if (n->defer_count <= 0)
        return false;
    n->defer_count--;
    /* MISSED: polled again at once, no timer needed (as Linux). */
    if (complete_state(n)) {
        n->deferred++;
        napi_stats.deferred++;
        ktimer_arm(&n->defer_timer, (uint64_t)us * 1000u, defer_timer_fn, n);
    }
    return true;
}

bool napi_complete_done(struct napi *n, int work_done)
{
    (void)work_done; /* deferral is napi_complete_defer's; no GRO to feed */
    if (!complete_state(n))
        return false;
    /* Interrupts back on: a deferral timer left from a poll something else
     * scheduled would only add a poll. */
    if (n->defer_timer.armed)
        ktimer_cancel(&n->defer_timer);
    return true;
}

bool napi_reschedule(struct napi *n)
{
    n->rescheduled++;
    napi_stats.rescheduled++;
    return napi_schedule(n);
}

static void warn_once(struct napi *n, const char *what)
{
    if (n->warned)
        return;
    n->warned = true;
    if (napi_warn_hook)
        napi_warn_hook(n, what);
}

/* One entry's turn (Linux napi_poll). An entry that used its whole weight
 * was not completed, so we still own it: it goes on the run's repoll list,
 * polled again only in a later run, behind everything scheduled meanwhile. */
static int poll_one(struct napi *n, struct napi_queue *repoll)
{
    int weight = n->weight, work = 0;
    if (READ_ONCE(n->state) & NAPI_STATE_SCHED) {
        work = n->poll(n, weight);
        n->polls++;
        napi_stats.polls++;
    }
    if (work > weight) {
        napi_stats.bad_poll++;
        warn_once(n, "napi poll returned more than its weight");
        work = weight;
    }
    n->work += (uint64_t)(work > 0 ? work : 0);
    if (work < weight)
        return work < 0 ? 0 : work;
    irqflags_t f = irq_save();
    /* Completed anyway (a driver bug) or already requeued: not ours to move. */
    if ((n->state & NAPI_STATE_SCHED) && !n->queued) {
        q_push(repoll, n);
        n->budget_exhausted++;
        napi_stats.budget_exhausted++;
    }
    irq_restore(f);
    return work;
}

/* Linux net_rx_action (since 3.19): every entry is polled at most once per
 * run; the run ends when nothing is left to poll but repolls, or on budget
 * or time (time_squeeze). */
void net_rx_action(void)
{
    uint64_t deadline = clock_now_us() + napi_config.budget_us;
    int budget = napi_config.budget;
    struct napi_queue list = { NULL, NULL }, repoll = { NULL, NULL };
    irqflags_t f;

    napi_stats.runs++;
    for (;;) {
        if (!list.head) {
            if (repoll.head)
                break;
            /* Take what interrupts (or completing polls) queued meanwhile. */
            f = irq_save();
            q_append(&list, &poll_list);
            irq_restore(f);
            if (!list.head)
                return;
        }

        /* Off every list while polling: the poll may complete (MISSED) or
         * reschedule itself, both of which queue it on the global list. */
        budget -= poll_one(q_pop(&list), &repoll);

        if (budget <= 0 || clock_now_us() >= deadline) {
            napi_stats.time_squeeze++;
            break;
        }
    }

    /* Unpolled leftovers first, then entries scheduled meanwhile, then the
     * repolls; the re-raised bit brings us back on softirq_run's next round. */
    f = irq_save();
    q_append(&list, &poll_list);
    q_append(&list, &repoll);
    poll_list = list;
    if (poll_list.head)
        softirq_raise(SOFTIRQ_NET_RX);
    irq_restore(f);
}
