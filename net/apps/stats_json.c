/* /stats.json body (SPEC.md field names and nesting), from stats.h's field
 * lists. Pure and printf-free: it runs in the HTTP path and is unit-tested
 * on the host. */
#include "net/apps/json_out.h"
#include "net/glue/stats.h"

static void field(struct json_out *o, const char *name, uint64_t v)
{
    json_key(o, name);
    json_uint(o, v);
}

/* Every field of list from *cur, into the object already open. */
#define CUR_FIELD(m) field(o, #m, cur->m);
#define FIELDS(list, obj)                                                           \
    do {                                                                            \
        const __typeof__(obj) *cur = &(obj);                                        \
        list(CUR_FIELD)                                                             \
    } while (0)
/* "name":{...} with every field of list from obj. */
#define OBJECT(name, list, obj)                                                     \
    do {                                                                            \
        json_key(o, name);                                                          \
        json_open(o, '{');                                                          \
        FIELDS(list, obj);                                                          \
        json_close(o, '}');                                                         \
    } while (0)

static void napi_object(struct json_out *o, const struct stats_snapshot *s)
{
    json_key(o, "napi");
    json_open(o, '{');
    json_key(o, "mode");
    json_string(o, s->napi.mode);
    field(o, "weight", s->napi.weight);
    field(o, "budget", s->napi.budget);
    FIELDS(STATS_NAPI_FIELDS, s->napi);
    json_close(o, '}');
}

int stats_format_json(const struct stats_snapshot *s, char *buf, size_t len)
{
    struct json_out out, *o = &out;
    json_out_init(o, buf, len);
    json_open(o, '{');
    field(o, "uptime_ms", s->uptime_ms);
    OBJECT("net", STATS_NET_FIELDS, s->net);
    OBJECT("irq", STATS_IRQ_FIELDS, s->irq);
    napi_object(o, s);
    OBJECT("lwip", STATS_LWIP_FIELDS, s->lwip);
    OBJECT("heap", STATS_HEAP_FIELDS, s->heap);
    OBJECT("tcp_guard", TCP_GUARD_COUNTERS, s->tcp_guard);
    if (s->nqueues) {
        json_key(o, "queues");
        json_open(o, '[');
        for (unsigned i = 0; i < s->nqueues && i < STATS_MAX_QUEUES; i++) {
            json_open(o, '{');
            FIELDS(STATS_QUEUE_FIELDS, s->queue[i]);
            json_close(o, '}');
        }
        json_close(o, ']');
    }
    json_close(o, '}');
    json_raw(o, '\n');
    return (int)o->pos;
}
