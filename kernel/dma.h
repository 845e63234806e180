/* Memory a device reads or writes (rings, packet buffers).
 * The kernel identity-maps RAM and QEMU's DMA is cache-coherent, so a
 * device address is the physical address is the virtual address; callers
 * still go through dma_addr() so the assumption lives in one place.
 * Host unit tests provide their own implementations. */
#ifndef KERNEL_DMA_H
#define KERNEL_DMA_H

#include <stddef.h>
#include <stdint.h>

void *dma_alloc(size_t size, size_t align);   /* zeroed; NULL on ENOMEM */
void dma_free(void *p);
uint64_t dma_addr(const void *p);

#endif
