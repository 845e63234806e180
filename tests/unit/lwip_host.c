/* Host harness for the real lwIP: a netif whose output is captured and whose
 * input takes crafted IPv4/TCP frames, simulated time, and the port functions
 * net/port/arch/cc.h expects (panic, lwip_port_rand). */
#include "tests/unit/lwip_host.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/timeouts.h"
#include "tests/lib/tcp4_hdr.h"
#include "tests/unit/fixed_keys.h"

int lwip_host_panics;
char lwip_host_last_panic[256];

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lwip_host_last_panic, sizeof lwip_host_last_panic, fmt, ap);
    va_end(ap);
    lwip_host_panics++;
    fail_msg("PANIC: %s", lwip_host_last_panic);
    abort(); /* fail_msg returns only outside a running test */
}

void lwip_port_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

uint32_t lwip_port_rand(void)
{
    static uint64_t s = 0x9e3779b97f4a7c15ull;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t now_ms;
/* Boot is not at t=0 on a real machine either (clock_now_ns counts from reset). */
static uint64_t now_ns = 3000000000ull;

u32_t sys_now(void)
{
    return now_ms;
}

uint64_t clock_now_ns(void)
{
    return now_ns;
}

void lwip_host_advance_ns(uint64_t ns)
{
    now_ns += ns;
}

uint32_t lwip_host_now_ms(void)
{
    return now_ms;
}

/* ---- captured output ---- */
#define OUT_MAX 256
static struct seg outq[OUT_MAX];
static size_t out_head, out_count;
static bool out_discard;   /* while lwip_host_reset aborts everything */
static bool hold;
static struct pbuf *held[OUT_MAX];
static size_t nheld;

static bool parse_frame(const uint8_t *b, size_t n, struct seg *s)
{
    memset(s, 0, sizeof *s);
    s->wscale = -1;
    if (n < 20 || (b[0] >> 4) != 4)
        return false;
    size_t ihl = (size_t)(b[0] & 15) * 4;
    size_t tot = ((size_t)b[2] << 8) | b[3];
    if (b[9] != IP_PROTO_TCP || tot > n || ihl + 20 > tot)
        return false;
    s->src_ip = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
    s->dst_ip = ((uint32_t)b[16] << 24) | ((uint32_t)b[17] << 16) | ((uint32_t)b[18] << 8) | b[19];
    const uint8_t *t = b + ihl;
    s->sport = (uint16_t)((t[0] << 8) | t[1]);
    s->dport = (uint16_t)((t[2] << 8) | t[3]);
    s->seq = ((uint32_t)t[4] << 24) | ((uint32_t)t[5] << 16) | ((uint32_t)t[6] << 8) | t[7];
    s->ack = ((uint32_t)t[8] << 24) | ((uint32_t)t[9] << 16) | ((uint32_t)t[10] << 8) | t[11];
    size_t thl = (size_t)(t[12] >> 4) * 4;
    s->flags = t[13] & 0x3f;
    s->wnd = (uint16_t)((t[14] << 8) | t[15]);
    if (thl < 20 || ihl + thl > tot)
        return false;
    size_t i = 20;
    for (const uint8_t *o; (o = tcp4_opt_next(t, thl, &i)) != NULL;) {
        if (o[0] == 2 && o[1] == 4)
            s->mss = (uint16_t)((o[2] << 8) | o[3]);
        else if (o[0] == 3 && o[1] == 3)
            s->wscale = o[2];
        else if (o[0] == 4)
            s->sack_perm = true;
    }
    s->len = tot - ihl - thl;
    if (s->len > sizeof s->data)
        s->len = sizeof s->data;
    memcpy(s->data, t + thl, s->len);
    return true;
}

static err_t sim_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst)
{
    (void)netif;
    (void)dst;
    static uint8_t buf[0xffff];
    u16_t n = pbuf_copy_partial(p, buf, sizeof buf, 0);
    struct seg s;
    if (out_discard || !parse_frame(buf, n, &s))
        return ERR_OK;               /* not TCP (none expected): ignore */
#if LWIP_TCP_TSO
    s.tso_segsz = p->tso_segsz;
#endif
    if (hold && nheld < OUT_MAX) {
        pbuf_ref(p);
        held[nheld++] = p;
    }
    assert_true(out_count < OUT_MAX);
    outq[(out_head + out_count) % OUT_MAX] = s;
    out_count++;
    return ERR_OK;
}

void lwip_host_hold(bool on)
{
    hold = on;
}

void lwip_host_release(void)
{
    while (nheld)
        pbuf_free(held[--nheld]);
}

bool lwip_host_output(struct seg *out)
{
    if (out_count == 0)
        return false;
    *out = outq[out_head];
    out_head = (out_head + 1) % OUT_MAX;
    out_count--;
    return true;
}

size_t lwip_host_output_count(void)
{
    return out_count;
}

size_t lwip_host_drain(void)
{
    size_t n = out_count;
    out_head = out_count = 0;
    return n;
}

/* ---- netif ---- */
static struct netif nif;

void lwip_host_set_tso(unsigned flags, uint16_t max)
{
#if LWIP_TCP_TSO
    nif.tso_flags = (u8_t)flags;
    nif.tso_max = max;
#else
    assert_int_equal(flags | max, 0);
#endif
}

static err_t sim_init(struct netif *netif)
{
    netif->name[0] = 's';
    netif->name[1] = 'm';
    netif->mtu = 1500;
    netif->output = sim_output;
    netif->flags = NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

uint32_t ip_from_str(const char *s)
{
    ip4_addr_t a;
    assert_int_equal(ip4addr_aton(s, &a), 1);
    return lwip_ntohl(ip4_addr_get_u32(&a));
}

void lwip_host_init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    lwip_init();
    set_fixed_keys();
    ip4_addr_t ip, mask, gw;
    ip4_addr_set_u32(&ip, lwip_htonl(ip_from_str(HOST_LOCAL_IP)));
    ip4_addr_set_u32(&mask, lwip_htonl(0xffffff00u));
    ip4_addr_set_u32(&gw, lwip_htonl(ip_from_str(HOST_PEER_IP)));
    assert_non_null(netif_add(&nif, &ip, &mask, &gw, NULL, sim_init, ip4_input));
    netif_set_default(&nif);
    netif_set_up(&nif);
}

void lwip_host_reset(void)
{
    hold = false;
    lwip_host_release();
    lwip_host_set_tso(0, 0);
    out_discard = true;
    while (tcp_active_pcbs != NULL)
        tcp_abort(tcp_active_pcbs);
    while (tcp_tw_pcbs != NULL)
        tcp_abort(tcp_tw_pcbs);
    while (tcp_listen_pcbs.listen_pcbs != NULL)
        tcp_close((struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs);
    out_discard = false;
    out_head = out_count = 0;
    lwip_host_panics = 0;
}

void lwip_host_advance(uint32_t ms)
{
    for (uint32_t t = 0; t < ms; t += TCP_TMR_INTERVAL) {
        now_ms += TCP_TMR_INTERVAL;
        now_ns += TCP_TMR_INTERVAL * 1000000ull;
        tcp_tmr();
    }
}

static void srv_err(void *arg, err_t err)
{
    struct lwip_host_server *srv = arg;
    (void)err;
    srv->pcb = NULL;
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct lwip_host_server *srv = arg;
    assert_int_equal(err, ERR_OK);
    srv->accepted++;
    srv->pcb = pcb;
    tcp_arg(pcb, srv);
    tcp_err(pcb, srv_err);
    return srv->on_accept ? srv->on_accept(pcb) : ERR_OK;
}

void lwip_host_serve(struct lwip_host_server *srv, uint16_t port,
                     err_t (*on_accept)(struct tcp_pcb *pcb))
{
    lwip_host_init();
    lwip_host_reset();
    *srv = (struct lwip_host_server){ .on_accept = on_accept };
    struct tcp_pcb *l = tcp_new();
    assert_non_null(l);
    assert_int_equal(tcp_bind(l, IP_ADDR_ANY, port), ERR_OK);
    l = tcp_listen(l);
    assert_non_null(l);
    tcp_arg(l, srv);
    tcp_accept(l, srv_accept);
    srv->listener = l;
}

int lwip_host_teardown(void **state)
{
    (void)state;
    lwip_host_reset();
    return 0;
}

struct seg lwip_host_seg(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                         uint32_t ack, uint16_t wnd)
{
    struct seg s;
    memset(&s, 0, offsetof(struct seg, data));
    s.wscale = -1;
    s.sport = sport;
    s.dport = dport;
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.wnd = wnd;
    return s;
}

void lwip_host_input(const struct seg *s)
{
    uint8_t opt[40];
    size_t ol = 0;
    if (s->mss) {
        opt[ol++] = 2; opt[ol++] = 4;
        tcp4_put16(opt + ol, s->mss); ol += 2;
    }
    if (s->wscale >= 0) {
        opt[ol++] = 1; opt[ol++] = 3; opt[ol++] = 3; opt[ol++] = (uint8_t)s->wscale;
    }
    if (s->sack_perm) {
        opt[ol++] = 1; opt[ol++] = 1; opt[ol++] = 4; opt[ol++] = 2;
    }
    size_t thl = 20 + ol, tot = 20 + thl + s->len;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)tot, PBUF_RAM);
    assert_non_null(p);
    uint8_t *b = p->payload, *t = b + 20;
    memset(b, 0, tot);
    uint32_t src = s->src_ip ? s->src_ip : ip_from_str(HOST_PEER_IP);
    uint32_t dst = s->dst_ip ? s->dst_ip : ip_from_str(HOST_LOCAL_IP);
    tcp4_hdr_put(b, tot, thl, &(struct tcp4_hdr){ src, dst, s->sport, s->dport, s->seq, s->ack,
                                                 s->flags, s->wnd });
    u16_t ics = inet_chksum(b, 20);
    memcpy(b + 10, &ics, 2);
    memcpy(t + 20, opt, ol);
    memcpy(t + thl, s->data, s->len);
    ip_addr_t isrc, idst;
    ip_addr_set_ip4_u32_val(isrc, lwip_htonl(src));
    ip_addr_set_ip4_u32_val(idst, lwip_htonl(dst));
    /* checksum over the TCP part only: step the payload past the IP header */
    pbuf_remove_header(p, 20);
    u16_t tcs = ip_chksum_pseudo(p, IP_PROTO_TCP, (u16_t)(thl + s->len), &isrc, &idst);
    memcpy(t + 16, &tcs, 2);
    pbuf_add_header(p, 20);
    nif.input(p, &nif);
}

struct seg lwip_host_syn(const struct seg *s)
{
    struct seg r;
    lwip_host_input(s);
    assert_true(lwip_host_output(&r));
    assert_int_equal(lwip_host_output_count(), 0);
    assert_int_equal(r.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(r.ack, s->seq + 1);
    assert_int_equal(r.dport, s->sport);
    return r;
}

struct seg lwip_host_connect(const struct seg *syn)
{
    struct seg r = lwip_host_syn(syn);
    struct seg a = lwip_host_seg(syn->sport, syn->dport, TCP_ACK, syn->seq + 1, r.seq + 1,
                                 syn->wnd);
    a.src_ip = syn->src_ip;
    a.dst_ip = syn->dst_ip;
    lwip_host_input(&a);
    return r;
}
