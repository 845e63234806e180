/* SipHash-2-4 (Aumasson, Bernstein 2012): a keyed 64-bit PRF for short inputs.
 * Keys the TCP initial sequence numbers and SYN cookies (net/guard/tcp_isn.c,
 * net/guard/syncookie.c). */
#ifndef NET_SIPHASH_H
#define NET_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
    uint64_t k0, k1;   /* the 16 key bytes read as two little-endian words */
};

uint64_t siphash24(const struct siphash_key *key, const void *msg, size_t len);

/* k0 = bytes 0..7, k1 = bytes 8..15, little-endian (as in the paper). */
struct siphash_key siphash_key_from_bytes(const uint8_t bytes[16]);

#endif
