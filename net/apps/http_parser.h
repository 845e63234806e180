/* Incremental HTTP/1.x request parser. Pure: no lwIP, no allocation, so it
 * is unit-tested on the host. Bytes may arrive split anywhere.
 *
 * Accepted: request line "METHOD SP target SP HTTP/1.d" (any token is a
 * method; the server answers 405 to what is not GET/HEAD), lines ending in
 * CRLF or bare LF, empty lines before the request line, header lines
 * "name: value". Rejected (HTTP_PARSE_ERROR, the server answers 400 and
 * closes): header block over HTTP_MAX_HEADER_BYTES, NUL or other control
 * bytes, a missing or non-1.x version, a header line without a colon,
 * whitespace before the colon, obs-fold continuation lines, a bad or
 * repeated Content-Length, any Transfer-Encoding (no chunked bodies).
 *
 * Bodies: a request with "Content-Length: N" is answered after its headers;
 * the parser then discards the next N bytes before it starts on the next
 * request, so the stream stays in sync.
 *
 * Connection: HTTP/1.1 keeps the connection unless "close" is among the
 * Connection tokens; HTTP/1.0 closes unless "keep-alive" is (and "close" is
 * not), as most servers do; names and tokens are case-insensitive. */
#ifndef NET_HTTP_PARSER_H
#define NET_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES 8192  /* request line + headers + final CRLF */
#define HTTP_TARGET_MAX 255         /* longer targets: target_too_long, 404 */
#define HTTP_BYTES_MAX (1u << 30)   /* /bytes/N upper bound */

enum http_method { HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_OTHER };

enum http_parse_status {
    HTTP_PARSE_INCOMPLETE,  /* need more bytes */
    HTTP_PARSE_DONE,        /* a request's headers are complete */
    HTTP_PARSE_ERROR,       /* malformed: answer 400 and close */
};

struct http_request {
    enum http_method method;
    uint8_t version_minor;      /* HTTP/1.x */
    bool keep_alive;            /* version default and Connection applied */
    bool target_too_long;
    bool has_query;             /* a '?' in the target (kept part or not) */
    uint16_t target_len;
    uint64_t content_length;    /* body the parser skips before the next request */
    char target[HTTP_TARGET_MAX + 1];   /* NUL-terminated, as received */
};

struct http_parser {
    const char *error;          /* after HTTP_PARSE_ERROR: why, for logs */
    /* private */
    uint8_t state, vpos, hdr, tok_state;
    uint8_t mlen, nlen, toklen;
    bool conn_close, conn_keep_alive, have_cl, cl_digits, cl_end, have_te;
    uint32_t nbytes;            /* bytes of the current header block */
    uint64_t skip;              /* body bytes of the previous request left to discard */
    /* public: valid after HTTP_PARSE_DONE. From req.target on, nothing is
     * read before it is written: http_parser_init() leaves it as it is. */
    struct http_request req;
    char method[8];
    char name[24];
    char tok[12];
};

void http_parser_init(struct http_parser *p);

/* Consumes bytes up to the end of one request's header block and stores in
 * *used how many it took (the rest belongs to the next request). After DONE
 * or ERROR it consumes nothing until http_parser_next(). */
enum http_parse_status http_parser_feed(struct http_parser *p, const void *data,
                                        size_t len, size_t *used);

/* Ready for the next request on the same connection (keeps the body skip). */
void http_parser_next(struct http_parser *p);

/* True once any byte of a request (or of a body being skipped) was seen and
 * the request is not complete: the connection is mid-request. */
bool http_parser_in_progress(const struct http_parser *p);

/* "/bytes/N": true and *n set if path (len bytes, no query) is exactly
 * "/bytes/" followed by 1+ decimal digits with value <= HTTP_BYTES_MAX
 * (leading zeros allowed, no sign, nothing after). */
bool http_parse_bytes_path(const char *path, size_t len, uint32_t *n);

#endif
