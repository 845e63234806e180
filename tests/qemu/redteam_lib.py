"""Shared pieces of test_redteam.py: one dual-stack VM per module on a tap (IPv4 192.0.2.2,
IPv6 2001:db8::2), and the reviewers' pass criterion checked after every attack:

    no PANIC / ASSERT on the console since the attack began, QEMU alive, ping answered,
    a fresh client's GET / answered within 2 s (IPv4, and IPv6 for IPv6 attacks),
    /stats.json readable, lwIP heap and pools and the kernel heap back to their idle level."""

import http.client
import os
import random
import re
import struct
import threading
import time

import pytest

import qemulib
import tapnet
from tapnet import GUEST_IP, GUEST_IP6, csum, eth, ip_bytes, ipv4, PROTO_TCP

SERVE_WITHIN = 2.0


class Env:
    """The module's VM on its tap; rebooted (and its idle level re-taken) if an attack killed
    it, so one failure does not hide the next attack's result."""

    def __init__(self, label):
        self.label = label
        self.net = tapnet.TapNet(label, ipv6=True)
        self.vm = None
        self.base = None
        self.boots = 0
        self.deaths = []

    def start(self):
        self.net.create()
        return self

    def get(self):
        if self.vm is not None and self.vm.alive:
            return self.vm
        if self.vm is not None:
            self.deaths.append(self.vm.log_path)
            self.vm.stop()
        self.boots += 1
        opts = self.net.qemu_opts(append="ip6=%s/64" % GUEST_IP6)
        self.vm = qemulib.Qemu(name="%s-shared-%d" % (self.label, self.boots), **opts).start()
        self.net.vms.append(self.vm)
        self.vm.wait_ready()
        self.vm.wait_for(r"net: ip6 %s/64 static" % re.escape(GUEST_IP6), timeout=20)
        self.net.wait_http(self.vm)
        for _ in range(3):
            self.net.http("/")
            self.net.http("/", host=GUEST_IP6)
        self.ping6(count=1)
        time.sleep(0.5)
        self.base = self.net.stats()
        return self.vm

    def stop(self):
        self.net.destroy()

    # ---- probes ----
    def get_root(self, v6=False, timeout=10.0):
        """(seconds, status or error text) of GET / on a new connection."""
        t = time.monotonic()
        try:
            r = self.net.http("/", timeout=timeout, host=GUEST_IP6 if v6 else GUEST_IP)
            res = r.status
        except (OSError, http.client.HTTPException) as e:
            res = repr(e)
        return time.monotonic() - t, res

    def served(self, what, v6=False):
        dt, res = self.get_root(v6)
        assert res == 200 and dt <= SERVE_WITHIN, (
            what, "%s GET / took %.2f s: %s" % ("IPv6" if v6 else "IPv4", dt, res))
        return dt

    def ping6(self, count=3):
        p = self.net.run([tapnet.tool("ping") or "ping", "-6", "-n", "-q", "-c", str(count),
                          "-i", "0.2", "-W", "2", GUEST_IP6], timeout=30)
        return p, tapnet.parse_ping(p.stdout)


def verdict(env, start, what, v6=False, idle_timeout=60, slack=None):
    """The pass criterion after an attack (start: console index when it began). Returns the
    stats once idle."""
    vm = env.vm
    bad = vm.console_problems(start)
    assert not bad, "%s: console shows %s\n%s" % (what, bad, vm.tail(40))
    assert vm.alive, "%s: QEMU died\n%s" % (what, vm.tail(40))
    p, d = env.net.ping(count=3, interval=0.2, wait=2)
    if not d.get("received", 0):
        # say what else is wrong, with the guest's view, before failing on the ping
        dt, res = env.get_root()
        try:
            s = env.net.stats(timeout=5)
            view = {k: s[k] for k in ("lwip", "tcp_guard", "net")}
        except OSError as e:
            view = repr(e)
        raise AssertionError("%s: no ping reply (GET / then: %.2f s %s; stats %s)\n%s" % (
            what, dt, res, view, p.stdout))
    env.served(what + ": after the attack")
    if v6:
        p, d = env.ping6(3)
        assert d.get("received", 0) >= 1, (what, "no ping6 reply", p.stdout)
        env.served(what + ": after the attack", v6=True)
    s = env.net.stats(timeout=5)
    assert "tcp_guard" in s, s.keys()
    waited, s = tapnet.wait_idle(env.net, env.base, timeout=idle_timeout, slack=slack, vm=vm)
    print("%s: idle after %.1f s: lwip %s heap %s tcp_guard %s" % (
        what, waited, s["lwip"], s["heap"], s["tcp_guard"]))
    env.served(what + ": once idle")
    bad = vm.console_problems(start)
    assert not bad, "%s: console shows %s" % (what, bad)
    return s


class Prober(threading.Thread):
    """A fresh client's GET / every `every` seconds during an attack: (t, seconds, result)."""

    def __init__(self, env, every=0.5, v6=False):
        super().__init__(daemon=True)
        self.env, self.every, self.v6 = env, every, v6
        self.results = []
        self.stop_ev = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        while not self.stop_ev.is_set():
            t = time.monotonic() - self.t0
            dt, res = self.env.get_root(self.v6, timeout=8)
            self.results.append((round(t, 1), round(dt, 2), res))
            self.stop_ev.wait(self.every)

    def stop(self):
        self.stop_ev.set()
        self.join(15)
        return self

    def slow(self):
        return [r for r in self.results if r[2] != 200 or r[1] > SERVE_WITHIN]


def tcp4(src, dst, sport, dport, seq=0, ack=0, flags=0x02, win=65535, options=b"",
         payload=b"", urg=0):
    """tapnet.tcp with an urgent pointer."""
    hl = 20 + len(options)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      (hl // 4) << 4, flags & 0xff, win & 0xffff, 0, urg & 0xffff) + options + payload
    c = csum(ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, PROTO_TCP, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def raw_segment(peer, c, flags, payload=b"", seq=None, ack=None, win=None, urg=0, options=b""):
    """One segment of Conn c with an urgent pointer (rawtcp's builder has none)."""
    seq = c.snd_nxt if seq is None else seq
    ack = (c.rcv_nxt or 0) if ack is None else ack
    win = c.window if win is None else win
    if ":" in peer.ip:
        import rawtcp6
        peer.send_frame(peer.frame6(PROTO_TCP, rawtcp6.tcp6(peer.ip, peer.guest_ip, c.sport,
                                                            c.dport, seq, ack, flags, win,
                                                            options, payload, urg)))
    else:
        seg = tcp4(peer.ip, peer.guest_ip, c.sport, c.dport, seq, ack, flags, win, options,
                   payload, urg)
        peer.send_frame(eth(peer.guest_mac, peer.mac, tapnet.ETH_IP,
                            ipv4(peer.ip, peer.guest_ip, PROTO_TCP, seg,
                                 ident=random.randrange(65536))))


def get(path, keep=True, method="GET"):
    return ("%s %s HTTP/1.1\r\nHost: g\r\n%s\r\n" %
            (method, path, "" if keep else "Connection: close\r\n")).encode()


def connect_many(peers, port, n, each, **kw):
    """Connections to the guest's port, the i-th of n from peers[i % len(peers)]
    (try_connect(port, timeout=2, **kw): those not open within 2 s are left out); each(i, c)
    sends a new one what it will. Returns those that opened."""
    conns = []
    for i in range(n):
        c = peers[i % len(peers)].try_connect(port, timeout=2, **kw)
        if c is None:
            continue
        each(i, c)
        conns.append(c)
    return conns


def close_all(conns):
    for c in conns:
        try:
            c.close()
        except OSError:
            pass


def guard_delta(base, s):
    return {k: s["tcp_guard"][k] - base["tcp_guard"].get(k, 0) for k in s["tcp_guard"]
            if s["tcp_guard"][k] != base["tcp_guard"].get(k, 0)}


@pytest.fixture(scope="module")
def _env(request):
    e = Env(os.path.splitext(os.path.basename(str(request.fspath)))[0]).start()
    yield e
    e.stop()


@pytest.fixture
def env(_env, request):
    """The module's VM, alive; env.start_line is the console index where the test began."""
    vm = _env.get()
    request.node._qemus = getattr(request.node, "_qemus", []) + [vm]
    _env.start_line = len(vm.snapshot())
    failed = request.session.testsfailed
    yield _env
    if request.session.testsfailed > failed:
        _env.vm.stop()          # a failed attack may leave damage: the next one gets a fresh VM
