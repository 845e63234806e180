/* Local APIC (xAPIC, MMIO) and the legacy 8259 PICs, Intel SDM vol. 3 ch. 10. */
#include "kernel/lapic.h"

#include "kernel/clock.h"
#include "kernel/io.h"
#include "kernel/log.h"
#include "kernel/trap.h"

#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)

#define LAPIC_ID        0x020
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_ICR_LOW   0x300
#define LAPIC_ICR_HIGH  0x310
#define LAPIC_ICR_DELIVERY_PENDING (1u << 12)
#define LAPIC_ICR_DEST_SELF (1u << 18)   /* destination shorthand 01 */
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE  0x3e0
#define LAPIC_TIMER_DIV_1   0xb

#define MSI_ADDRESS_BASE 0xfee00000u
#define LAPIC_CAL_MIN_NS 500000ull

static volatile uint8_t *lapic;
static uint64_t lapic_timer_hz;    /* 0 until lapic_timer_calibrate */
static uint64_t cal_start_ns;

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ __volatile__("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint32_t lapic_read(uint32_t reg) { return mmio_read32(lapic + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(lapic + reg, v); }

void pic_disable(void)
{
    /* Remap both PICs to VECTOR_PIC_BASE (so a spurious IRQ cannot look like
     * an exception), then mask every line: the IOAPIC takes over. */
    outb(0x20, 0x11); outb(0xa0, 0x11);
    outb(0x21, VECTOR_PIC_BASE); outb(0xa1, VECTOR_PIC_BASE + 8);
    outb(0x21, 4); outb(0xa1, 2);
    outb(0x21, 1); outb(0xa1, 1);
    outb(0x21, 0xff); outb(0xa1, 0xff);
}

static void lapic_timer_irq(void *ctx)
{
    (void)ctx;   /* the wake-up from hlt is the whole point */
}

void lapic_init(void)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
    lapic = (volatile uint8_t *)(uintptr_t)(base & 0xfffff000u);  /* in the identity-mapped hole */

    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VECTOR_LAPIC_SPURIOUS);
    lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED);
    irq_set_fixed(VECTOR_LAPIC_TIMER, lapic_timer_irq, 0);

    /* The timer is calibrated against the TSC over the boot work that
     * follows, not a wait: it counts down from here, masked, and the first
     * lapic_timer_oneshot_ns reads it (lapic_timer_calibrate). */
    lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_TIMER_DIV_1);
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VECTOR_LAPIC_TIMER);
    lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
    cal_start_ns = clock_now_ns();
    log_info("lapic: id %u", lapic_id());
}

/* Finishes the calibration lapic_init started: at least LAPIC_CAL_MIN_NS
 * of TSC time (one MMIO read and two TSC reads of error in that: < 0.01%
 * under TCG). A count that ran out (the first use came over 4 s later at
 * 1 GHz) is measured again with a wait. */
static void lapic_timer_calibrate(void)
{
    uint64_t dt = clock_now_ns() - cal_start_ns;
    if (dt < LAPIC_CAL_MIN_NS)
        clock_delay_us((LAPIC_CAL_MIN_NS - dt + 999) / 1000);
    uint32_t cur = lapic_read(LAPIC_TIMER_CURRENT);
    dt = clock_now_ns() - cal_start_ns;
    if (cur == 0) {
        lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
        cal_start_ns = clock_now_ns();
        clock_delay_us(LAPIC_CAL_MIN_NS / 1000);
        cur = lapic_read(LAPIC_TIMER_CURRENT);
        dt = clock_now_ns() - cal_start_ns;
    }
    uint32_t elapsed = 0xffffffffu - cur;
    lapic_write(LAPIC_TIMER_INITIAL, 0);
    lapic_timer_hz = dt ? (uint64_t)elapsed * 1000000000ull / dt : 1000000000ull;
    if (!lapic_timer_hz)
        lapic_timer_hz = 1000000000ull;
    lapic_write(LAPIC_LVT_TIMER, VECTOR_LAPIC_TIMER);   /* one-shot, unmasked */
    log_info("lapic: timer %llu kHz (against the TSC over %llu us)",
             (unsigned long long)(lapic_timer_hz / 1000), (unsigned long long)(dt / 1000));
}

void lapic_timer_oneshot_ns(uint64_t ns)
{
    if (!lapic_timer_hz)
        lapic_timer_calibrate();
    if (!ns) {
        lapic_write(LAPIC_TIMER_INITIAL, 0);
        return;
    }
    if (ns > 1000000000000ull)
        ns = 1000000000000ull;  /* keeps the product below 2^64 */
    uint64_t ticks = ns * (lapic_timer_hz / 1000) / 1000000ull;
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffffu)
        ticks = 0xffffffffu;     /* fires early; the idle loop re-arms */
    lapic_write(LAPIC_TIMER_INITIAL, (uint32_t)ticks);
}

uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

void lapic_self_ipi(int vector)
{
    /* Fixed delivery, edge, to self (SDM 10.6.1). Writing the low half
     * sends; wait for the previous one to leave first. */
    for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_DELIVERY_PENDING); i++)
        ;
    lapic_write(LAPIC_ICR_LOW, LAPIC_ICR_DEST_SELF | (uint32_t)(vector & 0xff));
}
void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

uint64_t msi_address(void)
{
    /* Fixed destination, physical mode, no redirection hint. */
    return MSI_ADDRESS_BASE | ((uint64_t)lapic_id() << 12);
}

uint32_t msi_data(int vector)
{
    return (uint32_t)vector;    /* edge, fixed delivery */
}
