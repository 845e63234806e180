/* The tcp_guard counters' one definition (see tcp_guard.h). */
#include "net/guard/tcp_guard.h"

struct tcp_guard_counters tcp_guard;
