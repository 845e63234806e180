/* Kernel-internal LAPIC/IOAPIC/PIC setup; devices use kernel/irq.h. */
#ifndef KERNEL_LAPIC_H
#define KERNEL_LAPIC_H

#include <stdint.h>

#include "kernel/irq.h"

void pic_disable(void);
void lapic_init(void);
void ioapic_init(void);
/* Arm the one-shot timer to fire no earlier than ns from now (0: disarm). */
void lapic_timer_oneshot_ns(uint64_t ns);
void irq_set_fixed(int vector, irq_handler_t handler, void *ctx);

#endif
