/* The network configuration from the command line (SPEC.md): ip=, gw=,
 * ip6=, gw6=, http.port=. Declared in config.c; read after boot only. */
#ifndef NET_CONFIG_H
#define NET_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct net_config {
    bool has_ip;
    uint32_t ip;           /* host byte order: a.b.c.d = a<<24 | ... */
    uint8_t prefix_len;
    bool has_gw;
    uint32_t gw;
    bool has_ip6;
    uint8_t ip6[16];       /* network byte order */
    uint8_t prefix6_len;
    bool has_gw6;
    uint8_t gw6[16];
    uint16_t http_port;
};

extern struct net_config net_config;

#endif
