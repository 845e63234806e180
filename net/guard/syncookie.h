/* SYN cookies (RFC 4987 section 3.6): the SYN-ACK's sequence number encodes
 * what the connection needs, under a keyed MAC, so a listener under a SYN
 * flood keeps no state until the peer's ACK proves it got our SYN-ACK.
 *
 * 32 bits, after subtracting H1 = SipHash(key, tuple, peer ISN, "1"):
 *   [31:30] time tick mod 4 (a tick is 2^36 ns, ~68.7 s)
 *   [29:28] MSS index into syncookie_mss_table
 *   [27:24] the peer's window scale shift 0..14, 15 = peer sent none
 *   [23:0]  MAC = SipHash(key, tuple, peer ISN, full tick, bits 29:24, "2")
 * A cookie is accepted during the tick it was made in and the next one
 * (68.7 to 137 s). SACK and timestamps are not encoded: lwIP here sends
 * neither (LWIP_TCP_SACK_OUT 0, LWIP_TCP_TIMESTAMPS 0), so nothing is lost.
 * Pure functions: the lwIP side is net/guard/tcp_syncookie.c. */
#ifndef NET_SYNCOOKIE_H
#define NET_SYNCOOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/guard/siphash.h"

#define SYNCOOKIE_NO_WSCALE   0xff
#define SYNCOOKIE_MAX_AGE     1u       /* ticks */
#define SYNCOOKIE_MSS_COUNT   4

/* MSS values a cookie can carry (bytes), ascending; a peer's MSS is rounded
 * down to one of them (a peer below the first gets the first, as in Linux). */
extern const uint16_t syncookie_mss_table[SYNCOOKIE_MSS_COUNT];

/* The tick of a monotonic time in ns. */
static inline uint32_t syncookie_tick(uint64_t now_ns)
{
    return (uint32_t)(now_ns >> 36);
}

/* Makes the cookie for a SYN: *mss in = the peer's MSS (0 = no option), out =
 * the value encoded; wscale = the peer's shift or SYNCOOKIE_NO_WSCALE. */
uint32_t syncookie_make(const struct siphash_key *key, const uint8_t *tuple, size_t tuple_len,
                        uint32_t peer_isn, uint32_t tick, uint16_t *mss, uint8_t wscale);

/* Checks the cookie an ACK returns (its ack number - 1) for the same tuple
 * and peer ISN (its sequence number - 1). On success fills *mss, *wscale. */
bool syncookie_check(const struct siphash_key *key, const uint8_t *tuple, size_t tuple_len,
                     uint32_t peer_isn, uint32_t cookie, uint32_t tick_now, uint16_t *mss,
                     uint8_t *wscale);

#endif
