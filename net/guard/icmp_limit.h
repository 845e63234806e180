/* Rate limit for ICMP and ICMPv6 echo requests: one token bucket for the
 * whole stack, so an echo flood costs at most a bounded share of the CPU
 * and the TX ring whoever sends it. The bucket itself is pure (unit-tested
 * on the host); icmp_echo_allow() is what the IPv4 glue and the IPv6 input
 * path call per echo request. Main loop only. */
#ifndef NET_ICMP_LIMIT_H
#define NET_ICMP_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Tokens are in 1/1000 of a request so the refill needs no division. */
struct token_bucket {
    uint32_t rate;          /* requests per second */
    uint32_t burst;         /* requests the bucket holds */
    uint64_t milli_tokens;
    uint64_t last_ms;
};

void token_bucket_init(struct token_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);
/* true (and one token taken) if a request may pass at now_ms. */
bool token_bucket_take(struct token_bucket *b, uint64_t now_ms);
/* token_bucket_take on a zeroed (static) bucket that sets itself up, full,
 * at its first use. */
bool token_bucket_take_lazy(struct token_bucket *b, uint32_t rate, uint32_t burst,
                            uint64_t now_ms);

/* Echo requests per second answered, and how many may come at once. The
 * host's `ping -f` (one request in flight: 1/RTT a second) reaches ~10k/s
 * on TCG over a tap (test_matrix: 2000 in ~0.2 s) and must lose nothing; a
 * packet-socket blast (test_attacks: 40000 in ~0.4 s) is cut to a quarter. */
#define ICMP_ECHO_RATE  20000
#define ICMP_ECHO_BURST 2000

/* One echo request (ICMP type 8 or ICMPv6 type 128) arrived: false means
 * drop it (counted in tcp_guard.icmp_limited). */
bool icmp_echo_allow(void);

#endif
