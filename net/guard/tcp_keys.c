/* Separate keys for ISNs, cookies, datagram ids and ephemeral ports: a
 * cookie's MAC never helps to predict an ISN, an id or a port, or the other
 * way round. */
#include "net/guard/tcp_keys.h"

#include <stdint.h>

#include "kernel/log.h"
#include "net/guard/entropy.h"
#include "net/guard/ip_id.h"
#include "net/guard/siphash.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_port.h"
#include "net/guard/tcp_syncookie.h"

void tcp_keys_init(void)
{
    uint8_t k[64];
    enum entropy_source src = entropy_get(k, sizeof k);
    struct siphash_key isn = siphash_key_from_bytes(k);
    struct siphash_key cookie = siphash_key_from_bytes(k + 16);
    struct siphash_key ip_ids = siphash_key_from_bytes(k + 32);
    struct siphash_key ports = siphash_key_from_bytes(k + 48);
    tcp_isn_set_key(&isn);
    tcp_syncookie_set_key(&cookie);
    ip_id_set_key(&ip_ids);
    tcp_port_set_key(&ports);
    log_info("tcp: ISN and SYN-cookie keys from %s", entropy_source_name(src));
}
