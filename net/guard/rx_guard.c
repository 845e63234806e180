/* RX buffer lending, copybreak, out-of-order reclaim (net/guard/rx_guard.h). */
#include "net/guard/rx_guard.h"

#include <stdbool.h>
#include <string.h>

#include "lwip/ip4_frag.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "net/guard/frag_guard.h"
#include "net/glue/ip6_hdr.h"
#include "net/guard/icmp_limit.h"
#include "net/guard/tcp_guard.h"

struct rx_pbuf {
    struct pbuf_custom pc;      /* first: lwIP hands back a struct pbuf * */
    struct netdev *dev;
    void *buf;
    struct frag_guard *frags;   /* the guard holding it, NULL if not a fragment */
    int frag_slot;              /* its group there */
    struct rx_pbuf *next_free;
};

static struct rx_pbuf meta[RX_LEND_MAX];
static struct rx_pbuf *meta_free;
static unsigned meta_avail;
static bool ready;
static struct frag_guard frags_held, frags6_held;     /* IPv4, IPv6 */

/* A pcb reclaimed per call at most: each costs a walk of the active list. */
#define RECLAIM_MAX_PCBS 16

static void guard_init(void)
{
    for (unsigned i = 0; i < RX_LEND_MAX; i++) {
        meta[i].next_free = meta_free;
        meta_free = &meta[i];
    }
    meta_avail = RX_LEND_MAX;
    /* Half of lwIP's reassembly bounds per source: a source that fills its
     * share leaves the other half to everyone else. */
    frag_guard_init(&frags_held, IP_REASS_MAX_PBUFS / 2, MEMP_NUM_REASSDATA / 2);
    /* ip6_frag.c: a pool of its own, with the same two bounds */
    frag_guard_init(&frags6_held, IP_REASS_MAX_PBUFS / 2, MEMP_NUM_REASSDATA / 2);
    ready = true;
}

unsigned rx_guard_lent(void)
{
    return ready ? RX_LEND_MAX - meta_avail : 0;
}

static void rx_pbuf_free(struct pbuf *p)
{
    struct rx_pbuf *rp = (struct rx_pbuf *)p;
    struct netdev *dev = rp->dev;
    void *buf = rp->buf;

    if (rp->frags)
        frag_guard_release(rp->frags, rp->frag_slot);
    rp->next_free = meta_free;
    meta_free = rp;
    meta_avail++;
    dev->ops->rx_buf_release(dev, buf);
}

static void release_all(struct netdev *dev, const struct netdev_rx_frag *frags, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        dev->ops->rx_buf_release(dev, frags[i].buf);
}

static struct pbuf *copy_frame(struct netdev *dev, const struct netdev_rx_frag *frags,
                               unsigned n, uint32_t total)
{
    struct pbuf *p = total <= 0xffff ? pbuf_alloc(PBUF_RAW, (u16_t)total, PBUF_RAM) : NULL;
    uint32_t off = 0;

    for (unsigned i = 0; p && i < n; i++) {
        pbuf_take_at(p, frags[i].data, (u16_t)frags[i].len, (u16_t)off);
        off += frags[i].len;
    }
    release_all(dev, frags, n);
    if (p)
        tcp_guard.rx_copybreak++;
    return p;
}

static struct pbuf *lend_frame(struct netdev *dev, const struct netdev_rx_frag *frags,
                               unsigned n, struct frag_guard *fg, int frag_slot)
{
    struct pbuf *head = NULL;

    for (unsigned i = 0; i < n; i++) {
        struct rx_pbuf *rp = meta_free;
        meta_free = rp->next_free;
        meta_avail--;
        rp->pc.custom_free_function = rx_pbuf_free;
        rp->dev = dev;
        rp->buf = frags[i].buf;
        rp->frags = fg;
        rp->frag_slot = frag_slot;
        struct pbuf *p = pbuf_alloced_custom(PBUF_RAW, (u16_t)frags[i].len, PBUF_REF, &rp->pc,
                                             frags[i].data, (u16_t)frags[i].len);
        if (!head)
            head = p;
        else
            pbuf_cat(head, p);
    }
    return head;
}

static bool has_custom(const struct pbuf *p)
{
    for (; p; p = p->next)
        if (p->flags & PBUF_FLAG_IS_CUSTOM)
            return true;
    return false;
}

static bool heap_short(void)
{
    return lwip_stats.mem.used > MEM_SIZE / 4 * 3;
}

/* Gives the ring its buffers back from what lwIP holds longest: refused
 * data is copied to the heap (the pcb delivers it later all the same), and
 * out-of-order queues are dropped, pcb idle longest first (the peer
 * retransmits them). Also run when the heap runs short, since copied
 * frames held out of order cost heap instead. */
static void reclaim_now(void)
{
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
        if (pcb->refused_data && has_custom(pcb->refused_data)) {
            struct pbuf *q = pbuf_clone(PBUF_RAW, PBUF_RAM, pcb->refused_data);
            if (!q)
                break;
            q->flags |= pcb->refused_data->flags & PBUF_FLAG_TCP_FIN;   /* a refused FIN */
            pbuf_free(pcb->refused_data);
            pcb->refused_data = q;
            tcp_guard.rx_copybreak++;
        }
    }
    for (int k = 0; k < RECLAIM_MAX_PCBS && (meta_avail < 2 * RX_LEND_LOW || heap_short()); k++) {
        struct tcp_pcb *victim = NULL;
        for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next)
            if (pcb->ooseq && (!victim || (u32_t)(tcp_ticks - pcb->tmr) >
                                              (u32_t)(tcp_ticks - victim->tmr)))
                victim = pcb;
        if (!victim)
            break;
        tcp_free_ooseq(victim);
        tcp_guard.ooseq_freed++;
    }
}

/* A reclaim walks every pcb: under a flood that keeps the buffers low, once
 * a millisecond (frames in between are copied, or dropped if fragments). */
static void reclaim(void)
{
    static uint32_t last_ms;
    uint32_t now = sys_now();

    if (now == last_ms)
        return;
    last_ms = now;
    reclaim_now();
}

/* IPv4 header of the frame's first piece (14-byte Ethernet header, no VLAN:
 * lwIP takes no tagged frames either), or NULL. */
static const struct ip_hdr *ipv4_of(const struct netdev_rx_frag *f)
{
    const struct eth_hdr *eh = f->data;
    if (f->len < SIZEOF_ETH_HDR + IP_HLEN || eh->type != PP_HTONS(ETHTYPE_IP))
        return NULL;
    const struct ip_hdr *ip = (const struct ip_hdr *)((const uint8_t *)f->data + SIZEOF_ETH_HDR);
    if (IPH_V(ip) != 4 || IPH_HL_BYTES(ip) < IP_HLEN ||
        f->len < SIZEOF_ETH_HDR + (uint32_t)IPH_HL_BYTES(ip))
        return NULL;
    return ip;
}

static bool is_echo_request(const struct netdev_rx_frag *f, const struct ip_hdr *ip)
{
    uint32_t at = SIZEOF_ETH_HDR + (uint32_t)IPH_HL_BYTES(ip);
    if (IPH_PROTO(ip) != IP_PROTO_ICMP || (IPH_OFFSET(ip) & PP_HTONS(IP_OFFMASK)) ||
        f->len <= at)
        return false;
    return ((const uint8_t *)f->data)[at] == ICMP_ECHO;
}

/* Is an IPv6 source (network order words) link-local (fe80::/10) or in the /64 of
 * one of our addresses, i.e. a neighbour that shares the prefix with all
 * the others (frag_guard.h says why that matters)? */
static bool on_link6(const struct netif *nif, const uint32_t src[4])
{
    if ((src[0] & PP_HTONL(0xffc00000u)) == PP_HTONL(0xfe800000u))
        return true;
    for (int i = 0; nif && i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        const ip6_addr_t *a = netif_ip6_addr(nif, i);
        if (ip6_addr_isvalid(netif_ip6_addr_state(nif, i)) && a->addr[0] == src[0] &&
            a->addr[1] == src[1])
            return true;
    }
    return false;
}

/* The reassembly key of an IPv4 fragment (ip non-NULL) or IPv6 fragment in
 * the frame's first piece: false if it is none. lwIP's ip6_input wants every
 * header up to the fragment header in the first pbuf (one per piece here),
 * so a fragment header past the first piece never reaches reassembly. */
static bool fragment_key(const struct netif *nif, const struct netdev_rx_frag *f,
                         const struct ip_hdr *ip, struct frag_key *k)
{
    if (ip) {
        if (!(IPH_OFFSET(ip) & PP_HTONS(IP_OFFMASK | IP_MF)))
            return false;
        memset(k, 0, sizeof *k);
        k->src[0] = ip->src.addr;
        k->id = IPH_ID(ip);
        return true;
    }
    const struct eth_hdr *eh = f->data;
    if (f->len < SIZEOF_ETH_HDR + IP6_HDR_LEN || eh->type != PP_HTONS(ETHTYPE_IPV6))
        return false;
    const uint8_t *pkt = (const uint8_t *)f->data + SIZEOF_ETH_HDR;
    size_t len = f->len - SIZEOF_ETH_HDR;
    struct ip6_upper u;
    if (ip6_walk(pkt, len, &u) == IP6_WALK_NOT_IPV6 || !u.fragment)
        return false;
    memcpy(k->src, pkt + 8, sizeof k->src);
    memcpy(&k->id, pkt + u.frag_off + 4, sizeof k->id);
    k->share_words = on_link6(nif, k->src) ? 4 : 2;
    return true;
}

struct pbuf *rx_guard_frame(struct netdev *dev, const struct netdev_rx_frag *frags,
                            unsigned nfrags)
{
    uint32_t total = 0;
    int frag_slot = -1;

    if (!ready)
        guard_init();
    if (!nfrags)
        return NULL;
    for (unsigned i = 0; i < nfrags; i++)
        total += frags[i].len;

    const struct ip_hdr *ip = ipv4_of(&frags[0]);
    if (ip && is_echo_request(&frags[0], ip) && !icmp_echo_allow())
        goto drop;
    struct frag_key key;
    if (fragment_key(dev->upper, &frags[0], ip, &key)) {
        /* Reassembly holds fragments for seconds: they must be lent (their
         * free is how the share is returned) or not taken at all. */
        struct frag_guard *fg = ip ? &frags_held : &frags6_held;
        if (meta_avail < nfrags + RX_LEND_LOW / 2)
            reclaim();
        frag_slot = meta_avail < nfrags ? -1 : frag_guard_admit(fg, &key, nfrags);
        if (frag_slot < 0) {
            tcp_guard.reass_limited++;
            goto drop;
        }
        return lend_frame(dev, frags, nfrags, fg, frag_slot);
    }
    if (meta_avail < RX_LEND_LOW || heap_short())
        reclaim();
    if (meta_avail < nfrags || (meta_avail < RX_LEND_LOW && total <= RX_COPYBREAK)) {
        struct pbuf *p = copy_frame(dev, frags, nfrags, total);
        if (!p)
            tcp_guard.rx_guard_dropped++;
        return p;
    }
    return lend_frame(dev, frags, nfrags, NULL, -1);

drop:   /* counted by the defence that dropped it, not as rx_dropped: the driver
         * counted the frame as received already */
    release_all(dev, frags, nfrags);
    return NULL;
}
