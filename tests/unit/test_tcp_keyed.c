/* SipHash-2-4 against the paper's test vectors, the SYN cookie encoding
 * (round trip, wrong MAC, stale tick, MSS table, window scale), the keyed ISN
 * function, and the boot entropy sources, on the host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "net/guard/entropy.h"
#include "net/guard/siphash.h"
#include "net/guard/syncookie.h"

/* SipHash-2-4 paper, appendix A / reference vectors.h: key 00 01 .. 0f, message
 * 00 01 .. (len-1), for len = 0..63. */
static const uint64_t sip_vectors[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

static void test_siphash_paper_vectors(void **state)
{
    (void)state;
    uint8_t kb[16], msg[64];
    for (int i = 0; i < 16; i++)
        kb[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    struct siphash_key k = siphash_key_from_bytes(kb);
    assert_int_equal(k.k0, 0x0706050403020100ull);
    assert_int_equal(k.k1, 0x0f0e0d0c0b0a0908ull);
    for (size_t len = 0; len < 64; len++) {
        if (siphash24(&k, msg, len) != sip_vectors[len])
            fail_msg("len %zu: %016llx != %016llx", len,
                     (unsigned long long)siphash24(&k, msg, len),
                     (unsigned long long)sip_vectors[len]);
    }
}

static const struct siphash_key ckey = { 0x1111111111111111ull, 0x2222222222222222ull };
static const uint8_t tuple[] = { 4, 192, 0, 2, 2, 4, 192, 0, 2, 66, 0, 80, 0x75, 0x30 };

static void test_cookie_round_trip_every_mss_and_wscale(void **state)
{
    (void)state;
    const uint16_t peer_mss[] = { 0, 100, 535, 536, 1000, 1299, 1300, 1439, 1440, 1459, 1460, 9000 };
    const uint16_t want[] = { 536, 536, 536, 536, 536, 536, 1300, 1300, 1440, 1440, 1460, 1460 };
    const uint8_t ws_in[] = { 0, 1, 7, 14, 15, 200, SYNCOOKIE_NO_WSCALE };
    const uint8_t ws_out[] = { 0, 1, 7, 14, 14, 14, SYNCOOKIE_NO_WSCALE };
    for (size_t i = 0; i < sizeof peer_mss / sizeof *peer_mss; i++) {
        for (size_t j = 0; j < sizeof ws_in; j++) {
            uint16_t mss = peer_mss[i], got_mss = 0;
            uint8_t got_ws = 99;
            uint32_t c = syncookie_make(&ckey, tuple, sizeof tuple, 0xdeadbeef, 1000, &mss, ws_in[j]);
            assert_int_equal(mss, want[i]);
            assert_true(syncookie_check(&ckey, tuple, sizeof tuple, 0xdeadbeef, c, 1000, &got_mss,
                                        &got_ws));
            assert_int_equal(got_mss, want[i]);
            assert_int_equal(got_ws, ws_out[j]);
        }
    }
}

static void test_cookie_time_window(void **state)
{
    (void)state;
    uint16_t mss = 1460, m;
    uint8_t w;
    /* including the 32-bit tick wrap */
    const uint32_t ticks[] = { 0, 1, 2, 3, 4, 5, 77, 0xfffffffeu, 0xffffffffu };
    for (size_t i = 0; i < sizeof ticks / sizeof *ticks; i++) {
        uint32_t t = ticks[i];
        uint32_t c = syncookie_make(&ckey, tuple, sizeof tuple, 42, t, &mss, 7);
        assert_true(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t, &m, &w));
        assert_true(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t + 1, &m, &w));
        assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t + 2, &m, &w)); /* stale */
        assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t + 3, &m, &w));
        assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t + 4, &m, &w)); /* wrapped mod 4 */
        assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t + 5, &m, &w));
        assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 42, c, t - 1, &m, &w)); /* from the future */
    }
}

static void test_cookie_rejects_forgeries(void **state)
{
    (void)state;
    uint16_t mss = 1460, m;
    uint8_t w;
    uint32_t c = syncookie_make(&ckey, tuple, sizeof tuple, 7, 500, &mss, 7);
    /* every single-bit change of the cookie */
    for (int b = 0; b < 32; b++)
        assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 7, c ^ (1u << b), 500, &m, &w));
    /* another peer ISN, another tuple byte, another key */
    assert_false(syncookie_check(&ckey, tuple, sizeof tuple, 8, c, 500, &m, &w));
    for (size_t i = 0; i < sizeof tuple; i++) {
        uint8_t t2[sizeof tuple];
        memcpy(t2, tuple, sizeof tuple);
        t2[i] ^= 1;
        assert_false(syncookie_check(&ckey, t2, sizeof t2, 7, c, 500, &m, &w));
    }
    struct siphash_key k2 = ckey;
    k2.k1 ^= 1;
    assert_false(syncookie_check(&k2, tuple, sizeof tuple, 7, c, 500, &m, &w));
    /* random guesses: a 24-bit MAC lets about 2^-24 * 2 (two ticks) through */
    uint32_t x = 12345, accepted = 0;
    for (int i = 0; i < 200000; i++) {
        x = x * 1664525u + 1013904223u;
        accepted += syncookie_check(&ckey, tuple, sizeof tuple, 7, x, 500, &m, &w);
    }
    assert_true(accepted <= 2);
}

/* Cookies look uniform: their top byte (tick, MSS, wscale before H1) varies. */
static void test_cookie_fields_hidden(void **state)
{
    (void)state;
    uint8_t seen[256] = { 0 };
    int distinct = 0;
    for (uint32_t isn = 0; isn < 2000; isn++) {
        uint16_t mss = 1460;
        uint32_t c = syncookie_make(&ckey, tuple, sizeof tuple, isn, 9, &mss, 7);
        if (!seen[c >> 24]++)
            distinct++;
    }
    assert_true(distinct > 200);
}

static void test_entropy_sources(void **state)
{
    (void)state;
    uint8_t a[32], b[32], zero[32] = { 0 };
    assert_true(entropy_get_from(ENTROPY_TSC_JITTER, a, sizeof a));
    assert_true(entropy_get_from(ENTROPY_TSC_JITTER, b, sizeof b));
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
    enum entropy_source src = entropy_get(a, sizeof a);
    entropy_get(b, sizeof b);
    assert_memory_not_equal(a, b, sizeof a);
    printf("host entropy source: %s\n", entropy_source_name(src));
    /* odd lengths are filled to the last byte */
    uint8_t c[13];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 8 && c[12] == 0; i++)
        entropy_get(c, sizeof c);
    assert_int_not_equal(c[12], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_paper_vectors),
        cmocka_unit_test(test_cookie_round_trip_every_mss_and_wscale),
        cmocka_unit_test(test_cookie_time_window),
        cmocka_unit_test(test_cookie_rejects_forgeries),
        cmocka_unit_test(test_cookie_fields_hidden),
        cmocka_unit_test(test_entropy_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
