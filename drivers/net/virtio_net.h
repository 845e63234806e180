/* virtio-net over the modern virtio-pci transport. */
#ifndef DRIVERS_NET_VIRTIO_NET_H
#define DRIVERS_NET_VIRTIO_NET_H

#include "drivers/net/netdev.h"

/* Finds the first virtio-net PCI function, negotiates features, sets up the
 * queues and their interrupts for mode, and sets DRIVER_OK. RX starts with
 * dev->ops->open once the upper layer has set its hooks. max_pairs caps the
 * queue pairs taken from a multiqueue device (1: multiqueue not negotiated). NULL with *reason
 * when there is no device or none this driver can use. */
struct netdev *virtio_net_probe(enum net_mode mode, unsigned max_pairs, const char **reason);

/* Until this is called each RX queue keeps VNET_RX_FIRST_FILL buffers
 * posted; from here on the whole ring, filled by deferred work (the refill
 * timer, main loop) so the caller's context does no ring work. Main loop,
 * lwIP callbacks included. */
void virtio_net_rx_fill_all(struct netdev *dev);

#endif
