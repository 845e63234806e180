/* net/'s command-line keys (see config.h), parsed by kernel/cmdline.c. */
#include "net/glue/config.h"

#include <string.h>

#include "kernel/cmdline.h"

struct net_config net_config = { .http_port = 80 };

static bool ip6_is_unspecified_or_multicast(const uint8_t a[16])
{
    static const uint8_t zero[16];
    return a[0] == 0xff || memcmp(a, zero, 16) == 0;
}

static const uint8_t ip6_loopback[16] = { [15] = 1 };

static bool ip6_is_linklocal(const uint8_t a[16])
{
    return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* "a.b.c.d/len" */
static bool set_ip(const char *v, size_t n, void *dst)
{
    struct net_config *c = dst;
    const char *slash = memchr(v, '/', n);
    uint32_t ip, len;
    if (!slash || !parse_ipv4(v, (size_t)(slash - v), &ip) ||
        !parse_u32(slash + 1, n - (size_t)(slash - v) - 1, 0, 32, &len))
        return false;
    c->ip = ip;
    c->prefix_len = (uint8_t)len;
    c->has_ip = true;
    return true;
}

static bool set_gw(const char *v, size_t n, void *dst)
{
    struct net_config *c = dst;
    uint32_t gw;
    if (!parse_ipv4(v, n, &gw))
        return false;
    c->gw = gw;
    c->has_gw = true;
    return true;
}

/* Link-local is the kernel's own (from the MAC); a static one would need a
 * zone the command line cannot name. */
static bool set_ip6(const char *v, size_t n, void *dst)
{
    struct net_config *c = dst;
    const char *slash = memchr(v, '/', n);
    uint8_t a[16];
    uint32_t len;
    if (!slash || !parse_ipv6(v, (size_t)(slash - v), a) ||
        !parse_u32(slash + 1, n - (size_t)(slash - v) - 1, 1, 128, &len) ||
        ip6_is_unspecified_or_multicast(a) || memcmp(a, ip6_loopback, 16) == 0 ||
        ip6_is_linklocal(a))
        return false;
    memcpy(c->ip6, a, 16);
    c->prefix6_len = (uint8_t)len;
    c->has_ip6 = true;
    return true;
}

static bool set_gw6(const char *v, size_t n, void *dst)
{
    struct net_config *c = dst;
    uint8_t a[16];
    if (!parse_ipv6(v, n, a) || ip6_is_unspecified_or_multicast(a) ||
        memcmp(a, ip6_loopback, 16) == 0)
        return false;
    memcpy(c->gw6, a, 16);
    c->has_gw6 = true;
    return true;
}

static bool set_port(const char *v, size_t n, void *dst)
{
    uint32_t port;
    if (!parse_u32(v, n, 1, 65535, &port))
        return false;
    *(uint16_t *)dst = (uint16_t)port;
    return true;
}

CMDLINE_PARAM(ip, .key = "ip", .type = CMDLINE_CUSTOM, .set = set_ip, .dst = &net_config);
CMDLINE_PARAM(gw, .key = "gw", .type = CMDLINE_CUSTOM, .set = set_gw, .dst = &net_config);
CMDLINE_PARAM(ip6, .key = "ip6", .type = CMDLINE_CUSTOM, .set = set_ip6, .dst = &net_config);
CMDLINE_PARAM(gw6, .key = "gw6", .type = CMDLINE_CUSTOM, .set = set_gw6, .dst = &net_config);
CMDLINE_PARAM(http_port, .key = "http.port", .type = CMDLINE_CUSTOM, .set = set_port,
              .dst = &net_config.http_port);
