/* The sending side of every iperf test: queues a pattern on a pcb, zero-copy
 * from one static buffer, until a deadline or a byte count. Main loop only. */
#ifndef NET_IPERF_TX_H
#define NET_IPERF_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "lwip/tcp.h"

struct iperf_tx {
    uint64_t queued;        /* bytes handed to lwIP */
    uint64_t limit;         /* stop after this many bytes (UINT64_MAX: none) */
    uint32_t start_ms, end_ms;  /* end: stop at this sys_now() if timed */
    uint64_t rate_bps;      /* pace to this many bits/s (0: as fast as it goes) */
    bool timed;
    bool done;              /* limit or deadline reached: send no more */
};

void iperf_tx_init(void);   /* fills the pattern once */

/* duration_ms == 0 and limit == UINT64_MAX: until iperf_tx_stop(). A paced
 * sender is topped up by the ACKs and the pcb's poll (every 500 ms). */
void iperf_tx_start(struct iperf_tx *t, uint32_t duration_ms, uint64_t limit, uint64_t rate_bps);
void iperf_tx_stop(struct iperf_tx *t);

/* Queues what the send buffer takes and outputs it. Returns ERR_OK (also
 * when the pools are dry: the next ACK or poll retries) or lwIP's error.
 * `senders`: how many iperf senders share lwIP's segment pool now; each
 * keeps to its share of it, or the first to refill on an ACK starve the
 * others (-P 16). */
err_t iperf_tx_fill(struct tcp_pcb *pcb, struct iperf_tx *t, unsigned senders);

#endif
