/* See eth_csum.h. */
#include "tests/fuzz/lwip_host/eth_csum.h"

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static void store(uint8_t *at, uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    s = ~s & 0xffff;
    at[0] = (uint8_t)(s >> 8);
    at[1] = (uint8_t)s;
}

/* Offset of the checksum field in an L4 header, or -1. */
static int csum_at(uint8_t proto)
{
    switch (proto) {
    case 1: case 58: return 2;      /* ICMP, ICMPv6 */
    case 6: return 16;              /* TCP */
    case 17: return 6;              /* UDP */
    default: return -1;
    }
}

/* pseudo: the pseudo-header's partial sum (0 for ICMPv4). */
static void fix_l4(uint8_t *l4, size_t n, uint8_t proto, uint32_t pseudo)
{
    int at = csum_at(proto);
    if (at < 0 || n < (size_t)at + 2)
        return;
    l4[at] = l4[at + 1] = 0;
    store(l4 + at, sum16(l4, n, pseudo));
}

void eth_fix_checksums(uint8_t *f, size_t len)
{
    if (len < 14)
        return;
    uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
    uint8_t *ip = f + 14;
    size_t n = len - 14;

    if (type == 0x0800 && n >= 20 && (ip[0] >> 4) == 4) {
        size_t hl = (size_t)(ip[0] & 15) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);
        if (hl < 20 || hl > n)
            return;
        ip[10] = ip[11] = 0;
        store(ip + 10, sum16(ip, hl, 0));
        if (tot > n || tot < hl || (ip[6] & 0x3f) || ip[7] || (ip[6] & 0x20))
            return;     /* truncated, or a fragment: the L4 checksum spans datagrams */
        uint32_t ps = 0;
        if (ip[9] != 1)
            ps = sum16(ip + 12, 8, ip[9] + (uint32_t)(tot - hl));
        fix_l4(ip + hl, tot - hl, ip[9], ps);
    } else if (type == 0x86dd && n >= 40 && (ip[0] >> 4) == 6) {
        size_t pl = (size_t)(ip[4] << 8 | ip[5]);
        if (pl + 40 > n)
            return;
        uint32_t ps = sum16(ip + 8, 32, ip[6] + (uint32_t)pl);
        fix_l4(ip + 40, pl, ip[6], ps);
    }
}
