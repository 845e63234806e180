/* Kernel command line (SPEC.md): space-separated key=value.
 *
 * Each module owns its keys (as Linux module_param/__setup, Unikraft
 * uk_libparam): it declares them with CMDLINE_PARAM next to the variable
 * they set, and the linker gathers them into one table (section
 * cmdline_params, bounded by __start_cmdline_params/__stop_cmdline_params).
 * This file keeps only the key=value walk and the value parsers.
 *
 * Pure: no console, no heap; unknown keys and bad values are reported
 * through the warn callback and the default (the variable's initial value)
 * kept. Boot only, before anything reads the variables. */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cmdline_type {
    CMDLINE_U32,    /* uint32_t *dst, decimal in [min, max] */
    CMDLINE_ENUM,   /* int-sized enum *dst: the index of the value in names[] */
    CMDLINE_CUSTOM, /* set(v, len, dst) */
};

struct cmdline_param {
    const char *key;
    enum cmdline_type type;
    void *dst;
    uint32_t min, max;              /* CMDLINE_U32 */
    const char *const *names;       /* CMDLINE_ENUM: NULL entries never match */
    unsigned nnames;
    /* CMDLINE_CUSTOM: false on a bad value, leaving *dst as it was. */
    bool (*set)(const char *v, size_t len, void *dst);
};

/* One entry of the table; ident only names the object (unique per file). */
#define CMDLINE_PARAM(ident, ...)                                                  \
    static const struct cmdline_param cmdline_param_##ident                        \
        __attribute__((used, section("cmdline_params"), aligned(8))) = { __VA_ARGS__ }
#define CMDLINE_NAMES(arr) .names = (arr), .nnames = sizeof(arr) / sizeof((arr)[0])

/* warn receives a complete message such as "ignoring unknown key 'x'". */
typedef void (*cmdline_warn_fn)(void *ctx, const char *msg);
/* Applies line to every registered key. Returns the number of warnings. */
int cmdline_parse(const char *line, cmdline_warn_fn warn, void *ctx);
/* The same against the table [begin, end) (tests). */
int cmdline_parse_table(const char *line, const struct cmdline_param *begin,
                        const struct cmdline_param *end, cmdline_warn_fn warn, void *ctx);

/* Value parsers, shared with the modules' CMDLINE_CUSTOM setters. */
bool parse_ipv4(const char *s, size_t len, uint32_t *out);
/* RFC 4291 2.2 text forms: hex groups, one "::", a dotted IPv4 tail. */
bool parse_ipv6(const char *s, size_t len, uint8_t out[16]);
bool parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out);

#endif
