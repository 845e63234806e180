/* Keyed per-destination datagram ids (ip_id.h says why; after Linux
 * net/ipv4/route.c ip_idents_reserve). Called from lwIP's output path in
 * the main loop only: no locking. */
#include "net/guard/ip_id.h"

#include <stdbool.h>
#include <string.h>

#include "lwip/debug.h"
#include "lwip/opt.h"
#include "lwip/sys.h"

struct ip_id_bucket {
    uint32_t next;          /* the next id this counter hands out */
    uint32_t last_ms;       /* when it last did */
};

static struct siphash_key id_key;
static bool id_key_set;
static struct ip_id_bucket buckets[IP_ID_BUCKETS];
static uint8_t seeded[IP_ID_BUCKETS / 8];

/* The last (source, destination, protocol) and its hash: a bulk flow
 * hashes once, not per segment. */
static struct {
    bool valid;
    uint8_t proto;
    uint32_t src[4], dst[4];
    uint64_t hash;
} last;

void ip_id_set_key(const struct siphash_key *key)
{
    id_key = *key;
    id_key_set = true;
    memset(buckets, 0, sizeof buckets);
    memset(seeded, 0, sizeof seeded);
    last.valid = false;
}

static bool same_words(const uint32_t a[4], const uint32_t b[4])
{
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

/* Per datagram on the output path: a hit costs a few compares (newlib's
 * byte-wise memcmp was most of this function's cost per request). */
static uint64_t tuple_hash(const uint32_t src[4], const uint32_t dst[4], uint8_t proto)
{
    if (last.valid && last.proto == proto && same_words(last.dst, dst) &&
        same_words(last.src, src))
        return last.hash;
    uint8_t msg[33];
    memcpy(msg, src, 16);
    memcpy(msg + 16, dst, 16);
    msg[32] = proto;
    uint64_t h = siphash24(&id_key, msg, sizeof msg);
    last.valid = true;
    last.proto = proto;
    memcpy(last.src, src, sizeof last.src);
    memcpy(last.dst, dst, sizeof last.dst);
    last.hash = h;
    return h;
}

uint32_t ip_id_reserve(const uint32_t src[4], const uint32_t dst[4], uint8_t proto,
                       uint32_t count, uint32_t now_ms)
{
    LWIP_ASSERT("ip_id_reserve: no key (tcp_keys_init not called)", id_key_set);
    uint64_t h = tuple_hash(src, dst, proto);
    uint32_t i = (uint32_t)h & (IP_ID_BUCKETS - 1);
    struct ip_id_bucket *b = &buckets[i];
    if (!(seeded[i / 8] & (1u << (i % 8)))) {
        seeded[i / 8] |= (uint8_t)(1u << (i % 8));
        b->next = (uint32_t)(h >> 32);
        b->last_ms = now_ms;
    } else if (b->last_ms != now_ms) {
        /* Idle for a while: jump by a secret amount below the idle time, so
         * the distance between two ids a peer sees is not our packet count
         * to the others sharing the counter. */
        uint32_t idle = now_ms - b->last_ms;
        uint32_t state[3] = { i, b->next, now_ms };
        b->next += (uint32_t)(siphash24(&id_key, state, sizeof state) % idle);
        b->last_ms = now_ms;
    }
    uint32_t id = b->next;
    b->next += count ? count : 1;
    return id;
}

u16_t ip_id_hook4(const struct pbuf *p, const ip4_addr_t *src, const ip4_addr_t *dest,
                  u8_t proto)
{
    uint32_t s[4] = { src ? ip4_addr_get_u32(src) : 0, 0, 0, 0 };
    uint32_t d[4] = { ip4_addr_get_u32(dest), 0, 0, 0 };
    uint32_t count = 1;
#if LWIP_TCP_TSO
    /* The device cuts a super-segment into payload / tso_segsz wire
     * segments; counting the headers too can only reserve one id more. */
    if (p->tso_segsz)
        count = (p->tot_len + p->tso_segsz - 1u) / p->tso_segsz;
#else
    (void)p;
#endif
    return (u16_t)ip_id_reserve(s, d, proto, count, sys_now());
}

u32_t ip_id_hook6(const struct ip6_hdr *ip6hdr, const ip6_addr_t *dest)
{
    uint32_t s[4], d[4];
    memcpy(s, &ip6hdr->src, sizeof s);
    memcpy(d, dest->addr, sizeof d);
    return ip_id_reserve(s, d, IP6_NEXTH_FRAGMENT, 1, sys_now());
}
