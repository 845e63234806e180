/* The stack's one echo-request bucket (net/guard/icmp_limit.h). */
#include "kernel/clock.h"
#include "net/guard/icmp_limit.h"
#include "net/guard/tcp_guard.h"

static struct token_bucket echo_bucket;
static bool echo_ready;

bool icmp_echo_allow(void)
{
    uint64_t now = clock_now_ns() / 1000000;

    if (!echo_ready) {
        token_bucket_init(&echo_bucket, ICMP_ECHO_RATE, ICMP_ECHO_BURST, now);
        echo_ready = true;
    }
    if (token_bucket_take(&echo_bucket, now))
        return true;
    tcp_guard.icmp_limited++;
    return false;
}
