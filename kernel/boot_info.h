/* What the boot protocol told us, copied out of loader memory at entry (the
 * loader's structures may lie where the heap will grow). */
#ifndef KERNEL_BOOT_INFO_H
#define KERNEL_BOOT_INFO_H

#include <stdint.h>

#define BOOT_MMAP_MAX 64
#define BOOT_CMDLINE_MAX 1024

enum boot_protocol { BOOT_PVH, BOOT_MULTIBOOT2 };

struct boot_mmap_entry {
    uint64_t addr, len;
    uint32_t type;                 /* 1 = usable RAM (E820 numbering) */
};

struct boot_info {
    enum boot_protocol protocol;
    char cmdline[BOOT_CMDLINE_MAX];
    struct boot_mmap_entry mmap[BOOT_MMAP_MAX];
    uint32_t mmap_count;
    uint64_t rsdp_phys;            /* 0 if the loader did not say */
    uint8_t rsdp_copy[36];         /* multiboot2 hands a copy; rsdp_phys points here */
    int efi;                       /* booted from UEFI: no BIOS data area, no EBDA */
};

#define E820_RAM 1

/* Returns 0, or -1 with a reason when the magic is unknown. */
int boot_info_parse(uint32_t magic, uint64_t info_phys, struct boot_info *bi,
                    const char **reason);

#endif
