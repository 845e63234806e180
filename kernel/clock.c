/* Monotonic time from the TSC. QEMU's TSC starts at zero at reset, so
 * clock_now_ns() is also "time since reset" (what the banner prints).
 *
 * The TSC frequency comes from the first source the machine really has:
 *   1. CPUID leaf 0x15 (crystal clock x TSC/crystal ratio), or 0x16 (base MHz);
 *   2. the hypervisor timing leaf 0x40000010 (EAX = TSC kHz; KVM with a known
 *      TSC frequency);
 *   3. calibration against PIT channel 0 (1.193182 MHz) read with latch
 *      commands: a least-squares fit over 0.5 ms (tsc_from_pit). Channel 0's gate is always high; channel 2's depends on port
 *      0x61, which microvm does not have (it reads 0xff, and calibrating
 *      through it gave a TSC ten thousand times too slow);
 *   4. calibration against the RTC's seconds (microvm with pit=off): slow.
 * Without any of them the rate is a guess, and the console says so. */
#include "kernel/clock.h"

#include <stdbool.h>

#include "kernel/io.h"

#define PIT_HZ 1193182u
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_CMD_CH0_RATE 0x34    /* channel 0, lobyte/hibyte, mode 2, binary */
#define PIT_CMD_CH0_LATCH 0x00
#define CALIBRATE_US 500
#define PIT_WARMUP_READS 16
#define PIT_BRACKET_SLACK 3      /* a reading is kept if its bracket is < 3x the narrowest */
#define PIT_BRACKET_MIN_CYCLES 64
#define PIT_MIN_POINTS 64        /* fewer kept readings: the host was too busy to trust them */
#define PIT_ATTEMPTS 4
/* Two readings further apart than this may hide a wrap of the count (55 ms)
 * on any TSC of 300 MHz or more: the window is measured again. */
#define PIT_GAP_MAX_CYCLES (1ull << 24)
#define PIT_DEAD_READS 2000      /* a present PIT moves within a few reads */

#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_NMI_OFF 0x80
#define RTC_SECONDS 0x00
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b

#define CPUID_HYPERVISOR_BIT (1u << 31)   /* CPUID.1:ECX */
#define CPUID_HV_BASE 0x40000000u
#define CPUID_HV_TIMING 0x40000010u

static uint64_t tsc_hz = 1000000000ull;
static const char *tsc_source = "assumed 1 GHz (no CPUID leaf, no PIT, no RTC)";
/* ns = tsc * mult >> 32, precomputed so the hot path avoids a division */
static uint64_t ns_mult;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                         : "a"(leaf), "c"(0));
}

static uint64_t tsc_from_cpuid(const char **src)
{
    uint32_t r[4];
    cpuid(0, r);
    uint32_t max = r[0];
    if (max >= 0x15) {
        cpuid(0x15, r);
        if (r[0] && r[1] && r[2]) {
            *src = "CPUID 0x15";
            return (uint64_t)r[2] * r[1] / r[0];
        }
    }
    if (max >= 0x16) {
        cpuid(0x16, r);
        if (r[0] & 0xffff) {
            *src = "CPUID 0x16";
            return (uint64_t)(r[0] & 0xffff) * 1000000ull;
        }
    }
    cpuid(1, r);
    if (r[2] & CPUID_HYPERVISOR_BIT) {
        cpuid(CPUID_HV_BASE, r);
        if (r[0] >= CPUID_HV_TIMING && r[0] < CPUID_HV_BASE + 0x10000) {
            cpuid(CPUID_HV_TIMING, r);
            if (r[0]) {
                *src = "hypervisor CPUID 0x40000010";
                return (uint64_t)r[0] * 1000ull;
            }
        }
    }
    return 0;
}

/* One PIT reading bracketed by the TSC: the count is latched somewhere in
 * [*t_before, *t_after]. */
static uint16_t pit_sample(uint64_t *t_before, uint64_t *t_after)
{
    *t_before = rdtsc();
    outb(PIT_CMD, PIT_CMD_CH0_LATCH);
    *t_after = rdtsc();
    uint8_t lo = inb(PIT_CH0);
    return (uint16_t)(lo | (inb(PIT_CH0) << 8));
}

/* Least-squares slope of TSC against PIT ticks over CALIBRATE_US, from the
 * first reading after each change of the count, each bracketed by two TSC
 * reads; readings whose bracket is wide (the vCPU or the host was away
 * between them) are left out. Two end points alone would carry up to one
 * PIT tick (838 ns) of quantization each, 0.17% of a 1 ms window; the fit
 * over about a thousand points averages it out, so 1 ms is as good as the
 * 5 ms two-point measurement it replaces (measured: docs/BOOT.md).
 * The counter runs down from 65536 and reloads; differences mod 2^16 add up
 * to PIT ticks as long as two reads are less than 55 ms apart. */
/* One fitted window; 0 if the PIT misbehaves (ran backwards) or too few
 * readings were narrow enough to trust (*busy then says so). */
static uint64_t pit_fit(uint16_t prev, uint64_t bar, bool *busy)
{
    const uint32_t want = (uint32_t)((uint64_t)PIT_HZ * CALIBRATE_US / 1000000u);
    uint64_t tb, ta, t0 = rdtsc(), last = t0;
    uint32_t x = 0;
    /* Sums for the fit; at most want (< 2^12) points of x < 2^12 and
     * y < 2^50 cycles: 128 bits cannot overflow. */
    unsigned __int128 n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    while (x < want) {
        uint16_t cur = pit_sample(&tb, &ta);
        if (tb - last > PIT_GAP_MAX_CYCLES) {
            *busy = true;       /* away long enough for the count to wrap unseen */
            return 0;
        }
        last = tb;
        uint16_t d = (uint16_t)(prev - cur);
        if (d > 0x8000)
            return 0;           /* ran backwards: not a PIT */
        if (d == 0)
            continue;
        x += d;
        prev = cur;
        if (ta - tb > bar)
            continue;
        uint64_t y = (tb + (ta - tb) / 2) - t0;
        n++;
        sx += x;
        sy += y;
        sxx += (unsigned __int128)x * x;
        sxy += (unsigned __int128)x * y;
    }
    unsigned __int128 den = n * sxx - sx * sx;
    if (n < PIT_MIN_POINTS || den == 0 || n * sxy <= sx * sy) {
        *busy = true;
        return 0;
    }
    return (uint64_t)((n * sxy - sx * sy) * PIT_HZ / den);
}

static uint64_t tsc_from_pit(void)
{
    outb(PIT_CMD, PIT_CMD_CH0_RATE);
    outb(PIT_CH0, 0);
    outb(PIT_CH0, 0);
    uint64_t tb, ta;
    uint16_t prev = pit_sample(&tb, &ta);
    unsigned same = 0;
    uint16_t cur;
    while ((cur = pit_sample(&tb, &ta)) == prev)
        if (++same > PIT_DEAD_READS)
            return 0;           /* no PIT, or one that does not count */
    /* The narrowest bracket of a few warm-up readings sets the bar. */
    uint64_t narrow = ~0ull;
    for (int i = 0; i < PIT_WARMUP_READS; i++) {
        prev = pit_sample(&tb, &ta);
        if (ta - tb < narrow)
            narrow = ta - tb;
    }
    uint64_t bar = narrow * PIT_BRACKET_SLACK + PIT_BRACKET_MIN_CYCLES;
    for (int attempt = 0; attempt < PIT_ATTEMPTS; attempt++) {
        bool busy = false;
        uint64_t hz = pit_fit(prev, bar, &busy);
        if (!busy)
            return hz;
        prev = pit_sample(&tb, &ta);
        bar *= 2;               /* the host stays busy: accept wider brackets */
    }
    return 0;
}

static uint8_t rtc_read(uint8_t reg)
{
    outb(RTC_INDEX, RTC_NMI_OFF | reg);
    return inb(RTC_DATA);
}

/* Two changes of the RTC's seconds register are one second apart (QEMU
 * computes the register from its clock when it is read). Slow, up to 2 s, so
 * only for machines with no PIT and no CPUID leaf (microvm,pit=off under TCG).
 * Its periodic interrupt flag is no substitute: QEMU raises it from a timer
 * callback that a vCPU spinning on port I/O delays, so its edges come late
 * and irregular (measured: 0.07 to 3.2 periods apart). */
static uint64_t tsc_from_rtc(void)
{
    if (rtc_read(RTC_REG_A) == 0xff && rtc_read(RTC_REG_B) == 0xff)
        return 0;                   /* no RTC */
    uint8_t sec = rtc_read(RTC_SECONDS);
    uint64_t t[2], spins = 0;
    for (int edge = 0; edge < 2; edge++) {
        uint8_t now;
        while ((now = rtc_read(RTC_SECONDS)) == sec)
            if (++spins > 200000000ull)
                return 0;           /* a stopped RTC */
        t[edge] = rdtsc();
        sec = now;
    }
    return t[1] - t[0];
}

void clock_init(void)
{
    const char *src = tsc_source;
    uint64_t hz = tsc_from_cpuid(&src);
    if (!hz) {
        hz = tsc_from_pit();
        if (hz)
            src = "calibrated against PIT channel 0";
    }
    if (!hz) {
        hz = tsc_from_rtc();
        if (hz)
            src = "calibrated against the RTC seconds (no PIT)";
    }
    if (hz) {
        tsc_hz = hz;
        tsc_source = src;
    }
    ns_mult = (1000000000ull << 32) / tsc_hz;
}

uint64_t clock_tsc_hz(void) { return tsc_hz; }
const char *clock_source(void) { return tsc_source; }

uint64_t clock_now_ns(void)
{
    return (uint64_t)(((unsigned __int128)rdtsc() * ns_mult) >> 32);
}

uint64_t clock_now_us(void) { return clock_now_ns() / 1000; }
uint64_t clock_now_ms(void) { return clock_now_ns() / 1000000; }

void clock_delay_us(uint64_t us)
{
    uint64_t end = clock_now_ns() + us * 1000;
    while (clock_now_ns() < end)
        __asm__ __volatile__("pause");
}
