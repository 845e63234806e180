/* net/apps/iperf_json.c and net/apps/iperf3_proto.c on the host: the parameter objects
 * iperf 3.12 really sends (captured from Debian 12's iperf3 -c), malformed
 * and hostile documents (rejected as a whole, never read past their end),
 * numbers at their limits, and our results object, checked byte for byte
 * and read back with the same reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/apps/iperf3_proto.h"
#include "net/apps/iperf_json.h"

static const char p_plain[] = "{\"tcp\":true,\"omit\":0,\"time\":3,\"num\":0,\"blockcount\":0,"
    "\"parallel\":1,\"len\":131072,\"pacing_timer\":1000,\"client_version\":\"3.12\"}";
static const char p_rev4[] = "{\"tcp\":true,\"omit\":0,\"time\":3,\"num\":0,\"blockcount\":0,"
    "\"parallel\":4,\"reverse\":true,\"len\":131072,\"pacing_timer\":1000,"
    "\"client_version\":\"3.12\"}";
static const char p_udp[] = "{\"udp\":true,\"omit\":0,\"time\":10,\"num\":0,\"blockcount\":0,"
    "\"parallel\":1,\"len\":32768,\"bandwidth\":1048576,\"pacing_timer\":1000,"
    "\"client_version\":\"3.12\"}";

/* Copies into an exact-size heap block: ASan catches any read past the end. */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    return p;
}

static int get(const char *s, const char *name, struct json_val *v)
{
    size_t n = strlen(s);
    char *p = exact(s, n);
    int r = json_get(p, n, name, v);
    free(p);
    return r;
}

static void test_params_real(void **st)
{
    (void)st;
    struct iperf3_params p;
    const char *why = NULL;

    assert_int_equal(iperf3_params_parse(p_plain, strlen(p_plain), &p, &why), 0);
    assert_false(p.reverse);
    assert_false(p.bidir);
    assert_int_equal(p.parallel, 1);
    assert_int_equal(p.time_s, 3);
    assert_int_equal(p.blksize, 131072);

    assert_int_equal(iperf3_params_parse(p_rev4, strlen(p_rev4), &p, &why), 0);
    assert_true(p.reverse);
    assert_int_equal(p.parallel, 4);
    assert_int_equal(p.rate_bps, 0);
    const char *b = "{\"tcp\":true,\"omit\":0,\"time\":3,\"num\":0,\"blockcount\":0,"
                    "\"parallel\":2,\"reverse\":true,\"len\":131072,\"bandwidth\":50000000,"
                    "\"pacing_timer\":1000,\"client_version\":\"3.12\"}";
    assert_int_equal(iperf3_params_parse(b, strlen(b), &p, &why), 0);
    assert_int_equal(p.rate_bps, 50000000);

    assert_int_equal(iperf3_params_parse(p_udp, strlen(p_udp), &p, &why), -1);
    assert_non_null(why);
}

static void test_params_refused(void **st)
{
    (void)st;
    struct iperf3_params p;
    const char *why;
    const char *bad[] = {
        "{\"tcp\":true,\"parallel\":17}",                     /* over IPERF3_MAX_STREAMS */
        "{\"tcp\":true,\"parallel\":1e30}",
        "{\"tcp\":true,\"sctp\":true}",
        "{\"time\":3}",                                       /* no protocol */
        "{\"tcp\":true,\"time\":3",                           /* truncated */
        "[\"tcp\"]",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        char *c = exact(bad[i], strlen(bad[i]));
        assert_int_equal(iperf3_params_parse(c, strlen(bad[i]), &p, &why), -1);
        assert_non_null(why);
        free(c);
    }
    /* "reverse":false is not reverse; a negative time is none */
    const char *ok = "{\"tcp\":true,\"reverse\":false,\"time\":-5,\"parallel\":16,\"bidirectional\":true}";
    assert_int_equal(iperf3_params_parse(ok, strlen(ok), &p, &why), 0);
    assert_false(p.reverse);
    assert_true(p.bidir);
    assert_int_equal(p.time_s, 0);
    assert_int_equal(p.parallel, 16);
}

static void test_get_types(void **st)
{
    (void)st;
    struct json_val v;
    const char *d = " {\"a\" : 1 , \"s\":\"x\\\"y\\u00e9\", \"o\":{\"a\":2,\"n\":[1,[2,{}]]},"
                    "\"t\":true,\"f\":false,\"z\":null,\"a\":3,\"neg\":-12.9,\"e\":15e-1,"
                    "\"big\":1.5e3} \n";
    assert_int_equal(get(d, "a", &v), 1);       /* the first of duplicates */
    assert_int_equal(v.type, JSON_NUMBER);
    assert_int_equal(v.num, 1);
    assert_int_equal(get(d, "s", &v), 1);
    assert_int_equal(v.type, JSON_STRING);
    assert_int_equal(v.len, strlen("x\\\"y\\u00e9"));
    assert_int_equal(get(d, "o", &v), 1);
    assert_int_equal(v.type, JSON_OBJECT);
    assert_int_equal(get(d, "n", &v), 0);       /* nested members are not top-level */
    assert_int_equal(get(d, "t", &v), 1);
    assert_true(json_truthy(&v));
    assert_int_equal(get(d, "f", &v), 1);
    assert_false(json_truthy(&v));
    assert_int_equal(get(d, "z", &v), 1);
    assert_false(json_truthy(&v));
    assert_int_equal(get(d, "neg", &v), 1);
    assert_int_equal(v.num, -12);
    assert_int_equal(get(d, "e", &v), 1);
    assert_int_equal(v.num, 1);
    assert_int_equal(get(d, "big", &v), 1);
    assert_int_equal(v.num, 1500);
    assert_int_equal(get(d, "missing", &v), 0);
    assert_int_equal(get("{}", "a", &v), 0);
}

static void test_numbers_saturate(void **st)
{
    (void)st;
    struct json_val v;
    assert_int_equal(get("{\"n\":99999999999999999999999}", "n", &v), 1);
    assert_int_equal(v.num, INT64_MAX);
    assert_int_equal(get("{\"n\":-99999999999999999999999}", "n", &v), 1);
    assert_int_equal(v.num, -INT64_MAX);
    assert_int_equal(get("{\"n\":1e999999999}", "n", &v), 1);
    assert_int_equal(v.num, INT64_MAX);
    assert_int_equal(get("{\"n\":1e-999999}", "n", &v), 1);
    assert_int_equal(v.num, 0);
    assert_int_equal(get("{\"n\":9223372036854775807}", "n", &v), 1);
    assert_int_equal(v.num, INT64_MAX);
}

static void test_malformed(void **st)
{
    (void)st;
    const char *bad[] = {
        "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\x01\"}", "{\"a\":[1,2}", "{\"a\":[1,]}", "{a:1}", "{\"a\":1}x",
        "{\"a\":1}{}", "{\"a\":\"\\", "\"a\"", "1", "[]", "{\"a\":1", "{\"a\":\"b\\\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        char *c = exact(bad[i], n);
        struct json_val v;
        if (json_check_object(c, n) != -1 || json_get(c, n, "a", &v) != -1)
            fail_msg("accepted: %s", bad[i]);
        /* every prefix of it, too: the reader stops at the end it is given */
        for (size_t k = 0; k < n; k++)
            json_check_object(c, k);
        free(c);
    }
    /* a document cut anywhere is never valid */
    size_t n = strlen(p_rev4);
    for (size_t k = 0; k < n; k++) {
        char *c = exact(p_rev4, k);
        assert_int_equal(json_check_object(c, k), -1);
        free(c);
    }
}

/* {"a":[[...]]} with k arrays: the deepest value sits at depth k. */
static int nested(int k)
{
    static char d[100000];
    size_t n = 0;

    memcpy(d, "{\"a\":", 5);
    n = 5;
    for (int i = 0; i < k; i++)
        d[n++] = '[';
    for (int i = 0; i < k; i++)
        d[n++] = ']';
    d[n++] = '}';
    return json_check_object(d, n);
}

static void test_depth_limit(void **st)
{
    (void)st;
    assert_int_equal(nested(JSON_MAX_DEPTH), 0);
    assert_int_equal(nested(JSON_MAX_DEPTH + 1), -1);
    assert_int_equal(nested(40000), -1);    /* refused, no unbounded recursion */
}

static void test_results(void **st)
{
    (void)st;
    struct iperf3_stream_result s[] = { { 1, true, 123456789012ull }, { 3, true, 0 } };
    struct iperf3_results r = { .cpu_total_e6 = 12345678, .cpu_user_e6 = 0,
                                .cpu_system_e6 = 12345678, .sender = true,
                                .duration_us = 3000123, .nstreams = 2, .streams = s };
    char buf[1024];
    size_t n = iperf3_results_format(&r, buf, sizeof buf);
    const char *want =
        "{\"cpu_util_total\":12.345678,\"cpu_util_user\":0.000000,"
        "\"cpu_util_system\":12.345678,\"sender_has_retransmits\":0,\"streams\":["
        "{\"id\":1,\"bytes\":123456789012,\"retransmits\":-1,\"jitter\":0,\"errors\":0,"
        "\"packets\":0,\"start_time\":0,\"end_time\":3.000123},"
        "{\"id\":3,\"bytes\":0,\"retransmits\":-1,\"jitter\":0,\"errors\":0,"
        "\"packets\":0,\"start_time\":0,\"end_time\":3.000123}]}";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(json_check_object(buf, n), 0);
    struct json_val v;
    assert_int_equal(json_get(buf, n, "sender_has_retransmits", &v), 1);
    assert_int_equal(v.num, 0);
    assert_int_equal(json_get(buf, n, "streams", &v), 1);
    assert_int_equal(v.type, JSON_ARRAY);

    /* too small a buffer: snprintf-like, NUL-terminated, length still told */
    char small[40];
    memset(small, 'x', sizeof small);
    assert_int_equal(iperf3_results_format(&r, small, sizeof small), strlen(want));
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, want, sizeof small - 1);

    /* a receiver says it has no retransmit counts */
    r.sender = false;
    r.nstreams = 0;
    n = iperf3_results_format(&r, buf, sizeof buf);
    assert_int_equal(json_get(buf, n, "sender_has_retransmits", &v), 1);
    assert_int_equal(v.num, -1);
    assert_int_equal(json_get(buf, n, "streams", &v), 1);
    assert_int_equal(v.len, 2);
}

static void test_stream_ids(void **st)
{
    (void)st;
    /* iperf_add_stream: 1, then 3, 4, 5... */
    assert_int_equal(iperf3_stream_id(0), 1);
    assert_int_equal(iperf3_stream_id(1), 3);
    assert_int_equal(iperf3_stream_id(2), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_real),
        cmocka_unit_test(test_params_refused),
        cmocka_unit_test(test_get_types),
        cmocka_unit_test(test_numbers_saturate),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_results),
        cmocka_unit_test(test_stream_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
