#include "kernel/boot_info.h"

#include <string.h>

#define PVH_BOOT_MAGIC 0x336ec578u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u

/* xen/include/public/arch-x86/hvm/start_info.h */
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;        /* version >= 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

/* Multiboot2 specification, section 3.6 */
struct mb2_tag { uint32_t type, size; };
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15
#define MB2_TAG_EFI32 11          /* EFI system table pointers: UEFI firmware below */
#define MB2_TAG_EFI64 12
#define MB2_TAG_EFI_MMAP 17
#define MB2_TAG_EFI_BS 18         /* boot services not exited */

static void copy_cmdline(struct boot_info *bi, const char *s)
{
    if (!s)
        return;
    size_t n = strnlen(s, BOOT_CMDLINE_MAX - 1);
    memcpy(bi->cmdline, s, n);
    bi->cmdline[n] = '\0';
}

static void add_mmap(struct boot_info *bi, uint64_t addr, uint64_t len, uint32_t type)
{
    if (bi->mmap_count < BOOT_MMAP_MAX)
        bi->mmap[bi->mmap_count++] = (struct boot_mmap_entry){ addr, len, type };
}

static void parse_pvh(const struct hvm_start_info *si, struct boot_info *bi)
{
    bi->protocol = BOOT_PVH;
    if (si->cmdline_paddr)
        copy_cmdline(bi, (const char *)(uintptr_t)si->cmdline_paddr);
    bi->rsdp_phys = si->rsdp_paddr;
    if (si->version >= 1 && si->memmap_paddr) {
        const struct hvm_memmap_table_entry *e =
            (const void *)(uintptr_t)si->memmap_paddr;
        for (uint32_t i = 0; i < si->memmap_entries; i++)
            add_mmap(bi, e[i].addr, e[i].size, e[i].type);
    }
}

static void parse_mb2(const uint8_t *mbi, struct boot_info *bi)
{
    bi->protocol = BOOT_MULTIBOOT2;
    uint32_t total = *(const uint32_t *)mbi;
    const uint8_t *p = mbi + 8, *end = mbi + total;
    while (p + sizeof(struct mb2_tag) <= end) {
        const struct mb2_tag *t = (const void *)p;
        if (t->type == MB2_TAG_END || t->size < 8)
            break;
        switch (t->type) {
        case MB2_TAG_CMDLINE:
            copy_cmdline(bi, (const char *)(p + 8));
            break;
        case MB2_TAG_MMAP: {
            /* entry: base, length (u64 each), type (u32), reserved; a smaller
             * entry size than the fields we read is a malformed tag */
            uint32_t esize = t->size >= 16 ? *(const uint32_t *)(p + 8) : 0;
            if (esize < 20)
                break;
            for (const uint8_t *e = p + 16; e + esize <= p + t->size; e += esize) {
                const uint64_t *q = (const void *)e;
                add_mmap(bi, q[0], q[1], *(const uint32_t *)(e + 16));
            }
            break;
        }
        case MB2_TAG_ACPI_OLD:
        case MB2_TAG_ACPI_NEW: {
            /* A copy of the RSDP (in loader memory the heap may reuse): keep
             * our own. The ACPI 2.0+ one wins, it carries the XSDT. */
            uint32_t n = t->size - 8;
            if (n > sizeof(bi->rsdp_copy))
                n = sizeof(bi->rsdp_copy);
            if (!bi->rsdp_phys || t->type == MB2_TAG_ACPI_NEW) {
                memset(bi->rsdp_copy, 0, sizeof(bi->rsdp_copy));
                memcpy(bi->rsdp_copy, p + 8, n);
                bi->rsdp_phys = (uintptr_t)bi->rsdp_copy;
            }
            break;
        }
        case MB2_TAG_EFI32:
        case MB2_TAG_EFI64:
        case MB2_TAG_EFI_MMAP:
        case MB2_TAG_EFI_BS:
            bi->efi = 1;
            break;
        }
        p += (t->size + 7) & ~7u;
    }
}

int boot_info_parse(uint32_t magic, uint64_t info_phys, struct boot_info *bi,
                    const char **reason)
{
    memset(bi, 0, sizeof(*bi));
    if (magic == PVH_BOOT_MAGIC) {
        const struct hvm_start_info *si = (const void *)(uintptr_t)info_phys;
        if (si->magic != PVH_BOOT_MAGIC) {
            *reason = "PVH start_info has a bad magic";
            return -1;
        }
        parse_pvh(si, bi);
        return 0;
    }
    if (magic == MULTIBOOT2_BOOTLOADER_MAGIC) {
        parse_mb2((const uint8_t *)(uintptr_t)info_phys, bi);
        return 0;
    }
    *reason = "unknown boot protocol magic";
    return -1;
}
