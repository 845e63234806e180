/* IPv6 side of the netif glue (net/netif.c): addresses, next hop, the
 * input checks (ICMPv6 echo limiter, bad chains, tiny Packet Too Big) and the IPv6 cases of TX checksum offload and queue
 * selection. Main loop only. */
#ifndef NET_NETIF_IPV6_H
#define NET_NETIF_IPV6_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netdev.h"
#include "kernel/cmdline.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

struct netif_ipv6_counters {
    uint64_t echo_limited;       /* echo requests dropped by the rate limit */
    uint64_t bad_header_chain;   /* see enum ip6_verdict (net/ip6_hdr.h) */
    uint64_t ptb_below_min_mtu;
};

/* From the netif's init callback. */
void netif_ipv6_netif_init(struct netif *nif);
/* After netif_add: link-local address, ip6= or SLAAC, gw6=. */
void netif_ipv6_start(struct netif *nif, const struct kconfig *cfg);

/* With TX checksum offload (lwIP leaves TCP checksums at 0): for an IPv6
 * frame, fills the pseudo-header sum and off (or the whole checksum when
 * the device cannot) and returns true; false when p is not IPv6. */
bool netif_ipv6_tx_csum(struct pbuf *p, struct netdev_tx_offload *off);

/* Flow hash of an IPv6 frame (Ethernet header first), 0 when not IPv6. */
uint32_t netif_ipv6_flow_hash(const struct pbuf *p);

/* The ICMP rate limiter plugs in here: admit returns false to drop an
 * echo request. NULL restores the built-in token bucket. */
void netif_ipv6_set_echo_limiter(bool (*admit)(void));

const struct netif_ipv6_counters *netif_ipv6_counters(void);

#endif
