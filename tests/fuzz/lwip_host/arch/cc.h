/* lwIP port for the host fuzz build: same types and byte order as net/port/arch/cc.h,
 * but an assert prints a line the fuzz scripts match ("LWIP_ASSERT: msg at f:l")
 * and aborts, so libFuzzer records the input as a crash. */
#ifndef FUZZ_ARCH_CC_H
#define FUZZ_ARCH_CC_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif

#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

#define PACK_STRUCT_FIELD(x) x
#define PACK_STRUCT_STRUCT __attribute__((packed))
#define PACK_STRUCT_BEGIN
#define PACK_STRUCT_END

void fuzz_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
#define LWIP_PLATFORM_ASSERT(x) fuzz_lwip_assert((x), __FILE__, __LINE__)

void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define LWIP_PLATFORM_DIAG(x) do { lwip_port_diag x; } while (0)

/* Deterministic per fuzz input (reseeded by the harness). */
uint32_t lwip_port_rand(void);
#define LWIP_RAND() ((u32_t)lwip_port_rand())

#endif
