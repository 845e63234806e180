/* The little JSON iperf3 needs: look members of one object up, write one.
 * No allocation, bounded nesting, a malformed document is rejected as a
 * whole. Pure, unit-tested. */
#ifndef NET_IPERF_JSON_H
#define NET_IPERF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/apps/json_out.h"

#define JSON_MAX_DEPTH 16

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_OBJECT,
                 JSON_ARRAY };

struct json_val {
    enum json_type type;
    const char *p;      /* the value's text (a string without its quotes) */
    size_t len;
    int64_t num;        /* JSON_NUMBER: truncated toward zero, saturated */
};

/* 0 if doc[0..len) is one JSON object (whitespace around it allowed). */
int json_check_object(const char *doc, size_t len);

/* Looks a member of the top-level object up by name (compared as written,
 * escapes are not decoded). 1: found, 0: absent, -1: not a valid object. */
int json_get(const char *doc, size_t len, const char *name, struct json_val *out);

/* True for a member present with a value other than false and null. */
bool json_truthy(const struct json_val *v);

#endif
