/* The glue between a driver's netdev and lwIP's netif. Main loop only. */
#ifndef NET_NETIF_H
#define NET_NETIF_H

#include <stdint.h>

#include "drivers/net/netdev.h"
#include "net/glue/config.h"

struct netglue_counters {
    uint64_t tx_backlogged;      /* frames parked while the TX queue was stopped */
    uint64_t tx_dropped;         /* dropped here, not by the driver: no memory to
                                    linearize, a super-segment not fit for
                                    offload (tx_offload), backlog full */
    uint64_t tx_backlog_dropped; /* backlog full: dropped (counted in tx_dropped) */
    uint64_t tx_linearized;      /* chains too long for the ring: copied */
    uint64_t rx_input_errors;    /* lwIP refused a frame (in /stats.json rx_dropped) */
};

/* Attaches dev to lwIP (static address from cfg, else DHCP) and opens it.
 * on_ready runs once, when the interface first has an IPv4 address. */
int netglue_init(struct netdev *dev, const struct net_config *cfg,
                 void (*on_ready)(uint32_t ip_host_order));

/* Sends the device everything queued since the last call (one kick). */
void netglue_flush(void);

struct netdev *netglue_dev(void);
const struct netglue_counters *netglue_counters(void);

#endif
