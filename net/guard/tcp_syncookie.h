/* lwIP's side of SYN cookies (net/port/patches/0002-*): when to use them, and
 * making and checking them for a listener's segments. Main loop only. */
#ifndef NET_TCP_SYNCOOKIE_H
#define NET_TCP_SYNCOOKIE_H

#include <stdint.h>

#include "lwip/ip_addr.h"
#include "net/guard/siphash.h"

struct tcp_pcb_listen;

/* Half-open (SYN_RCVD, not yet accepted) pcbs: cookies once one listener has
 * this many, or all listeners together this many. So half-open pcbs hold at
 * most TCP_SYNCOOKIE_TOTAL_THRESHOLD of the MEMP_NUM_TCP_PCB pool. */
#define TCP_SYNCOOKIE_LISTEN_THRESHOLD 16
#define TCP_SYNCOOKIE_TOTAL_THRESHOLD  48

void tcp_syncookie_set_key(const struct siphash_key *key);

/* LWIP_HOOK_TCP_SYNCOOKIE_WANT: 1 = answer this SYN with a cookie. */
int tcp_syncookie_want(const struct tcp_pcb_listen *lpcb);

/* LWIP_HOOK_TCP_SYNCOOKIE_MAKE: 1 = answer the SYN with *cookie as our ISN;
 * *mss in: the peer's MSS option (0 = none), out: the MSS the cookie carries.
 * 0 = drop the SYN: its source is on-link and not in the ARP table (an ARP
 * request has been sent instead; a real peer answers it and retransmits). */
int tcp_syncookie_make(const struct tcp_pcb_listen *lpcb, const ip_addr_t *local_ip,
                       uint16_t local_port, const ip_addr_t *remote_ip, uint16_t remote_port,
                       uint32_t peer_isn, uint16_t *mss, uint8_t wscale, uint32_t *cookie);

/* LWIP_HOOK_TCP_SYNCOOKIE_CHECK: 1 = the ACK's cookie is ours and fresh;
 * *mss and *wscale (0xff = none) are what the SYN carried. Only checked while
 * cookies have been sent recently; otherwise 0 (the ACK gets its RST). */
int tcp_syncookie_check(const struct tcp_pcb_listen *lpcb, const ip_addr_t *local_ip,
                        uint16_t local_port, const ip_addr_t *remote_ip, uint16_t remote_port,
                        uint32_t peer_isn, uint32_t cookie, uint16_t *mss, uint8_t *wscale);

#endif
