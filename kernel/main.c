/* kernel_main: brings the machine up in dependency order, then hands the
 * main loop to the application. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/acpi.h"
#include "kernel/app.h"
#include "kernel/boot_info.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/irqflags.h"
#include "kernel/lapic.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

#define KERNEL_VERSION "0.1.0"

static struct boot_info boot_info;
static struct kconfig kconfig;

static void cmdline_warn(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("cmdline: %s", msg);
}

/* Deliberate faults for the boot tests (test.fault=). */
static void trigger_test_fault(enum test_fault f)
{
    volatile uint64_t zero = 0;
    switch (f) {
    case TEST_FAULT_PF:
        (void)*(volatile uint64_t *)(uintptr_t)0x100000000000ull;   /* canonical, not mapped */
        break;
    case TEST_FAULT_UD:
        __asm__ __volatile__("ud2");
        break;
    case TEST_FAULT_DE: {
        volatile uint64_t one = 1, quotient;
        quotient = one / zero;
        (void)quotient;
        break;
    }
    case TEST_FAULT_ABORT:
        abort();
    case TEST_FAULT_ASSERT:
        assert(zero == 1);
        break;
    case TEST_FAULT_GP:
        (void)*(volatile uint64_t *)(uintptr_t)0x8000000000000000ull;  /* non-canonical */
        break;
    default:
        break;
    }
}

/* test.heap=1: malloc until the heap is gone, check the failure is a clean
 * ENOMEM and that everything handed out is intact and reusable. */
static void test_heap_exhaustion(void)
{
    enum { CHUNK = 256 * 1024 };
    void *head = NULL;
    unsigned chunks = 0;
    for (;;) {
        errno = 0;
        void **p = malloc(CHUNK);
        if (!p)
            break;
        memset(p, (int)(chunks & 0xff), CHUNK);
        *p = head;
        head = p;
        chunks++;
    }
    int err = errno;
    unsigned bad = 0, freed = 0;
    while (head) {
        void **p = head;
        head = *p;
        const uint8_t *b = (const uint8_t *)p;
        uint8_t want = (uint8_t)((chunks - 1 - freed) & 0xff);
        for (size_t i = sizeof(void *); i < CHUNK; i += 4096)
            bad += b[i] != want;
        free(p);
        freed++;
    }
    void *again = malloc(CHUNK);
    log_info("test: heap exhausted after %u KiB, errno %s, %u corrupt pages, %s afterwards",
             chunks * (CHUNK / 1024), err == ENOMEM ? "ENOMEM" : "not ENOMEM", bad,
             again ? "malloc works" : "malloc still fails");
    free(again);
}

void kernel_main(uint32_t magic, uint32_t info_phys)
{
    console_init();
    console_puts("\n");      /* the firmware leaves its cursor mid-line */
    const char *reason = "";
    int bad_boot = boot_info_parse(magic, info_phys, &boot_info, &reason);
    clock_init();
    uint64_t boot_ns = clock_now_ns();
    log_info("unikernel-net " KERNEL_VERSION " (x86_64, %s) booted in %llu.%03llu ms since reset",
             boot_info.protocol == BOOT_PVH ? "pvh" : "multiboot2",
             (unsigned long long)(boot_ns / 1000000), (unsigned long long)(boot_ns / 1000 % 1000));
    log_info("clock: TSC %llu kHz, %s", (unsigned long long)(clock_tsc_hz() / 1000),
             clock_source());
    cpu_init();
    if (bad_boot)
        panic("boot: %s (magic 0x%x)", reason, magic);

    mm_init(&boot_info);
    log_info("mem: %llu MiB usable RAM, heap %llu MiB",
             (unsigned long long)(mm_ram_total() >> 20), (unsigned long long)(heap_size() >> 20));
    if (heap_size() == 0)
        panic("mem: no usable RAM region for the heap");

    kconfig_defaults(&kconfig);
    log_info("cmdline: \"%s\"", boot_info.cmdline);
    cmdline_parse(boot_info.cmdline, &kconfig, cmdline_warn, NULL);
    log_threshold = (enum log_level)kconfig.log_level;

    if (boot_info.efi)
        log_info("boot: UEFI firmware (multiboot2 EFI tags): RSDP and memory map from the loader only");
    acpi_init(boot_info.rsdp_phys, !boot_info.efi);
    pic_disable();
    lapic_init();
    ioapic_init();
    irq_enable();

    if (kconfig.test_heap)
        test_heap_exhaustion();
    trigger_test_fault(kconfig.test_fault);
    if (kconfig.test_exit == TEST_EXIT_BOOT) {
        log_info("test: clean exit after boot");
        kernel_exit(0);
    }
    app_main(&kconfig);
}
