#include "drivers/net/netdev.h"

#include <string.h>

#include "kernel/cmdline.h"

struct netdev_config netdev_config = { .mode = NET_MODE_NAPI, .queues = 1 /* per CPU, as Linux */ };

static const char *const mode_names[] = {
    [NET_MODE_NAPI] = "napi", [NET_MODE_IRQ] = "irq", [NET_MODE_POLL] = "poll",
};
_Static_assert(sizeof(enum net_mode) == sizeof(int), "CMDLINE_ENUM stores an int");
CMDLINE_PARAM(net_mode, .key = "net.mode", .type = CMDLINE_ENUM, .dst = &netdev_config.mode,
              CMDLINE_NAMES(mode_names));
CMDLINE_PARAM(net_queues, .key = "net.queues", .type = CMDLINE_U32,
              .dst = &netdev_config.queues, .min = 1, .max = NETDEV_MAX_QUEUES);

const char *net_mode_name(enum net_mode m)
{
    return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "napi";
}

void netdev_sum_counters(const struct netdev *dev, struct netdev_queue_counters *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < dev->num_queues && i < NETDEV_MAX_QUEUES; i++) {
        const struct netdev_queue_counters *q = &dev->q[i];
        sum->rx_packets += q->rx_packets;
        sum->rx_bytes += q->rx_bytes;
        sum->rx_dropped += q->rx_dropped;
        sum->tx_packets += q->tx_packets;
        sum->tx_bytes += q->tx_bytes;
        sum->tx_dropped += q->tx_dropped;
        sum->tx_queue_stopped += q->tx_queue_stopped;
        sum->irq_rx += q->irq_rx;
        sum->irq_tx += q->irq_tx;
        sum->rx_kicks += q->rx_kicks;
        sum->tx_kicks += q->tx_kicks;
        sum->tx_tso_frames += q->tx_tso_frames;
        sum->tx_tso_bytes += q->tx_tso_bytes;
    }
}

uint64_t netdev_queue_device_errors(const struct netdev *dev, unsigned queue)
{
    if (!dev->ops || !dev->ops->device_errors || queue >= dev->num_queues)
        return 0;
    return dev->ops->device_errors(dev, queue);
}

uint64_t netdev_device_errors(const struct netdev *dev)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < dev->num_queues && i < NETDEV_MAX_QUEUES; i++)
        n += netdev_queue_device_errors(dev, i);
    return n;
}
