/* Keyed ISNs (RFC 6528). The clock term keeps the ISNs of one 4-tuple
 * increasing across incarnations (so old duplicates stay out of a new
 * connection's window, RFC 793's reason for a clock); the keyed hash makes
 * every other tuple's sequence space unpredictable, so a peer learns nothing
 * about anyone else's connections from its own ISNs or from the uptime. */
#include "net/guard/tcp_isn.h"

#include <stdbool.h>
#include <string.h>

#include "kernel/clock.h"
#include "lwip/opt.h"
#include "lwip/debug.h"

static struct siphash_key isn_key;
static bool isn_key_set;

static size_t pack_addr(uint8_t *out, const ip_addr_t *a)
{
#if LWIP_IPV6
    if (IP_IS_V6(a)) {
        out[0] = 6;
        memcpy(out + 1, ip_2_ip6(a)->addr, 16);
        return 17;
    }
#endif
    out[0] = 4;
    memcpy(out + 1, &ip_2_ip4(a)->addr, 4);
    return 5;
}

size_t tcp_tuple_pack(uint8_t out[TCP_TUPLE_MAX], const ip_addr_t *local_ip, uint16_t local_port,
                      const ip_addr_t *remote_ip, uint16_t remote_port)
{
    size_t n = pack_addr(out, local_ip);
    n += pack_addr(out + n, remote_ip);
    out[n++] = (uint8_t)(local_port >> 8);
    out[n++] = (uint8_t)local_port;
    out[n++] = (uint8_t)(remote_port >> 8);
    out[n++] = (uint8_t)remote_port;
    return n;
}

void tcp_isn_set_key(const struct siphash_key *key)
{
    isn_key = *key;
    isn_key_set = true;
}

uint32_t tcp_isn_at(const struct siphash_key *key, const uint8_t *tuple, size_t len,
                    uint64_t now_ns)
{
    /* M: 4.096 us per tick, wraps every ~4.9 h (RFC 6528 asks for ~4 us). */
    return (uint32_t)siphash24(key, tuple, len) + (uint32_t)(now_ns >> 12);
}

uint32_t tcp_isn_hook(const ip_addr_t *local_ip, uint16_t local_port,
                      const ip_addr_t *remote_ip, uint16_t remote_port)
{
    LWIP_ASSERT("tcp_isn_hook: no key (tcp_keys_init not called)", isn_key_set);
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tcp_tuple_pack(t, local_ip, local_port, remote_ip, remote_port);
    return tcp_isn_at(&isn_key, t, n, clock_now_ns());
}
