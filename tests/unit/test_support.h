/* Host stand-ins for kernel services the product files use (dma, irqflags,
 * clock), with knobs for the tests. */
#ifndef TESTS_UNIT_TEST_SUPPORT_H
#define TESTS_UNIT_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Simulated RFLAGS.IF: starts enabled (main loop). */
bool test_irq_enabled(void);
void test_irq_set(bool enabled);
unsigned long test_irq_save_calls(void);
/* Hooks for modelling interrupt timing: on_save runs inside irq_save, after
 * IF was cleared (the caller's critical section has begun); on_enable runs
 * when irq_restore sets IF again (where a pending interrupt is taken).
 * NULL = none. */
void test_irq_set_hooks(void (*on_save)(void), void (*on_enable)(void));

/* Fake monotonic clock; clock_now_* read it, clock_delay_us advances it. */
void test_clock_set_us(uint64_t us);
void test_clock_advance_us(uint64_t us);
/* Every clock read advances the clock by ns (0, the default: it stands
 * still): for code that busy-waits on a deadline. */
void test_clock_set_tick_ns(uint64_t ns);

/* dma_alloc'ed blocks not yet freed (leak checks). */
long test_dma_outstanding(void);
/* Make the n-th next dma_alloc call fail (1 = the very next; 0 = none). */
void test_dma_fail_after(int n);
/* Make the next n dma_alloc calls fail (0 = none): memory pressure. */
void test_dma_fail_next(int n);
/* dma_alloc calls that returned memory / that were made to fail. */
unsigned long test_dma_allocs(void);
unsigned long test_dma_failures(void);

#endif
