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
