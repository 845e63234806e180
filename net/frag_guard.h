/* Per-source share of IPv4 reassembly. lwIP bounds reassembly globally
 * (IP_REASS_MAX_PBUFS fragments, MEMP_NUM_REASSDATA datagrams) and, when
 * full, evicts the oldest datagram, whoever sent it: one source sending
 * fragments that never complete evicts everyone else's. The glue admits a
 * fragment only while its source holds less than its share, and learns when
 * lwIP lets go of it from the free of the fragment's receive buffer.
 *
 * Pure bookkeeping (unit-tested on the host): groups of held fragment
 * buffers by (source, IP id). */
#ifndef NET_FRAG_GUARD_H
#define NET_FRAG_GUARD_H

#include <stdint.h>

#define FRAG_GROUPS 32      /* > IP_REASS_MAX_PBUFS: every held fragment has a group */

struct frag_group {
    uint32_t src;           /* network order, as in the header */
    uint16_t id;
    uint16_t bufs;          /* receive buffers held; 0: slot free */
};

struct frag_guard {
    unsigned max_bufs_per_src;      /* fragment buffers one source may hold */
    unsigned max_dgrams_per_src;    /* datagrams one source may have in reassembly */
    struct frag_group g[FRAG_GROUPS];
};

void frag_guard_init(struct frag_guard *fg, unsigned max_bufs_per_src,
                     unsigned max_dgrams_per_src);
/* A fragment of nbufs receive buffers from src with IP id: its group's slot
 * (pass it to frag_guard_release once per buffer), or -1: over the source's
 * share, drop it. */
int frag_guard_admit(struct frag_guard *fg, uint32_t src, uint16_t id, unsigned nbufs);
void frag_guard_release(struct frag_guard *fg, int slot);

#endif
