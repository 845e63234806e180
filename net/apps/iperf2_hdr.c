#include "net/apps/iperf2_hdr.h"

#include <string.h>

#define CLIENTHDRACK 2
/* The protocol revision we speak: iperf 2.1.8's IPERF_VERSION_{MAJOR,MINOR}HEX. */
#define PROTO_VERSION_U 0x00020001u
#define PROTO_VERSION_L 0x00080003u

int iperf2_hdr_len(uint32_t flags, const char **why)
{
    if (flags & IPERF2_HEADER_BOUNCEBACK) {
        *why = "bounce-back test (not supported)";
        return -1;
    }
    if (!(flags & (IPERF2_HEADER_VERSION1 | IPERF2_HEADER_VERSION2 | IPERF2_HEADER_EXTEND)))
        return 0;
    if (flags & IPERF2_HEADER_KEYCHECK) {
        *why = "permit key (not supported)";
        return -1;
    }
    int len = 0;
    if (flags & IPERF2_HEADER_LEN_BIT) {
        len = (int)((flags & IPERF2_HEADER_LEN_MASK) >> 1);
    } else {
        if (flags & (IPERF2_HEADER_VERSION1 | IPERF2_HEADER_EXTEND))
            len = IPERF2_HDR_V1_LEN;
        if (flags & (IPERF2_HEADER_VERSION2 | IPERF2_HEADER_EXTEND))
            len += IPERF2_HDR_EXT_LEN;
    }
    if (len < IPERF2_HDR_V1_LEN) {
        *why = "header shorter than client_hdr_v1";
        return -1;
    }
    return len;
}

int iperf2_hdr_parse(const uint8_t *buf, uint32_t len, struct iperf2_req *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (len < 4) {
        *why = "runt header";
        return -1;
    }
    uint32_t flags = iperf_be32(buf);
    out->flags = flags;
    out->mode = IPERF2_NORMAL;
    out->hdr_len = len;
    int want = iperf2_hdr_len(flags, why);
    if (want < 0)
        return -1;
    if (want == 0) {
        out->hdr_len = 4;
        return 0;
    }
    if ((uint32_t)want != len || len < IPERF2_HDR_V1_LEN) {
        *why = "header length mismatch";
        return -1;
    }
    out->port = (uint16_t)iperf_be32(buf + 8);
    uint32_t amount = iperf_be32(buf + 20);
    if (amount & 0x80000000u) {
        out->time_mode = true;
        out->amount = (uint64_t)(0x100000000ull - amount);    /* -amount, 10 ms units */
    } else {
        out->amount = amount;
    }
    if ((flags & IPERF2_HEADER_EXTEND) && len >= IPERF2_HDR_V1_LEN + 12)
        out->upper = iperf_be16(buf + IPERF2_HDR_V1_LEN + 8);
    /* lRate, and uRate's upper 32 bits shifted left by 8 (Settings_GenerateClientHdr) */
    if ((flags & IPERF2_HEADER_EXTEND) && len >= IPERF2_HDR_V1_LEN + 32)
        out->rate_bps = iperf_be32(buf + IPERF2_HDR_V1_LEN + 24) |
                        (uint64_t)(iperf_be32(buf + IPERF2_HDR_V1_LEN + 28) >> 8) << 32;
    if ((flags & IPERF2_HEADER_VERSION1) && !(flags & IPERF2_HEADER_VERSION2))
        out->mode = (flags & IPERF2_RUN_NOW) ? IPERF2_DUAL : IPERF2_TRADEOFF;
    else if ((flags & IPERF2_HEADER_VERSION2) && (out->upper & IPERF2_UPPER_FULLDUPLEX))
        out->mode = IPERF2_FULLDUPLEX;
    else if ((flags & IPERF2_HEADER_VERSION2) && (out->upper & IPERF2_UPPER_REVERSE))
        out->mode = IPERF2_REVERSE;
    if ((out->mode == IPERF2_DUAL || out->mode == IPERF2_TRADEOFF) && out->port == 0) {
        *why = "connect-back to port 0";
        return -1;
    }
    out->send_ack = (!(flags & IPERF2_HEADER_VERSION2) && (flags & IPERF2_HEADER_EXTEND)) ||
                    (flags & IPERF2_HEADER_V2PEERDETECT);
    return 0;
}

void iperf2_hdr_init(struct iperf2_hdr_rx *h)
{
    h->state = IPERF2_HDR_FLAGS;
    h->why = NULL;
    memset(&h->req, 0, sizeof(h->req));
    iperf_rx_init(&h->rx, h->buf, sizeof(h->buf));
    iperf_rx_expect(&h->rx, 4);
}

size_t iperf2_hdr_feed(struct iperf2_hdr_rx *h, const void *p, size_t n)
{
    const uint8_t *s = p;
    size_t used = 0;

    while (used < n && (h->state == IPERF2_HDR_FLAGS || h->state == IPERF2_HDR_REST)) {
        used += iperf_rx_take(&h->rx, s + used, n - used);
        if (!iperf_rx_complete(&h->rx))
            break;
        uint32_t len = h->rx.have;
        if (h->state == IPERF2_HDR_FLAGS) {
            int want = iperf2_hdr_len(iperf_be32(h->buf), &h->why);
            if (want < 0) {
                h->state = IPERF2_HDR_BAD;
                break;
            }
            if (want > 4) {
                /* keep the 4 bytes, collect the rest behind them */
                h->rx.want = (uint32_t)want;
                h->state = IPERF2_HDR_REST;
                continue;
            }
        }
        h->state = iperf2_hdr_parse(h->buf, len, &h->req, &h->why) == 0 ? IPERF2_HDR_DONE
                                                                       : IPERF2_HDR_BAD;
    }
    return used;
}

void iperf2_ack_build(uint8_t out[IPERF2_ACK_LEN])
{
    memset(out, 0, IPERF2_ACK_LEN);
    iperf_put_be32(out, CLIENTHDRACK);
    iperf_put_be32(out + 4, IPERF2_ACK_LEN);
    /* flags (8) stay 0 */
    iperf_put_be32(out + 12, PROTO_VERSION_U);
    iperf_put_be32(out + 16, PROTO_VERSION_L);
    /* reserved1, reserved2 (20, 24) stay 0 */
}
