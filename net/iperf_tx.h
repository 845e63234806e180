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
    uint32_t end_ms;        /* stop at this sys_now() if timed */
    bool timed;
    bool done;              /* limit or deadline reached: send no more */
};

void iperf_tx_init(void);   /* fills the pattern once */

/* duration_ms == 0 and limit == UINT64_MAX: until iperf_tx_stop(). */
void iperf_tx_start(struct iperf_tx *t, uint32_t duration_ms, uint64_t limit);
void iperf_tx_stop(struct iperf_tx *t);

/* Queues what the send buffer takes and outputs it. Returns ERR_OK (also
 * when the pools are dry: the next ACK or poll retries) or lwIP's error. */
err_t iperf_tx_fill(struct tcp_pcb *pcb, struct iperf_tx *t);

#endif
