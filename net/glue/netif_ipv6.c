/* IPv6 for the netif glue: link-local + SLAAC or ip6=/gw6=, checks before
 * lwIP's IPv6 input (echo rate limit, bad chains, tiny Packet Too Big), and
 * IPv6 frames in TX checksum offload, fragmentation and queue hashing.
 * lwIP does ND, MLD, DAD and ICMPv6; this file only configures and hooks. */
#include "net/glue/netif_ipv6.h"

#include <string.h>

#include "kernel/log.h"
#include "lwip/ethip6.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip6_addr.h"
#include "lwip/ip_addr.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/tcp.h"
#include "net/guard/icmp_limit.h"
#include "net/glue/ip6_hdr.h"
#include "net/guard/tcp_guard.h"
#include "netif/ethernet.h"

/* Headers looked at per TX frame: lwIP's own, IPv6 + TCP. */
#define PEEK_LEN 128
/* Per RX packet: a longer header chain is dropped (RFC 8504 5.3 lets a
 * host limit it; nothing legitimate comes close). */
#define INPUT_PEEK_LEN 256

static bool has_gw6;
static ip6_addr_t gw6;
static bool has_static;
static ip6_addr_t static_ip6;
static unsigned static_prefix;
static unsigned static_idx;

NETIF_DECLARE_EXT_CALLBACK(ext_cb)

int netif_ipv6_input_hook(struct pbuf *p, struct netif *inp)
{
    (void)inp;
    uint8_t hdr[INPUT_PEEK_LEN];
    u16_t n = pbuf_copy_partial(p, hdr, sizeof(hdr), 0);
    switch (ip6_input_verdict(hdr, n)) {
    case IP6_PASS:
        return 0;
    case IP6_ECHO:
        if (icmp_echo_allow())     /* the stack's one bucket, IPv4 and IPv6 */
            return 0;
        break;
    case IP6_DROP_CHAIN:
        tcp_guard.ip6_bad_chain++;
        break;
    case IP6_DROP_PTB:
        tcp_guard.ip6_ptb_below_min++;
        break;
    }
    pbuf_free(p);
    return 1;
}

/* The first n bits of a and b agree. */
static bool prefix_match(const ip6_addr_t *a, const ip6_addr_t *b, unsigned n)
{
    for (unsigned w = 0; w < 4 && n; w++) {
        unsigned bits = n < 32 ? n : 32;
        uint32_t mask = lwip_htonl(bits == 32 ? ~0u : ~(~0u >> bits));
        if ((a->addr[w] ^ b->addr[w]) & mask)
            return false;
        n -= bits;
    }
    return true;
}

const ip6_addr_t *netif_ipv6_next_hop_hook(struct netif *netif, const ip6_addr_t *dest)
{
    (void)netif;
    /* lwIP already takes the ip6= address's /64 as on-link; a shorter
     * prefix reaches further. */
    if (has_static && static_prefix < 64 && prefix_match(dest, &static_ip6, static_prefix))
        return dest;
    return has_gw6 ? &gw6 : NULL;
}

static const char *addr_kind(struct netif *nif, s8_t i)
{
    if (ip6_addr_islinklocal(netif_ip6_addr(nif, i)))
        return "link-local";
    if (has_static && (unsigned)i == static_idx)
        return "static";
    return "slaac";
}

/* RFC 5952 4.3: lower case, as ip(8) prints it (lwIP writes upper). */
static const char *addr_str(const ip_addr_t *addr, char *buf)
{
    ipaddr_ntoa_r(addr, buf, IPADDR_STRLEN_MAX);
    for (char *c = buf; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    return buf;
}

static void log_addr(struct netif *nif, s8_t i)
{
    char a[IPADDR_STRLEN_MAX];
    addr_str(&nif->ip6_addr[i], a);
    unsigned plen = has_static && (unsigned)i == static_idx ? static_prefix : 64;
    log_info("net: ip6 %s/%u %s", a, plen, addr_kind(nif, i));
}

static void on_ext_status(struct netif *nif, netif_nsc_reason_t reason,
                          const netif_ext_callback_args_t *args)
{
    if (!(reason & LWIP_NSC_IPV6_ADDR_STATE_CHANGED))
        return;
    s8_t i = args->ipv6_addr_state_changed.addr_index;
    u8_t st = netif_ip6_addr_state(nif, i);
    u8_t old = args->ipv6_addr_state_changed.old_state;
    if (ip6_addr_ispreferred(st) && !ip6_addr_isvalid(old)) {
        log_addr(nif, i);
    } else if (ip6_addr_isduplicated(st)) {
        char a[IPADDR_STRLEN_MAX];
        addr_str(&nif->ip6_addr[i], a);
        log_warn("net: ip6 %s: duplicate address detected, not used", a);
    }
}

void netif_ipv6_netif_init(struct netif *nif)
{
    nif->output_ip6 = ethip6_output;
    nif->flags |= NETIF_FLAG_MLD6;
}

static void ip6_from_bytes(ip6_addr_t *a, const uint8_t b[16])
{
    uint32_t w[4];
    memcpy(w, b, 16);
    IP6_ADDR(a, w[0], w[1], w[2], w[3]);
}

void netif_ipv6_start(struct netif *nif, const struct net_config *cfg)
{
    netif_add_ext_callback(&ext_cb, on_ext_status);
    netif_create_ip6_linklocal_address(nif, 1);
    if (cfg->has_ip6) {
        ip6_from_bytes(&static_ip6, cfg->ip6);
        static_prefix = cfg->prefix6_len;
        s8_t idx;
        if (netif_add_ip6_address(nif, &static_ip6, &idx) == ERR_OK) {
            has_static = true;
            static_idx = (unsigned)idx;
        } else {
            log_error("net: ip6: no free address slot for ip6=");
        }
    }
    /* ip6= fixes the global address; without it SLAAC builds one from each
     * advertised prefix. */
    netif_set_ip6_autoconfig_enabled(nif, cfg->has_ip6 ? 0 : 1);
    if (cfg->has_gw6) {
        ip6_from_bytes(&gw6, cfg->gw6);
        ip6_addr_assign_zone(&gw6, IP6_UNICAST, nif);
        has_gw6 = true;
        ip_addr_t gw;
        ip_addr_copy_from_ip6(gw, gw6);
        char a[IPADDR_STRLEN_MAX];
        log_info("net: ip6 gw %s (static)", addr_str(&gw, a));
    }
    if (!cfg->has_ip6)
        log_info("net: no ip6= on the command line: SLAAC from router advertisements");
}

/* The whole TCP checksum when the frame's headers do not allow offload. */
static void tcp6_csum_software(struct pbuf *p, unsigned l4, u16_t l4_len, const ip6_addr_t *src,
                               const ip6_addr_t *dst)
{
    if (pbuf_remove_header(p, l4))
        return;
    /* The checksum field may sit in a later pbuf: write it byte-wise. */
    pbuf_put_at(p, 16, 0);
    pbuf_put_at(p, 17, 0);
    u16_t sum = ip6_chksum_pseudo(p, IP6_NEXTH_TCP, l4_len, src, dst);
    pbuf_put_at(p, 16, (u8_t)(sum & 0xff));   /* sum is in network order */
    pbuf_put_at(p, 17, (u8_t)(sum >> 8));
    pbuf_add_header(p, l4);
}

void netif_ipv6_frag_hook(struct pbuf *p, struct netif *netif)
{
    if (NETIF_CHECKSUM_ENABLED(netif, NETIF_CHECKSUM_GEN_TCP))
        return;   /* lwIP's TCP computed it */
    uint8_t hdr[PEEK_LEN];
    u16_t n = pbuf_copy_partial(p, hdr, sizeof(hdr), 0);
    struct ip6_upper u;
    if (ip6_walk(hdr, n, &u) != IP6_WALK_FOUND || u.proto != IP6_NEXTH_TCP || u.fragment)
        return;
    uint32_t plen = (uint32_t)hdr[4] << 8 | hdr[5];
    if (IP6_HLEN + plen < (uint32_t)u.off + TCP_HLEN || IP6_HLEN + plen > p->tot_len)
        return;
    ip6_addr_t src, dst;
    memcpy(src.addr, hdr + 8, 16);
    memcpy(dst.addr, hdr + 24, 16);
    ip6_addr_clear_zone(&src);
    ip6_addr_clear_zone(&dst);
    tcp6_csum_software(p, u.off, (u16_t)(IP6_HLEN + plen - u.off), &src, &dst);
}

/* The TCP header's offset in an IPv6 frame, src/dst and the TCP length the
 * payload length says, when the frame is an unfragmented TCP/IPv6 segment;
 * else 0. */
static unsigned tcp6_layout(const struct pbuf *p, ip6_addr_t *src, ip6_addr_t *dst,
                            u16_t *l4_len, bool *is_ipv6)
{
    uint8_t hdr[SIZEOF_ETH_HDR + PEEK_LEN];
    u16_t n = pbuf_copy_partial(p, hdr, sizeof(hdr), 0);
    *is_ipv6 = n >= SIZEOF_ETH_HDR + IP6_HLEN &&
               ((const struct eth_hdr *)hdr)->type == PP_HTONS(ETHTYPE_IPV6);
    if (!*is_ipv6)
        return 0;
    const uint8_t *ip = hdr + SIZEOF_ETH_HDR;
    struct ip6_upper u;
    /* Only lwIP's own TCP segments reach here: no extension headers; a
     * fragmented one was checksummed whole (netif_ipv6_frag_hook). */
    if (ip6_walk(ip, n - SIZEOF_ETH_HDR, &u) != IP6_WALK_FOUND || u.proto != IP6_NEXTH_TCP ||
        u.fragment)
        return 0;
    uint32_t plen = (uint32_t)ip[4] << 8 | ip[5];
    if (IP6_HLEN + plen < (uint32_t)u.off + TCP_HLEN)
        return 0;
    *l4_len = (u16_t)(IP6_HLEN + plen - u.off);
    memcpy(src->addr, ip + 8, 16);
    memcpy(dst->addr, ip + 24, 16);
    ip6_addr_clear_zone(src);
    ip6_addr_clear_zone(dst);
    return SIZEOF_ETH_HDR + u.off;
}

/* The device folds the payload into the uncomplemented partial sum. */
static void tcp6_partial(struct pbuf *p, unsigned l4, u16_t l4_len, const ip6_addr_t *src,
                         const ip6_addr_t *dst, struct netdev_tx_offload *off)
{
    struct tcp_hdr *tcp = (struct tcp_hdr *)((uint8_t *)p->payload + l4);
    tcp->chksum = (u16_t)~ip6_chksum_pseudo_partial(NULL, IP6_NEXTH_TCP, l4_len, 0, src, dst);
    off->csum_partial = true;
    off->csum_start = (uint16_t)l4;
    off->csum_offset = 16;     /* offsetof(struct tcp_hdr, chksum) */
}

bool netif_ipv6_tx_csum(struct pbuf *p, struct netdev_tx_offload *off)
{
    ip6_addr_t src, dst;
    u16_t l4_len;
    bool is_ipv6;
    unsigned l4 = tcp6_layout(p, &src, &dst, &l4_len, &is_ipv6);
    if (!l4 || l4 + l4_len > p->tot_len)
        return is_ipv6;
    if (p->len < l4 + TCP_HLEN)
        tcp6_csum_software(p, l4, l4_len, &src, &dst);
    else
        tcp6_partial(p, l4, l4_len, &src, &dst, off);
    return true;
}

bool netif_ipv6_tso_csum(struct pbuf *p0, struct netdev_tx_offload *off)
{
    ip6_addr_t src, dst;
    u16_t l4_len;
    bool is_ipv6;
    unsigned l4 = tcp6_layout(p0, &src, &dst, &l4_len, &is_ipv6);
    if (!l4 || p0->len < l4 + TCP_HLEN)
        return false;
    tcp6_partial(p0, l4, l4_len, &src, &dst, off);
    return true;
}

uint32_t netif_ipv6_flow_hash(const struct pbuf *p)
{
    uint8_t hdr[SIZEOF_ETH_HDR + PEEK_LEN];
    u16_t n = pbuf_copy_partial(p, hdr, sizeof(hdr), 0);
    if (n < SIZEOF_ETH_HDR || ((const struct eth_hdr *)hdr)->type != PP_HTONS(ETHTYPE_IPV6))
        return 0;
    return ip6_flow_hash(hdr + SIZEOF_ETH_HDR, n - SIZEOF_ETH_HDR);
}
