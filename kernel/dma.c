#include "kernel/dma.h"

#include <stdlib.h>
#include <string.h>

/* Over-allocate and keep the malloc pointer just below the aligned block,
 * rather than memalign: newlib-nano's memalign frees the leading padding
 * back onto its free list, one fragment per call, and nano's malloc and free
 * walk that list, so the few hundred ring and RX-buffer allocations of boot
 * cost O(n^2) (about 1.2 M guest instructions, most of the boot's). */
void *dma_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;     /* what memalign gave every caller before */
    if (align & (align - 1))
        return NULL;
    size_t extra = align - 1 + sizeof(void *);
    if (size > SIZE_MAX - extra)
        return NULL;
    char *raw = malloc(size + extra);
    if (!raw)
        return NULL;
    uintptr_t p = ((uintptr_t)raw + sizeof(void *) + align - 1) & ~(uintptr_t)(align - 1);
    ((void **)p)[-1] = raw;
    memset((void *)p, 0, size);
    return (void *)p;
}

void dma_free(void *p)
{
    if (p)
        free(((void **)p)[-1]);
}

uint64_t dma_addr(const void *p) { return (uint64_t)(uintptr_t)p; }
