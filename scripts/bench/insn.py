"""Guest instruction counts for `make bench` (issue 10, "a figure the noise cannot move").

A QEMU TCG plugin counts every instruction the guest executes (inline, exact); the
machine's load does not move it. libinsn_snap.so (insn_snap.c: tests/plugin/insn.c's
count, readable during the run) lets one QEMU run per guest measure, in order:
  boot     instructions up to the ready marker (ours: READY and a first 200; Linux:
           BYTES-READY, after it has made the 64 MiB file it serves)
  idle     IDLE seconds doing nothing: instructions per idle second (timer ticks)
  request  wrk -c8 for S seconds on GET /bytes/1024 (keep-alive): per request
  rx       iperf2 host->guest for S seconds: per packet (device frame: with GUEST_TSO4
           one may carry 64 KiB) and per byte the guest received (its own counters)
  tx       curl of the 64 MiB /bytes download: per byte the guest sent
each as the difference of the counts read just before and just after it (the idle
rate is not subtracted: a saturated guest does not idle; it is reported beside).
Optional (BENCH_HOTBLOCKS=1, ours only): the request, tx and rx workloads under
libhotblocks.so, folded onto the ELF's functions (hotblocks.py), minus a boot-only run:
where the instructions per request, per sent and per received byte go.
"""
import os
import re
import subprocess
import time

import hotblocks
from guests import BYTES_READY_RE, LOGS, Guest
from harness.guest import READY_RE
from workloads import BYTES_N, counters, curl_bytes, delta, get, run, with_counters

HERE = os.path.dirname(os.path.abspath(__file__))


def plugin_dir():
    r = subprocess.run(["bash", os.path.join(HERE, "qemu_plugins.sh")], capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError("qemu_plugins.sh: " + (r.stderr.strip()[-400:] or "failed"))
    return r.stdout.strip().splitlines()[-1]


class Run:
    """One guest under a plugin. With snap=True, snapshot() reads the running count."""

    def __init__(self, name, spec, net, mem, images, plugin, tag, snap=False):
        base = os.path.join(LOGS, tag)
        self.plog, self.ctl = base + ".plugin.log", base + ".ctl"
        for f in (self.plog, self.ctl):
            if os.path.exists(f):
                os.unlink(f)
        self.g = Guest(name, spec, net, mem, images, tag=tag)
        if snap:
            os.mkfifo(self.ctl)
            self.g.extra = ["-plugin", "%s,ctl=%s,out=%s" % (plugin, self.ctl, self.plog)]
        else:
            self.g.extra = ["-plugin", plugin + ",inline=on", "-d", "plugin", "-D", self.plog]
        self.linux = spec["kind"] == "linux"

    def start(self):
        self.g.start()
        rx = BYTES_READY_RE if self.linux else READY_RE
        self.g.wait_for(rx, 240 if self.linux else 60)
        if not self.linux:
            # READY is printed before the servers run their first loop: wait for a 200
            get(self.g, "/style.css", timeout=20)
        return self

    def _lines(self):
        try:
            with open(self.plog) as f:
                return f.read().split()
        except OSError:
            return []

    def snapshot(self):
        n = len(self._lines())
        with open(self.ctl, "wb", buffering=0) as f:
            f.write(b"s")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            words = self._lines()
            if len(words) > n:
                return int(words[n])
            time.sleep(0.01)
        raise RuntimeError("no count from the plugin")

    def stop(self):
        self.g.stop()
        if os.path.exists(self.ctl):
            os.unlink(self.ctl)


def wrk_requests(g, seconds):
    url = "http://%s:%d/bytes/1024" % g.http
    r = run(["wrk", "-t1", "-c8", "-d%ds" % seconds, url], timeout=seconds + 30)
    m = re.search(r"(\d+) requests in", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk: %s %s" % (r.stdout[-200:], r.stderr[-200:]))
    return int(m.group(1))


def suite(rec, name, spec, net, mem, images, opts):
    """Records insn_* metrics for one guest (a failed step is recorded, never raised)."""
    plugins = rec.measure(name, "insn_plugins", plugin_dir, store=False)
    if not plugins:
        return
    secs = opts.insn_seconds
    r = Run(name, spec, net, mem, images, os.path.join(plugins, "libinsn_snap.so"),
            "%s-insn" % name, snap=True)
    try:
        if rec.measure(name, "insn_start", r.start, store=False) is None:
            return
        last = [rec.measure(name, "insn_boot", r.snapshot)]
        if last[0] is None:
            return

        def step(work):
            """(instructions work took, its result)"""
            res = work()
            now = r.snapshot()
            n, last[0] = now - last[0], now
            return n, res

        def idle():
            t = time.monotonic()
            n, _ = step(lambda: time.sleep(opts.idle_seconds))
            return n / (time.monotonic() - t)
        rec.measure(name, "insn_idle_per_s", idle)

        def per_request():
            n, reqs = step(lambda: wrk_requests(r.g, secs))
            return n / reqs
        rec.measure(name, "insn_per_request", per_request)

        def per_rx_packet():
            # the counters are read outside the counted window (Linux runs a CGI for them)
            a = counters(r.g)
            last[0] = r.snapshot()
            n, _ = step(lambda: iperf_to_guest(r.g, secs))
            d = delta(a, counters(r.g))
            last[0] = r.snapshot()
            if not d.get("rx_packets"):
                raise RuntimeError("no rx packet counters")
            return n, d
        rx = rec.measure(name, "insn_rx", per_rx_packet, store=False)
        rec.put(name, "insn_per_rx_packet", rx[0] / rx[1]["rx_packets"] if rx else None)
        rec.put(name, "insn_per_rx_byte", rx[0] / rx[1]["rx_bytes"] if rx and rx[1].get("rx_bytes")
                else None)

        def per_tx_byte():
            n, _ = step(lambda: curl_bytes(r.g))
            return n / BYTES_N
        rec.measure(name, "insn_per_tx_byte", per_tx_byte)
    finally:
        r.stop()
    if os.environ.get("BENCH_HOTBLOCKS") == "1" and spec["kind"] == "ours":
        rec.measure(name, "hotblocks", lambda: hot(name, spec, net, mem, images, plugins, secs))


def iperf_to_guest(g, seconds):
    """iperf2 host->guest only (workloads.iperf also runs -R, the guest sending)."""
    r = run(["iperf", "-c", g.iperf[0], "-p", str(g.iperf[1]), "-t", str(seconds), "-y", "C"],
              timeout=seconds + 30)
    if r.returncode != 0 or "," not in r.stdout:
        raise RuntimeError("iperf exit %s: %s %s" % (r.returncode, r.stdout[-200:], r.stderr[-200:]))


def hot(name, spec, net, mem, images, plugins, secs):
    """Top functions by instructions per request (wrk run), per sent byte (the 64 MiB
    download) and per received byte (iperf2 host->guest), each a run under
    libhotblocks.so minus a boot-only run."""
    lib = os.path.join(plugins, "libhotblocks.so")
    logs, units = {}, {}
    def rx(g):
        _, d = with_counters(g, lambda: iperf_to_guest(g, secs))
        return d["rx_bytes"]
    works = {"boot": None,
             "request": lambda g: wrk_requests(g, secs),
             "tx": lambda g: curl_bytes(g) and BYTES_N,
             "rx": rx}
    for tag, work in works.items():
        r = Run(name, spec, net, mem, images, lib, "%s-hot-%s" % (name, tag))
        try:
            r.start()
            if work:
                units[tag] = work(r.g)
        finally:
            r.stop()
        logs[tag] = r.plog
    out = {}
    for tag, unit in (("request", "request"), ("tx", "sent_byte"), ("rx", "received_byte")):
        total, rows = hotblocks.report(images["elf"], logs[tag], logs["boot"], top=25)
        n = units[tag]
        out[tag] = {"units": n, "insns_per_" + unit: total / n,
                    "top": [{"function": k, "insns_per_" + unit: round(v / n, 3),
                             "share_pct": round(100.0 * v / total, 1)} for k, v in rows]}
    return out
