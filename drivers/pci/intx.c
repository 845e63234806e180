/* PCI INTx -> IOAPIC routing for QEMU's q35, pc and microvm (see intx.h for
 * the wiring and where it comes from). */
#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/intx.h"
#include "kernel/acpi.h"
#include "kernel/irq.h"
#include "kernel/log.h"

#define PCI_VENDOR_ID_INTEL             0x8086
#define PCI_DEVICE_ID_INTEL_82441       0x1237  /* i440FX host bridge (pc) */
#define PCI_DEVICE_ID_INTEL_Q35_MCH     0x29c0  /* q35 host bridge */
#define PCI_DEVICE_ID_INTEL_82371SB_0   0x7000  /* PIIX3 ISA bridge */
#define PCI_DEVICE_ID_INTEL_82371AB_0   0x7110  /* PIIX4 ISA bridge */
#define PCI_DEVICE_ID_INTEL_ICH9_LPC    0x2918  /* ICH9 LPC (q35, 00:1f.0) */

/* PIIX3/4 PIRQRC[A-D] and ICH9 PIRQ[A-D]_ROUT / PIRQ[E-H]_ROUT: one byte each,
 * bits 3:0 the ISA IRQ, bit 7 set = not routed to the PIC. */
#define PIRQ_ROUT_A_D           0x60
#define ICH9_PIRQ_ROUT_E_H      0x68
#define PIRQ_ROUT_DISABLE       0x80
#define PIRQ_ROUT_IRQ_MASK      0x0f

#define Q35_PIRQ_GSI_BASE       16      /* APIC mode: PIRQ A..H = GSI 16..23 */
#define PCI_VENDOR_ID_REDHAT    0x1b36
#define PCI_DEVICE_ID_GPEX      0x0008
#define GPEX_GSI_BASE_ONE_IOAPIC 12     /* microvm: 12..15, or 16..19 with ioapic2 */
#define GPEX_GSI_BASE_TWO_IOAPICS 16
#define MADT_TYPE_IOAPIC        1

/* ---- pure parts ---- */

uint8_t pci_intx_swizzle(const struct pci_dev *d, uint8_t *root_slot)
{
    unsigned pin = (unsigned)(d->irq_pin - 1) & 3u;
    for (; d->parent; d = d->parent)
        pin = (pin + d->dev) & 3u;
    *root_slot = d->dev;
    return (uint8_t)pin;
}

int pci_intx_q35_pirq(uint8_t root_slot, uint8_t root_pin)
{
    unsigned pin = (unsigned)(root_pin - 1) & 3u;
    if (root_slot <= 24)
        return 4 + (int)((root_slot + pin) & 3u);
    if (root_slot == 30)
        return 4 + (int)pin;
    return (int)pin;    /* D25..D29, D31 IR registers at reset: INTA->PIRQA ... */
}

int pci_intx_piix_pirq(uint8_t root_slot, uint8_t root_pin)
{
    unsigned pin = (unsigned)(root_pin - 1) & 3u;
    return (int)((root_slot + 3u + pin) & 3u);   /* (slot - 1 + pin) mod 4 */
}

/* ---- MADT interrupt source overrides (ACPI 6.x §5.2.12.5) ---- */

#define MADT_ENTRIES_OFFSET     44      /* SDT header, local APIC address, flags */
#define MADT_TYPE_ISO           2
#define MPS_INTI_POLARITY_MASK  0x3
#define MPS_INTI_POLARITY_LOW   0x3
#define MPS_INTI_TRIGGER_SHIFT  2
#define MPS_INTI_TRIGGER_MASK   0x3
#define MPS_INTI_TRIGGER_EDGE   0x1

/* Applies the override for ISA IRQ `irq`, if any. Without one the IRQ is the
 * GSI of the same number. A field that "conforms to the bus" is read as PCI
 * on QEMU: level, active-high (what QEMU's DSDT link objects declare), since
 * a PCI interrupt routed onto an ISA line is not an ISA interrupt. */
static void isa_irq_to_gsi(uint8_t irq, struct pci_intx_route *r)
{
    r->gsi = irq;
    r->level = true;
    r->active_low = false;

    const struct acpi_sdt_header *madt = acpi_find_table("APIC");
    if (!madt)
        return;
    const uint8_t *p = (const uint8_t *)madt + MADT_ENTRIES_OFFSET;
    const uint8_t *end = (const uint8_t *)madt + madt->length;
    while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
        if (p[0] == MADT_TYPE_ISO && p[1] >= 10 && p[2] == 0 /* ISA */ && p[3] == irq) {
            uint32_t gsi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                           (uint32_t)p[7] << 24;
            uint16_t flags = (uint16_t)(p[8] | p[9] << 8);
            unsigned trig = (flags >> MPS_INTI_TRIGGER_SHIFT) & MPS_INTI_TRIGGER_MASK;
            r->gsi = gsi;
            r->level = trig != MPS_INTI_TRIGGER_EDGE;
            r->active_low = (flags & MPS_INTI_POLARITY_MASK) == MPS_INTI_POLARITY_LOW;
            if (!r->level)
                log_warn("pci: MADT says IRQ %u is edge-triggered; INTx may be lost", irq);
            return;
        }
        p += p[1];
    }
}

static unsigned madt_ioapics(void)
{
    const struct acpi_sdt_header *madt = acpi_find_table("APIC");
    unsigned n = 0;
    if (!madt)
        return 0;
    const uint8_t *p = (const uint8_t *)madt + MADT_ENTRIES_OFFSET;
    const uint8_t *end = (const uint8_t *)madt + madt->length;
    for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1])
        n += p[0] == MADT_TYPE_IOAPIC;
    return n;
}

/* ---- resolution ---- */

static enum pci_intx_chipset chipset(void)
{
    const struct pci_dev *hb = pci_host_bridge();
    if (hb && hb->vendor_id == PCI_VENDOR_ID_INTEL) {
        if (hb->device_id == PCI_DEVICE_ID_INTEL_Q35_MCH)
            return PCI_INTX_Q35;
        if (hb->device_id == PCI_DEVICE_ID_INTEL_82441)
            return PCI_INTX_PIIX;
    }
    if (hb && hb->vendor_id == PCI_VENDOR_ID_REDHAT && hb->device_id == PCI_DEVICE_ID_GPEX)
        return PCI_INTX_GPEX;
    return PCI_INTX_UNKNOWN;
}

/* Cross-check on q35: firmware also routed our PIRQ to a PIC IRQ and wrote
 * that IRQ into the interrupt line register, so the two must agree if our
 * slot table is right. Only a warning: the GSI we use does not depend on it. */
static void q35_check(const struct pci_dev *d, int pirq)
{
    struct pci_dev *lpc = pci_find_device(PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_ICH9_LPC,
                                          PCI_DEVICE_ID_INTEL_ICH9_LPC, NULL);
    if (!lpc)
        return;
    uint16_t reg = (uint16_t)(pirq < 4 ? PIRQ_ROUT_A_D + pirq : ICH9_PIRQ_ROUT_E_H + pirq - 4);
    uint8_t rout = pci_read8(lpc, reg);
    if (rout & PIRQ_ROUT_DISABLE || d->irq_line == 0 || d->irq_line == 0xff)
        return;
    if ((rout & PIRQ_ROUT_IRQ_MASK) != d->irq_line)
        log_warn("pci: %02x:%02x.%x PIRQ%c is routed to IRQ %u but the line register says %u;"
                 " using GSI %u", d->bus, d->dev, d->fn, 'A' + pirq, rout & PIRQ_ROUT_IRQ_MASK,
                 d->irq_line, Q35_PIRQ_GSI_BASE + pirq);
}

static struct pci_dev *piix_isa_bridge(void)
{
    struct pci_dev *b = pci_find_device(PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_82371SB_0,
                                        PCI_DEVICE_ID_INTEL_82371SB_0, NULL);
    if (!b)
        b = pci_find_device(PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_82371AB_0,
                            PCI_DEVICE_ID_INTEL_82371AB_0, NULL);
    return b;
}

int pci_intx_resolve(const struct pci_dev *d, struct pci_intx_route *r)
{
    *r = (struct pci_intx_route){ .pirq = -1 };
    if (d->irq_pin < 1 || d->irq_pin > 4) {
        log_warn("pci: %02x:%02x.%x has no INTx pin", d->bus, d->dev, d->fn);
        return -1;
    }
    r->root_pin = (uint8_t)(pci_intx_swizzle(d, &r->root_slot) + 1);
    r->chipset = chipset();

    if (r->chipset == PCI_INTX_Q35) {
        r->pirq = (int8_t)pci_intx_q35_pirq(r->root_slot, r->root_pin);
        r->gsi = Q35_PIRQ_GSI_BASE + (uint32_t)r->pirq;
        r->level = true;
        r->active_low = false;
        q35_check(d, r->pirq);
        return 0;
    }

    if (r->chipset == PCI_INTX_GPEX) {
        unsigned base = madt_ioapics() >= 2 ? GPEX_GSI_BASE_TWO_IOAPICS : GPEX_GSI_BASE_ONE_IOAPIC;
        r->gsi = base + ((r->root_slot + r->root_pin - 1u) & 3u);
        r->level = true;
        r->active_low = false;
        return 0;
    }

    uint8_t irq = d->irq_line;
    if (r->chipset == PCI_INTX_PIIX) {
        struct pci_dev *isa = piix_isa_bridge();
        r->pirq = (int8_t)pci_intx_piix_pirq(r->root_slot, r->root_pin);
        uint8_t rout = isa ? pci_read8(isa, (uint16_t)(PIRQ_ROUT_A_D + r->pirq)) : PIRQ_ROUT_DISABLE;
        if (!(rout & PIRQ_ROUT_DISABLE) && (rout & PIRQ_ROUT_IRQ_MASK) >= 3) {
            if (irq != (rout & PIRQ_ROUT_IRQ_MASK))
                log_warn("pci: %02x:%02x.%x line register says IRQ %u, PIRQ%c is routed to %u;"
                         " using %u", d->bus, d->dev, d->fn, irq, 'A' + r->pirq,
                         rout & PIRQ_ROUT_IRQ_MASK, rout & PIRQ_ROUT_IRQ_MASK);
            irq = rout & PIRQ_ROUT_IRQ_MASK;
        } else {
            log_warn("pci: PIRQ%c not routed by firmware; trying the line register (IRQ %u)",
                     'A' + r->pirq, irq);
        }
    } else {
        log_warn("pci: unknown chipset; routing %02x:%02x.%x INTx by its line register (IRQ %u)",
                 d->bus, d->dev, d->fn, irq);
    }
    if (irq == 0 || irq >= 16) {   /* 0xff: "unknown / not connected" */
        log_warn("pci: %02x:%02x.%x INTx has no IRQ assigned", d->bus, d->dev, d->fn);
        return -1;
    }
    isa_irq_to_gsi(irq, r);
    return 0;
}

/* ---- shared lines ---- */

#define INTX_MAX_LINES      8
#define INTX_MAX_SHARERS    4

struct intx_line {
    bool used;
    uint32_t gsi;
    int vector;
    unsigned n;     /* handlers; changed with the GSI masked, so never seen torn */
    struct {
        irq_handler_t fn;
        void *ctx;
    } h[INTX_MAX_SHARERS];
};

static struct intx_line lines[INTX_MAX_LINES];

/* Interrupt context: runs every handler on the line; each checks its own
 * device. The dispatcher's EOI follows, by which time every device that
 * interrupted has been silenced, so the level line is low again. */
static void intx_dispatch(void *ctx)
{
    struct intx_line *l = ctx;
    for (unsigned i = 0; i < l->n; i++)
        l->h[i].fn(l->h[i].ctx);
}

static struct intx_line *line_for(uint32_t gsi)
{
    for (unsigned i = 0; i < INTX_MAX_LINES; i++)
        if (lines[i].used && lines[i].gsi == gsi)
            return &lines[i];
    return NULL;
}

int pci_intx_request(struct pci_dev *d, irq_handler_t handler, void *ctx,
                     struct pci_intx_route *out)
{
    struct pci_intx_route r;
    if (pci_intx_resolve(d, &r) < 0)
        return -1;
    if (out)
        *out = r;

    struct intx_line *l = line_for(r.gsi);
    if (l) {
        if (l->n == INTX_MAX_SHARERS) {
            log_warn("pci: GSI %u already has %u handlers", r.gsi, l->n);
            return -1;
        }
        ioapic_mask(r.gsi, true);
        l->h[l->n].fn = handler;
        l->h[l->n].ctx = ctx;
        l->n++;
    } else {
        for (unsigned i = 0; i < INTX_MAX_LINES && !l; i++)
            if (!lines[i].used)
                l = &lines[i];
        if (!l) {
            log_warn("pci: no free INTx line slot for GSI %u", r.gsi);
            return -1;
        }
        *l = (struct intx_line){ .gsi = r.gsi, .n = 1, .h = { { handler, ctx } } };
        l->vector = irq_alloc_vector(intx_dispatch, l);
        if (l->vector < 0) {
            log_warn("pci: no free IDT vector for GSI %u", r.gsi);
            return -1;
        }
        if (ioapic_route(r.gsi, l->vector, r.level, r.active_low) < 0) {
            log_warn("pci: no IOAPIC input for GSI %u", r.gsi);
            irq_free_vector(l->vector);
            return -1;
        }
        l->used = true;
    }
    pci_intx_enable(d, true);
    ioapic_mask(r.gsi, false);
    return l->vector;
}

void pci_intx_free(struct pci_dev *d, irq_handler_t handler, void *ctx)
{
    pci_intx_enable(d, false);
    for (unsigned i = 0; i < INTX_MAX_LINES; i++) {
        struct intx_line *l = &lines[i];
        if (!l->used)
            continue;
        for (unsigned j = 0; j < l->n; j++) {
            if (l->h[j].fn != handler || l->h[j].ctx != ctx)
                continue;
            ioapic_mask(l->gsi, true);
            l->h[j] = l->h[l->n - 1];
            l->n--;
            if (l->n) {
                ioapic_mask(l->gsi, false);
            } else {
                irq_free_vector(l->vector);
                l->used = false;
            }
            return;
        }
    }
}
