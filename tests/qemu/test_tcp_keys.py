"""Keyed TCP initial sequence numbers (RFC 6528) on the booted image, seen from a peer on the
tap: 32 handshakes in a row from one host get ISNs that are all different and unrelated to the
time between them or to the uptime /stats.json publishes; the console names the key's source.
(lwIP's own ISN was `iss += tcp_ticks`: the same ISN, or one a peer could compute, every time.)
"""

import socket
import struct
import time

import pytest

import tapnet
from tapnet import GUEST_IP

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

ETH_P_ALL = 0x0003


def synacks(frames, ports):
    """{client port: (ISN, capture time)} of the guest's SYN|ACKs to the given ports."""
    out = {}
    for t, f in frames:
        if len(f) < 14 + 20 + 20 or f[12:14] != b"\x08\x00":
            continue
        ip = f[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or socket.inet_ntoa(ip[12:16]) != GUEST_IP:
            continue
        sport, dport, seq = struct.unpack("!HHI", ip[ihl:ihl + 8])
        flags = ip[ihl + 13]
        if sport == 80 and dport in ports and flags & 0x12 == 0x12:
            out.setdefault(dport, (seq, t))
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("cpu,source", [
    ("max", r"RDSEED|RDRAND"),                 # TCG's max CPU has RDRAND
    ("qemu64", r"TSC jitter \(no RDSEED/RDRAND: weak\)"),   # neither: the documented fallback
])
def test_isns_keyed_not_a_clock(qemu, tap, cpu, source):
    vm = tap.boot(qemu, extra=["-cpu", cpu])   # the last -cpu wins
    vm.wait_for(r"tcp: ISN and SYN-cookie keys from (%s)$" % source, timeout=5)
    sniff = tap.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sniff.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sniff.bind((tap.tap, 0))
    sniff.settimeout(0.2)
    uptime0 = tap.stats()["uptime_ms"]
    ports = []
    frames = []
    for _ in range(32):
        s = tap.connect()
        ports.append(s.getsockname()[1])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()                                  # RST: no TIME_WAIT left in the guest
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            frames.append((time.monotonic(), sniff.recv(2048)))
        except socket.timeout:
            break
    sniff.close()
    got = synacks(frames, set(ports))
    assert len(got) == 32, "captured %d of 32 SYN|ACKs" % len(got)
    isns = [got[p][0] for p in ports]
    print("uptime at start %d ms; ISNs: %s" % (uptime0, " ".join("%08x" % i for i in isns)))
    assert len(set(isns)) == 32, "repeated ISNs: %s" % isns
    # A clock-driven ISN (any rate up to a few GHz over these few ms) moves by a small step from
    # one handshake to the next; keyed ISNs move by a uniform 32-bit amount. P(a uniform step
    # falls within 2^24 of zero) = 2^-7, so more than 3 of 31 such steps is not chance.
    steps = [(b - a) % (1 << 32) for a, b in zip(isns, isns[1:])]
    small = [d for d in steps if d < (1 << 24) or d > (1 << 32) - (1 << 24)]
    assert len(small) <= 3, "ISN steps that look like a clock: %s" % small
    # and no common step (iss += constant)
    assert len(set(steps)) == len(steps), steps
