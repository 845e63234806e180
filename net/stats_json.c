/* /stats.json body (SPEC.md field names and nesting). Pure and printf-free:
 * it runs in the HTTP path and is unit-tested on the host. */
#include "net/stats.h"

struct out {
    char *buf;
    size_t len, pos;    /* pos counts every byte wanted, written or not */
};

static void put(struct out *o, char c)
{
    if (o->pos + 1 < o->len)
        o->buf[o->pos] = c;
    o->pos++;
}

static void puts_(struct out *o, const char *s)
{
    while (*s)
        put(o, *s++);
}

static void put_u64(struct out *o, uint64_t v)
{
    char tmp[20];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        put(o, tmp[--n]);
}

/* sep: ',' before every field but the first of an object. */
static void field(struct out *o, const char *sep, const char *name, uint64_t v)
{
    puts_(o, sep);
    put(o, '"');
    puts_(o, name);
    puts_(o, "\":");
    put_u64(o, v);
}

static void put_string(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    put(o, '"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            put(o, '\\');
            put(o, (char)c);
        } else if (c < 0x20) {
            puts_(o, "\\u00");
            put(o, hex[c >> 4]);
            put(o, hex[c & 15]);
        } else {
            put(o, (char)c);
        }
    }
    put(o, '"');
}

int stats_format_json(const struct stats_snapshot *s, char *buf, size_t len)
{
    struct out o = { buf, len, 0 };

    field(&o, "{", "uptime_ms", s->uptime_ms);

    puts_(&o, ",\"net\":");
    field(&o, "{", "rx_packets", s->net.rx_packets);
    field(&o, ",", "rx_bytes", s->net.rx_bytes);
    field(&o, ",", "rx_dropped", s->net.rx_dropped);
    field(&o, ",", "tx_packets", s->net.tx_packets);
    field(&o, ",", "tx_bytes", s->net.tx_bytes);
    field(&o, ",", "tx_dropped", s->net.tx_dropped);
    field(&o, ",", "tx_queue_stopped", s->net.tx_queue_stopped);
    field(&o, ",", "tx_tso_frames", s->net.tx_tso_frames);
    field(&o, ",", "tx_tso_bytes", s->net.tx_tso_bytes);
    field(&o, ",", "tx_tso_segments", s->net.tx_tso_segments);
    field(&o, ",", "device_errors", s->net.device_errors);

    puts_(&o, "},\"irq\":");
    field(&o, "{", "rx", s->irq.rx);
    field(&o, ",", "tx", s->irq.tx);
    field(&o, ",", "config", s->irq.config);
    field(&o, ",", "spurious", s->irq.spurious);

    puts_(&o, "},\"napi\":{\"mode\":");
    put_string(&o, s->napi.mode);
    field(&o, ",", "weight", s->napi.weight);
    field(&o, ",", "budget", s->napi.budget);
    field(&o, ",", "polls", s->napi.polls);
    field(&o, ",", "completes", s->napi.completes);
    field(&o, ",", "rescheduled", s->napi.rescheduled);
    field(&o, ",", "budget_exhausted", s->napi.budget_exhausted);
    field(&o, ",", "time_squeeze", s->napi.time_squeeze);

    puts_(&o, "},\"lwip\":");
    field(&o, "{", "mem_used", s->lwip.mem_used);
    field(&o, ",", "mem_max", s->lwip.mem_max);
    field(&o, ",", "pbuf_pool_used", s->lwip.pbuf_pool_used);
    field(&o, ",", "tcp_pcbs", s->lwip.tcp_pcbs);

    puts_(&o, "},\"heap\":");
    field(&o, "{", "used", s->heap.used);
    field(&o, ",", "size", s->heap.size);

    puts_(&o, "},\"tcp_guard\":");
    const char *sep = "{";
#define TCP_GUARD_JSON(name) field(&o, sep, #name, s->tcp_guard.name); sep = ",";
    TCP_GUARD_COUNTERS(TCP_GUARD_JSON)
#undef TCP_GUARD_JSON
    put(&o, '}');
    if (s->nqueues) {
        puts_(&o, ",\"queues\":[");
        for (unsigned i = 0; i < s->nqueues && i < STATS_MAX_QUEUES; i++) {
            if (i)
                put(&o, ',');
            field(&o, "{", "rx_packets", s->queue[i].rx_packets);
            field(&o, ",", "rx_bytes", s->queue[i].rx_bytes);
            field(&o, ",", "tx_packets", s->queue[i].tx_packets);
            field(&o, ",", "tx_bytes", s->queue[i].tx_bytes);
            field(&o, ",", "irq_rx", s->queue[i].irq_rx);
            field(&o, ",", "irq_tx", s->queue[i].irq_tx);
            field(&o, ",", "rx_kicks", s->queue[i].rx_kicks);
            field(&o, ",", "tx_kicks", s->queue[i].tx_kicks);
            field(&o, ",", "tx_tso_frames", s->queue[i].tx_tso_frames);
            field(&o, ",", "tx_tso_bytes", s->queue[i].tx_tso_bytes);
            field(&o, ",", "device_errors", s->queue[i].device_errors);
            put(&o, '}');
        }
        put(&o, ']');
    }
    puts_(&o, "}\n");

    if (len)
        buf[o.pos < len ? o.pos : len - 1] = '\0';
    return (int)o.pos;
}
