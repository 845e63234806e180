/* The HTTP server's responses: which path gives what (SPEC.md "HTTP"). */
#include <string.h>

#include "lwip/sys.h"
#include "net/apps/http_conn.h"
#include "net/glue/stats.h"
#include "net/apps/www.h"

/* A string literal and its length, known at compile time: the header is
 * assembled once per request, and strlen over constants is wasted work. */
struct lit {
    const char *s;
    uint16_t n;
};
#define LIT(x) ((struct lit){ "" x, (uint16_t)(sizeof(x) - 1) })

static inline void put(char *buf, uint16_t *pos, const char *s, size_t n)
{
    if (*pos + n < HDR_MAX) {
        __builtin_memcpy(buf + *pos, s, n);     /* inlined where n is a constant */
        *pos = (uint16_t)(*pos + n);
    }
}

static void put_u32(char *buf, uint16_t *pos, uint32_t v)
{
    char tmp[10];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(buf, pos, tmp + i, sizeof tmp - (size_t)i);
}

#define CTYPE_HTML "text/html; charset=utf-8"
#define CTYPE_TEXT "text/plain; charset=utf-8"

/* head: the status line up to the Content-Length value; keep/close: the rest
 * of the header (Connection, extra lines, the empty line) for either ending.
 * Inlined into each RESPOND, so the literals' copies are of constant size. */
static inline __attribute__((always_inline)) void respond(struct http_conn *c, const struct http_request *r, struct lit head,
                    struct lit keep, struct lit close, uint8_t kind, const void *body,
                    uint32_t len)
{
    struct lit tail = c->close_after ? close : keep;
    uint16_t n = 0;

    put(c->hdr, &n, head.s, head.n);
    put_u32(c->hdr, &n, len);
    put(c->hdr, &n, tail.s, tail.n);

    c->hdr_len = n;
    c->hdr_off = 0;
    c->body_kind = (r && r->method == HTTP_METHOD_HEAD) ? B_NONE : kind;
    c->body = body;
    c->body_len = c->body_kind == B_NONE ? 0 : len;
    c->body_off = 0;
    if (c->state != C_SENDING) {
        c->ack_ms = sys_now();
        c->acked = 0;
    }
    c->state = C_SENDING;
}

/* status, ctype and extra (whole header lines, each ending in CRLF, or "")
 * must be string literals. */
#define RESPOND(c, r, status, ctype, kind, body, len, extra)                           \
    respond(c, r, LIT("HTTP/1.1 " status "\r\nContent-Type: " ctype "\r\nContent-Length: "), \
            LIT("\r\nConnection: keep-alive\r\n" extra "\r\n"),                       \
            LIT("\r\nConnection: close\r\n" extra "\r\n"), kind, body, len)

void http_respond_error(struct http_conn *c, const struct http_request *r, int code)
{
    static const char nf[] = "Not Found\n", na[] = "Method Not Allowed\n",
                      br[] = "Bad Request\n", ie[] = "Internal Server Error\n";

    switch (code) {
    case 404:
        RESPOND(c, r, "404 Not Found", CTYPE_TEXT, B_ROM, nf, sizeof nf - 1, "");
        break;
    case 405:
        RESPOND(c, r, "405 Method Not Allowed", CTYPE_TEXT, B_ROM, na, sizeof na - 1,
                "Allow: GET, HEAD\r\n");
        break;
    case 500:
        RESPOND(c, r, "500 Internal Server Error", CTYPE_TEXT, B_ROM, ie, sizeof ie - 1, "");
        break;
    default:
        c->close_after = true;
        RESPOND(c, r, "400 Bad Request", CTYPE_TEXT, B_ROM, br, sizeof br - 1, "");
        break;
    }
}

/* want: a string literal. The length test first: most paths differ there. */
#define PATH_IS(path, len, want) \
    ((len) == sizeof(want) - 1 && __builtin_memcmp(path, want, sizeof(want) - 1) == 0)

void http_route(struct http_conn *c, const struct http_request *r)
{
    const char *path = r->target;
    const char *q = r->has_query ? memchr(path, '?', r->target_len) : NULL;
    size_t len = q ? (size_t)(q - path) : r->target_len;  /* the query string selects nothing here */
    uint32_t n;

    c->close_after = !r->keep_alive;
    if (r->method == HTTP_METHOD_OTHER) {
        http_respond_error(c, r, 405);
    } else if (r->target_too_long) {
        http_respond_error(c, r, 404);
    } else if (http_parse_bytes_path(path, len, &n)) {
        RESPOND(c, r, "200 OK", "application/octet-stream", B_PATTERN, NULL, n,
                "Cache-Control: no-store\r\n");
    } else if (PATH_IS(path, len, "/")) {
        RESPOND(c, r, "200 OK", CTYPE_HTML, B_ROM, www_index_html_start,
                (uint32_t)(www_index_html_end - www_index_html_start), "");
    } else if (PATH_IS(path, len, "/stats")) {
        RESPOND(c, r, "200 OK", CTYPE_HTML, B_ROM, www_stats_html_start,
                (uint32_t)(www_stats_html_end - www_stats_html_start), "");
    } else if (PATH_IS(path, len, "/style.css")) {
        RESPOND(c, r, "200 OK", "text/css; charset=utf-8", B_ROM, www_style_css_start,
                (uint32_t)(www_style_css_end - www_style_css_start), "");
    } else if (PATH_IS(path, len, "/stats.json")) {
        struct stats_snapshot s;
        stats_snapshot(&s);
        int jl = stats_format_json(&s, c->json, sizeof c->json);
        if (jl < 0 || (size_t)jl >= sizeof c->json)
            http_respond_error(c, r, 500);
        else
            RESPOND(c, r, "200 OK", "application/json", B_COPY, c->json, (uint32_t)jl,
                    "Cache-Control: no-store\r\n");
    } else {
        http_respond_error(c, r, 404);
    }
}
