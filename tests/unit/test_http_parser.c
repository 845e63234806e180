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

#include "net/apps/http_parser.h"

/* Feeds all of s in one call; returns the status, *used = bytes taken. */
static enum http_parse_status feed_all(struct http_parser *p, const char *s, size_t len,
                                       size_t *used)
{
    return http_parser_feed(p, s, len, used);
}

static enum http_parse_status parse_str(struct http_parser *p, const char *s)
{
    size_t used;
    http_parser_init(p);
    return feed_all(p, s, strlen(s), &used);
}

/* Feeds s in pieces cut at the given points; checks that the parser takes
 * bytes up to the end of the request and stops there. */
static enum http_parse_status feed_split(struct http_parser *p, const char *s, size_t len,
                                         const size_t *cuts, int ncuts, size_t *total)
{
    enum http_parse_status st = HTTP_PARSE_INCOMPLETE;
    size_t pos = 0;

    *total = 0;
    for (int i = 0; i <= ncuts && st == HTTP_PARSE_INCOMPLETE; i++) {
        size_t end = i < ncuts ? cuts[i] : len, used;
        st = http_parser_feed(p, s + pos, end - pos, &used);
        assert_true(used <= end - pos);
        if (st == HTTP_PARSE_INCOMPLETE)
            assert_int_equal(used, end - pos);
        *total += used;
        pos = end;
    }
    return st;
}

static void same_request(const struct http_request *a, const struct http_request *b)
{
    assert_int_equal(a->method, b->method);
    assert_int_equal(a->version_minor, b->version_minor);
    assert_int_equal(a->keep_alive, b->keep_alive);
    assert_int_equal(a->target_too_long, b->target_too_long);
    assert_int_equal(a->target_len, b->target_len);
    assert_string_equal(a->target, b->target);
    assert_int_equal(a->content_length, b->content_length);
}

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

/* Builds "GET / HTTP/1.1\r\nX: aaa...\r\n\r\n" of exactly n bytes. */
static char *request_of_size(size_t n)
{
    const char *head = "GET / HTTP/1.1\r\nX: ";
    size_t h = strlen(head);
    char *s = malloc(n + 1);
    assert_non_null(s);
    assert_true(n >= h + 4);
    memcpy(s, head, h);
    memset(s + h, 'a', n - h - 4);
    memcpy(s + n - 4, "\r\n\r\n", 4);
    s[n] = '\0';
    return s;
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

/* The parser takes runs of method, target, header-name and value bytes in
 * loops of their own: a run cut by the end of a feed, by the header limit or
 * by one bad byte must end exactly where the byte-at-a-time machine would. */

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
