/* What lwIP may hold of the driver's receive buffers, and how.
 *
 * RX is zero-copy: a driver buffer is lent to lwIP as a PBUF_REF custom
 * pbuf and goes back to the driver when lwIP frees it. Whatever lwIP keeps
 * (out-of-order queues, refused data, reassembly) is a buffer the ring
 * cannot get back; the driver allocates at most its ring size + 512 per
 * queue, so a peer that makes lwIP keep enough of them stops reception.
 * Here:
 *  - the custom pbufs (with their free function pointer) live in a glue
 *    array, not in the buffer: the device-visible memory is data only;
 *  - at most RX_LEND_MAX buffers are lent at once (fewer than the driver's
 *    512 spare ones), so the ring can always refill;
 *  - when fewer than RX_LEND_LOW are left, out-of-order queues are freed
 *    (the pcb idle longest first), refused data is copied to the heap, and
 *    frames of at most RX_COPYBREAK bytes are copied into PBUF_RAM (Linux's
 *    rx_copybreak); with none left, every frame is copied;
 *  - IPv4 and IPv6 fragments get a per-source share of reassembly
 *    (frag_guard.h);
 *  - ICMP echo requests pass a rate limit (icmp_limit.h).
 * Main loop only. */
#ifndef NET_RX_GUARD_H
#define NET_RX_GUARD_H

#include "drivers/net/netdev.h"
#include "lwip/pbuf.h"

#define RX_LEND_MAX   384
#define RX_LEND_LOW   96
#define RX_COPYBREAK  256

/* The frame as a pbuf chain for lwIP's input, or NULL: dropped (counted),
 * its buffers already given back to the driver. */
struct pbuf *rx_guard_frame(struct netdev *dev, const struct netdev_rx_frag *frags,
                            unsigned nfrags);

/* Buffers lent to lwIP right now (for /stats and tests). */
unsigned rx_guard_lent(void);

#endif
