/* The interface between a network driver and the stack above it (net/).
 * The driver knows nothing of lwIP; net/glue/netif.c knows nothing of virtio.
 *
 * Calling context: everything here runs in the main loop (NAPI poll,
 * softirq, lwIP callbacks), never in an interrupt handler. */
#ifndef DRIVERS_NET_NETDEV_H
#define DRIVERS_NET_NETDEV_H

#include <stdbool.h>
#include <stdint.h>

#define NETDEV_MAX_QUEUES 4
#define NETDEV_TX_MAX_SG 16
/* A segmentation-offload frame: up to 64 KiB in pieces (Linux allows
 * MAX_SKB_FRAGS + 2 = 19; ours are lwIP segments, one or two each). */
#define NETDEV_TX_MAX_SG_GSO 64

/* One piece of a received frame: a driver buffer the upper layer borrows
 * until it calls dev->rx_buf_release(dev, buf). A mergeable-buffer frame
 * arrives as several frags, in order. */
struct netdev_rx_frag {
    void *buf;          /* driver cookie, passed back to rx_buf_release */
    void *upper_room;   /* dev->rx_upper_room bytes reserved in the buffer for
                           the upper layer's bookkeeping (its pbuf), 16-aligned */
    void *data;         /* first byte of this piece of the Ethernet frame */
    uint32_t len;
};

/* rx flags. CSUM_UNNECESSARY: the device checked the L4 checksum
 * (virtio DATA_VALID), or the frame comes from a local sender with the
 * checksum left partial (NEEDS_CSUM): either way the stack must not verify
 * it (Linux CHECKSUM_UNNECESSARY / CHECKSUM_PARTIAL). */
#define NETDEV_RX_CSUM_UNNECESSARY 1u

/* A frame to send: pieces of memory the device reads in place. */
struct netdev_tx_sg {
    const void *data;
    uint32_t len;
};

/* Per-frame TX offload request (virtio_net_hdr semantics): the device
 * computes the 16-bit one's-complement sum from csum_start to the end and
 * stores it at csum_start + csum_offset. */
enum netdev_gso { NETDEV_GSO_NONE, NETDEV_GSO_TCPV4, NETDEV_GSO_TCPV6 };

/* Segmentation (virtio GSO, Linux skb_shinfo gso_*): the frame is one TCP
 * super-segment of up to 64 KiB that the device cuts into gso_size-byte
 * payloads behind copies of the first hdr_len bytes (Ethernet + IP + TCP
 * headers); requires csum_partial. Only when dev->tx_tso says so. */
struct netdev_tx_offload {
    bool csum_partial;
    uint16_t csum_start, csum_offset;
    enum netdev_gso gso_type;
    uint16_t gso_size, hdr_len;
};

/* How the driver learns of received frames and finished sends (net.mode=). */
enum net_mode {
    NET_MODE_NAPI,  /* interrupt, then polling under NAPI until idle */
    NET_MODE_IRQ,   /* an interrupt per frame, no mitigation (the baseline) */
    NET_MODE_POLL,  /* no interrupts: the idle loop polls every ring */
};

/* The command line's net.mode= and net.queues= (netdev.c's keys). */
struct netdev_config {
    enum net_mode mode;
    uint32_t queues;   /* queue pairs to use when the device offers more */
};
extern struct netdev_config netdev_config;

const char *net_mode_name(enum net_mode m);

struct netdev_queue_counters {
    uint64_t rx_packets, rx_bytes, rx_dropped;
    uint64_t tx_packets, tx_bytes, tx_queue_stopped;
    uint64_t tx_dropped;           /* frames xmit answered NETDEV_TX_DROPPED */
    uint64_t irq_rx, irq_tx;
    uint64_t rx_kicks, tx_kicks;   /* notifications the device asked for */
    uint64_t tx_tso_frames, tx_tso_bytes;   /* super-segments the device cut up */
    uint64_t tx_reclaim_irq_armed;  /* reclaim timer found no progress: TX interrupt on */
};

struct netdev_counters {
    uint64_t irq_config;
    uint64_t rx_csum_offloaded;   /* frames whose L4 checksum the device vouched for */
    uint64_t rx_refill_failed;    /* refill attempts that found no memory */
    uint64_t rx_bad_frames;       /* malformed by the device: dropped */
};

struct netdev;

/* What xmit did with a frame (Linux netdev_tx_t). */
enum netdev_tx {
    NETDEV_TX_OK = 0,   /* taken: the device owns the memory until tx_done(token) */
    NETDEV_TX_BUSY,     /* queue full, nothing taken: the caller keeps the frame
                           and retries after tx_wake */
    NETDEV_TX_DROPPED,  /* bad frame, nothing taken: counted in the queue's
                           tx_dropped; the caller frees it */
};

struct netdev_ops {
    /* sg: up to NETDEV_TX_MAX_SG pieces, NETDEV_TX_MAX_SG_GSO with
     * off->gso_type set. */
    enum netdev_tx (*xmit)(struct netdev *dev, unsigned queue, const struct netdev_tx_sg *sg,
                           unsigned nsg, const struct netdev_tx_offload *off, void *token);
    /* Notify the device of everything queued since the last flush: one kick
     * per batch, honouring the device's suppression. */
    void (*xmit_flush)(struct netdev *dev);
    void (*rx_buf_release)(struct netdev *dev, void *buf);
    /* net.mode=poll: service every ring once, from the idle loop. */
    void (*poll_all)(struct netdev *dev, int budget);
    /* Post RX buffers and start delivering frames (hooks must be set). */
    int (*open)(struct netdev *dev);
    /* Protocol violations the device committed on queue pair `queue`'s
     * rings (a bad used id, len or idx: each marks its ring broken), the
     * control queue's with pair 0. Pulled, not kept here: the rings count
     * them. NULL: none counted. */
    uint64_t (*device_errors)(const struct netdev *dev, unsigned queue);
};

struct netdev {
    const char *name;
    uint8_t mac[6];
    uint16_t mtu;
    bool link_up;
    bool tx_csum_offload;          /* xmit honours netdev_tx_offload */
    bool tx_tso;                   /* ... including NETDEV_GSO_TCPV4 */
    bool tx_tso6;                  /* ... including NETDEV_GSO_TCPV6 */
    unsigned num_queues;
    bool tx_stopped[NETDEV_MAX_QUEUES];
    const struct netdev_ops *ops;
    void *priv;                    /* the driver's */

    /* Set by the upper layer before the driver starts RX. */
    void *upper;
    uint32_t rx_upper_room;
    void (*rx)(struct netdev *dev, const struct netdev_rx_frag *frags, unsigned nfrags,
               unsigned flags);
    void (*tx_done)(struct netdev *dev, void *token);
    void (*tx_wake)(struct netdev *dev, unsigned queue);
    /* Start of xmit_flush (batch end): hand over frames held back to be
     * coalesced. May call xmit. */
    void (*tx_flush)(struct netdev *dev);
    void (*link_changed)(struct netdev *dev);

    /* Interrupts the transport saw but no queue claimed (shared INTx line
     * with an empty ISR); NULL if the transport does not count them. */
    const volatile uint64_t *irq_spurious;

    struct netdev_queue_counters q[NETDEV_MAX_QUEUES];
    struct netdev_counters c;
};

/* Sums the per-queue counters. */
void netdev_sum_counters(const struct netdev *dev, struct netdev_queue_counters *sum);
/* ops->device_errors for one queue pair / summed over them; 0 without. */
uint64_t netdev_queue_device_errors(const struct netdev *dev, unsigned queue);
uint64_t netdev_device_errors(const struct netdev *dev);

#endif
