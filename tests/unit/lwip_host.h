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

/* The server side under test: a listener; pcb is the connection it accepted
 * last, NULL again once lwIP reports a connection gone (its err callback: a
 * test with one connection at a time); accepted counts the connections. */
struct lwip_host_server {
    struct tcp_pcb *listener;
    struct tcp_pcb *pcb;
    int accepted;
    /* Run on each accepted pcb (may be NULL): adds the test's callbacks or
     * queues data; an error refuses the connection (lwIP aborts it). */
    err_t (*on_accept)(struct tcp_pcb *pcb);
};

/* lwip_host_init, lwip_host_reset, then srv listens on port (pcb NULL,
 * accepted 0). The usual cmocka setup of these tests. */
void lwip_host_serve(struct lwip_host_server *srv, uint16_t port,
                     err_t (*on_accept)(struct tcp_pcb *pcb));
/* cmocka teardown: lwip_host_reset. */
int lwip_host_teardown(void **state);
#define LWIP_HOST_TEST(f, setup) cmocka_unit_test_setup_teardown(f, setup, lwip_host_teardown)
/* A segment from the peer (no options, no payload yet). */
struct seg lwip_host_seg(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                         uint32_t ack, uint16_t wnd);

/* Injects s as an IPv4 frame from s->src_ip (default HOST_PEER_IP if 0). */
void lwip_host_input(const struct seg *s);
/* Pops the oldest frame lwIP sent; false when none is left. */
bool lwip_host_output(struct seg *out);
size_t lwip_host_output_count(void);
/* Drops every captured frame; returns how many there were. */
size_t lwip_host_drain(void);
/* Sends the SYN s and returns lwIP's answer: exactly one SYN|ACK acking it. */
struct seg lwip_host_syn(const struct seg *s);
/* lwip_host_syn, then the peer's ACK of that SYN|ACK (the SYN's addresses,
 * ports and window); returns the SYN|ACK. */
struct seg lwip_host_connect(const struct seg *syn);

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
