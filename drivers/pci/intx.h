/* Legacy PCI INTx routing through the IOAPIC, without an AML interpreter.
 *
 * Where a device's INTx# pin lands on the IOAPIC is chipset wiring that ACPI
 * describes in AML (_PRT); we know the two chipsets QEMU emulates instead:
 *
 *  q35 (MCH 8086:29c0 + ICH9 LPC): in APIC mode PIRQ A..H are wired to GSI
 *    16..23, one each, unshared (QEMU hw/isa/lpc_ich9.c ich9_pirq_to_gsi).
 *    Which PIRQ a root-bus slot's pin drives is the ICH9's per-slot table,
 *    as QEMU initialises it (ich9_cc_init / ich9_cc_reset, and the same
 *    rotation SeaBIOS's mch_pci_slot_get_irq and QEMU's q35 DSDT use):
 *      slots 0..24:          PIRQ E + ((slot + pin) mod 4)     -> GSI 20..23
 *      slot 30 (DMI bridge): PIRQ E + pin                       -> GSI 20..23
 *      slots 25..29, 31:     D{n}IR reset value 0x3210: PIRQ A + pin -> GSI 16..19
 *    (pin 0..3 = INTA#..INTD#). Level-triggered, active-high (QEMU's DSDT
 *    GSIx link objects say so; no MADT override touches GSI >= 16).
 *
 *  pc (i440FX 8086:1237 + PIIX3/PIIX4 ISA bridge): root slot S pin P drives
 *    PIRQ (S - 1 + P) mod 4 (QEMU pci_slot_get_pirq, SeaBIOS
 *    piix_pci_slot_get_irq); the bridge's PIRQRC[A..D] registers (config
 *    0x60..0x63) hold the ISA IRQ firmware routed it to (SeaBIOS: 10,10,11,11),
 *    and that IRQ feeds the IOAPIC input of the same number unless the MADT
 *    has an interrupt source override for it. QEMU's MADT lists IRQ 5, 9, 10,
 *    11 as level-triggered, active-high; we honour whatever it says.
 *
 *  microvm (QEMU GPEX host bridge 1b36:0008, pcie=on): root slot S pin P
 *    drives GPEX line (S + P) mod 4 (pci_swizzle_map_irq_fn), and the four
 *    lines are GSI 16..19 when the machine has its second IOAPIC, else 12..15
 *    (hw/i386/microvm.c, pcie_irq_base); level, active-high. Its BIOS writes
 *    no interrupt line registers.
 *
 *  anything else: the interrupt line register (the IRQ firmware chose),
 *    through the MADT overrides, with a warning.
 *
 * Behind PCI-PCI bridges (and PCIe ports) the pin is swizzled at each hop:
 * pin = (pin + device number) mod 4, until the root bus (PCI-PCI Bridge spec
 * 1.2 §9.1; QEMU pci_swizzle_map_irq_fn).
 *
 * A GSI may be shared (pc: all slots share IRQ 10/11; q35: slots 4 apart share
 * a PIRQ), so each routed GSI gets one IDT vector whose dispatcher calls every
 * handler requested on it. Level-triggered sharing requires each handler to
 * silence its own device (virtio: read the ISR) and to tolerate being called
 * when its device did not interrupt. */
#ifndef DRIVERS_PCI_INTX_H
#define DRIVERS_PCI_INTX_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci.h"
#include "kernel/irq.h"

enum pci_intx_chipset {
    PCI_INTX_UNKNOWN = 0,   /* fall back to the interrupt line register */
    PCI_INTX_Q35,           /* ICH9 */
    PCI_INTX_PIIX,          /* i440FX + PIIX3/4 */
    PCI_INTX_GPEX,          /* microvm's generic PCIe host bridge */
};

struct pci_intx_route {
    uint32_t gsi;           /* IOAPIC input */
    bool level;
    bool active_low;
    uint8_t root_slot;      /* device number on the root bus after swizzling */
    uint8_t root_pin;       /* 1..4 = INTA#..INTD# at the root bus */
    int8_t pirq;            /* 0..7 = PIRQ A..H, -1 when not derived from a PIRQ */
    enum pci_intx_chipset chipset;
};

/* Pure parts (unit tested). pin is 1..4; returns 0..3 at the root. */
uint8_t pci_intx_swizzle(const struct pci_dev *d, uint8_t *root_slot);
/* PIRQ (0..7) that a root slot's pin (1..4) drives on q35 / on PIIX. */
int pci_intx_q35_pirq(uint8_t root_slot, uint8_t root_pin);
int pci_intx_piix_pirq(uint8_t root_slot, uint8_t root_pin);

/* Works out where d's INTx lands. 0, or -1 (no interrupt pin, or no route
 * known; reason logged). */
int pci_intx_resolve(const struct pci_dev *d, struct pci_intx_route *r);

/* Resolves d's route, attaches handler(ctx) to it (allocating the GSI's IDT
 * vector and programming the IOAPIC on first use), unmasks the GSI and clears
 * PCI_COMMAND_INTX_DISABLE. Returns the IDT vector, or -1 (no route, no free
 * vector, IOAPIC refuses the GSI, too many sharers). r may be NULL. */
int pci_intx_request(struct pci_dev *d, irq_handler_t handler, void *ctx,
                     struct pci_intx_route *r);
/* Detaches handler(ctx); the last one out masks the GSI and frees the vector.
 * Sets PCI_COMMAND_INTX_DISABLE on d. */
void pci_intx_free(struct pci_dev *d, irq_handler_t handler, void *ctx);

#endif
