#include "net/guard/icmp_limit.h"

void token_bucket_init(struct token_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
    b->rate = rate;
    b->burst = burst;
    b->milli_tokens = (uint64_t)burst * 1000;
    b->last_ms = now_ms;
}

bool token_bucket_take(struct token_bucket *b, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)b->burst * 1000;

    /* A clock that went back (or a first call) refills nothing. */
    if (now_ms > b->last_ms) {
        uint64_t dt = now_ms - b->last_ms;
        /* dt * rate cannot overflow before the bucket is full anyway */
        uint64_t add = dt >= cap ? cap : dt * b->rate;
        b->milli_tokens = b->milli_tokens + add > cap ? cap : b->milli_tokens + add;
    }
    b->last_ms = now_ms;
    if (b->milli_tokens < 1000)
        return false;
    b->milli_tokens -= 1000;
    return true;
}

bool token_bucket_take_lazy(struct token_bucket *b, uint32_t rate, uint32_t burst,
                            uint64_t now_ms)
{
    if (b->rate == 0)
        token_bucket_init(b, rate, burst, now_ms);
    return token_bucket_take(b, now_ms);
}
