/* Vector allocation and dispatch. */
#include "kernel/irq.h"

#include "kernel/irqflags.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

struct vector_slot {
    irq_handler_t handler;
    void *ctx;
};

static struct vector_slot vectors[256];
volatile uint64_t irq_spurious_count;

int irq_alloc_vector(irq_handler_t handler, void *ctx)
{
    irqflags_t f = irq_save();
    int found = -1;
    for (int v = VECTOR_DEVICE_FIRST; v <= VECTOR_DEVICE_LAST; v++) {
        if (!vectors[v].handler) {
            vectors[v] = (struct vector_slot){ handler, ctx };
            found = v;
            break;
        }
    }
    irq_restore(f);
    return found;
}

void irq_free_vector(int vector)
{
    if (vector < VECTOR_DEVICE_FIRST || vector > VECTOR_DEVICE_LAST)
        return;
    irqflags_t f = irq_save();
    vectors[vector] = (struct vector_slot){ 0 };
    irq_restore(f);
}

/* Kernel-internal fixed vectors (LAPIC timer). */
void irq_set_fixed(int vector, irq_handler_t handler, void *ctx)
{
    vectors[vector] = (struct vector_slot){ handler, ctx };
}

void trap_dispatch(struct trap_frame *f)
{
    uint64_t v = f->vector;
    if (v < 32)
        panic_exception(f);
    if (v == VECTOR_LAPIC_SPURIOUS || (v >= VECTOR_PIC_BASE && v < VECTOR_PIC_BASE + 16)) {
        /* Neither the LAPIC's spurious vector nor a masked PIC's IRQ 7/15
         * may be acknowledged with an EOI. */
        irq_spurious_count++;
        return;
    }
    struct vector_slot *s = &vectors[v];
    if (s->handler)
        s->handler(s->ctx);
    else
        irq_spurious_count++;
    lapic_eoi();
}
