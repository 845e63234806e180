/* iperf3 server on TCP 5201 (net/apps/iperf3.c). Main loop only. */
#ifndef NET_IPERF3_H
#define NET_IPERF3_H

int iperf3_server_start(void);      /* 0, or -1 (no pcb, port taken) */

#endif
