#include "net/apps/iperf_json.h"

#include <string.h>

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int lit(struct cur *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

static int hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* At the opening quote; leaves p after the closing one. */
static int string(struct cur *c, struct json_val *v)
{
    c->p++;
    const char *start = c->p;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            if (v) {
                v->type = JSON_STRING;
                v->p = start;
                v->len = (size_t)(c->p - start);
            }
            c->p++;
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch == '\\') {
            if (c->end - c->p < 2)
                return -1;
            char e = c->p[1];
            if (e == 'u') {
                if (c->end - c->p < 6 || !hex(c->p[2]) || !hex(c->p[3]) || !hex(c->p[4]) ||
                    !hex(c->p[5]))
                    return -1;
                c->p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0)
                return -1;
            c->p += 2;
            continue;
        }
        c->p++;
    }
    return -1;
}

#define NUM_MAX ((uint64_t)INT64_MAX)

static int number(struct cur *c, struct json_val *v)
{
    const char *start = c->p;
    bool neg = false;
    uint64_t mag = 0;
    bool sat = false;

    if (c->p < c->end && *c->p == '-') {
        neg = true;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return -1;
    if (*c->p == '0') {
        c->p++;
    } else {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            unsigned d = (unsigned)(*c->p++ - '0');
            if (mag > (NUM_MAX - d) / 10)
                sat = true;
            else
                mag = mag * 10 + d;
        }
    }
    /* fraction digits: kept only to shift them in for a positive exponent */
    const char *frac = NULL, *frac_end = NULL;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        frac = c->p;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return -1;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
        frac_end = c->p;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        bool eneg = false;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            eneg = *c->p++ == '-';
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return -1;
        unsigned e = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (e < 1000)
                e = e * 10 + (unsigned)(*c->p - '0');
            c->p++;
        }
        for (unsigned i = 0; i < e && !sat; i++) {
            if (eneg) {
                mag /= 10;
                continue;
            }
            unsigned d = 0;
            if (frac && frac < frac_end)
                d = (unsigned)(*frac++ - '0');
            if (mag > (NUM_MAX - d) / 10)
                sat = true;
            else
                mag = mag * 10 + d;
        }
    }
    if (sat)
        mag = NUM_MAX;
    if (v) {
        v->type = JSON_NUMBER;
        v->p = start;
        v->len = (size_t)(c->p - start);
        v->num = neg ? -(int64_t)mag : (int64_t)mag;
    }
    return 0;
}

static int value(struct cur *c, int depth, struct json_val *v);

static int container(struct cur *c, int depth, char close)
{
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return 0;
    }
    for (;;) {
        ws(c);
        if (close == '}') {
            if (c->p >= c->end || *c->p != '"' || string(c, NULL) != 0)
                return -1;
            ws(c);
            if (c->p >= c->end || *c->p != ':')
                return -1;
            c->p++;
        }
        if (value(c, depth + 1, NULL) != 0)
            return -1;
        ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == close) {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return -1;
        c->p++;
    }
}

static int value(struct cur *c, int depth, struct json_val *v)
{
    struct json_val tmp;
    const char *start;

    if (depth > JSON_MAX_DEPTH)
        return -1;
    if (!v)
        v = &tmp;
    ws(c);
    if (c->p >= c->end)
        return -1;
    start = c->p;
    switch (*c->p) {
    case '{':
    case '[':
        v->type = *c->p == '{' ? JSON_OBJECT : JSON_ARRAY;
        if (container(c, depth, *c->p == '{' ? '}' : ']') != 0)
            return -1;
        v->p = start;
        v->len = (size_t)(c->p - start);
        return 0;
    case '"':
        return string(c, v);
    case 't':
        v->type = JSON_TRUE;
        return lit(c, "true");
    case 'f':
        v->type = JSON_FALSE;
        return lit(c, "false");
    case 'n':
        v->type = JSON_NULL;
        return lit(c, "null");
    default:
        return number(c, v);
    }
}

int json_check_object(const char *doc, size_t len)
{
    struct cur c = { doc, doc + len };
    ws(&c);
    if (c.p >= c.end || *c.p != '{' || value(&c, 0, NULL) != 0)
        return -1;
    ws(&c);
    return c.p == c.end ? 0 : -1;
}

int json_get(const char *doc, size_t len, const char *name, struct json_val *out)
{
    size_t nlen = strlen(name);
    int found = 0;

    if (json_check_object(doc, len) != 0)
        return -1;
    struct cur c = { doc, doc + len };
    ws(&c);
    c.p++;      /* '{' */
    for (;;) {
        struct json_val key, val;
        ws(&c);
        if (*c.p == '}')
            return found;
        string(&c, &key);
        ws(&c);
        c.p++;  /* ':' */
        value(&c, 1, &val);
        if (!found && key.len == nlen && memcmp(key.p, name, nlen) == 0) {
            *out = val;
            found = 1;      /* the first of duplicate names wins */
        }
        ws(&c);
        if (*c.p == ',')
            c.p++;
    }
}

bool json_truthy(const struct json_val *v)
{
    return v->type != JSON_FALSE && v->type != JSON_NULL;
}
