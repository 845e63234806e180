/* The stack's ICMP buckets: echo requests answered (net/guard/icmp_limit.h)
 * and errors sent (net/guard/icmp_errors.h). Main loop only. */
#include "kernel/clock.h"
#include "net/guard/icmp_errors.h"
#include "net/guard/icmp_limit.h"
#include "net/guard/tcp_guard.h"

static struct token_bucket echo_bucket, error_bucket;

static bool bucket_allow(struct token_bucket *b, uint32_t rate, uint32_t burst,
                         uint64_t *limited)
{
    if (token_bucket_take_lazy(b, rate, burst, clock_now_ns() / 1000000))
        return true;
    (*limited)++;
    return false;
}

bool icmp_echo_allow(void)
{
    return bucket_allow(&echo_bucket, ICMP_ECHO_RATE, ICMP_ECHO_BURST, &tcp_guard.icmp_limited);
}

bool icmp_error_allow(void)
{
    return bucket_allow(&error_bucket, ICMP_ERROR_RATE, ICMP_ERROR_BURST,
                        &tcp_guard.icmp_errors_limited);
}
