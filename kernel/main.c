/* kernel_main: brings the machine up in dependency order, then hands the
 * main loop to the application. */
#include <stdint.h>
#include <stdio.h>

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
#include "kernel/test_hooks.h"
#include "kernel/trap.h"

#define KERNEL_VERSION "0.1.0"

static struct boot_info boot_info;

static void cmdline_warn(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("cmdline: %s", msg);
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

    log_info("cmdline: \"%s\"", boot_info.cmdline);
    cmdline_parse(boot_info.cmdline, cmdline_warn, NULL);
    log_cmdline_apply();

    if (boot_info.efi)
        log_info("boot: UEFI firmware (multiboot2 EFI tags): RSDP and memory map from the loader only");
    acpi_init(boot_info.rsdp_phys, !boot_info.efi);
    pic_disable();
    lapic_init();
    ioapic_init();
    irq_enable();

    test_hooks_boot();
    app_main();
}
