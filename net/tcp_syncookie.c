/* SYN cookies for lwIP's listeners: policy, keys and counters around the
 * pure encoding in net/syncookie.c. The half-open count is lwIP's own
 * TCP_LISTEN_BACKLOG bookkeeping (accepts_pending: SYN_RCVD pcbs not yet
 * accepted), which lwIP keeps exact on every path a pcb leaves SYN_RCVD. */
#include "net/tcp_syncookie.h"

#include <stdbool.h>

#include "kernel/clock.h"
#include "lwip/opt.h"
#include "lwip/debug.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "net/syncookie.h"
#include "net/tcp_guard.h"
#include "net/tcp_isn.h"

#if !TCP_LISTEN_BACKLOG
#error "SYN cookies count half-open pcbs with TCP_LISTEN_BACKLOG's accepts_pending"
#endif

static struct siphash_key cookie_key;
static bool key_set, sent_any;
static uint32_t last_sent_tick;

void tcp_syncookie_set_key(const struct siphash_key *key)
{
    cookie_key = *key;
    key_set = true;
}

int tcp_syncookie_want(const struct tcp_pcb_listen *lpcb)
{
    if (lpcb->accepts_pending >= TCP_SYNCOOKIE_LISTEN_THRESHOLD)
        return 1;
    unsigned total = 0;
    for (const struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l != NULL; l = l->next)
        total += l->accepts_pending;
    return total >= TCP_SYNCOOKIE_TOTAL_THRESHOLD;
}

uint32_t tcp_syncookie_make(const struct tcp_pcb_listen *lpcb, const ip_addr_t *local_ip,
                            uint16_t local_port, const ip_addr_t *remote_ip,
                            uint16_t remote_port, uint32_t peer_isn, uint16_t *mss,
                            uint8_t wscale)
{
    (void)lpcb;
    LWIP_ASSERT("tcp_syncookie_make: no key (tcp_keys_init not called)", key_set);
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tcp_tuple_pack(t, local_ip, local_port, remote_ip, remote_port);
    uint32_t tick = syncookie_tick(clock_now_ns());
    uint32_t cookie = syncookie_make(&cookie_key, t, n, peer_isn, tick, mss, wscale);
    last_sent_tick = tick;
    sent_any = true;
    tcp_guard.syncookies_sent++;
    return cookie;
}

int tcp_syncookie_check(const struct tcp_pcb_listen *lpcb, const ip_addr_t *local_ip,
                        uint16_t local_port, const ip_addr_t *remote_ip, uint16_t remote_port,
                        uint32_t peer_isn, uint32_t cookie, uint16_t *mss, uint8_t *wscale)
{
    (void)lpcb;
    uint32_t tick = syncookie_tick(clock_now_ns());
    /* No cookie out there that could still be valid: a stray ACK, not a guess
     * worth a hash (and not a chance to brute-force one while idle). */
    if (!sent_any || tick - last_sent_tick > SYNCOOKIE_MAX_AGE)
        return 0;
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tcp_tuple_pack(t, local_ip, local_port, remote_ip, remote_port);
    if (syncookie_check(&cookie_key, t, n, peer_isn, cookie, tick, mss, wscale)) {
        tcp_guard.syncookies_validated++;
        return 1;
    }
    tcp_guard.syncookies_rejected++;
    return 0;
}
