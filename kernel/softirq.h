/* Deferred work ("softirqs"), single CPU.
 *
 * Interrupt handlers do the minimum and raise a bit; the main loop calls
 * softirq_run(), which runs the handlers of the raised bits with interrupts
 * enabled. Lower bit numbers run first within a round (Linux order). */
#ifndef KERNEL_SOFTIRQ_H
#define KERNEL_SOFTIRQ_H

#include <stdbool.h>
#include <stdint.h>

enum softirq_nr {
    SOFTIRQ_TIMER,  /* expired kernel timers (refill retry, lwIP timeouts) */
    SOFTIRQ_NET_TX, /* TX reclaim / queue wake */
    SOFTIRQ_NET_RX, /* net_rx_action: NAPI poll list */
    SOFTIRQ_NR
};

/* Like Linux MAX_SOFTIRQ_RESTART: rounds softirq_run makes before returning
 * with bits still pending, so a handler that keeps re-raising itself (NET_RX
 * on time_squeeze) cannot starve the rest of the main loop. */
#define SOFTIRQ_MAX_RESTART 10
/* Linux MAX_SOFTIRQ_TIME (2 ms): nor does it run longer than this, so lwIP
 * timers and the rest of the main loop are not held up by a busy queue. */
#define SOFTIRQ_MAX_TIME_US 2000

struct softirq_stats {
    uint64_t runs[SOFTIRQ_NR]; /* handler invocations */
    uint64_t restart_limit;    /* softirq_run returned with work still pending */
    uint64_t time_limit;       /* ... of which because SOFTIRQ_MAX_TIME_US was up */
    uint64_t unhandled;        /* raised bits with no registered handler */
};
extern struct softirq_stats softirq_stats;

/* At boot, before the bit can be raised. */
void softirq_register(enum softirq_nr nr, void (*fn)(void));
/* Any context, including interrupt handlers. */
void softirq_raise(enum softirq_nr nr);
uint32_t softirq_pending(void);
/* Main loop only (not reentrant; a nested call returns at once). Returns true
 * if bits are still pending (restart bound hit or raised meanwhile): the
 * caller must not halt. Interrupt state is restored to what it was. */
bool softirq_run(void);

#endif
