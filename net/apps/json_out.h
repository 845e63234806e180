/* JSON writer into a fixed buffer, shared by iperf3's parameter objects
 * and /stats.json. No allocation, no printf: pure, unit-tested with both. */
#ifndef NET_JSON_OUT_H
#define NET_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pos counts every byte wanted, so an overflow shows as pos >= cap once
 * done (like snprintf); buf stays NUL-terminated within cap. */
struct json_out {
    char *buf;
    size_t cap, pos;
    bool need_comma;
};

void json_out_init(struct json_out *o, char *buf, size_t cap);
void json_open(struct json_out *o, char c);        /* '{' or '[' (after a key, or as an element) */
void json_close(struct json_out *o, char c);       /* '}' or ']' */
void json_key(struct json_out *o, const char *name);   /* our own names: not escaped */
void json_int(struct json_out *o, int64_t v);
void json_uint(struct json_out *o, uint64_t v);
void json_fixed6(struct json_out *o, uint64_t micro);   /* micro / 1e6 with 6 decimals */
void json_string(struct json_out *o, const char *s);    /* escaped; NULL as "" */
void json_raw(struct json_out *o, char c);   /* one byte outside the structure (a final newline) */

#endif
