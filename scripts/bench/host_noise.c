/* The bench's control: two fixed jobs with no guest, timed before each guest's round
 * (host_noise.py). Their spread over the rounds is the host's own, the floor under every
 * figure of the same run. mem: a dependent walk of one random cycle through 64 MiB, bound by
 * the latency of the host's caches and memory, shared with whatever else runs on the
 * machine; TCG's code cache and softmmu TLB walks are bound the same way. cpu: a
 * register-only xorshift loop, bound by the core's clock and the hypervisor's scheduling.
 * Prints "cpu_s mem_s". */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WALK_WORDS ((64u << 20) / sizeof(uint32_t))
#define WALK_STEPS 10000000L
#define CPU_STEPS 300000000L

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void)
{
    uint32_t *next = malloc(WALK_WORDS * sizeof *next);
    uint32_t *order = malloc(WALK_WORDS * sizeof *order);
    if (!next || !order) {
        fprintf(stderr, "host_noise: out of memory\n");
        return 1;
    }
    /* Sattolo's shuffle of a fixed seed: one cycle through every word, the same each run,
     * so the walk never settles in a short loop the caches could hold */
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (uint32_t i = 0; i < WALK_WORDS; i++)
        order[i] = i;
    for (uint32_t i = WALK_WORDS - 1; i > 0; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t j = (uint32_t)(s % i), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    for (uint32_t i = 0; i < WALK_WORDS; i++)
        next[order[i]] = order[(i + 1) % WALK_WORDS];
    free(order);

    double t0 = now();
    uint64_t h = 1;
    for (long i = 0; i < CPU_STEPS; i++)
        h ^= h << 13, h ^= h >> 7, h ^= h << 17;
    double t1 = now();
    uint32_t p = 0;
    for (long i = 0; i < WALK_STEPS; i++)
        p = next[p];
    double t2 = now();
    /* the results printed, so neither loop can be dropped */
    printf("%.4f %.4f %llu\n", t1 - t0, t2 - t1, (unsigned long long)(h ^ p));
    free(next);
    return 0;
}
