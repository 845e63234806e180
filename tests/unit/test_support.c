/* Host implementations of kernel/dma.h, kernel/clock.h and the UNIT_TEST
 * hooks of kernel/irqflags.h. */
#include "tests/unit/test_support.h"

#include "kernel/clock.h"
#include "kernel/dma.h"
#include "kernel/irqflags.h"

#include <stdlib.h>
#include <string.h>

#define RFLAGS_IF (1u << 9)

static bool irq_on = true;
static unsigned long save_calls;

static void (*hook_save)(void), (*hook_enable)(void);

irqflags_t test_irq_save(void)
{
    irqflags_t f = irq_on ? RFLAGS_IF : 0;
    irq_on = false;
    save_calls++;
    if (hook_save)
        hook_save();
    return f;
}

void test_irq_restore(irqflags_t flags)
{
    bool was = irq_on;
    irq_on = (flags & RFLAGS_IF) != 0;
    if (irq_on && !was && hook_enable)
        hook_enable();
}

void test_irq_set_hooks(void (*on_save)(void), void (*on_enable)(void))
{
    hook_save = on_save;
    hook_enable = on_enable;
}

bool test_irq_enabled(void) { return irq_on; }
void test_irq_set(bool enabled) { irq_on = enabled; }
unsigned long test_irq_save_calls(void) { return save_calls; }

static uint64_t now_ns, tick_ns;

void clock_init(void) {}
uint64_t clock_now_ns(void) { return now_ns += tick_ns; }
uint64_t clock_now_us(void) { return (now_ns += tick_ns) / 1000; }
uint64_t clock_now_ms(void) { return (now_ns += tick_ns) / 1000000; }
void test_clock_set_tick_ns(uint64_t ns) { tick_ns = ns; }
uint64_t clock_tsc_hz(void) { return 1000000000ull; }
void clock_delay_us(uint64_t us) { now_ns += us * 1000; }
void test_clock_set_us(uint64_t us) { now_ns = us * 1000; }
void test_clock_advance_us(uint64_t us) { now_ns += us * 1000; }

static long outstanding;
static int fail_after, fail_next;
static unsigned long allocs, failures;

void *dma_alloc(size_t size, size_t align)
{
    if (fail_next > 0) {
        fail_next--;
        failures++;
        return NULL;
    }
    if (fail_after > 0 && --fail_after == 0) {
        failures++;
        return NULL;
    }
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t rounded = (size + align - 1) / align * align; /* aligned_alloc wants a multiple */
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p) {
        memset(p, 0, rounded);
        outstanding++;
        allocs++;
    }
    return p;
}

void dma_free(void *p)
{
    if (p)
        outstanding--;
    free(p);
}

uint64_t dma_addr(const void *p) { return (uint64_t)(uintptr_t)p; }
long test_dma_outstanding(void) { return outstanding; }
void test_dma_fail_after(int n) { fail_after = n; }
void test_dma_fail_next(int n) { fail_next = n; }
unsigned long test_dma_allocs(void) { return allocs; }
unsigned long test_dma_failures(void) { return failures; }
