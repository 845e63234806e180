/* Boot-time entropy for keys (TCP ISN and SYN-cookie keys, net/guard/tcp_keys.c):
 * RDSEED, else RDRAND, else TSC jitter. Main loop or boot only. */
#ifndef NET_ENTROPY_H
#define NET_ENTROPY_H

#include <stdbool.h>
#include <stddef.h>

enum entropy_source {
    ENTROPY_RDSEED,       /* the CPU's conditioned entropy source (NIST SP 800-90B/C) */
    ENTROPY_RDRAND,       /* the CPU's DRBG, reseeded from the same source */
    ENTROPY_TSC_JITTER,   /* fallback: timing jitter of CPUID/memory, see entropy.c */
};

/* Fills buf from the best source the CPU has; returns the source used. */
enum entropy_source entropy_get(void *buf, size_t len);

/* Fills buf from one given source; false if the CPU lacks it or it kept failing. */
bool entropy_get_from(enum entropy_source src, void *buf, size_t len);

const char *entropy_source_name(enum entropy_source src);

#endif
