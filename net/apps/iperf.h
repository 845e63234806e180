/* The iperf servers: iperf 2 on TCP 5001 (net/apps/iperf2.c) and iperf3 on TCP
 * 5201 (net/apps/iperf3.c), on lwIP's raw API. Main loop only. */
#ifndef NET_IPERF_H
#define NET_IPERF_H

#include <stdint.h>

/* Starts listening on both ports; failures are logged. Every test is logged
 * (log_info) with its byte counts and duration. */
void iperf_server_start(void);

/* Nanoseconds the main loop has spent halted for want of work (net/glue/main.c):
 * iperf3 reports the CPU load of a test from it. */
uint64_t main_loop_idle_ns(void);

#endif
