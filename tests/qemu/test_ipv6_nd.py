"""IPv6 neighbour discovery against hostile or silent neighbours (tap namespace with IPv6, as
test_ipv6.py): a router that never answers its neighbour solicitations, and a crowd of
sources nobody resolves. Raw frames on the tap (tapnet.packet_socket), standard library only.
Needs root and /dev/net/tun; skipped with the reason otherwise."""

import re
import struct
import time

import pytest

import tapnet
from rawtcp6 import ETH_IP6, PROTO_ICMP6, icmp6, ipv6
from tapnet import GUEST_IP6, GUEST_MAC, eth, packet_socket
from test_ipv6 import OFFLINK_SRC, add_host_addr, ping6, send_ra, tap6, wait_addr  # noqa: F401 (tap6: fixture)

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

SILENT_ROUTER = "fe80::dead"          # nobody on the tap owns it: its NS go unanswered
SILENT_MAC = "02:00:00:00:de:ad"


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
