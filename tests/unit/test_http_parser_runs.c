/* net/apps/http_parser.c's fast loops on the host: runs of method, target,
 * header-name and value bytes cut by a feed's end, the header limit or one
 * bad byte end exactly where the byte-at-a-time machine would. */
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/http_parser_feed.h"

/* Feeds s (len bytes) cut once at cut; returns the status, *total = bytes taken. */
static enum http_parse_status feed_cut(struct http_parser *p, const char *s, size_t len,
                                       size_t cut, size_t *total)
{
    size_t cuts[1] = { cut };
    http_parser_init(p);
    return feed_split(p, s, len, cuts, 1, total);
}

/* A run that reaches the last byte the header limit allows, cut anywhere
 * around it: DONE at exactly HTTP_MAX_HEADER_BYTES, the next byte an error,
 * whichever feed it comes in. */
static void test_run_at_header_limit(void **state)
{
    (void)state;
    struct http_parser p;
    size_t total;

    for (size_t extra = 0; extra <= 1; extra++) {
        size_t n = HTTP_MAX_HEADER_BYTES + extra;
        char *s = request_of_size(n);
        for (size_t cut = n - 12; cut <= n; cut++) {
            enum http_parse_status st = feed_cut(&p, s, n, cut, &total);
            assert_int_equal(st, extra ? HTTP_PARSE_ERROR : HTTP_PARSE_DONE);
            assert_int_equal(total, n);
            if (extra)
                assert_string_equal(p.error, "header block too large");
        }
        free(s);
    }
    /* a value run that would go on past the limit: error at byte 8193 */
    char *s = malloc(HTTP_MAX_HEADER_BYTES + 100);
    assert_non_null(s);
    memcpy(s, "GET / HTTP/1.1\r\nX: ", 19);
    memset(s + 19, 'v', HTTP_MAX_HEADER_BYTES + 100 - 19);
    for (size_t cut = HTTP_MAX_HEADER_BYTES - 3; cut <= HTTP_MAX_HEADER_BYTES + 3; cut++) {
        assert_int_equal(feed_cut(&p, s, HTTP_MAX_HEADER_BYTES + 100, cut, &total),
                         HTTP_PARSE_ERROR);
        assert_int_equal(total, HTTP_MAX_HEADER_BYTES + 1);
        assert_string_equal(p.error, "header block too large");
    }
    /* a target run likewise */
    memcpy(s, "GET /", 5);
    memset(s + 5, 't', HTTP_MAX_HEADER_BYTES + 100 - 5);
    assert_int_equal(feed_cut(&p, s, HTTP_MAX_HEADER_BYTES + 100, 300, &total), HTTP_PARSE_ERROR);
    assert_int_equal(total, HTTP_MAX_HEADER_BYTES + 1);
    free(s);
}

/* A target longer than HTTP_TARGET_MAX cut on either side of the limit:
 * the first HTTP_TARGET_MAX bytes kept, flagged too long only past it. */
static void test_target_run_split(void **state)
{
    (void)state;
    char want[HTTP_TARGET_MAX + 2], s[HTTP_TARGET_MAX + 64];
    struct http_parser p;
    size_t total;

    for (size_t tlen = HTTP_TARGET_MAX - 1; tlen <= HTTP_TARGET_MAX + 1; tlen++) {
        for (size_t i = 0; i < tlen; i++)
            want[i] = (char)('a' + i % 26);
        want[0] = '/';
        want[tlen] = '\0';
        int len = snprintf(s, sizeof s, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", want);
        for (size_t cut = 0; cut <= (size_t)len; cut++) {
            assert_int_equal(feed_cut(&p, s, (size_t)len, cut, &total), HTTP_PARSE_DONE);
            assert_int_equal(total, (size_t)len);
            bool too_long = tlen > HTTP_TARGET_MAX;
            assert_int_equal(p.req.target_too_long, too_long);
            assert_int_equal(p.req.target_len, too_long ? HTTP_TARGET_MAX : tlen);
            assert_memory_equal(p.req.target, want, p.req.target_len);
            assert_int_equal(p.req.target[p.req.target_len], '\0');
        }
    }
}

/* One bad byte anywhere in a run (target, name, a value nothing reads, the
 * version) is the error, at that byte, however the request is cut. */
static void test_bad_byte_in_run(void **state)
{
    (void)state;
    static const char r[] = "GET /some/long/path HTTP/1.1\r\nX-Header-Name: some value here\r\n\r\n";
    static const struct { const char *at; unsigned char c; const char *why; } cases[] = {
        { "some/long", '\x7f', "bad target" },
        { "some/long", '\t', "bad target" },
        { "long/path", '\r', "missing version" },
        { "Header-Name", ' ', "header line without colon" },
        { "Header-Name", '"', "header line without colon" },
        { "Name:", '\x80', "header line without colon" },
        { "value here", '\x7f', "control byte in header" },
        { "value here", '\x1f', "control byte in header" },
        { "value here", '\0', "NUL byte" },
        { "value here", '\v', "control byte in header" },
        { "TP/1.1", 'p', "bad version" },
        { "1.1\r\n", 'x', "bad version" },
        { "/1.1\r\n", 'x', "bad version" },
    };
    char s[sizeof r];
    struct http_parser p;
    size_t total;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t at = (size_t)(strstr(r, cases[k].at) - r) + 2;
        memcpy(s, r, sizeof r);
        s[at] = (char)cases[k].c;
        for (size_t cut = 0; cut < sizeof r; cut++) {
            if (feed_cut(&p, s, sizeof r - 1, cut, &total) != HTTP_PARSE_ERROR)
                fail_msg("case %zu cut %zu accepted", k, cut);
            assert_int_equal(total, at + 1);
            assert_string_equal(p.error, cases[k].why);
        }
    }
    /* the target's first byte (taken with the method's run) */
    assert_int_equal(parse_str(&p, "GET  / HTTP/1.1\r\n\r\n"), HTTP_PARSE_ERROR);
    assert_string_equal(p.error, "bad target");
    assert_int_equal(parse_str(&p, "GET \x7f HTTP/1.1\r\n\r\n"), HTTP_PARSE_ERROR);
    assert_string_equal(p.error, "bad target");
    /* bytes a value may hold: tab, space, 0x80-0xff */
    assert_int_equal(parse_str(&p, "GET / HTTP/1.1\r\nX: a\tb \x80\xff~\r\n\r\n"), HTTP_PARSE_DONE);
}

/* Which bytes start and continue a method and a header name: exactly the
 * RFC 9110 tchar set. */
static void test_tchar_set(void **state)
{
    (void)state;
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    struct http_parser p;
    char s[64];

    for (int c = 1; c < 256; c++) {
        bool want = memchr(tchar, c, sizeof tchar - 1) != NULL;
        if (c == '\r' || c == '\n')
            continue;   /* empty lines before the request line, end of the block */
        snprintf(s, sizeof s, "%cET / HTTP/1.1\r\n\r\n", c);
        assert_int_equal(parse_str(&p, s), want ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR);
        snprintf(s, sizeof s, "GE%cT / HTTP/1.1\r\n\r\n", c);
        if (c != ' ')
            assert_int_equal(parse_str(&p, s), want ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR);
        snprintf(s, sizeof s, "GET / HTTP/1.1\r\n%cx: 1\r\n\r\n", c);
        assert_int_equal(parse_str(&p, s), want ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR);
        snprintf(s, sizeof s, "GET / HTTP/1.1\r\nx%cy: 1\r\n\r\n", c);
        if (c != ':')
            assert_int_equal(parse_str(&p, s), want ? HTTP_PARSE_DONE : HTTP_PARSE_ERROR);
    }
}

/* http_parser_init() leaves the target buffer as it was: a request still
 * sees only its own target. */
static void test_reinit_target(void **state)
{
    (void)state;
    struct http_parser p;

    memset(&p, 0xa5, sizeof p);
    assert_int_equal(parse_str(&p, "GET /longer/target HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(parse_str(&p, "GET /x HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_string_equal(p.req.target, "/x");
    assert_int_equal(p.req.target_len, 2);
    assert_false(p.req.target_too_long);
    assert_int_equal(p.req.content_length, 0);
    http_parser_init(&p);
    assert_int_equal(p.req.target[0], '\0');
    assert_int_equal(p.req.target_len, 0);
}

/* Target and value runs go eight bytes at a time: a bad byte at any place
 * in a long run, with the run starting anywhere in a feed, is found there. */
static void test_bad_byte_any_position(void **state)
{
    (void)state;
    struct http_parser p;
    char s[128];
    size_t total;

    for (int c = 0; c < 256; c++) {
        bool bad_value = (c < ' ' && c != '\t') || c == 0x7f;
        bool bad_target = c <= ' ' || c == 0x7f;
        for (size_t pos = 0; pos < 40; pos++) {
            /* the value: "GET / HTTP/1.1\r\nX: " + 40 bytes */
            int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nX: %040d\r\n\r\n", 0);
            size_t at = 19 + pos;
            s[at] = (char)c;
            if (c == '\r' || c == '\n')
                continue;   /* ends the line: another request, not a bad byte */
            for (size_t cut = 10; cut < 30; cut += 3) {
                enum http_parse_status st = feed_cut(&p, s, (size_t)n, cut, &total);
                if (!bad_value) {
                    assert_int_equal(st, HTTP_PARSE_DONE);
                    continue;
                }
                assert_int_equal(st, HTTP_PARSE_ERROR);
                assert_int_equal(total, at + 1);
                assert_string_equal(p.error, c ? "control byte in header" : "NUL byte");
            }
            /* the target: "GET /" + 40 bytes + " HTTP/1.1" */
            n = snprintf(s, sizeof s, "GET /%040d HTTP/1.1\r\n\r\n", 0);
            at = 5 + pos;
            s[at] = (char)c;
            for (size_t cut = 2; cut < 20; cut += 3) {
                enum http_parse_status st = feed_cut(&p, s, (size_t)n, cut, &total);
                if (c == ' ') {     /* ends the target early: a bad version */
                    assert_int_equal(st, HTTP_PARSE_ERROR);
                    continue;
                }
                if (!bad_target) {
                    assert_int_equal(st, HTTP_PARSE_DONE);
                    assert_int_equal(p.req.target_len, 41);
                    assert_int_equal((unsigned char)p.req.target[at - 4], c);
                    continue;
                }
                assert_int_equal(st, HTTP_PARSE_ERROR);
                assert_int_equal(total, at + 1);
                assert_string_equal(p.error, c == 0 ? "NUL byte"
                                             : c == '\r' || c == '\n' ? "missing version"
                                                                      : "bad target");
            }
        }
    }
}

/* has_query: a '?' anywhere in the target, in a word the run takes whole
 * or in its tail, however the request is cut. */
static void test_has_query(void **state)
{
    (void)state;
    struct http_parser p;
    char s[128];
    size_t total;

    for (int pos = -1; pos < 30; pos++) {
        char t[32];
        memset(t, 'a', 30);
        t[0] = '/';
        t[30] = '\0';
        if (pos > 0)
            t[pos] = '?';
        int n = snprintf(s, sizeof s, "GET %s HTTP/1.1\r\n\r\n", t);
        for (size_t cut = 0; cut <= (size_t)n; cut++) {
            assert_int_equal(feed_cut(&p, s, (size_t)n, cut, &total), HTTP_PARSE_DONE);
            assert_int_equal(p.req.has_query, pos > 0);
            assert_string_equal(p.req.target, t);
        }
    }
    assert_int_equal(parse_str(&p, "GET ? HTTP/1.1\r\n\r\n"), HTTP_PARSE_DONE);
    assert_true(p.req.has_query);
    assert_int_equal(parse_str(&p, "GET /x HTTP/1.1\r\nX: ?\r\n\r\n"), HTTP_PARSE_DONE);
    assert_false(p.req.has_query);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_at_header_limit),
        cmocka_unit_test(test_target_run_split),
        cmocka_unit_test(test_bad_byte_in_run),
        cmocka_unit_test(test_tchar_set),
        cmocka_unit_test(test_reinit_target),
        cmocka_unit_test(test_bad_byte_any_position),
        cmocka_unit_test(test_has_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
