/* SYN cookie encoding and validation; see net/guard/syncookie.h for the layout.
 * H1 hides the plain fields (tick, MSS, wscale) from an observer and makes
 * the ISN look uniform; the MAC over the full tick and fields is what a
 * forger must guess: 2^-24 per try, and a try needs a spoofed ACK. */
#include "net/guard/syncookie.h"

#include <string.h>

const uint16_t syncookie_mss_table[SYNCOOKIE_MSS_COUNT] = { 536, 1300, 1440, 1460 };

#define MSG_MAX 64

static size_t msg_build(uint8_t *m, const uint8_t *tuple, size_t tuple_len, uint32_t peer_isn)
{
    memcpy(m, tuple, tuple_len);
    size_t n = tuple_len;
    for (int i = 3; i >= 0; i--)
        m[n++] = (uint8_t)(peer_isn >> (8 * i));
    return n;
}

static uint32_t h1(const struct siphash_key *key, const uint8_t *tuple, size_t tuple_len,
                   uint32_t peer_isn)
{
    uint8_t m[MSG_MAX];
    size_t n = msg_build(m, tuple, tuple_len, peer_isn);
    m[n++] = 1;
    return (uint32_t)siphash24(key, m, n);
}

static uint32_t mac24(const struct siphash_key *key, const uint8_t *tuple, size_t tuple_len,
                      uint32_t peer_isn, uint32_t tick, uint8_t fields)
{
    uint8_t m[MSG_MAX];
    size_t n = msg_build(m, tuple, tuple_len, peer_isn);
    for (int i = 3; i >= 0; i--)
        m[n++] = (uint8_t)(tick >> (8 * i));
    m[n++] = fields;
    m[n++] = 2;
    return (uint32_t)siphash24(key, m, n) & 0xffffff;
}

uint32_t syncookie_make(const struct siphash_key *key, const uint8_t *tuple, size_t tuple_len,
                        uint32_t peer_isn, uint32_t tick, uint16_t *mss, uint8_t wscale)
{
    unsigned idx = 0;
    for (unsigned i = 1; i < SYNCOOKIE_MSS_COUNT; i++)
        if (*mss >= syncookie_mss_table[i])
            idx = i;
    *mss = syncookie_mss_table[idx];
    /* RFC 7323 2.3: a shift above 14 is used as 14 (lwIP's tcp_parseopt too). */
    unsigned ws = wscale == SYNCOOKIE_NO_WSCALE ? 15u : wscale > 14 ? 14u : wscale;
    uint8_t fields = (uint8_t)(idx << 4 | ws);
    uint32_t x = (tick & 3u) << 30 | (uint32_t)fields << 24 |
                 mac24(key, tuple, tuple_len, peer_isn, tick, fields);
    return x + h1(key, tuple, tuple_len, peer_isn);
}

bool syncookie_check(const struct siphash_key *key, const uint8_t *tuple, size_t tuple_len,
                     uint32_t peer_isn, uint32_t cookie, uint32_t tick_now, uint16_t *mss,
                     uint8_t *wscale)
{
    uint32_t x = cookie - h1(key, tuple, tuple_len, peer_isn);
    uint32_t age = (tick_now - (x >> 30)) & 3u;
    if (age > SYNCOOKIE_MAX_AGE)
        return false;
    uint8_t fields = (uint8_t)((x >> 24) & 0x3f);
    if ((x & 0xffffff) != mac24(key, tuple, tuple_len, peer_isn, tick_now - age, fields))
        return false;
    *mss = syncookie_mss_table[fields >> 4];
    *wscale = (fields & 15) == 15 ? SYNCOOKIE_NO_WSCALE : (uint8_t)(fields & 15);
    return true;
}
