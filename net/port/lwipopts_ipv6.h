/* lwIP IPv6 options (dual stack), included from net/port/lwipopts.h.
 *
 * Addresses: slot 0 is the link-local one (from the MAC), the others take
 * ip6= or what SLAAC builds from router advertisements. Neighbour,
 * destination, prefix and router tables keep lwIP's small fixed sizes:
 * entries are recycled, never grown, whatever a peer sends. */
#ifndef NET_LWIPOPTS_IPV6_H
#define NET_LWIPOPTS_IPV6_H

#define LWIP_IPV6                       1
#define LWIP_IPV6_NUM_ADDRESSES         3
#define LWIP_IPV6_AUTOCONFIG            1   /* SLAAC (RFC 4862) when no ip6= */
#define LWIP_IPV6_ADDRESS_LIFETIMES     1
#define LWIP_IPV6_SEND_ROUTER_SOLICIT   1
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS   1
/* MLD reports for the solicited-node groups: a snooping bridge between us
 * and a peer forwards neighbour solicitations only to listeners. */
#define LWIP_IPV6_MLD                   1
#define MEMP_NUM_MLD6_GROUP             4
#define LWIP_IPV6_REASS                 1   /* shares IP_REASS_MAX_PBUFS with IPv4 */
#define LWIP_IPV6_FRAG                  1
/* 64-bit pointers do not fit in the fragment header reassembly reuses. */
#define IPV6_FRAG_COPYHEADER            1
#define LWIP_IPV6_DHCP6                 0
#define LWIP_ND6_RDNSS_MAX_DNS_SERVERS  0
#define LWIP_ICMP6                      1
#define CHECKSUM_GEN_ICMP6              1
#define CHECKSUM_CHECK_ICMP6            1
#define LWIP_NETIF_EXT_STATUS_CALLBACK  1   /* address state changes are logged */

/* net/glue/netif_ipv6.c. Forward declarations: lwipopts.h comes before lwIP's
 * own types. */
struct pbuf;
struct netif;
struct ip6_addr;
/* Checks before lwIP looks at the packet (echo rate limit, see
 * net/glue/ip6_hdr.h's enum ip6_verdict); non-zero: the hook freed it. */
int netif_ipv6_input_hook(struct pbuf *p, struct netif *inp);
/* Next hop when no router advertisement gave one: gw6=, and the on-link
 * part of an ip6= prefix shorter than lwIP's implied /64. */
const struct ip6_addr *netif_ipv6_next_hop_hook(struct netif *netif, const struct ip6_addr *dest);
/* Host tests of lwIP alone (tests/unit/lwip_host.c) run without the glue. */
#ifndef UNIT_TEST
/* A datagram about to be cut into fragments (net/port/patches/0602): a TCP
 * checksum left to the device is computed here, as no fragment can carry it. */
void netif_ipv6_frag_hook(struct pbuf *p, struct netif *netif);
#define LWIP_HOOK_IP6_INPUT(p, inp)      netif_ipv6_input_hook((p), (inp))
#define LWIP_HOOK_IP6_FRAG(p, netif)     netif_ipv6_frag_hook((p), (netif))
#define LWIP_HOOK_ND6_GET_GW(netif, dest) netif_ipv6_next_hop_hook((netif), (dest))
#endif

#endif
