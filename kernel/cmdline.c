#include "kernel/cmdline.h"

#include <stdio.h>
#include <string.h>

#define MAX_TOKEN 256

void kconfig_defaults(struct kconfig *c)
{
    memset(c, 0, sizeof(*c));
    c->net_mode = NET_MODE_NAPI;
    c->napi_weight = 64;
    c->net_budget = 300;
    c->net_budget_us = 2000;
    c->net_queues = 1;      /* one per CPU, as Linux */
    c->http_port = 80;
    c->log_level = 2;     /* LOG_INFO */
}

const char *net_mode_name(enum net_mode m)
{
    switch (m) {
    case NET_MODE_IRQ: return "irq";
    case NET_MODE_POLL: return "poll";
    default: return "napi";
    }
}

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

static bool ip6_is_unspecified_or_multicast(const uint8_t a[16])
{
    static const uint8_t zero[16];
    return a[0] == 0xff || memcmp(a, zero, 16) == 0;
}

static bool ip6_is_loopback_or_linklocal(const uint8_t a[16])
{
    static const uint8_t loop[16] = { [15] = 1 };
    return memcmp(a, loop, 16) == 0 || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static bool value_is(const char *v, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(v, word, n) == 0;
}

static bool parse_enum(const char *v, size_t n, const char *const *names, int count, int *out)
{
    for (int i = 0; i < count; i++) {
        if (names[i] && value_is(v, n, names[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool apply(struct kconfig *c, const char *key, size_t klen, const char *v, size_t vlen,
                  bool *known)
{
    uint32_t u;
    int e;
    *known = true;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
    if (KEY("ip")) {
        const char *slash = memchr(v, '/', vlen);
        uint32_t ip;
        if (!slash || !parse_ipv4(v, (size_t)(slash - v), &ip) ||
            !parse_u32(slash + 1, vlen - (size_t)(slash - v) - 1, 0, 32, &u))
            return false;
        c->ip = ip;
        c->prefix_len = (uint8_t)u;
        c->has_ip = true;
        return true;
    }
    if (KEY("gw")) {
        uint32_t gw;
        if (!parse_ipv4(v, vlen, &gw))
            return false;
        c->gw = gw;
        c->has_gw = true;
        return true;
    }
    if (KEY("ip6")) {
        /* Link-local is the kernel's own (from the MAC); a static one would
         * need a zone the command line cannot name. */
        const char *slash = memchr(v, '/', vlen);
        uint8_t a[16];
        if (!slash || !parse_ipv6(v, (size_t)(slash - v), a) ||
            !parse_u32(slash + 1, vlen - (size_t)(slash - v) - 1, 1, 128, &u) ||
            ip6_is_unspecified_or_multicast(a) || ip6_is_loopback_or_linklocal(a))
            return false;
        memcpy(c->ip6, a, 16);
        c->prefix6_len = (uint8_t)u;
        c->has_ip6 = true;
        return true;
    }
    if (KEY("gw6")) {
        uint8_t a[16];
        static const uint8_t loop[16] = { [15] = 1 };
        if (!parse_ipv6(v, vlen, a) || ip6_is_unspecified_or_multicast(a) ||
            memcmp(a, loop, 16) == 0)
            return false;
        memcpy(c->gw6, a, 16);
        c->has_gw6 = true;
        return true;
    }
    if (KEY("net.mode")) {
        static const char *const modes[] = { "napi", "irq", "poll" };
        if (!parse_enum(v, vlen, modes, 3, &e))
            return false;
        c->net_mode = (enum net_mode)e;
        return true;
    }
    if (KEY("napi.weight"))
        return parse_u32(v, vlen, 1, 4096, &c->napi_weight);
    if (KEY("net.budget"))
        return parse_u32(v, vlen, 1, 1000000, &c->net_budget);
    if (KEY("net.budget_us"))
        return parse_u32(v, vlen, 1, 10000000, &c->net_budget_us);
    if (KEY("net.queues"))
        return parse_u32(v, vlen, 1, 4, &c->net_queues);
    if (KEY("http.port")) {
        if (!parse_u32(v, vlen, 1, 65535, &u))
            return false;
        c->http_port = (uint16_t)u;
        return true;
    }
    if (KEY("log")) {
        static const char *const levels[] = { "error", "warn", "info", "debug" };
        if (!parse_enum(v, vlen, levels, 4, &e))
            return false;
        c->log_level = e;
        return true;
    }
    if (KEY("test.fault")) {
        static const char *const faults[] = { NULL, "pf", "ud", "de", "gp", "abort", "assert" };
        if (!parse_enum(v, vlen, faults, 7, &e))
            return false;
        c->test_fault = (enum test_fault)e;
        return true;
    }
    if (KEY("test.exit")) {
        static const char *const exits[] = { NULL, "boot", "ready" };
        if (!parse_enum(v, vlen, exits, 3, &e))
            return false;
        c->test_exit = (enum test_exit)e;
        return true;
    }
    if (KEY("test.heap")) {
        if (!parse_u32(v, vlen, 0, 1, &u))
            return false;
        c->test_heap = u == 1;
        return true;
    }
#undef KEY
    *known = false;
    return false;
}

static void warnf(cmdline_warn_fn warn, void *ctx, const char *fmt, const char *a, int alen,
                  const char *b, int blen)
{
    char msg[MAX_TOKEN * 2 + 64];
    snprintf(msg, sizeof(msg), fmt, alen, a, blen, b);
    if (warn)
        warn(ctx, msg);
}

int cmdline_parse(const char *line, struct kconfig *c, cmdline_warn_fn warn, void *ctx)
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
        bool known;
        if (!apply(c, tok, klen, eq + 1, vlen, &known)) {
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
