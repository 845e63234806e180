/* PCI: configuration access, bus enumeration, BARs and capabilities.
 *
 * Calling context: everything here runs from the main loop or at boot, never
 * from an interrupt handler (mechanism #1 is an index/data register pair and
 * a BAR being sized is briefly not decoded).
 *
 * Files: pci_cfg.c is the hardware back end (0xCF8/0xCFC, or ECAM when ACPI
 * has an MCFG table); pci.c is the rest and only reaches hardware through the
 * pci_cfg_* functions below and mmio_map(), so host unit tests link it against
 * a simulated configuration space. */
#ifndef DRIVERS_PCI_PCI_H
#define DRIVERS_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/pci/pci_reg.h"

#define PCI_MAX_DEVICES 64  /* functions remembered; the rest are logged and skipped */

enum pci_bar_type {
    PCI_BAR_NONE = 0,   /* not implemented, or the upper half of a 64-bit BAR */
    PCI_BAR_IO,
    PCI_BAR_MEM32,      /* includes the obsolete below-1M type */
    PCI_BAR_MEM64,
};

struct pci_bar {
    uint64_t addr;          /* bus address = physical address (no IOMMU), or I/O port */
    uint64_t size;          /* bytes; 0 when type is PCI_BAR_NONE */
    enum pci_bar_type type;
    bool prefetchable;
};

struct pci_dev {
    uint8_t bus, dev, fn;
    uint16_t vendor_id, device_id;
    uint16_t subsystem_vendor_id, subsystem_id;   /* type-0 header only, else 0 */
    uint8_t revision;
    uint8_t class_code, subclass, prog_if;
    uint8_t header_type;        /* PCI_HEADER_TYPE_{NORMAL,BRIDGE,CARDBUS}, MFD bit stripped */
    bool multifunction;         /* of the device this function belongs to */
    uint8_t irq_line;           /* PCI_INTERRUPT_LINE as firmware left it (a PIC IRQ) */
    uint8_t irq_pin;            /* 0 none, 1..4 INTA#..INTD# */
    uint8_t secondary_bus;      /* bridges: as firmware assigned them */
    uint8_t subordinate_bus;
    struct pci_dev *parent;     /* the bridge above this function; NULL on the root bus */
    bool bars_probed;
    struct pci_bar bar[PCI_STD_NUM_BARS];   /* valid once bars_probed (pci_bar_probe) */
};

/* ---- configuration-space back end (pci_cfg.c; a fake in host unit tests) ---- */

/* Chooses ECAM when ACPI's MCFG describes segment 0 (q35), else mechanism #1
 * (pc). Called by pci_init(); harmless to call twice. */
void pci_cfg_init(void);
/* off < 256 always works; off < 4096 only with ECAM (else reads all-ones,
 * writes are dropped). Unaligned or out-of-range accesses read all-ones. */
uint8_t  pci_cfg_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
uint16_t pci_cfg_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
uint32_t pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
void pci_cfg_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint8_t v);
void pci_cfg_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint16_t v);
void pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v);

static inline uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{ return pci_cfg_read8(d->bus, d->dev, d->fn, off); }
static inline uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{ return pci_cfg_read16(d->bus, d->dev, d->fn, off); }
static inline uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{ return pci_cfg_read32(d->bus, d->dev, d->fn, off); }
static inline void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{ pci_cfg_write8(d->bus, d->dev, d->fn, off, v); }
static inline void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{ pci_cfg_write16(d->bus, d->dev, d->fn, off, v); }
static inline void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{ pci_cfg_write32(d->bus, d->dev, d->fn, off, v); }

/* Memory BARs found at 0 are placed in [base, base + size) (pci_cfg.c sets
 * this on machines whose firmware leaves PCI unassigned). */
void pci_set_mem_window(uint64_t base, uint64_t size);

/* ---- enumeration ---- */

/* Scans bus 0 and, recursively, every bus behind a PCI-PCI bridge (secondary
 * bus numbers as firmware assigned them; buses are never renumbered), logging
 * `pci: BB:DD.F vvvv:dddd class CC.SS.PP` per function. Returns the number of
 * functions remembered. Idempotent: a second call rescans from scratch. */
int pci_init(void);

unsigned pci_device_count(void);
/* Iterator in discovery order: pci_next(NULL) is the first function. */
struct pci_dev *pci_next(struct pci_dev *prev);
/* Next function after `from` (NULL: from the start) with this vendor and a
 * device ID in [device_min, device_max]. */
struct pci_dev *pci_find_device(uint16_t vendor, uint16_t device_min, uint16_t device_max,
                                struct pci_dev *from);
struct pci_dev *pci_get_slot(uint8_t bus, uint8_t dev, uint8_t fn);
/* The function at 00:00.0 (host bridge), or NULL. */
static inline struct pci_dev *pci_host_bridge(void) { return pci_get_slot(0, 0, 0); }

/* ---- capabilities ---- */

/* Offset of the first capability with this ID, or 0. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id);
/* Offset of the next capability with this ID after the one at pos, or 0.
 * Iterate vendor capabilities with:
 *   for (p = pci_find_cap(d, V); p; p = pci_find_next_cap(d, p, V)) */
uint8_t pci_find_next_cap(const struct pci_dev *d, uint8_t pos, uint8_t cap_id);

/* ---- BARs ---- */

/* Decodes and sizes every BAR once (memory/I-O decode off while sizing, the
 * command register restored after). Later calls do nothing. */
void pci_bar_probe(struct pci_dev *d);
/* The BAR (probing first), or NULL if bar >= the header's BAR count or the BAR
 * is not implemented. */
const struct pci_bar *pci_bar_get(struct pci_dev *d, unsigned bar);
/* Virtual address of a memory BAR's [off, off+len) through mmio_map(), or NULL
 * (I/O BAR, unassigned BAR at 0, range outside the BAR, mapping failure).
 * pci_bar_map() maps the whole BAR. */
void *pci_bar_map_range(struct pci_dev *d, unsigned bar, uint64_t off, uint64_t len);
void *pci_bar_map(struct pci_dev *d, unsigned bar);

/* Pure helper: size of a BAR from the value read back after writing all-ones
 * (64-bit BARs: upper half << 32 | lower half). 0: not implemented. */
uint64_t pci_bar_size_from_mask(uint64_t readback, enum pci_bar_type type);

/* ---- command register ---- */

/* Sets then clears bits in PCI_COMMAND; returns the value written. */
uint16_t pci_command_update(struct pci_dev *d, uint16_t set, uint16_t clear);
static inline void pci_enable_mem(struct pci_dev *d) { pci_command_update(d, PCI_COMMAND_MEMORY, 0); }
static inline void pci_enable_io(struct pci_dev *d) { pci_command_update(d, PCI_COMMAND_IO, 0); }
static inline void pci_set_master(struct pci_dev *d) { pci_command_update(d, PCI_COMMAND_MASTER, 0); }
/* enable = false sets PCI_COMMAND_INTX_DISABLE (MSI-X in use, or polling). */
static inline void pci_intx_enable(struct pci_dev *d, bool enable)
{
    if (enable)
        pci_command_update(d, 0, PCI_COMMAND_INTX_DISABLE);
    else
        pci_command_update(d, PCI_COMMAND_INTX_DISABLE, 0);
}

#endif
