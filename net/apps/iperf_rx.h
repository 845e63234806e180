/* A fixed-size collector for protocol messages that arrive in pieces: TCP
 * hands them over in any split (a 1-byte pbuf, then the rest), so every
 * header is gathered here before it is parsed. Pure, unit-tested. */
#ifndef NET_IPERF_RX_H
#define NET_IPERF_RX_H

#include <stddef.h>
#include <stdint.h>

struct iperf_rx {
    uint8_t *buf;
    uint32_t cap;
    uint32_t have, want;    /* have counts every byte taken, even past cap */
};

static inline void iperf_rx_init(struct iperf_rx *r, uint8_t *buf, uint32_t cap)
{
    r->buf = buf;
    r->cap = cap;
    r->have = r->want = 0;
}

/* Collects the next `want` bytes; bytes beyond cap are counted, not kept
 * (a message too long to keep can still be skipped). */
static inline void iperf_rx_expect(struct iperf_rx *r, uint32_t want)
{
    r->have = 0;
    r->want = want;
}

static inline int iperf_rx_complete(const struct iperf_rx *r) { return r->have == r->want; }
static inline int iperf_rx_overflow(const struct iperf_rx *r) { return r->want > r->cap; }

/* Takes what it still wants from p[0..n); returns the bytes consumed. */
size_t iperf_rx_take(struct iperf_rx *r, const void *p, size_t n);

static inline uint32_t iperf_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t iperf_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline void iperf_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
