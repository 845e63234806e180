/* Boot-time keys for TCP ISNs and SYN cookies. */
#ifndef NET_TCP_KEYS_H
#define NET_TCP_KEYS_H

/* Draws the keys (net/guard/entropy.c) and logs their source; before any TCP pcb. */
void tcp_keys_init(void);

#endif
