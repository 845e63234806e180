#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

/* Prints "PANIC: <reason>" and a register dump, then exits QEMU with status
 * 255 through isa-debug-exit when present, else halts the CPU for ever. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif

#ifndef KERNEL_PANIC_EXTRA_H
#define KERNEL_PANIC_EXTRA_H
struct trap_frame;
void panic_exception(const struct trap_frame *f) __attribute__((noreturn));
/* Leave QEMU through isa-debug-exit (status 1 for 0), else halt. */
void kernel_exit(int status) __attribute__((noreturn));
#endif
