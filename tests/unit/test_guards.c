/* net/guard/icmp_limit.c, net/guard/frag_guard.c and net/guard/stall_track.c on the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/guard/frag_guard.h"
#include "net/guard/icmp_limit.h"
#include "net/guard/stall_track.h"

/* ---- token bucket ---- */

static unsigned passed(struct token_bucket *b, unsigned n, uint64_t now)
{
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++)
        ok += token_bucket_take(b, now);
    return ok;
}

static void bucket_burst_then_rate(void **state)
{
    struct token_bucket b;
    (void)state;
    token_bucket_init(&b, 1000, 50, 0);
    assert_int_equal(passed(&b, 200, 0), 50);       /* the burst, no more */
    assert_int_equal(passed(&b, 200, 10), 10);      /* 10 ms at 1000/s */
    assert_int_equal(passed(&b, 200, 10), 0);
    /* sustained: 1 s of requests at 5x the rate lets the rate through */
    unsigned ok = 0;
    for (uint64_t t = 11; t <= 1010; t++)
        ok += passed(&b, 5, t);
    assert_int_equal(ok, 1000);
}

static void bucket_caps_at_burst(void **state)
{
    struct token_bucket b;
    (void)state;
    token_bucket_init(&b, 1000, 50, 0);
    passed(&b, 50, 0);
    /* an hour (or 2^40 ms) idle refills to the burst, never beyond, never overflows */
    assert_int_equal(passed(&b, 1000, 3600 * 1000), 50);
    assert_int_equal(passed(&b, 1000, (uint64_t)1 << 40), 50);
}

static void bucket_clock_backwards(void **state)
{
    struct token_bucket b;
    (void)state;
    token_bucket_init(&b, 1000, 10, 1000);
    passed(&b, 10, 1000);
    assert_int_equal(passed(&b, 10, 500), 0);       /* no refill from a clock going back */
    assert_int_equal(passed(&b, 10, 505), 5);       /* and time counts from there */
}

/* ---- per-source reassembly share ---- */

static int admit4(struct frag_guard *fg, uint32_t src, uint32_t id, unsigned nbufs)
{
    struct frag_key k = { .src = { src }, .id = id };
    return frag_guard_admit(fg, &k, nbufs);
}

static int admit6_in(struct frag_guard *fg, uint32_t subnet, uint32_t last_word, uint32_t id,
                     unsigned nbufs)
{
    struct frag_key k = { .src = { 0x20010db8u, subnet, 0, last_word }, .id = id,
                          .share_words = 2 };
    return frag_guard_admit(fg, &k, nbufs);
}

static int admit6(struct frag_guard *fg, uint32_t last_word, uint32_t id, unsigned nbufs)
{
    return admit6_in(fg, 0, last_word, id, nbufs);
}

static void frag_share_per_source(void **state)
{
    struct frag_guard fg;
    (void)state;
    frag_guard_init(&fg, 8, 4);
    /* source 1: four datagrams of two fragments each fills its share */
    int slots[8];
    for (int i = 0; i < 8; i++) {
        slots[i] = admit4(&fg, 1, (uint16_t)(i / 2), 1);
        assert_true(slots[i] >= 0);
    }
    assert_int_equal(slots[0], slots[1]);           /* same (source, id): same group */
    assert_int_equal(admit4(&fg, 1, 0, 1), -1);   /* over 8 buffers */
    assert_int_equal(admit4(&fg, 1, 9, 1), -1);
    /* another source is unaffected */
    assert_true(admit4(&fg, 2, 0, 3) >= 0);
    /* lwIP frees one: room for one more buffer of source 1 */
    frag_guard_release(&fg, slots[7]);
    assert_true(admit4(&fg, 1, 3, 1) >= 0);
    assert_int_equal(admit4(&fg, 1, 3, 1), -1);
}

static void frag_datagram_limit(void **state)
{
    struct frag_guard fg;
    (void)state;
    frag_guard_init(&fg, 8, 4);
    int s[4];
    for (int i = 0; i < 4; i++)
        assert_true((s[i] = admit4(&fg, 7, (uint16_t)(100 + i), 1)) >= 0);
    assert_int_equal(admit4(&fg, 7, 200, 1), -1);  /* a fifth datagram */
    assert_true(admit4(&fg, 7, 101, 1) >= 0);      /* more of a known one: fine */
    frag_guard_release(&fg, s[0]);                           /* datagram 100 gone */
    assert_true(admit4(&fg, 7, 200, 1) >= 0);
    assert_int_equal(admit4(&fg, 7, 1, 0), -1);    /* nothing is not a fragment */
}

static void frag_ipv6_keys(void **state)
{
    struct frag_guard fg;
    (void)state;
    frag_guard_init(&fg, 4, 2);
    /* 32-bit ids: 0x10001 and 0x20001 agree in their low 16 bits but are two datagrams */
    int a = admit6(&fg, 0x66, 0x10001, 2);
    assert_true(a >= 0);
    int b = admit6(&fg, 0x66, 0x20001, 2);
    assert_true(b >= 0 && b != a);
    assert_int_equal(admit6(&fg, 0x66, 0x10001, 1), -1);    /* over its 4 buffers */
    /* another address of the same /64 is the same source: no share of its own */
    assert_int_equal(admit6(&fg, 0x67, 0x10001, 1), -1);
    /* another /64 has its own share */
    assert_true(admit6_in(&fg, 1, 0x66, 0x10001, 4) >= 0);
    assert_int_equal(admit6_in(&fg, 1, 0x66, 0x10001, 1), -1);
    /* lwIP frees one of 0x66's buffers: room again for exactly one */
    frag_guard_release(&fg, a);
    assert_true(admit6(&fg, 0x66, 0x10001, 1) >= 0);
    assert_int_equal(admit6(&fg, 0x66, 0x10001, 1), -1);
}

/* Within one /64, the same id from two addresses is two datagrams (two
 * groups), counted against one share. */
static void frag_ipv6_same_id_two_addresses(void **state)
{
    struct frag_guard fg;
    (void)state;
    frag_guard_init(&fg, 4, 2);
    int a = admit6(&fg, 0x66, 7, 1);
    int b = admit6(&fg, 0x67, 7, 1);
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(admit6(&fg, 0x68, 7, 1), -1);          /* a third datagram of the /64 */
    assert_int_equal(admit6(&fg, 0x66, 7, 1), a);
}

static void frag_table_full_and_bad_release(void **state)
{
    struct frag_guard fg;
    (void)state;
    frag_guard_init(&fg, 1, 1);
    for (uint32_t src = 0; src < FRAG_GROUPS; src++)
        assert_true(admit4(&fg, src, 1, 1) >= 0);
    assert_int_equal(admit4(&fg, 999, 1, 1), -1); /* no free group */
    frag_guard_release(&fg, -1);                            /* ignored */
    frag_guard_release(&fg, FRAG_GROUPS);
    frag_guard_release(&fg, 3);
    frag_guard_release(&fg, 3);                             /* twice: no underflow */
    assert_true(admit4(&fg, 999, 1, 1) >= 0);
    assert_int_equal(admit4(&fg, 1000, 1, 1), -1);
}

/* ---- stall tracker ---- */

static void stall_no_progress(void **state)
{
    struct stall_track t;
    (void)state;
    stall_track_init(&t, 1000, 0);
    assert_int_equal(stall_track_update(&t, true, 1000, 1460, 500), 500);
    assert_int_equal(stall_track_update(&t, true, 1000, 1460, 30000), 30000);
    /* a byte per probe is no progress */
    assert_int_equal(stall_track_update(&t, true, 1001, 1460, 31000), 31000);
    assert_int_equal(stall_track_update(&t, true, 1459 + 1000, 1460, 32000), 32000);
    /* a segment's worth is */
    assert_int_equal(stall_track_update(&t, true, 2460, 1460, 33000), 0);
    assert_int_equal(stall_track_update(&t, true, 2460, 1460, 34000), 1000);
}

static void stall_nothing_outstanding(void **state)
{
    struct stall_track t;
    (void)state;
    stall_track_init(&t, 5, 0);
    assert_int_equal(stall_track_update(&t, false, 5, 1460, 100000), 0);  /* idle: not stalled */
    assert_int_equal(stall_track_update(&t, true, 5, 1460, 100500), 500); /* from then on */
}

static void stall_wraps(void **state)
{
    struct stall_track t;
    (void)state;
    stall_track_init(&t, 0xffffff00u, 0);
    assert_int_equal(stall_track_update(&t, true, 0x00000600u, 1460, 10), 0); /* across 2^32 */
    /* sys_now wraps after 49 days: the age is an unsigned difference */
    stall_track_init(&t, 1, 0xfffffff0u);
    assert_int_equal(stall_track_update(&t, true, 1, 1460, 0x10u), 0x20);
    /* snd_una going back is a reused pcb: start afresh */
    assert_int_equal(stall_track_update(&t, true, 0, 1460, 0x20u), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_burst_then_rate),
        cmocka_unit_test(bucket_caps_at_burst),
        cmocka_unit_test(bucket_clock_backwards),
        cmocka_unit_test(frag_share_per_source),
        cmocka_unit_test(frag_datagram_limit),
        cmocka_unit_test(frag_ipv6_keys),
        cmocka_unit_test(frag_ipv6_same_id_two_addresses),
        cmocka_unit_test(frag_table_full_and_bad_release),
        cmocka_unit_test(stall_no_progress),
        cmocka_unit_test(stall_nothing_outstanding),
        cmocka_unit_test(stall_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
