#include "net/apps/iperf.h"

#include "kernel/log.h"
#include "net/apps/iperf2.h"
#include "net/apps/iperf3.h"
#include "net/apps/iperf_tx.h"

void iperf_server_start(void)
{
    iperf_tx_init();
    if (iperf2_server_start() != 0)
        log_error("iperf2: could not listen on port 5001 (no memory for a pcb?)");
    if (iperf3_server_start() != 0)
        log_error("iperf3: could not listen on port 5201 (no memory for a pcb?)");
}
