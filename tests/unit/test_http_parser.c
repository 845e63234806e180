/* net/apps/http_parser.c on the host: request syntax, limits, splitting at every
 * byte boundary, pipelining, Connection handling, /bytes/N. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/http_parser_feed.h"

static void test_simple_get(void **state)
{
    (void)state;
    struct http_parser p;
    const char *r = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t used;

    http_parser_init(&p);
    assert_false(http_parser_in_progress(&p));
    assert_int_equal(http_parser_feed(&p, r, strlen(r), &used), HTTP_PARSE_DONE);
    assert_int_equal(used, strlen(r));
    assert_int_equal(p.req.method, HTTP_METHOD_GET);
    assert_string_equal(p.req.target, "/index.html");
    assert_int_equal(p.req.target_len, 11);
    assert_int_equal(p.req.version_minor, 1);
    assert_true(p.req.keep_alive);
    assert_false(http_parser_in_progress(&p));
    /* done: takes nothing more until next() */
    assert_int_equal(http_parser_feed(&p, r, strlen(r), &used), HTTP_PARSE_DONE);
    assert_int_equal(used, 0);
}

static void test_methods(void **state)
{
    (void)state;
    struct http_parser p;

    assert_int_equal(parse_str(&p, "HEAD / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_HEAD);
    assert_int_equal(parse_str(&p, "POST / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_OTHER);
    assert_int_equal(parse_str(&p, "FOO / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_OTHER);
    assert_int_equal(parse_str(&p, "get / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_OTHER);  /* methods are case-sensitive */
    assert_int_equal(parse_str(&p, "GETX / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_OTHER);
    assert_int_equal(parse_str(&p, "GETGETGETGETGET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_OTHER);
    assert_int_equal(parse_str(&p, "M-SEARCH * HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_OTHER);
    assert_string_equal(p.req.target, "*");
}

static void test_versions_and_connection(void **state)
{
    (void)state;
    static const struct { const char *req; int minor; int keep; } cases[] = {
        { "GET / HTTP/1.1\r\n\r\n", 1, 1 },
        { "GET / HTTP/1.0\r\n\r\n", 0, 0 },
        { "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, 0 },
        { "GET / HTTP/1.1\r\nCONNECTION: CLOSE\r\n\r\n", 1, 0 },
        { "GET / HTTP/1.1\r\nconnection:close\r\n\r\n", 1, 0 },
        { "GET / HTTP/1.1\r\nConnection: \t close \t\r\n\r\n", 1, 0 },
        { "GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n", 1, 0 },
        { "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", 1, 1 },
        { "GET / HTTP/1.1\r\nConnection: clo se\r\n\r\n", 1, 1 },
        { "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 1, 1 },
        { "GET / HTTP/1.1\r\nX-Connection: close\r\n\r\n", 1, 1 },
        { "GET / HTTP/1.1\r\nConnection: averyveryverylongtokenclose\r\n\r\n", 1, 1 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 1 },
        { "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, 1 },
        { "GET / HTTP/1.0\r\nconnection: TE,keep-alive\r\n\r\n", 0, 1 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, 0 },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0, 0 },
        { "GET / HTTP/1.0\r\nConnection: close\r\n\r\n", 0, 0 },
        { "GET / HTTP/1.9\r\n\r\n", 9, 1 },
        { "GET / HTTP/1.1\nHost: a\n\n", 1, 1 },               /* bare LF */
        { "\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1, 1 },             /* leading empty lines */
    };
    struct http_parser p;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_str(&p, cases[i].req), HTTP_PARSE_DONE);
        assert_int_equal(p.req.version_minor, cases[i].minor);
        if (p.req.keep_alive != cases[i].keep)
            fail_msg("case %zu (%s): keep_alive %d", i, cases[i].req, p.req.keep_alive);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",        /* TLS client hello */
        "hello\r\n\r\n",
        "GET\r\n\r\n",
        "GET /\r\n\r\n",                                       /* missing version */
        "GET / \r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.10\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.x\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\n\r\n",
        "GET /\x7f HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\rX\r\n\r\n",                           /* CR without LF */
        "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\rX",
        "GET / HTTP/1.1\r\nHost localhost\r\n\r\n",            /* no colon */
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                  /* space before colon */
        "GET / HTTP/1.1\r\n: x\r\n\r\n",                       /* empty name */
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",        /* obs-fold */
        "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",                 /* control byte */
        "GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n",
        "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",  /* 2^64 */
        "GET / HTTP/1.1\r\nContent-Length: 36893488147419103232\r\n\r\n",  /* 2^65 */
        "GET / HTTP/1.1\r\nContent-Length: 1099511627777\r\n\r\n",         /* 2^40+1 */
        "\x80\x81\r\n\r\n",
    };
    struct http_parser p;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_str(&p, bad[i]) != HTTP_PARSE_ERROR)
            fail_msg("case %zu accepted: %s", i, bad[i]);
        assert_non_null(p.error);
    }
}

static void test_nul_bytes(void **state)
{
    (void)state;
    static const char r[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    struct http_parser p;
    char buf[sizeof r];

    /* a NUL anywhere before the end of the header block is an error */
    for (size_t i = 0; i < sizeof r - 1; i++) {
        size_t used;
        memcpy(buf, r, sizeof r);
        buf[i] = '\0';
        http_parser_init(&p);
        assert_int_equal(http_parser_feed(&p, buf, sizeof r - 1, &used), HTTP_PARSE_ERROR);
        assert_int_equal(used, i + 1);
    }
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    struct http_parser p;
    size_t used;

    assert_int_equal(parse_str(&p, "BAD\x01"), HTTP_PARSE_ERROR);
    assert_int_equal(http_parser_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18, &used), HTTP_PARSE_ERROR);
    assert_int_equal(used, 0);
}

/* Every request, cut at every single point and at every pair of points,
 * and fed one byte at a time, gives the same result as in one piece. */
static void test_split_everywhere(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        "GET /stats.json HTTP/1.1\r\nHost: 10.0.2.15\r\nUser-Agent: curl/7.88\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n",
        "HEAD /bytes/1024 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        "\r\nPOST /x?y=1 HTTP/1.1\nContent-Length: 3\n\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",   /* an error, at the same byte */
    };
    for (size_t r = 0; r < sizeof reqs / sizeof reqs[0]; r++) {
        const char *s = reqs[r];
        size_t len = strlen(s), ref_used, total;
        struct http_parser ref, p;

        http_parser_init(&ref);
        enum http_parse_status ref_st = http_parser_feed(&ref, s, len, &ref_used);

        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j++) {
                size_t cuts[2] = { i, j };
                http_parser_init(&p);
                assert_int_equal(feed_split(&p, s, len, cuts, 2, &total), ref_st);
                assert_int_equal(total, ref_used);
                if (ref_st == HTTP_PARSE_DONE)
                    same_request(&p.req, &ref.req);
            }
        }
        /* one byte at a time */
        size_t cuts[512];
        assert_true(len < 512);
        for (size_t i = 0; i < len; i++)
            cuts[i] = i + 1;
        http_parser_init(&p);
        assert_int_equal(feed_split(&p, s, len, cuts, (int)len - 1, &total), ref_st);
        assert_int_equal(total, ref_used);
        if (ref_st == HTTP_PARSE_DONE)
            same_request(&p.req, &ref.req);
    }
}

static void test_header_limit(void **state)
{
    (void)state;
    struct http_parser p;
    size_t used;
    char *s;

    s = request_of_size(HTTP_MAX_HEADER_BYTES);
    http_parser_init(&p);
    assert_int_equal(http_parser_feed(&p, s, HTTP_MAX_HEADER_BYTES, &used), HTTP_PARSE_DONE);
    assert_int_equal(used, HTTP_MAX_HEADER_BYTES);
    free(s);

    s = request_of_size(HTTP_MAX_HEADER_BYTES + 1);
    http_parser_init(&p);
    assert_int_equal(http_parser_feed(&p, s, HTTP_MAX_HEADER_BYTES + 1, &used), HTTP_PARSE_ERROR);
    assert_int_equal(used, HTTP_MAX_HEADER_BYTES + 1);
    free(s);

    /* many small headers adding up to more than the limit, fed in pieces */
    http_parser_init(&p);
    const char *line0 = "GET / HTTP/1.1\r\n", *line = "X-Filler: 0123456789\r\n";
    assert_int_equal(http_parser_feed(&p, line0, strlen(line0), &used), HTTP_PARSE_INCOMPLETE);
    enum http_parse_status st = HTTP_PARSE_INCOMPLETE;
    for (int i = 0; i < 1000 && st == HTTP_PARSE_INCOMPLETE; i++)
        st = http_parser_feed(&p, line, strlen(line), &used);
    assert_int_equal(st, HTTP_PARSE_ERROR);

    /* one over-long request line (no headers at all) */
    s = malloc(20000);
    assert_non_null(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'b', 20000 - 5);
    http_parser_init(&p);
    assert_int_equal(http_parser_feed(&p, s, 20000, &used), HTTP_PARSE_ERROR);
    assert_int_equal(used, HTTP_MAX_HEADER_BYTES + 1);
    free(s);

    /* endless empty lines count too */
    http_parser_init(&p);
    st = HTTP_PARSE_INCOMPLETE;
    for (int i = 0; i < 5000 && st == HTTP_PARSE_INCOMPLETE; i++)
        st = http_parser_feed(&p, "\r\n", 2, &used);
    assert_int_equal(st, HTTP_PARSE_ERROR);
}

static void test_long_target(void **state)
{
    (void)state;
    struct http_parser p;
    char s[1024];
    char want[HTTP_TARGET_MAX + 1];

    memset(want, 'c', sizeof want);
    want[0] = '/';
    want[HTTP_TARGET_MAX] = '\0';

    /* exactly HTTP_TARGET_MAX: kept */
    snprintf(s, sizeof s, "GET %s HTTP/1.1\r\n\r\n", want);
    assert_int_equal(parse_str(&p, s), HTTP_PARSE_DONE);
    assert_false(p.req.target_too_long);
    assert_int_equal(p.req.target_len, HTTP_TARGET_MAX);
    assert_string_equal(p.req.target, want);

    /* one more: still a valid request, flagged */
    snprintf(s, sizeof s, "GET %sc HTTP/1.1\r\n\r\n", want);
    assert_int_equal(parse_str(&p, s), HTTP_PARSE_DONE);
    assert_true(p.req.target_too_long);
    assert_int_equal(p.req.target_len, HTTP_TARGET_MAX);
}

static void test_content_length_limit(void **state)
{
    (void)state;
    struct http_parser p;

    assert_int_equal(parse_str(&p, "POST / HTTP/1.1\r\nContent-Length: 1099511627776\r\n\r\n"),
                     HTTP_PARSE_DONE);
    assert_int_equal(p.req.content_length, UINT64_C(1) << 40);
    assert_int_equal(parse_str(&p, "POST / HTTP/1.1\r\nContent-Length:  00012 \r\n\r\n"),
                     HTTP_PARSE_DONE);
    assert_int_equal(p.req.content_length, 12);
}

static void test_long_header_name(void **state)
{
    (void)state;
    struct http_parser p;

    assert_int_equal(parse_str(&p, "GET / HTTP/1.1\r\nX-A-Very-Long-Header-Name-Indeed-Yes: 1\r\n"
                                   "Connection-Plus-More-Letters: close\r\n\r\n"),
                     HTTP_PARSE_DONE);
    assert_true(p.req.keep_alive);
}

static void test_pipelined(void **state)
{
    (void)state;
    const char *s = "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\nConnection: close\r\n\r\n"
                    "GET /c HTTP/1.0\r\n";
    size_t len = strlen(s), used, off = 0;
    struct http_parser p;

    http_parser_init(&p);
    assert_int_equal(http_parser_feed(&p, s, len, &used), HTTP_PARSE_DONE);
    assert_int_equal(used, 19);
    assert_string_equal(p.req.target, "/a");
    assert_true(p.req.keep_alive);
    off += used;

    http_parser_next(&p);
    assert_false(http_parser_in_progress(&p));
    assert_int_equal(http_parser_feed(&p, s + off, len - off, &used), HTTP_PARSE_DONE);
    assert_int_equal(p.req.method, HTTP_METHOD_HEAD);
    assert_string_equal(p.req.target, "/b");
    assert_false(p.req.keep_alive);
    off += used;

    http_parser_next(&p);
    assert_int_equal(http_parser_feed(&p, s + off, len - off, &used), HTTP_PARSE_INCOMPLETE);
    assert_int_equal(used, len - off);
    assert_true(http_parser_in_progress(&p));
    assert_int_equal(http_parser_feed(&p, "\r\n", 2, &used), HTTP_PARSE_DONE);
    assert_string_equal(p.req.target, "/c");
    assert_int_equal(p.req.version_minor, 0);
}

static void test_body_skipped(void **state)
{
    (void)state;
    const char *s = "POST /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
                    "GET /next HTTP/1.1\r\ncontent-length: 0\r\n\r\n";
    size_t len = strlen(s);

    /* the body and the next request split at every point */
    for (size_t cut = 0; cut <= len; cut++) {
        struct http_parser p;
        size_t used, off = 0;
        enum http_parse_status st;

        http_parser_init(&p);
        st = http_parser_feed(&p, s, cut, &used);
        off = used;
        if (st == HTTP_PARSE_INCOMPLETE) {
            assert_int_equal(http_parser_feed(&p, s + off, len - off, &used), HTTP_PARSE_DONE);
            off += used;
        } else {
            assert_int_equal(st, HTTP_PARSE_DONE);
        }
        assert_int_equal(p.req.method, HTTP_METHOD_OTHER);
        assert_int_equal(p.req.content_length, 10);
        http_parser_next(&p);
        assert_true(http_parser_in_progress(&p));   /* a body to come */

        size_t c2 = cut > off ? cut : off;
        st = http_parser_feed(&p, s + off, c2 - off, &used);
        assert_int_equal(used, c2 - off);
        off = c2;
        if (st == HTTP_PARSE_INCOMPLETE)
            st = http_parser_feed(&p, s + off, len - off, &used);
        assert_int_equal(st, HTTP_PARSE_DONE);
        assert_string_equal(p.req.target, "/next");
        assert_int_equal(p.req.content_length, 0);
    }
}

static void test_in_progress(void **state)
{
    (void)state;
    struct http_parser p;
    size_t used;

    http_parser_init(&p);
    http_parser_feed(&p, "\r\n", 2, &used);
    assert_false(http_parser_in_progress(&p));  /* stray empty lines are not a request */
    http_parser_feed(&p, "G", 1, &used);
    assert_true(http_parser_in_progress(&p));
    http_parser_feed(&p, "ET / HTTP/1.1\r\n\r\n", 17, &used);
    assert_false(http_parser_in_progress(&p));
}

static void test_bytes_path(void **state)
{
    (void)state;
    static const struct { const char *path; int ok; uint32_t n; } cases[] = {
        { "/bytes/0", 1, 0 },
        { "/bytes/1", 1, 1 },
        { "/bytes/1048576", 1, 1048576 },
        { "/bytes/1073741824", 1, 1073741824u },        /* 2^30 */
        { "/bytes/1073741823", 1, 1073741823u },
        { "/bytes/0001073741824", 1, 1073741824u },     /* leading zeros are decimal */
        { "/bytes/007", 1, 7 },
        { "/bytes/1073741825", 0, 0 },                  /* 2^30 + 1 */
        { "/bytes/4294967296", 0, 0 },                  /* 2^32: must not wrap to 0 */
        { "/bytes/4294967297", 0, 0 },
        { "/bytes/10737418240", 0, 0 },
        { "/bytes/99999999999999999999", 0, 0 },
        { "/bytes/-1", 0, 0 },
        { "/bytes/+1", 0, 0 },
        { "/bytes/ 1", 0, 0 },
        { "/bytes/1x", 0, 0 },
        { "/bytes/x1", 0, 0 },
        { "/bytes/1/", 0, 0 },
        { "/bytes/1.5", 0, 0 },
        { "/bytes/0x10", 0, 0 },
        { "/bytes/", 0, 0 },
        { "/bytes", 0, 0 },
        { "/bytes//1", 0, 0 },
        { "/Bytes/1", 0, 0 },
        { "/bytesx/1", 0, 0 },
        { "bytes/1", 0, 0 },
        { "", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t n = 12345;
        bool ok = http_parse_bytes_path(cases[i].path, strlen(cases[i].path), &n);
        if (ok != (bool)cases[i].ok)
            fail_msg("case %s: got %d", cases[i].path, ok);
        if (ok)
            assert_int_equal(n, cases[i].n);
        else
            assert_int_equal(n, 12345);     /* untouched on failure */
    }
    /* the length bounds the path: what follows is not looked at */
    uint32_t n;
    assert_true(http_parse_bytes_path("/bytes/12?x=1", 9, &n));
    assert_int_equal(n, 12);
    /* a huge run of digits does not overflow */
    char big[300] = "/bytes/";
    memset(big + 7, '9', sizeof big - 8);
    big[sizeof big - 1] = '\0';
    assert_false(http_parse_bytes_path(big, strlen(big), &n));
    memset(big + 7, '0', sizeof big - 9);  /* 0000...01 */
    big[sizeof big - 2] = '1';
    assert_true(http_parse_bytes_path(big, strlen(big), &n));
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_versions_and_connection),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_long_target),
        cmocka_unit_test(test_content_length_limit),
        cmocka_unit_test(test_long_header_name),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_body_skipped),
        cmocka_unit_test(test_in_progress),
        cmocka_unit_test(test_bytes_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
