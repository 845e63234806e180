#include "net/guard/frag_guard.h"

#include <stdbool.h>
#include <string.h>

void frag_guard_init(struct frag_guard *fg, unsigned max_bufs_per_src,
                     unsigned max_dgrams_per_src)
{
    memset(fg, 0, sizeof *fg);
    fg->max_bufs_per_src = max_bufs_per_src;
    fg->max_dgrams_per_src = max_dgrams_per_src;
}

static unsigned share_words(const struct frag_key *k)
{
    return k->share_words >= 1 && k->share_words <= 4 ? k->share_words : 4;
}

static bool same_share(const struct frag_key *a, const struct frag_key *b)
{
    unsigned n = share_words(a);
    return n == share_words(b) && !memcmp(a->src, b->src, n * sizeof a->src[0]);
}

/* One datagram: the whole source address and the id. */
static bool same_datagram(const struct frag_key *a, const struct frag_key *b)
{
    return a->id == b->id && !memcmp(a->src, b->src, sizeof a->src);
}

int frag_guard_admit(struct frag_guard *fg, const struct frag_key *key, unsigned nbufs)
{
    unsigned bufs = 0, dgrams = 0;
    int mine = -1, empty = -1;

    for (int i = 0; i < FRAG_GROUPS; i++) {
        struct frag_group *g = &fg->g[i];
        if (!g->bufs) {
            if (empty < 0)
                empty = i;
            continue;
        }
        if (!same_share(&g->key, key))
            continue;
        bufs += g->bufs;
        dgrams++;
        if (same_datagram(&g->key, key))
            mine = i;
    }
    if (nbufs == 0 || bufs + nbufs > fg->max_bufs_per_src)
        return -1;
    if (mine < 0) {
        if (dgrams >= fg->max_dgrams_per_src || empty < 0)
            return -1;
        mine = empty;
        fg->g[mine].key = *key;
    }
    fg->g[mine].bufs = (uint16_t)(fg->g[mine].bufs + nbufs);
    return mine;
}

void frag_guard_release(struct frag_guard *fg, int slot)
{
    if (slot >= 0 && slot < FRAG_GROUPS && fg->g[slot].bufs)
        fg->g[slot].bufs--;
}
