/* Fixed keys for the host builds of lwIP (unit tests, fuzzers): the kernel
 * draws them from RDSEED/RDRAND (net/guard/tcp_keys.c); here runs and
 * replays must be exact. */
#ifndef TESTS_UNIT_FIXED_KEYS_H
#define TESTS_UNIT_FIXED_KEYS_H

#include "net/guard/ip_id.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_port.h"
#include "net/guard/tcp_syncookie.h"

static inline void set_fixed_keys(void)
{
    const struct siphash_key isn_key = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
    const struct siphash_key cookie_key = { 0x1716151413121110ull, 0x1f1e1d1c1b1a1918ull };
    const struct siphash_key ip_id_key = { 0x2726252423222120ull, 0x2f2e2d2c2b2a2928ull };
    tcp_isn_set_key(&isn_key);
    tcp_syncookie_set_key(&cookie_key);
    const struct siphash_key port_key = { 0x3736353433323130ull, 0x3f3e3d3c3b3a3938ull };
    ip_id_set_key(&ip_id_key);
    tcp_port_set_key(&port_key);
}

#endif
