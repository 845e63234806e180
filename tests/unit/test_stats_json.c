/* net/apps/stats_json.c on the host: exact output for a known snapshot, valid
 * JSON for extreme values, snprintf-like truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/glue/stats.h"

/* The server's buffer for /stats.json (net/apps/http_server.c JSON_MAX). */
#define SERVER_JSON_MAX 4096

static struct stats_snapshot known(void)
{
    struct stats_snapshot s;
    memset(&s, 0, sizeof s);
    s.uptime_ms = 123456;
    s.net.rx_packets = 1; s.net.rx_bytes = 2; s.net.rx_dropped = 3;
    s.net.tx_packets = 4; s.net.tx_bytes = 5; s.net.tx_dropped = 6; s.net.tx_queue_stopped = 7;
    s.net.tx_tso_frames = 31; s.net.tx_tso_bytes = 32; s.net.tx_tso_segments = 33;
    s.net.device_errors = 34;
    s.irq.rx = 8; s.irq.tx = 9; s.irq.config = 10; s.irq.spurious = 11;
    s.napi.mode = "napi"; s.napi.weight = 64; s.napi.budget = 300;
    s.napi.polls = 12; s.napi.completes = 13; s.napi.rescheduled = 14;
    s.napi.budget_exhausted = 15; s.napi.time_squeeze = 16; s.napi.deferred = 35;
    s.lwip.mem_used = 17; s.lwip.mem_max = 18; s.lwip.pbuf_pool_used = 19; s.lwip.tcp_pcbs = 20;
    s.heap.used = 21; s.heap.size = 18446744073709551615ull;
    s.tcp_guard.syncookies_sent = 22;
    return s;
}

static const char known_json[] =
    "{\"uptime_ms\":123456,"
    "\"net\":{\"rx_packets\":1,\"rx_bytes\":2,\"rx_dropped\":3,"
    "\"tx_packets\":4,\"tx_bytes\":5,\"tx_dropped\":6,\"tx_queue_stopped\":7,"
    "\"tx_tso_frames\":31,\"tx_tso_bytes\":32,\"tx_tso_segments\":33,\"device_errors\":34},"
    "\"irq\":{\"rx\":8,\"tx\":9,\"config\":10,\"spurious\":11},"
    "\"napi\":{\"mode\":\"napi\",\"weight\":64,\"budget\":300,"
    "\"polls\":12,\"completes\":13,\"rescheduled\":14,\"budget_exhausted\":15,\"time_squeeze\":16,"
    "\"deferred\":35},"
    "\"lwip\":{\"mem_used\":17,\"mem_max\":18,\"pbuf_pool_used\":19,\"tcp_pcbs\":20},"
    "\"heap\":{\"used\":21,\"size\":18446744073709551615},"
    "\"tcp_guard\":{\"syncookies_sent\":22,";

/* ---- a minimal strict JSON checker (objects, strings, unsigned ints) ---- */
static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *value(const char *p);

static const char *string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *value(const char *p)
{
    p = ws(p);
    if (*p == '"')
        return string(p);
    if (*p >= '0' && *p <= '9') {
        if (*p == '0' && p[1] >= '0' && p[1] <= '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
        return p;
    }
    if (*p == '[') {
        p = ws(p + 1);
        if (*p == ']')
            return p + 1;
        for (;;) {
            p = value(p);
            if (!p)
                return NULL;
            p = ws(p);
            if (*p == ']')
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p != '{')
        return NULL;
    p = ws(p + 1);
    if (*p == '}')
        return p + 1;
    for (;;) {
        p = string(ws(p));
        if (!p)
            return NULL;
        p = ws(p);
        if (*p++ != ':')
            return NULL;
        p = value(p);
        if (!p)
            return NULL;
        p = ws(p);
        if (*p == '}')
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static bool valid_json(const char *s)
{
    const char *end = value(s);
    return end && *ws(end) == '\0';
}

/* ---- tests ---- */

static void test_known_snapshot(void **state)
{
    (void)state;
    struct stats_snapshot s = known();
    char buf[SERVER_JSON_MAX];

    int n = stats_format_json(&s, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    /* known_json is the fixed prefix; the tcp_guard list grows with the defences */
    assert_memory_equal(buf, known_json, strlen(known_json));
    assert_true(valid_json(buf));
#define EXPECT_GUARD(name) assert_non_null(strstr(buf, "\"" #name "\":"));
    TCP_GUARD_COUNTERS(EXPECT_GUARD)
#undef EXPECT_GUARD
}

static void test_checker_rejects(void **state)
{
    (void)state;
    assert_false(valid_json("{\"a\":1,}"));
    assert_false(valid_json("{\"a\":01}"));
    assert_false(valid_json("{\"a\" 1}"));
    assert_false(valid_json("{\"a\":\"\x01\"}"));
    assert_false(valid_json("{\"a\":1}}"));
    assert_true(valid_json("{\"a\":{\"b\":\"\\u0001\"}}"));
}

static void test_extremes_fit_server_buffer(void **state)
{
    (void)state;
    struct stats_snapshot s;
    char buf[8192];

    memset(&s, 0xff, sizeof s);         /* every counter UINT64_MAX */
    s.napi.mode = "napi";
    int n = stats_format_json(&s, buf, sizeof buf);
    assert_true(n > 0 && n < SERVER_JSON_MAX);
    assert_int_equal(strlen(buf), n);
    assert_true(valid_json(buf));
    assert_non_null(strstr(buf, "\"weight\":4294967295,"));
    assert_non_null(strstr(buf, "\"polls\":18446744073709551615,"));

    memset(&s, 0, sizeof s);            /* all zero, mode missing */
    n = stats_format_json(&s, buf, sizeof buf);
    assert_true(valid_json(buf));
    assert_non_null(strstr(buf, "\"mode\":\"\","));
    assert_non_null(strstr(buf, "\"uptime_ms\":0,"));
}

static void test_queues_array(void **state)
{
    (void)state;
    struct stats_snapshot s = known();
    char buf[SERVER_JSON_MAX];

    s.nqueues = 2;
    s.queue[0].rx_packets = 5;
    s.queue[1].irq_rx = 7;
    s.queue[1].tx_tso_bytes = 9;
    s.queue[1].device_errors = 2;
    stats_format_json(&s, buf, sizeof buf);
    assert_true(valid_json(buf));
    assert_non_null(strstr(buf, "},\"queues\":[{\"rx_packets\":5,"));
    assert_non_null(strstr(buf, "\"irq_rx\":7,\"irq_tx\":0,\"rx_kicks\":0,\"tx_kicks\":0,"
                                "\"tx_tso_frames\":0,\"tx_tso_bytes\":9,"
                                "\"device_errors\":2}]}"));
}

static void test_mode_escaped(void **state)
{
    (void)state;
    struct stats_snapshot s = known();
    char buf[SERVER_JSON_MAX];

    s.napi.mode = "a\"b\\c\n\x1f";
    stats_format_json(&s, buf, sizeof buf);
    assert_true(valid_json(buf));
    assert_non_null(strstr(buf, "\"mode\":\"a\\\"b\\\\c\\u000a\\u001f\","));
}

static void test_field_order_and_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "\"uptime_ms\"", "\"net\"", "\"rx_packets\"", "\"rx_bytes\"", "\"rx_dropped\"",
        "\"tx_packets\"", "\"tx_bytes\"", "\"tx_dropped\"", "\"tx_queue_stopped\"",
        "\"tx_tso_frames\"", "\"tx_tso_bytes\"", "\"tx_tso_segments\"", "\"device_errors\"",
        "\"irq\"", "\"rx\"", "\"tx\"", "\"config\"", "\"spurious\"",
        "\"napi\"", "\"mode\"", "\"weight\"", "\"budget\"", "\"polls\"", "\"completes\"",
        "\"rescheduled\"", "\"budget_exhausted\"", "\"time_squeeze\"", "\"deferred\"",
        "\"lwip\"", "\"mem_used\"", "\"mem_max\"", "\"pbuf_pool_used\"", "\"tcp_pcbs\"",
        "\"heap\"", "\"used\"", "\"size\"",
    };
    struct stats_snapshot s = known();
    char buf[SERVER_JSON_MAX];
    const char *p = buf;

    stats_format_json(&s, buf, sizeof buf);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *q = strstr(p, names[i]);
        if (!q)
            fail_msg("%s missing or out of order", names[i]);
        p = q + strlen(names[i]);
    }
}

static void test_truncation(void **state)
{
    (void)state;
    struct stats_snapshot s = known();
    char whole[SERVER_JSON_MAX];
    size_t full = (size_t)stats_format_json(&s, whole, sizeof whole);

    /* like snprintf: always the full length back, a NUL-terminated prefix */
    for (size_t len = 1; len <= full + 2; len++) {
        char *buf = malloc(len + 8);
        assert_non_null(buf);
        memset(buf, '#', len + 8);
        int n = stats_format_json(&s, buf, len);
        assert_int_equal(n, full);
        size_t want = len - 1 < full ? len - 1 : full;
        assert_int_equal(strlen(buf), want);
        assert_memory_equal(buf, whole, want);
        for (size_t i = len; i < len + 8; i++)
            assert_int_equal(buf[i], '#');     /* nothing written past len */
        free(buf);
    }
    /* len 0: nothing written at all, NULL is fine */
    assert_int_equal(stats_format_json(&s, NULL, 0), full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_snapshot),
        cmocka_unit_test(test_checker_rejects),
        cmocka_unit_test(test_extremes_fit_server_buffer),
        cmocka_unit_test(test_mode_escaped),
        cmocka_unit_test(test_queues_array),
        cmocka_unit_test(test_field_order_and_names),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
