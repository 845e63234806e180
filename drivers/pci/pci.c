/* PCI enumeration, capability walk, BAR decoding (see pci.h).
 * Reaches hardware only through pci_cfg_*() and mmio_map(). */
#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci.h"
#include "kernel/log.h"
#include "kernel/mm.h"

static struct pci_dev devices[PCI_MAX_DEVICES];
static unsigned ndevices;
static unsigned nskipped;
static uint8_t bus_seen[PCI_MAX_BUS / 8];   /* loop guard: a bus is scanned once */
/* Where unassigned memory BARs go, when no firmware assigned them (microvm's
 * GPEX: its BIOS does not enumerate PCIe). Empty: leave BARs as they are. */
static uint64_t mem_next, mem_end;

void pci_set_mem_window(uint64_t base, uint64_t size)
{
    mem_next = base;
    mem_end = base + size;
}

/* ---- enumeration ---- */

static struct pci_dev *record(uint8_t bus, uint8_t dev, uint8_t fn, struct pci_dev *parent,
                              bool multifunction)
{
    uint32_t id = pci_cfg_read32(bus, dev, fn, PCI_VENDOR_ID);
    uint32_t class_rev = pci_cfg_read32(bus, dev, fn, PCI_REVISION_ID);
    uint8_t class_code = (uint8_t)(class_rev >> 24);
    uint8_t subclass = (uint8_t)(class_rev >> 16);
    uint8_t prog_if = (uint8_t)(class_rev >> 8);

    log_info("pci: %02x:%02x.%x %04x:%04x class %02x.%02x.%02x", bus, dev, fn,
             (unsigned)(id & 0xffff), (unsigned)(id >> 16), class_code, subclass, prog_if);
    if (ndevices == PCI_MAX_DEVICES) {
        nskipped++;
        return NULL;
    }

    struct pci_dev *d = &devices[ndevices++];
    *d = (struct pci_dev){
        .bus = bus, .dev = dev, .fn = fn,
        .vendor_id = (uint16_t)id, .device_id = (uint16_t)(id >> 16),
        .revision = (uint8_t)class_rev,
        .class_code = class_code, .subclass = subclass, .prog_if = prog_if,
        .header_type = pci_cfg_read8(bus, dev, fn, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MASK,
        .multifunction = multifunction,
        .parent = parent,
    };
    if (d->header_type == PCI_HEADER_TYPE_NORMAL) {
        d->subsystem_vendor_id = pci_cfg_read16(bus, dev, fn, PCI_SUBSYSTEM_VENDOR_ID);
        d->subsystem_id = pci_cfg_read16(bus, dev, fn, PCI_SUBSYSTEM_ID);
    }
    if (d->header_type == PCI_HEADER_TYPE_NORMAL || d->header_type == PCI_HEADER_TYPE_BRIDGE) {
        d->irq_line = pci_cfg_read8(bus, dev, fn, PCI_INTERRUPT_LINE);
        d->irq_pin = pci_cfg_read8(bus, dev, fn, PCI_INTERRUPT_PIN);
        if (d->irq_pin > 4)
            d->irq_pin = 0;
    }
    if (d->header_type == PCI_HEADER_TYPE_BRIDGE) {
        d->secondary_bus = pci_cfg_read8(bus, dev, fn, PCI_SECONDARY_BUS);
        d->subordinate_bus = pci_cfg_read8(bus, dev, fn, PCI_SUBORDINATE_BUS);
    }
    return d;
}

static void scan_bus(uint8_t bus, struct pci_dev *parent);

static void scan_function(uint8_t bus, uint8_t dev, uint8_t fn, struct pci_dev *parent,
                          bool multifunction)
{
    struct pci_dev *d = record(bus, dev, fn, parent, multifunction);
    if (!d || d->header_type != PCI_HEADER_TYPE_BRIDGE)
        return;
    /* Firmware numbered the buses (SeaBIOS does); an unconfigured bridge has
     * secondary 0, and one pointing at or below its own bus would loop. */
    if (d->secondary_bus <= bus) {
        log_warn("pci: %02x:%02x.%x bridge has no usable secondary bus (%02x), skipped",
                 bus, dev, fn, d->secondary_bus);
        return;
    }
    log_debug("pci: %02x:%02x.%x bridge to buses %02x-%02x", bus, dev, fn,
              d->secondary_bus, d->subordinate_bus);
    scan_bus(d->secondary_bus, d);
}

/* Recursion depth is bounded by the bus count (each bus scanned once, and a
 * secondary bus is always greater than its parent's). */
static void scan_bus(uint8_t bus, struct pci_dev *parent)
{
    if (bus_seen[bus / 8] & (1u << (bus % 8)))
        return;
    bus_seen[bus / 8] |= (uint8_t)(1u << (bus % 8));

    for (uint8_t dev = 0; dev < PCI_MAX_DEV; dev++) {
        if (pci_cfg_read16(bus, dev, 0, PCI_VENDOR_ID) == 0xffff)
            continue;
        /* Functions 1..7 exist only if function 0 says so: a single-function
         * device may decode any function number and would show up 8 times. */
        bool mf = pci_cfg_read8(bus, dev, 0, PCI_HEADER_TYPE) & PCI_HEADER_TYPE_MFD;
        for (uint8_t fn = 0; fn < (mf ? PCI_MAX_FN : 1); fn++) {
            if (fn && pci_cfg_read16(bus, dev, fn, PCI_VENDOR_ID) == 0xffff)
                continue;
            scan_function(bus, dev, fn, parent, mf);
        }
    }
}

int pci_init(void)
{
    pci_cfg_init();
    ndevices = 0;
    nskipped = 0;
    __builtin_memset(bus_seen, 0, sizeof bus_seen);
    scan_bus(0, NULL);
    if (nskipped)
        log_warn("pci: %u functions beyond the first %u not remembered", nskipped,
                 PCI_MAX_DEVICES);
    return (int)ndevices;
}

unsigned pci_device_count(void)
{
    return ndevices;
}

struct pci_dev *pci_next(struct pci_dev *prev)
{
    size_t i = prev ? (size_t)(prev - devices) + 1 : 0;
    return i < ndevices ? &devices[i] : NULL;
}

struct pci_dev *pci_find_device(uint16_t vendor, uint16_t device_min, uint16_t device_max,
                                struct pci_dev *from)
{
    for (struct pci_dev *d = pci_next(from); d; d = pci_next(d))
        if (d->vendor_id == vendor && d->device_id >= device_min && d->device_id <= device_max)
            return d;
    return NULL;
}

struct pci_dev *pci_get_slot(uint8_t bus, uint8_t dev, uint8_t fn)
{
    for (struct pci_dev *d = pci_next(NULL); d; d = pci_next(d))
        if (d->bus == bus && d->dev == dev && d->fn == fn)
            return d;
    return NULL;
}

/* ---- capabilities ---- */

/* Walks the list from its head and returns the first capability with this ID
 * that comes after `after` (0: from the start). Walking from the head with a
 * visited set, rather than from `after`'s next pointer, makes a list that
 * loops back on itself end for iterating callers too, not just within one
 * call. */
static uint8_t walk_caps(const struct pci_dev *d, uint8_t after, uint8_t cap_id)
{
    uint64_t visited = 0;   /* one bit per dword in 0x40..0xff */
    bool passed = after == 0;
    uint8_t pos = pci_read8(d, PCI_CAPABILITY_LIST);
    for (int ttl = PCI_FIND_CAP_TTL; ttl > 0; ttl--) {
        pos &= ~3u;                 /* bottom two bits are reserved */
        if (pos < PCI_CAP_PTR_MIN)  /* 0 ends the list; lower is the header */
            return 0;
        uint64_t bit = 1ull << ((pos - PCI_CAP_PTR_MIN) / 4);
        if (visited & bit)
            return 0;
        visited |= bit;
        uint16_t hdr = pci_read16(d, pos);
        if ((hdr & 0xff) == 0xff)   /* function vanished / all-ones read */
            return 0;
        if (passed && (hdr & 0xff) == cap_id)
            return pos;
        if (pos == after)
            passed = true;
        pos = (uint8_t)(hdr >> 8);
    }
    return 0;
}

static bool has_cap_list(const struct pci_dev *d)
{
    /* CardBus keeps its list pointer elsewhere; nothing here uses CardBus. */
    return d->header_type != PCI_HEADER_TYPE_CARDBUS &&
           (pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST);
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t cap_id)
{
    return has_cap_list(d) ? walk_caps(d, 0, cap_id) : 0;
}

uint8_t pci_find_next_cap(const struct pci_dev *d, uint8_t pos, uint8_t cap_id)
{
    if (pos < PCI_CAP_PTR_MIN || !has_cap_list(d))
        return 0;
    return walk_caps(d, pos, cap_id);
}

/* ---- BARs ---- */

uint64_t pci_bar_size_from_mask(uint64_t readback, enum pci_bar_type type)
{
    uint64_t mask;
    switch (type) {
    case PCI_BAR_IO:
        /* Devices decoding 16-bit I/O return 0 in the upper half: the
         * lowest writable bit still gives the size. */
        mask = readback & PCI_BASE_ADDRESS_IO_MASK & 0xffffffffu;
        break;
    case PCI_BAR_MEM32:
        mask = readback & PCI_BASE_ADDRESS_MEM_MASK & 0xffffffffu;
        break;
    case PCI_BAR_MEM64:
        mask = readback & PCI_BASE_ADDRESS_MEM_MASK;
        break;
    default:
        return 0;
    }
    return mask & (~mask + 1);      /* lowest set bit */
}

static unsigned bar_count(const struct pci_dev *d)
{
    switch (d->header_type) {
    case PCI_HEADER_TYPE_NORMAL: return PCI_STD_NUM_BARS;
    case PCI_HEADER_TYPE_BRIDGE: return PCI_BRIDGE_NUM_BARS;
    default: return 0;
    }
}

void pci_bar_probe(struct pci_dev *d)
{
    if (d->bars_probed)
        return;
    d->bars_probed = true;
    unsigned n = bar_count(d);
    if (!n)
        return;

    /* Sizing writes all-ones into the BAR: with decode on, the device would
     * answer at a bogus address for a moment (PCI 3.0 §6.2.5.1). */
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY))
        pci_write16(d, PCI_COMMAND, cmd & (uint16_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));

    for (unsigned i = 0; i < n; i++) {
        uint16_t off = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * i);
        struct pci_bar *b = &d->bar[i];
        unsigned idx = i;
        uint32_t lo = pci_read32(d, off);
        pci_write32(d, off, 0xffffffffu);
        uint32_t lo_mask = pci_read32(d, off);
        pci_write32(d, off, lo);

        if ((lo & PCI_BASE_ADDRESS_SPACE) == PCI_BASE_ADDRESS_SPACE_IO) {
            b->type = PCI_BAR_IO;
            b->addr = lo & PCI_BASE_ADDRESS_IO_MASK & 0xffffffffu;
            b->size = pci_bar_size_from_mask(lo_mask, PCI_BAR_IO);
        } else if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64) {
            if (i + 1 >= n) {   /* 64-bit BAR in the last slot: malformed */
                *b = (struct pci_bar){0};
                continue;
            }
            uint32_t hi = pci_read32(d, (uint16_t)(off + 4));
            pci_write32(d, (uint16_t)(off + 4), 0xffffffffu);
            uint32_t hi_mask = pci_read32(d, (uint16_t)(off + 4));
            pci_write32(d, (uint16_t)(off + 4), hi);
            b->type = PCI_BAR_MEM64;
            b->addr = (((uint64_t)hi << 32) | lo) & PCI_BASE_ADDRESS_MEM_MASK;
            b->size = pci_bar_size_from_mask(((uint64_t)hi_mask << 32) | lo_mask, PCI_BAR_MEM64);
            b->prefetchable = lo & PCI_BASE_ADDRESS_MEM_PREFETCH;
            d->bar[++i] = (struct pci_bar){0};  /* upper half: not a BAR of its own */
        } else {
            b->type = PCI_BAR_MEM32;
            b->addr = lo & PCI_BASE_ADDRESS_MEM_MASK & 0xffffffffu;
            b->size = pci_bar_size_from_mask(lo_mask, PCI_BAR_MEM32);
            b->prefetchable = lo & PCI_BASE_ADDRESS_MEM_PREFETCH;
        }
        if (!b->size) {
            *b = (struct pci_bar){0};
            continue;
        }
        if (b->type != PCI_BAR_IO && b->addr == 0 && mem_end) {
            /* Natural alignment (PCI 3.0 §6.2.5.1); the window is below 4 GiB,
             * so a 64-bit BAR's upper half is 0. */
            uint64_t a = (mem_next + b->size - 1) & ~(b->size - 1);
            if (a >= mem_next && a + b->size <= mem_end && a + b->size > a) {
                pci_write32(d, off, (uint32_t)a | (lo & ~PCI_BASE_ADDRESS_MEM_MASK & 0xfu));
                if (b->type == PCI_BAR_MEM64)
                    pci_write32(d, (uint16_t)(off + 4), 0);
                b->addr = a;
                mem_next = a + b->size;
                log_debug("pci: %02x:%02x.%x BAR%u assigned 0x%llx", d->bus, d->dev, d->fn, idx,
                          (unsigned long long)a);
            }
        }
        log_debug("pci: %02x:%02x.%x BAR%u %s 0x%llx size 0x%llx%s", d->bus, d->dev, d->fn, idx,
                  b->type == PCI_BAR_IO ? "io" :
                  b->type == PCI_BAR_MEM64 ? "mem64" : "mem32", (unsigned long long)b->addr,
                  (unsigned long long)b->size, b->prefetchable ? " prefetchable" : "");
    }

    if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY))
        pci_write16(d, PCI_COMMAND, cmd);
}

const struct pci_bar *pci_bar_get(struct pci_dev *d, unsigned bar)
{
    if (bar >= bar_count(d))
        return NULL;
    pci_bar_probe(d);
    return d->bar[bar].type == PCI_BAR_NONE ? NULL : &d->bar[bar];
}

void *pci_bar_map_range(struct pci_dev *d, unsigned bar, uint64_t off, uint64_t len)
{
    const struct pci_bar *b = pci_bar_get(d, bar);
    if (!b || b->type == PCI_BAR_IO || len == 0 || off > b->size || len > b->size - off)
        return NULL;
    if (b->addr == 0) {     /* firmware left it unassigned: 0 is RAM, never map it */
        log_warn("pci: %02x:%02x.%x BAR%u is unassigned", d->bus, d->dev, d->fn, bar);
        return NULL;
    }
    return mmio_map(b->addr + off, len);
}

void *pci_bar_map(struct pci_dev *d, unsigned bar)
{
    const struct pci_bar *b = pci_bar_get(d, bar);
    return b ? pci_bar_map_range(d, bar, 0, b->size) : NULL;
}

/* ---- command register ---- */

uint16_t pci_command_update(struct pci_dev *d, uint16_t set, uint16_t clear)
{
    uint16_t old = pci_read16(d, PCI_COMMAND);
    uint16_t cmd = (uint16_t)((old | set) & ~clear);
    if (cmd != old)
        pci_write16(d, PCI_COMMAND, cmd);
    return cmd;
}
