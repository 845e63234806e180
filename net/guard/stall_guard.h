/* Closes TCP connections whose peer stopped acknowledging (SPEC.md "What no
 * peer may do"): every active pcb, HTTP, iperf or other, is swept once a
 * second; one with data outstanding and under a segment acknowledged for
 * STALL_TIMEOUT_MS is aborted (RST), window zero or not. While the pcb pool
 * (or the segment pool, or the heap) is nearly full, pcbs stalled for
 * STALL_EVICT_MS go first, longest stalled
 * first, so stalled senders never keep new clients out. Counted in
 * tcp_guard.stalled_closed. Main loop only. */
#ifndef NET_STALL_GUARD_H
#define NET_STALL_GUARD_H

#include <stdint.h>

#include "lwip/tcp.h"

#define STALL_TIMEOUT_MS 30000
#define STALL_EVICT_MS    2000
#define STALL_SWEEP_MS    1000

/* Starts the periodic sweep (lwIP timer). */
void stall_guard_start(void);
/* A new connection is about to need a pcb: if the pool is nearly full,
 * abort the pcb stalled longest (at least STALL_EVICT_MS). */
void stall_guard_make_room(void);
/* ms pcb has gone without acknowledged progress, as of the last sweep. */
uint32_t stall_guard_stalled_ms(const struct tcp_pcb *pcb);

#endif
