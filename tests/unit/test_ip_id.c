/* Keyed per-destination datagram ids (net/guard/ip_id.c, behind the lwIP
 * hooks of net/port/patches/0902-*): a flow's ids count up by one per
 * datagram and by one per wire segment of a TCP super-segment; traffic to
 * one destination does not move another's ids; an idle counter jumps by a
 * secret amount below its idle time; the key decides where counters start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lwip/pbuf.h"
#include "lwip/prot/ip.h"
#include "net/guard/ip_id.h"
#include "tests/unit/fixed_keys.h"

static uint32_t now_ms = 1000;     /* ip_id_reserve's clock; the hooks read lwIP's */

static const uint32_t us[4] = { 0x0200000a };          /* 10.0.0.2, network order */
static const uint32_t peer_a[4] = { 0x0100000a };
static const uint32_t peer_b[4] = { 0x0300000a };

static int setup(void **state)
{
    (void)state;
    set_fixed_keys();
    now_ms = 1000;
    return 0;
}

static uint32_t id_to(const uint32_t dst[4], uint32_t count)
{
    return ip_id_reserve(us, dst, IP_PROTO_TCP, count, now_ms);
}

static void test_one_flow_counts_up_by_one(void **state)
{
    (void)state;
    uint32_t first = id_to(peer_a, 1);
    for (uint32_t i = 1; i < 100; i++)
        assert_int_equal(id_to(peer_a, 1), first + i);
}

static void test_reserved_ids_are_skipped(void **state)
{
    (void)state;
    uint32_t a = id_to(peer_a, 7);
    assert_int_equal(id_to(peer_a, 1), a + 7);
    assert_int_equal(id_to(peer_a, 0), a + 8);          /* 0 counts as one */
    assert_int_equal(id_to(peer_a, 1), a + 9);
}

/* What a peer sees of its own ids does not count what we sent to another
 * (the two tuples use different counters under the fixed key). */
static void test_other_destinations_do_not_move_a_flow(void **state)
{
    (void)state;
    uint32_t a = id_to(peer_a, 1);
    for (int i = 0; i < 500; i++)
        id_to(peer_b, 1);
    assert_int_equal(id_to(peer_a, 1), a + 1);
    /* another protocol to the same peer is another counter too */
    uint32_t u = ip_id_reserve(us, peer_a, IP_PROTO_UDP, 1, now_ms);
    assert_int_not_equal(u, a + 2);
    assert_int_equal(id_to(peer_a, 1), a + 2);
}

/* After idling, a counter moves by less than the idle milliseconds, and not
 * by a constant: a peer cannot tell our packet count to others from it. */
static void test_idle_counter_jumps_below_idle_time(void **state)
{
    (void)state;
    uint32_t prev = id_to(peer_a, 1), jumps_nonzero = 0, distinct = 0, last_jump = ~0u;
    for (int i = 0; i < 64; i++) {
        now_ms += 1000;
        uint32_t id = id_to(peer_a, 1);
        uint32_t jump = id - prev - 1;
        assert_true(jump < 1000);
        jumps_nonzero += jump != 0;
        distinct += jump != last_jump;
        last_jump = jump;
        prev = id;
    }
    assert_true(jumps_nonzero > 56);
    assert_true(distinct > 56);
}

static void test_key_decides_the_start(void **state)
{
    (void)state;
    uint32_t a = id_to(peer_a, 1);
    struct siphash_key other = { 1, 2 };
    ip_id_set_key(&other);
    uint32_t b = id_to(peer_a, 1);
    assert_int_not_equal(a, b);
    set_fixed_keys();
    assert_int_equal(id_to(peer_a, 1), a);               /* same key, same start */
}

/* The IPv4 hook: a super-segment of 10000 payload bytes cut at 1448 becomes
 * 7 wire segments numbered id..id+6 by the device; the next datagram's id
 * must not be one of them. */
static void test_hook4_reserves_one_id_per_wire_segment(void **state)
{
    (void)state;
    struct pbuf p;
    memset(&p, 0, sizeof p);
    ip4_addr_t src, dst;
    ip4_addr_set_u32(&src, us[0]);
    ip4_addr_set_u32(&dst, peer_a[0]);
    p.tot_len = 20 + 20 + 10000;
    p.tso_segsz = 1448;
    u16_t id = ip_id_hook4(&p, &src, &dst, IP_PROTO_TCP);
    p.tso_segsz = 0;
    p.tot_len = 40;
    u16_t next = ip_id_hook4(&p, &src, &dst, IP_PROTO_TCP);
    assert_true((u16_t)(next - id) >= 7);
    assert_int_equal((u16_t)(ip_id_hook4(&p, &src, &dst, IP_PROTO_TCP) - next), 1);
    /* no source address yet (lwIP passes NULL for the any address) */
    ip_id_hook4(&p, NULL, &dst, IP_PROTO_UDP);
}

static void test_hook6_numbers_per_destination(void **state)
{
    (void)state;
    struct ip6_hdr h;
    memset(&h, 0, sizeof h);
    h.src.addr[0] = 0xb80d0120;
    h.src.addr[3] = 0x02000000;
    ip6_addr_t d1, d2;
    memset(&d1, 0, sizeof d1);
    memset(&d2, 0, sizeof d2);
    d1.addr[0] = d2.addr[0] = 0xb80d0120;
    d1.addr[3] = 0x01000000;
    d2.addr[3] = 0x03000000;
    u32_t a = ip_id_hook6(&h, &d1);
    for (int i = 0; i < 50; i++)
        ip_id_hook6(&h, &d2);
    assert_int_equal(ip_id_hook6(&h, &d1), a + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_one_flow_counts_up_by_one, setup),
        cmocka_unit_test_setup(test_reserved_ids_are_skipped, setup),
        cmocka_unit_test_setup(test_other_destinations_do_not_move_a_flow, setup),
        cmocka_unit_test_setup(test_idle_counter_jumps_below_idle_time, setup),
        cmocka_unit_test_setup(test_key_decides_the_start, setup),
        cmocka_unit_test_setup(test_hook4_reserves_one_id_per_wire_segment, setup),
        cmocka_unit_test_setup(test_hook6_numbers_per_destination, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
