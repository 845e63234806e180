"""The guest's ARP table under churn: lookups for on-link addresses that never answer ARP
(spoofed SYN sources the guest owes a SYN-ACK or a cookie) must not evict the entry of the
peer it is talking to (lwIP patch 0605). Raw frames on the tap (hostile.flood_with_fetches).
Needs root and /dev/net/tun; skipped with the reason otherwise."""

import random
import socket
import struct

import pytest

import tapnet
from hostile import flood_with_fetches
from tapnet import ETH_IP, GUEST_IP, GUEST_MAC, HOST_IP, PROTO_TCP, eth, ipv4, tcp

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

ETH_ARP = ETH_P_ARP = 0x0806
SYN = 0x02
FLOOD_S = 8.0
FLOOD_PER_S = 300


def arp_requests(frames):
    """{target IP: count} of the guest's ARP requests among captured frames."""
    out = {}
    for f in frames:
        if len(f) >= 42 and f[6:12] == bytes.fromhex(GUEST_MAC.replace(":", "")) and \
                struct.unpack("!H", f[12:14])[0] == ETH_ARP and struct.unpack("!H", f[20:22])[0] == 1:
            tpa = socket.inet_ntoa(f[38:42])
            out[tpa] = out.get(tpa, 0) + 1
    return out


@pytest.mark.timeout(90)
def test_busy_peer_keeps_its_arp_entry(qemu, tap):
    """8 s of SYNs from 150 on-link addresses nobody resolves (300/s: the 16-entry table sees
    a new unresolved lookup every few ms) while the host fetches / every 0.2 s. The host's
    entry is in constant use, so the guest never has to ARP for it again (its ARP_MAXAGE
    re-request is minutes away), and every fetch is served within 2 s."""
    vm = tap.boot(qemu)
    assert tap.http("/").status == 200
    r = random.Random(5)
    flood = []
    for i in range(int(FLOOD_S * FLOOD_PER_S)):
        k = r.randrange(150)
        src = "192.0.2.%d" % (100 + k)
        seg = tcp(src, GUEST_IP, 1024 + r.randrange(64000), 80, seq=r.randrange(1 << 32),
                  flags=SYN, options=b"\x02\x04\x05\xb4")
        flood.append(("syn", eth(GUEST_MAC, "02:00:00:5d:00:%02x" % k, ETH_IP,
                                 ipv4(src, GUEST_IP, PROTO_TCP, seg, ident=i))))
    frames, slow = flood_with_fetches(tap, flood, ETH_P_ARP,
                                      lambda: tap.http("/", timeout=8).status, FLOOD_PER_S)
    reqs = arp_requests(frames)
    flood_reqs = sum(n for ip, n in reqs.items() if ip != HOST_IP)
    print("guest ARP requests: for the host %d, for flood sources %d" % (
        reqs.get(HOST_IP, 0), flood_reqs))
    assert flood_reqs >= 100, "the flood did not make the guest look up its sources (%s)" % reqs
    assert reqs.get(HOST_IP, 0) == 0, "the host's entry was evicted %d times" % reqs[HOST_IP]
    assert not slow, "fetches slower than 2 s during the churn: %s" % slow
    assert vm.alive and not vm.find(r"PANIC|ASSERT")
