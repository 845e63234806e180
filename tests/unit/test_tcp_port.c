/* Per-destination ephemeral ports (net/guard/tcp_port.c, behind the lwIP hook
 * of net/port/patches/0903-*): a destination's ports step by a few from a
 * keyed start; connections to others do not move them; taken ports are
 * skipped and a full range fails; bind(0) starts at random; and through the
 * real tcp_connect/tcp_bind the SYN leaves from the port the hook chose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lwip/ip_addr.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_port.h"
#include "tests/unit/fixed_keys.h"
#include "tests/unit/lwip_host.h"

static uint8_t taken[TCP_PORT_COUNT];     /* by port - TCP_PORT_FIRST */

static u8_t fake_in_use(u16_t port)
{
    assert_true(port >= TCP_PORT_FIRST && port - TCP_PORT_FIRST < TCP_PORT_COUNT);
    return taken[port - TCP_PORT_FIRST];
}

static int setup(void **state)
{
    (void)state;
    set_fixed_keys();
    memset(taken, 0, sizeof taken);
    return 0;
}

static size_t tuple_to(uint8_t t[TCP_TUPLE_MAX], const char *remote, uint16_t rport)
{
    ip_addr_t l, r;
    assert_true(ipaddr_aton(HOST_LOCAL_IP, &l));
    assert_true(ipaddr_aton(remote, &r));
    return tcp_tuple_pack(t, &l, 0, &r, rport);
}

static uint16_t pick_to(const char *remote, uint16_t rport, uint32_t random)
{
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tuple_to(t, remote, rport);
    uint16_t port = tcp_port_pick(t, n, random, fake_in_use);
    assert_true(port >= TCP_PORT_FIRST);
    return port;
}

static unsigned step(uint16_t from, uint16_t to)
{
    return (unsigned)(to - from + TCP_PORT_COUNT) % TCP_PORT_COUNT;
}

/* One destination: each port 1-4 past the last (the counter moves by the
 * one candidate used and the random word's top 2 bits). */
static void test_one_destination_steps_by_a_few(void **state)
{
    (void)state;
    uint16_t p = pick_to("192.0.2.1", 5001, 0);
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t extra = i % 4;
        uint16_t q = pick_to("192.0.2.1", 5001, extra << 30);
        assert_int_equal(step(p, q), 1 + (i ? (i - 1) % 4 : 0));
        p = q;
    }
}

/* What A sees across 500 connections to others: the step it would see with
 * none (lwIP's counter moved by exactly their number). */
static void test_other_destinations_do_not_move_one(void **state)
{
    (void)state;
    uint16_t a1 = pick_to("192.0.2.1", 5001, 0);
    char ip[32];
    for (int i = 0; i < 500; i++) {
        snprintf(ip, sizeof ip, "198.51.100.%d", 1 + i % 200);
        pick_to(ip, (uint16_t)(5001 + i / 200), 0);
    }
    uint16_t a2 = pick_to("192.0.2.1", 5001, 0);
    assert_int_equal(step(a1, a2), 1);
    /* and a different remote port is a different destination */
    assert_int_not_equal(pick_to("192.0.2.1", 5002, 0), (uint16_t)(a2 + 1));
}

/* The key decides where a destination's ports are. */
static void test_key_decides_the_start(void **state)
{
    (void)state;
    uint16_t p = pick_to("192.0.2.1", 5001, 0);
    const struct siphash_key other = { 1, 2 };
    tcp_port_set_key(&other);
    uint16_t q = pick_to("192.0.2.1", 5001, 0);
    assert_int_not_equal(p, q);
}

/* Taken candidates are skipped, and the search's length moves the counter:
 * the next pick does not land on a port just passed over. */
static void test_taken_ports_skipped(void **state)
{
    (void)state;
    uint16_t p = pick_to("192.0.2.1", 5001, 0);
    set_fixed_keys();                           /* same start again */
    for (unsigned i = 0; i < 5; i++)
        taken[(p - TCP_PORT_FIRST + i) % TCP_PORT_COUNT] = 1;
    uint16_t q = pick_to("192.0.2.1", 5001, 0);
    assert_int_equal(step(p, q), 5);
    memset(taken, 0, sizeof taken);
    uint16_t r = pick_to("192.0.2.1", 5001, 0);
    assert_int_equal(step(q, r), 1);
}

static void test_full_range_fails(void **state)
{
    (void)state;
    memset(taken, 1, sizeof taken);
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tuple_to(t, "192.0.2.1", 5001);
    assert_int_equal(tcp_port_pick(t, n, 0, fake_in_use), 0);
    assert_int_equal(tcp_port_pick(NULL, 0, 12345, fake_in_use), 0);
    taken[77] = 0;
    assert_int_equal(tcp_port_pick(t, n, 0, fake_in_use), TCP_PORT_FIRST + 77);
}

/* bind(0): no destination, the random word is the start. */
static void test_unconnected_start_is_random(void **state)
{
    (void)state;
    assert_int_equal(tcp_port_pick(NULL, 0, 0, fake_in_use), TCP_PORT_FIRST);
    assert_int_equal(tcp_port_pick(NULL, 0, 3 * TCP_PORT_COUNT + 1000, fake_in_use),
                     TCP_PORT_FIRST + 1000);
}

/* ---- through lwIP ---- */

static int lwip_setup(void **state)
{
    (void)state;
    lwip_host_init();
    lwip_host_reset();
    set_fixed_keys();
    return 0;
}

static uint16_t syn_port_to(const char *remote, uint16_t rport, struct tcp_pcb **out)
{
    ip_addr_t r;
    assert_true(ipaddr_aton(remote, &r));
    struct tcp_pcb *pcb = tcp_new();
    assert_non_null(pcb);
    assert_int_equal(tcp_connect(pcb, &r, rport, NULL), ERR_OK);
    struct seg s;
    assert_true(lwip_host_output(&s));
    assert_true(s.flags & TCP_SYN);
    assert_int_equal(s.sport, pcb->local_port);
    assert_int_equal(s.dport, rport);
    *out = pcb;
    return s.sport;
}

/* lwIP's tcp_connect takes the hook's port, per destination: A's second
 * port is one past its first after 20 connections to B (lwIP's counter:
 * 21 past), and a port still in use is never handed out again. */
static void test_tcp_connect_uses_the_hook(void **state)
{
    (void)state;
    struct tcp_pcb *pcbs[22];
    int n = 0;
    uint16_t a1 = syn_port_to(HOST_PEER_IP, 5001, &pcbs[n++]);
    uint16_t b[20];
    for (int i = 0; i < 20; i++)
        b[i] = syn_port_to("192.0.2.9", 5001, &pcbs[n++]);
    uint16_t a2 = syn_port_to(HOST_PEER_IP, 5001, &pcbs[n++]);
    assert_in_range(step(a1, a2), 1, 4);
    for (int i = 0; i < 20; i++) {
        assert_int_not_equal(b[i], a1);
        assert_int_not_equal(b[i], a2);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(b[i], b[j]);
    }
    for (int i = 0; i < n; i++)
        tcp_abort(pcbs[i]);
}

static void test_tcp_bind_zero_in_range(void **state)
{
    (void)state;
    struct tcp_pcb *pcb = tcp_new();
    assert_non_null(pcb);
    assert_int_equal(tcp_bind(pcb, IP_ANY_TYPE, 0), ERR_OK);
    assert_true(pcb->local_port >= TCP_PORT_FIRST);
    tcp_close(pcb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_one_destination_steps_by_a_few, setup),
        cmocka_unit_test_setup(test_other_destinations_do_not_move_one, setup),
        cmocka_unit_test_setup(test_key_decides_the_start, setup),
        cmocka_unit_test_setup(test_taken_ports_skipped, setup),
        cmocka_unit_test_setup(test_full_range_fails, setup),
        cmocka_unit_test_setup(test_unconnected_start_is_random, setup),
        LWIP_HOST_TEST(test_tcp_connect_uses_the_hook, lwip_setup),
        LWIP_HOST_TEST(test_tcp_bind_zero_in_range, lwip_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
