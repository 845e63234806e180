/* The fuzzer's TCP peers: a few connection slots, each remembering what its
 * peer has seen of lwIP (ISN, contiguous data received, highest sequence, last
 * ack and window) so that segments can be built relative to the real state. */
#ifndef FUZZ_PEER_H
#define FUZZ_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_SLOTS 4
#define PEER_IPS   4

struct slot {
    bool used;
    bool synced;        /* lwIP's SYN seen: lw_* values are meaningful */
    bool reset;         /* lwIP sent RST */
    bool lw_fin;        /* lwIP's FIN received in order */
    uint8_t ip;         /* peer address index */
    uint8_t drop;       /* lwIP segments still to lose */
    uint8_t lw_wscale;  /* lwIP's window shift, from its SYN */
    uint16_t pport, lport;
    uint32_t snd_nxt;   /* peer's next sequence number */
    uint32_t acked;     /* last ack the peer sent */
    uint32_t lw_isn, rcv_nxt, lw_max;   /* in lwIP's sequence space */
    uint32_t lw_ack;    /* last ack lwIP sent */
    uint32_t lw_win;    /* last window lwIP advertised (scaled) */
    uint64_t rx_bytes;  /* in-order payload received from lwIP */
    uint16_t last_len;  /* last segment the peer sent, for duplicates */
    uint8_t last[1600];
};

extern struct slot slots[PEER_SLOTS];

struct seg {
    uint32_t seq, ack;
    uint8_t flags;      /* TCP_FIN .. TCP_CWR */
    uint16_t win;       /* raw header field */
    const uint8_t *opts;
    uint8_t optlen;     /* multiple of 4 */
    const uint8_t *data;
    uint16_t len;
    uint16_t split;     /* see sim_inject */
};

void peers_reset(void);
/* Builds and injects one segment on slot s (and remembers it for dup). */
void peer_send(struct slot *s, const struct seg *g);
/* An in-window RST from ip:pport to lport (ip is host order). */
void peer_rst(uint32_t ip, uint16_t pport, uint16_t lport, uint32_t seq, uint32_t ack);
/* Resends slot s's last segment. */
void peer_dup(struct slot *s);
/* Reads what lwIP sent and updates the slots. */
void peers_drain(void);

#endif
