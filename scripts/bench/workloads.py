"""What `make bench` runs against a booted guest: wrk, curl of /bytes, iperf2, the /bytes
check, the guest's counters around a workload (interrupts per packet, NAPI polls per
interrupt) and the idle CPU of its QEMU. The instruction counts (insn.py) and the SYN flood
(synflood.py) are workloads of their own. Each returns its figures or raises."""

import hashlib
import http.client
import json
import os
import re
import subprocess
import time

from harness.guest import FEATURES_ACCEPTED_RE
from harness.httpc import http_get
from harness.pattern import pattern_sha256

BYTES_N = 64 << 20
BYTES_BATCH = 8              # downloads per curl connection in curl_bytes_for
CLK_TCK = os.sysconf("SC_CLK_TCK")
VIRTIO_NET_FEATURES = {0: "CSUM", 1: "GUEST_CSUM", 7: "GUEST_TSO4", 8: "GUEST_TSO6",
                       9: "GUEST_ECN", 10: "GUEST_UFO", 11: "HOST_TSO4", 12: "HOST_TSO6",
                       13: "HOST_ECN", 14: "HOST_UFO", 15: "MRG_RXBUF", 16: "STATUS",
                       17: "CTRL_VQ", 18: "CTRL_RX", 19: "CTRL_VLAN", 21: "GUEST_ANNOUNCE",
                       22: "MQ", 23: "CTRL_MAC_ADDR", 28: "INDIRECT_DESC", 29: "EVENT_IDX",
                       32: "VERSION_1"}
OFFLOADS = {"CSUM", "GUEST_CSUM", "GUEST_TSO4", "HOST_TSO4"}


def feature_names(bits):
    return [n for b, n in sorted(VIRTIO_NET_FEATURES.items()) if bits >> b & 1]


# ---------------------------------------------------------------------- HTTP --

def get(g, path, timeout=5.0):
    """GET path on the guest's HTTP address (its own connection) -> harness Response."""
    host, port = g.http
    return http_get(port, path, host=host, timeout=timeout)


def page_check(g):
    r = get(g, "/", timeout=10)
    return {"status": r.status, "bytes": len(r.body)}


def bytes_check(g):
    """Download /bytes/64MiB once with Python and compare its SHA-256 to the pattern's."""
    conn = http.client.HTTPConnection(g.http[0], g.http[1], timeout=60)
    try:
        conn.request("GET", "/bytes/%d" % BYTES_N)
        r = conn.getresponse()
        h = hashlib.sha256()
        n = 0
        while True:
            d = r.read(1 << 20)
            if not d:
                break
            h.update(d)
            n += len(d)
    finally:
        conn.close()
    ok = r.status == 200 and n == BYTES_N and h.hexdigest() == pattern_sha256(BYTES_N)
    if not ok:
        raise RuntimeError("/bytes/%d: status %s, %d bytes, sha256 %s" % (BYTES_N, r.status, n,
                                                                           h.hexdigest()))
    return True


# -------------------------------------------------------------- guest counters --

def counters(g):
    """{irq, rx_packets, tx_packets, polls} (polls None for Linux)."""
    if g.spec["kind"] == "ours":
        s = json.loads(get(g, "/stats.json").body)
        return {"irq_rx": s["irq"]["rx"], "irq_tx": s["irq"]["tx"],
                "rx_packets": s["net"]["rx_packets"], "tx_packets": s["net"]["tx_packets"],
                "rx_bytes": s["net"]["rx_bytes"], "tx_bytes": s["net"]["tx_bytes"],
                "polls": s["napi"]["polls"]}
    text = get(g, "/cgi-bin/stats.sh").body.decode("latin-1")
    c = {"irq_rx": 0, "irq_tx": 0, "rx_packets": None, "tx_packets": None, "rx_bytes": None,
         "tx_bytes": None, "polls": None}
    for line in text.splitlines():
        f = line.split()
        if len(f) > 2 and f[0].endswith(":") and "virtio" in line:
            # per-CPU columns: the numbers before the chip name
            nums = []
            for x in f[1:]:
                if x.isdigit():
                    nums.append(int(x))
                else:
                    break
            n = sum(nums)
            if "-input." in f[-1]:
                c["irq_rx"] += n
            elif "-output." in f[-1]:
                c["irq_tx"] += n
        m = re.match(r"\s*eth0:\s*(.*)", line)
        if m:
            v = [int(x) for x in m.group(1).split()]
            c["rx_packets"], c["tx_packets"] = v[1], v[9]
            c["rx_bytes"], c["tx_bytes"] = v[0], v[8]
    return c


def virtio_features(g):
    """Negotiated virtio-net feature names (ours: console line; Linux: sysfs via the CGI)."""
    if g.spec["kind"] == "ours":
        m = g.find(FEATURES_ACCEPTED_RE)
        if not m:
            raise RuntimeError("no 'features accepted' line on the console")
        return feature_names(int(m.group("accepted"), 16))
    for line in get(g, "/cgi-bin/stats.sh").body.decode("latin-1").splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "virtio-features" and set(f[2]) <= {"0", "1"}:
            names = feature_names(sum(1 << i for i, c in enumerate(f[2]) if c == "1"))
            if "MRG_RXBUF" in names or "CSUM" in names:      # the net device, not another
                return names
    raise RuntimeError("no virtio features in /cgi-bin/stats.sh")


def delta(a, b):
    d = {}
    for k in a:
        d[k] = None if a[k] is None or b[k] is None else b[k] - a[k]
    irqs = d["irq_rx"] + d["irq_tx"]
    pkts = d["rx_packets"] + d["tx_packets"] if d["rx_packets"] is not None else None
    d["irq_per_pkt"] = irqs / pkts if pkts else None
    d["polls_per_irq"] = d["polls"] / irqs if d["polls"] is not None and irqs else None
    return d


def with_counters(g, fn):
    """Run fn(), returning (fn's result, counter deltas around it); the deltas are None if
    the counters cannot be read."""
    try:
        a = counters(g)
    except Exception:
        a = None
    res = fn()
    try:
        d = delta(a, counters(g)) if a else None
    except Exception:
        d = None
    return res, d


# -------------------------------------------------------------------- tools --

def run(cmd, timeout):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r


def _ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(g, conns, seconds):
    url = "http://%s:%d/" % g.http
    r = run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--latency", "--timeout", "2s",
             url], timeout=seconds + 30)
    out = r.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk exit %s: %s %s" % (r.returncode, out[-300:], r.stderr[-300:]))
    res = {"rps": float(m.group(1))}
    for q in ("50", "99"):
        mm = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % q, out, re.M)
        res["p%s_ms" % q] = _ms(*mm.groups()) if mm else None
    mm = re.search(r"(\d+) requests in", out)
    res["requests"] = int(mm.group(1)) if mm else None
    mm = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(mm.group(1)) if mm else 0
    mm = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in mm.groups()) if mm else 0
    return res


def curl_bytes(g, repeat=1):
    """`repeat` downloads of /bytes/64MiB, one after the other on curl's kept-alive
    connection: Mbit/s over them all."""
    url = "http://%s:%d/bytes/%d" % (g.http[0], g.http[1], BYTES_N)
    cmd = ["curl", "-s", "--max-time", "120", "-w", "%{http_code} %{size_download} %{time_total}\n"]
    for _ in range(repeat):
        cmd += ["-o", "/dev/null", url]
    r = run(cmd, timeout=130)
    rows = [l.split() for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 0 or len(rows) != repeat or any(
            len(f) != 3 or f[0] != "200" or int(float(f[1])) != BYTES_N for f in rows):
        raise RuntimeError("curl exit %s: %r" % (r.returncode, r.stdout))
    seconds = sum(float(f[2]) for f in rows)
    return {"mbit_s": repeat * BYTES_N * 8 / seconds / 1e6, "seconds": seconds,
            "downloads": repeat}


def curl_bytes_for(g, seconds):
    """Batches of BYTES_BATCH downloads (one curl connection each) until `seconds` have gone:
    Mbit/s over them all. A fixed count was too short a run for one guest or too long for
    the other: one download takes ~55 ms from ours, ~160 ms from Linux (issue 10: a
    figure steady to 10% from round to round needs seconds of transfer, as wrk gets)."""
    t_end = time.monotonic() + seconds
    n, s = 0, 0.0
    while n == 0 or time.monotonic() < t_end:
        r = curl_bytes(g, BYTES_BATCH)
        n, s = n + r["downloads"], s + r["seconds"]
    return {"mbit_s": n * BYTES_N * 8 / s / 1e6, "seconds": s, "downloads": n}


def iperf(g, seconds):
    """iperf2 as a user runs it: `iperf -c` (host->guest), then `iperf -c -R` (iperf 2.1's
    reverse: the guest sends on the client's connection, so it works through hostfwd too)."""
    res = {"to_guest_mbit_s": None, "from_guest_mbit_s": None}
    for key, extra in (("to_guest_mbit_s", []), ("from_guest_mbit_s", ["-R"])):
        cmd = ["iperf", "-c", g.iperf[0], "-p", str(g.iperf[1]), "-t", str(seconds), "-y", "C"]
        r = run(cmd + extra, timeout=seconds + 30)
        rows = [l.split(",") for l in r.stdout.splitlines() if l.count(",") >= 8]
        rows = [x for x in rows if x[-1].strip().isdigit()]
        if rows:
            res[key] = int(rows[-1][-1]) / 1e6
        elif key == "to_guest_mbit_s":
            raise RuntimeError("iperf exit %s: %s %s" % (r.returncode, r.stdout[-300:],
                                                         r.stderr[-300:]))
        else:
            res["from_guest_error"] = "no -R report: " + (r.stderr.strip()[-200:] or "?")
    return res


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])        # utime, stime (fields 14, 15)


def idle_cpu(g, seconds):
    a = cpu_ticks(g.proc.pid)
    t = time.monotonic()
    time.sleep(seconds)
    b = cpu_ticks(g.proc.pid)
    return 100.0 * (b - a) / CLK_TCK / (time.monotonic() - t)
