/* kernel/cmdline.c: SPEC.md's command line, defaults kept on bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/net/netdev.h"
#include "kernel/cmdline.h"
#include "kernel/log.h"
#include "kernel/napi.h"
#include "net/glue/config.h"

/* Every key's home, as the modules declare it (the kernel's table). */
struct homes {
    struct napi_config napi;
    struct netdev_config netdev;
    struct net_config net;
    enum log_level log;
};
static struct homes defaults;

/* What the linked modules (kernel/log.c, kernel/test_hooks.c) need. */
void console_write(const char *s, size_t len) { (void)s, (void)len; }
void kernel_exit(int status) { (void)status; abort(); }

static char last_warning[512];
static int warnings;

static void warn(void *ctx, const char *msg)
{
    (void)ctx;
    warnings++;
    snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

static void restore_defaults(void)
{
    napi_config = defaults.napi;
    netdev_config = defaults.netdev;
    net_config = defaults.net;
    assert_int_equal(cmdline_parse("log=info", NULL, NULL), 0);
}

static struct homes parse(const char *line, int expect_warnings)
{
    restore_defaults();
    warnings = 0;
    last_warning[0] = 0;
    assert_int_equal(cmdline_parse(line, warn, NULL), expect_warnings);
    assert_int_equal(warnings, expect_warnings);
    log_cmdline_apply();
    struct homes c;
    memset(&c, 0, sizeof(c));
    c.napi = napi_config;
    c.netdev = netdev_config;
    c.net = net_config;
    c.log = log_threshold;
    return c;
}

static int save_defaults(void **state)
{
    (void)state;
    memset(&defaults, 0, sizeof(defaults));
    defaults.napi = napi_config;
    defaults.netdev = netdev_config;
    defaults.net = net_config;
    defaults.log = log_threshold;
    return 0;
}

static void test_defaults_match_spec(void **state)
{
    (void)state;
    struct homes c = parse("", 0);
    assert_false(c.net.has_ip);
    assert_int_equal(c.netdev.mode, NET_MODE_NAPI);
    assert_int_equal(c.napi.weight, 64);
    assert_int_equal(c.napi.budget, 300);
    assert_int_equal(c.napi.budget_us, 2000);
    assert_int_equal(c.napi.defer_hard_irqs, 2);
    assert_int_equal(c.napi.defer_timeout_us, 5);
    assert_int_equal(c.netdev.queues, 1);
    assert_int_equal(c.net.http_port, 80);
    assert_int_equal(c.log, LOG_INFO);
    c = parse(NULL, 0);
    assert_int_equal(c.net.http_port, 80);
}

/* One table: no two modules claim a key (the first would shadow the other). */
static void test_keys_unique(void **state)
{
    (void)state;
    extern const struct cmdline_param __start_cmdline_params[], __stop_cmdline_params[];
    unsigned n = 0;
    for (const struct cmdline_param *p = __start_cmdline_params; p < __stop_cmdline_params; p++) {
        n++;
        for (const struct cmdline_param *q = p + 1; q < __stop_cmdline_params; q++)
            if (strcmp(p->key, q->key) == 0)
                fail_msg("key '%s' registered twice", p->key);
    }
    assert_int_equal(n, 16);   /* SPEC.md's command line */
}

static void test_all_keys(void **state)
{
    (void)state;
    struct homes c = parse("ip=192.0.2.2/24 gw=192.0.2.1 net.mode=poll napi.weight=16 "
                             "net.budget=100 net.budget_us=500 http.port=8081 log=debug net.queues=4 "
                             "napi.defer_hard_irqs=0 napi.defer_timeout_us=10000", 0);
    assert_int_equal(c.netdev.queues, 4);
    assert_true(c.net.has_ip);
    assert_int_equal(c.net.ip, 0xc0000202u);
    assert_int_equal(c.net.prefix_len, 24);
    assert_true(c.net.has_gw);
    assert_int_equal(c.net.gw, 0xc0000201u);
    assert_int_equal(c.netdev.mode, NET_MODE_POLL);
    assert_int_equal(c.napi.weight, 16);
    assert_int_equal(c.napi.budget, 100);
    assert_int_equal(c.napi.budget_us, 500);
    assert_int_equal(c.napi.defer_hard_irqs, 0);
    assert_int_equal(c.napi.defer_timeout_us, 10000);
    assert_int_equal(c.net.http_port, 8081);
    assert_int_equal(c.log, LOG_DEBUG);
    assert_string_equal(net_mode_name(c.netdev.mode), "poll");
}

static void test_whitespace_runs(void **state)
{
    (void)state;
    struct homes c = parse("  \tnet.mode=irq   http.port=1\n", 0);
    assert_int_equal(c.netdev.mode, NET_MODE_IRQ);
    assert_int_equal(c.net.http_port, 1);
}

static void test_unknown_key_reported_default_kept(void **state)
{
    (void)state;
    struct homes c = parse("foo=bar http.port=81", 1);
    assert_non_null(strstr(last_warning, "unknown key 'foo'"));
    assert_int_equal(c.net.http_port, 81);
}

static void test_bad_values_keep_defaults(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "napi.weight=abc", "napi.weight=0", "napi.weight=-1", "napi.weight=99999999999",
        "napi.defer_hard_irqs=101", "napi.defer_hard_irqs=-1", "napi.defer_timeout_us=10001",
        "net.budget=", "http.port=65536", "http.port=0", "net.mode=fast", "log=verbose",
        "ip=1.2.3.4", "ip=1.2.3/24", "ip=1.2.3.4/33", "ip=256.1.1.1/8", "ip=1.2.3.4.5/8", "test.heap=2", "net.queues=0", "net.queues=5",
        "ip=/24", "ip=1..2.3/8", "gw=1.2.3", "gw=a.b.c.d", "test.fault=boom",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct homes c = parse(bad[i], 1);
        assert_memory_equal(&c, &defaults, sizeof(c));
        assert_non_null(strstr(last_warning, "ignoring"));
    }
}

static void test_token_without_equals(void **state)
{
    (void)state;
    parse("quiet", 1);
    assert_non_null(strstr(last_warning, "'quiet'"));
    parse("=5", 1);
}

static void test_overlong_token_is_truncated_in_message(void **state)
{
    (void)state;
    char line[4000];
    memset(line, 'k', sizeof(line) - 3);
    memcpy(line + sizeof(line) - 3, "=1", 3);
    parse(line, 1);
    assert_true(strlen(last_warning) < 400);
}

static void test_ipv4_parser(void **state)
{
    (void)state;
    uint32_t ip;
    assert_true(parse_ipv4("0.0.0.0", 7, &ip));
    assert_int_equal(ip, 0);
    assert_true(parse_ipv4("255.255.255.255", 15, &ip));
    assert_int_equal(ip, 0xffffffffu);
    assert_false(parse_ipv4("1.2.3.", 6, &ip));
    assert_false(parse_ipv4("1.2.3.4 ", 8, &ip));
    assert_false(parse_ipv4("0001.2.3.4", 10, &ip));
}

static void check_ip6(const char *text, const char *hex)
{
    uint8_t got[16], want[16];
    for (int i = 0; i < 16; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        want[i] = (uint8_t)b;
    }
    memset(got, 0xee, sizeof(got));
    if (!parse_ipv6(text, strlen(text), got))
        fail_msg("parse_ipv6 refused '%s'", text);
    assert_memory_equal(got, want, 16);
}

static void test_ipv6_parser(void **state)
{
    (void)state;
    check_ip6("::", "00000000000000000000000000000000");
    check_ip6("::1", "00000000000000000000000000000001");
    check_ip6("1::", "00010000000000000000000000000000");
    check_ip6("2001:db8::2", "20010db8000000000000000000000002");
    check_ip6("2001:DB8:0:0:1::1", "20010db8000000000001000000000001");
    check_ip6("fe80::5054:ff:fec0:2", "fe80000000000000505400fffec00002");
    check_ip6("1:2:3:4:5:6:7:8", "00010002000300040005000600070008");
    check_ip6("1:2:3:4:5:6:7::", "00010002000300040005000600070000");
    check_ip6("::2:3:4:5:6:7:8", "00000002000300040005000600070008");
    check_ip6("::ffff:192.0.2.1", "00000000000000000000ffffc0000201");
    check_ip6("1:2:3:4:5:6:192.0.2.1", "000100020003000400050006c0000201");
    static const char *const bad[] = {
        "", ":", ":::", "1:::2", "1::2::3", ":1::", "1:", "1::2:", "12345::", "g::",
        "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
        "1.2.3.4", "::1.2.3", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "2001:db8::2%tap0",
        "2001:db8::2 ", " ::1", "::-1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t a[16];
        if (parse_ipv6(bad[i], strlen(bad[i]), a))
            fail_msg("parse_ipv6 took '%s'", bad[i]);
    }
}

static void test_ip6_keys(void **state)
{
    (void)state;
    static const uint8_t ip[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
    static const uint8_t gw[16] = { 0xfe, 0x80, [15] = 1 };
    struct homes c = parse("ip6=2001:db8::2/64 gw6=fe80::1", 0);
    assert_true(c.net.has_ip6);
    assert_memory_equal(c.net.ip6, ip, 16);
    assert_int_equal(c.net.prefix6_len, 64);
    assert_true(c.net.has_gw6);
    assert_memory_equal(c.net.gw6, gw, 16);
    c = parse("ip6=2001:db8::2/128", 0);
    assert_int_equal(c.net.prefix6_len, 128);
    assert_false(c.net.has_gw6);
    static const char *const bad[] = {
        "ip6=2001:db8::2", "ip6=2001:db8::2/0", "ip6=2001:db8::2/129", "ip6=2001:db8::2/",
        "ip6=/64", "ip6=::/64", "ip6=::1/128", "ip6=ff02::1/64", "ip6=fe80::2/64",
        "ip6=192.0.2.2/24", "gw6=", "gw6=::", "gw6=ff02::2", "gw6=::1", "gw6=2001:db8::1/64",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = parse(bad[i], 1);
        assert_memory_equal(&c, &defaults, sizeof(c));
        assert_non_null(strstr(last_warning, "bad value"));
    }
}

static void test_test_keys(void **state)
{
    (void)state;
    /* Their effect is the boot tests' (tests/qemu/test_boot.py). */
    parse("test.fault=pf test.exit=ready test.heap=1", 0);
    parse("test.exit=later", 1);
    assert_non_null(strstr(last_warning, "bad value for 'test.exit'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_spec),
        cmocka_unit_test(test_keys_unique),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_whitespace_runs),
        cmocka_unit_test(test_unknown_key_reported_default_kept),
        cmocka_unit_test(test_bad_values_keep_defaults),
        cmocka_unit_test(test_token_without_equals),
        cmocka_unit_test(test_overlong_token_is_truncated_in_message),
        cmocka_unit_test(test_ipv4_parser),
        cmocka_unit_test(test_ipv6_parser),
        cmocka_unit_test(test_ip6_keys),
        cmocka_unit_test(test_test_keys),
    };
    return cmocka_run_group_tests_name("cmdline", tests, save_defaults, NULL);
}
