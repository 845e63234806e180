/* Counters of the defences against hostile peers (SPEC.md "What no peer may do"),
 * shown in /stats.json under "tcp_guard" and on /stats.
 *
 * One X-macro list so a defence adds its counter in one line and the JSON writer,
 * the snapshot and the page pick it up. Each counter is written by the one module
 * that owns the defence, from the main loop only (never from interrupt context). */
#ifndef NET_TCP_GUARD_H
#define NET_TCP_GUARD_H

#include <stdint.h>

#define TCP_GUARD_COUNTERS(X) \
    X(syncookies_sent)        /* SYN-ACKs answered statelessly (listen queue over threshold) */ \
    X(syncookies_validated)   /* ACKs whose cookie checked out: a connection was created */ \
    X(syncookies_rejected)    /* ACKs to a listener whose cookie did not check out */ \
    X(syncookies_unresolved)  /* cookie SYNs dropped (ARP request sent): on-link source not in ARP */ \
    X(ooseq_freed)            /* out-of-order queues freed because RX buffers ran low */ \
    X(rx_copybreak)           /* frames copied out of a device buffer so the ring can refill */ \
    X(stalled_closed)         /* connections closed: no acknowledged progress for too long */ \
    X(ip6_bad_chain)          /* IPv6: header chain too long, or a first fragment without its upper header */ \
    X(ip6_ptb_below_min)      /* IPv6: Packet Too Big below 1280 bytes (RFC 8201), ignored */ \
    X(icmp_limited)           /* ICMP/ICMPv6 echo requests dropped by the rate limit */ \
    X(icmp_errors_limited)    /* ICMP/ICMPv6 errors we did not send: over their rate limit */ \
    X(reass_limited)          /* fragments dropped: their source is over its reassembly share */ \
    X(arp_gateway_kept)       /* ARP entries refused eviction because they are the gateway's */ \
    X(iperf_refused)          /* iperf connections turned away: bad header, stalled, iperf3 busy */ \
    X(rx_guard_dropped)       /* frames dropped: no RX buffer left to lend, no heap to copy */

struct tcp_guard_counters {
#define TCP_GUARD_FIELD(name) uint64_t name;
    TCP_GUARD_COUNTERS(TCP_GUARD_FIELD)
#undef TCP_GUARD_FIELD
};

extern struct tcp_guard_counters tcp_guard;

#endif
