"""Red team, part 2: the IPv6 variants of issue 9's attacks (2001:db8::/32) and a sustained
dual-stack combination of them, against one VM for the module (redteam_lib.Env), each asserting
the reviewers' pass criterion (redteam_lib.verdict). Root only, like test_tap.py."""

import ipaddress
import random
import struct
import threading
import time

import pytest

import rawtcp
import rawtcp6
import tapnet
from hostile import paced_blast
from rawtcp import ACK, FIN, SYN
from rawtcp6 import ETH_IP6, PROTO_ICMP6, icmp6, ipv6, tcp6
from redteam_lib import _env, env  # noqa: F401 (fixtures)
from redteam_lib import Prober, close_all, get, guard_delta, verdict
from tapnet import (ETH_IP, GUEST_IP, GUEST_IP6, GUEST_MAC, PROTO_ICMP, PROTO_TCP,
                    eth, icmp, ipv4, packet_socket, tcp)

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

PORTS = (80, 5001, 5201)


@pytest.mark.timeout(120)
def test_syn_flood_ipv6_random_sources(env):
    """15000 SYNs to [2001:db8::2]:80/5001/5201 from random 2001:db8::/64 addresses nobody
    answers neighbour solicitations for (the guest's neighbour cache and its queue churn):
    a fresh IPv6 client (and an IPv4 one) is served within 2 s during and after."""
    start = env.start_line
    r = random.Random(6)
    sock = packet_socket(env.net, sndbuf=4 << 20)
    frames = []
    for i in range(15000):
        src = "2001:db8::%x:%x" % (r.randrange(1, 0xffff), r.randrange(1, 0xffff))
        seg = rawtcp6.tcp6(src, GUEST_IP6, 1024 + r.randrange(64000), PORTS[i % 3],
                           seq=r.randrange(1 << 32), flags=SYN, options=bytes([2, 4, 5, 0xa0]))
        frames.append(("syn6", eth(GUEST_MAC, "02:00:00:6f:%02x:%02x" % (i >> 8 & 0xff, i & 0xff),
                                   rawtcp6.ETH_IP6, rawtcp6.ipv6(src, GUEST_IP6, PROTO_TCP, seg))))
    p6 = Prober(env, every=0.25, v6=True)
    p4 = Prober(env, every=0.5)
    p6.start()
    p4.start()
    paced_blast(sock, frames, 1500.0, 500)
    time.sleep(2)
    p6.stop()
    p4.stop()
    sock.close()
    print("IPv6 fresh clients:", p6.results)
    print("IPv4 fresh clients:", p4.results)
    verdict(env, start, "IPv6 SYN flood", v6=True, idle_timeout=75)
    assert not p6.slow() and not p4.slow(), ("not served within 2 s during the IPv6 flood",
                                             p6.slow(), p4.slow())


# --------------------------------------------------------------- window games ---

@pytest.mark.timeout(120)
def test_ipv6_window_games(env):
    """Over IPv6: the persist game (partial ACK with window 0, wait for the RTO, ACK all with
    an open window) three times on 80; iperf2's header with a one-byte hole on 5001 and the
    iperf3 cookie with one on 5201; 60 connections pinning 16 out-of-order segments each;
    280 zero-window connections (more than the 256 connection states) answering every probe
    with window 0. Fresh IPv6 and IPv4 clients are served once eviction can act (3 s)."""
    start = env.start_line
    with rawtcp6.Peer6(env.net, ip="2001:db8::90", seed=90) as peer:
        peer.announce()
        for _ in range(3):
            c = peer.connect(80)
            c.send(get("/bytes/4000"))
            c.wait_stream(1000, timeout=5)
            time.sleep(0.3)
            first = c.wait(lambda s: s.payload, timeout=1)
            assert first is not None, "no data from the guest over IPv6"
            c.ack(ack=first.seq + len(first.payload), window=0)
            n0 = len(c.segments)
            c.wait(lambda s: s.payload or s.flags & FIN, timeout=8, start=n0)
            c.ack(ack=c.highest_seq_end(), window=65535)
            time.sleep(1.2)
            c.close()
        for port, hdr in ((5001, b"\0" * 24), (5201, b"7" * 36 + b"\0")):
            for hole in (0, 1, len(hdr) - 1):
                c = peer.connect(port)
                at = c.snd_nxt
                c.send(hdr[hole + 1:] + b"x" * 100, seq=at + hole + 1)
                if hole:
                    c.send(hdr[:hole], seq=at)
                c.send(hdr[hole:hole + 1], seq=at + hole)
                c.snd_nxt = (at + len(hdr) + 100) & 0xffffffff
                c.send(b"y" * 1000)
                time.sleep(0.2)
                c.close()
        ooo = [peer.connect(80) for _ in range(60)]
        for c in ooo:
            for i in range(16):
                c.send(b"O" * 64, seq=c.snd_nxt + 1 + 200 * i)
        env.served("with out-of-order data on 60 IPv6 connections", v6=True)
        close_all(ooo)
        crowd, stop = [], threading.Event()
        for _ in range(280):
            c = peer.try_connect(80, window=0, timeout=2)
            if c is None:
                continue
            c.send(get("/bytes/1000000"), window=0)
            crowd.append(c)

        def probes():
            while not stop.wait(1.0):
                for c in list(crowd):
                    if not c.rst_seen:
                        c.ack(window=0)

        t = threading.Thread(target=probes, daemon=True)
        t.start()
        try:
            time.sleep(3)
            for _ in range(3):
                env.served("with 280 IPv6 zero-window connections", v6=True)
                env.served("with 280 IPv6 zero-window connections")
        finally:
            stop.set()
            t.join(5)
            close_all(crowd)
    verdict(env, start, "IPv6 window games", v6=True)


# ------------------------------------------------------- DAD after the fact ---

@pytest.mark.timeout(60)
def test_unsolicited_na_for_own_addresses(env):
    """One unsolicited neighbour advertisement to ff02::1 from another MAC claiming the guest's
    static 2001:db8::2, one claiming its link-local address: RFC 4862 5.4 lets DAD act on a
    tentative address only; an address in use must not be dropped by any station's say-so
    (Linux ignores it). IPv6 must still be served."""
    start = env.start_line
    ll = "fe80::5054:ff:fec0:2"
    sock = packet_socket(env.net)
    for target in (GUEST_IP6, ll):
        src = "fe80::bad"
        na = rawtcp6.neighbour_advert(src, "ff02::1", target, "02:00:00:ba:d0:01",
                                      solicited=False)
        sock.send(eth("33:33:00:00:00:01", "02:00:00:ba:d0:01", ETH_IP6,
                      ipv6(src, "ff02::1", PROTO_ICMP6, na, hlim=255)))
    sock.close()
    time.sleep(0.5)
    lost = [ln for ln in env.vm.snapshot()[start:] if "duplicate address" in ln]
    assert not lost, "one spoofed NA took the guest's addresses: %s" % lost
    verdict(env, start, "unsolicited NA", v6=True)


# ------------------------------------------------------------ malformed IPv6 ---

class Malformed6:
    """Hostile IPv6 frames for the guest: lying lengths, extension-header chains, fragments,
    ND/RA/redirect messages with odd options, errors quoting garbage."""

    def __init__(self, host_mac, seed):
        self.r = random.Random(seed)
        self.hm = host_mac
        self.src_ll = "fe80::%x" % self.r.randrange(1, 0xffff)

    def rb(self, n):
        return self.r.randbytes(n)

    def f(self, pkt, dst_mac=GUEST_MAC):
        return eth(dst_mac, self.hm, ETH_IP6, pkt)

    def src(self):
        return self.r.choice(["2001:db8::1", "2001:db8::%x" % self.r.randrange(3, 0xffff),
                              self.src_ll, "::", "::1", "ff02::1", "2001:db8::2"])

    def ext(self, kind, inner_nxt, body_len=None):
        n = self.r.choice([0, 1, 2, 255]) if body_len is None else body_len
        if kind == 44:                                 # fragment header
            off = self.r.choice([0, 0, 1, 8189, 8191, self.r.randrange(8192)])
            return struct.pack("!BBHI", inner_nxt, 0, (off << 3) | self.r.randrange(2),
                               self.r.randrange(16))
        opts = self.r.choice([b"\x01" + bytes([(n * 8 + 4) & 0xff]) + self.rb(4),       # PadN past end
                              b"\xc2\x04" + struct.pack("!I", self.r.randrange(1 << 32)),
                              b"\x05\x02\x00\x00\x01\x00", b"\x00" * 6,
                              self.rb(6)])
        if kind == 43:                                 # routing: type 0, segments left
            return struct.pack("!BBBB", inner_nxt, n & 0xff, 0, self.r.randrange(4)) + \
                self.rb(4 + 8 * min(n, 2))
        return struct.pack("!BB", inner_nxt, n & 0xff) + opts + self.rb(8 * min(n, 3))

    def gen_ext_chain(self):
        d = GUEST_IP6
        s = self.src()
        inner = self.r.choice([PROTO_TCP, PROTO_ICMP6, 17, 59, 253, 0, 60])
        payload = tcp6(s, d, 40000, self.r.choice(PORTS), seq=self.r.randrange(1 << 32),
                       flags=self.r.choice([SYN, ACK, 0xff])) if inner == PROTO_TCP else self.rb(20)
        chain, nxt = payload, inner
        for _ in range(self.r.randrange(1, 5)):
            kind = self.r.choice([0, 43, 44, 60, 0])
            chain, nxt = self.ext(kind, nxt) + chain, kind
        return self.f(ipv6(s, d, nxt, chain, plen=self.r.choice([None, None, 0, 1, 65535,
                                                                   len(chain) + 9])))

    def gen_fragments(self):
        ident = self.r.randrange(8)
        off = self.r.choice([0, 1, 2, 8188, 8191, self.r.randrange(400)])
        m = self.r.randrange(2) if off else 1
        data = self.rb(self.r.choice([8, 16, 1232]))
        hdr = struct.pack("!BBHI", self.r.choice([PROTO_ICMP6, PROTO_TCP, 17]), 0, (off << 3) | m,
                          ident)
        return self.f(ipv6(self.src(), GUEST_IP6, 44, hdr + data))

    def nd_opts(self):
        return self.r.choice([
            b"\x01\x00" + self.rb(6),                      # length 0: a loop in many stacks
            b"\x01\x01" + self.rb(6), b"\x02\xff" + self.rb(6), b"\x05\x01\x00\x00\x00\x00\x00\x44",
            b"\x03\x04\x00\xc0" + self.rb(12) + b"\0" * 16,  # prefix /0 L|A
            b"\x03\x04\x81\xc0" + b"\xff" * 12 + ipaddress.IPv6Address("2001:db8::").packed,
            b"\x19\x03" + self.rb(22), b"\x0e\x01" + self.rb(6), b""])

    def gen_nd(self):
        typ = self.r.choice([133, 134, 135, 136, 137, 130, 143])
        s = self.r.choice([self.src_ll, "2001:db8::1", "::", "2001:db8::%x" % self.r.randrange(9)])
        d = self.r.choice([GUEST_IP6, "ff02::1", "ff02::1:ff00:2"])
        # NAs never claim the guest's own addresses here (test_unsolicited_na_for_own_addresses)
        own = [GUEST_IP6, "fe80::5054:ff:fec0:2"] if typ != 136 else []
        tgt = ipaddress.IPv6Address(self.r.choice(own + ["2001:db8::1", "ff02::1",
                                                         "2001:db8::9"])).packed
        if typ == 134:
            body = struct.pack("!BBHII", 64, self.r.randrange(256), self.r.choice([0, 1800, 65535]),
                               0, 0)
        elif typ == 137:
            body = b"\0" * 4 + tgt + ipaddress.IPv6Address(self.r.choice(
                ["2001:db8::1", GUEST_IP6])).packed
        elif typ in (135, 136):
            body = struct.pack("!I", self.r.choice([0, 0x20000000, 0xe0000000])) + tgt
        else:
            body = self.rb(self.r.choice([0, 4, 20]))
        opts = b"".join(self.nd_opts() for _ in range(self.r.randrange(3)))
        hl = self.r.choice([255, 255, 64])
        pkt = ipv6(s, d, PROTO_ICMP6, icmp6(s, d, typ, self.r.choice([0, 0, 1]), body + opts),
                   hlim=hl)
        return self.f(pkt, self.r.choice([GUEST_MAC, "33:33:00:00:00:01"]))

    def gen_errors(self):
        typ = self.r.choice([1, 2, 3, 4])
        quoted = ipv6(GUEST_IP6, "2001:db8::1", PROTO_TCP,
                      struct.pack("!HHI", 80, 40000, self.r.randrange(1 << 32)))[
            :self.r.choice([8, 40, 48, 60])]
        mtu = self.r.choice([0, 68, 1279, 1280, 0xffffffff])
        s = self.r.choice(["2001:db8::1", "2001:db8::77"])
        return self.f(ipv6(s, GUEST_IP6, PROTO_ICMP6,
                           icmp6(s, GUEST_IP6, typ, self.r.randrange(5),
                                 struct.pack("!I", mtu) + quoted)))

    def gen_tcp(self):
        s = "2001:db8::%x" % self.r.randrange(3, 0xffff)
        seg = bytearray(tcp6(s, GUEST_IP6, self.r.randrange(1024, 65536), self.r.choice(PORTS),
                             seq=self.r.randrange(1 << 32), flags=self.r.randrange(256),
                             options=self.rb(self.r.choice([0, 4, 8, 40])),
                             payload=self.rb(self.r.randrange(0, 40))))
        if self.r.random() < 0.5:
            seg[12] = self.r.choice([0, 0x10, 0x40, 0xf0]) | (seg[12] & 0xf)  # data offset lies
        return self.f(ipv6(s, GUEST_IP6, PROTO_TCP, bytes(seg)))

    def frames(self, n):
        gens = [self.gen_ext_chain, self.gen_fragments, self.gen_nd, self.gen_errors, self.gen_tcp]
        for i in range(n):
            yield "m6", gens[i % len(gens)]()


@pytest.mark.timeout(120)
def test_malformed_ipv6_barrage(env):
    """20000 hostile IPv6 frames (extension-header chains with lying lengths, routing type 0,
    overlapping and past-64K fragments, ND/RA/redirect with zero-length and odd options and
    hop limits, errors quoting garbage with MTUs 0..4G,
    TCP with lying offsets): IPv6 and IPv4 still served, pools idle."""
    start = env.start_line
    sock = packet_socket(env.net, sndbuf=4 << 20)
    gen = Malformed6(env.net.host_mac, seed=66)
    sent = tapnet.blast(sock, gen.frames(20000))
    sock.close()
    print("malformed IPv6: %s" % (sent[:2],))
    time.sleep(2)
    bad = [ln for ln in env.vm.snapshot()[start:] if "ip6" in ln and ("dup" in ln or "lost" in ln)]
    print("console:", bad[:5])
    verdict(env, start, "malformed IPv6", v6=True, idle_timeout=75)


# ------------------------------------------------------------ all at once, 30 s ---

@pytest.mark.timeout(150)
def test_sustained_dual_stack_combination(env):
    """30 s of everything at once from a dozen MACs: spoofed SYNs (IPv4, 800/s), echo floods
    (IPv4 and IPv6, 400/s each), 40 IPv4 connections refreshing out-of-order holes, 120
    zero-window IPv4 connections answering probes, 30 IPv6 readers at one byte a second,
    4 unread pipelines. Fresh IPv4 and IPv6 clients are probed throughout; pass criterion
    after, and no probe slower than 2 s once the first 3 s have passed (eviction's delay)."""
    start = env.start_line
    stop = threading.Event()
    r = random.Random(30)
    p4 = rawtcp.Peer(env.net, ip="192.0.2.91", seed=91).start()
    q4 = rawtcp.Peer(env.net, ip="192.0.2.92", seed=92).start()
    p6 = rawtcp6.Peer6(env.net, ip="2001:db8::91", seed=91).start()
    sock = packet_socket(env.net, sndbuf=4 << 20)
    threads = []
    try:
        for p in (p4, q4, p6):
            p.announce()
        ooo = [p4.connect(80) for _ in range(40)]
        crowd = []
        for _ in range(120):
            c = q4.connect(80, window=0)
            c.send(get("/bytes/1000000"), window=0)
            crowd.append(c)
        readers = []
        for _ in range(30):
            c = p6.connect(80, window=1)
            c.send(get("/bytes/1073741824"), window=1)
            readers.append(c)
        pipes = [p4.connect(80) for _ in range(4)]
        reqs = b"".join(get("/", method="HEAD") + get("/") for _ in range(40))

        def paced(fn, per_s):
            def run():
                t0, n = time.monotonic(), 0
                while not stop.is_set():
                    fn(n)
                    n += 1
                    d = t0 + n / per_s - time.monotonic()
                    if d > 0:
                        time.sleep(d)
            th = threading.Thread(target=run, daemon=True)
            threads.append(th)
            th.start()

        def syn(n):
            k = r.randrange(150)
            src = "192.0.2.%d" % (100 + k)
            seg = tcp(src, GUEST_IP, 1024 + r.randrange(64000), PORTS[n % 3],
                      seq=r.randrange(1 << 32), flags=SYN, options=b"\x02\x04\x05\xb4")
            frames = [("s", eth(GUEST_MAC, "02:00:00:5e:00:%02x" % k, ETH_IP,
                                ipv4(src, GUEST_IP, PROTO_TCP, seg)))]
            tapnet.blast(sock, frames)

        def echo(n):
            tapnet.blast(sock, [("e", eth(GUEST_MAC, p4.mac, ETH_IP,
                                          ipv4(p4.ip, GUEST_IP, PROTO_ICMP,
                                               icmp(8, 0, 0x4444, n & 0xffff, b"e" * 56)))),
                                ("e6", p6.frame6(PROTO_ICMP6, icmp6(
                                    p6.ip, GUEST_IP6, 128, 0, struct.pack("!HH", 0x6666,
                                                                          n & 0xffff))))])

        def refresh(n):
            c = ooo[n % len(ooo)]
            for i in range(16):
                c.send(b"O" * 64, seq=c.snd_nxt + 1 + 200 * i + (n // len(ooo)) % 5 * 4000)

        def slow(n):
            for c in crowd:
                if not c.rst_seen:
                    c.ack(window=0)
            for c in readers:
                if not c.rst_seen and c.rcv_nxt is not None:
                    c.ack(window=1)
            for c in pipes:
                if not c.rst_seen:
                    for off in range(0, len(reqs), 1400):
                        c.send(reqs[off:off + 1400], window=0)

        paced(lambda n: [syn(n * 8 + i) for i in range(8)], 100)
        paced(echo, 400)
        paced(refresh, 40)
        paced(slow, 1)
        pr4, pr6 = Prober(env, every=0.5), Prober(env, every=0.5, v6=True)
        pr4.start()
        pr6.start()
        time.sleep(30)
        pr4.stop()
        pr6.stop()
    finally:
        stop.set()
        for th in threads:
            th.join(5)
        sock.close()
        for p in (p4, q4, p6):
            close_all(p.conns())
            p.close()
    print("IPv4 probes:", pr4.results)
    print("IPv6 probes:", pr6.results)
    s = verdict(env, start, "sustained combination", v6=True, idle_timeout=75)
    print("tcp_guard delta:", guard_delta(env.base, s))
    late = [x for x in pr4.slow() + pr6.slow() if x[0] >= 3]
    assert not late, "fresh clients not served within 2 s during the combination: %s" % late
