#include "kernel/timer.h"

#include "kernel/clock.h"

static struct ktimer *timers;     /* sorted by deadline; main loop only */

void ktimer_cancel(struct ktimer *t)
{
    for (struct ktimer **pp = &timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = false;
}

void ktimer_arm(struct ktimer *t, uint64_t delay_ns, void (*fn)(void *ctx), void *ctx)
{
    if (t->armed)
        ktimer_cancel(t);
    t->deadline_ns = clock_now_ns() + delay_ns;
    t->fn = fn;
    t->ctx = ctx;
    t->armed = true;
    struct ktimer **pp = &timers;
    while (*pp && (*pp)->deadline_ns <= t->deadline_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
}

void ktimers_run(void)
{
    uint64_t now = clock_now_ns();
    while (timers && timers->deadline_ns <= now) {
        struct ktimer *t = timers;
        timers = t->next;
        t->armed = false;
        t->fn(t->ctx);       /* may re-arm itself */
    }
}

uint64_t ktimers_next_deadline(void)
{
    return timers ? timers->deadline_ns : UINT64_MAX;
}
