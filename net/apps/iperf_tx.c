#include "net/apps/iperf_tx.h"

#include <string.h>

#include "lwip/memp.h"
#include "lwip/sys.h"

#include "net/apps/tcp_room.h"

/* Never written after iperf_tx_init(): lwIP's ROM pbufs point into it until
 * the peer acknowledges. iperf2's pattern: "0123456789" repeated. */
#define PATTERN_LEN (32 * 1024)
static uint8_t pattern[PATTERN_LEN];

void iperf_tx_init(void)
{
    /* One period, then doubling copies (each a whole number of periods): a
     * byte loop here was ~98 k guest instructions of boot. */
    for (uint32_t i = 0; i < 10; i++)
        pattern[i] = (uint8_t)('0' + i);
    for (uint32_t n = 10; n < PATTERN_LEN; n *= 2)
        memcpy(pattern + n, pattern, n < PATTERN_LEN - n ? n : PATTERN_LEN - n);
}

void iperf_tx_start(struct iperf_tx *t, uint32_t duration_ms, uint64_t limit, uint64_t rate_bps)
{
    t->queued = 0;
    t->limit = limit;
    t->rate_bps = rate_bps;
    t->timed = duration_ms != 0;
    t->start_ms = sys_now();
    t->end_ms = t->start_ms + duration_ms;
    t->done = false;
}

void iperf_tx_stop(struct iperf_tx *t) { t->done = true; }

/* Half the segment pool for iperf, the rest for HTTP and everyone else. */
static unsigned queue_share(unsigned senders)
{
    unsigned q = MEMP_NUM_TCP_SEG / 2 / (senders ? senders : 1);
    if (q > TCP_SND_QUEUELEN)
        q = TCP_SND_QUEUELEN;
    return q < 16 ? 16 : q;
}

err_t iperf_tx_fill(struct tcp_pcb *pcb, struct iperf_tx *t, unsigned senders)
{
    bool queued = false;
    err_t err = ERR_OK;
    unsigned qmax = queue_share(senders);

    while (!t->done) {
        if (t->timed && (int32_t)(sys_now() - t->end_ms) >= 0) {
            t->done = true;
            break;
        }
        uint64_t left = t->limit - t->queued;
        if (left == 0) {
            t->done = true;
            break;
        }
        if (t->rate_bps) {
            /* what the rate allows by now, plus one pattern's worth of burst */
            uint64_t allowed = (uint64_t)((unsigned __int128)t->rate_bps *
                                          (uint32_t)(sys_now() - t->start_ms) / 8000) + PATTERN_LEN;
            if (allowed <= t->queued)
                break;
            if (left > allowed - t->queued)
                left = allowed - t->queued;
        }
        uint32_t n = tcp_room(pcb, qmax, false);   /* what fits at this MSS */
        if (n == 0)
            break;
        if (n > PATTERN_LEN)
            n = PATTERN_LEN;
        if (n > left)
            n = (uint32_t)left;
        /* MORE: no PSH per write, the stream has no message boundaries */
        err = tcp_write(pcb, pattern, (u16_t)n, TCP_WRITE_FLAG_MORE);
        if (err != ERR_OK)
            break;
        t->queued += n;
        queued = true;
    }
    if (queued || t->done)
        tcp_output(pcb);
    return err == ERR_MEM ? ERR_OK : err;
}
