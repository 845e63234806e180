/* How much one tcp_write() may be handed now. lwIP refuses a whole write with
 * ERR_MEM when its segments would need more pbufs than the send queue has left
 * (TCP_SND_QUEUELEN); at a small MSS a write the send buffer takes easily needs
 * hundreds of segments, and retrying the same size never succeeds. Main loop
 * only. */
#ifndef NET_TCP_ROOM_H
#define NET_TCP_ROOM_H

#include <stdbool.h>
#include <stdint.h>

#include "lwip/tcp.h"

/* Bytes a write may carry given the free send buffer, the pcb's queue length
 * (pbufs), the limit the caller keeps it to, the payload of one new segment,
 * and whether the data is copied (one pbuf per segment) or referenced (a
 * header pbuf plus a ROM pbuf). One more pbuf is kept for lwIP chaining the
 * start of the write onto the last unsent segment. 0: wait for an ACK. */
uint32_t tcp_room_bytes(uint32_t sndbuf, unsigned queuelen, unsigned qmax,
                        unsigned seg_payload, bool copy);

/* The payload lwIP puts into each new segment on pcb (see tcp_write). */
unsigned tcp_room_seg_payload(const struct tcp_pcb *pcb);

/* tcp_room_bytes() for pcb now, its queue kept to qmax (<= TCP_SND_QUEUELEN). */
uint32_t tcp_room(const struct tcp_pcb *pcb, unsigned qmax, bool copy);

#endif
