/* TCP segmentation offload for lwIP's output (virtio 1.x 5.1.6.2 on the
 * driver side, drivers/net/netdev.h NETDEV_GSO_TCPV4).
 *
 * lwIP keeps building MSS-sized segments: its windows, RTO and
 * retransmission (from the first unacknowledged segment, so a partly acked
 * burst is resent from the first unacked byte) stay exactly as without
 * offload. What changes is the trip to the device: consecutive segments of
 * one connection that one tcp_output call releases (as many as the
 * congestion and send windows allow, so a small window still pipelines)
 * leave as one super-segment of up to 64 KiB, the first segment's headers
 * plus references to every segment's payload; the device cuts it up again.
 *
 * The frames stay lwIP's: each is referenced until the device is done; the
 * first one's IPv4 length, checksum and TCP PSH flag are rewritten for the
 * super-segment, which lwIP rewrites on any retransmission anyway (and the
 * flags are put back when the device is done). */
#ifndef NET_TSO_H
#define NET_TSO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netdev.h"
#include "lwip/pbuf.h"

struct tcp_hdr;

/* 44 x 1460 = 64240 payload bytes: under lwIP's and IPv4's 16-bit lengths. */
#define TSO_MAX_SEGS 44
#define TSO_MAX_IP_LEN 65535u

struct tso_frame {
    struct pbuf *seg[TSO_MAX_SEGS];  /* lwIP frames, each holding a reference */
    unsigned nseg;
    unsigned pieces;                 /* scatter-gather pieces the frame needs */
    uint16_t hdr_len;                /* Ethernet + IPv4 + TCP */
    uint16_t gso_size;               /* payload of every segment but the last */
    uint32_t payload;                /* all segments' payload */
    uint32_t next_seq;               /* what the next segment must start at */
    struct tcp_hdr *tcp0;            /* the first segment's TCP header */
    uint8_t flags0;                  /* ... its flags, as lwIP wrote them */
    uint8_t push;                    /* PSH of the segments after the first */
    bool in_use;
};

struct tso_counters {
    uint64_t frames;        /* super-segments built (2 segments or more) */
    uint64_t segments;      /* lwIP segments they carried */
    uint64_t pool_empty;    /* segments sent alone: no frame free */
};
extern struct tso_counters tso_counters;

/* Is this driver token one of ours (else it is a plain pbuf)? */
bool tso_is_frame(const void *token);
/* A segment that may start a super-segment (IPv4, TCP, data, ACK/PSH only,
 * headers in the first pbuf): a frame holding a reference to it, or NULL. */
struct tso_frame *tso_start(struct pbuf *p);
/* Appends the next in-sequence full segment of the same connection; false
 * (nothing taken) when it does not fit or belong. */
bool tso_append(struct tso_frame *t, struct pbuf *p, unsigned max_pieces);
/* Scatter-gather list and the super-segment's header (rewritten in place),
 * offload fields except the checksum ones. Idempotent. Returns the pieces. */
unsigned tso_build(struct tso_frame *t, struct netdev_tx_sg *sg, struct netdev_tx_offload *off);
/* The device is done (or the frame was dropped): references released. */
void tso_release(struct tso_frame *t);

#endif
