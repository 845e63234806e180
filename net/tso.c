/* TCP segmentation offload for lwIP's output: see tso.h. Main loop only. */
#include "net/tso.h"

#include <stddef.h>
#include <string.h>

#include "lwip/def.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"

/* In flight on the rings plus waiting in the glue's backlog; when none is
 * free, segments simply go out one by one. */
#define TSO_POOL 96

struct tso_counters tso_counters;
static struct tso_frame pool[TSO_POOL];

struct seg_view {
    struct ip_hdr *ip;
    struct tcp_hdr *tcp;
    uint16_t hdr_len, payload;
};

/* The headers of a TCP/IPv4 data segment lwIP built (all in the first
 * pbuf, no IP options, not a fragment), if it is one TSO can carry. */
static bool view(struct pbuf *p, struct seg_view *v)
{
    if (p->len < SIZEOF_ETH_HDR + IP_HLEN + TCP_HLEN ||
        ((const struct eth_hdr *)p->payload)->type != PP_HTONS(ETHTYPE_IP))
        return false;
    v->ip = (struct ip_hdr *)((uint8_t *)p->payload + SIZEOF_ETH_HDR);
    if (IPH_V(v->ip) != 4 || IPH_HL_BYTES(v->ip) != IP_HLEN || IPH_PROTO(v->ip) != IP_PROTO_TCP ||
        (IPH_OFFSET(v->ip) & PP_HTONS(IP_OFFMASK | IP_MF)))
        return false;
    v->tcp = (struct tcp_hdr *)((uint8_t *)v->ip + IP_HLEN);
    unsigned thl = TCPH_HDRLEN_BYTES(v->tcp);
    unsigned iplen = lwip_ntohs(IPH_LEN(v->ip));
    v->hdr_len = (uint16_t)(SIZEOF_ETH_HDR + IP_HLEN + thl);
    if (thl < TCP_HLEN || p->len < v->hdr_len || iplen < IP_HLEN + thl ||
        p->tot_len < SIZEOF_ETH_HDR + iplen)
        return false;
    v->payload = (uint16_t)(iplen - IP_HLEN - thl);
    /* Data with ACK, maybe PSH: never SYN, FIN, RST or URG, whose meaning
     * the device's copy of the header onto every segment would change. */
    return v->payload > 0 && (TCPH_FLAGS(v->tcp) & ~TCP_PSH) == TCP_ACK;
}

/* Pieces of p after skip bytes (the headers of a segment after the first). */
static unsigned count_pieces(const struct pbuf *p, unsigned skip)
{
    unsigned n = 0;
    for (; p; p = p->next) {
        if (p->len <= skip) {
            skip -= p->len;
            continue;
        }
        skip = 0;
        n++;
    }
    return n;
}

bool tso_is_frame(const void *token)
{
    const char *t = token;
    return t >= (const char *)pool && t < (const char *)(pool + TSO_POOL);
}

struct tso_frame *tso_start(struct pbuf *p)
{
    struct seg_view v;
    if (!view(p, &v))
        return NULL;
    struct tso_frame *t = NULL;
    for (unsigned i = 0; i < TSO_POOL && !t; i++)
        if (!pool[i].in_use)
            t = &pool[i];
    if (!t) {
        tso_counters.pool_empty++;
        return NULL;
    }
    pbuf_ref(p);
    t->in_use = true;
    t->seg[0] = p;
    t->nseg = 1;
    t->pieces = count_pieces(p, 0);
    t->hdr_len = v.hdr_len;
    t->gso_size = v.payload;
    t->payload = v.payload;
    t->next_seq = lwip_ntohl(v.tcp->seqno) + v.payload;
    t->flags0 = (uint8_t)TCPH_FLAGS(v.tcp);
    t->tcp0 = v.tcp;
    t->push = 0;
    return t;
}

bool tso_append(struct tso_frame *t, struct pbuf *p, unsigned max_pieces)
{
    struct seg_view v, f;
    if (t->nseg == TSO_MAX_SEGS || !view(p, &v) || !view(t->seg[0], &f))
        return false;
    /* Every segment but the last is gso_size long; headers identical but
     * for the sequence number, the IP length/ID/checksum and PSH. */
    uint32_t ip_len = (uint32_t)v.hdr_len - SIZEOF_ETH_HDR + t->payload + v.payload;
    if (v.hdr_len != t->hdr_len || v.payload > t->gso_size ||
        t->payload != (uint32_t)t->gso_size * t->nseg || t->push ||
        lwip_ntohl(v.tcp->seqno) != t->next_seq || ip_len > TSO_MAX_IP_LEN)
        return false;
    if (memcmp(p->payload, t->seg[0]->payload, SIZEOF_ETH_HDR) != 0 ||
        v.ip->src.addr != f.ip->src.addr || v.ip->dest.addr != f.ip->dest.addr ||
        IPH_TOS(v.ip) != IPH_TOS(f.ip) || IPH_TTL(v.ip) != IPH_TTL(f.ip) ||
        IPH_OFFSET(v.ip) != IPH_OFFSET(f.ip) || v.tcp->src != f.tcp->src ||
        v.tcp->dest != f.tcp->dest || v.tcp->ackno != f.tcp->ackno || v.tcp->wnd != f.tcp->wnd ||
        memcmp(v.tcp + 1, f.tcp + 1, v.hdr_len - SIZEOF_ETH_HDR - IP_HLEN - TCP_HLEN) != 0)
        return false;
    unsigned pieces = count_pieces(p, v.hdr_len);
    if (t->pieces + pieces > max_pieces)
        return false;
    pbuf_ref(p);
    t->seg[t->nseg++] = p;
    t->pieces += pieces;
    t->payload += v.payload;
    t->next_seq += v.payload;
    t->push = (uint8_t)(TCPH_FLAGS(v.tcp) & TCP_PSH);
    return true;
}

unsigned tso_build(struct tso_frame *t, struct netdev_tx_sg *sg, struct netdev_tx_offload *off)
{
    struct pbuf *p0 = t->seg[0];
    struct ip_hdr *ip = (struct ip_hdr *)((uint8_t *)p0->payload + SIZEOF_ETH_HDR);
    uint32_t l4_hdr = (uint32_t)t->hdr_len - SIZEOF_ETH_HDR - IP_HLEN;
    IPH_LEN_SET(ip, lwip_htons((u16_t)(IP_HLEN + l4_hdr + t->payload)));
    IPH_CHKSUM_SET(ip, 0);
    IPH_CHKSUM_SET(ip, inet_chksum(ip, IP_HLEN));
    /* PSH where the last segment had it (the device puts it on the last). */
    TCPH_FLAGS_SET(t->tcp0, t->flags0 | t->push);

    unsigned n = 0;
    for (struct pbuf *q = p0; q; q = q->next)
        if (q->len)
            sg[n++] = (struct netdev_tx_sg){ q->payload, q->len };
    for (unsigned k = 1; k < t->nseg; k++) {
        unsigned skip = t->hdr_len;
        for (struct pbuf *q = t->seg[k]; q; q = q->next) {
            if (q->len <= skip) {
                skip -= q->len;
                continue;
            }
            sg[n++] = (struct netdev_tx_sg){ (uint8_t *)q->payload + skip, q->len - skip };
            skip = 0;
        }
    }
    off->gso_type = NETDEV_GSO_TCPV4;
    off->gso_size = t->gso_size;
    off->hdr_len = t->hdr_len;
    return n;
}

void tso_release(struct tso_frame *t)
{
    TCPH_FLAGS_SET(t->tcp0, t->flags0);
    for (unsigned k = 0; k < t->nseg; k++)
        pbuf_free(t->seg[k]);
    t->nseg = 0;
    t->in_use = false;
}
