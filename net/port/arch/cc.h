/* lwIP port: compiler and platform glue (x86_64, GCC, newlib, freestanding). */
#ifndef NET_ARCH_CC_H
#define NET_ARCH_CC_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/* newlib has ssize_t (long) but no SSIZE_MAX in C11 mode; without it lwIP's
 * arch.h would typedef ssize_t as int and clash. */
#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif
#define LWIP_NO_UNISTD_H 1

#ifndef BYTE_ORDER   /* newlib/glibc may define it (BSD visibility) */
#define BYTE_ORDER LITTLE_ENDIAN
#endif

/* One instruction instead of lwIP's shift-and-or fallback in def.c. */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

#define PACK_STRUCT_FIELD(x) x
#define PACK_STRUCT_STRUCT __attribute__((packed))
#define PACK_STRUCT_BEGIN
#define PACK_STRUCT_END

/* kernel/panic.h; repeated here so lwIP headers need no kernel include path. */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Prints "PANIC: ASSERT: ..." on the console, then the kernel's panic path. */
#define LWIP_PLATFORM_ASSERT(x) \
    panic("ASSERT: %s at %s:%d", (x), __FILE__, __LINE__)

/* x is a parenthesised printf argument list; only used with LWIP_DEBUG. */
void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define LWIP_PLATFORM_DIAG(x) do { lwip_port_diag x; } while (0)

/* DHCP xid, initial local ports: RDRAND when the CPU has it, else a
 * TSC-seeded xorshift (net/port/sys_arch.c). */
uint32_t lwip_port_rand(void);
#define LWIP_RAND() ((u32_t)lwip_port_rand())

#endif
