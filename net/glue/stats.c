/* Gathers /stats.json's counters from the driver, NAPI, lwIP and the heap. */
#include "net/glue/stats.h"

#include <string.h>

#include "kernel/clock.h"
#include "kernel/irq.h"
#include "kernel/mm.h"
#include "kernel/napi.h"
#include "lwip/memp.h"
#include "lwip/stats.h"
#include "net/glue/netif.h"
#include "net/glue/tso.h"

static const char *mode_name = "napi";

void stats_set_mode(const char *name) { mode_name = name; }

void stats_snapshot(struct stats_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->uptime_ms = clock_now_ms();
    struct netdev *dev = netglue_dev();
    if (dev) {
        struct netdev_queue_counters sum;
        netdev_sum_counters(dev, &sum);
        s->net.rx_packets = sum.rx_packets;
        s->net.rx_bytes = sum.rx_bytes;
        s->net.rx_dropped = sum.rx_dropped + netglue_counters()->rx_input_errors;
        s->net.tx_packets = sum.tx_packets;
        s->net.tx_bytes = sum.tx_bytes;
        /* The driver's drops and the glue's: each frame counted once. */
        s->net.tx_dropped = sum.tx_dropped + netglue_counters()->tx_dropped;
        s->net.tx_queue_stopped = sum.tx_queue_stopped;
        s->net.tx_tso_frames = sum.tx_tso_frames;
        s->net.tx_tso_bytes = sum.tx_tso_bytes;
        s->net.tx_tso_segments = tso_counters.segments;
        s->net.device_errors = netdev_device_errors(dev);
        s->irq.rx = sum.irq_rx;
        s->irq.tx = sum.irq_tx;
        s->irq.config = dev->c.irq_config;
        for (unsigned i = 0; i < dev->num_queues && i < STATS_MAX_QUEUES; i++) {
            const struct netdev_queue_counters *q = &dev->q[i];
            s->queue[i].rx_packets = q->rx_packets;
            s->queue[i].rx_bytes = q->rx_bytes;
            s->queue[i].tx_packets = q->tx_packets;
            s->queue[i].tx_bytes = q->tx_bytes;
            s->queue[i].irq_rx = q->irq_rx;
            s->queue[i].irq_tx = q->irq_tx;
            s->queue[i].rx_kicks = q->rx_kicks;
            s->queue[i].tx_kicks = q->tx_kicks;
            s->queue[i].tx_tso_frames = q->tx_tso_frames;
            s->queue[i].tx_tso_bytes = q->tx_tso_bytes;
            s->queue[i].device_errors = netdev_queue_device_errors(dev, i);
        }
        s->nqueues = dev->num_queues < STATS_MAX_QUEUES ? dev->num_queues : STATS_MAX_QUEUES;
        if (dev->irq_spurious)
            s->irq.spurious += *dev->irq_spurious;
    }
    s->irq.spurious += irq_spurious_count;
    s->napi.mode = mode_name;
    s->napi.weight = (uint32_t)napi_config.weight;
    s->napi.budget = (uint32_t)napi_config.budget;
    s->napi.polls = napi_stats.polls;
    s->napi.completes = napi_stats.completes;
    s->napi.rescheduled = napi_stats.rescheduled;
    s->napi.budget_exhausted = napi_stats.budget_exhausted;
    s->napi.time_squeeze = napi_stats.time_squeeze;
    s->napi.deferred = napi_stats.deferred;
#if MEM_STATS
    s->lwip.mem_used = lwip_stats.mem.used;
    s->lwip.mem_max = lwip_stats.mem.max;
#endif
#if MEMP_STATS
    s->lwip.pbuf_pool_used = lwip_stats.memp[MEMP_PBUF_POOL]->used;
    s->lwip.tcp_pcbs = lwip_stats.memp[MEMP_TCP_PCB]->used;
#endif
    s->heap.used = heap_used();
    s->heap.size = heap_size();
    s->tcp_guard = tcp_guard;
}
