/* Keyed TCP initial sequence numbers (RFC 6528, section 3):
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 * with F = SipHash-2-4 under a boot-time key and M a ~4 us clock (ns >> 12).
 * Installed as LWIP_HOOK_TCP_ISN (net/port/lwipopts.h). */
#ifndef NET_TCP_ISN_H
#define NET_TCP_ISN_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "net/guard/siphash.h"

/* Address family tag + addresses + ports, the input of every keyed TCP hash. */
#define TCP_TUPLE_MAX (2 * (1 + 16) + 4)
size_t tcp_tuple_pack(uint8_t out[TCP_TUPLE_MAX], const ip_addr_t *local_ip, uint16_t local_port,
                      const ip_addr_t *remote_ip, uint16_t remote_port);

void tcp_isn_set_key(const struct siphash_key *key);

/* The ISN for a tuple at time now_ns (pure: for tests). */
uint32_t tcp_isn_at(const struct siphash_key *key, const uint8_t *tuple, size_t len,
                    uint64_t now_ns);

/* LWIP_HOOK_TCP_ISN; PANICs if no key was set (a boot-order bug). */
uint32_t tcp_isn_hook(const ip_addr_t *local_ip, uint16_t local_port,
                      const ip_addr_t *remote_ip, uint16_t remote_port);

#endif
