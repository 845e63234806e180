/* Separate keys for ISNs and cookies: a cookie's MAC never helps to predict
 * an ISN, or the other way round. */
#include "net/guard/tcp_keys.h"

#include <stdint.h>

#include "kernel/log.h"
#include "net/guard/entropy.h"
#include "net/guard/siphash.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_syncookie.h"

void tcp_keys_init(void)
{
    uint8_t k[32];
    enum entropy_source src = entropy_get(k, sizeof k);
    struct siphash_key isn = siphash_key_from_bytes(k);
    struct siphash_key cookie = siphash_key_from_bytes(k + 16);
    tcp_isn_set_key(&isn);
    tcp_syncookie_set_key(&cookie);
    log_info("tcp: ISN and SYN-cookie keys from %s", entropy_source_name(src));
}
