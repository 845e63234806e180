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
from hosttools import iperf2_dual_header
from tapnet import GUEST_IP, HOST_IP

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

ETH_P_ALL = 0x0003


def synacks(frames, ports):
    """{client port: (ISN, capture time)} of the guest's SYN|ACKs to the given ports."""
    out = {}
    for t, f in frames:
        h = tapnet.tcp4_header(f)
        if h and h.src == GUEST_IP and h.sport == 80 and h.dport in ports and \
                h.flags & 0x12 == 0x12:
            out.setdefault(h.dport, (h.seq, t))
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


def _rst_ids(frames, peer_ip, dport):
    """IPv4 ids of the guest's RSTs to peer_ip from the closed port dport, by the acked seq."""
    out = {}
    for f in frames:
        h = tapnet.tcp4_header(f)
        if h and h.dst == peer_ip and h.sport == dport and h.flags & 0x04:
            out[h.ack - 1] = h.ident
    return out


@pytest.mark.timeout(120)
def test_ip_ids_per_destination_not_a_global_counter(qemu, tap):
    """Two neighbours knock on a closed port in turns (each SYN draws an RST, a datagram the
    guest numbers itself): A sends a few, B sends n, A a few more. lwIP numbered every IPv4
    datagram from one counter, so A's ids jumped by exactly B's n (RFC 6864 section 5: a peer
    counts our traffic to everyone; idle scans). With keyed per-destination counters
    (net/guard/ip_id.c, patch 0902) what A sees does not count B's datagrams, and B's ids do
    not continue A's."""
    tap.boot(qemu)
    peers = {"A": ("192.0.2.7", "02:00:00:00:07:07"), "B": ("192.0.2.8", "02:00:00:00:08:08")}
    closed = 9
    sock = tap.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind((tap.tap, 0))
    sock.settimeout(0.05)
    frames = []

    def pump(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                frames.append(sock.recv(2048))
            except socket.timeout:
                pass

    for ip, mac in peers.values():           # an ARP request teaches lwIP the sender
        sock.send(tapnet.eth("ff:ff:ff:ff:ff:ff", mac, tapnet.ETH_ARP,
                             tapnet.arp(1, mac, ip, "00:00:00:00:00:00", GUEST_IP)))
    pump(0.2)
    seq = {"A": 0, "B": 0}

    def knock(peer, count):
        ip, mac = peers[peer]
        for _ in range(count):
            syn = tapnet.tcp(ip, GUEST_IP, 40000, closed, seq=seq[peer], flags=0x02)
            sock.send(tapnet.eth(tapnet.GUEST_MAC, mac, tapnet.ETH_IP,
                                 tapnet.ipv4(ip, GUEST_IP, 6, syn)))
            seq[peer] += 1
            pump(0.003)

    rounds = (37, 53, 71)
    for n in rounds:
        knock("A", 3)
        knock("B", n)
    knock("A", 3)
    pump(0.5)
    sock.close()
    ids = {p: _rst_ids(frames, peers[p][0], closed) for p in peers}
    assert len(ids["A"]) == seq["A"] and len(ids["B"]) == seq["B"], \
        "RSTs to A %d of %d, to B %d of %d" % (len(ids["A"]), seq["A"], len(ids["B"]), seq["B"])
    a = [ids["A"][s] for s in range(seq["A"])]
    assert len(set(a)) == len(a), "A's ids repeat: %s" % a
    steps_over_b = [(a[3 * k + 3] - a[3 * k + 2]) % 65536 for k in range(len(rounds))]
    print("A's ids %s; across B's %s datagrams A's id moved by %s" % (a, rounds, steps_over_b))
    # one global counter: each step is B's n + 1 (nothing else is sent meanwhile)
    assert [s - 1 for s in steps_over_b] != list(rounds), steps_over_b
    b_first = [ids["B"][sum(rounds[:k])] for k in range(len(rounds))]
    assert all((bf - a[3 * k + 2]) % 65536 != 1 for k, bf in enumerate(b_first)), (a, b_first)


def _connect_back_ports(frames, dports):
    """{dport: [source ports, in order]} of the guest's SYNs to HOST_IP:dport."""
    out = {d: [] for d in dports}
    for f in frames:
        h = tapnet.tcp4_header(f)
        if h and h.src == GUEST_IP and h.dst == HOST_IP and h.dport in out and \
                h.flags & 0x12 == 0x02 and h.sport not in out[h.dport]:
            out[h.dport].append(h.sport)
    return out


@pytest.mark.timeout(120)
def test_connect_back_ports_per_destination_not_a_global_counter(qemu, tap):
    """iperf 2 -d asks the guest to connect back to the client: the one active open a peer can
    make us do. A asks for connect-backs to port 9, B (here another port of the same host:
    RFC 6056 keys on the whole destination) to port 10, in turns: A 2, B n, A 2 ... lwIP took
    every ephemeral port from one counter, so A's port moved by exactly B's n + 1 (A counts
    our connections to everyone, and knows our next port). With per-destination ports
    (net/guard/tcp_port.c, patch 0903) A's ports step by 1-4 whatever B does (unless the boot's
    key puts A and B on one of the 4096 counters: 1 boot in 4096)."""
    vm = tap.boot(qemu)
    sniff = tap.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sniff.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sniff.bind((tap.tap, 0))
    sniff.settimeout(0.2)
    asked = {9: 0, 10: 0}

    def ask(port, count):
        for _ in range(count):
            mark = len(vm.snapshot())
            s = tap.connect(5001)
            try:
                s.sendall(iperf2_dual_header(port))
                s.shutdown(socket.SHUT_WR)
                s.settimeout(10)
                s.recv(100)
            finally:
                s.close()
            asked[port] += 1
            vm.wait_for(r"iperf2: %s:%d connection refused" % (HOST_IP, port), 5, mark)

    rounds = (7, 11, 13)
    for n in rounds:
        ask(9, 2)
        ask(10, n)
    ask(9, 2)
    frames = []
    while True:
        try:
            frames.append(sniff.recv(2048))
        except socket.timeout:
            break
    sniff.close()
    ports = _connect_back_ports(frames, asked)
    a, b = ports[9], ports[10]
    assert len(a) == asked[9] and len(b) == asked[10], (asked, ports)
    print("A's connect-back ports %s; B's %s" % (a, b))
    assert all(p >= 49152 for p in a + b), (a, b)
    steps_over_b = [(a[2 * k + 2] - a[2 * k + 1]) % 16384 for k in range(len(rounds))]
    # one global counter: each step is B's n + 1 (no other active open meanwhile)
    assert [s - 1 for s in steps_over_b] != list(rounds), steps_over_b
    assert all(1 <= s <= 4 for s in steps_over_b), "A's ports moved by %s over B's %s" % (
        steps_over_b, rounds)
