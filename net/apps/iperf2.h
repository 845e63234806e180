/* iperf 2 server on TCP 5001 (net/apps/iperf2.c). Main loop only. */
#ifndef NET_IPERF2_H
#define NET_IPERF2_H

int iperf2_server_start(void);      /* 0, or -1 (no pcb, port taken) */

#endif
