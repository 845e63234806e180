/* The real lwIP (the kernel's .deps/lwip tree with our patches and net/port/lwipopts.h)
 * on the host, on a simulated IPv4 netif: a test plays the remote peer by
 * injecting crafted TCP segments and reading what lwIP sends back; time is
 * simulated (lwip_host_advance() runs lwIP's TCP timers). */
#ifndef TESTS_UNIT_LWIP_HOST_H
#define TESTS_UNIT_LWIP_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/tcp.h"

#define HOST_LOCAL_IP  "192.0.2.2"   /* lwIP's address */
#define HOST_PEER_IP   "192.0.2.1"   /* default peer */

/* One TCP segment, as sent or received, in host byte order. */
struct seg {
    uint32_t src_ip, dst_ip;          /* host order, e.g. 0xc0000201 */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;                    /* TCP_SYN | TCP_ACK ... (lwip/prot/tcp.h) */
    uint16_t wnd;                     /* raw header field (unscaled) */
    uint16_t mss;                     /* MSS option, 0 = none */
    int wscale;                       /* window scale option, -1 = none */
    bool sack_perm;
    size_t len;                       /* payload bytes */
    uint16_t tso_segsz;               /* pbuf->tso_segsz: a super-segment cut at this */
    uint8_t data[65536];
};

void lwip_host_init(void);            /* once per process: lwip_init + netif */
void lwip_host_reset(void);           /* abort every pcb, drop captured frames */
uint32_t lwip_host_now_ms(void);
void lwip_host_advance(uint32_t ms);  /* step time by 250 ms ticks, running tcp_tmr */
void lwip_host_advance_ns(uint64_t ns);  /* clock_now_ns only, no timers */

/* A listening pcb on port taking connections with accept. */
struct tcp_pcb *lwip_host_listen(uint16_t port, tcp_accept_fn accept);
/* A segment from the peer (no options, no payload yet). */
struct seg lwip_host_seg(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                         uint32_t ack, uint16_t wnd);

/* Injects s as an IPv4 frame from s->src_ip (default HOST_PEER_IP if 0). */
void lwip_host_input(const struct seg *s);
/* Pops the oldest frame lwIP sent; false when none is left. */
bool lwip_host_output(struct seg *out);
size_t lwip_host_output_count(void);

/* TSO on the simulated netif: it segments super-segments of the families in
 * flags (NETIF_TSO_TCP4/6) of up to max payload bytes (0, 0: off, the
 * default). Takes effect on the next tcp_output. */
void lwip_host_set_tso(unsigned flags, uint16_t max);
/* While on, the netif keeps a reference to every frame it sends, as a
 * driver does until the device is done (tcp_output_segment_busy);
 * lwip_host_release() drops them. */
void lwip_host_hold(bool on);
void lwip_host_release(void);

/* Panic (a failed LWIP_ASSERT) fails the running test with the message;
 * lwip_host_panics counts them. */
extern int lwip_host_panics;
extern char lwip_host_last_panic[256];

uint32_t ip_from_str(const char *s);  /* host order */

#endif
