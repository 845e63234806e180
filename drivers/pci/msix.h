/* MSI-X (PCI 3.0 §6.8.2): a table of (address, data, mask) entries in one of
 * the function's memory BARs; the device raises interrupt i by writing entry
 * i's data to entry i's address, which the LAPIC turns into an IDT vector.
 *
 * Sequence used by the virtio transport (and Linux's msix_capability_init):
 *   msix_init()              find the capability, map table and PBA
 *   msix_enable()            Enable + Function Mask: nothing can fire yet
 *   msix_set_vector(e, v)    per entry: program it (left masked)
 *   msix_unmask(e)
 *   msix_function_unmask()   now entries deliver
 * msix_disable() undoes it; the device then falls back to INTx.
 *
 * msix_mask()/msix_unmask()/msix_pending() only touch the mapped table and may
 * be called from interrupt handlers; the rest is main-loop/boot only. */
#ifndef DRIVERS_PCI_MSIX_H
#define DRIVERS_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci.h"

struct msix {
    struct pci_dev *dev;
    uint8_t cap;                            /* config offset of the capability */
    uint16_t table_size;                    /* entries, 1..2048 */
    volatile struct pci_msix_entry *table;  /* mapped: written by driver */
    volatile uint32_t *pba;                 /* mapped: Pending Bit Array, written by device */
};

/* Finds the MSI-X capability and maps the table and PBA through their BARs
 * (enabling memory decode). 0, or -1 when the function has no MSI-X or the
 * table cannot be mapped (logged at debug/warn). Leaves MSI-X disabled. */
int msix_init(struct msix *m, struct pci_dev *dev);

/* MSI-X Enable with Function Mask set and every entry masked; also sets bus
 * master (MSI writes are DMA) and PCI_COMMAND_INTX_DISABLE. */
void msix_enable(struct msix *m);
/* Clears Function Mask: unmasked entries may now deliver (and any message
 * that became pending while masked is sent). */
void msix_function_unmask(struct msix *m);
/* Masks every entry, clears Enable and Function Mask (the function is back on
 * INTx; PCI_COMMAND_INTX_DISABLE is left for the caller to decide). */
void msix_disable(struct msix *m);

/* Programs entry with the boot CPU's message for IDT vector `vector`
 * (msi_address()/msi_data()). The entry is masked first and left masked.
 * 0, or -1 if entry >= table_size or vector is out of range. */
int msix_set_vector(struct msix *m, unsigned entry, int vector);
/* Raw form: any message. Same masking rule. */
int msix_set_message(struct msix *m, unsigned entry, uint64_t addr, uint32_t data);

void msix_mask(struct msix *m, unsigned entry);
void msix_unmask(struct msix *m, unsigned entry);
bool msix_is_masked(const struct msix *m, unsigned entry);
/* Pending bit: the device wanted to send entry while it was masked. */
bool msix_pending(const struct msix *m, unsigned entry);

#endif
