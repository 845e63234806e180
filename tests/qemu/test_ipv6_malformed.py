"""Hostile IPv6 frames (ip6frames.Malformed6, seeded) from a packet socket on the tap, to a
guest with SLAAC on (no ip6=), so router advertisements, prefixes, MTU options and neighbour
entries all reach lwIP's code. Afterwards: no PANIC/ASSERT on the console, the guest answers
HTTP and echo over IPv6 (link-local, which no frame can take away) and IPv4, and lwIP's pools
and the heap are back at their idle level. Replay: UNIKERNEL_MALFORMED6_SEED=<seed>."""

import os
import socket
import struct
import time

import pytest

import tapnet
from ip6frames import Malformed6, a6
from tapnet import GUEST_IP6, HOST_IP6, blast, check_counters, packet_socket, wait_idle
from test_ipv6 import GUEST_LL, host_linklocal, ping6, wait_addr

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

SEED = int(os.environ.get("UNIKERNEL_MALFORMED6_SEED", "0")) or int(time.time()) % 100000
PER_CATEGORY = 300
MIXED = 12000


def reassert_neighbour(net):
    """Unsolicited NA (RFC 4861 7.2.6, override) for the host's link-local address with its real
    MAC: neighbour discovery is unauthenticated, so the spoofed advertisements above may have
    pointed the guest's cache elsewhere, as they would on any IPv6 host."""
    ll = host_linklocal(net)
    with net.inside():
        idx = socket.if_nametoindex(net.tap)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        s.bind((ll, 0, 0, idx))
        na = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000, a6(ll))
        na += struct.pack("!BB6s", 2, 1, bytes(int(x, 16) for x in net.host_mac.split(":")))
        s.sendto(na, ("ff02::1", 0, 0, idx))
    finally:
        s.close()


def alive(vm, net, what):
    reassert_neighbour(net)
    problems = vm.console_problems()
    assert not problems, "after %s (seed %d): %s\n%s" % (what, SEED, problems, vm.tail())
    if not vm.alive:
        vm._fail("QEMU exited after %s (seed %d)" % (what, SEED))
    ll = "%s%%%s" % (GUEST_LL, net.tap)
    p, d = ping6(net, ll, count=2, interval=0.1, wait=2)
    assert d.get("received", 0) >= 1, "no echo over IPv6 after %s (seed %d)\n%s" % (
        what, SEED, p.stdout + p.stderr)
    r = net.http("/", timeout=5)
    assert r.status == 200, "IPv4 HTTP after %s (seed %d)" % (what, SEED)


@pytest.fixture
def tap6(request):
    net = tapnet.TapNet(request.node.nodeid, ipv6=True)
    request.addfinalizer(net.destroy)
    return net.create()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_hostile_ipv6_frames(qemu, tap6):
    print("seed", SEED)
    vm = tap6.boot(qemu)
    wait_addr(vm, GUEST_LL, "link-local")
    for _ in range(3):
        assert tap6.http("/").status == 200
    time.sleep(0.5)
    base = tap6.stats()
    gen = Malformed6(SEED, tap6.host_mac, host_linklocal(tap6), HOST_IP6, GUEST_LL, GUEST_IP6)
    sock = packet_socket(tap6)
    try:
        for cat in gen.cats:
            sent, refused, _ = blast(sock, ((cat, getattr(gen, "gen_" + cat)())
                                            for _ in range(PER_CATEGORY)))
            time.sleep(0.3)
            alive(vm, tap6, "%d %s frames" % (sent, cat))
        sent, refused, per = blast(sock, gen.frames(MIXED))
        print("mixed: sent %d, refused %d: %s" % (sent, refused, per))
        time.sleep(1.0)
        blast(sock, gen.withdraw_routers())
    finally:
        sock.close()
    time.sleep(1.0)
    alive(vm, tap6, "%d mixed frames" % MIXED)
    s1 = tap6.stats()
    assert not check_counters(base, s1), check_counters(base, s1)
    # served over IPv6 after all of it (link-local: no frame above can take it away)
    r = tap6.http("/bytes/100000", host="%s%%%s" % (GUEST_LL, tap6.tap))
    assert r.status == 200 and len(r.body) == 100000, (r.status, len(r.body))
    wait_idle(tap6, base, timeout=90, vm=vm)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_ipv6_syn_flood_from_spoofed_sources(qemu, tap6):
    """30000 SYNs over IPv6 from random on-link sources (each reply needs neighbour
    discovery): the SYN cookies answer them statelessly, and the host's own GET / over IPv6
    is served within 2 s all along (SPEC: "What no peer may do")."""
    import random
    import threading
    from ip6frames import ipv6, tcp6
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    assert tap6.http("/", host=GUEST_IP6).status == 200
    base = tap6.stats(host=GUEST_IP6)
    r = random.Random(SEED)

    def frames(n):
        for i in range(n):
            src = "2001:db8::%x:%x" % (r.randrange(1, 65535), r.randrange(1, 65535))
            seg = tcp6(src, GUEST_IP6, 20000 + i % 40000, 80, seq=r.getrandbits(32), flags=0x02,
                       options=bytes([2, 4, 0x05, 0xa0]))
            yield "syn", tapnet.eth(tapnet.GUEST_MAC, tap6.host_mac, 0x86dd,
                                    ipv6(src, GUEST_IP6, 6, seg))

    sock = packet_socket(tap6)
    sent = []
    th = threading.Thread(target=lambda: sent.append(blast(sock, frames(30000))))
    th.start()
    slow = []
    try:
        while th.is_alive():
            t = time.monotonic()
            try:
                st = tap6.http("/", host=GUEST_IP6, timeout=5).status
            except OSError as e:
                st = repr(e)
            dt = time.monotonic() - t
            if st != 200 or dt > 2.0:
                slow.append((round(dt, 2), st))
            time.sleep(0.2)
    finally:
        th.join()
        sock.close()
    print("sent %s; slow or failed GETs: %s" % (sent[0][:2], slow))
    assert not slow, slow
    s = tap6.stats(host=GUEST_IP6)
    assert s["tcp_guard"]["syncookies_sent"] > base["tcp_guard"]["syncookies_sent"]
    alive(vm, tap6, "the SYN flood")
    wait_idle(tap6, base, timeout=90, vm=vm)


def echo6_fragments(src, dst, ident, seq, size, frag_id, chunk=1448):
    """An ICMPv6 echo request of `size` data bytes as IPv6 fragment packets (RFC 8200 4.5)."""
    from ip6frames import icmp6, ipv6
    msg = icmp6(src, dst, 128, 0, struct.pack("!HH", ident, seq) +
                bytes(i & 0xff for i in range(size)))
    out, off = [], 0
    while off < len(msg):
        part = msg[off:off + chunk]
        mf = off + len(part) < len(msg)
        fh = struct.pack("!BBHI", 58, 0, off | int(mf), frag_id)
        out.append(ipv6(src, dst, 44, fh + part))
        off += len(part)
    return out


def echo6_reply(frame, ident):
    """frame (Ethernet) is the first piece of an ICMPv6 echo reply with this identifier,
    fragmented or not."""
    ip = frame[14:]
    if len(ip) < 48:
        return False
    nxt, body = ip[6], ip[40:]
    if nxt == 44 and len(body) >= 16 and body[0] == 58 and \
            struct.unpack("!H", body[2:4])[0] & 0xfff8 == 0:
        body = body[8:]
    elif nxt != 58:
        return False
    return body[0] == 129 and struct.unpack("!H", body[4:6])[0] == ident


def bad_first_fragment(frag_id, src="2001:db8::56"):
    """A first fragment (offset 0, M set) of a UDP datagram whose rest never comes."""
    from ip6frames import ipv6
    fh = struct.pack("!BBHI", 17, 0, 1, frag_id)
    return tapnet.eth(tapnet.GUEST_MAC, "02:00:6e:00:00:56", 0x86dd,
                      ipv6(src, GUEST_IP6, 44, fh + bytes(8) + b"a" * 600))


def _one_address(i):
    return "2001:db8::56"


def _off_link_prefix(i):
    """A new address of one remote /64 per datagram, as a host owning the /64 may send."""
    return "2001:db8:bad:1::%x:%x" % (1 + i // 0xffff, 1 + i % 0xffff)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("attacker", [_one_address, _off_link_prefix],
                         ids=["one-address", "off-link-64-many-addresses"])
def test_ipv6_fragments_one_source_vs_another(qemu, tap6, attacker):
    """An attacker sends first fragments that never complete, 2000 a second, from one
    address, or from a fresh address of one off-link /64 each time; meanwhile the neighbour
    2001:db8::57 sends 3000-byte echo requests as three fragments 100 ms apart. lwIP's IPv6
    reassembly (its own pool: IP_REASS_MAX_PBUFS fragments, MEMP_NUM_REASSDATA datagrams) is
    bounded globally and evicts the oldest datagram, whoever sent it; with the per-source
    share (net/guard/frag_guard.h, as for IPv4; an off-link source is its /64) the other
    source's echoes are answered."""
    import threading
    import rawtcp6
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    assert tap6.http("/", host=GUEST_IP6).status == 200
    base = tap6.stats(host=GUEST_IP6)
    flood = [("frag6", bad_first_fragment(0x10000 + i, attacker(i))) for i in range(20000)]
    sock = packet_socket(tap6)
    stop = threading.Event()

    def attack():                       # 20 never-completing datagrams every 10 ms
        for k in range(0, len(flood), 20):
            if stop.is_set():
                return
            blast(sock, flood[k:k + 20])
            time.sleep(0.01)

    answered = []
    with rawtcp6.Peer6(tap6, ip="2001:db8::57") as good:
        good.announce()
        t = threading.Thread(target=attack, daemon=True)
        t.start()
        try:
            time.sleep(0.5)
            for seq in range(8):
                n0 = len(good.other)
                for f in echo6_fragments(good.ip, GUEST_IP6, 0x7171, seq, 3000, 0x5000 + seq):
                    good.send_frame(tapnet.eth(tapnet.GUEST_MAC, good.mac, 0x86dd, f))
                    time.sleep(0.1)
                t_end = time.monotonic() + 1.5
                while time.monotonic() < t_end and \
                        not any(echo6_reply(f, 0x7171) for _, f in good.other[n0:]):
                    time.sleep(0.05)
                answered.append(any(echo6_reply(f, 0x7171) for _, f in good.other[n0:]))
        finally:
            stop.set()
            t.join(5)
            sock.close()
    answered = sum(answered)
    s = tap6.stats(host=GUEST_IP6)
    limited = s["tcp_guard"]["reass_limited"] - base["tcp_guard"]["reass_limited"]
    print("answered %d of 8; reass_limited +%d" % (answered, limited))
    assert answered >= 6, "%d of 8 fragmented IPv6 echoes answered during the attack" % answered
    assert limited > 0, limited
    alive(vm, tap6, "the IPv6 fragment flood")
    wait_idle(tap6, base, timeout=60, vm=vm)
