/* Pieces both lwIP fuzz targets (fuzz_tcp.c, fuzz_eth.c) use: reading the
 * input, moving lwIP's clock, the pool double-free check. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/memp.h"

struct input {
    const uint8_t *p;
    size_t n;
};

/* Once per process: tracing from FUZZ_TRACE, the seeded LWIP_RAND, lwip_init, fixed
 * ISN and SYN-cookie keys. */
void fuzz_lwip_init(void);

/* Next input byte(s); 0 once the input is used up (an input never ends early). */
uint8_t u8(struct input *in);
uint16_t u16(struct input *in);

/* Moves host_now_ms forward by ms, running every lwIP timeout that falls due on
 * the way and after_step (the target's device work) after each step. */
void fuzz_advance(uint32_t ms, void (*after_step)(void));

/* memp_std.h's pool names, by memp_t. */
extern const char *const fuzz_pool_names[MEMP_MAX];

/* A pool's count above its size is a double free: stop at once, before the
 * corrupted free list hands one element out twice. */
void fuzz_check_pools(void);

#endif
