#include "net/apps/iperf3_proto.h"

#include "net/apps/iperf_json.h"

/* Member value as a count: absent, negative or non-numeric -> 0. */
static uint64_t count(const char *json, size_t len, const char *name)
{
    struct json_val v;
    if (json_get(json, len, name, &v) != 1 || v.type != JSON_NUMBER || v.num < 0)
        return 0;
    return (uint64_t)v.num;
}

static bool flag(const char *json, size_t len, const char *name)
{
    struct json_val v;
    return json_get(json, len, name, &v) == 1 && json_truthy(&v);
}

int iperf3_params_parse(const char *json, size_t len, struct iperf3_params *p, const char **why)
{
    *p = (struct iperf3_params){ 0 };
    if (json_check_object(json, len) != 0) {
        *why = "parameters are not a JSON object";
        return -1;
    }
    if (flag(json, len, "udp") || flag(json, len, "sctp") || !flag(json, len, "tcp")) {
        *why = "only TCP tests";
        return -1;
    }
    p->reverse = flag(json, len, "reverse");
    p->bidir = flag(json, len, "bidirectional");
    uint64_t n = count(json, len, "parallel");
    p->parallel = n == 0 ? 1 : (uint32_t)(n > 0xffff ? 0xffff : n);
    if (p->parallel > IPERF3_MAX_STREAMS) {
        *why = "too many parallel streams";
        return -1;
    }
    uint64_t t = count(json, len, "time"), o = count(json, len, "omit");
    p->time_s = (uint32_t)(t > 86400 ? 86400 : t);
    p->omit_s = (uint32_t)(o > 600 ? 600 : o);
    p->bytes = count(json, len, "num");
    p->blocks = count(json, len, "blockcount");
    p->rate_bps = count(json, len, "bandwidth");
    uint64_t l = count(json, len, "len");
    p->blksize = (uint32_t)(l == 0 || l > (1u << 24) ? 128 * 1024 : l);
    return 0;
}

size_t iperf3_results_format(const struct iperf3_results *r, char *buf, size_t cap)
{
    struct json_out o;

    json_out_init(&o, buf, cap);
    json_open(&o, '{');
    json_key(&o, "cpu_util_total");
    json_fixed6(&o, r->cpu_total_e6);
    json_key(&o, "cpu_util_user");
    json_fixed6(&o, r->cpu_user_e6);
    json_key(&o, "cpu_util_system");
    json_fixed6(&o, r->cpu_system_e6);
    /* no retransmit counts to offer: 0 as a sender, -1 as a receiver (as iperf3 does) */
    json_key(&o, "sender_has_retransmits");
    json_int(&o, r->sender ? 0 : -1);
    json_key(&o, "streams");
    json_open(&o, '[');
    for (unsigned i = 0; i < r->nstreams; i++) {
        const struct iperf3_stream_result *s = &r->streams[i];
        json_open(&o, '{');
        json_key(&o, "id");
        json_int(&o, s->id);
        json_key(&o, "bytes");
        json_int(&o, (int64_t)s->bytes);
        json_key(&o, "retransmits");
        json_int(&o, -1);
        json_key(&o, "jitter");
        json_int(&o, 0);
        json_key(&o, "errors");
        json_int(&o, 0);
        json_key(&o, "packets");
        json_int(&o, 0);
        json_key(&o, "start_time");
        json_int(&o, 0);
        json_key(&o, "end_time");
        json_fixed6(&o, r->duration_us);
        json_close(&o, '}');
    }
    json_close(&o, ']');
    json_close(&o, '}');
    return o.pos;
}
