/* Ethernet frame fuzzer: whole frames into the kernel's own glue (net/glue/netif.c
 * glue_rx, through rx_guard, arp_guard and stall_guard, then lwIP's
 * ethernet_input) from a fake netdev, with lwIP configured as the kernel
 * configures it (net/port/lwipopts.h: ARP, IPv4 + IPv6, ND/SLAAC/MLD, both
 * reassemblies, the HTTP and iperf listeners). Each frame lies in a heap
 * buffer of exactly its length (two when split, like mergeable buffers), so
 * ASan reports any read past it. The input is a sequence of records:
 *   FRAME  op (bits 0-1 != 3), len (2 bytes, & 0x7ff), flags, bytes:
 *          flags bit 0: fix the IPv4 header and L4 checksums first;
 *          bit 1: the device vouches for the L4 checksum (CSUM_UNNECESSARY);
 *          bit 2: split into two buffers at the next byte.
 *   TIME   op & 0x83 == 3, one byte: 10 ms .. 1.27 s, or 1 .. 128 s (timers run).
 *   DHCP   op & 0x83 == 0x83, one byte: start the DHCP client (as the kernel does
 *          without ip=), or release and stop it. Its xid comes from the
 *          per-input seeded LWIP_RAND, so a reply can match it (FUZZ_TRACE=1
 *          prints it).
 * Every input starts from the same state; after it, time moves on past
 * reassembly and ARP/ND queue expiry, caches and learned addresses are
 * cleared and the pools, the heap and the RX buffers must be back at idle:
 * a leak is a crash too. FUZZ_TRACE=1 prints every record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/netdev.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/nd6.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

#include "net/glue/config.h"
#include "net/apps/http_server.h"
#include "net/apps/iperf.h"
#include "net/glue/netif.h"
#include "net/guard/rx_guard.h"
#include "net/guard/siphash.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_syncookie.h"
#include "tests/fuzz/lwip_host/fuzz_common.h"
#include "tests/fuzz/lwip_host/host_port.h"
#include "tests/fuzz/lwip_host/eth_csum.h"

#define MAX_RECORDS  64
#define MAX_FRAME    0x7ff
#define TX_MAX       64     /* frames "on the ring"; beyond: NETDEV_TX_BUSY */

/* ---- the fake device ---- */

static struct netdev dev;
static void *tx_tokens[TX_MAX];
static unsigned ntx;
static long rx_outstanding;
static uint8_t tx_scratch[65536 + 64];

static enum netdev_tx fake_xmit(struct netdev *d, unsigned queue, const struct netdev_tx_sg *sg,
                                unsigned nsg, const struct netdev_tx_offload *off, void *token)
{
    size_t at = 0;

    (void)d;
    (void)queue;
    (void)off;
    if (ntx == TX_MAX)
        return NETDEV_TX_BUSY;
    /* The device reads every piece: a piece past its pbuf is an ASan report here. */
    for (unsigned i = 0; i < nsg; i++) {
        if (at + sg[i].len > sizeof tx_scratch)
            abort();
        memcpy(tx_scratch + at, sg[i].data, sg[i].len);
        at += sg[i].len;
    }
    if (host_trace)
        fprintf(stderr, "[%u ms] tx %zu bytes type %02x%02x\n", (unsigned)host_now_ms, at,
                at > 13 ? tx_scratch[12] : 0, at > 13 ? tx_scratch[13] : 0);
    tx_tokens[ntx++] = token;
    return NETDEV_TX_OK;
}

static void fake_xmit_flush(struct netdev *d) { (void)d; }

static void fake_rx_release(struct netdev *d, void *buf)
{
    (void)d;
    rx_outstanding--;
    free(buf);
}

static int fake_open(struct netdev *d) { (void)d; return 0; }

static const struct netdev_ops fake_ops = {
    .xmit = fake_xmit,
    .xmit_flush = fake_xmit_flush,
    .rx_buf_release = fake_rx_release,
    .open = fake_open,
};

/* The device completes everything it was given, then the main loop flushes. */
static void tx_complete(void)
{
    for (int round = 0; round < 8; round++) {
        unsigned n = ntx;
        void *t[TX_MAX];
        memcpy(t, tx_tokens, sizeof(t[0]) * n);
        ntx = 0;
        for (unsigned i = 0; i < n; i++)
            dev.tx_done(&dev, t[i]);
        if (dev.tx_wake)
            dev.tx_wake(&dev, 0);
        netglue_flush();
        if (!ntx)
            return;
    }
}

/* ---- time ---- */

static void advance(uint32_t ms) { fuzz_advance(ms, tx_complete); }

/* ---- frames ---- */

static void *piece(const uint8_t *src, size_t n)
{
    void *b = malloc(n ? n : 1);
    if (!b)
        abort();
    memcpy(b, src, n);
    rx_outstanding++;
    return b;
}

static void op_frame(struct input *in)
{
    static uint8_t frame[MAX_FRAME];
    size_t len = (size_t)(u8(in) << 8 | u8(in)) & MAX_FRAME;
    uint8_t flags = u8(in), split = (flags & 4) ? u8(in) : 0;

    if (len > in->n)
        len = in->n;
    memcpy(frame, in->p, len);
    in->p += len;
    in->n -= len;
    if (!len)
        return;
    if (flags & 1)
        eth_fix_checksums(frame, len);
    if (host_trace)
        fprintf(stderr, "[%u ms] rx %zu bytes type %02x%02x flags %x split %u\n",
                (unsigned)host_now_ms, len, len > 13 ? frame[12] : 0, len > 13 ? frame[13] : 0,
                flags & 7, split);

    struct netdev_rx_frag f[2];
    unsigned n = 1;
    if (split && split < len) {
        f[0] = (struct netdev_rx_frag){.data = piece(frame, split), .len = split};
        f[1] = (struct netdev_rx_frag){.data = piece(frame + split, len - split),
                                       .len = (uint32_t)(len - split)};
        n = 2;
    } else {
        f[0] = (struct netdev_rx_frag){.data = piece(frame, len), .len = (uint32_t)len};
    }
    for (unsigned i = 0; i < n; i++)
        f[i].buf = f[i].data;
    dev.rx(&dev, f, n, (flags & 2) ? NETDEV_RX_CSUM_UNNECESSARY : 0);
    tx_complete();
    if (host_trace)
        fprintf(stderr, "  drops so far: link %u arp %u ip4 %u icmp %u ip6 %u icmp6 %u nd6 %u "
                "tcp %u udp %u (ip6 recv %u icmp6 recv %u, link-local state %x)\n", lwip_stats.link.drop, lwip_stats.etharp.drop,
                lwip_stats.ip.drop, lwip_stats.icmp.drop, lwip_stats.ip6.drop,
                lwip_stats.icmp6.drop, lwip_stats.nd6.drop, lwip_stats.tcp.drop,
                lwip_stats.udp.drop, lwip_stats.ip6.recv, lwip_stats.icmp6.recv, netif_ip6_addr_state(netif_default, 0));
}

static void op_time(struct input *in)
{
    uint8_t t = u8(in);
    advance(t < 128 ? (t + 1u) * 10u : (t - 127u) * 1000u);
}

static void op_dhcp(struct input *in)
{
    struct netif *nif = netif_default;
    uint8_t a = u8(in);

    /* The kernel's two calls (dhcp_renew and friends are for a running
     * client only, and the lease timers call them): */
    if (a & 1)
        dhcp_release_and_stop(nif);
    else
        dhcp_start(nif);
    tx_complete();
    if (host_trace && netif_dhcp_data(nif))
        fprintf(stderr, "[%u ms] dhcp state %u xid %08x\n", (unsigned)host_now_ms,
                netif_dhcp_data(nif)->state, (unsigned)netif_dhcp_data(nif)->xid);
}

/* ---- lifetime ---- */


static mem_size_t pool_idle[MEMP_MAX];
static mem_size_t mem_idle;
static ip6_addr_t ip6_idle[LWIP_IPV6_NUM_ADDRESSES];
static u8_t ip6_state_idle[LWIP_IPV6_NUM_ADDRESSES];
static u16_t mtu6_idle;
static ip4_addr_t ip4_idle, mask_idle, gw_idle;


static void check_idle(void)
{
    int bad = 0;

    fuzz_check_pools();
    for (int i = 0; i < MEMP_MAX; i++)
        if (lwip_stats.memp[i]->used != pool_idle[i]) {
            fprintf(stderr, "LEAK: memp %s: %d in use, %d when idle\n", fuzz_pool_names[i],
                    (int)lwip_stats.memp[i]->used, (int)pool_idle[i]);
            bad = 1;
        }
    if (lwip_stats.mem.used != mem_idle) {
        fprintf(stderr, "LEAK: heap %u bytes in use, %u when idle\n",
                (unsigned)lwip_stats.mem.used, (unsigned)mem_idle);
        bad = 1;
    }
    if (rx_outstanding || rx_guard_lent()) {
        fprintf(stderr, "LEAK: %ld RX buffers (%u lent by rx_guard) still held\n", rx_outstanding,
                rx_guard_lent());
        bad = 1;
    }
    if (bad)
        abort();
}

/* Back to the state every input starts from: no connections, reassembly and
 * the ARP/ND queues expired (a whole minute on, and more than IPv6's 60 s
 * reassembly age), no learned neighbours, routers, prefixes or addresses. */
static void teardown(int check)
{
    struct netif *nif = netif_default;

    tx_complete();
    while (tcp_active_pcbs) {
        tcp_abort(tcp_active_pcbs);
        fuzz_check_pools();
    }
    while (tcp_tw_pcbs)
        tcp_abort(tcp_tw_pcbs);
    if (netif_dhcp_data(nif)) {
        dhcp_release_and_stop(nif);
        dhcp_cleanup(nif);
    }
    if (!ip4_addr_eq(netif_ip4_addr(nif), &ip4_idle) ||
        !ip4_addr_eq(netif_ip4_netmask(nif), &mask_idle) || !ip4_addr_eq(netif_ip4_gw(nif), &gw_idle))
        netif_set_addr(nif, &ip4_idle, &mask_idle, &gw_idle);
    uint32_t t = host_now_ms + 65000;
    advance(60000 - t % 60000 + 65000);
    etharp_cleanup_netif(nif);
    nd6_cleanup_netif(nif);
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        if (ip6_addr_eq(netif_ip6_addr(nif, i), &ip6_idle[i]) &&
            netif_ip6_addr_state(nif, i) == ip6_state_idle[i])
            continue;
        netif_ip6_addr_set_state(nif, i, IP6_ADDR_INVALID);
        if (ip6_state_idle[i] != IP6_ADDR_INVALID) {
            netif_ip6_addr_set(nif, i, &ip6_idle[i]);
            netif_ip6_addr_set_state(nif, i, ip6_state_idle[i]);
        }
    }
    nif->mtu6 = mtu6_idle;
    tx_complete();
    if (check)
        check_idle();
}

static void on_ready(uint32_t ip) { (void)ip; }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_lwip_init();

    dev = (struct netdev){.name = "fake", .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
                          .mtu = 1500, .link_up = true, .tx_csum_offload = true,
                          .num_queues = 1, .ops = &fake_ops};
    /* ip=192.0.2.1/24 gw=192.0.2.254, no ip6= (SLAAC from RAs) */
    const struct net_config cfg = {.has_ip = true, .ip = 0xc0000201u, .prefix_len = 24,
                                   .has_gw = true, .gw = 0xc00002feu, .http_port = 80};
    if (netglue_init(&dev, &cfg, on_ready) != 0)
        abort();
    if (http_server_start(80) != 0)
        abort();
    iperf_server_start();
    advance(10000);     /* DAD of the link-local address, router solicitations */
    struct netif *nif = netif_default;
    for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        ip6_addr_copy(ip6_idle[i], *netif_ip6_addr(nif, i));
        ip6_state_idle[i] = netif_ip6_addr_state(nif, i);
    }
    mtu6_idle = nif->mtu6;
    ip4_addr_copy(ip4_idle, *netif_ip4_addr(nif));
    ip4_addr_copy(mask_idle, *netif_ip4_netmask(nif));
    ip4_addr_copy(gw_idle, *netif_ip4_gw(nif));
    teardown(0);
    for (int i = 0; i < MEMP_MAX; i++)
        pool_idle[i] = lwip_stats.memp[i]->used;
    mem_idle = lwip_stats.mem.used;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};

    host_rand_seed(1);
    tcp_ticks = 1000;
    for (int n = 0; in.n && n < MAX_RECORDS; n++) {
        uint8_t op = u8(&in);
        if ((op & 0x83) == 0x83)
            op_dhcp(&in);
        else if ((op & 3) == 3)
            op_time(&in);
        else
            op_frame(&in);
        fuzz_check_pools();
    }
    teardown(1);
    return 0;
}
