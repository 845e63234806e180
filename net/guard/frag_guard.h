/* Per-source share of reassembly, IPv4 and IPv6 (one guard each: lwIP
 * keeps separate pools for them, each bounded globally by
 * IP_REASS_MAX_PBUFS fragments and MEMP_NUM_REASSDATA datagrams). When full,
 * lwIP evicts the oldest datagram, whoever sent it: one source sending
 * fragments that never complete evicts everyone else's. The glue admits a
 * fragment only while its source holds less than its share, and learns when
 * lwIP lets go of it from the free of the fragment's receive buffer. An
 * off-link IPv6 source is its /64: one site owns at least a /64 and can send
 * from any address in it, so a per-/128 share would be no share; on-link
 * sources share the netif's own /64s (and fe80::/10) with every neighbour,
 * so there a source stays one address.
 *
 * Pure bookkeeping (unit-tested on the host): groups of held fragment
 * buffers by (source, datagram id). */
#ifndef NET_FRAG_GUARD_H
#define NET_FRAG_GUARD_H

#include <stdint.h>

#define FRAG_GROUPS 32      /* > IP_REASS_MAX_PBUFS: every held fragment has a group */

/* A datagram in reassembly: source address as in the header (IPv4: src[0],
 * the rest 0) and its id (IPv4's 16-bit, IPv6's 32-bit fragment id).
 * share_words: the source whose share it counts against is the first this
 * many words of src (4: the address, 2: its /64); 0 means 4. */
struct frag_key {
    uint32_t src[4];
    uint32_t id;
    uint32_t share_words;
};

struct frag_group {
    struct frag_key key;
    uint16_t bufs;          /* receive buffers held; 0: slot free */
};

struct frag_guard {
    unsigned max_bufs_per_src;      /* fragment buffers one source may hold */
    unsigned max_dgrams_per_src;    /* datagrams one source may have in reassembly */
    struct frag_group g[FRAG_GROUPS];
};

void frag_guard_init(struct frag_guard *fg, unsigned max_bufs_per_src,
                     unsigned max_dgrams_per_src);
/* A fragment of nbufs receive buffers of datagram key: its group's slot
 * (pass it to frag_guard_release once per buffer), or -1: over the source's
 * share, drop it. */
int frag_guard_admit(struct frag_guard *fg, const struct frag_key *key, unsigned nbufs);
void frag_guard_release(struct frag_guard *fg, int slot);

#endif
