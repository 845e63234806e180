/* iperf2 server: lwiperf does the protocol, we only report. */
#include "net/iperf.h"

#include "lwip/apps/lwiperf.h"
#include "lwip/ip_addr.h"

#include "kernel/log.h"

static const char *report_name(enum lwiperf_report_type t)
{
    switch (t) {
    case LWIPERF_TCP_DONE_SERVER:             return "done (server)";
    case LWIPERF_TCP_DONE_CLIENT:             return "done (client)";
    case LWIPERF_TCP_ABORTED_LOCAL:           return "aborted locally";
    case LWIPERF_TCP_ABORTED_LOCAL_DATAERROR: return "aborted: data error";
    case LWIPERF_TCP_ABORTED_LOCAL_TXERROR:   return "aborted: tx error";
    case LWIPERF_TCP_ABORTED_REMOTE:          return "aborted by peer";
    }
    return "?";
}

static void iperf_report(void *arg, enum lwiperf_report_type type,
                         const ip_addr_t *local_addr, u16_t local_port,
                         const ip_addr_t *remote_addr, u16_t remote_port,
                         u32_t bytes, u32_t ms, u32_t kbps)
{
    char remote[IPADDR_STRLEN_MAX];

    (void)arg;
    (void)local_addr;
    (void)local_port;
    ipaddr_ntoa_r(remote_addr, remote, sizeof remote);
    log_info("iperf: %s:%u %s: %lu bytes in %lu ms, %lu kbit/s", remote,
             (unsigned)remote_port, report_name(type), (unsigned long)bytes,
             (unsigned long)ms, (unsigned long)kbps);
}

void iperf_server_start(void)
{
    /* Not _default(): its IPv4 "any" address would make the pcb IPv4-only. */
    if (lwiperf_start_tcp_server(IP_ANY_TYPE, LWIPERF_TCP_PORT_DEFAULT, iperf_report, NULL))
        log_info("iperf: listening on port %u", (unsigned)LWIPERF_TCP_PORT_DEFAULT);
    else
        log_error("iperf: could not start the server (no memory for a pcb?)");
}
