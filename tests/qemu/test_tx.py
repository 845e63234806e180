"""Transmit path on a tap peer (issue 10): completions reaped on a quiet link, so lwIP can
retransmit; TCP segmentation offload delivering byte-exact data.

The quiet-link tests use rawpeer.RawPeer: it sends a request and then ACKs nothing, and no other
frame crosses the link. lwIP will not retransmit a segment whose pbuf the driver still holds,
so before the TX completion fix the answer was never resent (a Linux guest resends after
0.21 s; lwIP's first RTO is 3 s, at 500 ms timer granularity)."""

import hashlib
import time

import pytest

import tapnet
from rawpeer import FIN, RawPeer
from tapnet import GUEST_IP, tool
from qemulib import pattern_sha256

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

RTO_BOUND_S = 6.5    # lwIP's initial RTO (3 s, 500 ms ticks), stretched up to 1.7x on a loaded TCG host


@pytest.fixture
def net():
    n = tapnet.TapNet("tx").create()
    yield n
    n.destroy()


def first_resend(segs):
    """(first transmission, its first retransmission) of the first data segment, or None."""
    data = [s for s in segs if s.payload or s.flags & FIN]
    if not data:
        return None
    for s in data[1:]:
        if s.seq == data[0].seq:
            return data[0], s
    return None


def quiet_peer_sees_resend(net, request, mode=""):
    peer = RawPeer(net).open()
    try:
        peer.connect(80)
        peer.send(request)
        segs = peer.collect(RTO_BOUND_S + 3.0, until=lambda ss: first_resend(ss) is not None)
        pair = first_resend(segs)
        assert pair, "%s: the answer was never retransmitted to a peer that ACKs nothing " \
                     "(saw %r)" % (mode, segs[:6])
        first, again = pair
        # With TSO the first flight may be one super-segment; the resend is one MSS of it.
        assert again.payload == first.payload[:len(again.payload)]
        assert again.t - first.t < RTO_BOUND_S, (first, again)
        return again.t - first.t
    finally:
        peer.reset()
        peer.close()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("append", ["", "net.mode=irq"])
def test_lost_answer_resent_within_rto_on_quiet_link(net, qemu, append):
    """One small answer (one segment, then the FIN); nothing else on the link."""
    net.boot(qemu, append=append)
    dt = quiet_peer_sees_resend(net, b"GET /bytes/700 HTTP/1.1\r\nHost: g\r\n\r\n", append)
    print("resent after %.2f s (%s)" % (dt, append or "napi"))


@pytest.mark.timeout(90)
def test_lost_window_resent_within_rto_on_quiet_link(net, qemu):
    """A larger answer: the first window goes out, none of it is ACKed."""
    net.boot(qemu)
    quiet_peer_sees_resend(net, b"GET /bytes/200000 HTTP/1.1\r\nHost: g\r\n\r\n")


# ------------------------------------------------- segmentation offload ---

SIZES = [0, 1, 1459, 1460, 1461, 2919, 2920, 2921, 4380, 4381, 64239, 64240, 64241, 65535,
         65536, 65537, 128479, 128480, 128481, 131072, (1 << 20) + 7, 8 << 20]


def tso_stats(net):
    n = net.stats()["net"]
    return n["tx_tso_frames"], n["tx_tso_segments"], n["tx_tso_bytes"]


@pytest.mark.timeout(150)
def test_bytes_exact_around_mss_and_64k_with_tso(net, qemu):
    """The host receives every /bytes/N byte-exact for sizes around the MSS and the 64 KiB
    super-segment limits, with HOST_TSO4 negotiated and super-segments actually sent."""
    curl = tool("curl")
    if not curl:
        pytest.skip("curl not installed")
    vm = net.boot(qemu)
    assert any("HOST_TSO4" in l for l in vm.lines if "features accepted" in l)
    f0, s0, b0 = tso_stats(net)
    bad = []
    for n in SIZES:
        p = net.run(["sh", "-c", "%s -sS --max-time 60 http://%s/bytes/%d | sha256sum"
                     % (curl, GUEST_IP, n)], timeout=90)
        if p.stdout.split()[:1] != [pattern_sha256(n)]:
            bad.append((n, p.stdout.strip(), p.stderr.strip()[-200:]))
    assert not bad, bad
    f1, s1, b1 = tso_stats(net)
    assert f1 > f0 and s1 - s0 >= 2 * (f1 - f0), (f0, s0, f1, s1)
    assert b1 - b0 > (8 << 20) // 2, (b0, b1)      # most of the bulk went as super-segments


def fetch_exact(net, curl, sizes):
    """GET /bytes/N for each size through the host's TCP: every byte as the pattern says."""
    for n in sizes:
        p = net.run(["sh", "-c", "%s -sS --max-time 60 http://%s/bytes/%d | sha256sum"
                     % (curl, GUEST_IP, n)], timeout=90)
        assert p.stdout.split()[:1] == [pattern_sha256(n)], (n, p.stdout, p.stderr[-200:])


@pytest.mark.timeout(150)
def test_bytes_exact_without_tso(net, qemu):
    """The same sizes with the device refusing segmentation (host_tso4=off): no super-segment."""
    curl = tool("curl")
    if not curl:
        pytest.skip("curl not installed")
    vm = net.boot(qemu, nic_opts="host_tso4=off")
    assert not any("HOST_TSO4" in l for l in vm.lines if "features accepted" in l)
    fetch_exact(net, curl, SIZES[::3] + [65537, 8 << 20])
    assert tso_stats(net)[0] == 0


@pytest.mark.timeout(150)
def test_bytes_exact_without_checksum_offload(net, qemu):
    """No CSUM (so no TSO either): lwIP sums every segment itself at output (no checksum on
    copy), and the host's TCP, which checks each checksum, gets every byte."""
    curl = tool("curl")
    if not curl:
        pytest.skip("curl not installed")
    vm = net.boot(qemu, nic_opts="csum=off")
    feats = [l for l in vm.lines if "features accepted" in l]
    assert feats and not any(" CSUM" in l for l in feats), feats
    fetch_exact(net, curl, SIZES[::3] + [65537, 8 << 20])
    assert tso_stats(net)[0] == 0


@pytest.mark.timeout(120)
def test_partly_acked_super_segment_resent_from_first_unacked_byte(net, qemu):
    """The peer ACKs every flight until the guest sends a super-segment of several MSS, then
    ACKs only its first two segments and nothing more: the retransmission starts exactly at
    the first unacknowledged byte, and nothing before it is sent again."""
    net.boot(qemu)
    peer = RawPeer(net).open()
    try:
        peer.connect(80)
        peer.send(b"GET /bytes/4000000 HTTP/1.1\r\nHost: g\r\n\r\n")
        big = None
        high = None
        deadline = time.monotonic() + 30
        while big is None and time.monotonic() < deadline:
            segs = peer.collect(0.3)
            for s in segs:
                if s.payload and (high is None or (s.end - high) % (1 << 32) < (1 << 31)):
                    high = s.end
                if len(s.payload) >= 4 * 1460:
                    big = s
                    break
            if big is None and high is not None:
                peer.ack(high)
        assert big, "no super-segment of 4 MSS or more seen"
        # ACK its first two segments only (gso_size = the MSS, 1460).
        ack_to = (big.seq + 2 * 1460) & 0xffffffff
        peer.ack(ack_to)
        t_ack = time.monotonic()
        segs = peer.collect(RTO_BOUND_S + 3.0,
                            until=lambda ss: any(x.seq == ack_to and x.payload for x in ss))
        before = [x for x in segs if x.payload and
                  (ack_to - x.seq) % (1 << 32) < (1 << 31) and x.seq != ack_to]
        resent = [x for x in segs if x.seq == ack_to and x.payload]
        assert resent, "nothing resent from the first unacked byte (saw %r)" % segs[:8]
        assert resent[0].t - t_ack < RTO_BOUND_S, resent[0]
        assert not before, "acknowledged bytes sent again: %r" % before[:4]
        again = resent[0].payload
        assert again == big.payload[2 * 1460:2 * 1460 + len(again)], "resent bytes differ"
        print("super-segment of %d bytes; resent %d bytes from +2920 after %.2f s"
              % (len(big.payload), len(again), resent[0].t - t_ack))
    finally:
        peer.reset()
        peer.close()


@pytest.mark.timeout(120)
def test_small_window_keeps_two_segments_in_flight(net, qemu):
    """A peer offering 4 MSS of window (no scaling) and ACKing each flight whole: lwIP cuts its
    super-segments to half the window, so every full flight is two segments or more (never one
    super-segment waiting for the whole window), none over half the window, and the answer is
    the pattern, byte-exact."""
    n = 100000
    wnd = 4 * 1460
    net.boot(qemu)
    peer = RawPeer(net, win=wnd).open()
    try:
        peer.connect(80)
        peer.send(b"GET /bytes/%d HTTP/1.1\r\nHost: g\r\n\r\n" % n)
        data = bytearray()
        flights = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = []

            def full(ss):
                return sum(len(x.payload) for x in ss) >= wnd

            for s in peer.collect(1.0, until=full):
                if s.payload and s.seq == peer.rcv_nxt:
                    data += s.payload
                    got.append(len(s.payload))
                    peer.rcv_nxt = (peer.rcv_nxt + len(s.payload)) & 0xffffffff
            if got:
                flights.append(got)
            peer.ack()
            head, sep, body = bytes(data).partition(b"\r\n\r\n")
            if sep and len(body) >= n:
                break
        assert sep and len(body) == n, (len(data), flights[-3:])
        assert hashlib.sha256(body).hexdigest() == pattern_sha256(n)
        full_flights = [f for f in flights if sum(f) == wnd]
        assert len(full_flights) >= 5, flights
        assert all(len(f) >= 2 for f in full_flights), flights
        assert max(max(f) for f in flights) <= wnd // 2, flights
        print("%d flights, e.g. %r" % (len(flights), flights[:4]))
    finally:
        peer.reset()
        peer.close()
