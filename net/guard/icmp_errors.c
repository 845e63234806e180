#include "net/guard/icmp_errors.h"

#include <stdint.h>

#define ETH_HLEN 14
#define ETHTYPE_IPV4 0x0800
#define ETHTYPE_IPV6 0x86dd
#define IP_PROTO_ICMP 1
#define IP6_NEXTH_ICMP6 58

static bool icmp4_error_type(uint8_t t)
{
    return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

bool icmp_error_frame(const void *frame, size_t len)
{
    const uint8_t *f = frame;
    if (len < ETH_HLEN + 1)
        return false;
    unsigned type = (unsigned)f[12] << 8 | f[13];
    const uint8_t *ip = f + ETH_HLEN;
    size_t left = len - ETH_HLEN;
    if (type == ETHTYPE_IPV4) {
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || left < ihl + 1 || ip[9] != IP_PROTO_ICMP)
            return false;
        return icmp4_error_type(ip[ihl]);
    }
    if (type == ETHTYPE_IPV6) {
        /* Errors lwIP makes carry no extension header. */
        if ((ip[0] >> 4) != 6 || left < 40 + 1 || ip[6] != IP6_NEXTH_ICMP6)
            return false;
        return ip[40] >= 1 && ip[40] <= 4;
    }
    return false;
}
