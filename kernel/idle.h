#ifndef KERNEL_IDLE_H
#define KERNEL_IDLE_H

#include <stdint.h>

/* Called from the main loop with interrupts enabled when it has nothing to
 * do: halts the CPU until an interrupt or deadline_ns (absolute, clock_now_ns
 * scale; UINT64_MAX for none). Returns at once if a softirq is pending. */
void kernel_idle(uint64_t deadline_ns);

#endif
