/* One-shot software timers run from the main loop (never from an interrupt),
 * e.g. the RX refill retry after an allocation failure. */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct ktimer {
    struct ktimer *next;
    uint64_t deadline_ns;
    void (*fn)(void *ctx);
    void *ctx;
    bool armed;
};

void ktimer_arm(struct ktimer *t, uint64_t delay_ns, void (*fn)(void *ctx), void *ctx);
void ktimer_cancel(struct ktimer *t);
void ktimers_run(void);
uint64_t ktimers_next_deadline(void);     /* UINT64_MAX when none armed */

#endif
