/* Per-destination ephemeral ports (tcp_port.h says why; RFC 6056
 * algorithm 4). Called from tcp_connect/tcp_bind in the main loop only: no
 * locking. */
#include "net/guard/tcp_port.h"

#include <stdbool.h>
#include <string.h>

#include "lwip/debug.h"
#include "lwip/opt.h"
#include "lwip/priv/tcp_priv.h"
#include "net/guard/tcp_isn.h"

static struct siphash_key port_key;
static bool port_key_set;
static uint16_t counters[TCP_PORT_COUNTERS];

void tcp_port_set_key(const struct siphash_key *key)
{
    port_key = *key;
    port_key_set = true;
    memset(counters, 0, sizeof counters);
}

uint16_t tcp_port_pick(const uint8_t *tuple, size_t len, uint32_t random,
                       u8_t (*in_use)(u16_t port))
{
    LWIP_ASSERT("tcp_port_pick: no key (tcp_keys_init not called)", port_key_set);
    uint32_t offset = random;
    uint16_t *counter = NULL;
    if (tuple) {
        /* Low half: where this destination's ports start; high half: which
         * counter it shares (RFC 6056's F and G, from one hash). */
        uint64_t h = siphash24(&port_key, tuple, len);
        counter = &counters[(h >> 32) % TCP_PORT_COUNTERS];
        offset = (uint32_t)h + *counter;
    }
    for (uint32_t i = 0; i < TCP_PORT_COUNT; i++) {
        uint16_t port = (uint16_t)(TCP_PORT_FIRST + (offset + i) % TCP_PORT_COUNT);
        if (in_use(port))
            continue;
        /* Past what this search used, and a secret 0-3 more: two ports a
         * destination sees apart do not count the connections made to
         * others through the same counter exactly. */
        if (counter)
            *counter = (uint16_t)(*counter + i + 1 + (random >> 30));
        return port;
    }
    return 0;
}

u16_t tcp_port_hook(const ip_addr_t *local_ip, const ip_addr_t *remote_ip, u16_t remote_port)
{
    uint32_t random = LWIP_RAND();
    if (!remote_ip)
        return tcp_port_pick(NULL, 0, random, tcp_local_port_in_use);
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tcp_tuple_pack(t, local_ip, 0, remote_ip, remote_port);
    return tcp_port_pick(t, n, random, tcp_local_port_in_use);
}
