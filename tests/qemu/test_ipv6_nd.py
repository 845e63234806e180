"""IPv6 neighbour discovery against hostile or silent neighbours (tap namespace with IPv6, as
test_ipv6.py): a router that never answers its neighbour solicitations, and a crowd of
sources nobody resolves. Raw frames on the tap (tapnet.packet_socket), standard library only.
Needs root and /dev/net/tun; skipped with the reason otherwise."""

import ipaddress
import random
import re
import struct
import time

import pytest

import tapnet
from hostile import flood_with_fetches
from rawtcp6 import ETH_IP6, PROTO_ICMP6, icmp6, ipv6, tcp6
from tapnet import GUEST_IP6, GUEST_MAC, HOST_IP6, PROTO_TCP, eth, packet_socket
from test_ipv6 import OFFLINK_SRC, add_host_addr, ping6, send_ra, tap6, wait_addr  # noqa: F401 (tap6: fixture)

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

SILENT_ROUTER = "fe80::dead"          # nobody on the tap owns it: its NS go unanswered
SILENT_MAC = "02:00:00:00:de:ad"
FLOOD_S = 8.0
FLOOD_PER_S = 300


def silent_ra(router_lifetime=1800):
    """RFC 4861 4.2 RA with no options: the guest must resolve the router by NS (7.2.2)."""
    body = struct.pack("!BBHII", 64, 0, router_lifetime, 0, 0)
    return eth("33:33:00:00:00:01", SILENT_MAC, ETH_IP6,
               ipv6(SILENT_ROUTER, "ff02::1", PROTO_ICMP6,
                    icmp6(SILENT_ROUTER, "ff02::1", 134, 0, body), hlim=255))


def echo_from_offlink(seq, size=1000):
    body = struct.pack("!HH", 0x6e64, seq) + b"q" * size
    return eth(GUEST_MAC, "02:00:00:00:0f:0f", ETH_IP6,
               ipv6(OFFLINK_SRC, GUEST_IP6, PROTO_ICMP6, icmp6(OFFLINK_SRC, GUEST_IP6, 128, 0, body)))


@pytest.mark.timeout(90)
def test_unanswered_router_is_dropped(qemu, tap6):
    """An RA from a router that never answers NS, then echo requests from an off-link source:
    the replies queue on the router's unresolved neighbour entry. Once its solicitations run
    out (3 at 1 s) the entry, its queue and the router go (RFC 4861 7.3.3, 6.3.6), so the
    heap is back to idle within seconds, not when the router's 30 min lifetime ends. A real
    router's RA afterwards is taken and used."""
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    p, d = ping6(tap6, GUEST_IP6, count=1)
    time.sleep(1.5)
    base = tap6.stats()
    sock = packet_socket(tap6)
    try:
        sock.send(silent_ra())
        time.sleep(0.3)
        for seq in range(6):
            sock.send(echo_from_offlink(seq))
    finally:
        sock.close()
    time.sleep(0.5)
    held = tap6.stats()["lwip"]["mem_used"] - base["lwip"]["mem_used"]
    print("heap held by the queue: %d bytes" % held)
    assert held >= 1000, "the replies were not queued on the router's entry (%d)" % held
    waited, s = tapnet.wait_idle(tap6, base, timeout=15, vm=vm)
    print("idle after %.1f s: %s" % (waited, s["lwip"]))

    # the table still takes a router that answers, and routes through it
    send_ra(tap6, prefix="2001:db8:1::")
    add_host_addr(tap6, OFFLINK_SRC + "/128")
    p, d = ping6(tap6, GUEST_IP6, count=3, src=OFFLINK_SRC)
    assert d.get("received") == 3, "no reply via the answering router\n" + p.stdout + p.stderr
    assert not vm.find(r"PANIC|ASSERT")
    assert not re.search(r"duplicate", "\n".join(vm.snapshot()))


def guest_ns_targets(frames):
    """{target: count} of the guest's neighbour solicitations among captured frames."""
    out = {}
    for f in frames:
        if len(f) >= 78 and f[6:12] == bytes.fromhex(GUEST_MAC.replace(":", "")) and \
                f[12:14] == b"\x86\xdd" and f[20] == PROTO_ICMP6 and f[54] == 135:
            tgt = str(ipaddress.IPv6Address(f[62:78]))
            out[tgt] = out.get(tgt, 0) + 1
    return out


@pytest.mark.timeout(90)
def test_busy_neighbour_keeps_its_entry(qemu, tap6):
    """8 s of SYNs from random 2001:db8::/64 sources nobody resolves (300/s: the guest owes
    each a SYN-ACK or cookie, so its 10-entry neighbour cache sees a new incomplete entry every
    few ms) while the host fetches / over IPv6 every 0.2 s. The host's entry is in use, so it
    is not recycled for them: the guest never solicits the host again in those 8 s (NUD's
    reachable time is 30 s), and every fetch is served within 2 s."""
    tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    assert tap6.http("/", host=GUEST_IP6).status == 200
    r = random.Random(7)
    flood = []
    for i in range(int(FLOOD_S * FLOOD_PER_S)):
        src = "2001:db8::%x:%x" % (r.randrange(1, 0xffff), r.randrange(1, 0xffff))
        seg = tcp6(src, GUEST_IP6, 1024 + r.randrange(64000), 80, seq=r.randrange(1 << 32),
                   flags=0x02, options=b"\x02\x04\x05\xa0")
        flood.append(("syn6", eth(GUEST_MAC, "02:00:00:6d:%02x:%02x" % (i >> 8 & 0xff, i & 0xff),
                                  ETH_IP6, ipv6(src, GUEST_IP6, PROTO_TCP, seg))))
    frames, slow = flood_with_fetches(tap6, flood, ETH_IP6,
                                      lambda: tap6.http("/", timeout=8, host=GUEST_IP6).status,
                                      FLOOD_PER_S)
    ns = guest_ns_targets(frames)
    host = str(ipaddress.IPv6Address(HOST_IP6))
    others = sum(n for t, n in ns.items() if t != host)
    print("guest NS: for the host %d, for flood sources %d" % (ns.get(host, 0), others))
    assert others >= 100, "the flood did not make the guest solicit its sources (%s)" % ns
    assert ns.get(host, 0) == 0, "the host's entry was recycled %d times" % ns[host]
    assert not slow, "fetches slower than 2 s during the churn: %s" % slow


def redirect(src, target, dest):
    """RFC 4861 4.5 Redirect (no options) from src: 'for dest, use target'."""
    body = b"\0" * 4 + ipaddress.IPv6Address(target).packed + ipaddress.IPv6Address(dest).packed
    return eth(GUEST_MAC, "02:00:00:00:0b:ad", ETH_IP6,
               ipv6(src, GUEST_IP6, PROTO_ICMP6, icmp6(src, GUEST_IP6, 137, 0, body), hlim=255))


@pytest.mark.timeout(60)
def test_spoofed_redirect_ignored(qemu, tap6):
    """Redirects from a link-local address that is not the destination's first-hop router
    (RFC 4861 8.1 MUST) for the on-link host: to a station nobody owns, to a multicast group,
    to the guest itself. The guest keeps answering the host (one accepted redirect sent the
    host's traffic to the bogus next hop until the destination cache entry was recycled)."""
    tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(tap6.vms[-1], GUEST_IP6, "static")
    p, d = ping6(tap6, GUEST_IP6, count=2)
    assert d.get("received") == 2, p.stdout + p.stderr
    sock = packet_socket(tap6)
    try:
        for target in ("fe80::9", "2001:db8::9", "ff02::1", GUEST_IP6):
            sock.send(redirect("fe80::bad", target, HOST_IP6))
    finally:
        sock.close()
    time.sleep(0.3)
    p, d = ping6(tap6, GUEST_IP6, count=3)
    assert d.get("received") == 3, "the guest took a spoofed redirect\n" + p.stdout + p.stderr
    assert tap6.http("/", host=GUEST_IP6).status == 200


def advert(target, flags, opts, dest="ff02::1"):
    """RFC 4861 4.4 NA from the host's address (spoofed: another MAC) with the given options."""
    body = struct.pack("!I", flags) + ipaddress.IPv6Address(target).packed + opts
    src = HOST_IP6
    return eth(GUEST_MAC, "02:00:00:00:0a:ad", ETH_IP6,
               ipv6(src, dest, PROTO_ICMP6, icmp6(src, dest, 136, 0, body), hlim=255))


@pytest.mark.timeout(60)
def test_na_with_bad_options_ignored(qemu, tap6):
    """NAs for the host's address whose first option is not a Target Link-Layer Address:
    a zero-length Source LL option, an MTU option, a Source LL option with a MAC; and an NA
    to ff02::1 with the Solicited flag. None is a valid address update (RFC 4861 7.1.2, 4.6):
    the guest keeps the host's MAC and keeps answering it."""
    tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(tap6.vms[-1], GUEST_IP6, "static")
    p, d = ping6(tap6, GUEST_IP6, count=2)
    assert d.get("received") == 2, p.stdout + p.stderr
    bogus = bytes.fromhex("b41808e73614")
    sock = packet_socket(tap6)
    try:
        for flags, opts, dest in (
                (0xe0000000, b"\x01\x00" + bogus, "ff02::1"),                   # length 0
                (0x20000000, b"\x05\x01\x00\x00" + bogus[:4], "ff02::1"),        # MTU option
                (0x20000000, b"\x01\x01" + bogus, "ff02::1"),                    # wrong type
                (0x60000000, b"\x02\x01" + bogus, "ff02::1"),                    # S to multicast
                (0x20000000, b"\x01\x00" + bogus, GUEST_IP6),
                (0x60000000, b"\x01\x01" + bogus, GUEST_IP6)):
            sock.send(advert(HOST_IP6, flags, opts, dest))
    finally:
        sock.close()
    time.sleep(0.3)
    p, d = ping6(tap6, GUEST_IP6, count=3)
    assert d.get("received") == 3, "an NA with a bad option moved the host\n" + p.stdout + p.stderr
    assert tap6.http("/", host=GUEST_IP6).status == 200
