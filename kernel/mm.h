/* Physical memory and the kernel's single address space.
 * RAM and the 32-bit MMIO hole (3-4 GiB) are identity-mapped at boot with
 * 2 MiB pages; mmio_map() adds identity mappings above 4 GiB (64-bit BARs)
 * and marks the range uncached. */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include <stddef.h>
#include <stdint.h>

struct boot_info;
void mm_init(const struct boot_info *bi);

/* Returns the virtual address for phys (identity), or NULL when the range
 * cannot be mapped (page-table memory exhausted). */
void *mmio_map(uint64_t phys, uint64_t len);

uint64_t mm_ram_total(void);      /* bytes of usable RAM in the boot map */

/* newlib's heap bounds (_sbrk) */
uint64_t heap_used(void);
uint64_t heap_size(void);

#endif
