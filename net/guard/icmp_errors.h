/* Rate limit for the ICMP and ICMPv6 errors the stack sends (destination
 * unreachable, time exceeded, parameter problem): each answers a packet
 * whose source anyone can forge, so unlimited they make the guest a
 * reflector that sends one error per spoofed packet at whoever is named.
 * One bucket for the whole stack, as Linux's icmp_msgs_per_sec and
 * icmp_msgs_burst (net/ipv4/icmp.c icmp_global_allow). The classifier
 * (icmp_errors.c) is pure; icmp_error_allow (icmp_rate.c, beside the echo
 * bucket) is what the glue's link output asks for every frame that is such
 * an error. Main loop only. */
#ifndef NET_ICMP_ERRORS_H
#define NET_ICMP_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#define ICMP_ERROR_RATE  1000       /* errors per second */
#define ICMP_ERROR_BURST 50

/* Is this Ethernet frame (its first len bytes) an ICMP error (types 3, 4,
 * 5, 11, 12) or an ICMPv6 error (types 1-4) right after the IP header? */
bool icmp_error_frame(const void *frame, size_t len);

/* An error is about to go out: false means drop it (counted in
 * tcp_guard.icmp_errors_limited). */
bool icmp_error_allow(void);

#endif
