/* The stall sweep (net/guard/stall_guard.h). Per-pcb state lives in a table keyed
 * by the pcb's address, rebuilt on each sweep from lwIP's active list, so a
 * freed pcb's entry disappears with it; a pcb reused between two sweeps
 * starts from an unrelated snd_una, which counts as progress. */
#include "net/guard/stall_guard.h"

#include <stdbool.h>
#include <string.h>

#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "net/guard/stall_track.h"
#include "net/guard/tcp_guard.h"

#define TAB 1024                    /* power of two, > 2 * MEMP_NUM_TCP_PCB */
#define EVICT_MAX 32                /* per sweep, while the pool is nearly full */

struct ent {
    const struct tcp_pcb *pcb;
    struct stall_track t;
    uint32_t stalled_ms;
};

static struct ent tabs[2][TAB];
static unsigned cur;

static unsigned slot_of(const struct ent *tab, const struct tcp_pcb *pcb)
{
    uintptr_t h = (uintptr_t)pcb;
    h ^= h >> 9;
    h *= 0x9e3779b1u;
    unsigned i = (unsigned)(h >> 7) & (TAB - 1);
    while (tab[i].pcb && tab[i].pcb != pcb)
        i = (i + 1) & (TAB - 1);
    return i;
}

static bool outstanding(const struct tcp_pcb *pcb)
{
    return pcb->unacked || pcb->unsent;
}

static unsigned pool_used(void)
{
    return lwip_stats.memp[MEMP_TCP_PCB]->used;
}

/* A new connection needs a pcb, a segment for its SYN-ACK and the heap. */
static bool pools_short(unsigned pcb_margin)
{
    return pool_used() + pcb_margin >= MEMP_NUM_TCP_PCB ||
           lwip_stats.memp[MEMP_TCP_SEG]->used >= MEMP_NUM_TCP_SEG - MEMP_NUM_TCP_SEG / 16 ||
           lwip_stats.mem.used >= MEM_SIZE - MEM_SIZE / 16;
}

uint32_t stall_guard_stalled_ms(const struct tcp_pcb *pcb)
{
    const struct ent *e = &tabs[cur][slot_of(tabs[cur], pcb)];
    return e->pcb == pcb ? e->stalled_ms : 0;
}

/* Marks an aborted pcb's entry: not empty (the probe chains through it) and
 * matching no pcb, so a pcb allocated at the same address starts afresh. */
#define GONE ((const struct tcp_pcb *)1)

static void abort_stalled(struct tcp_pcb *pcb, struct ent *e)
{
    e->pcb = GONE;
    e->stalled_ms = 0;
    tcp_guard.stalled_closed++;
    tcp_abort(pcb);     /* its err callback frees the application's state */
}

/* pcb stalled longest (>= min_ms) that is still on the active list. */
static struct tcp_pcb *longest_stalled(uint32_t min_ms, struct ent **ep)
{
    struct tcp_pcb *best = NULL;
    uint32_t best_ms = 0;
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
        struct ent *e = &tabs[cur][slot_of(tabs[cur], pcb)];
        if (e->pcb == pcb && e->stalled_ms >= min_ms && e->stalled_ms >= best_ms &&
            outstanding(pcb)) {
            best = pcb;
            best_ms = e->stalled_ms;
            *ep = e;
        }
    }
    return best;
}

void stall_guard_make_room(void)
{
    static uint32_t last_ms;
    struct ent *e;
    /* a walk of every pcb: under a SYN flood, once a millisecond */
    if (!pools_short(1) || sys_now() == last_ms)
        return;
    last_ms = sys_now();
    struct tcp_pcb *pcb = longest_stalled(STALL_EVICT_MS, &e);
    if (pcb)
        abort_stalled(pcb, e);
}

static void sweep(void *arg)
{
    uint32_t now = sys_now();
    struct ent *old = tabs[cur], *nu = tabs[cur ^ 1];
    struct tcp_pcb *victims[EVICT_MAX];
    unsigned nv = 0;

    (void)arg;
    memset(nu, 0, sizeof tabs[0]);
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
        struct ent *o = &old[slot_of(old, pcb)];
        struct ent *n = &nu[slot_of(nu, pcb)];
        n->pcb = pcb;
        if (o->pcb == pcb)
            n->t = o->t;
        else
            stall_track_init(&n->t, pcb->lastack, now);
        n->stalled_ms = stall_track_update(&n->t, outstanding(pcb), pcb->lastack, pcb->mss,
                                           now);
        if (n->stalled_ms >= STALL_TIMEOUT_MS && nv < EVICT_MAX)
            victims[nv++] = pcb;
    }
    cur ^= 1;
    /* Collected first: an abort unlinks the pcb from the list walked above. */
    for (unsigned i = 0; i < nv; i++)
        abort_stalled(victims[i], &nu[slot_of(nu, victims[i])]);
    for (unsigned i = 0; i < EVICT_MAX && pools_short(MEMP_NUM_TCP_PCB / 8); i++) {
        struct ent *e;
        struct tcp_pcb *pcb = longest_stalled(STALL_EVICT_MS, &e);
        if (!pcb)
            break;
        abort_stalled(pcb, e);
    }
    sys_timeout(STALL_SWEEP_MS, sweep, NULL);
}

void stall_guard_start(void)
{
    sys_timeout(STALL_SWEEP_MS, sweep, NULL);
}
