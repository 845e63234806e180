/* net/pattern.h: the doubling copy gives exactly the periodic pattern, for
 * lengths that are and are not multiples of the period, and writes nothing
 * past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/pattern.h"

static void check(size_t len, size_t period)
{
    static uint8_t buf[40 * 1024];
    assert_true(len + 1 <= sizeof(buf));
    memset(buf, 0xee, sizeof(buf));
    for (size_t i = 0; i < period; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    pattern_repeat(buf, len, period);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(buf[i], (uint8_t)((i % period) * 7 + 1));
    assert_int_equal(buf[len], 0xee);
}

static void test_pattern_repeat(void **s)
{
    (void)s;
    check(251 * 128, 251);      /* the HTTP /bytes source */
    check(32 * 1024, 10);       /* the iperf source */
    check(251 * 128 + 7, 251);
    check(1000, 251);
    check(251, 251);
    check(252, 251);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_pattern_repeat) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
