/* See peer.h. */
#include "tests/fuzz/lwip_host/peer.h"

#include <stdio.h>
#include <string.h>

#include "lwip/def.h"
#include "lwip/prot/tcp.h"
#include "tests/fuzz/lwip_host/host_port.h"
#include "tests/fuzz/lwip_host/sim_netif.h"
#include "tests/lib/tcp4_hdr.h"

struct slot slots[PEER_SLOTS];

static int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

void peers_reset(void) { memset(slots, 0, sizeof slots); }

static void inject(struct slot *s, const uint8_t *pkt, size_t len, size_t split)
{
    if (len <= sizeof s->last) {
        memcpy(s->last, pkt, len);
        s->last_len = (uint16_t)len;
    }
    sim_inject(pkt, len, split);
}

void peer_send(struct slot *s, const struct seg *g)
{
    static uint8_t pkt[20 + 60 + 65535];
    size_t thl = 20 + g->optlen, len = 20 + thl + g->len;

    if (len > 0xffff)
        return;
    memset(pkt, 0, 20 + thl);
    tcp4_hdr_put(pkt, len, thl, &(struct tcp4_hdr){ SIM_PEER_IP(s->ip), SIM_LOCAL_IP, s->pport,
                                                    s->lport, g->seq, g->ack, g->flags, g->win });
    uint8_t *t = pkt + 20;
    if (g->optlen)
        memcpy(t + 20, g->opts, g->optlen);
    if (g->len)
        memcpy(t + thl, g->data, g->len);
    if (g->flags & TCP_ACK)
        s->acked = g->ack;
    if (host_trace)
        fprintf(stderr, "[%u ms] peer%u:%u -> :%u seq=+%u ack=lw+%u flags=%02x win=%u len=%u\n",
                (unsigned)host_now_ms, s->ip, s->pport, s->lport, (unsigned)(g->seq - s->snd_nxt),
                (unsigned)(g->ack - s->lw_isn), g->flags, g->win, g->len);
    inject(s, pkt, len, g->split);
}

void peer_rst(uint32_t ip, uint16_t pport, uint16_t lport, uint32_t seq, uint32_t ack)
{
    struct slot tmp = {.used = true, .ip = (uint8_t)(ip - SIM_PEER_IP(0)), .pport = pport,
                       .lport = lport, .snd_nxt = seq};
    struct seg g = {.seq = seq, .ack = ack, .flags = TCP_RST | TCP_ACK};

    peer_send(&tmp, &g);
}

void peer_dup(struct slot *s)
{
    if (s->last_len)
        sim_inject(s->last, s->last_len, 0);
}

static struct slot *find_slot(uint8_t ip, uint16_t pport, uint16_t lport, bool syn_only)
{
    for (int i = 0; i < PEER_SLOTS; i++) {
        struct slot *s = &slots[i];
        if (s->used && s->ip == ip && s->pport == pport && s->lport == lport)
            return s;
    }
    if (!syn_only)
        return NULL;
    /* lwIP opens a connection (lwiperf's dual test): take a free slot, else the last. */
    struct slot *s = &slots[PEER_SLOTS - 1];
    for (int i = 0; i < PEER_SLOTS; i++)
        if (!slots[i].used) {
            s = &slots[i];
            break;
        }
    memset(s, 0, sizeof *s);
    s->used = true;
    s->ip = ip;
    s->pport = pport;
    s->lport = lport;
    s->snd_nxt = 0x10000000u * (uint32_t)(s - slots + 1);
    return s;
}

static uint8_t wscale_opt(const uint8_t *t, unsigned thl)
{
    size_t i = 20;
    for (const uint8_t *o; (o = tcp4_opt_next(t, thl, &i)) != NULL;)
        if (o[0] == 3 && o[1] == 3)
            return o[2] > 14 ? 14 : o[2];
    return 0;
}

static void on_frame(const struct sim_frame *f)
{
    const uint8_t *ip = f->data;
    unsigned ihl = (ip[0] & 15u) * 4;

    if ((ip[0] >> 4) != 4 || ip[9] != 6 || ihl < 20 || ihl + 20 > SIM_CAP_BYTES)
        return;
    uint32_t dst = get32(ip + 16);
    if (dst - SIM_PEER_IP(0) >= PEER_IPS)
        return;
    const uint8_t *t = ip + ihl;
    unsigned thl = (t[12] >> 4) * 4u;
    uint8_t flags = t[13];
    uint32_t seq = get32(t + 4), ack = get32(t + 8);
    uint16_t plen = (uint16_t)(get16(ip + 2) - ihl - thl);
    struct slot *s = find_slot((uint8_t)(dst - SIM_PEER_IP(0)), get16(t + 2), get16(t),
                               (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN);

    if (host_trace)
        fprintf(stderr, "[%u ms]   lwip -> peer%u:%u seq=lw+%u ack=+%u flags=%02x win=%u len=%u%s\n",
                (unsigned)host_now_ms, (unsigned)(dst - SIM_PEER_IP(0)), get16(t + 2),
                s ? (unsigned)(seq - s->lw_isn) : 0u, s ? (unsigned)(ack - s->snd_nxt) : 0u,
                flags, get16(t + 14), plen, s && s->drop ? " (dropped)" : "");
    if (!s)
        return;
    if (s->drop) {
        s->drop--;
        return;
    }
    if (flags & TCP_RST) {
        s->reset = true;
        return;
    }
    if ((flags & TCP_SYN) && (!s->synced || seq != s->lw_isn)) {
        s->synced = true;
        s->lw_isn = seq;
        s->rcv_nxt = s->lw_max = seq + 1;
        s->lw_wscale = wscale_opt(t, thl > SIM_CAP_BYTES - ihl ? SIM_CAP_BYTES - ihl : thl);
        s->lw_fin = false;
        s->rx_bytes = 0;
    }
    if (!s->synced)
        return;
    uint32_t end = seq + plen + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
    if (!seq_lt(s->rcv_nxt, seq) && seq_lt(s->rcv_nxt, end)) {
        if (flags & TCP_FIN)
            s->lw_fin = true;
        s->rx_bytes += (uint32_t)(end - s->rcv_nxt);
        s->rcv_nxt = end;
    }
    if (seq_lt(s->lw_max, end))
        s->lw_max = end;
    if (flags & TCP_ACK)
        s->lw_ack = ack;
    s->lw_win = (uint32_t)get16(t + 14) << ((flags & TCP_SYN) ? 0 : s->lw_wscale);
}

void peers_drain(void)
{
    struct sim_frame *f;
    size_t n = sim_take_output(&f);

    for (size_t i = 0; i < n; i++)
        on_frame(&f[i]);
}
