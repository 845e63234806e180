/* NAPI: interrupt-mitigated polling of receive (and TX reclaim) queues,
 * Linux semantics on one CPU.
 *
 * An interrupt handler schedules a struct napi (once: scheduling a scheduled
 * entry never queues it twice), which raises SOFTIRQ_NET_RX. net_rx_action,
 * run from softirq_run() in the main loop with interrupts enabled, calls each
 * scheduled entry's poll(n, weight) under a global budget and time limit.
 *
 * Poll contract (as Linux):
 *  - returns the work done, 0..weight; more than weight is a driver bug;
 *  - if it returns weight it must NOT complete: it stays scheduled and goes to
 *    the tail of the poll list, to be polled again in a later run (each entry
 *    is polled at most once per net_rx_action run, as Linux since 3.19);
 *  - if it returns less, it must complete. Exact virtio driver sequence
 *    (Linux virtqueue_napi_complete with napi_defer_hard_irqs), with
 *    interrupts enabled:
 *
 *      // rx interrupt handler (IRQ context):
 *      if (napi_schedule_prep(n)) { vq_disable_cb(vq); napi_schedule_commit(n); }
 *
 *      // end of poll, got work < weight:
 *      if (napi_complete_defer(n, work))             // deferred (or MISSED):
 *          return work;                              //   the queue stays masked
 *      unsigned opaque = vq_enable_cb_prepare(vq);   // re-arm device interrupt
 *      if (napi_complete_done(n, work)) {            // SCHED cleared
 *          if (vq_poll(vq, opaque)) {                // a buffer slipped in between
 *              vq_disable_cb(vq);                    //   the last get_buf and the
 *              napi_reschedule(n);                   //   re-arm: poll it (ixy#21)
 *          }
 *      } else {
 *          vq_disable_cb(vq);                        // MISSED: still scheduled,
 *      }                                             //   will be polled again
 *      return work;
 *
 *   Why it is airtight: vq_poll fences, so either the device saw the re-armed
 *   event and interrupts (the handler schedules n, SCHED being clear or
 *   MISSED set), or vq_poll sees its used entry and we reschedule.
 *
 *   Deferral (Linux napi_defer_hard_irqs + gro_flush_timeout, here
 *   napi.defer_hard_irqs / napi.defer_timeout_us): a poll that did work sets
 *   the entry's countdown to defer_hard_irqs; while it is above 0,
 *   napi_complete_defer takes it down by one, clears SCHED (or requeues on
 *   MISSED) and arms the entry's timer instead of letting the driver re-arm.
 *   The queue stays masked, so nothing arriving meanwhile interrupts; the
 *   timer (main loop) schedules the entry, whose poll runs as any other and
 *   sees those buffers. Once the countdown is 0 (that many deferred polls in
 *   a row found nothing) it returns false and the normal completion above
 *   re-arms and re-checks. Asked before vq_enable_cb_prepare, so a deferred
 *   completion writes nothing to the ring. It is safe because nothing is lost
 *   while masked: the timer's poll always comes. A driver that wants one
 *   interrupt per packet (net.mode=irq), or a poll with no packet work (TX
 *   reclaim), skips napi_complete_defer and never defers.
 *
 * Locking: state and the global poll list are shared with interrupt handlers
 * and touched only with interrupts off (one CPU). */
#ifndef KERNEL_NAPI_H
#define KERNEL_NAPI_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/timer.h"

enum {
    NAPI_STATE_SCHED = 1u << 0,  /* owned by the poll machinery until completed */
    NAPI_STATE_MISSED = 1u << 1, /* scheduled again during its poll: poll once more */
};

struct napi {
    int (*poll)(struct napi *n, int budget);
    int weight;
    uint32_t state;       /* NAPI_STATE_*; read-modify-write with interrupts off */
    struct napi *next;    /* poll-list link */
    bool queued;          /* on a poll list (global or net_rx_action's own) */
    bool warned;          /* bad_poll reported once */
    int defer_count;      /* deferred completions left (main loop only) */
    struct ktimer defer_timer; /* reschedules a deferred entry */
    /* Per-entry counters, main-loop written. */
    uint64_t polls, completes, rescheduled, budget_exhausted, work, deferred;
};

struct napi_config {
    int weight;          /* default per-entry weight (Linux NAPI_POLL_WEIGHT 64) */
    int budget;          /* packets per net_rx_action run (netdev_budget 300) */
    uint32_t budget_us;  /* time per run (netdev_budget_usecs 2000) */
    int defer_hard_irqs; /* empty deferred polls before re-arming (Linux napi_defer_hard_irqs) */
    uint32_t defer_timeout_us; /* deferred poll delay (Linux gro_flush_timeout); 0 = off */
};
extern struct napi_config napi_config;  /* set by the command line (napi.c's keys) */

struct napi_stats {
    uint64_t runs;             /* net_rx_action invocations */
    uint64_t polls;            /* poll callbacks */
    uint64_t completes;        /* completions (done or defer) that cleared SCHED */
    uint64_t missed;           /* completes turned into a repoll by MISSED */
    uint64_t rescheduled;      /* napi_reschedule: re-check found work after completion */
    uint64_t budget_exhausted; /* poll used its whole weight, repolled next run */
    uint64_t time_squeeze;     /* run ended by budget or time (Linux counts it so) */
    uint64_t bad_poll;         /* poll returned more than its weight */
    uint64_t deferred;         /* completes that left the interrupt masked (napi_complete_defer) */
};
extern struct napi_stats napi_stats;     /* for /stats.json */

/* Called with a one-line reason on driver bugs (poll > weight), once per
 * entry; main-loop context. NULL = count only. */
extern void (*napi_warn_hook)(struct napi *n, const char *what);

/* Boot: registers net_rx_action as the SOFTIRQ_NET_RX handler. */
void napi_init(void);
/* weight <= 0 means napi_config.weight. The entry starts idle (schedulable). */
void napi_add(struct napi *n, int (*poll)(struct napi *, int), int weight);

/* Any context. prep: test-and-set SCHED; false if it was already scheduled
 * (and MISSED set if its poll is running). commit (Linux __napi_schedule):
 * after a successful prep, queue on the poll list and raise NET_RX.
 * schedule = prep + commit. */
bool napi_schedule_prep(struct napi *n);
void napi_schedule_commit(struct napi *n);
bool napi_schedule(struct napi *n);

/* From poll, when it did less than its weight, before re-enabling the
 * device interrupt. true: completed with the interrupt to stay masked, the
 * entry's timer reschedules it (or MISSED: requeued); the driver just
 * returns. false: nothing done, complete with napi_complete_done. Main loop. */
bool napi_complete_defer(struct napi *n, int work_done);
/* From poll, when it did less than its weight. true: SCHED cleared, the
 * driver may re-enable interrupts (then must re-check, see above), and a
 * pending deferral timer is cancelled. false: MISSED was set, the entry
 * stays scheduled and is requeued. Never defers. */
bool napi_complete_done(struct napi *n, int work_done);
/* The driver's re-check found work after completing: counts `rescheduled`
 * and schedules again. */
bool napi_reschedule(struct napi *n);

/* SOFTIRQ_NET_RX handler (registered by napi_init; exposed for tests). */
void net_rx_action(void);

#endif
