/* Incremental HTTP/1.x request parser: a byte-at-a-time state machine, so a
 * request split at any byte boundary parses the same as one in a single
 * segment. See http_parser.h for what is accepted.
 *
 * The common bytes (method, target, version, header names, values nothing
 * looks at, CRLF after them) are taken by run() in loops of their own; any
 * byte it does not take goes through the state machine (step()). */
#include "net/apps/http_parser.h"

#include <string.h>

enum {
    S_START,        /* before the request line: empty lines are skipped */
    S_START_CR,
    S_METHOD,
    S_TARGET0,      /* first byte of the target */
    S_TARGET,
    S_VERSION,      /* "HTTP/1." then one digit */
    S_RL_END,       /* after the version: CR or LF */
    S_RL_CR,
    S_LINE,         /* start of a header line, or of the final empty line */
    S_NAME,
    S_VALUE,
    S_LINE_CR,
    S_END_CR,
    S_DONE,
    S_ERROR,
};

enum { H_OTHER, H_CONNECTION, H_CONTENT_LENGTH, H_TRANSFER_ENCODING };

/* Connection value tokenizer (comma-separated, OWS around tokens). */
enum { T_SPACE, T_TOKEN, T_AFTER, T_BAD };

/* a (length-checked) buffer equals string literal lit; a builtin, which
 * -ffreestanding does not give implicitly: inlined for a constant size */
#define MEMEQ(buf, lit) (__builtin_memcmp(buf, lit, sizeof(lit) - 1) == 0)

/* Eight bytes at a time: nonzero if some byte of w is below n (n <= 0x80;
 * the lowest such byte is always flagged), or if some byte equals c. */
#define BYTES(v) (UINT64_C(0x0101010101010101) * (v))
#define ANY_BELOW(w, n) (((w) - BYTES(n)) & ~(w) & BYTES(0x80))
#define ANY_EQ(w, c) ANY_BELOW((w) ^ BYTES(c), 1)

/* No byte of s[0..7] below n, none DEL, none q (0: no such test). */
static bool plain8(const unsigned char *s, unsigned n, unsigned q)
{
    uint64_t w;
    __builtin_memcpy(&w, s, 8);
    return !(ANY_BELOW(w, n) | ANY_EQ(w, 0x7f) | (q ? ANY_EQ(w, q) : 0));
}

#define TOK_LONG 0xff   /* toklen marker: token longer than tok[]: matches nothing */
#define CL_MAX (UINT64_C(1) << 40)   /* largest body we skip; v*10+9 never wraps */

/* RFC 9110 tchar: ALPHA, DIGIT and "!#$%&'*+-.^_`|~", one bit per byte value */
static bool is_tchar(unsigned char c)
{
    static const uint32_t map[8] = { 0x00000000, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff };
    return (map[c >> 5] >> (c & 31)) & 1;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

void http_parser_init(struct http_parser *p)
{
    __builtin_memset(p, 0, offsetof(struct http_parser, req.target));
    p->req.target[0] = '\0';
    p->state = S_START;
}

void http_parser_next(struct http_parser *p)
{
    uint64_t skip = p->skip;

    if (p->state == S_DONE)
        skip += p->req.content_length;
    http_parser_init(p);
    p->skip = skip;
}

bool http_parser_in_progress(const struct http_parser *p)
{
    return p->skip > 0 || (p->state != S_START && p->state != S_START_CR &&
                           p->state != S_DONE && p->state != S_ERROR);
}

static enum http_parse_status fail(struct http_parser *p, const char *why)
{
    p->state = S_ERROR;
    p->error = why;
    return HTTP_PARSE_ERROR;
}

static void conn_token_end(struct http_parser *p)
{
    if ((p->tok_state == T_TOKEN || p->tok_state == T_AFTER) && p->toklen != TOK_LONG) {
        if (p->toklen == 5 && MEMEQ(p->tok, "close"))
            p->conn_close = true;
        else if (p->toklen == 10 && MEMEQ(p->tok, "keep-alive"))
            p->conn_keep_alive = true;
    }
    p->tok_state = T_SPACE;
    p->toklen = 0;
}

static void conn_value_byte(struct http_parser *p, unsigned char c)
{
    if (c == ',') {
        conn_token_end(p);
    } else if (c == ' ' || c == '\t') {
        if (p->tok_state == T_TOKEN)
            p->tok_state = T_AFTER;
    } else if (p->tok_state == T_AFTER || p->tok_state == T_BAD) {
        p->tok_state = T_BAD;   /* "clo se": not a token we know */
    } else {
        p->tok_state = T_TOKEN;
        if (p->toklen < sizeof p->tok)
            p->tok[p->toklen++] = (char)lower(c);
        else
            p->toklen = TOK_LONG;
    }
}

static bool cl_value_byte(struct http_parser *p, unsigned char c)
{
    if (c == ' ' || c == '\t') {
        if (p->cl_digits)
            p->cl_end = true;
        return true;
    }
    if (c < '0' || c > '9' || p->cl_end)
        return false;
    p->cl_digits = true;
    p->req.content_length = p->req.content_length * 10 + (uint64_t)(c - '0');
    return p->req.content_length <= CL_MAX;   /* checked every digit */
}

static void name_done(struct http_parser *p)
{
    p->hdr = H_OTHER;
    if (p->nlen == 10 && MEMEQ(p->name, "connection")) {
        p->hdr = H_CONNECTION;
        p->tok_state = T_SPACE;
        p->toklen = 0;
    } else if (p->nlen == 14 && MEMEQ(p->name, "content-length")) {
        p->hdr = H_CONTENT_LENGTH;
    } else if (p->nlen == 17 && MEMEQ(p->name, "transfer-encoding")) {
        p->hdr = H_TRANSFER_ENCODING;
    }
}

/* End of one header line (its CRLF/LF seen). */
static const char *line_done(struct http_parser *p)
{
    if (p->hdr == H_CONNECTION)
        conn_token_end(p);
    else if (p->hdr == H_CONTENT_LENGTH && !p->cl_digits)
        return "empty Content-Length";
    return NULL;
}

static enum http_parse_status headers_done(struct http_parser *p)
{
    if (p->have_te)
        return fail(p, "Transfer-Encoding not supported");
    p->req.keep_alive = p->req.version_minor >= 1 ? !p->conn_close
                                                  : p->conn_keep_alive && !p->conn_close;
    p->state = S_DONE;
    return HTTP_PARSE_DONE;
}

static void method_done(struct http_parser *p)
{
    if (p->mlen == 3 && MEMEQ(p->method, "GET"))
        p->req.method = HTTP_METHOD_GET;
    else if (p->mlen == 4 && MEMEQ(p->method, "HEAD"))
        p->req.method = HTTP_METHOD_HEAD;
    else
        p->req.method = HTTP_METHOD_OTHER;
}

/* One byte through the state machine. */
static enum http_parse_status step(struct http_parser *p, unsigned char c)
{
    enum http_parse_status st = HTTP_PARSE_INCOMPLETE;

    if (c == 0)
        return fail(p, "NUL byte");
    switch (p->state) {
    case S_START:
        if (c == '\r')
            p->state = S_START_CR;
        else if (c == '\n')
            ;
        else if (is_tchar(c)) {
            p->method[p->mlen++] = (char)c;
            p->state = S_METHOD;
        } else
            st = fail(p, "bad request line");
        break;
    case S_START_CR:
        if (c == '\n')
            p->state = S_START;
        else
            st = fail(p, "CR without LF");
        break;
    case S_METHOD:
        if (c == ' ') {
            method_done(p);
            p->state = S_TARGET0;
        } else if (is_tchar(c)) {
            if (p->mlen < sizeof p->method)
                p->method[p->mlen++] = (char)c;
            else
                p->mlen = sizeof p->method;     /* too long to be GET/HEAD */
        } else
            st = fail(p, "bad method");
        break;
    case S_TARGET0:
    case S_TARGET:
        if (c == ' ' && p->state == S_TARGET) {
            p->req.target[p->req.target_len] = '\0';
            p->state = S_VERSION;
            p->vpos = 0;
        } else if (c <= ' ' || c == 0x7f) {
            st = fail(p, c == '\r' || c == '\n' ? "missing version" : "bad target");
        } else {
            p->state = S_TARGET;
            if (c == '?')
                p->req.has_query = true;
            if (p->req.target_len < HTTP_TARGET_MAX)
                p->req.target[p->req.target_len++] = (char)c;
            else
                p->req.target_too_long = true;
        }
        break;
    case S_VERSION:
        if (p->vpos < 7) {
            if (c != (unsigned char)"HTTP/1."[p->vpos++])
                st = fail(p, "bad version");
        } else if (c >= '0' && c <= '9') {
            p->req.version_minor = (uint8_t)(c - '0');
            p->state = S_RL_END;
        } else
            st = fail(p, "bad version");
        break;
    case S_RL_END:
        if (c == '\r')
            p->state = S_RL_CR;
        else if (c == '\n')
            p->state = S_LINE;
        else
            st = fail(p, "bad version");
        break;
    case S_RL_CR:
    case S_LINE_CR:
        if (c != '\n') {
            st = fail(p, "CR without LF");
            break;
        }
        if (p->state == S_LINE_CR) {
            const char *why = line_done(p);
            if (why) {
                st = fail(p, why);
                break;
            }
        }
        p->state = S_LINE;
        break;
    case S_LINE:
        if (c == '\r')
            p->state = S_END_CR;
        else if (c == '\n')
            st = headers_done(p);
        else if (is_tchar(c)) {
            p->name[0] = (char)lower(c);
            p->nlen = 1;
            p->state = S_NAME;
        } else
            st = fail(p, c == ' ' || c == '\t' ? "obs-fold header" : "bad header name");
        break;
    case S_END_CR:
        if (c == '\n')
            st = headers_done(p);
        else
            st = fail(p, "CR without LF");
        break;
    case S_NAME:
        if (c == ':') {
            name_done(p);
            if (p->hdr == H_CONTENT_LENGTH) {
                if (p->have_cl) {
                    st = fail(p, "repeated Content-Length");
                    break;
                }
                p->have_cl = true;
            } else if (p->hdr == H_TRANSFER_ENCODING) {
                p->have_te = true;
            }
            p->state = S_VALUE;
        } else if (is_tchar(c)) {
            if (p->nlen < sizeof p->name)
                p->name[p->nlen++] = (char)lower(c);
            else
                p->nlen = sizeof p->name;   /* longer than any name we look for */
        } else
            st = fail(p, "header line without colon");
        break;
    case S_VALUE:
        if (c == '\r') {
            p->state = S_LINE_CR;
        } else if (c == '\n') {
            const char *why = line_done(p);
            if (why)
                st = fail(p, why);
            else
                p->state = S_LINE;
        } else if ((c < ' ' && c != '\t') || c == 0x7f) {
            st = fail(p, "control byte in header");
        } else if (p->hdr == H_CONNECTION) {
            conn_value_byte(p, c);
        } else if (p->hdr == H_CONTENT_LENGTH && !cl_value_byte(p, c)) {
            st = fail(p, "bad Content-Length");
        }
        break;
    default:
        st = fail(p, "parser state");
        break;
    }
    return st;
}

/* Takes the bytes the states below accept without looking further than the
 * byte itself (and, for CRLF, the one after it), doing what step() would,
 * state after state; returns where a byte needs step(), or end, or (*st
 * set) where the header block ended. Everything else (CR or LF alone, the
 * colon of a Content-Length or Transfer-Encoding name, values that
 * Connection/Content-Length parsing reads, every error but the one
 * headers_done() finds) is step()'s. */
static size_t run(struct http_parser *p, const unsigned char *s, size_t j, size_t end,
                  enum http_parse_status *st)
{
    for (;;) {
        switch (p->state) {
        case S_START:
            if (j == end || !is_tchar(s[j]))
                return j;
            p->method[p->mlen++] = (char)s[j++];
            p->state = S_METHOD;
            break;
        case S_METHOD:
            for (; j < end && is_tchar(s[j]); j++) {
                if (p->mlen < sizeof p->method)
                    p->method[p->mlen++] = (char)s[j];
                /* else: too long to be GET/HEAD, mlen stays at the maximum */
            }
            if (j == end || s[j] != ' ')
                return j;
            j++;
            method_done(p);
            p->state = S_TARGET0;
            break;
        case S_TARGET0:     /* the byte itself is stored by S_TARGET */
            if (j == end || s[j] <= ' ' || s[j] == 0x7f)
                return j;
            p->state = S_TARGET;
            break;
        case S_TARGET: {
            size_t i = j;
            bool query = false;     /* words with a '?' go byte by byte */
            while (end - j >= 8 && plain8(s + j, 0x21, '?'))
                j += 8;
            for (; j < end && s[j] > ' ' && s[j] != 0x7f; j++)
                query |= s[j] == '?';
            if (query)
                p->req.has_query = true;
            size_t n = j - i, room = HTTP_TARGET_MAX - p->req.target_len;
            if (n > room) {
                n = room;
                p->req.target_too_long = true;
            }
            memcpy(p->req.target + p->req.target_len, s + i, n);
            p->req.target_len = (uint16_t)(p->req.target_len + n);
            if (j == end || s[j] != ' ')
                return j;
            j++;
            p->req.target[p->req.target_len] = '\0';
            p->state = S_VERSION;
            p->vpos = 0;
            break;
        }
        case S_VERSION:     /* all of "HTTP/1.d" here, or step() finds what is wrong */
            if (p->vpos != 0 || end - j < 8 || !MEMEQ(s + j, "HTTP/1.") ||
                s[j + 7] < '0' || s[j + 7] > '9')
                return j;
            p->req.version_minor = (uint8_t)(s[j + 7] - '0');
            p->state = S_RL_END;
            j += 8;
            break;
        case S_RL_END:
            if (end - j < 2 || s[j] != '\r' || s[j + 1] != '\n')
                return j;
            j += 2;
            p->state = S_LINE;
            break;
        case S_LINE:
            if (end - j >= 2 && s[j] == '\r' && s[j + 1] == '\n') {
                *st = headers_done(p);
                return j + 2;
            }
            if (j == end || !is_tchar(s[j]))
                return j;
            p->name[0] = (char)lower(s[j++]);
            p->nlen = 1;
            p->state = S_NAME;
            break;
        case S_NAME:
            for (; j < end && is_tchar(s[j]); j++) {
                if (p->nlen < sizeof p->name)
                    p->name[p->nlen++] = (char)lower(s[j]);
                /* else: longer than any name we look for, nlen stays at the maximum */
            }
            /* the lengths of content-length and transfer-encoding: step()
             * checks those; for any other name the colon only starts the value */
            if (j == end || s[j] != ':' || p->nlen == 14 || p->nlen == 17)
                return j;
            j++;
            name_done(p);
            p->state = S_VALUE;
            break;
        case S_VALUE:
            if (p->hdr != H_OTHER)
                return j;
            /* a word with a tab goes byte by byte */
            while (end - j >= 8 && plain8(s + j, 0x20, 0))
                j += 8;
            while (j < end && ((s[j] >= ' ' && s[j] != 0x7f) || s[j] == '\t'))
                j++;
            if (end - j < 2 || s[j] != '\r' || s[j + 1] != '\n')
                return j;
            j += 2;             /* line_done() has nothing to do for H_OTHER */
            p->state = S_LINE;
            break;
        default:
            return j;
        }
    }
}

enum http_parse_status http_parser_feed(struct http_parser *p, const void *data,
                                        size_t len, size_t *used)
{
    const unsigned char *s = data;
    size_t i = 0, start, end;
    enum http_parse_status st = HTTP_PARSE_INCOMPLETE;

    *used = 0;
    if (p->state == S_DONE)
        return HTTP_PARSE_DONE;
    if (p->state == S_ERROR)
        return HTTP_PARSE_ERROR;

    if (p->skip) {
        size_t n = p->skip < len ? (size_t)p->skip : len;
        p->skip -= n;
        i = n;
    }

    /* The header block may take HTTP_MAX_HEADER_BYTES - nbytes more bytes:
     * nothing past end is looked at, the byte after them is an error. */
    start = i;
    end = len;
    if (len - i > HTTP_MAX_HEADER_BYTES - p->nbytes)
        end = i + (HTTP_MAX_HEADER_BYTES - p->nbytes);
    while (i < end && st == HTTP_PARSE_INCOMPLETE) {
        i = run(p, s, i, end, &st);
        if (i < end && st == HTTP_PARSE_INCOMPLETE)
            st = step(p, s[i++]);
    }
    p->nbytes += (uint32_t)(i - start);
    if (st == HTTP_PARSE_INCOMPLETE && i < len) {
        i++;
        st = fail(p, "header block too large");
    }
    *used = i;
    return st;
}

bool http_parse_bytes_path(const char *path, size_t len, uint32_t *n)
{
    const size_t plen = sizeof "/bytes/" - 1;
    uint64_t v = 0;

    if (len <= plen || !MEMEQ(path, "/bytes/"))
        return false;
    for (size_t i = plen; i < len; i++) {
        if (path[i] < '0' || path[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(path[i] - '0');
        if (v > HTTP_BYTES_MAX)     /* checked every digit: v stays below 2^34 */
            return false;
    }
    *n = (uint32_t)v;
    return true;
}
