"""Transmit path on a tap peer (issue 10): completions reaped on a quiet link, so lwIP can
retransmit; TCP segmentation offload delivering byte-exact data.

The quiet-link tests use rawpeer.RawPeer: it sends a request and then ACKs nothing, and no other
frame crosses the link. lwIP will not retransmit a segment whose pbuf the driver still holds,
so before the TX completion fix the answer was never resent (a Linux guest resends after
0.21 s; lwIP's first RTO is 3 s, at 500 ms timer granularity)."""

import time

import pytest

import tapnet
from rawpeer import FIN, RawPeer
from tapnet import GUEST_IP, tool
from qemulib import pattern, pattern_sha256

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
        assert again.payload == first.payload
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
