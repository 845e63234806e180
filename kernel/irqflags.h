/* Local interrupt enable/disable. The kernel runs on one CPU, so disabling
 * interrupts is the lock that protects data shared between an interrupt
 * handler and the main loop (NAPI poll list, softirq pending mask).
 *
 * Host unit tests define UNIT_TEST and provide test_irq_save/restore, which
 * also let a test check that a section really ran with interrupts off. */
#ifndef KERNEL_IRQFLAGS_H
#define KERNEL_IRQFLAGS_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t irqflags_t;

#ifndef UNIT_TEST
static inline irqflags_t irq_save(void)
{
    irqflags_t flags;
    __asm__ __volatile__("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
    return flags;
}

static inline void irq_restore(irqflags_t flags)
{
    if (flags & (1u << 9)) /* RFLAGS.IF */
        __asm__ __volatile__("sti" ::: "memory");
}

static inline void irq_disable(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ __volatile__("sti" ::: "memory"); }
#else
irqflags_t test_irq_save(void);
void test_irq_restore(irqflags_t flags);
#define irq_save() test_irq_save()
#define irq_restore(f) test_irq_restore(f)
#define irq_disable() ((void)test_irq_save())
#define irq_enable() test_irq_restore(1u << 9)
#endif

#endif
