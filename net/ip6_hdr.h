/* IPv6 header walks on a flat copy of a packet's first bytes: the glue's
 * checksum offload, queue hash and ICMPv6 echo limiter. Pure (no lwIP),
 * bounded, unit-tested on hostile input. */
#ifndef NET_IP6_HDR_H
#define NET_IP6_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IP6_HDR_LEN 40
#define IP6_NEXT_TCP 6
#define IP6_NEXT_UDP 17
#define IP6_NEXT_ICMP6 58
#define ICMP6_ECHO_REQUEST 128

struct ip6_upper {
    uint8_t proto;        /* the upper-layer protocol */
    uint16_t off;         /* its header's offset from the IPv6 header */
    bool fragment;        /* a fragment header was crossed */
    bool later_fragment;  /* fragment offset != 0: no upper header here */
};

enum ip6_walk_result {
    IP6_WALK_FOUND = 0,
    IP6_WALK_NOT_IPV6 = -1,   /* shorter than a header, or version != 6 */
    IP6_WALK_TRUNCATED = -2,  /* extension headers run past len (or too many) */
};

/* Skips hop-by-hop, routing, fragment, destination and AH headers
 * (RFC 8200 4) up to the upper-layer header. len: bytes at pkt. */
enum ip6_walk_result ip6_walk(const uint8_t *pkt, size_t len, struct ip6_upper *u);

/* True for an ICMPv6 echo request, and for whatever may be one but hides
 * its type (truncated chains, a first fragment too short to show it):
 * those are charged to the limiter too, so no header trick skips it. */
bool ip6_may_be_echo_request(const uint8_t *pkt, size_t len);

/* Flow hash over the addresses (and TCP/UDP ports when visible): one flow,
 * one value. 0 when not IPv6. */
uint32_t ip6_flow_hash(const uint8_t *pkt, size_t len);

#endif
