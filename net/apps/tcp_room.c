#include "net/apps/tcp_room.h"

#include "lwip/priv/tcp_priv.h"

/* tcp_out.c would add that hook's options to every segment: count them too */
#ifdef LWIP_HOOK_TCP_OUT_TCPOPT_LENGTH
#error "tcp_room_seg_payload() does not count LWIP_HOOK_TCP_OUT_TCPOPT_LENGTH options"
#endif

uint32_t tcp_room_bytes(uint32_t sndbuf, unsigned queuelen, unsigned qmax,
                        unsigned seg_payload, bool copy)
{
    unsigned per_seg = copy ? 1u : 2u;
    uint64_t n;

    if (qmax > TCP_SND_QUEUELEN)
        qmax = TCP_SND_QUEUELEN;
    if (seg_payload == 0 || queuelen + 1u + per_seg > qmax)
        return 0;
    n = (uint64_t)((qmax - queuelen - 1u) / per_seg) * seg_payload;
    return n < sndbuf ? (uint32_t)n : sndbuf;
}

unsigned tcp_room_seg_payload(const struct tcp_pcb *pcb)
{
    /* tcp_write: no segment over half the largest window the peer offered */
    unsigned mss = LWIP_MIN(pcb->mss, TCPWND_MIN16(pcb->snd_wnd_max / 2));
    unsigned opt;

    if (mss == 0)
        mss = pcb->mss;
#if LWIP_TCP_TIMESTAMPS
    if (pcb->flags & TF_TIMESTAMP) {
        opt = LWIP_TCP_OPT_LENGTH(TF_SEG_OPTS_TS);
        mss = LWIP_MAX(mss, LWIP_TCP_OPT_LEN_TS + 1);
    } else
#endif
    {
        opt = LWIP_TCP_OPT_LENGTH(0);
    }
    return mss > opt ? mss - opt : 0;
}

uint32_t tcp_room(const struct tcp_pcb *pcb, unsigned qmax, bool copy)
{
    return tcp_room_bytes(tcp_sndbuf(pcb), tcp_sndqueuelen(pcb), qmax,
                          tcp_room_seg_payload(pcb), copy);
}
