/* See json_out.h. */
#include "net/apps/json_out.h"

static void put(struct json_out *o, char ch)
{
    if (o->pos + 1 < o->cap)
        o->buf[o->pos] = ch;
    o->pos++;
    if (o->cap)
        o->buf[o->pos < o->cap ? o->pos : o->cap - 1] = 0;
}

static void comma(struct json_out *o)
{
    if (o->need_comma)
        put(o, ',');
    o->need_comma = true;
}

void json_out_init(struct json_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->pos = 0;
    o->need_comma = false;
    if (cap)
        buf[0] = 0;
}

void json_open(struct json_out *o, char ch)
{
    comma(o);
    put(o, ch);
    o->need_comma = false;
}

void json_close(struct json_out *o, char ch)
{
    put(o, ch);
    o->need_comma = true;
}

void json_key(struct json_out *o, const char *name)
{
    comma(o);
    put(o, '"');
    for (; *name; name++)
        put(o, *name);      /* our own names: nothing to escape */
    put(o, '"');
    put(o, ':');
    o->need_comma = false;
}

static void put_u64(struct json_out *o, uint64_t v, int min_digits)
{
    char tmp[20];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    while (n)
        put(o, tmp[--n]);
}

void json_int(struct json_out *o, int64_t v)
{
    comma(o);
    if (v < 0) {
        put(o, '-');
        put_u64(o, (uint64_t)0 - (uint64_t)v, 1);
    } else {
        put_u64(o, (uint64_t)v, 1);
    }
}

void json_uint(struct json_out *o, uint64_t v)
{
    comma(o);
    put_u64(o, v, 1);
}

void json_fixed6(struct json_out *o, uint64_t micro)
{
    comma(o);
    put_u64(o, micro / 1000000, 1);
    put(o, '.');
    put_u64(o, micro % 1000000, 6);
}

void json_string(struct json_out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    comma(o);
    put(o, '"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            put(o, '\\');
            put(o, (char)c);
        } else if (c < 0x20) {
            put(o, '\\');
            put(o, 'u');
            put(o, '0');
            put(o, '0');
            put(o, hex[c >> 4]);
            put(o, hex[c & 15]);
        } else {
            put(o, (char)c);
        }
    }
    put(o, '"');
}

void json_raw(struct json_out *o, char c)
{
    put(o, c);
}
