/* lwIP 2.2.1 configuration: NO_SYS raw API, IPv4 + IPv6, one netif, called
 * only from the main loop (never from interrupt handlers), so no locking.
 *
 * Memory budget: everything must fit a 16 MiB VM. RX data lives in the
 * driver's buffers (custom pbufs), bulk TX from the HTTP server is zero-copy
 * from read-only data, so the heap only holds headers, small responses and
 * control blocks. Exhausted pools make tcp_write/pbuf_alloc fail with
 * ERR_MEM (counted in lwip_stats.memp[]/mem); callers retry or drop. */
#ifndef NET_LWIPOPTS_H
#define NET_LWIPOPTS_H

/* ---- system ---- */
#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0   /* single CPU, lwIP never runs in IRQ context */
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_NETIF_API              0
#define LWIP_CALLBACK_API           1

/* ---- memory ---- */
#define MEM_ALIGNMENT               8
#define MEM_LIBC_MALLOC             0   /* own static heap: newlib malloc stays out of the packet path */
#define MEMP_MEM_MALLOC             0
#ifndef MEM_SIZE
#define MEM_SIZE                    (2 * 1024 * 1024)
#endif
#define MEMP_NUM_PBUF               3072  /* PBUF_ROM/REF: one per zero-copy TX segment */
#define MEMP_NUM_RAW_PCB            1
#define MEMP_NUM_UDP_PCB            4
#define MEMP_NUM_TCP_PCB            512   /* 64 HTTP + iperf + handshakes and closing ones of a connection storm */
#define MEMP_NUM_TCP_PCB_LISTEN     8
#define MEMP_NUM_TCP_SEG            3072  /* unsent + unacked + ooseq, all pcbs together */
#define MEMP_NUM_REASSDATA          8
#define MEMP_NUM_FRAG_PBUF          512  /* IPv6 fragments of TCP segments in the TX ring (2-3 each) */
#define MEMP_NUM_ARP_QUEUE          32
/* room for the kernel's own sys_timeout users (driver refill retry etc.) */
#define MEMP_NUM_SYS_TIMEOUT        (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
/* The pool is not the RX path (driver buffers are wrapped as custom pbufs);
 * it only serves whoever asks for PBUF_POOL explicitly. */
#define PBUF_POOL_SIZE              32
#define LWIP_SUPPORT_CUSTOM_PBUF    1
/* Head room in front of the Ethernet header for struct virtio_net_hdr
 * (12 bytes), so a driver can prepend it in place instead of using a
 * separate descriptor. */
#define PBUF_LINK_ENCAPSULATION_HLEN 12
/* lwIP's copies of a constant size (MAC and IP addresses, small structs):
 * inlined, which the kernel's -ffreestanding does not do for memcpy. */
#define SMEMCPY(dst, src, len)      __builtin_memcpy(dst, src, len)

/* ---- IPv4, ARP, ICMP, UDP, DHCP ---- */
#define LWIP_IPV4                   1
#include "net/port/lwipopts_ipv6.h"       /* LWIP_IPV6 1 and its options */
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define ARP_TABLE_SIZE              16
#define ARP_QUEUEING                1
#define IP_REASSEMBLY               1
#define IP_FRAG                     1
#define IP_REASS_MAX_PBUFS          16  /* reassembly holds driver RX buffers: keep it bounded */
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_UDP                    1
#define LWIP_DHCP                   1
/* No address conflict detection (2.2's ACD module, which replaced 2.1's
 * DHCP_DOES_ARP_CHECK): it costs seconds of boot and user-net never conflicts. */
#define LWIP_DHCP_DOES_ACD_CHECK    0
#define LWIP_ACD                    0
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    0
#define LWIP_NETIF_HOSTNAME         1
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    1
#define LWIP_SINGLE_NETIF           0
#define LWIP_HAVE_LOOPIF            0
#define LWIP_NETIF_LOOPBACK         0

/* ---- TCP ---- */
#define LWIP_TCP                    1
#define TCP_MSS                     1460
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               2
#define TCP_WND                     (64 * 1024)
/* Bulk TX is zero-copy, so a send buffer costs segments and headers, not
 * payload copies. Above 64 KiB it keeps more than one ACK per flight: a
 * receiver coalescing ACKs (GRO) acks a 64 KiB flight once, and losing
 * that ACK would cost a retransmission timeout. */
#define TCP_SND_BUF                 (128 * 1024)
#define TCP_SND_QUEUELEN            ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_SNDLOWAT                (TCP_SND_BUF / 4)   /* must stay below 0xffff - 4 * MSS */
#define TCP_QUEUE_OOSEQ             1
/* Out-of-sequence data pins driver RX buffers: bound it per connection. */
#define TCP_OOSEQ_MAX_PBUFS         16
#define TCP_OOSEQ_MAX_BYTES         (16 * TCP_MSS)
#define LWIP_TCP_TIMESTAMPS         0
#define LWIP_TCP_SACK_OUT           0
/* Counts each listener's half-open pcbs (accepts_pending), which decides when
 * SYN cookies take over (net/guard/tcp_syncookie.h); the backlog itself stays 255. */
#define TCP_LISTEN_BACKLOG          1
/* TIME_WAIT lasts 2 * TCP_MSL: 30 s instead of lwIP's 2 minutes (Linux: 60 s).
 * Such pcbs are reclaimed on demand anyway; this keeps the pool's idle level
 * honest a short while after a connection storm. */
#define TCP_MSL                     15000UL
/* A client reusing its port during TIME_WAIT (NAT, QEMU user-net passing the
 * host client's port) reconnects at once when its SYN is beyond the old
 * connection, as with Linux (patch 0901). */
#define TCP_TIMEWAIT_REOPEN         1
/* Off: with it, tcp_write copies a zero-copy write into the spare tail of
 * the copied pbuf before it (the HTTP header's), i.e. the first ~1.3 KiB of
 * every response body; without it that part is chained by reference like
 * the rest. Segmentation is the same (both fill segments up to the MSS). */
#define TCP_OVERSIZE                0
#define LWIP_TCP_KEEPALIVE          0
/* TCP segmentation offload (net/port/patches/0801-*): lwIP builds super-
 * segments of referenced data when the glue says the device segments
 * (netif->tso_flags); each is cut to a share of the window, in whole MSS. */
#define LWIP_TCP_TSO                1
#define TCP_TSO_WND_DIV             2
/* The "TCP_WND > PBUF_POOL_SIZE * bufsize" check assumes RX comes from the
 * pool; here it comes from driver buffers. */
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1

/* ---- checksums: per-netif control lets the glue switch off what the
 * device offloads (NETIF_SET_CHECKSUM_CTRL). ---- */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define CHECKSUM_GEN_IP             1
#define CHECKSUM_GEN_UDP            1
#define CHECKSUM_GEN_TCP            1
#define CHECKSUM_GEN_ICMP           1
#define CHECKSUM_CHECK_IP           1
#define CHECKSUM_CHECK_UDP          1
#define CHECKSUM_CHECK_TCP          1
#define CHECKSUM_CHECK_ICMP         1
/* Off: tcp_write would sum every byte it queues (zero-copy /bytes data
 * included) before it knows the netif, whose device then computes the
 * checksum anyway -- 2.6 of 3.8 guest instructions per sent byte (make bench,
 * hotblocks). Without offload lwIP sums each segment once at output. */
#define LWIP_CHECKSUM_ON_COPY       0
/* 8 bytes per addition instead of lwIP's 2 (net/port/inet_csum.h) */
#include "net/port/inet_csum.h"
#define LWIP_CHKSUM                 inet_csum_sum

/* ---- statistics (read by net/glue/stats.c for /stats.json) ---- */
#define LWIP_STATS                  1
#define LWIP_STATS_DISPLAY          0
#define MEM_STATS                   1
#define MEMP_STATS                  1
#define LINK_STATS                  1
#define ETHARP_STATS                1
#define IP_STATS                    1
#define ICMP_STATS                  1
#define UDP_STATS                   1
#define TCP_STATS                   1
#define SYS_STATS                   0

/* ---- hooks: functions declared in net/port/lwip_hooks.h ---- */
#define LWIP_HOOK_FILENAME          "net/port/lwip_hooks.h"
/* RFC 6528 keyed ISNs (net/guard/tcp_isn.c) */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
    tcp_isn_hook(local_ip, local_port, remote_ip, remote_port)
/* SYN cookies (net/guard/tcp_syncookie.c, hooks added by net/port/patches/0002-*) */
#define LWIP_HOOK_TCP_SYNCOOKIE_WANT(lpcb) tcp_syncookie_want(lpcb)
#define LWIP_HOOK_TCP_SYNCOOKIE_MAKE(lpcb, lip, lport, rip, rport, peer_isn, mss, wscale, cookie) \
    tcp_syncookie_make(lpcb, lip, lport, rip, rport, peer_isn, mss, wscale, cookie)
#define LWIP_HOOK_TCP_SYNCOOKIE_CHECK(lpcb, lip, lport, rip, rport, peer_isn, cookie, mss, wscale) \
    tcp_syncookie_check(lpcb, lip, lport, rip, rport, peer_isn, cookie, mss, wscale)

/* Keyed per-destination IPv4 ids and IPv6 fragment ids (net/guard/ip_id.c,
 * hooks added by net/port/patches/0902-*) */
#define LWIP_HOOK_IP4_OUTPUT_ID(p, src, dest, proto) ip_id_hook4(p, src, dest, proto)
#define LWIP_HOOK_IP6_FRAG_ID(ip6hdr, dest) ip_id_hook6(ip6hdr, dest)
/* Per-destination ephemeral ports, RFC 6056 (net/guard/tcp_port.c, hook
 * added by net/port/patches/0903-*) */
#define LWIP_HOOK_TCP_EPHEMERAL_PORT(local_ip, remote_ip, remote_port) \
    tcp_port_hook(local_ip, remote_ip, remote_port)
/* ip6_frag.c does not include LWIP_HOOK_FILENAME: declared here too. */
#include <stdint.h>
struct ip6_hdr;
struct ip6_addr;
uint32_t ip_id_hook6(const struct ip6_hdr *ip6hdr, const struct ip6_addr *dest);

/* ---- apps ---- */
#define LWIPERF_CHECK_RX_DATA       0

/* ---- debugging: asserts stay on (they panic, see arch/cc.h) ---- */
#define LWIP_DBG_MIN_LEVEL          LWIP_DBG_LEVEL_ALL
#define LWIP_DBG_TYPES_ON           LWIP_DBG_OFF

#endif
