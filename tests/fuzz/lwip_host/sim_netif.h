/* A simulated IPv4 netif for the host fuzz build: frames in become custom
 * pbufs (like the driver's zero-copy RX buffers), frames out are copied into
 * a capture list, optionally with a reference held like a device that has not
 * completed the transmission yet. */
#ifndef FUZZ_SIM_NETIF_H
#define FUZZ_SIM_NETIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_LOCAL_IP  0xc0000201u   /* 192.0.2.1 */
#define SIM_PEER_IP(i) (0xc000020au + (uint32_t)(i))   /* 192.0.2.10 + i */
#define SIM_CAP_BYTES 80            /* IP + TCP headers with options */
#define SIM_CAP_MAX   512

struct sim_frame {
    uint16_t len;                   /* whole IP packet */
    uint8_t data[SIM_CAP_BYTES];    /* its first bytes */
};

void sim_netif_init(void);
/* Hands one IP packet to lwIP as a chain of custom pbufs, split at `split`
 * bytes (0: one pbuf). */
void sim_inject(const uint8_t *pkt, size_t len, size_t split);

/* Frames lwIP sent since the last sim_take_output(). */
size_t sim_take_output(struct sim_frame **frames);

/* While holding, each sent pbuf keeps a reference until sim_tx_complete()
 * (or until SIM_HOLD_MAX are held: the oldest completes). */
void sim_set_tx_hold(bool on);
/* TCP segmentation offload on the netif (net/port/patches/0801-*), as the
 * glue sets it when the device offers HOST_TSO4; frames over the MTU must
 * then be super-segments whose segments fit it (else abort). */
void sim_set_tso(bool on);
void sim_tx_complete(void);

/* RX buffers lwIP still holds (must be 0 after teardown). */
long sim_rx_outstanding(void);

#endif
