/* Physical memory: the boot memory map, the newlib heap, and MMIO mappings.
 *
 * One address space, identity-mapped with 2 MiB pages. boot.S mapped the
 * low 4 GiB; mmio_map() adds (or re-flags as uncached) the 2 MiB pages a
 * device range needs, taking page-table pages from a fixed pool so it never
 * depends on the heap. */
#include "kernel/mm.h"

#include <errno.h>
#include <string.h>

#include "kernel/boot_info.h"
#include "kernel/irqflags.h"
#include "kernel/log.h"

#define PAGE_2M (2ull << 20)
#define PTE_P   0x001ull
#define PTE_W   0x002ull
#define PTE_PWT 0x008ull
#define PTE_PCD 0x010ull
#define PTE_PS  0x080ull
#define PTE_ADDR_MASK 0x000ffffffffff000ull
#define PT_POOL_PAGES 32
#define HEAP_RESERVE_TOP (64 * 1024)   /* leave the top of RAM alone (ACPI data may follow) */

extern char __kernel_start[], __kernel_end[];

static uint64_t pt_pool[PT_POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pt_pool_used;
static uint64_t ram_total;
static uintptr_t heap_start, heap_cur, heap_end;

static uint64_t *pt_alloc(void)
{
    if (pt_pool_used >= PT_POOL_PAGES)
        return NULL;
    uint64_t *p = pt_pool[pt_pool_used++];
    memset(p, 0, 4096);
    return p;
}

void mm_init(const struct boot_info *bi)
{
    uintptr_t kstart = (uintptr_t)__kernel_start, kend = (uintptr_t)__kernel_end;
    for (uint32_t i = 0; i < bi->mmap_count; i++) {
        const struct boot_mmap_entry *e = &bi->mmap[i];
        if (e->type != E820_RAM)
            continue;
        ram_total += e->len;
        /* The heap is the largest piece of RAM below 4 GiB (what boot.S
         * mapped) that does not hold the kernel: with BIOS and PVH the rest
         * of the region the kernel was loaded in, under UEFI often another
         * one (the firmware's map is fragmented around 1 MiB). */
        uint64_t lo = e->addr, hi = e->addr + e->len;
        if (hi > (4ull << 30))
            hi = 4ull << 30;
        if (lo < kend && hi > kstart)
            lo = kend;          /* the kernel region: only above the image */
        lo = (lo + 4095) & ~4095ull;
        if (lo < 0x100000 || hi <= lo + HEAP_RESERVE_TOP)
            continue;           /* below 1 MiB: BIOS and firmware leftovers */
        hi -= HEAP_RESERVE_TOP;
        if (hi - lo > heap_end - heap_start) {
            heap_start = heap_cur = (uintptr_t)lo;
            heap_end = (uintptr_t)hi;
        }
    }
}

uint64_t mm_ram_total(void) { return ram_total; }
uint64_t heap_used(void) { return heap_cur - heap_start; }
uint64_t heap_size(void) { return heap_end - heap_start; }

/* newlib's only way to grow malloc's arena. Fails with ENOMEM at the end of
 * RAM rather than handing out memory that is not there. */
void *sbrk(ptrdiff_t incr)
{
    irqflags_t f = irq_save();
    uintptr_t old = heap_cur;
    if ((incr > 0 && (uintptr_t)incr > heap_end - heap_cur) ||
        (incr < 0 && (uintptr_t)(-incr) > heap_cur - heap_start)) {
        irq_restore(f);
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_cur += incr;
    irq_restore(f);
    return (void *)old;
}

static uint64_t *next_level(uint64_t *table, unsigned idx)
{
    if (!(table[idx] & PTE_P)) {
        uint64_t *t = pt_alloc();
        if (!t)
            return NULL;
        table[idx] = (uint64_t)(uintptr_t)t | PTE_P | PTE_W;
    }
    return (uint64_t *)(uintptr_t)(table[idx] & PTE_ADDR_MASK);
}

void *mmio_map(uint64_t phys, uint64_t len)
{
    if (len == 0 || phys + len < phys || phys + len > (1ull << 46))
        return NULL;
    uint64_t cr3;
    __asm__ __volatile__("movq %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR_MASK);
    irqflags_t f = irq_save();
    for (uint64_t a = phys & ~(PAGE_2M - 1); a < phys + len; a += PAGE_2M) {
        uint64_t *pdpt = next_level(pml4, (a >> 39) & 511);
        uint64_t *pd = pdpt ? next_level(pdpt, (a >> 30) & 511) : NULL;
        if (!pd) {
            irq_restore(f);
            log_error("mm: out of page-table pages mapping 0x%llx", (unsigned long long)phys);
            return NULL;
        }
        pd[(a >> 21) & 511] = a | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
        __asm__ __volatile__("invlpg (%0)" :: "r"(a) : "memory");
    }
    irq_restore(f);
    return (void *)(uintptr_t)phys;
}

void *_sbrk(ptrdiff_t incr) __attribute__((alias("sbrk")));
