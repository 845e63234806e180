#include "net/guard/stall_track.h"

void stall_track_init(struct stall_track *t, uint32_t snd_una, uint32_t now_ms)
{
    t->mark = snd_una;
    t->since_ms = now_ms;
}

uint32_t stall_track_update(struct stall_track *t, bool outstanding, uint32_t snd_una,
                            uint32_t min_progress, uint32_t now_ms)
{
    /* Sequence space wraps: progress is the signed distance. An ACK can
     * only move snd_una forward, so a negative distance is a reused pcb. */
    int32_t acked = (int32_t)(snd_una - t->mark);
    if (!outstanding || acked < 0 || (uint32_t)acked >= min_progress) {
        stall_track_init(t, snd_una, now_ms);
        return 0;
    }
    return now_ms - t->since_ms;
}
