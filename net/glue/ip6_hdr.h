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
#define ICMP6_PACKET_TOO_BIG 2
#define IP6_MIN_MTU 1280

struct ip6_upper {
    uint8_t proto;        /* the upper-layer protocol */
    uint16_t off;         /* its header's offset from the IPv6 header */
    bool fragment;        /* a fragment header was crossed */
    uint16_t frag_off;    /* the first one's offset from the IPv6 header (set
                           * on IP6_WALK_TRUNCATED too, once crossed) */
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

/* What the input hook does with a packet before lwIP sees it. */
enum ip6_verdict {
    IP6_PASS,
    IP6_ECHO,            /* an echo request: charge the rate limiter */
    IP6_DROP_CHAIN,      /* header chain past the bytes given, too long, or a
                          * first fragment without its whole upper-layer
                          * header (RFC 7112): nothing legitimate looks so,
                          * and it would hide what follows from these checks */
    IP6_DROP_PTB,        /* Packet Too Big below the IPv6 minimum MTU: lwIP
                          * would shrink the path MTU (and a TCP MSS derived
                          * from it) to that; RFC 8201 4 forbids it */
};

/* len: the packet's first bytes (all of it, or at least the window the
 * caller copies; a chain running past it is dropped). */
enum ip6_verdict ip6_input_verdict(const uint8_t *pkt, size_t len);

/* Flow hash over the addresses (and TCP/UDP ports when visible): one flow,
 * one value. 0 when not IPv6. */
uint32_t ip6_flow_hash(const uint8_t *pkt, size_t len);

#endif
