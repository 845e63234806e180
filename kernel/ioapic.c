/* IOAPIC (82093AA datasheet) found through the ACPI MADT; used only for the
 * INTx fallback when a device has no MSI-X. */
#include <stddef.h>
#include <string.h>

#include "kernel/acpi.h"
#include "kernel/io.h"
#include "kernel/irqflags.h"
#include "kernel/lapic.h"
#include "kernel/log.h"

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))
#define IOAPIC_RTE_MASKED     (1u << 16)
#define IOAPIC_RTE_LEVEL      (1u << 15)
#define IOAPIC_RTE_ACTIVE_LOW (1u << 13)

#define MADT_TYPE_IOAPIC 1
#define IOAPIC_DEFAULT_BASE 0xfec00000u

struct madt_ioapic {
    uint8_t type, length, id, reserved;
    uint32_t address;
    uint32_t gsi_base;
} __attribute__((packed));

static volatile uint8_t *ioapic_base;
static uint32_t ioapic_gsi_base, ioapic_pins;

static uint32_t ioapic_read(uint32_t reg)
{
    mmio_write32(ioapic_base + IOAPIC_REGSEL, reg);
    return mmio_read32(ioapic_base + IOAPIC_WIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(ioapic_base + IOAPIC_REGSEL, reg);
    mmio_write32(ioapic_base + IOAPIC_WIN, v);
}

void ioapic_init(void)
{
    uint32_t address = IOAPIC_DEFAULT_BASE;
    const struct acpi_sdt_header *madt = acpi_find_table("APIC");
    if (madt) {
        /* MADT: header, local APIC address, flags, then variable entries. */
        const uint8_t *p = (const uint8_t *)madt + sizeof(*madt) + 8;
        const uint8_t *end = (const uint8_t *)madt + madt->length;
        while (p + 2 <= end && p[1] >= 2) {
            if (p[0] == MADT_TYPE_IOAPIC && p[1] >= sizeof(struct madt_ioapic)) {
                struct madt_ioapic io;
                memcpy(&io, p, sizeof(io));
                address = io.address;
                ioapic_gsi_base = io.gsi_base;
                break;
            }
            p += p[1];
        }
    }
    ioapic_base = (volatile uint8_t *)(uintptr_t)address;
    ioapic_pins = ((ioapic_read(IOAPIC_REG_VER) >> 16) & 0xff) + 1;
    for (uint32_t i = 0; i < ioapic_pins; i++) {
        ioapic_write(IOAPIC_REDTBL(i), IOAPIC_RTE_MASKED);
        ioapic_write(IOAPIC_REDTBL(i) + 1, 0);
    }
    log_info("ioapic: at 0x%x, GSI %u-%u", address, ioapic_gsi_base,
             ioapic_gsi_base + ioapic_pins - 1);
}

int ioapic_route(uint32_t gsi, int vector, bool level, bool active_low)
{
    if (!ioapic_base || gsi < ioapic_gsi_base || gsi >= ioapic_gsi_base + ioapic_pins)
        return -1;
    uint32_t pin = gsi - ioapic_gsi_base;
    uint32_t lo = (uint32_t)vector | (level ? IOAPIC_RTE_LEVEL : 0) |
                  (active_low ? IOAPIC_RTE_ACTIVE_LOW : 0);
    irqflags_t f = irq_save();
    ioapic_write(IOAPIC_REDTBL(pin) + 1, lapic_id() << 24);
    ioapic_write(IOAPIC_REDTBL(pin), lo);
    irq_restore(f);
    return 0;
}

void ioapic_mask(uint32_t gsi, bool masked)
{
    if (!ioapic_base || gsi < ioapic_gsi_base || gsi >= ioapic_gsi_base + ioapic_pins)
        return;
    uint32_t pin = gsi - ioapic_gsi_base;
    irqflags_t f = irq_save();
    uint32_t lo = ioapic_read(IOAPIC_REDTBL(pin));
    ioapic_write(IOAPIC_REDTBL(pin), masked ? lo | IOAPIC_RTE_MASKED : lo & ~IOAPIC_RTE_MASKED);
    irq_restore(f);
}
