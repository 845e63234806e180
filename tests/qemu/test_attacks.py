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
