/* IPv4 identification and IPv6 fragment identification that tell a peer
 * nothing about anyone else's traffic (RFC 6864 section 5, RFC 7739).
 *
 * lwIP numbers every IPv4 datagram from one global counter and every IPv6
 * fragmented datagram from another: a peer reads from its own packets how
 * many we sent to everyone (idle scans, traffic counting) and can predict
 * the id of our next fragmented datagram to anyone (fragment injection).
 * Here, as in Linux's ip_idents_reserve: 2048 counters, the one for a
 * datagram picked by a keyed hash of (source, destination, protocol); each
 * starts at a keyed random value, and one that was idle jumps ahead by a
 * random amount below its idle milliseconds, so what a peer sees of a
 * counter it shares with others does not count their packets. A TCP
 * super-segment takes one id per wire segment the device will cut it into
 * (the device numbers them id, id+1, ...), so no id repeats in a flow.
 *
 * Installed as LWIP_HOOK_IP4_OUTPUT_ID and LWIP_HOOK_IP6_FRAG_ID
 * (net/port/lwipopts.h, patch 0902). */
#ifndef NET_IP_ID_H
#define NET_IP_ID_H

#include <stdint.h>

#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip6.h"
#include "net/guard/siphash.h"

#define IP_ID_BUCKETS 2048

void ip_id_set_key(const struct siphash_key *key);

/* The first of `count` consecutive ids for a datagram from src to dst
 * (network-order words: IPv4 in word 0, the rest 0) of protocol proto, at
 * now_ms. Main-loop context. PANICs if no key was set (a boot-order bug). */
uint32_t ip_id_reserve(const uint32_t src[4], const uint32_t dst[4], uint8_t proto,
                       uint32_t count, uint32_t now_ms);

/* LWIP_HOOK_IP4_OUTPUT_ID: the id of IPv4 datagram p (src NULL: any). */
u16_t ip_id_hook4(const struct pbuf *p, const ip4_addr_t *src, const ip4_addr_t *dest,
                  u8_t proto);
/* LWIP_HOOK_IP6_FRAG_ID: the fragment identification of the datagram whose
 * IPv6 header is ip6hdr, to dest. */
u32_t ip_id_hook6(const struct ip6_hdr *ip6hdr, const ip6_addr_t *dest);

#endif
