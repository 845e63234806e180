"""A real client's requests/s during a sustained spoofed-SYN flood, as a fraction of
its requests/s without one (issue 9), for each guest, on the tap peer only.

The flood: SYNs to port 80 from random on-link sources in 192.0.2.3-254 (the test
network; nothing outside the namespace is ever addressed) and random ports, RATE per
second, written by a packet socket on the host side of the tap, so the guest sees them
as the real client's frames. Nobody answers ARP for those sources, so no RST frees a
half-open connection: a real spoofed flood, on-link.
The client: wrk -c8 keep-alive on GET / for S seconds, first without the flood, then
with it (the flood runs 1 s before wrk starts), then a fresh connection's GET / after
the flood, with a 2 s timeout.
"""
import random
import re
import socket
import subprocess
import threading
import time

from guests import BYTES_READY_RE, MAC, Guest, boot_to_200
from harness.frames import ETH_IP, PROTO_TCP, eth, ipv4, tcp
from harness.netns import GUEST_IP, HOST_IP
from workloads import get, run

SRC_MAC = "02:00:00:00:00:01"     # locally administered; nobody answers to it


def syn_frames(n, dst_ip, dport=80, seed=1):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        src = "192.0.2.%d" % rnd.randrange(3, 255)
        sport, seq = rnd.randrange(1024, 65536), rnd.getrandbits(32)
        seg = tcp(src, dst_ip, sport, dport, seq=seq, flags=0x02, win=64240,
                  options=b"\x02\x04\x05\xb4")                   # MSS 1460
        out.append(eth(MAC, SRC_MAC, ETH_IP, ipv4(src, dst_ip, PROTO_TCP, seg,
                                                  ident=rnd.getrandbits(16), flags_frag=0x4000)))
    return out


class Flooder(threading.Thread):
    """Sends frames round robin at `pps` on `ifname` until stop(); counts what it sent."""

    def __init__(self, ifname, frames, pps):
        super().__init__(daemon=True)
        self.ifname, self.frames, self.pps = ifname, frames, pps
        self.sent = self.dropped = 0
        self.halt = threading.Event()
        self.t0 = self.t1 = None

    def run(self):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((self.ifname, 0))
        n, i = len(self.frames), 0
        self.t0 = time.monotonic()
        try:
            while not self.halt.is_set():
                due = int((time.monotonic() - self.t0) * self.pps)
                burst = min(due - self.sent - self.dropped, 2000)
                for _ in range(burst):
                    try:
                        s.send(self.frames[i])
                        self.sent += 1
                    except OSError:     # ENOBUFS: the tap queue is full (QEMU is behind)
                        self.dropped += 1
                    i = (i + 1) % n
                time.sleep(0.002)
        finally:
            self.t1 = time.monotonic()
            s.close()

    def stop(self):
        self.halt.set()
        self.join(10)
        return self.sent / (self.t1 - self.t0) if self.t1 and self.t1 > self.t0 else None


def wrk_rps(g, seconds):
    """wrk -c8 GET / req/s; wrk can hang when none of its connections completes its
    handshake: then 0 after seconds + 10."""
    url = "http://%s:%d/" % g.http
    try:
        r = run(["wrk", "-t1", "-c8", "-d%ds" % seconds, "--timeout", "2s", url],
                  timeout=seconds + 10)
    except subprocess.TimeoutExpired:
        return 0.0, "wrk hung: no connection got through"
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    if not m:
        return 0.0, "wrk: %s %s" % (r.stdout[-200:], r.stderr[-200:])
    e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", r.stdout)
    return float(m.group(1)), ("socket errors " + ",".join(e.groups())) if e else None


def measure(g, net, rate, seconds):
    res = {"rate_asked": rate}
    res["base_rps"], err = wrk_rps(g, seconds)
    if err:
        res["base_note"] = err
    frames = syn_frames(65536, GUEST_IP)
    f = Flooder(net.tap, frames, rate)
    f.start()
    try:
        time.sleep(1.0)
        res["flood_rps"], err = wrk_rps(g, seconds)
        if err:
            res["flood_note"] = err
    finally:
        res["syn_per_s"] = f.stop()
        res["syn_sent"], res["syn_dropped_at_tap"] = f.sent, f.dropped
    res["fraction"] = res["flood_rps"] / res["base_rps"] if res["base_rps"] else None
    t = time.monotonic()
    try:
        st = get(g, "/", timeout=2.0).status
        res["after_ms"] = (time.monotonic() - t) * 1e3 if st == 200 else None
    except Exception as e:
        res["after_ms"] = None
        res["after_error"] = str(e)[:200]
    return res


def suite(rec, name, spec, net, mem, images, opts):
    if net.kind != "tap":
        rec.err(name, "synflood", RuntimeError("needs the tap peer (run as root)"))
        return
    g = Guest(name, spec, net, mem, images, extra_append="gw=" + HOST_IP,
                tag=name + "-synflood")
    try:
        g.start()
        rec.measure(name, "synflood_boot", lambda: boot_to_200(g, 120), store=False)
        if spec["kind"] == "linux":     # the 64 MiB file is made after READY: not during wrk
            rec.measure(name, "bytes_file", lambda: g.wait_for(BYTES_READY_RE, 120), store=False)
        rec.measure(name, "synflood", lambda: measure(g, net, opts.syn_rate, opts.syn_seconds))
        if not g.alive:
            rec.err(name, "synflood", RuntimeError("QEMU died during the flood: " + g.tail()))
    finally:
        g.stop()
