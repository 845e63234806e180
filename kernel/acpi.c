/* ACPI table lookup (ACPI 6.x, section 5.2). Only what the drivers need:
 * MADT for the IOAPIC, MCFG for PCIe ECAM. Tables are read in place (QEMU
 * puts them in reserved RAM below 4 GiB, which is identity-mapped). */
#include "kernel/acpi.h"

#include <string.h>

#include "kernel/log.h"

struct acpi_rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    uint32_t length;          /* revision >= 2 */
    uint64_t xsdt_address;
    uint8_t extended_checksum;
    uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 2.0 RSDP is 36 bytes");

static uint64_t rsdt_phys, xsdt_phys;

static int checksum_ok(const void *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += ((const uint8_t *)p)[i];
    return sum == 0;
}

static const struct acpi_rsdp *scan_rsdp(uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a + 20 <= end; a += 16) {
        const struct acpi_rsdp *r = (const void *)(uintptr_t)a;
        if (!memcmp(r->signature, "RSD PTR ", 8) && checksum_ok(r, 20))
            return r;
    }
    return NULL;
}

void acpi_init(uint64_t rsdp_phys, int bios_area)
{
    const struct acpi_rsdp *r = rsdp_phys ? (const void *)(uintptr_t)rsdp_phys : NULL;
    if (r && (memcmp(r->signature, "RSD PTR ", 8) || !checksum_ok(r, 20)))
        r = NULL;
    if (!r && !bios_area) {
        log_warn("acpi: no RSDP from the loader, and UEFI has no BIOS area to search");
        return;
    }
    if (!r) {
        uint64_t ebda = (uint64_t)(*(const volatile uint16_t *)0x40e) << 4;
        if (ebda >= 0x80000 && ebda < 0xa0000)
            r = scan_rsdp(ebda, ebda + 1024);
    }
    if (!r)
        r = scan_rsdp(0xe0000, 0x100000);
    if (!r) {
        log_warn("acpi: no RSDP found");
        return;
    }
    rsdt_phys = r->rsdt_address;
    if (r->revision >= 2 && checksum_ok(r, sizeof(*r)))
        xsdt_phys = r->xsdt_address;
    log_info("acpi: RSDP rev %u, %s at 0x%llx", r->revision, xsdt_phys ? "XSDT" : "RSDT",
             (unsigned long long)(xsdt_phys ? xsdt_phys : rsdt_phys));
}

const struct acpi_sdt_header *acpi_find_table(const char sig[4])
{
    uint64_t root = xsdt_phys ? xsdt_phys : rsdt_phys;
    if (!root)
        return NULL;
    const struct acpi_sdt_header *h = (const void *)(uintptr_t)root;
    size_t entry_size = xsdt_phys ? 8 : 4;
    size_t n = (h->length - sizeof(*h)) / entry_size;
    const uint8_t *entries = (const uint8_t *)(h + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t addr = 0;
        memcpy(&addr, entries + i * entry_size, entry_size);
        const struct acpi_sdt_header *t = (const void *)(uintptr_t)addr;
        if (addr && !memcmp(t->signature, sig, 4) && checksum_ok(t, t->length))
            return t;
    }
    return NULL;
}
