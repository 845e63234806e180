#include "net/glue/ip6_hdr.h"

#include <string.h>

#define NEXT_HOPOPTS 0
#define NEXT_ROUTING 43
#define NEXT_FRAGMENT 44
#define NEXT_AH 51
#define NEXT_DSTOPTS 60
/* A real chain has a handful of headers; an attacker's may not end. */
#define MAX_EXT_HEADERS 16

enum ip6_walk_result ip6_walk(const uint8_t *pkt, size_t len, struct ip6_upper *u)
{
    if (len < IP6_HDR_LEN || (pkt[0] >> 4) != 6)
        return IP6_WALK_NOT_IPV6;
    memset(u, 0, sizeof(*u));
    uint8_t next = pkt[6];
    size_t off = IP6_HDR_LEN;
    for (int n = 0; n < MAX_EXT_HEADERS; n++) {
        size_t hl;
        switch (next) {
        case NEXT_HOPOPTS:
        case NEXT_ROUTING:
        case NEXT_DSTOPTS:
            if (off + 2 > len)
                return IP6_WALK_TRUNCATED;
            hl = ((size_t)pkt[off + 1] + 1) * 8;
            break;
        case NEXT_AH:
            if (off + 2 > len)
                return IP6_WALK_TRUNCATED;
            hl = ((size_t)pkt[off + 1] + 2) * 4;
            break;
        case NEXT_FRAGMENT:
            if (off + 8 > len)
                return IP6_WALK_TRUNCATED;
            if (!u->fragment)       /* the one lwIP reassembles by */
                u->frag_off = (uint16_t)off;
            u->fragment = true;
            if (((pkt[off + 2] << 8 | pkt[off + 3]) & 0xfff8) != 0)
                u->later_fragment = true;
            hl = 8;
            break;
        default:
            u->proto = next;
            u->off = (uint16_t)off;
            return IP6_WALK_FOUND;
        }
        next = pkt[off];
        off += hl;
        if (off > len)
            return IP6_WALK_TRUNCATED;
        if (u->later_fragment) {
            u->proto = next;
            u->off = (uint16_t)off;
            return IP6_WALK_FOUND;
        }
    }
    return IP6_WALK_TRUNCATED;
}

/* Bytes of the upper-layer header the checks here (and RFC 7112's first
 * fragment rule) need to see. */
static size_t upper_header_len(uint8_t proto)
{
    switch (proto) {
    case IP6_NEXT_TCP:   return 20;
    case IP6_NEXT_UDP:   return 8;
    case IP6_NEXT_ICMP6: return 8;
    default:             return 0;
    }
}

enum ip6_verdict ip6_input_verdict(const uint8_t *pkt, size_t len)
{
    struct ip6_upper u;
    switch (ip6_walk(pkt, len, &u)) {
    case IP6_WALK_NOT_IPV6:
        return IP6_PASS;          /* lwIP drops it on its own checks */
    case IP6_WALK_TRUNCATED:
        return IP6_DROP_CHAIN;
    case IP6_WALK_FOUND:
        break;
    }
    if (u.later_fragment)
        return IP6_PASS;
    if ((size_t)u.off + upper_header_len(u.proto) > len)
        return u.fragment || u.proto == IP6_NEXT_ICMP6 ? IP6_DROP_CHAIN : IP6_PASS;
    if (u.proto != IP6_NEXT_ICMP6)
        return IP6_PASS;
    const uint8_t *icmp = pkt + u.off;
    if (icmp[0] == ICMP6_ECHO_REQUEST)
        return IP6_ECHO;
    if (icmp[0] == ICMP6_PACKET_TOO_BIG) {
        uint32_t mtu = (uint32_t)icmp[4] << 24 | (uint32_t)icmp[5] << 16 |
                       (uint32_t)icmp[6] << 8 | icmp[7];
        if (mtu < IP6_MIN_MTU)
            return IP6_DROP_PTB;
    }
    return IP6_PASS;
}

uint32_t ip6_flow_hash(const uint8_t *pkt, size_t len)
{
    struct ip6_upper u;
    enum ip6_walk_result r = ip6_walk(pkt, len, &u);
    if (r == IP6_WALK_NOT_IPV6)
        return 0;
    uint32_t h = 0;
    for (int i = 0; i < 8; i++) {
        uint32_t w;
        memcpy(&w, pkt + 8 + 4 * i, 4);
        h ^= w;
    }
    if (r == IP6_WALK_FOUND && !u.fragment &&
        (u.proto == IP6_NEXT_TCP || u.proto == IP6_NEXT_UDP) && (size_t)u.off + 4 <= len) {
        uint32_t ports;
        memcpy(&ports, pkt + u.off, 4);
        h ^= ports;
    }
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    return h;
}
