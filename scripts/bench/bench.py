#!/usr/bin/python3
"""`make bench`: the unikernel in net.mode=napi|irq|poll against a Debian Linux guest.

Every guest boots under the same QEMU command line (q35, -cpu max, same -m, virtio-net-pci
with the same MAC, same netdev), one at a time. Per round and guest (rounds interleave the
guests, so a change in the machine's load spreads over all of them):
  boot to first HTTP 200 from the QEMU process start (fresh connection every ~10 ms),
  guest-only boot time (ours: banner's TSC time since reset + console delta to READY;
  Linux: printk time of its READY marker, i.e. from kernel start, firmware and bzImage
  decompression not included), wrk at 1/8/64 keep-alive connections (req/s, p50, p99),
  a 64 MiB /bytes download (curl), iperf2 both ways (`iperf -c`, then `iperf -c -R`),
  interrupts per packet and NAPI polls per interrupt (ours: /stats.json; Linux:
  /proc/interrupts + /proc/net/dev through a CGI), idle CPU of the QEMU process (/proc/PID/stat
  utime+stime over an idle window). Then the image size and the smallest -m that still boots
  and answers GET / (bisection over a few sizes).
After the rounds, per guest (linux and napi by default): guest instructions per request,
per received packet/byte and per sent byte, counted by a TCG plugin (insn.py; one QEMU run,
the count read around each workload: not moved by the machine's load), and a real client's
req/s during a spoofed-SYN flood over its req/s without one (synflood.py, tap only).
BENCH_HOTBLOCKS=1 adds where our instructions go per request and per sent byte (hotblocks).
Network: as root, a tap in a private network namespace (host 192.0.2.1/24, guest
192.0.2.2/24); this process enters the namespace (setns) after building what it needs, so
QEMU, wrk, iperf and curl all run inside it, and it is deleted on exit. Otherwise QEMU
user-net with hostfwd on 127.0.0.1 (slirp copies every byte: throughput is slirp's).
Output: one table on stdout, build/bench.json (every run, the medians, QEMU version, host
CPU, load average), build/bench.svg, QEMU console logs in build/bench/logs/.
Numbers never fail the run: a failed measurement is recorded as null with its error.
Options: --help. Environment: BENCH_RUNS, BENCH_WRK_SECONDS, BENCH_IPERF_SECONDS,
BENCH_IDLE_SECONDS, BENCH_MEM, BENCH_NET (tap|user), BENCH_GUESTS (comma list), QEMU,
BENCH_INSN_SECONDS, BENCH_INSN_GUESTS, BENCH_SYN_RATE, BENCH_SYN_SECONDS,
BENCH_SYNFLOOD_GUESTS, BENCH_HOTBLOCKS.
"""

import argparse
import atexit
import ctypes
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build")
WORK = os.path.join(BUILD, "bench")
LOGS = os.path.join(WORK, "logs")
JSON_OUT = os.path.join(BUILD, "bench.json")
SVG_OUT = os.path.join(BUILD, "bench.svg")     # and bench.png when rsvg-convert exists
LG_DIR = os.path.join(REPO, ".deps", "linux-guest")
LG_SCRIPT = os.path.join(REPO, "scripts", "bench", "linux_guest.sh")
QEMU_BIN = os.environ.get("QEMU", "/usr/bin/qemu-system-x86_64")
ELF_SRC = os.environ.get("UNIKERNEL_ELF", os.path.join(BUILD, "unikernel.elf"))

MAC = "52:54:00:12:34:56"
TAP_HOST, TAP_GUEST, TAP_DEV = "192.0.2.1", "192.0.2.2", "tap0"
USER_GUEST, USER_GW = "10.0.2.15", "10.0.2.2"
BYTES_N = 64 << 20
PAGE_PATH = os.path.join(REPO, "net", "www", "index.html")
CLK_TCK = os.sysconf("SC_CLK_TCK")

BANNER_RE = re.compile(r"booted in (?P<ms>\d+(?:\.\d+)?) ms since reset")
READY_RE = re.compile(r"READY ip=(?P<ip>[\d.]+) port=(?P<port>\d+)(?: t=(?P<t>[\d.]+))?"
                      r"(?:.*?\bt_ms=(?P<tms>[\d.]+))?")
# ours prints the TSC time of READY on the line before it
NET_READY_RE = re.compile(r"net: ready (?P<ms>\d+(?:\.\d+)?) ms since reset")
BYTES_READY_RE = re.compile(r"BYTES-READY size=(?P<size>\d+)")
FEATURES_RE = re.compile(r"virtio-net: (?:features )?.*accepted 0x(?P<hex>[0-9a-fA-F]+)")
VIRTIO_NET_FEATURES = {0: "CSUM", 1: "GUEST_CSUM", 7: "GUEST_TSO4", 8: "GUEST_TSO6",
                       9: "GUEST_ECN", 10: "GUEST_UFO", 11: "HOST_TSO4", 12: "HOST_TSO6",
                       13: "HOST_ECN", 14: "HOST_UFO", 15: "MRG_RXBUF", 16: "STATUS",
                       17: "CTRL_VQ", 18: "CTRL_RX", 19: "CTRL_VLAN", 21: "GUEST_ANNOUNCE",
                       22: "MQ", 23: "CTRL_MAC_ADDR", 28: "INDIRECT_DESC", 29: "EVENT_IDX",
                       32: "VERSION_1"}
OFFLOADS = {"CSUM", "GUEST_CSUM", "GUEST_TSO4", "HOST_TSO4"}


def feature_names(bits):
    return [n for b, n in sorted(VIRTIO_NET_FEATURES.items()) if bits >> b & 1]

GUESTS = {
    "linux": {"kind": "linux", "label": "Linux 6.1 guest"},
    "napi": {"kind": "ours", "mode": "napi", "label": "ours napi"},
    "irq": {"kind": "ours", "mode": "irq", "label": "ours irq"},
    "poll": {"kind": "ours", "mode": "poll", "label": "ours poll"},
}
ORDER = ["linux", "napi", "irq", "poll"]


def log(msg):
    print("bench: " + msg, flush=True)


def now():
    return time.monotonic()


# ------------------------------------------------------------------ network --

class TapNet:
    """A private network namespace holding tap0 (192.0.2.1/24); this process enters it."""
    kind = "tap"
    label = "tap in a private netns (host 192.0.2.1 <-> guest 192.0.2.2)"

    def __init__(self):
        self.ns = "ukbench-%d" % os.getpid()
        self.orig_fd = None
        self.entered = False

    @staticmethod
    def _ip(*args, check=True):
        r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    @classmethod
    def reap_stale(cls):
        """Delete ukbench-PID namespaces whose PID is gone (a run killed with SIGKILL)."""
        r = cls._ip("netns", "list", check=False)
        for line in r.stdout.splitlines():
            m = re.match(r"ukbench-(\d+)\b", line)
            if m and not os.path.exists("/proc/%s" % m.group(1)):
                cls._ip("netns", "delete", "ukbench-%s" % m.group(1), check=False)

    def setup(self):
        self.reap_stale()
        self._ip("netns", "add", self.ns)
        atexit.register(self.cleanup)
        ns = ["-n", self.ns]
        self._ip(*ns, "link", "set", "lo", "up")
        self._ip(*ns, "tuntap", "add", "dev", TAP_DEV, "mode", "tap")
        self._ip(*ns, "addr", "add", TAP_HOST + "/24", "dev", TAP_DEV)
        self._ip(*ns, "link", "set", TAP_DEV, "up")
        # A permanent neighbour entry: no ARP probe timing (1 s retries) in boot-to-200.
        self._ip(*ns, "neigh", "replace", TAP_GUEST, "lladdr", MAC, "dev", TAP_DEV,
                 "nud", "permanent")
        libc = ctypes.CDLL(None, use_errno=True)
        self.orig_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000) != 0:     # CLONE_NEWNET
                e = ctypes.get_errno()
                raise OSError(e, "setns: " + os.strerror(e))
        finally:
            os.close(fd)
        self.entered = True

    def cleanup(self):
        if self.entered and self.orig_fd is not None:
            try:
                ctypes.CDLL(None, use_errno=True).setns(self.orig_fd, 0x40000000)
            except Exception:
                pass
            self.entered = False
        if self.ns:
            self._ip("netns", "delete", self.ns, check=False)
            self.ns = None

    def guest_args(self):
        return "ip=%s/24" % TAP_GUEST

    def netdev(self, g):
        g.http = (TAP_GUEST, 80)
        g.iperf = (TAP_GUEST, 5001)
        return "tap,id=n0,ifname=%s,script=no,downscript=no" % TAP_DEV


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UserNet:
    kind = "user"
    label = "QEMU user-net (slirp) with hostfwd on 127.0.0.1: throughput is slirp's copying"

    def setup(self):
        pass

    def cleanup(self):
        pass

    def guest_args(self):
        return "ip=%s/24 gw=%s" % (USER_GUEST, USER_GW)

    def netdev(self, g):
        hp, ip_ = free_port(), free_port()
        g.http = ("127.0.0.1", hp)
        g.iperf = ("127.0.0.1", ip_)
        return ("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:%d-:5001"
                % (hp, ip_))


# -------------------------------------------------------------------- guests --

class Guest:
    """One QEMU process; console lines are kept with their time since the process start."""

    def __init__(self, name, spec, net, mem, images, extra_append="", tag=""):
        self.name, self.spec, self.net, self.mem, self.images = name, spec, net, mem, images
        self.extra_append = extra_append
        self.qemu_extra = []        # e.g. a TCG plugin (insn.py)
        self.tag = tag or name
        self.proc = None
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.t0 = None
        self.log_path = os.path.join(LOGS, re.sub(r"[^\w.-]+", "_", self.tag) + ".log")

    def cmdline(self):
        args = [QEMU_BIN, "-machine", "q35", "-cpu", "max", "-m", self.mem, "-nographic",
                "-no-reboot"]
        netdev = self.net.netdev(self)
        append = self.net.guest_args()
        if self.spec["kind"] == "linux":
            args += ["-kernel", self.images["vmlinuz"], "-initrd", self.images["initrd"]]
            append = "console=ttyS0 quiet panic=-1 " + append
        else:
            args += ["-kernel", self.images["elf"]]
            append += " net.mode=" + self.spec["mode"]
        if self.extra_append:
            append += " " + self.extra_append
        args += ["-append", append,
                 "-device", "virtio-net-pci,netdev=n0,mac=" + MAC, "-netdev", netdev,
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + self.qemu_extra
        return args

    def start(self):
        args = self.cmdline()
        os.makedirs(LOGS, exist_ok=True)
        self.logf = open(self.log_path, "w", encoding="utf-8", errors="replace")
        self.logf.write("# " + " ".join(args) + "\n")
        self.t0 = now()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        LIVE.add(self)
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _reader(self):
        ansi = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[ -/]*[0-~])")
        try:
            for raw in iter(self.proc.stdout.readline, b""):
                t = now() - self.t0
                line = ansi.sub("", raw.decode("utf-8", "replace")).rstrip("\r\n")
                line = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", line)
                with self.cond:
                    if len(self.lines) < 100000:
                        self.lines.append((t, line))
                    try:
                        self.logf.write("%8.3f %s\n" % (t, line))
                    except ValueError:
                        pass
                    self.cond.notify_all()
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_for(self, rx, timeout):
        """(match, seconds since start) of the first console line matching rx."""
        deadline = now() + timeout
        i = 0
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i][1])
                    if m:
                        return m, self.lines[i][0]
                    i += 1
                if self.eof:
                    raise RuntimeError("QEMU exited (status %s) before /%s/: %s"
                                       % (self.proc.poll(), rx.pattern, self.tail()))
                left = deadline - now()
                if left <= 0:
                    raise RuntimeError("timeout %.0f s waiting for /%s/: %s"
                                       % (timeout, rx.pattern, self.tail()))
                self.cond.wait(min(left, 0.5))

    def find(self, rx):
        with self.cond:
            for t, line in self.lines:
                m = rx.search(line)
                if m:
                    return m, t
        return None, None

    def tail(self, n=6):
        with self.cond:
            return " | ".join(l for _, l in self.lines[-n:])

    def stop(self):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            except ProcessLookupError:
                pass
        with self.cond:
            try:
                self.logf.write("# exit status %s\n" % p.returncode)
                self.logf.close()
            except ValueError:
                pass
        LIVE.discard(self)


LIVE = set()


def stop_all():
    for g in list(LIVE):
        try:
            g.stop()
        except Exception:
            pass


atexit.register(stop_all)


# ---------------------------------------------------------------------- HTTP --

def http_get(addr, path, timeout=5.0):
    conn = http.client.HTTPConnection(addr[0], addr[1], timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def boot_to_200(g, timeout):
    """Seconds from the QEMU process start to the first 200 on GET /: a fresh connection
    every ~10 ms (a SYN to a guest whose stack is not up is lost, and TCP would retry it
    only after 1 s); each attempt has short timeouts."""
    req = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    deadline = g.t0 + timeout
    last = None
    while now() < deadline:
        if not g.alive:
            raise RuntimeError("QEMU exited: " + g.tail())
        s = socket.socket()
        try:
            s.settimeout(0.1)
            s.connect(g.http)
            s.settimeout(0.5)
            s.sendall(req)
            data = b""
            while b"\r\n" not in data:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            if data.startswith(b"HTTP/1.") and data[9:12] == b"200":
                return now() - g.t0
            last = data[:40]
        except OSError as e:
            last = e
        finally:
            s.close()
        time.sleep(0.01)
    raise RuntimeError("no HTTP 200 within %.0f s (last: %r): %s" % (timeout, last, g.tail()))


def page_check(g):
    st, body = http_get(g.http, "/", timeout=10)
    return {"status": st, "bytes": len(body)}


_P = bytes(range(251))
_BLOCK = _P * ((1 << 20) // 251 + 2)


def pattern_sha256(n):
    h = hashlib.sha256()
    off = 0
    step = len(_BLOCK) - 251
    while off < n:
        take = min(step, n - off)
        h.update(_BLOCK[off % 251:off % 251 + take])
        off += take
    return h.hexdigest()


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
        st, body = http_get(g.http, "/stats.json")
        s = json.loads(body)
        return {"irq_rx": s["irq"]["rx"], "irq_tx": s["irq"]["tx"],
                "rx_packets": s["net"]["rx_packets"], "tx_packets": s["net"]["tx_packets"],
                "rx_bytes": s["net"]["rx_bytes"], "tx_bytes": s["net"]["tx_bytes"],
                "polls": s["napi"]["polls"]}
    st, body = http_get(g.http, "/cgi-bin/stats.sh")
    text = body.decode("latin-1")
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
        m, _ = g.find(FEATURES_RE)
        if not m:
            raise RuntimeError("no 'features accepted' line on the console")
        return feature_names(int(m.group("hex"), 16))
    st, body = http_get(g.http, "/cgi-bin/stats.sh")
    for line in body.decode("latin-1").splitlines():
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


def curl_bytes(g):
    url = "http://%s:%d/bytes/%d" % (g.http[0], g.http[1], BYTES_N)
    r = run(["curl", "-s", "-o", "/dev/null", "--max-time", "120", "-w",
             "%{http_code} %{size_download} %{speed_download} %{time_total}", url], timeout=130)
    f = r.stdout.split()
    if r.returncode != 0 or len(f) != 4 or f[0] != "200" or int(float(f[1])) != BYTES_N:
        raise RuntimeError("curl exit %s: %r" % (r.returncode, r.stdout))
    return {"mbit_s": float(f[2]) * 8 / 1e6, "seconds": float(f[3])}


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
    t = now()
    time.sleep(seconds)
    b = cpu_ticks(g.proc.pid)
    return 100.0 * (b - a) / CLK_TCK / (now() - t)


# ------------------------------------------------------------------ a round --

class Recorder:
    def __init__(self):
        self.runs = {}        # guest -> metric -> [values]
        self.errors = {}      # guest -> metric -> [errors]
        self.extra = {}       # guest -> metric -> [dicts]

    def put(self, guest, metric, value):
        self.runs.setdefault(guest, {}).setdefault(metric, []).append(value)

    def err(self, guest, metric, e):
        msg = "%s: %s" % (type(e).__name__, e)
        self.errors.setdefault(guest, {}).setdefault(metric, []).append(msg[:600])
        log("  %s %s: FAILED %s" % (guest, metric, msg[:300]))

    def measure(self, guest, metric, fn, store=True):
        """fn()'s value, recorded under metric; a failure is recorded as None with its error,
        never an abort."""
        try:
            v = fn()
        except Exception as e:
            self.err(guest, metric, e)
            v = None
        if store:
            self.put(guest, metric, v)
        return v


def one_round(rec, name, spec, net, mem, images, opts, rnd):
    g = Guest(name, spec, net, mem, images, tag="%s-r%d" % (name, rnd))
    linux = spec["kind"] == "linux"
    boot_timeout = 90 if linux else 30
    try:
        g.start()
        t200 = rec.measure(name, "boot_to_200_ms", lambda: boot_to_200(g, boot_timeout) * 1e3)
        if t200 is None:
            return

        def guest_boot():
            m, t_ready = g.wait_for(READY_RE, 10)
            if m.group("tms"):
                return float(m.group("tms"))
            if linux:
                return float(m.group("t")) * 1e3 if m.group("t") else None
            r, _ = g.find(NET_READY_RE)
            if r:
                return float(r.group("ms"))
            b, t_banner = g.find(BANNER_RE)
            if not b:
                raise RuntimeError("no banner")
            return float(b.group("ms")) + (t_ready - t_banner) * 1e3
        rec.measure(name, "guest_boot_ms", guest_boot)

        if linux:
            # the 64 MiB file is made after READY; keep its making out of every figure
            rec.measure(name, "bytes_file", lambda: g.wait_for(BYTES_READY_RE, 120), store=False)
        if rnd == 0:
            rec.measure(name, "virtio_features", lambda: virtio_features(g))
            rec.measure(name, "page_bytes", lambda: page_check(g)["bytes"])
            rec.measure(name, "bytes_verified", lambda: bytes_check(g))

        for c in opts.conns:
            def w(c=c):
                res, d = with_counters(g, lambda: wrk(g, c, opts.wrk_seconds))
                res["counters"] = d
                return res
            rec.measure(name, "wrk_c%d" % c, w)

        def b():
            res, d = with_counters(g, lambda: curl_bytes(g))
            res["counters"] = d
            return res
        rec.measure(name, "bytes", b)

        def ip():
            res, d = with_counters(g, lambda: iperf(g, opts.iperf_seconds))
            res["counters"] = d
            return res
        rec.measure(name, "iperf", ip)

        time.sleep(1.0)
        rec.measure(name, "idle_cpu_pct", lambda: idle_cpu(g, opts.idle_seconds))
        if not g.alive:
            rec.err(name, "qemu", RuntimeError("QEMU died during the round: " + g.tail()))
    finally:
        g.stop()


def fits(name, spec, net, mem_mib, images, timeout):
    """Does the guest boot and answer GET / with 200 in -m mem_mib? (bool, detail)"""
    extra = "bench.nobytes" if spec["kind"] == "linux" else ""
    g = Guest(name, spec, net, "%dM" % mem_mib, images, extra_append=extra,
              tag="%s-minmem-%dM" % (name, mem_mib))
    try:
        g.start()
        t = boot_to_200(g, timeout)
        return True, "200 after %.0f ms" % (t * 1e3)
    except Exception as e:
        return False, str(e)[:300]
    finally:
        g.stop()


def smallest_mem(name, spec, net, images, candidates, timeout):
    """Bisect the sorted candidates for the smallest passing one (assumes monotonic)."""
    probes = {}
    lo, hi = 0, len(candidates) - 1
    ok, detail = fits(name, spec, net, candidates[hi], images, timeout)
    probes[candidates[hi]] = {"ok": ok, "detail": detail}
    if not ok:
        return None, probes
    while lo < hi:
        mid = (lo + hi) // 2
        ok, detail = fits(name, spec, net, candidates[mid], images, timeout)
        probes[candidates[mid]] = {"ok": ok, "detail": detail}
        if ok:
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo], probes


# ------------------------------------------------------------------ summary --

def summ(values):
    v = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def path_values(runs, path):
    """values of runs[metric][i][key][key2] for path 'metric.key.key2'."""
    parts = path.split(".")
    out = []
    for r in runs.get(parts[0], []):
        x = r
        for p in parts[1:]:
            x = x.get(p) if isinstance(x, dict) else None
        out.append(x)
    return out


# (key, label, unit/format, better: "hi"|"lo"|None)
ROWS = [
    ("boot_to_200_ms", "boot to first HTTP 200 (ms, from QEMU start)", "%.0f", "lo"),
    ("guest_boot_ms", "guest boot to READY (ms) [1]", "%.0f", "lo"),
    ("wrk_c1.rps", "req/s  /  1 conn", "%.0f", "hi"),
    ("wrk_c1.p50_ms", "  p50 latency (ms)", "%.2f", "lo"),
    ("wrk_c1.p99_ms", "  p99 latency (ms)", "%.2f", "lo"),
    ("wrk_c8.rps", "req/s  /  8 conns", "%.0f", "hi"),
    ("wrk_c8.p50_ms", "  p50 latency (ms)", "%.2f", "lo"),
    ("wrk_c8.p99_ms", "  p99 latency (ms)", "%.2f", "lo"),
    ("wrk_c64.rps", "req/s  /  64 conns", "%.0f", "hi"),
    ("wrk_c64.p50_ms", "  p50 latency (ms)", "%.2f", "lo"),
    ("wrk_c64.p99_ms", "  p99 latency (ms)", "%.2f", "lo"),
    ("bytes.mbit_s", "/bytes 64 MiB download (Mbit/s)", "%.0f", "hi"),
    ("iperf.to_guest_mbit_s", "iperf2 host->guest (Mbit/s)", "%.0f", "hi"),
    ("iperf.from_guest_mbit_s", "iperf2 guest->host (Mbit/s)", "%.0f", "hi"),
    ("wrk_c64.counters.irq_per_pkt", "interrupts/packet, wrk 64 conns", "%.3f", "lo"),
    ("bytes.counters.irq_per_pkt", "interrupts/packet, /bytes", "%.3f", "lo"),
    ("iperf.counters.irq_per_pkt", "interrupts/packet, iperf2", "%.3f", "lo"),
    ("wrk_c1.counters.irq_per_pkt", "interrupts/packet, wrk 1 conn", "%.3f", "lo"),
    ("wrk_c64.counters.polls_per_irq", "NAPI polls/interrupt, wrk 64", "%.2f", None),
    ("iperf.counters.polls_per_irq", "NAPI polls/interrupt, iperf2", "%.2f", None),
    ("idle_cpu_pct", "idle CPU of QEMU (% of a core)", "%.1f", "lo"),
    ("insn_per_request", "guest insns / request (wrk 8 conns, /bytes/1024) [4]", "%.0f", "lo"),
    ("insn_per_rx_packet", "guest insns / received packet (iperf2 host->guest) [4]", "%.0f", "lo"),
    ("insn_per_rx_byte", "guest insns / received byte (iperf2 host->guest) [4]", "%.2f", "lo"),
    ("insn_per_tx_byte", "guest insns / sent byte (/bytes 64 MiB) [4]", "%.2f", "lo"),
    ("synflood.fraction", "req/s during a spoofed SYN flood / without [5]", "%.2f", "hi"),
    ("synflood.flood_rps", "  req/s during the flood (wrk 8 conns, GET /)", "%.0f", "hi"),
    ("synflood.syn_per_s", "  SYNs/s sent (achieved)", "%.0f", None),
    ("synflood.after_ms", "  fresh GET / after the flood (ms)", "%.0f", "lo"),
    ("insn_boot", "guest insns, boot to ready [4]", "%.3g", "lo"),
    ("insn_idle_per_s", "guest insns / idle second [4]", "%.3g", "lo"),
]


def fmt_cell(s, f):
    if not s:
        return "-"
    med = f % s["median"]
    if s["n"] > 1 and s["median"]:
        spread = (s["max"] - s["min"]) / 2 / abs(s["median"]) * 100
        return "%s ±%.0f%%" % (med, spread)
    return med


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def build_summary(rec, guests):
    summary = {}
    for g in guests:
        runs = rec.runs.get(g, {})
        summary[g] = {key: summ(path_values(runs, key)) for key, *_ in ROWS}
        for s in summary[g].values():
            if s and s["n"] > 1 and s["median"]:
                s["spread_pct"] = round((s["max"] - s["min"]) / 2 / abs(s["median"]) * 100, 1)
    return summary


def wide_spreads(summary, guests, limit=10.0):
    """Timed metrics whose run-to-run spread (half the range over the median) is over limit%."""
    out = []
    for key, label, _, better in ROWS:
        if better is None:
            continue
        for g in guests:
            s = summary.get(g, {}).get(key)
            if s and s.get("spread_pct", 0) > limit:
                out.append("%s %s ±%.0f%%" % (g, key, s["spread_pct"]))
    return out


def med(summary, g, key):
    s = summary.get(g, {}).get(key)
    return s["median"] if s else None


def bar_checks(summary, static, guests):
    out = []

    def add(what, value, target, met, why="", keys=()):
        out.append({"what": what, "value": value, "target": target, "met": met, "note": why,
                    "keys": list(keys)})

    if "linux" in guests and "napi" in guests:
        r = ratio(med(summary, "napi", "wrk_c64.rps"), med(summary, "linux", "wrk_c64.rps"))
        add("req/s at 64 conns, napi / Linux", r, ">= 2", None if r is None else r >= 2,
            "" if r is None or r >= 2 else "short by %.0f%% of the target" % ((2 - r) / 2 * 100),
            [("napi", "wrk_c64.rps"), ("linux", "wrk_c64.rps")])
        r = ratio(med(summary, "napi", "boot_to_200_ms"), med(summary, "linux", "boot_to_200_ms"))
        add("boot to first 200, napi / Linux", r, "< 0.1", None if r is None else r < 0.1,
            "" if r is None or r < 0.1 else "%.1fx the target" % (r / 0.1),
            [("napi", "boot_to_200_ms"), ("linux", "boot_to_200_ms")])
        for key, lbl in (("bytes.mbit_s", "/bytes download"),
                         ("iperf.to_guest_mbit_s", "iperf2 host->guest"),
                         ("iperf.from_guest_mbit_s", "iperf2 guest->host")):
            r = ratio(med(summary, "napi", key), med(summary, "linux", key))
            add("%s, napi / Linux" % lbl, r, ">= 1", None if r is None else r >= 1,
                "" if r is None or r >= 1 else "%.1f%% below Linux" % ((1 - r) * 100),
                [("napi", key), ("linux", key)])
    if "linux" in guests and "napi" in guests:
        a, l = med(summary, "napi", "synflood.fraction"), med(summary, "linux", "synflood.fraction")
        r = ratio(a, l)
        add("req/s kept under a SYN flood, napi fraction / Linux fraction", r, ">= 1",
            None if r is None else r >= 1,
            "" if r is None else "napi keeps %.0f%%, Linux %.0f%%" % (a * 100, l * 100),
            [("napi", "synflood.fraction"), ("linux", "synflood.fraction")])
    if "napi" in guests:
        vals = [med(summary, "napi", k) for k in ("wrk_c64.counters.irq_per_pkt",
                                                 "bytes.counters.irq_per_pkt",
                                                 "iperf.counters.irq_per_pkt")]
        vals = [v for v in vals if v is not None]
        worst = max(vals) if vals else None
        add("napi interrupts/packet at saturation (worst of wrk64, /bytes, iperf)", worst,
            "< 0.1", None if worst is None else worst < 0.1,
            "" if worst is None or worst < 0.1 else "%.1fx the target" % (worst / 0.1))
    if "napi" in guests and "irq" in guests:
        for key, lbl in (("wrk_c1.p50_ms", "p50"), ("wrk_c1.p99_ms", "p99")):
            r = ratio(med(summary, "napi", key), med(summary, "irq", key))
            add("light-load %s latency (1 conn), napi / irq" % lbl, r, "<= 1 (noise ~10%)",
                None if r is None else r <= 1.1,
                "" if r is None or r <= 1.1 else "napi %.0f%% slower" % ((r - 1) * 100),
                [("napi", key), ("irq", key)])
    return out


def spread_pct(summary, g, key):
    s = summary.get(g, {}).get(key)
    if not s or s["n"] < 2 or not s["median"]:
        return None
    return (s["max"] - s["min"]) / 2 / abs(s["median"]) * 100


def make_notes(summary, checks, rec, guests, net_kind):
    """Why, where the bar is missed, from what the run itself saw."""
    notes = []
    feats = {}
    for g in guests:
        v = [x for x in rec.runs.get(g, {}).get("virtio_features", []) if x]
        feats[g] = v[0] if v else None
    if net_kind == "user":
        notes.append("user-net (slirp) terminates TCP in QEMU and copies every byte: bulk "
                     "throughput is slirp's, not the guest's; use root for the tap peer.")
    missed = {c["what"] for c in checks if c["met"] is False}
    if any("Linux" in m and ("download" in m or "iperf" in m) for m in missed) \
            and feats.get("linux") and feats.get("napi") is not None:
        lacking = sorted((set(feats["linux"]) & OFFLOADS) - set(feats["napi"]))
        if lacking:
            sw = " and checksummed in software by the TCG guest" if "CSUM" in lacking else ""
            notes.append("bulk: the Linux guest negotiates %s, ours does not: Linux moves up to "
                         "64 KiB TSO/GSO segments through one descriptor chain and one tap "
                         "write, ours MTU-sized frames, each its own virtqueue round trip%s."
                         % ("+".join(lacking), sw))
    for c in checks:
        ks = c.get("keys") or []
        if c["met"] is False and len(ks) == 2:
            a, b = (summary.get(g, {}).get(k) for g, k in ks)
            if a and b and a["n"] > 1 and b["n"] > 1 and a["min"] <= b["max"] and b["min"] <= a["max"]:
                c["within_noise"] = True
        if c["met"] is False and c.get("keys"):
            sp = ["%s ±%.0f%%" % (g, v) for g, k in c["keys"]
                  for v in [spread_pct(summary, g, k)] if v is not None]
            if sp:
                c["note"] += ("; " if c["note"] else "") + "run spread " + ", ".join(sp)
    return notes, feats


def print_table(summary, static, guests, checks, meta, notes=()):
    cols = [g for g in ORDER if g in guests]
    head = ["metric"] + [GUESTS[g]["label"] for g in cols]
    extra = []
    if "napi" in cols and "linux" in cols:
        extra.append(("napi/Linux", "napi", "linux"))
    if "napi" in cols and "irq" in cols:
        extra.append(("napi/irq", "napi", "irq"))
    head += [e[0] for e in extra]
    rows = []
    for key, label, f, _ in ROWS:
        row = [label] + [fmt_cell(summary[g][key], f) for g in cols]
        for _, a, b in extra:
            r = ratio(med(summary, a, key), med(summary, b, key))
            row.append("-" if r is None else "%.2fx" % r)
        rows.append(row)
    for key, label in (("image_kib", "image size (KiB) [2]"), ("min_mem_mib", "smallest -m (MiB) [3]")):
        row = [label]
        for g in cols:
            v = static.get(g, {}).get(key)
            row.append("-" if v is None else ("%.0f" % v))
        for _, a, b in extra:
            r = ratio(static.get(a, {}).get(key), static.get(b, {}).get(key))
            row.append("-" if r is None else "%.2fx" % r)
        rows.append(row)
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r))
    print()
    print("Benchmark: %s, -m %s, %d run(s) each, wrk %d s, iperf %d s; %s" % (
        meta["net_label"], meta["mem"], meta["runs"], meta["wrk_seconds"], meta["iperf_seconds"],
        meta["when"]))
    print("QEMU %s (TCG), host %s, %d CPUs, load average %s -> %s" % (
        meta["qemu_version"], meta["host_cpu"], meta["host_cpus"], meta["loadavg_start"],
        meta["loadavg_end"]))
    print("cells: median ±half the range over the runs")
    print()
    print(line(head))
    print(line(["-" * x for x in w]))
    for r in rows:
        print(line(r))
    print()
    print("[1] ours: TSC time since reset of READY ('net: ready'); Linux: printk time "
          "of READY (from kernel start;\n    firmware and bzImage decompression not counted)")
    print("[2] ours: build/unikernel.elf (loadable segments %s KiB); Linux: vmlinuz + initramfs.cpio.gz"
          % (static.get("napi", static.get("irq", {})).get("loadable_kib", "?") if cols else "?"))
    print("[3] boots and answers GET / (Linux without the 64 MiB /bytes file), bisected over %s"
          % meta.get("min_mem_candidates", "?"))
    print("[4] guest instructions counted by a TCG plugin (scripts/bench/insn.py): one QEMU run per\n"
          "    guest, the count read before and after each workload; not moved by the machine's load\n"
          "    (per received packet depends on how many frames the device merges: per byte does not)")
    print("[5] scripts/bench/synflood.py: %s SYN/s asked from random on-link 192.0.2.3-254 sources for %s s\n"
          "    (tap peer only); the client's req/s with the flood over its req/s just before"
          % (meta.get("syn_rate", "?"), meta.get("syn_seconds", "?")))
    if checks:
        print()
        print("The bar (same machine, same run):")
        for c in checks:
            v = "-" if c["value"] is None else "%.3g" % c["value"]
            verdict = {True: "MET", False: "MISSED", None: "n/a"}[c["met"]]
            if c.get("within_noise"):
                verdict += " (ranges overlap)"
            print("  %-68s %7s  target %-18s %s%s" % (c["what"], v, c["target"], verdict,
                                                      ("  (" + c["note"] + ")") if c["note"] else ""))
    for n in notes:
        print("  note: " + n)
    wide = wide_spreads(summary, cols)
    if wide:
        print("  spread over 10%% (lengthen with BENCH_WRK_SECONDS/BENCH_IPERF_SECONDS or BENCH_RUNS): %s"
              % ", ".join(wide))
    elif meta["runs"] > 1:
        print("  every timed metric's run-to-run spread is within 10%")


# ---------------------------------------------------------------------- SVG --

def write_svg(summary, guests, path, meta):
    charts = [("wrk_c64.rps", "req/s, 64 conns"), ("wrk_c1.p99_ms", "p99 ms, 1 conn"),
              ("boot_to_200_ms", "boot to 200 (ms)"), ("bytes.mbit_s", "/bytes Mbit/s"),
              ("iperf.to_guest_mbit_s", "iperf host->guest Mbit/s"),
              ("iperf.from_guest_mbit_s", "iperf guest->host Mbit/s"),
              ("wrk_c64.counters.irq_per_pkt", "irq/packet, wrk 64"),
              ("idle_cpu_pct", "idle CPU %"),
              ("insn_per_request", "guest insns/request"),
              ("insn_per_tx_byte", "guest insns/sent byte"),
              ("insn_per_rx_byte", "guest insns/received byte"),
              ("synflood.fraction", "req/s kept in a SYN flood")]
    cols = [g for g in ORDER if g in guests]
    colors = {"linux": "#888888", "napi": "#2a7ab9", "irq": "#e08a2c", "poll": "#b0413e"}
    cw, ch, pad = 230, 170, 30
    per_row = 4
    nrows = (len(charts) + per_row - 1) // per_row
    W, H = per_row * cw + pad, nrows * ch + 70
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="11">' % (W, H), '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="18" font-size="13">make bench: %s, -m %s, %s</text>'
         % (meta["net_label"].split(" (")[0], meta["mem"], meta["when"])]
    for i, g in enumerate(cols):
        o.append('<rect x="%d" y="28" width="10" height="10" fill="%s"/><text x="%d" y="37">%s</text>'
                 % (10 + i * 130, colors[g], 24 + i * 130, GUESTS[g]["label"]))
    for k, (key, title) in enumerate(charts):
        x0 = pad / 2 + (k % per_row) * cw
        y0 = 50 + (k // per_row) * ch
        vals = [(g, med(summary, g, key)) for g in cols]
        top = max([v for _, v in vals if v is not None] or [1]) or 1
        o.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (x0, y0 + 12, title))
        bw = (cw - 40) / max(1, len(cols))
        base = y0 + ch - 30
        for j, (g, v) in enumerate(vals):
            bx = x0 + j * bw
            if v is None:
                o.append('<text x="%.0f" y="%d">n/a</text>' % (bx + 4, base - 4))
                continue
            h = (ch - 60) * v / top
            o.append('<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="%s"/>'
                     % (bx + 3, base - h, bw - 6, h, colors[g]))
            label = ("%.3g" % v) if v < 1000 else "%.0f" % v
            o.append('<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>'
                     % (bx + bw / 2, base - h - 3, label))
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (x0, base, x0 + cw - 40, base))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


# -------------------------------------------------------------------- setup --

def qemu_version():
    try:
        return subprocess.run([QEMU_BIN, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.splitlines()[0].replace("QEMU emulator version ", "")
    except Exception as e:
        return "unknown (%s)" % e


def host_cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except Exception:
        return None


def elf_loadable(path):
    """Sum of PT_LOAD p_filesz of an ELF64 file."""
    with open(path, "rb") as f:
        h = f.read(64)
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        total = 0
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p = f.read(phentsize)
            ptype, = struct.unpack_from("<I", p, 0)
            filesz, = struct.unpack_from("<Q", p, 32)
            if ptype == 1:
                total += filesz
    return total


def build_linux_guest():
    """Run linux_guest.sh (instant when its stamp matches); returns the image paths."""
    t = now()
    r = subprocess.run(["bash", LG_SCRIPT, LG_DIR], capture_output=True, text=True, timeout=900)
    msg = (r.stderr.strip().splitlines() or ["?"])[-1]
    log("linux guest: %s (%.1f s)" % (msg.replace("linux-guest: ", ""), now() - t))
    if r.returncode != 0:
        raise RuntimeError("linux_guest.sh failed: " + r.stderr[-800:])
    info = {}
    try:
        with open(os.path.join(LG_DIR, "info.json")) as f:
            info = json.load(f)
    except (OSError, ValueError):
        pass
    return {"vmlinuz": os.path.join(LG_DIR, "vmlinuz"),
            "initrd": os.path.join(LG_DIR, "initramfs.cpio.gz"), "info": info}


def parse_args():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "3")))
    ap.add_argument("--wrk-seconds", type=int, default=int(env("BENCH_WRK_SECONDS", "6")))
    ap.add_argument("--iperf-seconds", type=int, default=int(env("BENCH_IPERF_SECONDS", "5")))
    ap.add_argument("--idle-seconds", type=float, default=float(env("BENCH_IDLE_SECONDS", "5")))
    ap.add_argument("--mem", default=env("BENCH_MEM", "256M"),
                    help="-m for every guest (Linux keeps the 64 MiB /bytes file in RAM)")
    ap.add_argument("--net", choices=["auto", "tap", "user"], default=env("BENCH_NET", "auto"))
    ap.add_argument("--guests", default=env("BENCH_GUESTS", ",".join(ORDER)),
                    help="comma list of linux,napi,irq,poll")
    ap.add_argument("--no-min-mem", action="store_true", help="skip the smallest -m bisection")
    ap.add_argument("--quick", action="store_true", help="1 run, 1 s wrk/iperf, 2 s idle")
    ap.add_argument("--conns", default="1,8,64")
    ap.add_argument("--no-insn", action="store_true", help="skip the instruction counts")
    ap.add_argument("--no-synflood", action="store_true", help="skip the SYN flood figure")
    ap.add_argument("--syn-rate", type=int, default=int(env("BENCH_SYN_RATE", "20000")))
    ap.add_argument("--syn-seconds", type=int, default=int(env("BENCH_SYN_SECONDS", "5")))
    ap.add_argument("--synflood-guests", default=env("BENCH_SYNFLOOD_GUESTS", "linux,napi"))
    ap.add_argument("--insn-seconds", type=int, default=int(env("BENCH_INSN_SECONDS", "5")))
    ap.add_argument("--insn-guests", default=env("BENCH_INSN_GUESTS", "linux,napi"))
    ap.add_argument("--budget", type=float, default=float(env("BENCH_BUDGET_SECONDS", "900")),
                    help="start no new round past this many seconds (make bench < ~20 min)")
    o = ap.parse_args()
    if o.quick:
        o.runs, o.wrk_seconds, o.iperf_seconds, o.idle_seconds = 1, 1, 1, 2
    o.conns = [int(x) for x in o.conns.split(",")]
    o.guests = [g for g in o.guests.split(",") if g in GUESTS]
    return o


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main():
    opts = parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    t_start = now()
    os.makedirs(LOGS, exist_ok=True)
    for f in os.listdir(LOGS):
        if f.endswith(".log"):
            os.unlink(os.path.join(LOGS, f))
    meta = {"when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "qemu_version": qemu_version(), "host_cpu": host_cpu(),
            "host_cpus": os.cpu_count(), "git": git_rev(), "runs": opts.runs,
            "wrk_seconds": opts.wrk_seconds, "iperf_seconds": opts.iperf_seconds,
            "idle_seconds": opts.idle_seconds, "mem": opts.mem, "conns": opts.conns,
            "loadavg_start": "%.2f %.2f %.2f" % os.getloadavg(),
            "qemu_common": "-machine q35 -cpu max -m %s -nographic -no-reboot "
                           "-device virtio-net-pci,netdev=n0,mac=%s "
                           "-device isa-debug-exit,iobase=0xf4,iosize=0x04" % (opts.mem, MAC)}
    setup_errors = {}
    static = {}
    images = {}

    # our image, copied: other people rebuild build/unikernel.elf while this runs
    if any(GUESTS[g]["kind"] == "ours" for g in opts.guests):
        if not os.path.exists(ELF_SRC):
            log("%s missing: run `make` first" % ELF_SRC)
            return 1
        elf = os.path.join(WORK, "unikernel.elf")
        shutil.copyfile(ELF_SRC, elf)
        with open(elf, "rb") as f:
            meta["elf_sha256"] = hashlib.sha256(f.read()).hexdigest()
        images["elf"] = elf
        st = {"image_kib": os.path.getsize(elf) / 1024,
              "loadable_kib": round(elf_loadable(elf) / 1024)}
        for g in opts.guests:
            if GUESTS[g]["kind"] == "ours":
                static[g] = dict(st)
    if "linux" in opts.guests:
        try:
            li = build_linux_guest()
            images.update(li)
            meta["linux_guest"] = li["info"]
            static["linux"] = {"image_kib": (os.path.getsize(li["vmlinuz"]) +
                                             os.path.getsize(li["initrd"])) / 1024}
        except Exception as e:
            setup_errors["linux"] = str(e)
            log("linux guest unavailable: %s" % e)
            opts.guests = [g for g in opts.guests if g != "linux"]

    net = None
    if opts.net in ("auto", "tap") and os.geteuid() == 0:
        net = TapNet()
        try:
            net.setup()
        except Exception as e:
            log("tap set-up failed (%s); falling back to user-net" % e)
            setup_errors["tap"] = str(e)
            net.cleanup()
            net = None
    elif opts.net == "tap":
        setup_errors["tap"] = "not root"
    if net is None:
        net = UserNet()
        net.setup()
    meta["net"] = net.kind
    meta["net_label"] = net.label

    rec = Recorder()
    try:
        log("network: %s; guests: %s; -m %s; %d round(s)" % (net.label, ", ".join(opts.guests),
                                                             opts.mem, opts.runs))
        round_times = []
        for rnd in range(opts.runs):
            left = opts.budget - (now() - t_start)
            est = max(round_times) if round_times else 0
            if rnd > 0 and est + (40 if not opts.no_min_mem else 0) > left:
                log("time budget: stopping after %d round(s) (next ~%.0f s, %.0f s left)"
                    % (rnd, est, left))
                meta["rounds_cut_by_budget"] = rnd
                break
            t_round = now()
            # rotate the order so no guest always runs first after a quiet spell
            gs = opts.guests[rnd % len(opts.guests):] + opts.guests[:rnd % len(opts.guests)]
            for name in gs:
                t = now()
                rec.put(name, "loadavg_1min", os.getloadavg()[0])
                try:
                    one_round(rec, name, GUESTS[name], net, opts.mem, images, opts, rnd)
                except Exception as e:
                    rec.err(name, "round", e)
                r = rec.runs.get(name, {})
                last = lambda k: (r.get(k) or [None])[-1]
                w64 = last("wrk_c64") or {}
                by = last("bytes") or {}
                log("round %d %-5s %5.1f s: boot->200 %s ms, wrk64 %s req/s, bytes %s Mbit/s"
                    % (rnd + 1, name, now() - t,
                       "%.0f" % last("boot_to_200_ms") if last("boot_to_200_ms") else "-",
                       "%.0f" % w64["rps"] if w64.get("rps") else "-",
                       "%.0f" % by["mbit_s"] if by.get("mbit_s") else "-"))
            round_times.append(now() - t_round)

        if not opts.no_synflood:
            import synflood
            meta["syn_rate"], meta["syn_seconds"] = opts.syn_rate, opts.syn_seconds
            for name in [g for g in opts.synflood_guests.split(",") if g in opts.guests]:
                t = now()
                synflood.suite(sys.modules[__name__], rec, name, GUESTS[name], net, opts.mem,
                               images, opts)
                r = (rec.runs.get(name, {}).get("synflood") or [None])[-1] or {}
                log("syn flood %s (%.0f s): %s req/s -> %s req/s at %s SYN/s" % (
                    name, now() - t, r.get("base_rps"), r.get("flood_rps"),
                    "%.0f" % r["syn_per_s"] if r.get("syn_per_s") else "-"))

        if not opts.no_insn:
            import insn
            for name in [g for g in opts.insn_guests.split(",") if g in opts.guests]:
                t = now()
                insn.suite(sys.modules[__name__], rec, name, GUESTS[name], net, opts.mem,
                           images, opts)
                r = rec.runs.get(name, {})
                log("instructions %s (%.0f s): %s" % (name, now() - t, ", ".join(
                    "%s %s" % (k[5:], "%.4g" % r[k][-1] if r.get(k) and r[k][-1] else "-")
                    for k in ("insn_per_request", "insn_per_rx_packet", "insn_per_tx_byte"))))

        if not opts.no_min_mem:
            cands = {"ours": [4, 6, 8, 12, 16, 24, 32, 64], "linux": [48, 64, 96, 128, 192, 256]}
            meta["min_mem_candidates"] = "ours %s, Linux %s MiB" % (cands["ours"], cands["linux"])
            done_ours = None
            for name in opts.guests:
                spec = GUESTS[name]
                if spec["kind"] == "ours" and done_ours is not None:
                    static[name]["min_mem_mib"] = static[done_ours]["min_mem_mib"]
                    continue
                t = now()
                boot = (rec.runs.get(name, {}).get("boot_to_200_ms") or [None])
                bmed = statistics.median([b for b in boot if b] or [10000]) / 1e3
                timeout = max(20.0, 3 * bmed)
                try:
                    mm, probes = smallest_mem(name, spec, net, images, cands[spec["kind"]], timeout)
                except Exception as e:
                    mm, probes = None, {"error": str(e)}
                static.setdefault(name, {})["min_mem_mib"] = mm
                static[name]["min_mem_probes"] = probes
                if spec["kind"] == "ours":
                    done_ours = name
                log("smallest -m %s: %s MiB (%.0f s; probes %s)" % (
                    name, mm, now() - t, {k: v["ok"] for k, v in probes.items() if isinstance(v, dict)}))
    finally:
        stop_all()
        net.cleanup()

    meta["boot_floor"] = __import__("boot_floor").measure(images.get("elf", ELF_SRC), LOGS)
    meta["loadavg_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    meta["elapsed_s"] = round(now() - t_start, 1)
    summary = build_summary(rec, opts.guests)
    checks = bar_checks(summary, static, opts.guests)
    notes, feats = make_notes(summary, checks, rec, opts.guests, net.kind)
    meta["virtio_features"] = feats
    out = {"meta": meta, "guests": {g: GUESTS[g] for g in opts.guests}, "summary": summary,
           "static": static, "bar": checks, "notes": notes, "runs": rec.runs, "errors": rec.errors,
           "setup_errors": setup_errors}
    with open(JSON_OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
    try:
        write_svg(summary, opts.guests, SVG_OUT, meta)
        png = SVG_OUT[:-4] + ".png"
        if shutil.which("rsvg-convert"):          # optional (Debian librsvg2-bin)
            subprocess.run(["rsvg-convert", SVG_OUT, "-o", png], timeout=60, check=False)
    except Exception as e:
        log("svg: %s" % e)
    print_table(summary, static, opts.guests, checks, meta, notes)
    nerr = sum(len(v) for m in rec.errors.values() for v in m.values())
    print()
    print("%d failed measurement(s)%s; wrote %s and %s; logs in %s; %.0f s" % (
        nerr, " (see errors in bench.json)" if nerr else "", os.path.relpath(JSON_OUT, REPO),
        os.path.relpath(SVG_OUT, REPO), os.path.relpath(LOGS, REPO), meta["elapsed_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
