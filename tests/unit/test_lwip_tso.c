/* TCP segmentation offload in the real lwIP (net/port/patches/0801-*): with the
 * netif's TSO flag lwIP sends super-segments cut to a share of the window, in
 * whole MSS, resends a partly acked one from its first unacked byte, and keeps
 * the stream byte-exact through loss, partial ACKs, window changes and the
 * persist timer. The peer is played by hand (lwip_host.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/lwip_host.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/tcp.h"
#include "net/glue/tso.h"

#define PORT 80
#define PEER_PORT 40001
#define PEER_ISS 5000u
#define MSS 1460u
#define TSO_MAX 65000u                   /* what net/glue/tso.c offers: 44 x 1460 = 64240 */
#define TSO_LEN (TSO_MAX / MSS * MSS)

static uint8_t source[1 << 20];
static size_t total, written, acked_total;
static struct lwip_host_server srv;
static u32_t accept_cwnd;
static u32_t iss;

static void app_write(struct tcp_pcb *pcb)
{
    while (written < total) {
        size_t n = total - written;
        if (n > tcp_sndbuf(pcb))
            n = tcp_sndbuf(pcb);
        if (n > 0xffff)
            n = 0xffff;
        if (n == 0 || tcp_sndqueuelen(pcb) + 4 > TCP_SND_QUEUELEN)
            return;
        u8_t flags = written + n < total ? TCP_WRITE_FLAG_MORE : 0;
        if (tcp_write(pcb, source + written, (u16_t)n, flags) != ERR_OK)
            return;
        written += n;
    }
}

static err_t srv_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)arg;
    acked_total += len;
    app_write(pcb);
    return ERR_OK;
}

static err_t on_accept(struct tcp_pcb *pcb)
{
    tcp_sent(pcb, srv_sent);
    if (!accept_cwnd)
        app_write(pcb);
    return ERR_OK;
}

static struct seg peer(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd)
{
    return lwip_host_seg(PEER_PORT, PORT, flags, seq, ack, wnd);
}

static int wscale_used;

static void ack(uint32_t ackno, uint32_t wnd_bytes)
{
    struct seg s = peer(TCP_ACK, PEER_ISS + 1, ackno, (uint16_t)(wnd_bytes >> wscale_used));
    lwip_host_input(&s);
}

/* Handshake; `len` bytes of source are queued, by the accept callback, or
 * (cwnd != 0) after it with that congestion window (lwIP sets the initial one
 * once the callback returns). */
static void connect_peer(size_t len, u32_t cwnd, int wscale, uint32_t wnd_bytes)
{
    total = len;
    accept_cwnd = cwnd;
    wscale_used = wscale < 0 ? 0 : wscale;
    struct seg s = peer(TCP_SYN, PEER_ISS, 0, 65535);
    s.mss = MSS;
    s.wscale = wscale;
    iss = lwip_host_syn(&s).seq;
    ack(iss + 1, wnd_bytes);
    assert_non_null(srv.pcb);
    if (cwnd) {
        srv.pcb->cwnd = cwnd;
        app_write(srv.pcb);
        assert_int_equal(tcp_output(srv.pcb), ERR_OK);
    }
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof source; i++)
        source[i] = (uint8_t)(i % 251 + (i >> 16));
    written = acked_total = 0;
    lwip_host_serve(&srv, PORT, on_accept);
    return 0;
}

/* Every data segment: under the 16-bit lengths, the source's bytes, and cut
 * (if it is a super-segment) at the MSS only when TSO is on. */
static void check_seg(const struct seg *r, bool tso)
{
    uint32_t off = r->seq - (iss + 1);
    assert_true(r->len + 40 <= 65535);
    assert_true(r->len <= (tso ? TSO_LEN : MSS));
    assert_int_equal(r->tso_segsz, tso && r->len > MSS ? MSS : 0);
    assert_true(off + r->len <= total);
    assert_memory_equal(r->data, source + off, r->len);
}

/* Data segments sent since the last call, their lengths in lens. */
static size_t flight(uint32_t *lens, size_t max, bool tso)
{
    struct seg r;
    size_t n = 0;
    while (lwip_host_output(&r)) {
        if (!r.len)
            continue;
        check_seg(&r, tso);
        assert_true(n < max);
        lens[n++] = (uint32_t)r.len;
    }
    return n;
}

/* 128 KiB queued, congestion window 200000 bytes, peer window 8 MiB: the
 * goal is the netif's limit, 44 MSS. */
static void test_super_segments_up_to_netif_limit(void **state)
{
    (void)state;
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    connect_peer(128 * 1024, 200000, 7, 65535u << 7);
    uint32_t lens[64];
    size_t n = flight(lens, 64, true);
    assert_int_equal(n, 3);
    assert_int_equal(lens[0], TSO_LEN);
    assert_int_equal(lens[1], TSO_LEN);
    assert_int_equal(lens[2], 128 * 1024 - 2 * TSO_LEN);
}

/* Congestion window 40 MSS: two super-segments of half of it each, then
 * nothing (not one giant segment waiting for the whole window). After their
 * ACK the rest of the first 44-MSS segment tcp_write queued goes, then the
 * next ones cut to the new window's goal. */
static void test_super_segments_sized_by_window(void **state)
{
    (void)state;
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    connect_peer(256 * 1024, 40 * MSS, 7, 65535u << 7);
    uint32_t lens[64];
    size_t n = flight(lens, 64, true);
    assert_int_equal(n, 2);
    assert_int_equal(lens[0], 20 * MSS);
    assert_int_equal(lens[1], 20 * MSS);
    ack(iss + 1 + 40 * MSS, 65535u << 7);
    u32_t wnd = LWIP_MIN(srv.pcb->cwnd, srv.pcb->snd_wnd);
    u32_t goal = LWIP_MIN(wnd / 2 / MSS, TSO_MAX / MSS) * MSS;
    n = flight(lens, 64, true);
    assert_true(n >= 3);
    assert_int_equal(lens[0], TSO_LEN - 40 * MSS);  /* the rest of the first one queued */
    assert_int_equal(lens[1], goal);
    for (size_t i = 0; i < n; i++)
        assert_true(lens[i] <= goal);
}

/* The same without TSO: MSS-sized segments only, none marked. */
static void no_super_segments(void)
{
    connect_peer(128 * 1024, 200000, 7, 65535u << 7);
    uint32_t lens[256];
    size_t n = flight(lens, 256, false);
    assert_int_equal(n, (128 * 1024 + MSS - 1) / MSS);
    for (size_t i = 0; i + 1 < n; i++)
        assert_int_equal(lens[i], MSS);
}

static void test_no_super_segments_without_tso(void **state)
{
    (void)state;
    no_super_segments();
}

/* A netif that segments TCP/IPv6 only: an IPv4 connection gets none either. */
static void test_no_super_segments_with_tso6_only(void **state)
{
    (void)state;
    lwip_host_set_tso(NETIF_TSO_TCP6, TSO_MAX);
    no_super_segments();
}

/* A small send window (3, 4, 8 MSS) still has two segments or more in flight,
 * and all of the window is used. */
static void small_window(uint32_t segs, size_t want)
{
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    connect_peer(64 * 1024, 200000, -1, segs * MSS);
    uint32_t lens[64], sum = 0;
    size_t n = flight(lens, 64, true);
    for (size_t i = 0; i < n; i++)
        sum += lens[i];
    assert_true(n >= 2);
    assert_int_equal(n, want);
    assert_int_equal(sum, segs * MSS);
}

static void test_small_window_3_mss_pipelines(void **state)
{
    (void)state;
    small_window(3, 2);
}

static void test_small_window_4_mss_pipelines(void **state)
{
    (void)state;
    small_window(4, 2);
}

static void test_small_window_8_mss_pipelines(void **state)
{
    (void)state;
    small_window(8, 2);
}

/* Two super-segments out; the peer ACKs the first two MSS of the first and then
 * nothing. The retransmission timeout resends one MSS (cwnd after RTO) from the
 * first unacked byte. With `busy` the netif still holds the frames when the
 * ACK comes (a driver before TX completion): the segment is trimmed only
 * before it is sent again. */
static void partial_ack_then_rto(bool busy)
{
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    lwip_host_hold(busy);
    connect_peer(2 * TSO_LEN, 200000, 7, 65535u << 7);
    uint32_t lens[8];
    assert_int_equal(flight(lens, 8, true), 2);
    uint32_t to = iss + 1 + 2 * MSS;
    ack(to, 65535u << 7);
    assert_int_equal(acked_total, 2 * MSS);          /* counted when acked */
    assert_non_null(srv.pcb->unacked);
    assert_int_equal(lwip_ntohl(srv.pcb->unacked->tcphdr->seqno), busy ? iss + 1 : to);
    assert_int_equal(srv.pcb->unacked->len, busy ? TSO_LEN : TSO_LEN - 2 * MSS);
    lwip_host_release();
    lwip_host_hold(false);
    struct seg r;
    bool seen = false;
    for (int i = 0; i < 80 && !seen; i++) {
        lwip_host_advance(250);
        while (!seen && lwip_host_output(&r)) {
            if (!r.len)
                continue;
            check_seg(&r, true);
            assert_int_equal(r.seq, to);
            assert_int_equal(r.len, MSS);
            seen = true;
        }
    }
    assert_true(seen);
    assert_int_equal(acked_total, 2 * MSS);
}

static void test_partly_acked_resent_from_first_unacked_byte(void **state)
{
    (void)state;
    partial_ack_then_rto(false);
}

static void test_partly_acked_while_busy_resent_from_first_unacked_byte(void **state)
{
    (void)state;
    partial_ack_then_rto(true);
}

/* Fast retransmit after a partial ACK and three duplicates: one MSS from the
 * first unacked byte, the rest of the super-segment stays in flight. */
static void test_fast_retransmit_of_super_segment(void **state)
{
    (void)state;
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    connect_peer(2 * TSO_LEN, 200000, 7, 65535u << 7);
    uint32_t lens[8];
    assert_int_equal(flight(lens, 8, true), 2);
    uint32_t to = iss + 1 + 3 * MSS;
    for (int i = 0; i < 4; i++)
        ack(to, 65535u << 7);
    struct seg r;
    size_t n = 0;
    while (lwip_host_output(&r)) {
        if (!r.len)
            continue;
        check_seg(&r, true);
        if (n++ == 0) {
            assert_int_equal(r.seq, to);
            assert_int_equal(r.len, MSS);
        }
        assert_true(r.seq - to < (1u << 31));         /* nothing acked resent */
    }
    assert_int_equal(n, 1);
    assert_non_null(srv.pcb->unacked);
}

/* A zero window after a partial ACK, the retransmission timeout, persist
 * probes, then a window smaller than one MSS: the persist timer cuts the
 * super-segment (zero-copy) to that window; then the window opens and the
 * rest arrives. lwIP's asserts (on, fatal) must hold throughout. */
static void test_persist_with_super_segments(void **state)
{
    (void)state;
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    connect_peer(2 * TSO_LEN, 200000, -1, 65535);
    uint32_t lens[8];
    assert_int_equal(flight(lens, 8, true), 2);      /* 65535 / 2: goal 22 MSS */
    uint32_t to = iss + 1 + 5 * MSS;
    ack(to, 0);
    for (int i = 0; i < 40 && srv.pcb->persist_backoff == 0; i++)
        lwip_host_advance(250);
    assert_true(srv.pcb->persist_backoff > 0);
    lwip_host_drain();
    ack(to, 700);
    struct seg r;
    bool seen = false;
    for (int i = 0; i < 200 && !seen; i++) {
        lwip_host_advance(250);
        while (lwip_host_output(&r)) {
            if (r.len > 1) {
                check_seg(&r, true);
                assert_int_equal(r.seq, to);
                assert_int_equal(r.len, 700);
                seen = true;
            }
        }
    }
    assert_true(seen);
    uint32_t nxt = to + 700;
    for (int i = 0; i < 400 && nxt != iss + 1 + total; i++) {
        ack(nxt, 65535);
        while (lwip_host_output(&r)) {
            if (!r.len)
                continue;
            check_seg(&r, true);
            if (r.seq == nxt)
                nxt += (uint32_t)r.len;
        }
        lwip_host_advance(250);
    }
    assert_int_equal(nxt, iss + 1 + total);
    ack(nxt, 65535);
    assert_int_equal(acked_total, total);
    assert_int_equal(lwip_host_panics, 0);
}

/* 1 MiB through a peer that loses one data frame in eight, ACKs at random
 * points up to what it has (often inside a super-segment), changes its window,
 * and sometimes lets the netif hold frames (busy segments): the stream arrives
 * byte-exact, no frame is over 64 KiB, and the send buffer and queue come back
 * whole (acked bytes counted exactly once). */
static void test_byte_exact_stream_with_loss_and_partial_acks(void **state)
{
    (void)state;
    static uint8_t got[sizeof source];
    uint64_t rng = 0x243f6a8885a308d3ull;
#define RAND() (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, (uint32_t)rng)
    lwip_host_set_tso(NETIF_TSO_TCP4, TSO_MAX);
    connect_peer(sizeof source, 0, 4, 65535u << 4);
    uint32_t nxt = iss + 1, acked = iss + 1;
    size_t supers = 0;
    struct seg r;
    for (int it = 0; it < 100000 && nxt != iss + 1 + total; it++) {
        bool any = false;
        lwip_host_hold(RAND() % 8 == 0);
        while (lwip_host_output(&r)) {
            if (!r.len)
                continue;
            check_seg(&r, true);
            any = true;
            supers += r.len > MSS;
            if (RAND() % 8 == 0)
                continue;                                 /* lost */
            uint32_t skip = nxt - r.seq;
            if (skip < r.len) {                           /* in order, maybe overlapping */
                memcpy(got + (nxt - (iss + 1)), r.data + skip, r.len - skip);
                nxt += (uint32_t)(r.len - skip);
            }
        }
        if (RAND() % 4 == 0)
            lwip_host_release();
        uint32_t span = nxt - acked;
        if (span && RAND() % 2)
            acked += 1 + RAND() % span;                   /* partial ACK */
        else
            acked = nxt;
        uint32_t wnd = (RAND() % 16 == 0) ? 3000 : 20000 + RAND() % 980000;
        ack(acked, wnd);
        if (!any)
            lwip_host_advance(250);
    }
    lwip_host_release();
    lwip_host_hold(false);
    assert_int_equal(nxt, iss + 1 + total);
    assert_memory_equal(got, source, total);
    assert_true(supers > 0);
    ack(nxt, 1000000);
    assert_int_equal(acked_total, total);
    assert_int_equal(tcp_sndbuf(srv.pcb), TCP_SND_BUF < 0xffff ? TCP_SND_BUF : 0xffff);
    assert_int_equal(srv.pcb->snd_buf, TCP_SND_BUF);
    assert_int_equal(srv.pcb->snd_queuelen, 0);
    assert_null(srv.pcb->unacked);
    assert_null(srv.pcb->unsent);
    assert_int_equal(lwip_host_panics, 0);
}

/* net/glue/tso.c: a marked frame becomes the device's request: gso_size the mark,
 * hdr_len through the TCP options; SYN/RST/URG or headers outside the first
 * pbuf are refused; the counter counts the wire segments. */
static void test_glue_offload_fields(void **state)
{
    (void)state;
    unsigned l4 = SIZEOF_ETH_HDR + 20, thl = 32;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)(l4 + thl), PBUF_RAM);
    struct pbuf *d = pbuf_alloc(PBUF_RAW, 10000, PBUF_ROM);
    assert_non_null(p);
    assert_non_null(d);
    ((struct pbuf_rom *)d)->payload = source;
    pbuf_cat(p, d);
    memset(p->payload, 0, p->len);
    struct tcp_hdr *tcp = (struct tcp_hdr *)((uint8_t *)p->payload + l4);
    TCPH_HDRLEN_FLAGS_SET(tcp, thl / 4, TCP_ACK | TCP_PSH);
    p->tso_segsz = 1448;
    struct netdev_tx_offload off = { .csum_partial = true, .csum_start = (uint16_t)l4,
                                     .csum_offset = 16 };
    assert_true(tso_offload(p, false, &off));
    assert_int_equal(off.gso_type, NETDEV_GSO_TCPV4);
    assert_int_equal(off.gso_size, 1448);
    assert_int_equal(off.hdr_len, l4 + thl);
    uint64_t before = tso_counters.segments;
    tso_count(p, &off);
    assert_int_equal(tso_counters.segments - before, (10000 + 1447) / 1448);
    assert_true(tso_offload(p, true, &off));
    assert_int_equal(off.gso_type, NETDEV_GSO_TCPV6);
    TCPH_HDRLEN_FLAGS_SET(tcp, thl / 4, TCP_ACK | TCP_SYN);
    assert_false(tso_offload(p, false, &off));
    TCPH_HDRLEN_FLAGS_SET(tcp, thl / 4, TCP_ACK | TCP_RST);
    assert_false(tso_offload(p, false, &off));
    TCPH_HDRLEN_FLAGS_SET(tcp, 15, TCP_ACK);        /* options past the first pbuf */
    assert_false(tso_offload(p, false, &off));
    TCPH_HDRLEN_FLAGS_SET(tcp, thl / 4, TCP_ACK);
    off.csum_partial = false;
    assert_false(tso_offload(p, false, &off));
    pbuf_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        LWIP_HOST_TEST(test_super_segments_up_to_netif_limit, setup),
        LWIP_HOST_TEST(test_super_segments_sized_by_window, setup),
        LWIP_HOST_TEST(test_no_super_segments_without_tso, setup),
        LWIP_HOST_TEST(test_no_super_segments_with_tso6_only, setup),
        LWIP_HOST_TEST(test_small_window_3_mss_pipelines, setup),
        LWIP_HOST_TEST(test_small_window_4_mss_pipelines, setup),
        LWIP_HOST_TEST(test_small_window_8_mss_pipelines, setup),
        LWIP_HOST_TEST(test_partly_acked_resent_from_first_unacked_byte, setup),
        LWIP_HOST_TEST(test_partly_acked_while_busy_resent_from_first_unacked_byte, setup),
        LWIP_HOST_TEST(test_fast_retransmit_of_super_segment, setup),
        LWIP_HOST_TEST(test_persist_with_super_segments, setup),
        LWIP_HOST_TEST(test_byte_exact_stream_with_loss_and_partial_acks, setup),
        LWIP_HOST_TEST(test_glue_offload_fields, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
