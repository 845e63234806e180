/* See fuzz_common.h. */
#include "tests/fuzz/lwip_host/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>

#include "lwip/init.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "tests/fuzz/lwip_host/host_port.h"
#include "tests/unit/fixed_keys.h"

uint8_t u8(struct input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t u16(struct input *in) { return (uint16_t)(u8(in) << 8 | u8(in)); }

void fuzz_advance(uint32_t ms, void (*after_step)(void))
{
    uint32_t target = host_now_ms + ms;
    int idle_rounds = 0;

    while ((int32_t)(target - host_now_ms) > 0 && idle_rounds < 1000) {
        uint32_t step = target - host_now_ms, sleep = sys_timeouts_sleeptime();
        if (sleep != SYS_TIMEOUTS_SLEEPTIME_INFINITE && sleep < step)
            step = sleep;
        idle_rounds = step ? 0 : idle_rounds + 1;
        host_now_ms += step;
        sys_check_timeouts();
        after_step();
    }
}

const char *const fuzz_pool_names[MEMP_MAX] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

void fuzz_check_pools(void)
{
    for (int i = 0; i < MEMP_MAX; i++)
        if (lwip_stats.memp[i]->used > lwip_stats.memp[i]->avail) {
            fprintf(stderr, "DOUBLE FREE: memp %s: count %d\n", fuzz_pool_names[i],
                    (int)lwip_stats.memp[i]->used);
            abort();
        }
}

void fuzz_lwip_init(void)
{
    host_trace = getenv("FUZZ_TRACE") != NULL;
    host_rand_seed(1);
    lwip_init();
    set_fixed_keys();
}
