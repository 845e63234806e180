/* Host concurrency test of the real drivers/virtio/virtqueue.c: the driver
 * on one core, a device thread on the other, an RX and a TX queue, real
 * store-load reordering between them.
 *
 * Both sides only ever wait for the other's notification (interrupt word,
 * doorbell word), so a notification lost to a missing fence is a buffer
 * stranded. Losses are detected exactly, not by timing: each side publishes,
 * after each notification decision, how far that decision covered
 * (dev_decided[q] = used entries decided on, drv_decided = avail entries
 * kicked for). A waiter that timed out and finds the other side decided on
 * the entry it armed for, with no notification pending, has caught a lost
 * one: with every fence in place the protocol makes that impossible
 * (store->fence->load on both sides: one of the loads sees the other's
 * store). It counts it, recovers by polling and goes on, so one run measures
 * how often each fence mattered. Exit 1 on any loss, stranded or corrupt
 * buffer.
 *
 * Usage: stress_ring [-e 0|1] [-n buffers] [-s seconds] [-r napi|irq] [-q] [-x]
 * -e event index, -n buffers per direction, -s time limit (the run stops
 * early there, which is not a failure), -r RX style: napi (enable_cb_prepare
 * + vq_poll, disable on interrupt) or irq (callbacks left on, vq_get_buf's
 * used_event update is the arm), -q quiet unless failing, -x stop at the
 * first loss. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/virtio/virtio_ring_reg.h"
#include "drivers/virtio/virtqueue.h"
#include "kernel/barrier.h"
#include "kernel/dma.h"

/* ---- kernel/dma.h on the host ---- */
void *dma_alloc(size_t size, size_t align)
{
    void *p = NULL;
    if (posix_memalign(&p, align < 16 ? 16 : align, size ? size : 1))
        return NULL;
    memset(p, 0, size);
    return p;
}
void dma_free(void *p) { free(p); }
uint64_t dma_addr(const void *p) { return (uint64_t)(uintptr_t)p; }

enum { RXQ, TXQ, NQ };
#define QSIZE 64
#define BUF_LEN 64
#define WAIT_TIMEOUT_NS 200000ull /* then look for a lost notification */
#define HANG_NS 10000000000ull    /* no progress for this long: stuck for real */

static bool opt_event_idx = true, opt_irq_style, opt_quiet, opt_first;
static uint64_t opt_buffers = 2000000;
static double opt_seconds = 10;

static struct virtqueue *vq[NQ];
static uint8_t *bufs[NQ];               /* QSIZE buffers per queue */

/* The "interrupt line" and the doorbell: one bit per queue. */
static _Atomic unsigned irq_word, doorbell;
/* Absolute (64-bit) counts the other side reads to judge a timeout. */
static _Atomic uint64_t dev_decided[NQ]; /* used entries the device decided on */
static _Atomic uint64_t drv_decided[NQ]; /* avail entries the driver decided a kick for */
static _Atomic bool stop;
static _Atomic uint64_t progress;       /* bumped by both sides, for the hang check */

static uint64_t lost_irq[NQ], lost_kick[NQ], errors;
static uint64_t irqs[NQ], kicks[NQ], dev_waits, drv_waits;
static char first_error[160];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void error(const char *what, uint64_t a, uint64_t b)
{
    if (!errors++)
        snprintf(first_error, sizeof(first_error), "%s (%llu, %llu)", what,
                 (unsigned long long)a, (unsigned long long)b);
    atomic_store(&stop, true);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* best effort */
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* ==== the device ==== */

struct dq {
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail, used_idx;
    uint64_t abs_avail, abs_used;   /* consumed / published, absolute */
    uint64_t seq;                   /* RX: next sequence to write; TX: to expect */
};
static struct dq dq[NQ];

/* Notifications from the driver on (we are about to sleep) or off (busy). */
static void dev_set_notify(struct dq *d, bool on)
{
    if (opt_event_idx)
        WRITE_ONCE(*virtq_avail_event(d->used, QSIZE), (uint16_t)(on ? d->last_avail : d->last_avail - 1));
    else
        WRITE_ONCE(d->used->flags, (uint16_t)(on ? 0 : VIRTQ_USED_F_NO_NOTIFY));
}

/* Consume up to max available buffers, return them used in one batch and
 * decide on the interrupt exactly as §2.7.7 says (QEMU virtio_notify). */
static unsigned dev_process(int q, unsigned max)
{
    struct dq *d = &dq[q];
    uint16_t ai = READ_ONCE(d->avail->idx);
    rmb();
    unsigned n = (uint16_t)(ai - d->last_avail);
    if (n > QSIZE) {
        error("device: avail idx ran ahead", ai, d->last_avail);
        return 0;
    }
    if (n > max)
        n = max;
    if (!n)
        return 0;
    uint16_t old = d->used_idx;
    for (unsigned k = 0; k < n; k++) {
        uint16_t head = READ_ONCE(d->avail->ring[d->last_avail & (QSIZE - 1)]);
        if (head >= QSIZE) {
            error("device: bad head", head, q);
            return 0;
        }
        struct virtq_desc desc = d->desc[head];
        uint64_t *p = (uint64_t *)(uintptr_t)desc.addr;
        uint32_t len = 0;
        if (q == RXQ) {
            if (!(desc.flags & VIRTQ_DESC_F_WRITE) || desc.len < 8) {
                error("device: RX descriptor not writable", desc.flags, desc.len);
                return 0;
            }
            *p = d->seq++;
            len = 8;
        } else {
            if (*p != d->seq) {
                error("device: TX buffer out of order or stale", *p, d->seq);
                return 0;
            }
            d->seq++;
        }
        d->used->ring[d->used_idx & (QSIZE - 1)] = (struct virtq_used_elem){ head, len };
        d->used_idx++;
        d->last_avail++;
    }
    d->abs_avail += n;
    d->abs_used += n;
    wmb();
    WRITE_ONCE(d->used->idx, d->used_idx);
    /* Pairs with vq_poll / vq_enable_cb_delayed / vq_get_buf's fence. */
    mb();
    bool need;
    if (opt_event_idx)
        need = vring_need_event(READ_ONCE(*virtq_used_event(d->avail, QSIZE)), d->used_idx, old);
    else
        need = !(READ_ONCE(d->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    if (need) {
        irqs[q]++;
        atomic_fetch_or_explicit(&irq_word, 1u << q, memory_order_release);
    }
    atomic_store_explicit(&dev_decided[q], d->abs_used, memory_order_release);
    atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    return n;
}

static bool dev_has_work(void)
{
    for (int q = 0; q < NQ; q++)
        if (READ_ONCE(dq[q].avail->idx) != dq[q].last_avail)
            return true;
    return false;
}

/* The driver decided (drv_decided, stored after its notify) on entries from
 * abs_avail on, where we armed the kick, and rang no doorbell for them. The
 * decision is read first, then the doorbell, which its kick set before.
 * With both fences this cannot happen: our re-check after arming would have
 * seen the entries, or its kick_prepare our avail_event/flags. */
static bool dev_check_lost(unsigned rung)
{
    bool lost = false;
    for (int q = 0; q < NQ; q++) {
        if (rung & (1u << q))
            continue;
        uint64_t dd = atomic_load_explicit(&drv_decided[q], memory_order_acquire);
        if (dd > dq[q].abs_avail && !(atomic_load(&doorbell) & (1u << q))) {
            lost_kick[q]++;
            lost = true;  /* recover: poll */
            if (opt_first)
                atomic_store(&stop, true);
        }
    }
    return lost;
}

static void *device_thread(void *arg)
{
    (void)arg;
    pin(1);
    uint32_t seed = 0x9e3779b9u;
    uint64_t rounds = 0;
    for (int q = 0; q < NQ; q++)
        dev_set_notify(&dq[q], false);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* Short batches: a stream of publishes, so they keep landing inside
         * the driver's store-then-check windows. */
        static const unsigned batch_max[] = { 1, 2, 8, 32 };
        unsigned bmax = batch_max[(rounds++ >> 14) % 4];
        unsigned done = 0;
        for (int q = 0; q < NQ; q++)
            done += dev_process(q, 1 + rnd(&seed) % bmax);
        if (done)
            continue;
        /* Idle: ask for kicks, then look once more (§2.7.10, the device's
         * half of the kick_prepare race). */
        for (int q = 0; q < NQ; q++)
            dev_set_notify(&dq[q], true);
        mb();
        if (!dev_has_work()) {
            dev_waits++;
            uint64_t last = now_ns();
            for (;;) {
                unsigned bits = atomic_exchange_explicit(&doorbell, 0, memory_order_acquire);
                /* Still armed: a queue that did not ring but whose driver
                 * decided on an entry we asked a kick for lost its kick. */
                if (dev_check_lost(bits) || bits)
                    break;
                if (atomic_load_explicit(&stop, memory_order_relaxed))
                    break;
                uint64_t t = now_ns();
                if (t - last < WAIT_TIMEOUT_NS) {
                    __asm__ __volatile__("pause");
                    continue;
                }
                last = t;
                sched_yield(); /* the driver may not be running at all */
            }
        }
        for (int q = 0; q < NQ; q++)
            dev_set_notify(&dq[q], false);
    }
    return NULL;
}

/* ==== the driver (one CPU, as virtqueue.h requires) ==== */

static void notify_cb(struct virtqueue *v)
{
    int q = (int)(uintptr_t)vq_notify_ctx(v);
    kicks[q]++;
    atomic_fetch_or_explicit(&doorbell, 1u << q, memory_order_seq_cst);
}

struct drv {
    uint64_t posted[NQ], used[NQ];   /* absolute */
    uint64_t rx_seq;                 /* next sequence expected from the device */
    bool armed[NQ];                  /* used-buffer notifications on, waiting */
    uint64_t target[NQ];             /* entry (absolute) the armed event asks an irq for */
};
static struct drv dr;

static void post(int q)
{
    unsigned slot = (unsigned)(dr.posted[q] % QSIZE);
    uint8_t *b = bufs[q] + (size_t)slot * BUF_LEN;
    struct vq_sg sg = { dma_addr(b), BUF_LEN };
    if (q == TXQ)
        *(uint64_t *)b = dr.posted[q];
    int r = q == RXQ ? vq_add_sgs(vq[q], &sg, 0, 1, b) : vq_add_sgs(vq[q], &sg, 1, 0, b);
    if (r != 0)
        error("driver: vq_add_sgs failed", (uint64_t)-r, q);
    dr.posted[q]++;
}

static void kick(int q)
{
    vq_kick(vq[q]);
    atomic_store_explicit(&drv_decided[q], dr.posted[q], memory_order_release);
}

/* Returns how many buffers came back; checks each comes back once, in order. */
static unsigned reap(int q)
{
    unsigned n = 0;
    uint32_t len;
    void *tok;
    while ((tok = vq_get_buf(vq[q], &len)) != NULL) {
        uint8_t *want = bufs[q] + (size_t)(dr.used[q] % QSIZE) * BUF_LEN;
        if (tok != want)
            error("driver: token out of order (lost or duplicated buffer)", dr.used[q], q);
        if (q == RXQ) {
            uint64_t seq = *(uint64_t *)tok;
            if (len != 8 || seq != dr.rx_seq)
                error("driver: RX data out of order", seq, dr.rx_seq);
            dr.rx_seq++;
        }
        dr.used[q]++;
        n++;
        /* Callbacks on: vq_get_buf moved used_event to the next entry (and
         * with callbacks always on, an irq consumed earlier covered only
         * what we reaped). */
        if (dr.armed[q] && (opt_event_idx || (q == RXQ && opt_irq_style)))
            dr.target[q] = dr.used[q];
    }
    if (vq_is_broken(vq[q]))
        error("driver: queue broken", q, 0);
    return n;
}

/* Arm the interrupt; false if work is already there (poll again). */
static bool arm(int q)
{
    if (dr.armed[q])
        return true;
    bool ok;
    if (q == RXQ) {
        unsigned opaque = vq_enable_cb_prepare(vq[q]);
        ok = !vq_poll(vq[q], opaque);
        dr.target[q] = dr.used[q];
    } else {
        /* virtio_net_tx's tx_stop: the interrupt after ~3/4 of what is out. */
        uint64_t out = dr.posted[q] - dr.used[q];
        ok = vq_enable_cb_delayed(vq[q]);
        dr.target[q] = dr.used[q] + (opt_event_idx ? out * 3 / 4 : 0);
    }
    if (!ok) {
        vq_disable_cb(vq[q]);
        return false;
    }
    dr.armed[q] = true;
    return true;
}

/* The interrupt handler's half: what fired is masked again. */
static void take_irq(unsigned bits)
{
    for (int q = 0; q < NQ; q++) {
        if (!(bits & (1u << q)))
            continue;
        if (q == RXQ && opt_irq_style)
            continue;             /* irq style: the queue stays armed */
        vq_disable_cb(vq[q]);
        dr.armed[q] = false;
    }
}

/* An armed queue whose interrupt did not fire although the device decided
 * (dev_decided, stored after raising it) on the entry the armed event asked
 * for: the interrupt was lost. Exact at any moment while armed, so a loss
 * counts even when a later interrupt would have papered over it. */
static unsigned drv_check_lost(unsigned fired)
{
    unsigned lost = 0;
    for (int q = 0; q < NQ; q++) {
        if (!dr.armed[q] || (fired & (1u << q)))
            continue;
        uint64_t dd = atomic_load_explicit(&dev_decided[q], memory_order_acquire);
        if (dd > dr.target[q] && !(atomic_load(&irq_word) & (1u << q))) {
            lost_irq[q]++;
            lost |= 1u << q;
            if (opt_first)
                atomic_store(&stop, true);
        }
    }
    return lost;
}

static int driver_run(void)
{
    pin(0);
    uint32_t seed = 12345;
    uint64_t start = now_ns(), deadline = start + (uint64_t)(opt_seconds * 1e9);
    uint64_t last_progress = 0, last_progress_t = start;
    unsigned tx_window = 1;
    uint64_t iter = 0;

    for (int q = 0; q < NQ; q++)
        vq_disable_cb(vq[q]);
    if (opt_irq_style) {
        vq_enable_cb(vq[RXQ]);   /* and never masked again */
        dr.armed[RXQ] = true;
        dr.target[RXQ] = 0;
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (dr.used[RXQ] >= opt_buffers && dr.used[TXQ] >= opt_buffers)
            break;
        uint64_t t = now_ns();
        if (t > deadline)
            break;
        uint64_t p = atomic_load_explicit(&progress, memory_order_relaxed);
        if (p != last_progress) {
            last_progress = p;
            last_progress_t = t;
        } else if (t - last_progress_t > HANG_NS) {
            error("no progress: stuck", dr.used[RXQ], dr.used[TXQ]);
            break;
        }

        /* RX: small windows of posted buffers, so the device runs dry
         * often and every arm races with its publish. */
        unsigned got = reap(RXQ);
        /* Phases of different window sizes: which one lines the two sides
         * up best depends on the machine. */
        static const unsigned rx_max[] = { 1, 4, 16, 48 }, tx_max[] = { 1, 3, 6, 16 };
        unsigned phase = (unsigned)(iter++ >> 13) % 4;
        unsigned rx_window = 1 + rnd(&seed) % rx_max[phase];
        bool posted = false;
        while (dr.posted[RXQ] - dr.used[RXQ] < rx_window && dr.posted[RXQ] < opt_buffers) {
            post(RXQ);
            posted = true;
        }
        if (posted)
            kick(RXQ);

        /* TX: send a small batch, then wait for it (tx_stop's path). */
        got += reap(TXQ);
        if (dr.posted[TXQ] == dr.used[TXQ] && dr.posted[TXQ] < opt_buffers) {
            tx_window = 1 + rnd(&seed) % tx_max[(phase + 1) % 4];
            while (dr.posted[TXQ] - dr.used[TXQ] < tx_window && dr.posted[TXQ] < opt_buffers)
                post(TXQ);
            /* tx_stop: kick, then ask for the interrupt at once, while the
             * device is working through the batch. */
            kick(TXQ);
            if (!arm(TXQ))
                got += reap(TXQ);
        }
        if (got) {
            atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
            continue;
        }

        /* Nothing came back: arm what we wait for, then sleep. */
        bool wait_rx = dr.posted[RXQ] != dr.used[RXQ];
        bool wait_tx = dr.posted[TXQ] != dr.used[TXQ];
        if ((wait_rx && !arm(RXQ)) || (wait_tx && !arm(TXQ)))
            continue;
        if (!wait_rx && !wait_tx)
            continue;
        drv_waits++;
        uint64_t last = now_ns();
        for (;;) {
            unsigned bits = atomic_exchange_explicit(&irq_word, 0, memory_order_acquire);
            unsigned lost = drv_check_lost(bits);
            if (bits | lost) {
                take_irq(bits | lost);   /* a lost one: recover by polling */
                break;
            }
            if (atomic_load_explicit(&stop, memory_order_relaxed))
                break;
            uint64_t tn = now_ns();
            if (tn - last < WAIT_TIMEOUT_NS) {
                __asm__ __volatile__("pause");
                continue;
            }
            last = tn;
            if (tn - last_progress_t > HANG_NS)
                break;
            sched_yield();
        }
    }
    atomic_store(&stop, true);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: stress_ring [-e 0|1] [-n buffers] [-s seconds] [-r napi|irq] [-q] [-x]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "e:n:s:r:qx")) != -1) {
        switch (c) {
        case 'e': opt_event_idx = atoi(optarg) != 0; break;
        case 'n': opt_buffers = strtoull(optarg, NULL, 0); break;
        case 's': opt_seconds = atof(optarg); break;
        case 'r':
            if (!strcmp(optarg, "irq"))
                opt_irq_style = true;
            else if (strcmp(optarg, "napi"))
                return usage();
            break;
        case 'q': opt_quiet = true; break;
        case 'x': opt_first = true; break;
        default: return usage();
        }
    }
    for (int q = 0; q < NQ; q++) {
        vq[q] = vq_create((uint16_t)q, QSIZE, opt_event_idx, false, notify_cb, (void *)(uintptr_t)q);
        bufs[q] = dma_alloc((size_t)QSIZE * BUF_LEN, 64);
        if (!vq[q] || !bufs[q])
            return 2;
        dq[q].desc = (struct virtq_desc *)(uintptr_t)vq_desc_addr(vq[q]);
        dq[q].avail = (struct virtq_avail *)(uintptr_t)vq_avail_addr(vq[q]);
        dq[q].used = (struct virtq_used *)(uintptr_t)vq_used_addr(vq[q]);
    }
    pthread_t dev;
    if (pthread_create(&dev, NULL, device_thread, NULL))
        return 2;
    uint64_t t0 = now_ns();
    driver_run();
    pthread_join(dev, NULL);
    double secs = (double)(now_ns() - t0) / 1e9;

    uint64_t lost = lost_irq[RXQ] + lost_irq[TXQ] + lost_kick[RXQ] + lost_kick[TXQ];
    bool fail = lost || errors;
    if (!opt_quiet || fail)
        printf("stress_ring event_idx=%d rx=%s: %.1fs rx %llu tx %llu buffers, "
               "irqs %llu/%llu kicks %llu/%llu, waits drv %llu dev %llu; "
               "lost irq rx %llu tx %llu, lost kick rx %llu tx %llu%s%s\n",
               opt_event_idx, opt_irq_style ? "irq" : "napi", secs,
               (unsigned long long)dr.used[RXQ], (unsigned long long)dr.used[TXQ],
               (unsigned long long)irqs[RXQ], (unsigned long long)irqs[TXQ],
               (unsigned long long)kicks[RXQ], (unsigned long long)kicks[TXQ],
               (unsigned long long)drv_waits, (unsigned long long)dev_waits,
               (unsigned long long)lost_irq[RXQ], (unsigned long long)lost_irq[TXQ],
               (unsigned long long)lost_kick[RXQ], (unsigned long long)lost_kick[TXQ],
               errors ? "; ERROR: " : "", errors ? first_error : "");
    return fail ? 1 : 0;
}
