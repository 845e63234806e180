/* One consistent copy of every counter /stats.json shows (SPEC.md).
 * stats_snapshot() gathers them (net/glue/stats.c, main loop only);
 * stats_format_json() is pure and unit-tested. */
#ifndef NET_STATS_H
#define NET_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "net/guard/tcp_guard.h"

#define STATS_MAX_QUEUES 4

/* The 64-bit counters of each object, in /stats.json's order: one list
 * makes both the struct members and the JSON fields (stats_json.c). */
#define STATS_NET_FIELDS(X)                                                         \
    X(rx_packets) X(rx_bytes) X(rx_dropped)                                         \
    X(tx_packets) X(tx_bytes) X(tx_dropped) X(tx_queue_stopped)                     \
    /* TCP segmentation offload: super-segments the device cut up, their        \
     * bytes, and the lwIP segments they carried. */                            \
    X(tx_tso_frames) X(tx_tso_bytes) X(tx_tso_segments)                             \
    /* Ring protocol violations by the device (bad used id, len or idx),         \
     * each of which broke a queue: should stay 0. */                           \
    X(device_errors)
#define STATS_IRQ_FIELDS(X) X(rx) X(tx) X(config) X(spurious)
/* After "mode", "weight" and "budget". */
#define STATS_NAPI_FIELDS(X) X(polls) X(completes) X(rescheduled) X(budget_exhausted) X(time_squeeze) X(deferred)
#define STATS_LWIP_FIELDS(X) X(mem_used) X(mem_max) X(pbuf_pool_used) X(tcp_pcbs)
#define STATS_HEAP_FIELDS(X) X(used) X(size)
/* Per queue pair (an addition to SPEC.md's fields: "queues":[...]). */
#define STATS_QUEUE_FIELDS(X)                                                       \
    X(rx_packets) X(rx_bytes) X(tx_packets) X(tx_bytes) X(irq_rx) X(irq_tx)         \
    X(rx_kicks) X(tx_kicks) X(tx_tso_frames) X(tx_tso_bytes) X(device_errors)

#define STATS_U64_MEMBER(name) uint64_t name;

struct stats_snapshot {
    uint64_t uptime_ms;
    struct { STATS_NET_FIELDS(STATS_U64_MEMBER) } net;
    struct { STATS_IRQ_FIELDS(STATS_U64_MEMBER) } irq;
    struct {
        const char *mode;           /* "napi", "irq" or "poll" */
        uint32_t weight, budget;
        STATS_NAPI_FIELDS(STATS_U64_MEMBER)
    } napi;
    struct { STATS_LWIP_FIELDS(STATS_U64_MEMBER) } lwip;
    struct { STATS_HEAP_FIELDS(STATS_U64_MEMBER) } heap;
    struct tcp_guard_counters tcp_guard;
    unsigned nqueues;
    struct { STATS_QUEUE_FIELDS(STATS_U64_MEMBER) } queue[STATS_MAX_QUEUES];
};

void stats_snapshot(struct stats_snapshot *s);

/* Writes the JSON document into buf (NUL-terminated). Returns the length it
 * needed, like snprintf; a return >= len means buf was too small. */
int stats_format_json(const struct stats_snapshot *s, char *buf, size_t len);

#endif

#ifndef NET_STATS_MODE_H
#define NET_STATS_MODE_H
void stats_set_mode(const char *name);   /* "napi", "irq", "poll" */
#endif
