/* Functions behind the LWIP_HOOK_* macros of net/lwipopts.h; lwIP includes
 * this file (LWIP_HOOK_FILENAME) in the sources that call hooks. */
#ifndef NET_LWIP_HOOKS_H
#define NET_LWIP_HOOKS_H

#include "net/tcp_isn.h"
#include "net/tcp_syncookie.h"

#endif
