/* net/glue/ip6_hdr.c: the IPv6 header walks the glue trusts with hostile frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdlib.h>

#include "net/glue/ip6_hdr.h"

static uint8_t pkt[512];

/* An IPv6 header with next header nh, then len bytes of zeros. */
static size_t ip6(uint8_t nh, size_t payload)
{
    memset(pkt, 0, sizeof(pkt));
    pkt[0] = 0x60;
    pkt[4] = (uint8_t)(payload >> 8);
    pkt[5] = (uint8_t)payload;
    pkt[6] = nh;
    pkt[7] = 64;
    pkt[8] = 0x20;      /* src 2001:db8::1, dst 2001:db8::2 */
    pkt[9] = 0x01;
    pkt[10] = 0x0d;
    pkt[11] = 0xb8;
    pkt[23] = 1;
    memcpy(pkt + 24, pkt + 8, 15);
    pkt[39] = 2;
    return IP6_HDR_LEN + payload;
}

/* An extension header of type-specific length at off: next, hdr-ext-len. */
static void ext(size_t off, uint8_t next, uint8_t hlen)
{
    pkt[off] = next;
    pkt[off + 1] = hlen;
}

static void test_plain_upper_layer(void **state)
{
    (void)state;
    struct ip6_upper u;
    size_t n = ip6(IP6_NEXT_TCP, 20);
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_FOUND);
    assert_int_equal(u.proto, IP6_NEXT_TCP);
    assert_int_equal(u.off, 40);
    assert_false(u.fragment);
    /* Upper-layer header past the bytes given: found, at an offset the
     * caller must check against its length. */
    assert_int_equal(ip6_walk(pkt, 40, &u), IP6_WALK_FOUND);
    assert_int_equal(u.off, 40);
}

static void test_not_ipv6(void **state)
{
    (void)state;
    struct ip6_upper u;
    size_t n = ip6(IP6_NEXT_TCP, 20);
    assert_int_equal(ip6_walk(pkt, 39, &u), IP6_WALK_NOT_IPV6);
    assert_int_equal(ip6_walk(pkt, 0, &u), IP6_WALK_NOT_IPV6);
    pkt[0] = 0x45;
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_NOT_IPV6);
    assert_int_equal(ip6_flow_hash(pkt, n), 0);
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_PASS);
}

static void test_extension_chain(void **state)
{
    (void)state;
    struct ip6_upper u;
    /* hop-by-hop (8) -> routing (24) -> destination (16) -> AH (12+4) -> UDP */
    size_t n = ip6(0, 8 + 24 + 16 + 16 + 8);
    ext(40, 43, 0);
    ext(48, 60, 2);
    ext(72, 51, 1);
    ext(88, IP6_NEXT_UDP, 2);     /* AH: (2 + 2) * 4 = 16 */
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_FOUND);
    assert_int_equal(u.proto, IP6_NEXT_UDP);
    assert_int_equal(u.off, 104);
    /* Cut anywhere inside the chain: truncated, never read past len. */
    for (size_t cut = 40; cut < 104; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, pkt, cut);
        enum ip6_walk_result r = ip6_walk(copy, cut, &u);
        assert_true(r == IP6_WALK_TRUNCATED || (r == IP6_WALK_FOUND && u.off >= cut));
        free(copy);
    }
}

static void test_endless_chain_is_bounded(void **state)
{
    (void)state;
    struct ip6_upper u;
    size_t n = ip6(60, 400);
    for (size_t off = 40; off + 8 <= n; off += 8)
        ext(off, 60, 0);
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_TRUNCATED);
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_DROP_CHAIN);
    /* A header length pointing far past the buffer. */
    n = ip6(0, 8);
    ext(40, IP6_NEXT_ICMP6, 255);
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_TRUNCATED);
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_DROP_CHAIN);
}

static void test_fragments(void **state)
{
    (void)state;
    struct ip6_upper u;
    size_t n = ip6(44, 8 + 8);
    ext(40, IP6_NEXT_ICMP6, 0);
    pkt[43] = 1;                  /* offset 0, M set */
    pkt[48] = ICMP6_ECHO_REQUEST;
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_FOUND);
    assert_true(u.fragment);
    assert_int_equal(u.frag_off, 40);   /* where net/guard/rx_guard.c reads the id */
    assert_false(u.later_fragment);
    assert_int_equal(u.proto, IP6_NEXT_ICMP6);
    assert_int_equal(u.off, 48);
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_ECHO);
    /* A first fragment without its whole ICMPv6 header hides the type
     * (and a Packet Too Big's MTU): RFC 7112 says drop. */
    for (size_t cut = 48; cut < 56; cut++)
        assert_int_equal(ip6_input_verdict(pkt, cut), IP6_DROP_CHAIN);
    pkt[42] = 0x01;               /* offset 32: a later fragment */
    assert_int_equal(ip6_walk(pkt, n, &u), IP6_WALK_FOUND);
    assert_true(u.later_fragment);
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_PASS);
    assert_int_equal(ip6_input_verdict(pkt, 48), IP6_PASS);
}

static void test_echo_request_only(void **state)
{
    (void)state;
    size_t n = ip6(IP6_NEXT_ICMP6, 8);
    pkt[40] = ICMP6_ECHO_REQUEST;
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_ECHO);
    static const uint8_t others[] = { 1, 3, 4, 129, 133, 134, 135, 136, 143 };
    for (size_t i = 0; i < sizeof(others); i++) {
        pkt[40] = others[i];
        assert_int_equal(ip6_input_verdict(pkt, n), IP6_PASS);
    }
    /* Echo behind a destination-options header is still echo. */
    n = ip6(60, 8 + 8);
    ext(40, IP6_NEXT_ICMP6, 0);
    pkt[48] = ICMP6_ECHO_REQUEST;
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_ECHO);
    /* A truncated ICMPv6 header is not passed on either. */
    assert_int_equal(ip6_input_verdict(pkt, 52), IP6_DROP_CHAIN);
    n = ip6(IP6_NEXT_TCP, 20);
    pkt[40] = ICMP6_ECHO_REQUEST;
    assert_int_equal(ip6_input_verdict(pkt, n), IP6_PASS);
    /* A short TCP header is lwIP's to judge. */
    assert_int_equal(ip6_input_verdict(pkt, 50), IP6_PASS);
}

static void ptb(uint32_t mtu)
{
    ip6(IP6_NEXT_ICMP6, 8);
    pkt[40] = ICMP6_PACKET_TOO_BIG;
    pkt[44] = (uint8_t)(mtu >> 24);
    pkt[45] = (uint8_t)(mtu >> 16);
    pkt[46] = (uint8_t)(mtu >> 8);
    pkt[47] = (uint8_t)mtu;
}

static void test_packet_too_big_below_minimum_dropped(void **state)
{
    (void)state;
    static const uint32_t bad[] = { 0, 1, 40, 60, 61, 1279 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ptb(bad[i]);
        assert_int_equal(ip6_input_verdict(pkt, 48), IP6_DROP_PTB);
    }
    static const uint32_t ok[] = { 1280, 1400, 1500, 9000, 65535, 0xffffffffu };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ptb(ok[i]);
        assert_int_equal(ip6_input_verdict(pkt, 48), IP6_PASS);
    }
}

static void test_flow_hash(void **state)
{
    (void)state;
    size_t n = ip6(IP6_NEXT_TCP, 20);
    pkt[40] = 0x13; pkt[41] = 0x89; pkt[42] = 0; pkt[43] = 80;
    uint32_t a = ip6_flow_hash(pkt, n);
    assert_int_equal(ip6_flow_hash(pkt, n), a);
    pkt[41] = 0x8a;               /* another source port, another flow */
    uint32_t b = ip6_flow_hash(pkt, n);
    assert_int_not_equal(a, b);
    /* Ports not visible: addresses only, still defined. */
    assert_int_equal(ip6_flow_hash(pkt, 42), ip6_flow_hash(pkt, 40));
    uint32_t c = ip6_flow_hash(pkt, 40);
    pkt[39] = 3;                  /* another destination */
    assert_int_not_equal(ip6_flow_hash(pkt, 40), c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_upper_layer),
        cmocka_unit_test(test_not_ipv6),
        cmocka_unit_test(test_extension_chain),
        cmocka_unit_test(test_endless_chain_is_bounded),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_echo_request_only),
        cmocka_unit_test(test_packet_too_big_below_minimum_dropped),
        cmocka_unit_test(test_flow_hash),
    };
    return cmocka_run_group_tests_name("ip6_hdr", tests, NULL, NULL);
}
