/* Feeding helpers shared by the HTTP parser tests (test_http_parser*.c). */
#ifndef HTTP_PARSER_FEED_H
#define HTTP_PARSER_FEED_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/apps/http_parser.h"

/* Feeds all of s in one call; returns the status, *used = bytes taken. */
static inline enum http_parse_status feed_all(struct http_parser *p, const char *s, size_t len,
                                       size_t *used)
{
    return http_parser_feed(p, s, len, used);
}

static inline enum http_parse_status parse_str(struct http_parser *p, const char *s)
{
    size_t used;
    http_parser_init(p);
    return feed_all(p, s, strlen(s), &used);
}

/* Feeds s in pieces cut at the given points; checks that the parser takes
 * bytes up to the end of the request and stops there. */
static inline enum http_parse_status feed_split(struct http_parser *p, const char *s, size_t len,
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

static inline void same_request(const struct http_request *a, const struct http_request *b)
{
    assert_int_equal(a->method, b->method);
    assert_int_equal(a->version_minor, b->version_minor);
    assert_int_equal(a->keep_alive, b->keep_alive);
    assert_int_equal(a->target_too_long, b->target_too_long);
    assert_int_equal(a->target_len, b->target_len);
    assert_string_equal(a->target, b->target);
    assert_int_equal(a->content_length, b->content_length);
}


/* Builds "GET / HTTP/1.1\r\nX: aaa...\r\n\r\n" of exactly n bytes. */
static inline char *request_of_size(size_t n)
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

#endif
