/* Interrupt vectors, the local APIC and the IOAPIC.
 *
 * Device interrupt handlers run with interrupts disabled on the interrupt
 * stack; the dispatcher sends the LAPIC EOI after the handler returns. A
 * handler must not call newlib or lwIP: it records work and raises a softirq.
 * The entry stub saves the FPU/SSE state, so handlers may be ordinary C. */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*irq_handler_t)(void *ctx);

/* Allocate a free IDT vector in the device range and attach handler.
 * Returns the vector (VECTOR_DEVICE_FIRST..VECTOR_DEVICE_LAST, kernel/trap.h)
 * or -1 when the pool is exhausted. */
int irq_alloc_vector(irq_handler_t handler, void *ctx);
void irq_free_vector(int vector);

uint32_t lapic_id(void);          /* boot CPU's APIC ID, for MSI-X address */
void lapic_eoi(void);
/* Raise vector on this CPU, as a device interrupt would (an IPI to self). */
void lapic_self_ipi(int vector);

/* MSI/MSI-X message for the boot CPU (Intel SDM 10.11): fixed delivery,
 * edge, physical destination. */
uint64_t msi_address(void);
uint32_t msi_data(int vector);

/* Route an IOAPIC input (GSI) to vector on the boot CPU. PCI INTx is
 * level-triggered, active-high on QEMU's pc and q35. Returns 0, or -1 when
 * no IOAPIC serves that GSI. */
int ioapic_route(uint32_t gsi, int vector, bool level, bool active_low);
void ioapic_mask(uint32_t gsi, bool masked);

/* Counted when a vector fires with no handler attached (SPEC "spurious"). */
extern volatile uint64_t irq_spurious_count;

#endif
