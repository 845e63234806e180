#include "kernel/cmdline.h"

#include <stdio.h>
#include <string.h>

#define MAX_TOKEN 256

bool parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out)
{
    if (len == 0 || len > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool parse_ipv4(const char *s, size_t len, uint32_t *out)
{
    uint32_t ip = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t start = i;
        while (i < len && s[i] != '.')
            i++;
        uint32_t octet;
        if (i - start > 3 || !parse_u32(s + start, i - start, 0, 255, &octet))
            return false;
        ip = ip << 8 | octet;
        if (part < 3) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
    }
    if (i != len)
        return false;
    *out = ip;
    return true;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    /* Groups before "::" go to head, after it to tail; the gap is zeros. */
    uint16_t head[8], tail[8];
    unsigned nh = 0, nt = 0;
    bool gap = false;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
    } else if (len == 0 || s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ':' && s[j] != '.')
            j++;
        uint16_t *dst = gap ? tail : head;
        unsigned *n = gap ? &nt : &nh;
        if (j < len && s[j] == '.') {
            uint32_t v4;
            if (nh + nt > 6 || !parse_ipv4(s + i, len - i, &v4))
                return false;
            dst[(*n)++] = (uint16_t)(v4 >> 16);
            dst[(*n)++] = (uint16_t)v4;
            i = len;
            break;
        }
        if (j == i || j - i > 4 || nh + nt == 8)
            return false;
        uint16_t g = 0;
        for (size_t k = i; k < j; k++) {
            int d = hex_digit(s[k]);
            if (d < 0)
                return false;
            g = (uint16_t)(g << 4 | (unsigned)d);
        }
        dst[(*n)++] = g;
        if (j == len)
            break;
        if (j + 1 < len && s[j + 1] == ':') {
            if (gap)
                return false;
            gap = true;
            i = j + 2;
        } else {
            i = j + 1;
            if (i == len)
                return false;   /* a lone trailing ':' */
        }
    }
    if (gap ? nh + nt > 7 : nh != 8)
        return false;
    uint16_t g[8] = { 0 };
    memcpy(g, head, nh * sizeof(g[0]));
    memcpy(g + 8 - nt, tail, nt * sizeof(g[0]));
    for (int k = 0; k < 8; k++) {
        out[2 * k] = (uint8_t)(g[k] >> 8);
        out[2 * k + 1] = (uint8_t)g[k];
    }
    return true;
}

static bool value_is(const char *v, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(v, word, n) == 0;
}

static bool apply(const struct cmdline_param *p, const char *v, size_t n)
{
    switch (p->type) {
    case CMDLINE_U32:
        return parse_u32(v, n, p->min, p->max, p->dst);
    case CMDLINE_ENUM:
        for (unsigned i = 0; i < p->nnames; i++) {
            if (p->names[i] && value_is(v, n, p->names[i])) {
                *(int *)p->dst = (int)i;
                return true;
            }
        }
        return false;
    case CMDLINE_CUSTOM:
        return p->set(v, n, p->dst);
    }
    return false;
}

static const struct cmdline_param *find(const struct cmdline_param *begin,
                                        const struct cmdline_param *end, const char *key,
                                        size_t klen)
{
    for (const struct cmdline_param *p = begin; p < end; p++)
        if (strlen(p->key) == klen && memcmp(p->key, key, klen) == 0)
            return p;
    return NULL;
}

static void warnf(cmdline_warn_fn warn, void *ctx, const char *fmt, const char *a, int alen,
                  const char *b, int blen)
{
    char msg[MAX_TOKEN * 2 + 64];
    snprintf(msg, sizeof(msg), fmt, alen, a, blen, b);
    if (warn)
        warn(ctx, msg);
}

int cmdline_parse_table(const char *line, const struct cmdline_param *begin,
                        const struct cmdline_param *end, cmdline_warn_fn warn, void *ctx)
{
    int warnings = 0;
    const char *p = line ? line : "";
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        const char *tok = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        size_t len = (size_t)(p - tok);
        int shown = len > MAX_TOKEN ? MAX_TOKEN : (int)len;
        const char *eq = memchr(tok, '=', len);
        if (!eq || eq == tok) {
            warnf(warn, ctx, "ignoring '%.*s%.*s': expected key=value", tok, shown, "", 0);
            warnings++;
            continue;
        }
        size_t klen = (size_t)(eq - tok), vlen = len - klen - 1;
        const struct cmdline_param *param = find(begin, end, tok, klen);
        bool known = param != NULL;
        if (!param || !apply(param, eq + 1, vlen)) {
            int ks = klen > MAX_TOKEN ? MAX_TOKEN : (int)klen;
            int vs = vlen > MAX_TOKEN ? MAX_TOKEN : (int)vlen;
            if (known)
                warnf(warn, ctx, "ignoring bad value for '%.*s': '%.*s', default kept",
                      tok, ks, eq + 1, vs);
            else
                warnf(warn, ctx, "ignoring unknown key '%.*s'%.*s", tok, ks, "", 0);
            warnings++;
        }
    }
    return warnings;
}

/* The linker's bounds of the section CMDLINE_PARAM fills (linker.ld in the
 * kernel; GNU ld and lld make them for any section named like a C
 * identifier on the host). Weak: a program with no key at all. */
extern const struct cmdline_param __start_cmdline_params[] __attribute__((weak));
extern const struct cmdline_param __stop_cmdline_params[] __attribute__((weak));

int cmdline_parse(const char *line, cmdline_warn_fn warn, void *ctx)
{
    return cmdline_parse_table(line, __start_cmdline_params, __stop_cmdline_params, warn, ctx);
}
