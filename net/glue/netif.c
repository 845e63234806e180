/* lwIP netif on top of a netdev.
 *
 * RX is zero-copy: each driver buffer becomes a PBUF_REF custom pbuf (its
 * struct in a glue array, never in the buffer: net/guard/rx_guard.c, which also
 * bounds what lwIP may keep of them); when lwIP frees the pbuf the buffer
 * goes back to the driver.
 * TX hands the pbuf chain's pieces to the driver in place and holds a
 * reference until the device is done with them. When the ring is full the
 * frame waits in a small backlog (the driver has stopped the queue) and is
 * sent on tx_wake: no silent drop, and back-pressure instead of a crash. */
#include "net/glue/netif.h"

#include <string.h>

#include "kernel/log.h"
#include "net/glue/tso.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "net/glue/netif_ipv6.h"
#include "net/guard/arp_guard.h"
#include "net/guard/icmp_errors.h"
#include "net/guard/rx_guard.h"
#include "net/guard/stall_guard.h"
#include "netif/ethernet.h"

#define TX_BACKLOG_MAX 256

static struct netif netif;
static struct netdev *ndev;
static void (*ready_cb)(uint32_t);
static int ready_done;
static struct netglue_counters counters;
static u16_t checksum_flags = NETIF_CHECKSUM_ENABLE_ALL;

/* FIFO of frames waiting for ring space, each holding a reference. */
static struct pbuf *backlog[TX_BACKLOG_MAX];
static unsigned backlog_head, backlog_len;

struct netdev *netglue_dev(void) { return ndev; }
const struct netglue_counters *netglue_counters(void) { return &counters; }

static bool is_syn(const struct pbuf *p);

static void glue_rx(struct netdev *dev, const struct netdev_rx_frag *frags, unsigned nfrags,
                    unsigned flags)
{
    struct pbuf *head = rx_guard_frame(dev, frags, nfrags);
    if (!head)
        return;
    arp_guard_seen(&netif, head);
    if (is_syn(head))
        stall_guard_make_room();    /* before lwIP looks for a pcb for it */
    /* lwIP's checksum checks are per netif, and NO_SYS input runs to the
     * end of TCP/UDP input synchronously: switching the L4 checks off for
     * exactly this frame is a per-packet CHECKSUM_UNNECESSARY. */
    bool trusted = flags & NETDEV_RX_CSUM_UNNECESSARY;
    if (trusted)
        NETIF_SET_CHECKSUM_CTRL(&netif, checksum_flags & ~(NETIF_CHECKSUM_CHECK_TCP |
                                                           NETIF_CHECKSUM_CHECK_UDP));
    err_t err = netif.input(head, &netif);
    if (trusted)
        NETIF_SET_CHECKSUM_CTRL(&netif, checksum_flags);
    if (err != ERR_OK) {
        counters.rx_input_errors++;
        pbuf_free(head);
    }
    arp_guard_check(&netif);
}

/* The IPv4 header of an Ethernet frame whose first pbuf holds both headers
 * (lwIP builds them in one header pbuf), or NULL. */
static struct ip_hdr *frame_ipv4(const struct pbuf *p)
{
    if (p->len < SIZEOF_ETH_HDR + IP_HLEN ||
        ((const struct eth_hdr *)p->payload)->type != PP_HTONS(ETHTYPE_IP))
        return NULL;
    return (struct ip_hdr *)((uint8_t *)p->payload + SIZEOF_ETH_HDR);
}

/* A TCP SYN without ACK: someone wants a new connection. */
static bool is_syn(const struct pbuf *p)
{
    const struct ip_hdr *ip = frame_ipv4(p);
    if (!ip || IPH_PROTO(ip) != IP_PROTO_TCP || (IPH_OFFSET(ip) & PP_HTONS(IP_OFFMASK)) ||
        p->len < SIZEOF_ETH_HDR + IPH_HL_BYTES(ip) + TCP_HLEN)
        return false;
    const struct tcp_hdr *tcp = (const struct tcp_hdr *)((const uint8_t *)ip + IPH_HL_BYTES(ip));
    return (TCPH_FLAGS(tcp) & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

/* With TX checksum offload lwIP leaves the TCP checksum at 0 (per-netif
 * NETIF_CHECKSUM_GEN_TCP off); the device wants the pseudo-header sum
 * there and csum_start/offset (virtio 1.x 5.1.6.2). Returns false when the
 * frame is not an unfragmented IPv4 TCP segment with its headers in the
 * first pbuf: the caller then sums in software (tcp_csum_software), or drops
 * a super-segment, which the device could not cut without offload. */
static bool tcp_csum_offload(struct pbuf *p, struct netdev_tx_offload *off)
{
    struct ip_hdr *ip = frame_ipv4(p);
    if (!ip)
        return false;
    unsigned ihl = IPH_HL_BYTES(ip);
    if (IPH_PROTO(ip) != IP_PROTO_TCP || ihl < IP_HLEN ||
        (IPH_OFFSET(ip) & PP_HTONS(IP_OFFMASK | IP_MF)))
        return false;
    unsigned l4 = SIZEOF_ETH_HDR + ihl;
    u16_t l4_len = (u16_t)(lwip_ntohs(IPH_LEN(ip)) - ihl);
    if (p->len < l4 + TCP_HLEN)
        return false;
    struct tcp_hdr *tcp = (struct tcp_hdr *)((uint8_t *)p->payload + l4);
    ip4_addr_t src, dst;
    ip4_addr_copy(src, ip->src);
    ip4_addr_copy(dst, ip->dest);
    /* ip_chksum_pseudo returns the complemented sum; the device wants the
     * uncomplemented partial sum to fold the payload into. */
    tcp->chksum = (u16_t)~inet_chksum_pseudo_partial(NULL, IP_PROTO_TCP, l4_len, 0, &src, &dst);
    off->csum_partial = true;
    off->csum_start = (uint16_t)l4;
    off->csum_offset = 16;     /* offsetof(struct tcp_hdr, chksum) */
    return true;
}

static void tcp_csum_software(struct pbuf *p)
{
    /* Rare path (headers split across pbufs): compute it the slow way. */
    struct ip_hdr *ip = frame_ipv4(p);
    if (!ip || IPH_PROTO(ip) != IP_PROTO_TCP)
        return;
    unsigned ihl = IPH_HL_BYTES(ip);
    u16_t l4_len = (u16_t)(lwip_ntohs(IPH_LEN(ip)) - ihl);
    ip4_addr_t src, dst;
    ip4_addr_copy(src, ip->src);
    ip4_addr_copy(dst, ip->dest);
    if (pbuf_remove_header(p, SIZEOF_ETH_HDR + ihl))
        return;
    if (p->len >= TCP_HLEN) {
        struct tcp_hdr *tcp = p->payload;
        tcp->chksum = 0;
        tcp->chksum = inet_chksum_pseudo(p, IP_PROTO_TCP, l4_len, &src, &dst);
    }
    pbuf_add_header(p, SIZEOF_ETH_HDR + ihl);
}

/* TX queue for a frame: a hash of the IPv4 addresses and ports, so one flow
 * always leaves by one queue (no reordering) and, with a multiqueue tap
 * backend, its replies come back on the matching RX queue (the host's tun
 * steers a flow's RX to the queue it last transmitted on). Non-IP frames
 * and single-queue devices use queue 0. */
static unsigned select_queue(const struct pbuf *p)
{
    if (ndev->num_queues < 2)
        return 0;
    const struct ip_hdr *ip = frame_ipv4(p);
    if (!ip)
        return netif_ipv6_flow_hash(p) % ndev->num_queues;
    unsigned ihl = IPH_HL_BYTES(ip);
    uint32_t h = ip->src.addr ^ ip->dest.addr;
    if ((IPH_PROTO(ip) == IP_PROTO_TCP || IPH_PROTO(ip) == IP_PROTO_UDP) &&
        p->len >= SIZEOF_ETH_HDR + ihl + 4 && !(IPH_OFFSET(ip) & PP_HTONS(IP_OFFMASK))) {
        uint32_t ports;
        memcpy(&ports, (const uint8_t *)ip + ihl, 4);
        h ^= ports;
    }
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    return h % ndev->num_queues;
}

/* Checksum (and for a super-segment, segmentation) offload fields; false:
 * drop (a super-segment the device cannot take). */
static bool tx_offload(struct pbuf *p, struct netdev_tx_offload *off)
{
    if (!ndev->tx_csum_offload)
        return !tso_frame(p);
    if (tso_frame(p)) {
        bool v6 = netif_ipv6_tso_csum(p, off);
        if (!v6 && !tcp_csum_offload(p, off))
            return false;
        return tso_offload(p, v6, off);
    }
    if (!netif_ipv6_tx_csum(p, off) && !tcp_csum_offload(p, off))
        tcp_csum_software(p);
    return true;
}

/* A super-segment from lwIP (tso.h) goes as one frame the device segments.
 * NETDEV_TX_DROPPED from here without the driver (no memory for the copy, an
 * offload the device cannot take) is counted here; the driver counts its own. */
static enum netdev_tx try_xmit(struct pbuf *p)
{
    struct netdev_tx_sg sg[NETDEV_TX_MAX_SG_GSO];
    struct netdev_tx_offload off = { 0 };
    struct pbuf *send = p;
    unsigned n = 0, max = tso_frame(p) ? NETDEV_TX_MAX_SG_GSO : NETDEV_TX_MAX_SG;
    for (struct pbuf *q = p; q; q = q->next) {
        if (!q->len)
            continue;
        if (n == max) {
            n = 0;
            break;
        }
        sg[n++] = (struct netdev_tx_sg){ q->payload, q->len };
    }
    if (n == 0) {
        /* Longer chain than the ring takes per frame: one copy (pbuf_clone
         * keeps the super-segment mark). */
        send = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
        if (!send) {
            counters.tx_dropped++;
            return NETDEV_TX_DROPPED;
        }
        counters.tx_linearized++;
        sg[0] = (struct netdev_tx_sg){ send->payload, send->len };
        n = 1;
    } else {
        pbuf_ref(p);
    }
    if (!tx_offload(send, &off)) {
        counters.tx_dropped++;
        pbuf_free(send);
        return NETDEV_TX_DROPPED;
    }
    enum netdev_tx r = ndev->ops->xmit(ndev, select_queue(send), sg, n, &off, send);
    if (r != NETDEV_TX_OK)
        pbuf_free(send);
    else if (off.gso_type != NETDEV_GSO_NONE)
        tso_count(send, &off);
    return r;
}

static void backlog_drain(void)
{
    while (backlog_len) {
        struct pbuf *p = backlog[backlog_head];
        if (try_xmit(p) == NETDEV_TX_BUSY)
            return;
        /* sent, or dropped and counted by whoever dropped it */
        backlog_head = (backlog_head + 1) % TX_BACKLOG_MAX;
        backlog_len--;
        pbuf_free(p);
    }
}

static err_t glue_linkoutput(struct netif *nif, struct pbuf *p)
{
    (void)nif;
    if (!ndev->link_up)
        return ERR_IF;
    /* lwIP builds its ICMP errors in one pbuf, headers first. */
    if (icmp_error_frame(p->payload, p->len) && !icmp_error_allow())
        return ERR_OK;
    enum netdev_tx r = backlog_len ? NETDEV_TX_BUSY : try_xmit(p);
    if (r == NETDEV_TX_OK)
        return ERR_OK;
    if (r == NETDEV_TX_DROPPED)
        return ERR_MEM;
    if (backlog_len == TX_BACKLOG_MAX) {
        counters.tx_backlog_dropped++;
        counters.tx_dropped++;
        return ERR_MEM;
    }
    pbuf_ref(p);
    backlog[(backlog_head + backlog_len) % TX_BACKLOG_MAX] = p;
    backlog_len++;
    counters.tx_backlogged++;
    return ERR_OK;
}

static void glue_tx_done(struct netdev *dev, void *token)
{
    (void)dev;
    pbuf_free(token);
}

static void glue_tx_wake(struct netdev *dev, unsigned queue)
{
    (void)dev;
    (void)queue;
    backlog_drain();
}


static void glue_link_changed(struct netdev *dev)
{
    log_info("net: link %s", dev->link_up ? "up" : "down");
    if (dev->link_up)
        netif_set_link_up(&netif);
    else
        netif_set_link_down(&netif);
}

static err_t glue_netif_init(struct netif *nif)
{
    nif->name[0] = 'e';
    nif->name[1] = 'n';
    nif->output = etharp_output;
    nif->linkoutput = glue_linkoutput;
    nif->mtu = ndev->mtu;
    nif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(nif->hwaddr, ndev->mac, ETH_HWADDR_LEN);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    netif_ipv6_netif_init(nif);
    if (ndev->tx_csum_offload)
        checksum_flags &= (u16_t)~NETIF_CHECKSUM_GEN_TCP;
    NETIF_SET_CHECKSUM_CTRL(nif, checksum_flags);
    tso_netif_init(nif, ndev);
    return ERR_OK;
}

static void glue_status_changed(struct netif *nif)
{
    /* Also called for IPv6 address changes: log each IPv4 address once. */
    static u32_t logged;
    if (ip4_addr_isany_val(*netif_ip4_addr(nif)) || ip4_addr_get_u32(netif_ip4_addr(nif)) == logged)
        return;
    logged = ip4_addr_get_u32(netif_ip4_addr(nif));
    char ip[16], gw[16];
    ip4addr_ntoa_r(netif_ip4_addr(nif), ip, sizeof(ip));
    ip4addr_ntoa_r(netif_ip4_gw(nif), gw, sizeof(gw));
    log_info("net: ip %s/%d gw %s (%s)", ip,
             __builtin_popcount(ip4_addr_get_u32(netif_ip4_netmask(nif))), gw,
             dhcp_supplied_address(nif) ? "dhcp" : "static");
    /* Nearly every first peer is reached through the gateway: ask for its
     * MAC now rather than when the first SYN-ACK is held for it. Earlier ARP
     * requests from it, sent while we had no address, taught lwIP nothing. */
    if (!ip4_addr_isany(netif_ip4_gw(nif)))
        etharp_request(nif, netif_ip4_gw(nif));
    if (!ready_done++ && ready_cb)
        ready_cb(lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(nif))));
}

int netglue_init(struct netdev *dev, const struct net_config *cfg, void (*on_ready)(uint32_t))
{
    ndev = dev;
    ready_cb = on_ready;
    dev->upper = &netif;
    dev->rx_upper_room = 0;     /* no glue metadata in device-visible memory */
    dev->rx = glue_rx;
    dev->tx_done = glue_tx_done;
    dev->tx_wake = glue_tx_wake;
    dev->link_changed = glue_link_changed;

    ip4_addr_t ip, mask, gw;
    ip4_addr_set_zero(&ip);
    ip4_addr_set_zero(&mask);
    ip4_addr_set_zero(&gw);
    if (cfg->has_ip) {
        ip4_addr_set_u32(&ip, lwip_htonl(cfg->ip));
        uint32_t m = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
        ip4_addr_set_u32(&mask, lwip_htonl(m));
        if (cfg->has_gw)
            ip4_addr_set_u32(&gw, lwip_htonl(cfg->gw));
    }
    if (!netif_add(&netif, &ip, &mask, &gw, NULL, glue_netif_init, ethernet_input)) {
        log_error("net: netif_add failed");
        return -1;
    }
    netif_set_default(&netif);
    stall_guard_start();
    netif_set_status_callback(&netif, glue_status_changed);
    if (dev->ops->open(dev) != 0) {
        log_error("net: %s: open failed", dev->name);
        return -1;
    }
    netif_set_up(&netif);
    netif_ipv6_start(&netif, cfg);
    if (dev->link_up)
        netif_set_link_up(&netif);
    if (!cfg->has_ip) {
        log_info("net: no ip= on the command line: starting DHCP");
        if (dhcp_start(&netif) != ERR_OK) {
            log_error("net: dhcp_start failed");
            return -1;
        }
    }
    return 0;
}

void netglue_flush(void)
{
    if (!ndev)
        return;
    arp_guard_check(&netif);    /* after timers: an ARP query may have evicted it */
    if (backlog_len)
        backlog_drain();
    ndev->ops->xmit_flush(ndev);
}
