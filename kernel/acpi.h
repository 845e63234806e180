/* ACPI tables (RSDP from the boot info or the BIOS area, then RSDT/XSDT). */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include <stdint.h>

struct acpi_sdt_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_sdt_header) == 36, "ACPI SDT header is 36 bytes");

/* rsdp_phys 0: search the EBDA and 0xE0000-0xFFFFF, if bios_area (never
 * under UEFI, where that memory is nothing in particular). */
void acpi_init(uint64_t rsdp_phys, int bios_area);
/* Returns the table with that signature (checksum verified), or NULL. */
const struct acpi_sdt_header *acpi_find_table(const char sig[4]);

#endif
