/* PCI configuration access: ECAM when ACPI's MCFG lists segment 0 (q35),
 * configuration mechanism #1 (ports 0xCF8/0xCFC) otherwise (pc/i440FX).
 * QEMU's microvm (pcie=on) has neither an MCFG nor ports 0xCF8: its GPEX host
 * bridge sits at a fixed ECAM window (hw/i386/microvm.c, PCIe ECAM at
 * 0xe0000000, 256 buses), taken only when a GPEX host bridge answers there.
 *
 * ECAM is mapped lazily, one 1 MiB bus window at a time, on first access to
 * that bus: a q35 segment is 256 MiB and we touch two or three buses. A bus
 * whose window cannot be mapped falls back to mechanism #1 for good (which
 * only reaches the first 256 bytes). */
#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci.h"
#include "kernel/acpi.h"
#include "kernel/io.h"
#include "kernel/irqflags.h"
#include "kernel/log.h"
#include "kernel/mm.h"

/* ACPI MCFG (PCI Firmware Spec 3.0 §4.1.2): header, 8 reserved bytes, then
 * one allocation per segment/bus range. */
struct mcfg_alloc {
    uint64_t base;          /* ECAM address of bus 0 of this segment */
    uint16_t segment;
    uint8_t start_bus;
    uint8_t end_bus;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mcfg_alloc) == 16, "MCFG allocation is 16 bytes");
#define MCFG_ALLOC_OFFSET 44

#define MICROVM_ECAM_BASE 0xe0000000ull
#define MICROVM_MMIO32_BASE 0xc0000000ull   /* GPEX 32-bit MMIO window, 512 MiB */
#define MICROVM_MMIO32_SIZE 0x20000000ull
#define GPEX_HOST_VENDOR 0x1b36       /* Red Hat, Inc. */
#define GPEX_HOST_DEVICE 0x0008       /* QEMU PCIe host bridge */

static struct {
    bool inited;
    bool ecam;
    uint64_t ecam_base;
    uint8_t start_bus, end_bus;
    volatile uint8_t *bus_window[PCI_MAX_BUS];
    bool bus_unmappable[PCI_MAX_BUS];
} cfg;

static uint32_t conf1_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width);

/* Mechanism #1 exists when its address register keeps what is written. */
static bool conf1_present(void)
{
    irqflags_t f = irq_save();
    uint32_t saved = inl(PCI_CONF1_ADDRESS_PORT);
    outl(PCI_CONF1_ADDRESS_PORT, PCI_CONF1_ENABLE);
    bool ok = inl(PCI_CONF1_ADDRESS_PORT) == PCI_CONF1_ENABLE;
    outl(PCI_CONF1_ADDRESS_PORT, saved);
    irq_restore(f);
    return ok || conf1_read(0, 0, 0, PCI_VENDOR_ID, 2) != 0xffff;
}

static bool gpex_at(uint64_t base)
{
    volatile uint8_t *w = mmio_map(base, PCI_ECAM_BUS_SIZE);
    if (!w)
        return false;
    return mmio_read16(w + PCI_VENDOR_ID) == GPEX_HOST_VENDOR &&
           mmio_read16(w + PCI_DEVICE_ID) == GPEX_HOST_DEVICE;
}

void pci_cfg_init(void)
{
    if (cfg.inited)
        return;
    cfg.inited = true;

    const struct acpi_sdt_header *mcfg = acpi_find_table("MCFG");
    if (!mcfg) {
        if (!conf1_present() && gpex_at(MICROVM_ECAM_BASE)) {
            cfg.ecam = true;
            cfg.ecam_base = MICROVM_ECAM_BASE;
            cfg.start_bus = 0;
            cfg.end_bus = 0xff;
            pci_set_mem_window(MICROVM_MMIO32_BASE, MICROVM_MMIO32_SIZE);
            log_info("pci: config access via ECAM at 0x%llx, buses 00-ff (no ACPI MCFG, "
                     "no ports 0xcf8: microvm's GPEX window)", MICROVM_ECAM_BASE);
            return;
        }
        log_info("pci: config access via ports 0xcf8/0xcfc (no ACPI MCFG)");
        return;
    }
    const uint8_t *p = (const uint8_t *)mcfg + MCFG_ALLOC_OFFSET;
    const uint8_t *end = (const uint8_t *)mcfg + mcfg->length;
    for (; p + sizeof(struct mcfg_alloc) <= end; p += sizeof(struct mcfg_alloc)) {
        struct mcfg_alloc a;
        __builtin_memcpy(&a, p, sizeof a);
        if (a.segment != 0 || a.base == 0 || a.start_bus > a.end_bus)
            continue;   /* only segment 0 is reachable by anything else we do */
        cfg.ecam = true;
        cfg.ecam_base = a.base;
        cfg.start_bus = a.start_bus;
        cfg.end_bus = a.end_bus;
        log_info("pci: config access via ECAM at 0x%llx, buses %02x-%02x",
                 (unsigned long long)a.base, a.start_bus, a.end_bus);
        return;
    }
    log_info("pci: config access via ports 0xcf8/0xcfc (MCFG has no segment 0)");
}

/* ECAM address of (bus, dev, fn, off), or NULL to use mechanism #1. */
static volatile uint8_t *ecam_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    if (!cfg.ecam || bus < cfg.start_bus || bus > cfg.end_bus || cfg.bus_unmappable[bus])
        return NULL;
    volatile uint8_t *w = cfg.bus_window[bus];
    if (!w) {
        uint64_t phys = cfg.ecam_base + ((uint64_t)bus << PCI_ECAM_BUS_SHIFT);
        w = mmio_map(phys, PCI_ECAM_BUS_SIZE);
        if (!w) {
            log_warn("pci: cannot map ECAM for bus %02x, using ports", bus);
            cfg.bus_unmappable[bus] = true;
            return NULL;
        }
        cfg.bus_window[bus] = w;
    }
    return w + ((uint32_t)dev << PCI_ECAM_DEV_SHIFT) + ((uint32_t)fn << PCI_ECAM_FN_SHIFT) + off;
}

/* Checks shared by every access: in range for the mechanism and naturally
 * aligned (an ECAM access must not cross a dword; mechanism #1 cannot). */
static bool valid(uint8_t dev, uint8_t fn, uint16_t off, unsigned width, bool ecam)
{
    if (dev >= PCI_MAX_DEV || fn >= PCI_MAX_FN || (off & (width - 1)))
        return false;
    return off + width <= (ecam ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE);
}

static uint32_t conf1_address(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    return PCI_CONF1_ENABLE | ((uint32_t)bus << 16) | ((uint32_t)dev << 11) |
           ((uint32_t)fn << 8) | (off & 0xfc);
}

/* Mechanism #1 is an index/data pair: the address write and the data access
 * must not be split by another config access, so interrupts are off across
 * both (no handler does config accesses today; this keeps it true if one
 * ever does). */
static uint32_t conf1_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width)
{
    uint32_t v;
    irqflags_t f = irq_save();
    outl(PCI_CONF1_ADDRESS_PORT, conf1_address(bus, dev, fn, off));
    uint16_t port = (uint16_t)(PCI_CONF1_DATA_PORT + (off & 3));
    if (width == 1)
        v = inb(port);
    else if (width == 2)
        v = inw(port);
    else
        v = inl(port);
    irq_restore(f);
    return v;
}

static void conf1_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width, uint32_t v)
{
    irqflags_t f = irq_save();
    outl(PCI_CONF1_ADDRESS_PORT, conf1_address(bus, dev, fn, off));
    uint16_t port = (uint16_t)(PCI_CONF1_DATA_PORT + (off & 3));
    if (width == 1)
        outb(port, (uint8_t)v);
    else if (width == 2)
        outw(port, (uint16_t)v);
    else
        outl(port, v);
    irq_restore(f);
}

static uint32_t cfg_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width)
{
    uint32_t ones = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
    volatile uint8_t *a = ecam_addr(bus, dev, fn, off);
    if (!valid(dev, fn, off, width, a != NULL))
        return ones;
    if (!a)
        return conf1_read(bus, dev, fn, off, width);
    if (width == 1)
        return mmio_read8(a);
    if (width == 2)
        return mmio_read16(a);
    return mmio_read32(a);
}

static void cfg_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned width, uint32_t v)
{
    volatile uint8_t *a = ecam_addr(bus, dev, fn, off);
    if (!valid(dev, fn, off, width, a != NULL))
        return;
    if (!a) {
        conf1_write(bus, dev, fn, off, width, v);
        return;
    }
    if (width == 1)
        mmio_write8(a, (uint8_t)v);
    else if (width == 2)
        mmio_write16(a, (uint16_t)v);
    else
        mmio_write32(a, v);
}

uint8_t pci_cfg_read8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{ return (uint8_t)cfg_read(bus, dev, fn, off, 1); }
uint16_t pci_cfg_read16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{ return (uint16_t)cfg_read(bus, dev, fn, off, 2); }
uint32_t pci_cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{ return cfg_read(bus, dev, fn, off, 4); }
void pci_cfg_write8(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint8_t v)
{ cfg_write(bus, dev, fn, off, 1, v); }
void pci_cfg_write16(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint16_t v)
{ cfg_write(bus, dev, fn, off, 2, v); }
void pci_cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{ cfg_write(bus, dev, fn, off, 4, v); }
