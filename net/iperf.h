/* iperf2 TCP server on port 5001 (lwIP's lwiperf). Main loop only. */
#ifndef NET_IPERF_H
#define NET_IPERF_H

/* Starts listening; failures are logged. Each finished or aborted test is
 * logged (log_info) with its byte count, duration and rate. */
void iperf_server_start(void);

#endif
