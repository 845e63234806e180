#include "net/apps/iperf_rx.h"

#include <string.h>

size_t iperf_rx_take(struct iperf_rx *r, const void *p, size_t n)
{
    uint32_t left = r->want - r->have;
    size_t take = n < left ? n : left;

    if (r->have < r->cap) {
        uint32_t room = r->cap - r->have;
        memcpy(r->buf + r->have, p, take < room ? take : room);
    }
    r->have += (uint32_t)take;
    return take;
}
