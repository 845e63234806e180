#include "kernel/idle.h"

#include "kernel/clock.h"
#include "kernel/irqflags.h"
#include "kernel/lapic.h"
#include "kernel/softirq.h"
#include "kernel/timer.h"

void kernel_idle(uint64_t deadline_ns)
{
    uint64_t kt = ktimers_next_deadline();
    if (kt < deadline_ns)
        deadline_ns = kt;
    /* Interrupts off between the last check and hlt: an interrupt that
     * raises a softirq after the check stays pending until "sti; hlt",
     * and sti's one-instruction shadow means it then wakes the hlt
     * instead of being lost before it. */
    irq_disable();
    if (softirq_pending()) {
        irq_enable();
        return;
    }
    uint64_t now = clock_now_ns();
    if (deadline_ns <= now) {
        irq_enable();
        return;
    }
    if (deadline_ns != UINT64_MAX)
        lapic_timer_oneshot_ns(deadline_ns - now);
    __asm__ __volatile__("sti; hlt" ::: "memory");
    lapic_timer_oneshot_ns(0);
}
