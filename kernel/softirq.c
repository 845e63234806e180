/* Deferred work, single CPU. The pending mask is shared with interrupt
 * handlers: every read-modify-write of it runs with interrupts off, which is
 * the whole locking story on one CPU. */
#include "kernel/softirq.h"

#include "kernel/barrier.h"
#include "kernel/clock.h"
#include "kernel/irqflags.h"

#include <stddef.h>

static uint32_t pending;                 /* written by IRQ handlers and main loop */
static void (*handlers[SOFTIRQ_NR])(void);
static bool running;                     /* main loop only */
struct softirq_stats softirq_stats;

void softirq_register(enum softirq_nr nr, void (*fn)(void))
{
    if ((unsigned)nr < SOFTIRQ_NR)
        handlers[nr] = fn;
}

void softirq_raise(enum softirq_nr nr)
{
    if ((unsigned)nr >= SOFTIRQ_NR)
        return;
    irqflags_t f = irq_save();
    pending |= 1u << nr;
    irq_restore(f);
}

uint32_t softirq_pending(void)
{
    return READ_ONCE(pending);
}

bool softirq_run(void)
{
    if (running)
        return READ_ONCE(pending) != 0;
    running = true;

    uint64_t end = clock_now_us() + SOFTIRQ_MAX_TIME_US;
    bool out_of_time = false;
    int round;
    for (round = 0; round < SOFTIRQ_MAX_RESTART && !out_of_time; round++) {
        /* Take and clear in one step with interrupts off: a bit raised after
         * this belongs to the next round, never lost between read and clear. */
        irqflags_t f = irq_save();
        uint32_t work = pending;
        pending = 0;
        irq_restore(f);
        if (!work)
            break;

        /* Handlers run with interrupts enabled so devices keep being serviced
         * (and can re-raise bits) while the heavy work runs. */
        irq_enable();
        for (unsigned nr = 0; nr < SOFTIRQ_NR; nr++) {
            if (!(work & (1u << nr)))
                continue;
            if (handlers[nr]) {
                softirq_stats.runs[nr]++;
                handlers[nr]();
            } else {
                softirq_stats.unhandled++;
            }
        }
        irq_restore(f);
        out_of_time = clock_now_us() >= end;
    }

    running = false;
    bool left = READ_ONCE(pending) != 0;
    if ((round == SOFTIRQ_MAX_RESTART || out_of_time) && left) {
        softirq_stats.restart_limit++;
        if (out_of_time)
            softirq_stats.time_limit++;
    }
    return left;
}
