/* Separate keys for ISNs, cookies and datagram ids: a cookie's MAC never
 * helps to predict an ISN or an id, or the other way round. */
#include "net/guard/tcp_keys.h"

#include <stdint.h>

#include "kernel/log.h"
#include "net/guard/entropy.h"
#include "net/guard/ip_id.h"
#include "net/guard/siphash.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_syncookie.h"

void tcp_keys_init(void)
{
    uint8_t k[48];
    enum entropy_source src = entropy_get(k, sizeof k);
    struct siphash_key isn = siphash_key_from_bytes(k);
    struct siphash_key cookie = siphash_key_from_bytes(k + 16);
    struct siphash_key ip_ids = siphash_key_from_bytes(k + 32);
    tcp_isn_set_key(&isn);
    tcp_syncookie_set_key(&cookie);
    ip_id_set_key(&ip_ids);
    log_info("tcp: ISN and SYN-cookie keys from %s", entropy_source_name(src));
}
