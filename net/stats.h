/* One consistent copy of every counter /stats.json shows (SPEC.md).
 * stats_snapshot() gathers them (net/stats.c, main loop only);
 * stats_format_json() is pure and unit-tested. */
#ifndef NET_STATS_H
#define NET_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "net/tcp_guard.h"

#define STATS_MAX_QUEUES 4

struct stats_snapshot {
    uint64_t uptime_ms;
    struct {
        uint64_t rx_packets, rx_bytes, rx_dropped;
        uint64_t tx_packets, tx_bytes, tx_dropped, tx_queue_stopped;
        /* TCP segmentation offload: super-segments the device cut up, their
         * bytes, and the lwIP segments they carried. */
        uint64_t tx_tso_frames, tx_tso_bytes, tx_tso_segments;
        /* Ring protocol violations by the device (bad used id, len or
         * idx), each of which broke a queue: should stay 0. */
        uint64_t device_errors;
    } net;
    struct {
        uint64_t rx, tx, config, spurious;
    } irq;
    struct {
        const char *mode;           /* "napi", "irq" or "poll" */
        uint32_t weight, budget;
        uint64_t polls, completes, rescheduled, budget_exhausted, time_squeeze;
    } napi;
    struct {
        uint64_t mem_used, mem_max, pbuf_pool_used, tcp_pcbs;
    } lwip;
    struct {
        uint64_t used, size;
    } heap;
    struct tcp_guard_counters tcp_guard;
    /* Per queue pair (an addition to SPEC.md's fields: "queues":[...]). */
    unsigned nqueues;
    struct {
        uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, irq_rx, irq_tx;
        uint64_t rx_kicks, tx_kicks, tx_tso_frames, tx_tso_bytes, device_errors;
    } queue[STATS_MAX_QUEUES];
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
