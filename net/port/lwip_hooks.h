/* Functions behind the LWIP_HOOK_* macros of net/port/lwipopts.h; lwIP includes
 * this file (LWIP_HOOK_FILENAME) in the sources that call hooks. */
#ifndef NET_LWIP_HOOKS_H
#define NET_LWIP_HOOKS_H

#include "net/guard/ip_id.h"
#include "net/guard/tcp_isn.h"
#include "net/guard/tcp_port.h"
#include "net/guard/tcp_syncookie.h"

#endif
