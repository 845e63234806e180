/* net/port/inet_csum.h against RFC 1071's definition, word by word: every length
 * up to 300 at every start offset mod 8, random and all-0xff data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/port/inet_csum.h"

/* RFC 1071 4.1, in memory byte order like lwIP's: 16-bit words as they lie */
static uint16_t ref_sum(const uint8_t *p, int len)
{
    uint32_t sum = 0;
    for (; len > 1; p += 2, len -= 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        sum += v;
    }
    if (len > 0) {
        uint8_t b[2] = { p[0], 0 };
        uint16_t v;
        memcpy(&v, b, 2);
        sum += v;
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void check_buffer(const uint8_t *buf)
{
    for (int off = 0; off < 8; off++)
        for (int len = 0; len <= 300; len++)
            if (inet_csum_sum(buf + off, len) != ref_sum(buf + off, len))
                fail_msg("offset %d length %d: %04x, want %04x", off, len,
                         inet_csum_sum(buf + off, len), ref_sum(buf + off, len));
}

static void test_random_data(void **state)
{
    (void)state;
    uint8_t buf[320];
    srand(1071);
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)rand();
        check_buffer(buf);
    }
}

/* carries in every word: the end-around carry and the folding */
static void test_all_ones_and_zeros(void **state)
{
    (void)state;
    uint8_t buf[320];
    memset(buf, 0xff, sizeof buf);
    check_buffer(buf);
    memset(buf, 0, sizeof buf);
    check_buffer(buf);
    assert_int_equal(inet_csum_sum(buf, 40), 0);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(inet_csum_sum(buf, 40), 0xffff);
}

/* a real IPv4 header (RFC 1071's example checksum field filled in): the
 * complement of the sum of a correct header is 0 */
static void test_ipv4_header(void **state)
{
    (void)state;
    static const uint8_t hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                     0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
    assert_int_equal((uint16_t)~inet_csum_sum(hdr, sizeof hdr), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_data),
        cmocka_unit_test(test_all_ones_and_zeros),
        cmocka_unit_test(test_ipv4_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
