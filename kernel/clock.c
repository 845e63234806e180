/* Monotonic time from the TSC. QEMU's TSC starts at zero at reset, so
 * clock_now_ns() is also "time since reset" (what the banner prints).
 * Calibrated once against PIT channel 2 (1.193182 MHz, gate via port 0x61),
 * which needs no interrupt. */
#include "kernel/clock.h"

#include "kernel/io.h"

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61
#define PIT_GATE_CH2 0x01
#define PIT_SPEAKER 0x02
#define PIT_OUT2 0x20
#define CALIBRATE_MS 10

static uint64_t tsc_hz = 1000000000ull;
/* ns = tsc * mult >> 32, precomputed so the hot path avoids a division */
static uint64_t ns_mult;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

void clock_init(void)
{
    uint32_t count = PIT_HZ * CALIBRATE_MS / 1000;
    uint8_t gate = inb(PIT_GATE);
    outb(PIT_GATE, (gate & ~PIT_SPEAKER) | PIT_GATE_CH2);
    outb(PIT_CMD, 0xb0);     /* channel 2, lobyte/hibyte, mode 0 (terminal count) */
    outb(PIT_CH2, count & 0xff);
    outb(PIT_CH2, count >> 8);
    /* Restart the count by toggling the gate, as Linux's pit_calibrate_tsc. */
    gate = inb(PIT_GATE);
    outb(PIT_GATE, gate & ~PIT_GATE_CH2);
    outb(PIT_GATE, gate | PIT_GATE_CH2);
    uint64_t t0 = rdtsc();
    uint64_t spins = 0;
    while (!(inb(PIT_GATE) & PIT_OUT2) && ++spins < 100000000ull)
        ;
    uint64_t t1 = rdtsc();
    outb(PIT_GATE, gate & ~PIT_GATE_CH2);
    if (t1 > t0 && spins < 100000000ull)
        tsc_hz = (t1 - t0) * 1000ull / CALIBRATE_MS;
    ns_mult = (1000000000ull << 32) / tsc_hz;
}

uint64_t clock_tsc_hz(void) { return tsc_hz; }

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
