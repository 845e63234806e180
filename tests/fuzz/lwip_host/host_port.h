/* The host port's knobs for the fuzz harness (see host_port.c). */
#ifndef FUZZ_HOST_PORT_H
#define FUZZ_HOST_PORT_H

#include <stdint.h>

extern uint32_t host_now_ms;   /* sys_now(); only the harness moves it */
extern int host_trace;         /* FUZZ_TRACE=1: log every op, segment and klog line */

void host_rand_seed(uint64_t seed);

#endif
