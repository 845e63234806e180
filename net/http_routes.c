/* The HTTP server's responses: which path gives what (SPEC.md "HTTP"). */
#include <string.h>

#include "lwip/sys.h"
#include "net/http_conn.h"
#include "net/stats.h"
#include "net/www.h"

static void put(char *buf, uint16_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n < HDR_MAX) {
        memcpy(buf + *pos, s, n);
        *pos = (uint16_t)(*pos + n);
    }
}

static void put_u32(char *buf, uint16_t *pos, uint32_t v)
{
    char tmp[11];
    int i = (int)sizeof tmp - 1;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(buf, pos, tmp + i);
}

static const char *const ctype_html = "text/html; charset=utf-8";
static const char *const ctype_text = "text/plain; charset=utf-8";

static void respond(struct http_conn *c, const struct http_request *r, const char *status,
                    const char *ctype, uint8_t kind, const void *body, uint32_t len,
                    const char *extra)
{
    uint16_t n = 0;

    put(c->hdr, &n, "HTTP/1.1 ");
    put(c->hdr, &n, status);
    put(c->hdr, &n, "\r\nContent-Type: ");
    put(c->hdr, &n, ctype);
    put(c->hdr, &n, "\r\nContent-Length: ");
    put_u32(c->hdr, &n, len);
    put(c->hdr, &n, c->close_after ? "\r\nConnection: close\r\n" : "\r\nConnection: keep-alive\r\n");
    if (extra)
        put(c->hdr, &n, extra);
    put(c->hdr, &n, "\r\n");

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

void http_respond_error(struct http_conn *c, const struct http_request *r, int code)
{
    static const char nf[] = "Not Found\n", na[] = "Method Not Allowed\n",
                      br[] = "Bad Request\n", ie[] = "Internal Server Error\n";

    switch (code) {
    case 404:
        respond(c, r, "404 Not Found", ctype_text, B_ROM, nf, sizeof nf - 1, NULL);
        break;
    case 405:
        respond(c, r, "405 Method Not Allowed", ctype_text, B_ROM, na, sizeof na - 1,
                "Allow: GET, HEAD\r\n");
        break;
    case 500:
        respond(c, r, "500 Internal Server Error", ctype_text, B_ROM, ie, sizeof ie - 1, NULL);
        break;
    default:
        c->close_after = true;
        respond(c, r, "400 Bad Request", ctype_text, B_ROM, br, sizeof br - 1, NULL);
        break;
    }
}

static bool path_is(const char *path, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(path, want, len) == 0;
}

void http_route(struct http_conn *c, const struct http_request *r)
{
    const char *path = r->target;
    size_t len = strcspn(path, "?");    /* the query string selects nothing here */
    uint32_t n;

    c->close_after = !r->keep_alive;
    if (r->method == HTTP_METHOD_OTHER) {
        http_respond_error(c, r, 405);
    } else if (r->target_too_long) {
        http_respond_error(c, r, 404);
    } else if (path_is(path, len, "/")) {
        respond(c, r, "200 OK", ctype_html, B_ROM, www_index_html_start,
                (uint32_t)(www_index_html_end - www_index_html_start), NULL);
    } else if (path_is(path, len, "/stats")) {
        respond(c, r, "200 OK", ctype_html, B_ROM, www_stats_html_start,
                (uint32_t)(www_stats_html_end - www_stats_html_start), NULL);
    } else if (path_is(path, len, "/style.css")) {
        respond(c, r, "200 OK", "text/css; charset=utf-8", B_ROM, www_style_css_start,
                (uint32_t)(www_style_css_end - www_style_css_start), NULL);
    } else if (path_is(path, len, "/stats.json")) {
        struct stats_snapshot s;
        stats_snapshot(&s);
        int jl = stats_format_json(&s, c->json, sizeof c->json);
        if (jl < 0 || (size_t)jl >= sizeof c->json)
            http_respond_error(c, r, 500);
        else
            respond(c, r, "200 OK", "application/json", B_COPY, c->json, (uint32_t)jl,
                    "Cache-Control: no-store\r\n");
    } else if (http_parse_bytes_path(path, len, &n)) {
        respond(c, r, "200 OK", "application/octet-stream", B_PATTERN, NULL, n,
                "Cache-Control: no-store\r\n");
    } else {
        http_respond_error(c, r, 404);
    }
}

