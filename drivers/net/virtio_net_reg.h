/* virtio-net device constants and layouts, virtio 1.x section 5.1. */
#ifndef DRIVERS_NET_VIRTIO_NET_REG_H
#define DRIVERS_NET_VIRTIO_NET_REG_H

#include <stdint.h>

#define VIRTIO_ID_NET 1                     /* 5: device ID */

/* 5.1.3 Feature bits */
#define VIRTIO_NET_F_CSUM                0  /* device handles partial checksums (our TX) */
#define VIRTIO_NET_F_GUEST_CSUM          1  /* driver handles partial checksums (our RX) */
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU                 3
#define VIRTIO_NET_F_MAC                 5
#define VIRTIO_NET_F_GUEST_TSO4          7
#define VIRTIO_NET_F_GUEST_TSO6          8
#define VIRTIO_NET_F_GUEST_ECN           9
#define VIRTIO_NET_F_GUEST_UFO          10
#define VIRTIO_NET_F_HOST_TSO4          11
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13
#define VIRTIO_NET_F_HOST_UFO           14
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16
#define VIRTIO_NET_F_CTRL_VQ            17
#define VIRTIO_NET_F_CTRL_RX            18
#define VIRTIO_NET_F_CTRL_VLAN          19
#define VIRTIO_NET_F_GUEST_ANNOUNCE     21
#define VIRTIO_NET_F_MQ                 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR      23
#define VIRTIO_NET_F_SPEED_DUPLEX       63

/* 5.1.4 Device configuration layout */
struct virtio_net_config {
    uint8_t mac[6];
    uint16_t status;                        /* VIRTIO_NET_F_STATUS */
    uint16_t max_virtqueue_pairs;           /* VIRTIO_NET_F_MQ */
    uint16_t mtu;                           /* VIRTIO_NET_F_MTU */
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_config) == 12, "5.1.4 config layout");

#define VIRTIO_NET_S_LINK_UP  1
#define VIRTIO_NET_S_ANNOUNCE 2

/* 5.1.6 Device Operation: the header in front of every packet. With
 * VIRTIO_F_VERSION_1 it always has num_buffers (12 bytes). */
struct virtio_net_hdr_v1 {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;                   /* written by device (RX, mergeable) */
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "5.1.6 header is 12 bytes");

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO   4
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP      3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

/* 5.1.6.5 Control Virtqueue: class, command, data (device-readable), then
 * one ack byte (device-writable). */
struct virtio_net_ctrl_hdr {
    uint8_t class;
    uint8_t cmd;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_ctrl_hdr) == 2, "5.1.6.5 control header");

#define VIRTIO_NET_OK  0
#define VIRTIO_NET_ERR 1

/* 5.1.6.5.5 Automatic receive steering in multiqueue mode */
#define VIRTIO_NET_CTRL_MQ                   4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET      0
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN      1
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX      0x8000

/* 5.1.2 Virtqueues: receiveq1 = 0, transmitq1 = 1, ..., controlq last. */
#define VIRTIO_NET_RXQ(pair) (2 * (pair))
#define VIRTIO_NET_TXQ(pair) (2 * (pair) + 1)
#define VIRTIO_NET_CTRLQ(max_pairs) (2 * (max_pairs))

#endif
