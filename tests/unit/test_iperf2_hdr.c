/* net/apps/iperf2_hdr.c on the host, fed the first bytes real iperf 2.1.8
 * clients wrote (captured from Debian 12's `iperf -c` against a plain
 * listener), split every way TCP may deliver them: one byte at a time, a
 * 1-byte first piece then the rest (issue 9's PANIC), every two-piece split,
 * random splits; followed by test data that must not be taken as header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/apps/iperf2_hdr.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2)
        out[n++] = (uint8_t)strtoul((char[]){ h[0], h[1], 0 }, NULL, 16);
    return n;
}

/* The 60-byte headers of `iperf -c ... -t 3 <opts>` (2.1.8). */
#define V1 "0000000100003a990000000000000000fffffed4"
/* client_hdrext after upperflags: lowerflags, version 2.1.8, reserved, tos, rates, prefetch */
#define EXT_TAIL "0000" "00020001" "00080003" "0000" "0000" "00000000" "00000000" "00000000"
#define TL "00000000" "00000000"    /* client_hdrext type, length */
#define EXT TL "0000" EXT_TAIL
static const char h_plain[] = "40010078" V1 TL "0000" EXT_TAIL;
static const char h_reverse[] = "44010078" V1 TL "0400" EXT_TAIL;
static const char h_tradeoff[] = "c0010078" V1 TL "0000" EXT_TAIL;
static const char h_dual[] = "c0010079" V1 TL "0000" EXT_TAIL;
static const char h_fullduplex[] = "44010078" V1 TL "0800" EXT_TAIL;
static const char h_peerdetect[] = "46010078" V1 TL "0000" EXT_TAIL;
/* -n 3M -R: amount positive, in bytes */
static const char h_bytes[] = "440100780000000100003a99000000000000000000300000"
                              TL "0400" EXT_TAIL;
/* -R --permit-key=abcd: refused (no key configured here, as a plain iperf -s) */
static const char h_key[] = "5401007c" V1 TL "0400" EXT_TAIL "000461626364";

struct expect {
    int bad;
    enum iperf2_mode mode;
    int time_mode;
    uint64_t amount;
    uint16_t port;
    uint32_t len;
    int ack;
};

/* Feeds hdr + 100 data bytes in the pieces given by cut[] (lengths, 0-terminated,
 * the last piece takes the rest) and checks the outcome and what was consumed. */
static void feed_split(const uint8_t *hdr, size_t hlen, const size_t *cut, const struct expect *e)
{
    uint8_t stream[512];
    struct iperf2_hdr_rx h;
    size_t total = hlen + 100, off = 0, used = 0;

    memcpy(stream, hdr, hlen);
    for (size_t i = 0; i < 100; i++)   /* data that itself looks like a header */
        stream[hlen + i] = hdr[i % hlen];
    iperf2_hdr_init(&h);
    for (int k = 0; off < total; k++) {
        size_t n = cut[k] ? cut[k] : total - off;
        if (n > total - off)
            n = total - off;
        if (h.state == IPERF2_HDR_FLAGS || h.state == IPERF2_HDR_REST)
            used += iperf2_hdr_feed(&h, stream + off, n);
        off += n;
        if (!cut[k])
            break;
    }
    if (e->bad) {
        assert_int_equal(h.state, IPERF2_HDR_BAD);
        assert_non_null(h.why);
        return;
    }
    assert_int_equal(h.state, IPERF2_HDR_DONE);
    assert_int_equal(used, e->len);
    assert_int_equal(h.req.hdr_len, e->len);
    assert_int_equal(h.req.mode, e->mode);
    assert_int_equal(h.req.time_mode, e->time_mode);
    assert_int_equal(h.req.amount, e->amount);
    assert_int_equal(h.req.port, e->port);
    assert_int_equal(h.req.send_ack, e->ack);
}

static void every_split(const char *hex, const struct expect *e)
{
    uint8_t hdr[300];
    size_t hlen = unhex(hex, hdr);
    size_t ones[400];

    for (size_t i = 0; i < 399; i++)
        ones[i] = 1;
    ones[399] = 0;
    feed_split(hdr, hlen, ones, e);                         /* byte by byte */
    feed_split(hdr, hlen, (size_t[]){ 0 }, e);              /* all at once */
    for (size_t a = 1; a < hlen + 100; a++)                 /* every two-piece split */
        feed_split(hdr, hlen, (size_t[]){ a, 0 }, e);
    for (size_t a = 1; a < 8; a++)                          /* three pieces, small first ones */
        for (size_t b = 1; b < hlen; b++)
            feed_split(hdr, hlen, (size_t[]){ a, b, 0 }, e);
    srand(1);
    for (int r = 0; r < 2000; r++) {
        size_t cut[40];
        for (int k = 0; k < 39; k++)
            cut[k] = 1 + (size_t)rand() % 20;
        cut[39] = 0;
        feed_split(hdr, hlen, cut, e);
    }
}

#define T3S 300    /* -t 3: 300 units of 10 ms */

static void test_plain(void **st)
{
    (void)st;
    every_split(h_plain, &(struct expect){ 0, IPERF2_NORMAL, 1, T3S, 0x3a99, 60, 1 });
}

static void test_reverse(void **st)
{
    (void)st;
    every_split(h_reverse, &(struct expect){ 0, IPERF2_REVERSE, 1, T3S, 0x3a99, 60, 0 });
}

static void test_tradeoff_and_dual(void **st)
{
    (void)st;
    every_split(h_tradeoff, &(struct expect){ 0, IPERF2_TRADEOFF, 1, T3S, 0x3a99, 60, 1 });
    every_split(h_dual, &(struct expect){ 0, IPERF2_DUAL, 1, T3S, 0x3a99, 60, 1 });
}

static void test_fullduplex_peerdetect_bytes(void **st)
{
    (void)st;
    every_split(h_fullduplex, &(struct expect){ 0, IPERF2_FULLDUPLEX, 1, T3S, 0x3a99, 60, 0 });
    every_split(h_peerdetect, &(struct expect){ 0, IPERF2_NORMAL, 1, T3S, 0x3a99, 60, 1 });
    every_split(h_bytes, &(struct expect){ 0, IPERF2_REVERSE, 0, 3 << 20, 0x3a99, 60, 0 });
}

static void test_rate(void **st)
{
    (void)st;
    /* -R -b 10M and -R -b 5G (iperf 2's M and G are binary for -b) */
    const char *h10 = "44010078" V1 TL "0400" "0000" "00020001" "00080003" "0000" "0000"
                      "00a00000" "00000000" "00000000";
    const char *h5g = "44010078" V1 TL "0400" "0000" "00020001" "00080003" "0000" "0000"
                      "40000000" "00000100" "00000000";
    struct iperf2_hdr_rx h;
    uint8_t b[60];

    iperf2_hdr_init(&h);
    iperf2_hdr_feed(&h, b, unhex(h10, b));
    assert_int_equal(h.state, IPERF2_HDR_DONE);
    assert_int_equal(h.req.rate_bps, 10u << 20);
    iperf2_hdr_init(&h);
    iperf2_hdr_feed(&h, b, unhex(h5g, b));
    assert_int_equal(h.req.rate_bps, 5ull << 30);
    iperf2_hdr_init(&h);
    iperf2_hdr_feed(&h, b, unhex(h_reverse, b));
    assert_int_equal(h.req.rate_bps, 0);
}

static void test_refused(void **st)
{
    (void)st;
    every_split(h_key, &(struct expect){ .bad = 1 });
    /* bounce-back */
    every_split("00800000" V1, &(struct expect){ .bad = 1 });
    /* a length below client_hdr_v1 */
    every_split("40010010" V1 EXT, &(struct expect){ .bad = 1 });
    every_split("40010000" V1 EXT, &(struct expect){ .bad = 1 });
    /* -r to port 0 */
    every_split("c0010078000000010000000000000000" "00000000fffffed4" EXT,
                &(struct expect){ .bad = 1 });
}

static void test_lengths(void **st)
{
    (void)st;
    /* the longest header the length field allows (255) is collected whole */
    char big[2 * 300 + 1] = "400101fe" V1 EXT;
    while (strlen(big) < 2 * 255)
        strcat(big, "00");
    every_split(big, &(struct expect){ 0, IPERF2_NORMAL, 1, T3S, 0x3a99, 255, 1 });
    /* no HEADER_LEN_BIT: v1 + ext from the flags (2.0-style) */
    every_split("40000000" V1 EXT, &(struct expect){ 0, IPERF2_NORMAL, 1, T3S, 0x3a99, 60, 1 });
    every_split("80000000" "00000001" "00000000" "0000000000000000" "fffffed4",
                &(struct expect){ .bad = 1 });   /* v1 -r to port 0 */
    every_split("80000000" "0000000100003a99" "0000000000000000" "fffffed4",
                &(struct expect){ 0, IPERF2_TRADEOFF, 1, T3S, 0x3a99, 24, 0 });
    /* no version flag at all: a client that sends no header; its bytes are data */
    every_split("30313233343536373839", &(struct expect){ 0, IPERF2_NORMAL, 0, 0, 0, 4, 0 });
}

static void test_ack(void **st)
{
    (void)st;
    uint8_t a[IPERF2_ACK_LEN];
    iperf2_ack_build(a);
    uint8_t want[IPERF2_ACK_LEN];
    unhex("00000002" "0000001c" "00000000" "00020001" "00080003" "00000000" "00000000", want);
    assert_memory_equal(a, want, sizeof a);
}

static void test_rx_overflow_counts(void **st)
{
    (void)st;
    uint8_t buf[4];
    struct iperf_rx r;
    iperf_rx_init(&r, buf, sizeof buf);
    iperf_rx_expect(&r, 10);
    assert_true(iperf_rx_overflow(&r));
    assert_int_equal(iperf_rx_take(&r, "abcdefgh", 8), 8);
    assert_false(iperf_rx_complete(&r));
    assert_int_equal(iperf_rx_take(&r, "ijkl", 4), 2);
    assert_true(iperf_rx_complete(&r));
    assert_memory_equal(buf, "abcd", 4);    /* kept what fits, skipped the rest */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_reverse),
        cmocka_unit_test(test_tradeoff_and_dual),
        cmocka_unit_test(test_fullduplex_peerdetect_bytes),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_rx_overflow_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
