/* The Internet checksum's sum (RFC 1071) for lwIP's LWIP_CHKSUM: 8 bytes per
 * addition with end-around carry, folded to 16 bits. Same contract as lwIP's
 * lwip_standard_chksum: the uncomplemented sum of the 16-bit words starting
 * at data (a last odd byte padded with zero), in the byte order they have in
 * memory; any alignment. Every IPv4 header is summed in software, sent and
 * received (the device offloads only TCP/UDP), so this runs per packet.
 * A header of its own because lwipopts.h includes it: inet_chksum.c sees
 * no other file of ours. */
#ifndef NET_INET_CSUM_H
#define NET_INET_CSUM_H

#include <stdint.h>

static inline uint16_t inet_csum_sum(const void *data, int len)
{
    const uint8_t *p = data;
    uint64_t sum = 0, w;

    for (; len >= 8; p += 8, len -= 8) {
        __builtin_memcpy(&w, p, 8);
        sum += w;
        sum += sum < w;     /* end-around carry: 2^64 = 1 mod 0xffff */
    }
    if (len >= 4) {
        uint32_t v;
        __builtin_memcpy(&v, p, 4);
        sum += v;
        sum += sum < v;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t v;
        __builtin_memcpy(&v, p, 2);
        sum += v;
        sum += sum < v;
        p += 2;
        len -= 2;
    }
    if (len > 0) {
        uint8_t b[2] = { p[0], 0 };
        uint16_t v;
        __builtin_memcpy(&v, b, 2);
        sum += v;
        sum += sum < v;
    }
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)sum;
}

#endif
