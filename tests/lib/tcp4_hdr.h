/* The IPv4 and TCP headers of a test peer's segment, written in network
 * byte order, and the walk over TCP options: shared by the real-lwIP unit harness (tests/unit/lwip_host.c)
 * and the fuzz peer (tests/fuzz/lwip_host/peer.c). Header only: both builds
 * take it with -I. and no extra source. */
#ifndef TESTS_LIB_TCP4_HDR_H
#define TESTS_LIB_TCP4_HDR_H

#include <stddef.h>
#include <stdint.h>

static inline void tcp4_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void tcp4_put32(uint8_t *p, uint32_t v)
{
    tcp4_put16(p, (uint16_t)(v >> 16));
    tcp4_put16(p + 2, (uint16_t)v);
}

/* Host-order fields of one segment. */
struct tcp4_hdr {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
};

/* At b: a 20-byte IPv4 header (TTL 64, protocol TCP, total length tot,
 * checksum left 0) and a TCP header of thl bytes (checksum 0; the caller
 * copies any options in after its first 20 bytes). b must hold 20 + thl
 * zeroed bytes. */
static inline void tcp4_hdr_put(uint8_t *b, size_t tot, size_t thl, const struct tcp4_hdr *h)
{
    uint8_t *t = b + 20;
    b[0] = 0x45;
    tcp4_put16(b + 2, (uint16_t)tot);
    b[8] = 64;
    b[9] = 6;   /* IP_PROTO_TCP */
    tcp4_put32(b + 12, h->src);
    tcp4_put32(b + 16, h->dst);
    tcp4_put16(t, h->sport);
    tcp4_put16(t + 2, h->dport);
    tcp4_put32(t + 4, h->seq);
    tcp4_put32(t + 8, h->ack);
    t[12] = (uint8_t)((thl / 4) << 4);
    t[13] = h->flags;
    tcp4_put16(t + 14, h->wnd);
}

/* The TCP option at *i of header t (thl bytes, *i from 20), skipping
 * NOPs, and *i moved past it; NULL at the end of the list or at an option
 * whose length does not fit the header. */
static inline const uint8_t *tcp4_opt_next(const uint8_t *t, size_t thl, size_t *i)
{
    while (*i < thl && t[*i] == 1)
        (*i)++;
    if (*i >= thl || t[*i] == 0 || *i + 1 >= thl || t[*i + 1] < 2 || *i + t[*i + 1] > thl)
        return NULL;
    const uint8_t *o = t + *i;
    *i += o[1];
    return o;
}

#endif
