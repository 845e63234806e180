/* SYN cookies for lwIP's listeners: policy, keys and counters around the
 * pure encoding in net/guard/syncookie.c. The half-open count is lwIP's own
 * TCP_LISTEN_BACKLOG bookkeeping (accepts_pending: SYN_RCVD pcbs not yet
 * accepted), which lwIP keeps exact on every path a pcb leaves SYN_RCVD. */
#include "net/guard/tcp_syncookie.h"

#include <stdbool.h>

#include "kernel/clock.h"
#include "lwip/opt.h"
#include "lwip/debug.h"
#include "lwip/etharp.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "net/guard/syncookie.h"
#include "net/guard/tcp_guard.h"
#include "net/guard/tcp_isn.h"

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

/* Spoofed SYNs from on-link addresses: sending each a SYN-ACK makes etharp
 * take a table entry per address (and queue the SYN-ACK there), and a full
 * table recycles its oldest *stable* entry first, so the flood evicts every
 * real peer within microseconds and their packets wait on re-resolution. A
 * cookie therefore goes only to a resolved next hop; for an unresolved one an
 * ARP request goes out instead (no entry, nothing queued, no larger than the
 * SYN-ACK would have been): a real peer's reply creates its entry, and its SYN
 * retransmission gets the cookie. */
static bool next_hop_resolved(const ip_addr_t *remote)
{
#if LWIP_ARP && LWIP_IPV4
    struct netif *nif = ip_current_input_netif();
    if (nif == NULL || !(nif->flags & NETIF_FLAG_ETHARP) || !IP_IS_V4(remote))
        return true;
    const ip4_addr_t *dst = ip_2_ip4(remote);
    if (!ip4_addr_net_eq(dst, netif_ip4_addr(nif), netif_ip4_netmask(nif)))
        return true;            /* via the gateway, which stays resolved */
    struct eth_addr *eth;
    const ip4_addr_t *ip;
    if (etharp_find_addr(nif, dst, &eth, &ip) >= 0)
        return true;
    etharp_request(nif, dst);
    return false;
#else
    (void)remote;
    return true;
#endif
}

int tcp_syncookie_make(const struct tcp_pcb_listen *lpcb, const ip_addr_t *local_ip,
                       uint16_t local_port, const ip_addr_t *remote_ip, uint16_t remote_port,
                       uint32_t peer_isn, uint16_t *mss, uint8_t wscale, uint32_t *cookie)
{
    (void)lpcb;
    LWIP_ASSERT("tcp_syncookie_make: no key (tcp_keys_init not called)", key_set);
    if (!next_hop_resolved(remote_ip)) {
        tcp_guard.syncookies_unresolved++;
        return 0;
    }
    uint8_t t[TCP_TUPLE_MAX];
    size_t n = tcp_tuple_pack(t, local_ip, local_port, remote_ip, remote_port);
    uint32_t tick = syncookie_tick(clock_now_ns());
    *cookie = syncookie_make(&cookie_key, t, n, peer_isn, tick, mss, wscale);
    last_sent_tick = tick;
    sent_any = true;
    tcp_guard.syncookies_sent++;
    return 1;
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
