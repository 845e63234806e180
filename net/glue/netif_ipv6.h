/* IPv6 side of the netif glue (net/glue/netif.c): addresses, next hop, the
 * input checks (ICMPv6 echo limiter, bad chains, tiny Packet Too Big) and the IPv6 cases of TX checksum offload and queue
 * selection. Main loop only. */
#ifndef NET_NETIF_IPV6_H
#define NET_NETIF_IPV6_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netdev.h"
#include "net/glue/config.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

/* From the netif's init callback. */
void netif_ipv6_netif_init(struct netif *nif);
/* After netif_add: link-local address, ip6= or SLAAC, gw6=. */
void netif_ipv6_start(struct netif *nif, const struct net_config *cfg);

/* With TX checksum offload (lwIP leaves TCP checksums at 0): for an IPv6
 * frame, fills the pseudo-header sum and off (or the whole checksum when
 * the device cannot) and returns true; false when p is not IPv6. */
bool netif_ipv6_tx_csum(struct pbuf *p, struct netdev_tx_offload *off);

/* The same for a TSO super-segment's first frame (net/glue/tso.c), whose IPv6
 * payload length already covers the whole super-segment: the device wants
 * the pseudo-header sum over that length. False if p0 is not TCP/IPv6. */
bool netif_ipv6_tso_csum(struct pbuf *p0, struct netdev_tx_offload *off);

/* Flow hash of an IPv6 frame (Ethernet header first), 0 when not IPv6. */
uint32_t netif_ipv6_flow_hash(const struct pbuf *p);

#endif
