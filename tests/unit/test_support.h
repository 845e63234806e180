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

/* Fake monotonic clock; clock_now_* read it, clock_delay_us advances it. */
void test_clock_set_us(uint64_t us);
void test_clock_advance_us(uint64_t us);

/* dma_alloc'ed blocks not yet freed (leak checks). */
long test_dma_outstanding(void);
/* Make the n-th next dma_alloc call fail (1 = the very next; 0 = none). */
void test_dma_fail_after(int n);

#endif
