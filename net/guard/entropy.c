/* Entropy for boot-time keys. RDSEED and RDRAND can fail transiently (carry
 * clear when the hardware buffer is empty; Intel's guidance is to retry, and
 * for RDSEED to pause in between): retries are bounded, and a source that
 * keeps failing counts as absent so boot never hangs on it.
 *
 * Fallback, for CPUs (or hypervisors) with neither instruction: the low bits
 * of TSC deltas across CPUID (a VM exit under KVM, a helper call under TCG)
 * and cache-missing loads, many samples folded through SipHash. That is the
 * jitter-entropy idea without its health tests: weak against an observer who
 * can model the machine, but it differs boot to boot, which is what keyed
 * ISNs need to stop cross-boot and cross-peer prediction. Logged as such. */
#include "net/guard/entropy.h"

#include <stdint.h>
#include <string.h>

#include "net/guard/siphash.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                         : "a"(leaf), "c"(sub));
}

static bool cpu_has(enum entropy_source src)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    if (src == ENTROPY_RDRAND) {
        cpuid(1, 0, r);
        return (r[2] >> 30) & 1;           /* CPUID.01H:ECX.RDRAND[bit 30] */
    }
    if (src == ENTROPY_RDSEED && max_leaf >= 7) {
        cpuid(7, 0, r);
        return (r[1] >> 18) & 1;           /* CPUID.(EAX=07H,ECX=0):EBX.RDSEED[bit 18] */
    }
    return false;
}

static bool rdseed64(uint64_t *v)
{
    for (int tries = 0; tries < 128; tries++) {
        unsigned char ok;
        __asm__ __volatile__("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
        if (ok)
            return true;
        __asm__ __volatile__("pause");
    }
    return false;
}

static bool rdrand64(uint64_t *v)
{
    for (int tries = 0; tries < 16; tries++) {
        unsigned char ok;
        __asm__ __volatile__("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
        if (ok)
            return true;
    }
    return false;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* 4 KiB-strided stores over 64 KiB: beyond L1, so each may miss. */
static volatile uint8_t jitter_pool[64 * 1024];

static uint64_t jitter64(uint64_t counter)
{
    enum { SAMPLES = 512 };
    struct {
        uint16_t delta[SAMPLES];
        uint64_t tsc, counter;
    } acc;
    uint32_t r[4];
    size_t idx = (size_t)counter * 977;
    for (int i = 0; i < SAMPLES; i++) {
        uint64_t t0 = rdtsc();
        if (i & 1)
            cpuid(0, 0, r);
        idx = (idx + 4096 + (t0 & 0xfc0)) % sizeof jitter_pool;
        jitter_pool[idx] = (uint8_t)(jitter_pool[idx] + (uint8_t)t0);
        uint64_t d = rdtsc() - t0;
        /* 16 low bits of each delta: the part that varies. */
        acc.delta[i] = (uint16_t)d;
    }
    acc.tsc = rdtsc();
    acc.counter = counter;
    const struct siphash_key k = { 0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull };
    return siphash24(&k, &acc, sizeof acc);
}

bool entropy_get_from(enum entropy_source src, void *buf, size_t len)
{
    if (src != ENTROPY_TSC_JITTER && !cpu_has(src))
        return false;
    uint8_t *out = buf;
    for (size_t off = 0, n = 0; off < len; off += 8, n++) {
        uint64_t v;
        bool ok = src == ENTROPY_RDSEED   ? rdseed64(&v)
                  : src == ENTROPY_RDRAND ? rdrand64(&v)
                                          : (v = jitter64(n), true);
        if (!ok)
            return false;
        size_t take = len - off < 8 ? len - off : 8;
        memcpy(out + off, &v, take);
    }
    return true;
}

enum entropy_source entropy_get(void *buf, size_t len)
{
    if (entropy_get_from(ENTROPY_RDSEED, buf, len))
        return ENTROPY_RDSEED;
    if (entropy_get_from(ENTROPY_RDRAND, buf, len))
        return ENTROPY_RDRAND;
    entropy_get_from(ENTROPY_TSC_JITTER, buf, len);
    return ENTROPY_TSC_JITTER;
}

const char *entropy_source_name(enum entropy_source src)
{
    switch (src) {
    case ENTROPY_RDSEED:
        return "RDSEED";
    case ENTROPY_RDRAND:
        return "RDRAND";
    case ENTROPY_TSC_JITTER:
        return "TSC jitter (no RDSEED/RDRAND: weak)";
    }
    return "?";
}
