#include "net/guard/arp_guard.h"

#include <stdbool.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/prot/iana.h"
#include "lwip/prot/etharp.h"
#include "lwip/prot/ethernet.h"
#include "lwip/sys.h"
#include "net/guard/tcp_guard.h"

/* lwIP ages an entry out ARP_MAXAGE seconds after its last ARP from the
 * station; one lost after 9/10 of that may be an expiry, not an eviction. */
#define FRESH_MS ((uint32_t)ARP_MAXAGE * ARP_TMR_INTERVAL / 10 * 9)

static bool present;            /* in the table at the last check */
static bool confirmed;          /* gw_mac came from the gateway's own ARP */
static struct eth_addr gw_mac;
static uint32_t confirmed_ms;   /* last ARP frame from the gateway */
static bool restoring;

void arp_guard_seen(struct netif *nif, const struct pbuf *p)
{
    const ip4_addr_t *gw = netif_ip4_gw(nif);
    if (restoring || ip4_addr_isany(gw) || p->len < SIZEOF_ETH_HDR + SIZEOF_ETHARP_HDR)
        return;
    const struct eth_hdr *eh = p->payload;
    if (eh->type != PP_HTONS(ETHTYPE_ARP))
        return;
    const struct etharp_hdr *ah = (const struct etharp_hdr *)((const u8_t *)p->payload +
                                                              SIZEOF_ETH_HDR);
    ip4_addr_t sip;
    memcpy(&sip, &ah->sipaddr, sizeof sip);
    if (ah->hwtype != PP_HTONS(LWIP_IANA_HWTYPE_ETHERNET) || ah->hwlen != ETH_HWADDR_LEN ||
        ah->protolen != sizeof(ip4_addr_t) || ah->proto != PP_HTONS(ETHTYPE_IP) ||
        !ip4_addr_cmp(&sip, gw))
        return;
    memcpy(&gw_mac, &ah->shwaddr, sizeof gw_mac);
    confirmed = true;
    confirmed_ms = sys_now();
}

/* An ARP reply from the gateway to us, as if it had just answered: lwIP's
 * own input path re-creates the entry (ARP for us: "try hard"). */
static void restore(struct netif *nif)
{
    struct pbuf *p = pbuf_alloc(PBUF_RAW, SIZEOF_ETH_HDR + SIZEOF_ETHARP_HDR, PBUF_RAM);
    if (!p)
        return;
    struct eth_hdr *eh = p->payload;
    struct etharp_hdr *ah = (struct etharp_hdr *)((u8_t *)p->payload + SIZEOF_ETH_HDR);
    memcpy(&eh->dest, nif->hwaddr, ETH_HWADDR_LEN);
    eh->src = gw_mac;
    eh->type = PP_HTONS(ETHTYPE_ARP);
    ah->hwtype = PP_HTONS(LWIP_IANA_HWTYPE_ETHERNET);
    ah->proto = PP_HTONS(ETHTYPE_IP);
    ah->hwlen = ETH_HWADDR_LEN;
    ah->protolen = sizeof(ip4_addr_t);
    ah->opcode = PP_HTONS(ARP_REPLY);
    ah->shwaddr = gw_mac;
    memcpy(&ah->sipaddr, netif_ip4_gw(nif), sizeof(ip4_addr_t));
    memcpy(&ah->dhwaddr, nif->hwaddr, ETH_HWADDR_LEN);
    memcpy(&ah->dipaddr, netif_ip4_addr(nif), sizeof(ip4_addr_t));
    restoring = true;
    if (nif->input(p, nif) != ERR_OK)
        pbuf_free(p);
    restoring = false;
}

void arp_guard_check(struct netif *nif)
{
    const ip4_addr_t *gw = netif_ip4_gw(nif);
    struct eth_addr *mac;
    const ip4_addr_t *ip;

    if (restoring || ip4_addr_isany(gw))
        return;
    if (etharp_find_addr(nif, gw, &mac, &ip) >= 0) {
        present = true;
        return;
    }
    bool was = present;
    present = false;
    if (!was || !confirmed || (uint32_t)(sys_now() - confirmed_ms) >= FRESH_MS)
        return;
    restore(nif);
    if (etharp_find_addr(nif, gw, &mac, &ip) >= 0) {
        present = true;
        tcp_guard.arp_gateway_kept++;
    }
}
