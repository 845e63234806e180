/* Checksum fix-up for fuzzed frames (tests/fuzz/lwip_host/fuzz_eth.c): a
 * mutated frame with its checksums recomputed reaches past lwIP's checks. */
#ifndef FUZZ_ETH_CSUM_H
#define FUZZ_ETH_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Recomputes, in place, the IPv4 header checksum and the ICMP, ICMPv6, TCP
 * or UDP checksum of an untagged Ethernet frame, as far as the headers'
 * lengths lie inside the frame (IPv6: only an L4 header right after the
 * fixed header). Anything else is left as it is. */
void eth_fix_checksums(uint8_t *f, size_t len);

#endif
