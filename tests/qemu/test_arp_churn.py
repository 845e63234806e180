"""The guest's ARP table under churn: lookups for on-link addresses that never answer ARP
(spoofed SYN sources the guest owes a SYN-ACK or a cookie) must not evict the entry of the
peer it is talking to (lwIP patch 0605). Raw frames on the tap (tapnet.packet_socket).
Needs root and /dev/net/tun; skipped with the reason otherwise."""

import random
import socket
import struct
import threading
import time

import pytest

import tapnet
from tapnet import (ETH_IP, GUEST_IP, GUEST_MAC, HOST_IP, PROTO_TCP, eth, ipv4,
                    packet_socket, tcp)

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
    cap = tap.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    cap.bind((tap.tap, ETH_P_ARP))
    cap.settimeout(0.2)
    frames, stop = [], threading.Event()

    def capture():
        while not stop.is_set():
            try:
                frames.append(cap.recv(2048))
            except socket.timeout:
                pass

    r = random.Random(5)
    flood = []
    for i in range(int(FLOOD_S * FLOOD_PER_S)):
        k = r.randrange(150)
        src = "192.0.2.%d" % (100 + k)
        seg = tcp(src, GUEST_IP, 1024 + r.randrange(64000), 80, seq=r.randrange(1 << 32),
                  flags=SYN, options=b"\x02\x04\x05\xb4")
        flood.append(("syn", eth(GUEST_MAC, "02:00:00:5d:00:%02x" % k, ETH_IP,
                                 ipv4(src, GUEST_IP, PROTO_TCP, seg, ident=i))))
    th = threading.Thread(target=capture, daemon=True)
    th.start()
    sock = packet_socket(tap)
    slow = []
    try:
        t0 = time.monotonic()
        next_get = t0
        for i in range(0, len(flood), 30):
            tapnet.blast(sock, flood[i:i + 30])
            now = time.monotonic()
            if now >= next_get:
                t = time.monotonic()
                try:
                    st = tap.http("/", timeout=8).status
                except OSError as e:
                    st = repr(e)
                dt = time.monotonic() - t
                if st != 200 or dt > 2.0:
                    slow.append((round(t - t0, 1), round(dt, 2), st))
                next_get = time.monotonic() + 0.2
            d = t0 + (i + 30) / FLOOD_PER_S - time.monotonic()
            if d > 0:
                time.sleep(d)
    finally:
        sock.close()
        stop.set()
        th.join(2)
        cap.close()
    reqs = arp_requests(frames)
    flood_reqs = sum(n for ip, n in reqs.items() if ip != HOST_IP)
    print("guest ARP requests: for the host %d, for flood sources %d" % (
        reqs.get(HOST_IP, 0), flood_reqs))
    assert flood_reqs >= 100, "the flood did not make the guest look up its sources (%s)" % reqs
    assert reqs.get(HOST_IP, 0) == 0, "the host's entry was evicted %d times" % reqs[HOST_IP]
    assert not slow, "fetches slower than 2 s during the churn: %s" % slow
    assert vm.alive and not vm.find(r"PANIC|ASSERT")
