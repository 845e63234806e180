/* What the kernel provides to lwIP and the servers, for the host fuzz build:
 * a clock the harness moves, a seeded random source, logging (silent unless
 * FUZZ_TRACE is set), panic and lwIP asserts that abort, and /stats.json's
 * snapshot from lwIP's own counters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/arch.h"
#include "lwip/memp.h"
#include "lwip/stats.h"
#include "lwip/sys.h"

#include "kernel/log.h"
#include "net/glue/stats.h"
#include "tests/fuzz/lwip_host/host_port.h"

uint32_t host_now_ms;
int host_trace;
enum log_level log_threshold = LOG_DEBUG;
static uint64_t rng_state;

u32_t sys_now(void) { return host_now_ms; }

void host_rand_seed(uint64_t seed) { rng_state = seed ? seed : 0x9e3779b97f4a7c15ull; }

uint32_t lwip_port_rand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

void klog(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if (!host_trace)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "[%u ms] log%d: ", (unsigned)host_now_ms, (int)level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void lwip_port_diag(const char *fmt, ...)
{
    va_list ap;

    if (!host_trace)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "PANIC: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void fuzz_lwip_assert(const char *msg, const char *file, int line)
{
    /* The fuzz scripts match this line against tests/fuzz/known_crashes. */
    fprintf(stderr, "LWIP_ASSERT: %s at %s:%d\n", msg, file, line);
    abort();
}

void stats_snapshot(struct stats_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->uptime_ms = host_now_ms;
    s->napi.mode = "napi";
    s->lwip.mem_used = lwip_stats.mem.used;
    s->lwip.mem_max = lwip_stats.mem.max;
    s->lwip.pbuf_pool_used = lwip_stats.memp[MEMP_PBUF_POOL]->used;
    s->lwip.tcp_pcbs = lwip_stats.memp[MEMP_TCP_PCB]->used;
    s->tcp_guard = tcp_guard;
}

/* iperf3's CPU figure reads the main loop's idle time; the host has no idle loop. */
uint64_t main_loop_idle_ns(void) { return 0; }

/* Keyed ISNs and SYN-cookie ticks read the kernel clock: the fuzzer's time.
 * The keys stay zero, so a reproducer replays the same ISNs. */
uint64_t clock_now_ns(void) { return (uint64_t)host_now_ms * 1000000u; }
