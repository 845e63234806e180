/* Local ports of our active opens that tell a peer nothing about our other
 * connections (RFC 6056 section 3.3.4, algorithm 4, "double-hash").
 *
 * lwIP took every ephemeral port from one global counter: a peer we connect
 * to twice (iperf 2's -r/-d connect-back) read from the two ports how many
 * connections we opened to anyone in between, and knew our next port to
 * anyone: half of the 4-tuple a blind in-window attack must guess. Here a
 * keyed hash of (local address, remote address, remote port) gives each
 * destination its own offset into the dynamic range, plus one of 4096
 * counters (picked by another part of the hash) that moves on by the
 * candidates a search used and a random 0-3 more: a destination sees its
 * own ports step by a few, and nothing of anyone else's, short of sharing
 * its counter. A bind to port 0 (no remote yet) starts at a random port.
 *
 * Installed as LWIP_HOOK_TCP_EPHEMERAL_PORT (net/port/lwipopts.h, patch
 * 0903). Main-loop context only. */
#ifndef NET_TCP_PORT_H
#define NET_TCP_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "net/guard/siphash.h"

/* RFC 6335's dynamic range, as lwIP's TCP_LOCAL_PORT_RANGE_START. */
#define TCP_PORT_FIRST 49152u
#define TCP_PORT_COUNT 16384u
#define TCP_PORT_COUNTERS 4096u

void tcp_port_set_key(const struct siphash_key *key);

/* The first free port (in_use 0; lwIP's tcp_local_port_in_use) for a connection whose packed tuple
 * (tcp_tuple_pack with local port 0) is tuple, or a random start if tuple
 * is NULL; random is a fresh random word. 0 if every port is taken. PANICs
 * if no key was set (a boot-order bug). Pure but for the counters: tests. */
uint16_t tcp_port_pick(const uint8_t *tuple, size_t len, uint32_t random,
                       u8_t (*in_use)(u16_t port));

/* LWIP_HOOK_TCP_EPHEMERAL_PORT (remote_ip NULL: tcp_bind to port 0). */
u16_t tcp_port_hook(const ip_addr_t *local_ip, const ip_addr_t *remote_ip, u16_t remote_port);

#endif
