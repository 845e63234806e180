/* Stateful TCP fuzzer: the real lwIP with net/port/lwipopts.h, the HTTP server
 * (port 80) and the iperf server (port 5001) on a simulated netif, driven by
 * a byte string read as a sequence of operations (see the op_* functions):
 * open a connection from one of a few peers, send a segment whose sequence,
 * ack and window are chosen relative to what that peer has seen of lwIP, let
 * time pass (lwIP's timers run), lose or duplicate segments, hold transmitted
 * buffers like a device that has not completed them, act as a well-behaved
 * client for a while, crowd the pools with connections, pipeline byte by byte.
 * lwIP asserts abort (arch/cc.h). After each input every
 * connection is aborted and the pools and the heap must be back at their
 * idle level, so a leak is a crash too. FUZZ_TRACE=1 prints every step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include "net/apps/http_server.h"
#include "net/apps/iperf.h"
#include "net/guard/siphash.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_syncookie.h"
#include "tests/fuzz/lwip_host/fuzz_common.h"
#include "tests/fuzz/lwip_host/host_port.h"
#include "tests/fuzz/lwip_host/peer.h"
#include "tests/fuzz/lwip_host/sim_netif.h"

#define MAX_OPS      400
#define MAX_TIME_MS  (10u * 60 * 1000)   /* simulated time per input */

static uint32_t time_used;
static uint16_t next_port, next_crowd_port;     /* reset per input: replays are exact */
static mem_size_t mem_idle;

/* ---- time ---- */

static void advance(uint32_t ms) { fuzz_advance(ms, peers_drain); }

/* ---- payloads ---- */

static const char *const canned[] = {
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /bytes/200000 HTTP/1.1\r\n\r\n",
    "GET /stats.json HTTP/1.1\r\n\r\n",
    "GET /bytes/1 HTTP/1.0\r\n\r\n",
    "HEAD /style.css HTTP/1.1\r\nConnection: close\r\n\r\n",
    "GET /bytes/5000 HTTP/1.1\r\n\r\nGET /stats HTTP/1.1\r\n\r\nGET /style.css HTTP/1.1\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
    "GET /bytes/1073741824 HTTP/1.1\r\n\r\n",
    "GET /bytes/3000000 HT",
    "TP/1.1\r\n\r\n",
    "GET /bytes/65536 HTTP/1.1\r\nConnection: close\r\n\r\n",
    "GET /nope HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET / HTTP/1.1\r\n",
    "\r\n",
    "X",
    "\x00\xff\r\n\r\n",
    "GET /bytes/3000 HTTP/1.1\r\n\r\n",
    "GET /bytes/1460 HTTP/1.1\r\n\r\n",
};
#define NCANNED (sizeof canned / sizeof canned[0])

/* iperf2 client header (lwiperf's lwiperf_settings_t, network order):
 * flags, num_threads, remote_port, buffer_len, win_band, amount. */
static size_t iperf_header(uint8_t *b, uint8_t variant)
{
    static const uint32_t flags[4] = {0, 0x80000000u, 0x80000001u, 0x01};
    uint32_t f[6] = {flags[variant & 3], 1, 5001, 0, 0,
                     (variant & 4) ? (uint32_t)-100 /* 1 s */ : 100000};
    for (int i = 0; i < 6; i++) {
        b[4 * i] = (uint8_t)(f[i] >> 24);
        b[4 * i + 1] = (uint8_t)(f[i] >> 16);
        b[4 * i + 2] = (uint8_t)(f[i] >> 8);
        b[4 * i + 3] = (uint8_t)f[i];
    }
    return 24;
}

/* Payload selector: kind in the top 3 bits, a size in the low 5. */
static uint16_t payload(struct input *in, uint8_t sel, uint8_t *buf)
{
    unsigned k = sel & 31, n = 0;

    switch (sel >> 5) {
    case 0: return 0;
    case 1: n = (unsigned)strlen(canned[k % NCANNED]); memcpy(buf, canned[k % NCANNED], n); return (uint16_t)n;
    case 2: n = k * 4; for (unsigned i = 0; i < n; i++) buf[i] = u8(in); return (uint16_t)n;
    case 3: n = k * 100 + 1; break;
    case 4: n = TCP_MSS; break;
    case 5: return (uint16_t)iperf_header(buf, (uint8_t)k);
    case 6: n = k + 1; break;
    default: n = k * 2000 + 1; break;
    }
    for (unsigned i = 0; i < n; i++)
        buf[i] = (uint8_t)('a' + i % 26);
    return (uint16_t)n;
}

/* ---- operations ---- */

static struct slot *slot_of(uint8_t b) { return &slots[b % PEER_SLOTS]; }

static uint16_t window(uint8_t b)
{
    if (b < 8)
        return b;           /* zero and silly windows */
    return b == 255 ? 0xffff : (uint16_t)(b << 8);
}

/* OPEN: a SYN from a fresh port, optionally with MSS/wscale, optionally
 * completing the handshake. */
static void op_open(struct input *in)
{
    static const uint16_t ports[4] = {80, 80, 5001, 81};
    uint8_t a = u8(in), b = u8(in), isn = u8(in);
    struct slot *s = slot_of(a);
    uint8_t opts[8];
    struct seg g = {0};

    memset(s, 0, sizeof *s);
    s->used = true;
    s->ip = (uint8_t)((a >> 2) % PEER_IPS);
    s->lport = ports[(a >> 4) & 3];
    s->pport = next_port;
    next_port = (uint16_t)(next_port == 19999 ? 1024 : next_port + 1);
    s->snd_nxt = (uint32_t)isn << 24 | 0x123456;
    g.seq = s->snd_nxt;
    g.flags = TCP_SYN;
    g.win = 0xffff;
    if (b & 0x80) {     /* MSS from 64 up, window scale 0..15 */
        uint16_t mss = (uint16_t)(64 + (b & 0x0f) * 100);
        opts[0] = 2; opts[1] = 4; opts[2] = (uint8_t)(mss >> 8); opts[3] = (uint8_t)mss;
        opts[4] = 1; opts[5] = 3; opts[6] = 3; opts[7] = (uint8_t)((b >> 4) & 7) * 2;
        g.opts = opts;
        g.optlen = (b & 0x40) ? 8 : 4;
    }
    peer_send(s, &g);
    s->snd_nxt++;
    peers_drain();
    if ((a & 0x40) && s->synced && !s->reset) {
        struct seg ack = {.seq = s->snd_nxt, .ack = s->rcv_nxt, .flags = TCP_ACK, .win = 0xffff};
        peer_send(s, &ack);
    }
}

/* ACK choice relative to the peer's view: 3 bits of mode, 5 of amount. */
static uint32_t ack_value(const struct slot *s, uint8_t b, struct input *in)
{
    uint32_t k = b & 31;

    switch (b >> 5) {
    case 0: return s->rcv_nxt;
    case 1: return s->lw_max;
    case 2: return s->rcv_nxt - k;
    case 3: return s->rcv_nxt + k;
    case 4: return s->acked + (uint32_t)((uint64_t)(s->rcv_nxt - s->acked) * k / 32);
    case 5: return s->lw_isn + k;
    case 6: return s->lw_max + k * 1000;
    default: return (uint32_t)u16(in) << 16 | u16(in);
    }
}

/* SEG: any segment. flags, sequence (base + delta), ack, window, payload, split. */
static void op_seg(struct input *in)
{
    static uint8_t buf[65535];
    uint8_t a = u8(in), fl = u8(in), sq = u8(in), ak = u8(in), wn = u8(in), pl = u8(in),
            sp = u8(in);
    struct slot *s = slot_of(a);
    struct seg g = {0};

    if (!s->used)
        return;
    int d = (int8_t)(sq << 1) >> 1;     /* 7-bit signed delta */
    uint32_t base = (sq & 0x80) ? s->lw_ack : s->snd_nxt;
    g.seq = base + (uint32_t)((d > 31 || d < -32) ? d * 1024 : d);
    g.flags = fl & 0x3f;
    g.ack = ack_value(s, ak, in);
    g.win = window(wn);
    g.data = buf;
    g.len = payload(in, pl, buf);
    /* The driver's first RX buffer always holds the headers (lwIP reads them
     * from the first pbuf), so a chain is split after them. */
    g.split = sp ? (uint16_t)(68 + (uint32_t)sp * g.len / 256) : 0;
    peer_send(s, &g);
    uint32_t end = g.seq + g.len + !!(g.flags & TCP_SYN) + !!(g.flags & TCP_FIN);
    if ((int32_t)(g.seq - s->snd_nxt) <= 0 && (int32_t)(end - s->snd_nxt) > 0)
        s->snd_nxt = end;
    peers_drain();
}

/* TIME: 10 ms steps up to 1.27 s, or whole seconds up to 128 s. */
static void op_time(struct input *in)
{
    uint8_t b = u8(in);
    uint32_t ms = b < 128 ? (uint32_t)b * 10 + 1 : (uint32_t)(b - 127) * 1000;

    if (time_used + ms > MAX_TIME_MS)
        ms = MAX_TIME_MS - time_used;
    time_used += ms;
    advance(ms);
}

/* ACK: the common case of SEG, cheaper for the fuzzer to find. */
static void op_ack(struct input *in)
{
    uint8_t a = u8(in), ak = u8(in);
    struct slot *s = slot_of(a);
    static const uint16_t wins[4] = {0, 0xffff, 0x0400, 1};

    if (!s->used || !s->synced)
        return;
    /* lwIP opened this one: the peer answers its SYN first. */
    bool synack = s->acked == 0 && s->lw_ack == 0 && s->rcv_nxt == s->lw_isn + 1;
    struct seg g = {.seq = s->snd_nxt, .ack = ack_value(s, ak, in),
                    .flags = (uint8_t)(TCP_ACK | (synack ? TCP_SYN : 0)), .win = wins[(a >> 2) & 3]};
    peer_send(s, &g);
    if (synack)
        s->snd_nxt++;
    peers_drain();
}

/* SEND: in-order data with a full ack (a request, iperf data). */
static void op_send(struct input *in)
{
    static uint8_t buf[65535];
    uint8_t a = u8(in), pl = u8(in);
    struct slot *s = slot_of(a);
    struct seg g = {0};

    if (!s->used)
        return;
    g.seq = s->snd_nxt;
    g.ack = s->rcv_nxt;
    g.flags = TCP_ACK | ((a & 4) ? TCP_PSH : 0) | ((a & 8) ? TCP_FIN : 0);
    g.win = 0xffff;
    g.data = buf;
    g.len = payload(in, pl, buf);
    peer_send(s, &g);
    s->snd_nxt += g.len + !!(g.flags & TCP_FIN);
    peers_drain();
}

/* CLIENT: a well-behaved client for n rounds of 20 ms: acks everything. */
static void op_client(struct input *in)
{
    uint8_t a = u8(in);
    struct slot *s = slot_of(a);
    unsigned rounds = 1u + (a >> 2);

    for (unsigned i = 0; i < rounds && s->used && s->synced && !s->reset; i++) {
        if (s->acked != s->rcv_nxt) {
            struct seg g = {.seq = s->snd_nxt, .ack = s->rcv_nxt, .flags = TCP_ACK, .win = 0xffff};
            peer_send(s, &g);
            peers_drain();
        }
        if (time_used + 20 > MAX_TIME_MS)
            break;
        time_used += 20;
        advance(20);
    }
}

/* RAW: arbitrary bytes as an IP packet, optionally with a sane IPv4 header
 * addressed to us from a peer. */
static void op_raw(struct input *in)
{
    uint8_t a = u8(in), n = u8(in), pkt[300];
    size_t len = (size_t)n + 20;

    for (size_t i = 0; i < len; i++)
        pkt[i] = u8(in);
    if (a & 1) {
        pkt[0] = 0x45;
        pkt[2] = (uint8_t)(len >> 8);
        pkt[3] = (uint8_t)len;
        uint32_t src = SIM_PEER_IP(a >> 6), dst = SIM_LOCAL_IP;
        for (int i = 0; i < 4; i++) {
            pkt[12 + i] = (uint8_t)(src >> (24 - 8 * i));
            pkt[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
        }
    }
    sim_inject(pkt, len, (a >> 1) & 1 ? 68 : 0);
    peers_drain();
}

static void op_misc(struct input *in)
{
    uint8_t a = u8(in);
    struct slot *s = slot_of(a);

    switch ((a >> 2) & 7) {
    case 0: case 4: s->drop = (uint8_t)(a >> 5); break;     /* lose lwIP's next segments */
    case 1: case 5: if (s->used) { peer_dup(s); peers_drain(); } break;
    case 2: sim_set_tx_hold(a & 0x20); sim_set_tso(a & 0x40); break;
    case 3: case 7: sim_tx_complete(); break;
    default: {  /* resource pressure: lwIP aborts a connection (as tcp_kill_prio does) */
        struct tcp_pcb *pcb = tcp_active_pcbs;
        for (unsigned i = a >> 5; pcb && i; i--)
            pcb = pcb->next;
        if (pcb)
            tcp_abort(pcb);
        peers_drain();
        break;
    }
    }
}

/* CROWD: many connections at once from fresh ports, not tracked by the slots
 * (their peers go silent): fills the HTTP pool (eviction) and the pcb pool
 * (tcp_kill_prio), optionally each with a request. */
static void op_crowd(struct input *in)
{
    uint8_t a = u8(in), b = u8(in);
    unsigned n = 1u + (a & 15) * ((a & 16) ? 40u : 2u);    /* big crowds are rare: slow */
    struct slot c = {.used = true, .lport = (b & 1) ? 5001 : 80};
    static uint8_t buf[65535];

    for (unsigned i = 0; i < n; i++) {
        c.ip = (uint8_t)(i % PEER_IPS);
        c.pport = next_crowd_port;
        next_crowd_port = (uint16_t)(next_crowd_port >= 60000 ? 20000 : next_crowd_port + 1);
        c.synced = false;
        c.snd_nxt = 0x40000000u + i * 77777u;
        struct seg syn = {.seq = c.snd_nxt, .flags = TCP_SYN, .win = 0xffff};
        peer_send(&c, &syn);
        c.snd_nxt++;
        if (!(a & 0x40))
            continue;
        /* the SYN-ACK is not parsed for these: ack lwIP's ISN + 1 as seen last */
        struct sim_frame *f;
        size_t nf = sim_take_output(&f);
        if (!nf)
            continue;
        const uint8_t *t = f[nf - 1].data + 20;
        uint32_t isn = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
        struct seg ack = {.seq = c.snd_nxt, .ack = isn + 1, .flags = TCP_ACK, .win = 0xffff};
        if (a & 0x80) {
            ack.len = payload(in, b & 0xfe ? (uint8_t)(0x20 | (b >> 3)) : 0x21, buf);
            ack.data = buf;
            ack.flags |= TCP_PSH;
        }
        peer_send(&c, &ack);
        sim_take_output(&f);
    }
    peers_drain();
}

/* BURST: n one-byte in-order segments on a slot (pipelined bytes, each a buffer). */
static void op_burst(struct input *in)
{
    uint8_t a = u8(in), b = u8(in);
    struct slot *s = slot_of(a);
    unsigned n = 1u + (unsigned)b * 4u;
    static const char req[] = "GET / HTTP/1.1\r\n\r\n";
    uint8_t byte = (uint8_t)req[a % (sizeof req - 1)];

    if (!s->used)
        return;
    for (unsigned i = 0; i < n; i++) {
        struct seg g = {.seq = s->snd_nxt, .ack = s->rcv_nxt, .flags = TCP_ACK,
                        .win = (a & 4) ? 0 : 0xffff, .data = &byte, .len = 1};
        peer_send(s, &g);
        s->snd_nxt++;
        if ((i & 63) == 63)
            peers_drain();
    }
    peers_drain();
}

/* ---- lifetime ---- */

/* tcp_tmr() runs tcp_slowtmr() on every second call (a static counter in
 * tcp.c): linked with --wrap=tcp_tmr, the harness counts the calls and evens
 * them out between inputs, so an input meets the same timer phase whether it
 * runs first or after thousands of others. */
void __real_tcp_tmr(void);
void __wrap_tcp_tmr(void);
static unsigned tcp_tmr_calls;

void __wrap_tcp_tmr(void)
{
    tcp_tmr_calls++;
    __real_tcp_tmr();
}


static void check_idle(void)
{
    static const memp_t must_be_empty[] = {MEMP_TCP_PCB, MEMP_TCP_SEG, MEMP_PBUF, MEMP_PBUF_POOL,
                                           MEMP_REASSDATA, MEMP_FRAG_PBUF, MEMP_ARP_QUEUE};
    int bad = 0;

    fuzz_check_pools();
    for (size_t i = 0; i < sizeof must_be_empty / sizeof must_be_empty[0]; i++) {
        const struct stats_mem *m = lwip_stats.memp[must_be_empty[i]];
        if (m->used) {
            fprintf(stderr, "LEAK: memp %s: %u in use after every connection was aborted\n",
                    fuzz_pool_names[must_be_empty[i]], (unsigned)m->used);
            bad = 1;
        }
    }
    if (lwip_stats.mem.used != mem_idle) {
        fprintf(stderr, "LEAK: heap %u bytes in use, %u when idle\n",
                (unsigned)lwip_stats.mem.used, (unsigned)mem_idle);
        bad = 1;
    }
    if (sim_rx_outstanding()) {
        fprintf(stderr, "LEAK: %ld RX buffers still held by lwIP\n", sim_rx_outstanding());
        bad = 1;
    }
    if (bad)
        abort();
}

/* Resets every connection from the peer's side (an in-window RST, so the
 * servers see the error callback of a remote reset), aborts what is left
 * (TIME_WAIT ignores RSTs), then moves the clock to the next whole minute at least 20 s
 * on (reassembly expires) so every input starts with the timers in phase. */
static void teardown(int check)
{
    sim_set_tx_hold(false);
    sim_tx_complete();
    for (int guard = 0; tcp_active_pcbs && guard < 2 * MEMP_NUM_TCP_PCB; guard++) {
        struct tcp_pcb *pcb = tcp_active_pcbs;
        uint32_t rip = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)));
        if (rip - SIM_PEER_IP(0) >= PEER_IPS)
            break;
        peer_rst(rip, pcb->remote_port, pcb->local_port, pcb->rcv_nxt, pcb->snd_nxt);
        if (tcp_active_pcbs == pcb)     /* still there (RST not accepted) */
            break;
        fuzz_check_pools();
    }
    while (tcp_active_pcbs) {
        tcp_abort(tcp_active_pcbs);
        fuzz_check_pools();
    }
    while (tcp_tw_pcbs)
        tcp_abort(tcp_tw_pcbs);
    uint32_t t = host_now_ms + 20000;
    advance(60000 - t % 60000 + 20000);
    if (tcp_tmr_calls & 1)
        __wrap_tcp_tmr();       /* no pcbs left: only the phase moves */
    struct sim_frame *f;
    sim_take_output(&f);
    if (check)
        check_idle();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_lwip_init();
    sim_netif_init();
    if (http_server_start(80) != 0)
        abort();
    iperf_server_start();
    teardown(0);
    mem_idle = lwip_stats.mem.used;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const ops[])(struct input *) = {
        op_open, op_seg, op_time, op_ack, op_send, op_client, op_raw, op_misc, op_crowd, op_burst,
    };
    const unsigned nops = sizeof ops / sizeof ops[0];
    struct input in = {data, size};

    host_rand_seed(1);
    /* Half the inputs start with TCP segmentation offload (MISC may switch
     * it mid-connection): super-segments, their cuts, partial ACKs. */
    sim_set_tso(size & 1);
    /* No pcb is left, so nothing holds a tcp_ticks value: restart it. Not at 0:
     * lwIP takes rttest == 0 for "no RTT sample running", so the first input
     * would see no RTT samples and a different RTO than every later one. */
    tcp_ticks = 1000;
    peers_reset();
    time_used = 0;
    next_port = 1024;
    next_crowd_port = 20000;
    for (int n = 0; in.n && n < MAX_OPS; n++) {
        uint8_t op = u8(&in);
        if (host_trace)
            fprintf(stderr, "[%u ms] op %u\n", (unsigned)host_now_ms, op % nops);
        ops[op % nops](&in);
        fuzz_check_pools();
    }
    teardown(1);
    return 0;
}
