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

static bool same_src(const struct frag_key *a, const struct frag_key *b)
{
    return !memcmp(a->src, b->src, sizeof a->src);
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
        if (!same_src(&g->key, key))
            continue;
        bufs += g->bufs;
        dgrams++;
        if (g->key.id == key->id)
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
