"""One test per attack class of issue 9, played by an adversarial peer (rawtcp.py) on a tap in a
private namespace; needs root, skipped with the reason otherwise.

Each test boots its own VM and asserts, after the attack: no PANIC (the qemu fixture fails on
one), a normal client's GET / on a new connection answered within 2 s, lwIP's heap and pools and
the kernel heap back to their idle level (tapnet.wait_idle), and the tcp_guard counter of the
defence that stopped it grown (where there is one)."""

import socket
import struct
import threading
import time

import pytest

import rawtcp
import tapnet
from rawtcp import ACK, FIN, PSH, RST, SYN
from tapnet import (ETH_ARP, ETH_IP, GUEST_IP, GUEST_MAC, HOST_IP, PROTO_ICMP, PROTO_TCP, arp,
                    eth, icmp, ipv4, packet_socket, tcp, wait_idle)

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

SERVE_WITHIN = 2.0


def boot(qemu, net, append=""):
    vm = net.boot(qemu, append=append)
    for _ in range(3):
        net.http("/")
    return vm, net.stats()


def guard(s, name):
    return s["tcp_guard"][name]


def served(net, what):
    t = time.monotonic()
    try:
        r = net.http("/", timeout=10)
        res = r.status
    except OSError as e:
        res = repr(e)
    dt = time.monotonic() - t
    assert res == 200 and dt <= SERVE_WITHIN, (what, "GET / took %.2f s: %s" % (dt, res))


def recovered(net, vm, base, counter=None, timeout=60):
    """The common end of every attack test."""
    assert vm.alive, "QEMU died"
    served(net, "after the attack")
    _, s = wait_idle(net, base, timeout=timeout, vm=vm)
    if counter:
        assert guard(s, counter) > guard(base, counter), (counter, guard(base, counter),
                                                          guard(s, counter))
    served(net, "once idle")
    return s


def get(path, keep=True):
    return ("GET %s HTTP/1.1\r\nHost: g\r\n%s\r\n" %
            (path, "" if keep else "Connection: close\r\n")).encode()


# ------------------------------------------------------------------------ persist ---

@pytest.mark.timeout(120)
def test_persist_window_game(qemu, tap):
    """Partial ACK with window 0, wait for the retransmission timeout, then ACK everything with an
    open window: lwIP 2.1.3 frees the whole unsent queue with the persist timer still running and
    its next tcp_slowtmr asserts (remote PANIC). Played 5 times on fresh connections."""
    vm, base = boot(qemu, tap)
    with rawtcp.Peer(tap, ip="192.0.2.50") as peer:
        peer.announce()
        for round_ in range(5):
            c = peer.connect(80)
            c.send(get("/bytes/4000"))
            c.wait_stream(1000, timeout=5)
            time.sleep(0.3)                         # the whole first flight
            first = c.wait(lambda s: s.payload, timeout=1)
            assert first is not None, "no data from the guest"
            c.ack(ack=first.seq + len(first.payload), window=0)
            n0 = len(c.segments)
            # RTO: the guest resends (or probes) after its retransmission timeout
            again = c.wait(lambda s: s.payload or s.flags & FIN, timeout=8, start=n0)
            assert again is not None, "no retransmission within 8 s"
            c.ack(ack=c.highest_seq_end(), window=65535)
            time.sleep(1.5)                         # two tcp_slowtmr ticks
            assert vm.alive, "QEMU died in round %d" % round_
            c.close()
    recovered(tap, vm, base)


# -------------------------------------------------------------------------- iperf ---

@pytest.mark.timeout(90)
def test_iperf_one_byte_hole(qemu, tap):
    """Port 5001: the 24-byte iperf2 header, then data past a one-byte hole, then the byte. lwIP
    hands the server a chain whose first pbuf is 1 byte long; lwiperf's pbuf_remove_header(p, 24)
    fails its assert (remote PANIC)."""
    vm, base = boot(qemu, tap)
    with rawtcp.Peer(tap, ip="192.0.2.51") as peer:
        peer.announce()
        for hole_at in (0, 1, 23):
            c = peer.connect(5001)
            c.send(b"\0" * 24)                       # settings: flags 0, a plain server test
            at = c.snd_nxt
            c.send(bytes(range(100)), seq=at + 1 + hole_at)
            if hole_at:
                c.send(b"\x01" * hole_at, seq=at + 1)
            c.send(b"\x02", seq=at)                  # fills the hole: one in-order chain
            c.snd_nxt = at + 101 + hole_at
            time.sleep(0.5)
            c.send(b"\x03" * 1000)
            time.sleep(0.3)
            assert vm.alive, "QEMU died (hole after %d bytes)" % hole_at
            c.close()
    recovered(tap, vm, base)
