/* Use-after-free and double-free detection for lwIP's pools, which ASan cannot
 * see (they are static arrays). Linked with --wrap=memp_malloc,--wrap=memp_free:
 * a freed element is poisoned except its first word (lwIP's free-list link
 * lives there), so any later access through a stale pointer is an ASan
 * use-after-poison report naming the culprit, and freeing a poisoned element
 * again is reported as a double free on the spot. */
#include <sanitizer/asan_interface.h>
#include <stdio.h>
#include <stdlib.h>

#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"

void *__real_memp_malloc(memp_t type);
void __real_memp_free(memp_t type, void *mem);
void *__wrap_memp_malloc(memp_t type);
void __wrap_memp_free(memp_t type, void *mem);

static const char *const names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

void *__wrap_memp_malloc(memp_t type)
{
    void *mem = __real_memp_malloc(type);

    if (mem)
        ASAN_UNPOISON_MEMORY_REGION(mem, memp_pools[type]->size);
    return mem;
}

void __wrap_memp_free(memp_t type, void *mem)
{
    size_t size = memp_pools[type]->size;

    if (mem && size > sizeof(void *)) {
        char *tail = (char *)mem + sizeof(void *);
        if (__asan_address_is_poisoned(tail)) {
            fprintf(stderr, "DOUBLE FREE: memp %s: element %p freed twice\n", names[type], mem);
            __sanitizer_print_stack_trace();
            abort();
        }
        __real_memp_free(type, mem);
        ASAN_POISON_MEMORY_REGION(tail, size - sizeof(void *));
        return;
    }
    __real_memp_free(type, mem);
}
