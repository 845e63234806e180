/* lwIP port: time, randomness and diagnostics for NO_SYS mode.
 * Main loop only (lwIP is never entered from interrupt handlers). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lwip/arch.h"
#include "lwip/sys.h"

#include "kernel/clock.h"
#include "kernel/log.h"

u32_t sys_now(void)
{
    /* Wraps after 49 days; lwIP compares timeouts with unsigned differences. */
    return (u32_t)clock_now_ms();
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static bool cpu_has_rdrand(void)
{
    uint32_t a = 1, b, c = 0, d;
    __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (c >> 30) & 1;
}

static bool rdrand32(uint32_t *v)
{
    for (int tries = 0; tries < 10; tries++) { /* Intel: retry on transient underflow */
        unsigned char ok;
        __asm__ __volatile__("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
        if (ok)
            return true;
    }
    return false;
}

uint32_t lwip_port_rand(void)
{
    static int have_rdrand = -1;
    static uint64_t state;
    uint32_t v;

    if (have_rdrand < 0)
        have_rdrand = cpu_has_rdrand();
    if (have_rdrand && rdrand32(&v))
        return v;
    /* xorshift64*, re-stirred with the TSC so that values also depend on
     * when (after how many interrupts and packets) they are drawn. */
    state ^= rdtsc() * 0x9e3779b97f4a7c15ull;
    if (state == 0)
        state = 0x2545f4914f6cdd1dull;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (uint32_t)((state * 0x2545f4914f6cdd1dull) >> 32);
}

void lwip_port_diag(const char *fmt, ...)
{
    char buf[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n') /* klog adds its own */
        buf[n - 1] = '\0';
    klog(LOG_DEBUG, "lwip: %s", buf);
}
