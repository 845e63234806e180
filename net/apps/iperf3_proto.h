/* iperf3's control protocol as iperf 3.12 speaks it (src/iperf_api.h,
 * iperf_server_api.c, iperf_api.c): the state bytes, the parameter object
 * the client sends and the results object both sides exchange. Pure,
 * unit-tested; net/apps/iperf3.c runs it on lwIP.
 *
 * Control connection, server view: read the 37-byte cookie, write
 * PARAM_EXCHANGE, read the parameters (4-byte big-endian length + JSON),
 * write CREATE_STREAMS, accept the streams (each starts with the cookie),
 * write TEST_START and TEST_RUNNING; on TEST_END write EXCHANGE_RESULTS, read
 * the client's results, write ours, write DISPLAY_RESULTS; the client ends
 * with IPERF_DONE. A second client meanwhile gets ACCESS_DENIED. */
#ifndef NET_IPERF3_PROTO_H
#define NET_IPERF3_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPERF3_COOKIE_SIZE 37
#define IPERF3_JSON_MAX 4096            /* parameters and results we keep */
#define IPERF3_MAX_STREAMS 16           /* per direction: -P up to this */

enum {
    IPERF3_TEST_START = 1,
    IPERF3_TEST_RUNNING = 2,
    IPERF3_TEST_END = 4,
    IPERF3_PARAM_EXCHANGE = 9,
    IPERF3_CREATE_STREAMS = 10,
    IPERF3_SERVER_TERMINATE = 11,
    IPERF3_CLIENT_TERMINATE = 12,
    IPERF3_EXCHANGE_RESULTS = 13,
    IPERF3_DISPLAY_RESULTS = 14,
    IPERF3_IPERF_DONE = 16,
    IPERF3_ACCESS_DENIED = -1,
    IPERF3_SERVER_ERROR = -2,
};

#define IPERF3_IEUNIMP 13   /* "an option you are trying to set is not implemented yet" */

struct iperf3_params {
    bool reverse, bidir;
    uint32_t parallel;      /* streams per direction */
    uint32_t time_s, omit_s;
    uint64_t bytes, blocks; /* -n / -k: the sender stops there */
    uint32_t blksize;       /* -l: bytes per block (for -k) */
    uint64_t rate_bps;      /* -b: per stream (0: unlimited) */
};

/* Parses the client's parameter object. Returns 0, or -1 with *why for what
 * we refuse (not TCP, too many streams) or cannot read. */
int iperf3_params_parse(const char *json, size_t len, struct iperf3_params *p, const char **why);

struct iperf3_stream_result {
    uint32_t id;
    bool sender;
    uint64_t bytes;
};

struct iperf3_results {
    uint32_t cpu_total_e6, cpu_user_e6, cpu_system_e6;   /* percent, 1e-6 units */
    bool sender;                 /* we sent on some stream */
    uint64_t duration_us;
    unsigned nstreams;
    const struct iperf3_stream_result *streams;
};

/* Our results object (send_results' fields). Returns the length it needed,
 * like snprintf. */
size_t iperf3_results_format(const struct iperf3_results *r, char *buf, size_t cap);

/* iperf3 numbers streams 1, 3, 4, 5, ... (iperf_add_stream). */
static inline uint32_t iperf3_stream_id(unsigned index) { return index == 0 ? 1 : index + 2; }

#endif
