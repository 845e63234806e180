/* Kernel command line (SPEC.md): space-separated key=value.
 * Pure: no console, no heap; unknown keys and bad values are reported
 * through the warn callback and the default kept. */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum net_mode { NET_MODE_NAPI, NET_MODE_IRQ, NET_MODE_POLL };
enum test_fault {
    TEST_FAULT_NONE, TEST_FAULT_PF, TEST_FAULT_UD, TEST_FAULT_DE, TEST_FAULT_GP,
    TEST_FAULT_ABORT, TEST_FAULT_ASSERT,
};
enum test_exit { TEST_EXIT_NONE, TEST_EXIT_BOOT, TEST_EXIT_READY };

struct kconfig {
    bool has_ip;
    uint32_t ip;           /* host byte order: a.b.c.d = a<<24 | ... */
    uint8_t prefix_len;
    bool has_gw;
    uint32_t gw;
    bool has_ip6;
    uint8_t ip6[16];       /* network byte order */
    uint8_t prefix6_len;
    bool has_gw6;
    uint8_t gw6[16];
    enum net_mode net_mode;
    uint32_t napi_weight;
    uint32_t net_budget;
    uint32_t net_budget_us;
    uint32_t net_queues;   /* queue pairs to use when the device offers more */
    uint16_t http_port;
    int log_level;         /* enum log_level */
    enum test_fault test_fault;
    enum test_exit test_exit;
    bool test_heap;        /* exhaust the heap at boot and check it recovers */
};

void kconfig_defaults(struct kconfig *c);

/* warn receives a complete message such as "ignoring unknown key 'x'". */
typedef void (*cmdline_warn_fn)(void *ctx, const char *msg);
/* Returns the number of warnings issued. */
int cmdline_parse(const char *line, struct kconfig *c, cmdline_warn_fn warn, void *ctx);

const char *net_mode_name(enum net_mode m);

/* Parsers shared with other modules and unit-tested here. */
bool parse_ipv4(const char *s, size_t len, uint32_t *out);
/* RFC 4291 2.2 text forms: hex groups, one "::", a dotted IPv4 tail. */
bool parse_ipv6(const char *s, size_t len, uint8_t out[16]);
bool parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out);

#endif
