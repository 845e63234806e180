"""What /stats.json promises, checked by the QEMU tests: the SPEC.md schema, counters that only
grow, and the idle levels lwIP's pools and the heap return to after an attack."""

import time

STATS_FIELDS = {
    "uptime_ms": None,
    "net": ["rx_packets", "rx_bytes", "rx_dropped", "tx_packets", "tx_bytes", "tx_dropped",
            "tx_queue_stopped"],
    "irq": ["rx", "tx", "config", "spurious"],
    "napi": ["mode", "weight", "budget", "polls", "completes", "rescheduled",
             "budget_exhausted", "time_squeeze", "deferred"],
    "lwip": ["mem_used", "mem_max", "pbuf_pool_used", "tcp_pcbs"],
    "heap": ["used", "size"],
}

# Fields that only grow (gauges such as lwip.mem_used or heap.used may shrink).
MONOTONIC = ["uptime_ms"] + ["net." + f for f in STATS_FIELDS["net"]] + \
    ["irq." + f for f in STATS_FIELDS["irq"]] + \
    ["napi." + f for f in ("polls", "completes", "rescheduled", "budget_exhausted",
                           "time_squeeze", "deferred")] + ["lwip.mem_max"]


def stat(s, dotted):
    for k in dotted.split("."):
        s = s[k]
    return s


def check_stats_schema(s):
    """Every SPEC.md field present; every counter a non-negative int (napi.mode a string)."""
    assert isinstance(s, dict), s
    for group, fields in STATS_FIELDS.items():
        assert group in s, "missing %s in %s" % (group, s)
        if fields is None:
            v = s[group]
            assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, (group, v)
            continue
        assert isinstance(s[group], dict), (group, s[group])
        for f in fields:
            assert f in s[group], "missing %s.%s in %s" % (group, f, s)
            v = s[group][f]
            if (group, f) == ("napi", "mode"):
                assert v in ("napi", "irq", "poll"), v
            else:
                assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, \
                    "%s.%s = %r" % (group, f, v)


IDLE_FIELDS = ("lwip.mem_used", "lwip.pbuf_pool_used", "lwip.tcp_pcbs", "heap.used")

# heap.used is the sbrk high-water mark (kernel/mm.c): it never shrinks. The driver grows its
# RX buffer pool on demand, up to the ring size + 512 buffers of 2 KiB (virtio_net_rx.c), while
# lwIP holds buffers (reassembly, out-of-order queues): that much growth is a pool filling, not a
# leak. A leak shows as growth beyond it, or (soak) as growth between equal rounds of load.
HEAP_SLACK = 512 * 2048 + (64 << 10)
DEFAULT_SLACK = {"heap.used": HEAP_SLACK}


def idle_diff(base, now, slack=None):
    """Fields above their idle level: {field: (idle, now)}."""
    slack = DEFAULT_SLACK if slack is None else slack
    out = {}
    for f in IDLE_FIELDS:
        b, n = stat(base, f), stat(now, f)
        if n > b + slack.get(f, 0):
            out[f] = (b, n)
    return out


def wait_idle(net, base, timeout=75.0, slack=None, vm=None):
    """Poll /stats.json until lwIP's pools and the heap are back at (or below) their idle
    level; TIME_WAIT / SYN_RCVD / reassembly / ARP-queue entries expire on their own timers.
    Returns (seconds waited, last stats); fails with the fields still above."""
    t0 = time.monotonic()
    while True:
        try:
            s = net.stats(timeout=5)
        except OSError as e:           # a starved server may not take the request yet
            s, left = None, "no answer to /stats.json (%r)" % e
        else:
            left = idle_diff(base, s, slack)
            if not left:
                return time.monotonic() - t0, s
        if time.monotonic() - t0 > timeout:
            msg = "not back to idle after %.0f s: %s (idle %s, now %s)" % (
                timeout, left, {f: stat(base, f) for f in IDLE_FIELDS},
                s and {f: stat(s, f) for f in IDLE_FIELDS})
            if vm is not None:
                vm._fail(msg)
            raise AssertionError(msg)
        time.sleep(1.0)


def check_counters(s0, s1, mode=None):
    """The invariants /stats.json promises between two reads of one VM."""
    bad = []
    for f in MONOTONIC:
        if stat(s1, f) < stat(s0, f):
            bad.append("%s went down: %d -> %d" % (f, stat(s0, f), stat(s1, f)))
    n = s1["napi"]
    if n["completes"] > n["polls"]:
        bad.append("napi.completes %d > napi.polls %d" % (n["completes"], n["polls"]))
    if n["budget_exhausted"] > n["polls"]:
        bad.append("napi.budget_exhausted %d > napi.polls %d" % (n["budget_exhausted"], n["polls"]))
    if n["deferred"] > n["completes"]:
        bad.append("napi.deferred %d > napi.completes %d" % (n["deferred"], n["completes"]))
    mode = mode or n["mode"]
    if mode != "napi" and n["deferred"] != 0:
        bad.append("%s mode: napi.deferred %d" % (mode, n["deferred"]))
    if mode == "napi" and s1["irq"]["rx"] > s1["net"]["rx_packets"] + s1["net"]["rx_dropped"]:
        bad.append("napi mode: irq.rx %d > rx_packets %d + rx_dropped %d" % (
            s1["irq"]["rx"], s1["net"]["rx_packets"], s1["net"]["rx_dropped"]))
    if mode == "poll" and s1["irq"]["rx"] != 0:
        bad.append("poll mode: irq.rx %d" % s1["irq"]["rx"])
    if s1["lwip"]["mem_used"] > s1["lwip"]["mem_max"]:
        bad.append("lwip.mem_used %d > mem_max %d" % (s1["lwip"]["mem_used"], s1["lwip"]["mem_max"]))
    if s1["heap"]["used"] > s1["heap"]["size"]:
        bad.append("heap.used %d > heap.size %d" % (s1["heap"]["used"], s1["heap"]["size"]))
    if s1["heap"]["size"] != s0["heap"]["size"]:
        bad.append("heap.size changed %d -> %d" % (s0["heap"]["size"], s1["heap"]["size"]))
    if s1["net"]["rx_bytes"] < s1["net"]["rx_packets"] * 14 - 0:
        bad.append("rx_bytes %d < 14 * rx_packets %d" % (s1["net"]["rx_bytes"], s1["net"]["rx_packets"]))
    if s1["net"]["tx_bytes"] < s1["net"]["tx_packets"] * 14:
        bad.append("tx_bytes %d < 14 * tx_packets %d" % (s1["net"]["tx_bytes"], s1["net"]["tx_packets"]))
    return bad
