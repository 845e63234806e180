/* Monotonic clock from the TSC; its rate from CPUID or the PIT (clock.c). */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include <stdint.h>

void clock_init(void);              /* boot CPU, interrupts off */
uint64_t clock_now_ns(void);        /* since reset (TSC counts from reset) */
uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);
uint64_t clock_tsc_hz(void);
const char *clock_source(void);     /* where clock_tsc_hz() came from */
void clock_delay_us(uint64_t us);   /* busy wait; boot-time device init only */

#endif
