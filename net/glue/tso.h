/* TCP segmentation offload for lwIP's output (virtio 1.x 5.1.6.2 on the
 * driver side, drivers/net/netdev.h NETDEV_GSO_TCPV4/6).
 *
 * lwIP builds the super-segments itself (net/port/patches/0801-*): with the
 * netif's tso_flags set it queues referenced data in segments of up to
 * tso_max bytes, cuts each to a share of the window in whole MSS before it
 * is sent, retransmits from the first unacked byte, and marks what it sends
 * with pbuf->tso_segsz (the MSS). Such a frame is one pbuf chain (the first
 * pbuf holds the Ethernet, IP and TCP headers, the rest references the
 * data); here it only becomes the device's offload request. */
#ifndef NET_TSO_H
#define NET_TSO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netdev.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

/* Payload bytes of one super-segment: 44 x 1460 = 64240 at the usual MSS,
 * under the 16-bit IPv4 total length and pbuf lengths with all headers. */
#define TSO_MAX_PAYLOAD 65000u

/* segments: the wire segments the device cuts super-segments into
 * (/stats.json tx_tso_segments). The driver counts the super-segments
 * themselves (tx_tso_frames); a marked frame not fit for offload is dropped
 * in the glue and counted in its tx_dropped. */
struct tso_counters {
    uint64_t segments;
};
extern struct tso_counters tso_counters;

/* The netif's TSO fields from what the device negotiated (HOST_TSO4/6,
 * which need checksum offload). */
void tso_netif_init(struct netif *nif, const struct netdev *dev);

/* Is p a super-segment (lwIP marked it)? */
static inline bool tso_frame(const struct pbuf *p) { return p->tso_segsz != 0; }

/* The segmentation fields of off for super-segment p, whose checksum
 * fields (csum_start: the TCP header) the caller has set; false when p is
 * not a TCP super-segment the device takes. */
bool tso_offload(const struct pbuf *p, bool ipv6, struct netdev_tx_offload *off);

/* The device took p: count it. */
void tso_count(const struct pbuf *p, const struct netdev_tx_offload *off);

#endif
