/* Acknowledged progress of one sender: the pure core of the stall guard
 * (unit-tested on the host). A sender is stalled while it has data
 * outstanding and the peer acknowledges less than min_progress bytes of it:
 * a zero-window peer (whose probe ACKs reset lwIP's persist count), one that
 * acknowledges a byte per probe, or one that never acknowledges at all. */
#ifndef NET_STALL_TRACK_H
#define NET_STALL_TRACK_H

#include <stdbool.h>
#include <stdint.h>

struct stall_track {
    uint32_t mark;      /* snd_una when progress was last counted */
    uint32_t since_ms;  /* when */
};

void stall_track_init(struct stall_track *t, uint32_t snd_una, uint32_t now_ms);
/* One observation; returns how long (ms) the sender has gone without
 * min_progress acknowledged bytes while data was outstanding (0 if none). */
uint32_t stall_track_update(struct stall_track *t, bool outstanding, uint32_t snd_una,
                            uint32_t min_progress, uint32_t now_ms);

#endif
