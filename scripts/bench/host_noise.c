/* The bench's control: three fixed jobs with no guest, timed before each guest's round
 * (host_noise.py). Their spread over the rounds is the host's own, the floor under every
 * figure of the same run. mem: a dependent walk of one random cycle through 64 MiB, bound by
 * the latency of the host's caches and memory, shared with whatever else runs on the
 * machine; TCG's code cache and softmmu TLB walks are bound the same way. cpu: a
 * register-only xorshift loop, bound by the core's clock and the hypervisor's scheduling.
 * rtt: one byte back and forth over loopback TCP between two processes, the wake-ups a
 * wrk request also crosses; its 99th percentile is the control for the p99 rows.
 * Prints "cpu_s mem_s rtt_p99_us rtt_max_us check". */
#define _POSIX_C_SOURCE 199309L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WALK_WORDS ((64u << 20) / sizeof(uint32_t))
#define WALK_STEPS 10000000L
#define CPU_STEPS 300000000L
#define RTT_TRIPS 20000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* RTT_TRIPS round trips of one byte; the 99th percentile and the largest, in us. */
static int loopback_rtt(double *p99_us, double *max_us)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen))
        return -1;
    pid_t echo = fork();
    if (echo < 0)
        return -1;
    if (echo == 0) {
        int c = accept(lfd, NULL, NULL);
        char b;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while (read(c, &b, 1) == 1 && write(c, &b, 1) == 1)
            ;
        _exit(0);
    }
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    double *rtt = malloc(RTT_TRIPS * sizeof *rtt);
    int ok = fd >= 0 && rtt && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (ok)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; ok && i < RTT_TRIPS; i++) {
        char b = 'x';
        double t = now();
        ok = write(fd, &b, 1) == 1 && read(fd, &b, 1) == 1;
        rtt[i] = (now() - t) * 1e6;
    }
    if (fd >= 0)
        close(fd);
    waitpid(echo, NULL, 0);
    if (ok) {
        qsort(rtt, RTT_TRIPS, sizeof *rtt, cmp_double);
        *p99_us = rtt[RTT_TRIPS * 99 / 100];
        *max_us = rtt[RTT_TRIPS - 1];
    }
    free(rtt);
    return ok ? 0 : -1;
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
    free(next);
    double p99_us, max_us;
    if (loopback_rtt(&p99_us, &max_us) != 0) {
        perror("host_noise: loopback round trips");
        return 1;
    }
    /* the loops' results printed, so neither can be dropped */
    printf("%.4f %.4f %.1f %.1f %llu\n", t1 - t0, t2 - t1, p99_us, max_us,
           (unsigned long long)(h ^ p));
    return 0;
}
