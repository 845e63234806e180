/* Keeps the gateway's ARP entry. lwIP's 16-entry table recycles its oldest
 * stable entry for every new station that ARPs for us (and for every new
 * local address we answer): a crowd of stations evicts the gateway, and
 * off-link traffic then waits for ARP again, or for ever if the crowd keeps
 * going. The glue checks the entry around each input frame and each main
 * loop pass; if a fresh gateway entry went missing (not aged out: lwIP's
 * own ARP_MAXAGE expiry and re-request stay in force), it is put back from
 * the last confirmed address, recycling some other station's entry
 * instead. Main loop only. */
#ifndef NET_ARP_GUARD_H
#define NET_ARP_GUARD_H

#include "lwip/netif.h"
#include "lwip/pbuf.h"

/* Before lwIP sees frame p: notes ARP frames from the gateway (they are
 * what refreshes its entry). */
void arp_guard_seen(struct netif *nif, const struct pbuf *p);
/* After input or timers: restores the gateway's entry if it was evicted. */
void arp_guard_check(struct netif *nif);

#endif
