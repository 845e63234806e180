#include "kernel/dma.h"

#include <malloc.h>
#include <string.h>

void *dma_alloc(size_t size, size_t align)
{
    void *p = memalign(align < 16 ? 16 : align, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void dma_free(void *p) { free(p); }

uint64_t dma_addr(const void *p) { return (uint64_t)(uintptr_t)p; }
