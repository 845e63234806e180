#include "kernel/panic.h"

#include <stdarg.h>
#include <stdio.h>

#include "kernel/console.h"
#include "kernel/io.h"
#include "kernel/trap.h"

/* isa-debug-exit: QEMU exits with status (value << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_PANIC 0x7f         /* -> status 255 */

static const char *const exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
    "invalid opcode", "device not available", "double fault",
    "coprocessor segment overrun", "invalid TSS", "segment not present",
    "stack fault", "general protection fault", "page fault", "reserved",
    "x87 floating point", "alignment check", "machine check",
    "SIMD floating point", "virtualization", "control protection",
    "reserved", "reserved", "reserved", "reserved", "reserved", "reserved",
    "hypervisor injection", "VMM communication", "security", "reserved",
};

static volatile int panicking;

/* snprintf into a stack buffer: newlib's stdio may itself be what broke, but
 * vsnprintf touches no FILE and no heap for these formats. */
static void pr(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void dump_frame(const struct trap_frame *f)
{
    pr("RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n",
       (unsigned long long)f->rax, (unsigned long long)f->rbx,
       (unsigned long long)f->rcx, (unsigned long long)f->rdx);
    pr("RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n",
       (unsigned long long)f->rsi, (unsigned long long)f->rdi,
       (unsigned long long)f->rbp, (unsigned long long)f->rsp);
    pr("R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n",
       (unsigned long long)f->r8, (unsigned long long)f->r9,
       (unsigned long long)f->r10, (unsigned long long)f->r11);
    pr("R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
       (unsigned long long)f->r12, (unsigned long long)f->r13,
       (unsigned long long)f->r14, (unsigned long long)f->r15);
    pr("RIP=%016llx CS=%04llx RFLAGS=%016llx SS=%04llx ERR=%llx\n",
       (unsigned long long)f->rip, (unsigned long long)f->cs,
       (unsigned long long)f->rflags, (unsigned long long)f->ss,
       (unsigned long long)f->error_code);
}

static __attribute__((noreturn)) void halt_for_ever(void)
{
    outl(DEBUG_EXIT_PORT, DEBUG_EXIT_PANIC);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

static void enter_panic(void)
{
    __asm__ __volatile__("cli");
    if (panicking++) {
        console_puts("PANIC: recursive panic\n");
        halt_for_ever();
    }
}

void panic(const char *fmt, ...)
{
    enter_panic();
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    pr("PANIC: %s\n", reason);

    struct trap_frame f = { 0 };
    __asm__ __volatile__(
        "movq %%rbx, %0\n\tmovq %%rbp, %1\n\tmovq %%rsp, %2\n\t"
        "movq %%r12, %3\n\tmovq %%r13, %4\n\tmovq %%r14, %5\n\tmovq %%r15, %6"
        : "=m"(f.rbx), "=m"(f.rbp), "=m"(f.rsp), "=m"(f.r12), "=m"(f.r13),
          "=m"(f.r14), "=m"(f.r15));
    f.rip = (uint64_t)__builtin_return_address(0);
    dump_frame(&f);
    halt_for_ever();
}

void panic_exception(const struct trap_frame *f)
{
    enter_panic();
    uint64_t cr2;
    __asm__ __volatile__("movq %%cr2, %0" : "=r"(cr2));
    pr("PANIC: %s (vector %llu) at RIP 0x%llx CR2 0x%llx\n",
       exception_names[f->vector & 31], (unsigned long long)f->vector,
       (unsigned long long)f->rip, (unsigned long long)cr2);
    dump_frame(f);
    halt_for_ever();
}

void kernel_exit(int status)
{
    __asm__ __volatile__("cli");
    /* A clean exit writes 0 (QEMU status 1); anything else is a failure
     * the caller wants visible: status | 0x40 keeps it distinct from 255. */
    outl(DEBUG_EXIT_PORT, status == 0 ? 0 : (0x40 | (status & 0x3f)));
    for (;;)
        __asm__ __volatile__("hlt");
}
