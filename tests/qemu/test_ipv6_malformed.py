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
