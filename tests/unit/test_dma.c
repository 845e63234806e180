/* kernel/dma.c: aligned, zeroed blocks that dma_free hands back to malloc
 * (ASan fails the test on a free of anything malloc did not return). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/dma.h"

static void test_aligned_zeroed_and_freed(void **state)
{
    (void)state;
    static const size_t aligns[] = { 1, 8, 16, 64, 4096 };
    static const size_t sizes[] = { 1, 7, 64, 2048, 10000 };
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            unsigned char *p = dma_alloc(sizes[s], aligns[a]);
            assert_non_null(p);
            size_t want = aligns[a] < 16 ? 16 : aligns[a];
            assert_int_equal((uintptr_t)p % want, 0);
            assert_int_equal(dma_addr(p), (uint64_t)(uintptr_t)p);
            for (size_t i = 0; i < sizes[s]; i++)
                assert_int_equal(p[i], 0);
            memset(p, 0xa5, sizes[s]);      /* ASan: the whole block is ours */
            dma_free(p);
        }
    }
    dma_free(NULL);
}

static void test_bad_requests_fail(void **state)
{
    (void)state;
    assert_null(dma_alloc(64, 48));         /* not a power of two */
    assert_null(dma_alloc(SIZE_MAX - 8, 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aligned_zeroed_and_freed),
        cmocka_unit_test(test_bad_requests_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
