/* iperf 2 test headers (iperf 2.1.8's include/payloads.h and
 * Settings_ClientTestHdrLen/Listener::apply_client_settings_tcp): the first
 * bytes a client writes on a TCP test connection. Pure, unit-tested.
 *
 * Layout, all big-endian: client_hdr_v1 (24 bytes: flags, numThreads, mPort,
 * mBufLen, mWinBand, mAmount), then with HEADER_EXTEND client_hdrext
 * (36 bytes: type, length, upperflags:16, lowerflags:16, version_u,
 * version_l, reserved:16, tos:16, lRate, uRate, TCPWritePrefetch). 2.1
 * clients set HEADER_LEN_BIT and carry the total length in flags bits 1..8. */
#ifndef NET_IPERF2_HDR_H
#define NET_IPERF2_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/apps/iperf_rx.h"

#define IPERF2_HEADER_VERSION1    0x80000000u
#define IPERF2_HEADER_EXTEND      0x40000000u
#define IPERF2_HEADER_KEYCHECK    0x10000000u
#define IPERF2_HEADER_VERSION2    0x04000000u
#define IPERF2_HEADER_V2PEERDETECT 0x02000000u
#define IPERF2_HEADER_BOUNCEBACK  0x00800000u
#define IPERF2_HEADER_LEN_BIT     0x00010000u
#define IPERF2_HEADER_LEN_MASK    0x000001feu
#define IPERF2_RUN_NOW            0x00000001u
#define IPERF2_UPPER_REVERSE      0x0400u
#define IPERF2_UPPER_FULLDUPLEX   0x0800u

#define IPERF2_HDR_V1_LEN   24
#define IPERF2_HDR_EXT_LEN  36
#define IPERF2_HDR_MAX      256     /* iperf's MAX_HEADER_LEN */
#define IPERF2_ACK_LEN      28      /* client_hdr_ack without its timestamps */

enum iperf2_mode {
    IPERF2_NORMAL,      /* client sends, we receive */
    IPERF2_REVERSE,     /* -R: we send on the same connection */
    IPERF2_FULLDUPLEX,  /* --full-duplex: both ways on the same connection */
    IPERF2_DUAL,        /* -d: we connect back at once and send */
    IPERF2_TRADEOFF,    /* -r: we connect back once the client is done */
};

struct iperf2_req {
    uint32_t flags;
    uint16_t upper;         /* client_hdrext upperflags (0 without HEADER_EXTEND) */
    enum iperf2_mode mode;
    uint16_t port;          /* client's listen port, for -d/-r */
    bool time_mode;         /* amount is in 10 ms units, else bytes */
    uint64_t amount;
    uint64_t rate_bps;      /* -b: what we send is paced to it (0: not set) */
    uint32_t hdr_len;       /* bytes of the stream that were header (>= 4) */
    bool send_ack;          /* the client expects a client_hdr_ack */
};

enum iperf2_hdr_state { IPERF2_HDR_FLAGS, IPERF2_HDR_REST, IPERF2_HDR_DONE, IPERF2_HDR_BAD };

struct iperf2_hdr_rx {
    enum iperf2_hdr_state state;
    struct iperf_rx rx;
    const char *why;        /* IPERF2_HDR_BAD: the reason */
    struct iperf2_req req;  /* IPERF2_HDR_DONE */
    uint8_t buf[IPERF2_HDR_MAX];
};

void iperf2_hdr_init(struct iperf2_hdr_rx *h);

/* Feeds stream bytes in arrival order, any split; consumes header bytes only
 * and returns how many. Done or refused once state is DONE or BAD; a
 * client that sends no header (no version flag) gets mode NORMAL and its
 * first four bytes count as header. */
size_t iperf2_hdr_feed(struct iperf2_hdr_rx *h, const void *p, size_t n);

/* Header length announced by the first word; 0: no header, -1: refused. */
int iperf2_hdr_len(uint32_t flags, const char **why);

/* Parses a complete header buf[0..len). Returns 0, or -1 with *why. */
int iperf2_hdr_parse(const uint8_t *buf, uint32_t len, struct iperf2_req *out, const char **why);

/* The client_hdr_ack a 2.1 server writes back (CLIENTHDRACK, 28 bytes). */
void iperf2_ack_build(uint8_t out[IPERF2_ACK_LEN]);

#endif
