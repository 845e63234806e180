"""The guest's iperf servers against Debian's real clients over a tap (harness/netns.py): iperf 2.1
(`iperf`) on 5001 in every direction it offers (plain, -R, --full-duplex, -r, -d, -P) and iperf3
(3.12) on 5201 (plain, -R, --bidir, -P, -t, -n, busy). Each test checks what the client measured
against the guest's console report and its /stats.json byte counters, and that the stack is
back at its idle level after it. Also a raw peer that splits the iperf2 header across segments
(the 1-byte-first-pbuf chain of issue 9) and sends garbage to both ports.

Needs root and /dev/net/tun (skipped otherwise), and the iperf and iperf3 packages."""

import json
import re
import socket
import struct
import time

import pytest

import tapnet
from hosttools import REVERSE_1S, iperf2_dual_header, need, run_iperf2, run_iperf3
from tapnet import GUEST_IP, HOST_IP, check_counters

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

# frame bytes per TCP payload byte are > 1 (headers) and, at MSS 1460, < 1.06
OVERHEAD = 1.06
ACKS = 66 / 1448
SLACK = 2 << 20     # control traffic, ACKs, HTTP for /stats.json


def console_reports(vm, start, kind):
    """[(peer_port, bytes)] of the guest's iperf2 '<kind> N bytes' lines since line `start`."""
    rx = r"iperf2: %s:(\d+) %s (\d+) bytes in \d+ ms" % (re.escape(HOST_IP), re.escape(kind))
    return [(int(m.group(1)), int(m.group(2))) for m in vm.find_all(rx, start)]


def deltas(s0, s1):
    return (s1["net"]["rx_bytes"] - s0["net"]["rx_bytes"],
            s1["net"]["tx_bytes"] - s0["net"]["tx_bytes"])


def check_frames(s0, s1, to_guest, from_guest):
    """The guest's own frame counters carry at least the payload the clients counted, and not
    wildly more."""
    rx, tx = deltas(s0, s1)
    assert rx >= to_guest, ("guest received fewer frame bytes than the client sent", rx, to_guest)
    assert tx >= from_guest, ("guest sent fewer frame bytes than the client received", tx,
                              from_guest)
    # plus the ACKs for the other direction: one 66-byte frame per segment at most
    assert rx <= to_guest * OVERHEAD + from_guest * ACKS + SLACK, (
        "guest received far more than was sent to it", rx, to_guest, from_guest)
    assert tx <= from_guest * OVERHEAD + to_guest * ACKS + SLACK, (
        "guest sent far more than the client got", tx, from_guest, to_guest)


def settle(tap, vm, s0, time_wait=0):
    """The stack returns to its idle level (pools, heap, pcbs) after a test; `time_wait`
    connections the guest closed first may sit in TIME_WAIT (30 s) meanwhile."""
    slack = dict(tapnet.DEFAULT_SLACK)
    slack["lwip.tcp_pcbs"] = time_wait
    _, s1 = tapnet.wait_idle(tap, s0, vm=vm, timeout=20, slack=slack)
    assert not check_counters(s0, s1), check_counters(s0, s1)


@pytest.fixture
def guest(qemu, tap):
    vm = tap.boot(qemu)
    vm.wait_for(r"iperf3: listening on port 5201", 10)
    return vm


# ------------------------------------------------------------------ iperf 2 ---

def test_iperf2_host_to_guest(guest, tap):
    """plain `iperf -c`: the guest receives; its count matches the client's to the byte."""
    s0, start = tap.stats(), len(guest.snapshot())
    rows, _ = run_iperf2(tap, ["-t", "2"])
    assert len(rows) == 1 and rows[0][3] > (1 << 20), rows
    sent = rows[0][3]
    got = guest.wait_for(r"iperf2: .* received (\d+) bytes", 10, start)
    assert int(got.group(1)) == sent, (got.group(0), sent)
    s1 = tap.stats()
    check_frames(s0, s1, sent, 0)
    settle(tap, guest, s0)


@pytest.mark.timeout(90)
def test_iperf2_reverse(guest, tap):
    """`iperf -c -R` (iperf 2.1's reverse): the guest sends on the client's connection for the
    client's -t; the client receives every byte the guest says it sent."""
    s0, start = tap.stats(), len(guest.snapshot())
    t0 = time.monotonic()
    rows, _ = run_iperf2(tap, ["-t", "2", "-R"])
    took = time.monotonic() - t0
    assert len(rows) == 1 and rows[0][3] > (1 << 20), rows
    got = rows[0][3]
    sent = guest.wait_for(r"iperf2: .* sent (\d+) bytes in (\d+) ms", 10, start)
    assert int(sent.group(1)) == got, (sent.group(0), got)
    # the guest kept to the client's -t (2 s, in 10 ms units in the header), not some default;
    # measured on the host: the guest's TSC calibration can be off by tens of percent under
    # load (issue 11), the client's receiving end stops 2 s after its -t at the latest
    assert 1.5 <= rows[0][4] <= 4.0 and took < 10, (rows, took)
    s1 = tap.stats()
    check_frames(s0, s1, 0, got)
    settle(tap, guest, s0, time_wait=1)


@pytest.mark.timeout(90)
def test_iperf2_full_duplex(guest, tap):
    """`iperf -c --full-duplex`: both directions on one connection at once."""
    s0, start = tap.stats(), len(guest.snapshot())
    rows, p = run_iperf2(tap, ["-t", "2", "--full-duplex"])
    out = {r[1] != 5001 and "sent" or "got": r[3] for r in rows}
    print(out)
    assert out.get("sent", 0) > (1 << 20) and out.get("got", 0) > (1 << 20), (rows, p.stdout)
    rcv = guest.wait_for(r"iperf2: .* received (\d+) bytes", 10, start)
    snt = guest.wait_for(r"iperf2: .* sent (\d+) bytes", 10, start)
    assert int(rcv.group(1)) == out["sent"], (rcv.group(0), out)
    assert int(snt.group(1)) == out["got"], (snt.group(0), out)
    check_frames(s0, tap.stats(), out["sent"], out["got"])
    settle(tap, guest, s0, time_wait=1)


@pytest.mark.parametrize("mode", ["-r", "-d"])
@pytest.mark.timeout(120)
def test_iperf2_connect_back(guest, tap, mode):
    """iperf 2's legacy -r (tradeoff: the guest connects back to the client's port 5001 once the
    client is done) and -d (dual: at once, both directions together): the guest opens a
    connection of its own and sends for the client's -t."""
    s0, start = tap.stats(), len(guest.snapshot())
    rows, p = run_iperf2(tap, ["-t", "2", mode], timeout=90)
    fwd = [r for r in rows if r[0] == HOST_IP]     # the client's connection to 5001
    back = [r for r in rows if r[0] == GUEST_IP]   # the guest's to the client's listener
    assert len(fwd) == 1 and len(back) == 1, (rows, p.stdout)
    assert fwd[0][3] > (1 << 20) and back[0][3] > (1 << 20), rows
    rcv = guest.wait_for(r"iperf2: .* received (\d+) bytes", 10, start)
    snt = guest.wait_for(r"iperf2: %s:5001 connect-back sent (\d+) bytes" % re.escape(HOST_IP),
                         10, start)
    assert int(rcv.group(1)) == fwd[0][3], (rcv.group(0), rows)
    assert int(snt.group(1)) == back[0][3], (snt.group(0), rows)
    check_frames(s0, tap.stats(), fwd[0][3], back[0][3])
    settle(tap, guest, s0, time_wait=1)


@pytest.mark.timeout(90)
def test_iperf2_parallel_reverse(guest, tap):
    """`iperf -c -P 4 -R`: four connections, each its own test, each byte accounted for."""
    s0, start = tap.stats(), len(guest.snapshot())
    rows, p = run_iperf2(tap, ["-t", "2", "-P", "4", "-R"])
    assert len(rows) == 4, (rows, p.stdout)
    reports = {}
    deadline = time.monotonic() + 10
    while len(reports) < 4 and time.monotonic() < deadline:
        reports = dict(console_reports(guest, start, "sent"))
        time.sleep(0.2)
    got = {r[2]: r[3] for r in rows}               # client's port -> bytes
    assert reports == got, (reports, got)
    check_frames(s0, tap.stats(), 0, sum(got.values()))
    settle(tap, guest, s0, time_wait=4)


@pytest.mark.timeout(90)
def test_iperf2_bytes_mode(guest, tap):
    """`iperf -c -n 3M -R`: the guest sends exactly the amount asked for, not for a time."""
    start = len(guest.snapshot())
    rows, p = run_iperf2(tap, ["-n", "3M", "-R"])
    assert len(rows) == 1 and rows[0][3] == 3 << 20, (rows, p.stdout)
    sent = guest.wait_for(r"iperf2: .* sent (\d+) bytes", 10, start)
    assert int(sent.group(1)) == 3 << 20, sent.group(0)


# ------------------------------------------------------------------ iperf3 ---

def iperf3_report(vm, start):
    m = vm.wait_for(r"iperf3: %s:\d+ done: (\d+) streams, received (\d+) bytes, sent (\d+) "
                    r"bytes in (\d+) ms" % re.escape(HOST_IP), 15, start)
    return tuple(int(x) for x in m.groups())


@pytest.mark.parametrize("args", [[], ["-R"], ["-P", "3"], ["-R", "-P", "4"], ["--bidir"]],
                         ids=["plain", "R", "P3", "R-P4", "bidir"])
@pytest.mark.timeout(90)
def test_iperf3(guest, tap, args):
    """iperf3 -c [-R] [-P N] [--bidir] -t 2: the test runs its time, and the bytes each side
    counted agree: the client's sender and receiver sums, the guest's console report and the
    guest's frame counters."""
    s0, start = tap.stats(), len(guest.snapshot())
    t0 = time.monotonic()
    j = run_iperf3(tap, ["-t", "2"] + args)
    took = time.monotonic() - t0
    assert "error" not in j, j.get("error")
    end = j["end"]
    n = int(args[args.index("-P") + 1]) if "-P" in args else 1
    nstreams, rx, tx, ms = iperf3_report(guest, start)
    assert nstreams == n * (2 if "--bidir" in args else 1), nstreams
    # the client ends the test after its -t; the guest's own figure (ms) rides on its TSC
    # calibration, which can be off by tens of percent under load (issue 11): not asserted
    assert 2.0 <= took < 10 and ms > 0, (took, ms)
    # iperf3's receiver figures are the ones the server reported (its own for the direction it
    # received); the sender counts what it wrote, some of which was still in flight at TEST_END
    inflight = 16 << 20
    if "--bidir" in args:
        up = end["sum_received"]["bytes"]
        down = end["sum_received_bidir_reverse"]["bytes"]
        assert rx == up <= end["sum_sent"]["bytes"] <= up + inflight, (rx, end["sum_sent"])
        assert tx == end["sum_sent_bidir_reverse"]["bytes"], (tx, end["sum_sent_bidir_reverse"])
    elif "-R" in args:
        up, down = 0, end["sum_received"]["bytes"]
        assert rx == 0 and tx == end["sum_sent"]["bytes"], (rx, tx, end["sum_sent"])
    else:
        up, down = end["sum_received"]["bytes"], 0
        assert tx == 0 and rx == up <= end["sum_sent"]["bytes"] <= up + inflight, (
            rx, tx, end["sum_sent"])
    per = sorted(s["receiver"]["bytes"] for s in end["streams"])
    assert len(per) == nstreams and all(b > 0 for b in per), per
    assert up + down > (1 << 20), (up, down)
    # the guest sends what it queued before TEST_END, the client may stop counting a little
    # earlier: the client's receiver can only be short of the guest's sender
    assert down <= tx and (tx - down) <= max(tx // 10, 1 << 20), (down, tx)
    check_frames(s0, tap.stats(), up, down)
    settle(tap, guest, s0, time_wait=n * 2 + 1)


@pytest.mark.timeout(90)
def test_iperf3_busy(guest, tap):
    """A second iperf3 client while a test runs is told the server is busy (ACCESS_DENIED), the
    running test is not disturbed, and the server takes the next test afterwards."""
    iperf3 = need("iperf3")
    start = len(guest.snapshot())
    first = tap.popen([iperf3, "-c", GUEST_IP, "-t", "3", "-J"])
    try:
        guest.wait_for(r"iperf3: .* test: 1 stream", 10, start)
        time.sleep(0.5)
        p = tap.run([iperf3, "-c", GUEST_IP, "-t", "1"], timeout=30)
        assert p.returncode != 0 and "busy" in (p.stdout + p.stderr), p.stdout + p.stderr
        out, err = first.communicate(timeout=30)
        assert tap.stats()["tcp_guard"]["iperf_refused"] >= 1
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out[-2000:] + err
    j = json.loads(out)
    assert "error" not in j and j["end"]["sum_received"]["bytes"] > (1 << 20), j.get("error")
    j = run_iperf3(tap, ["-t", "1", "-R"])
    assert "error" not in j and j["end"]["sum_received"]["bytes"] > (1 << 20), j.get("error")


@pytest.mark.timeout(60)
def test_iperf3_bytes_mode(guest, tap):
    """iperf3 -c -R -n 5M: the guest stops sending at the byte count the client asked for."""
    start = len(guest.snapshot())
    j = run_iperf3(tap, ["-R", "-n", "5M"])
    assert "error" not in j, j.get("error")
    _, rx, tx, _ = iperf3_report(guest, start)
    assert tx == 5 << 20 and j["end"]["sum_received"]["bytes"] == 5 << 20, (tx, j["end"])


# -------------------------------------------------- hostile and split input ---

PEER_IP, PEER_MAC = "192.0.2.9", "02:00:00:00:00:09"
ETH_P_ALL = 3


class RawPeer:
    """A userspace TCP end over a packet socket on the tap, with its own address (it answers
    the guest's ARP itself, so the host kernel never sees the connection): it sends any
    segment with any sequence number, e.g. data out of order."""

    def __init__(self, tap, dport, sport):
        self.tap, self.dport, self.sport = tap, dport, sport
        self.sock = tap.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((tap.tap, ETH_P_ALL))
        self.sock.settimeout(0.2)
        self.iss = 1000
        self.rcv = None           # next byte expected from the guest
        self.acked = None         # highest ack the guest sent
        self.data = b""
        self.end = 0              # stream offset after the last byte sent

    def close(self):
        self.sock.close()

    def send(self, flags, seq, payload=b"", options=b""):
        seg = tapnet.tcp(PEER_IP, GUEST_IP, self.sport, self.dport, seq=seq,
                         ack=self.rcv or 0, flags=flags, options=options, payload=payload)
        self.sock.send(tapnet.eth(tapnet.GUEST_MAC, PEER_MAC, tapnet.ETH_IP,
                                  tapnet.ipv4(PEER_IP, GUEST_IP, tapnet.PROTO_TCP, seg)))

    def poll(self, until, timeout=5.0):
        """Handle frames (ARP, the guest's segments) until until() or the timeout."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("raw peer: timed out (acked %s, got %r)" % (
                    self.acked, self.data[:64]))
            try:
                f = self.sock.recv(65536)
            except socket.timeout:
                continue
            et = struct.unpack("!H", f[12:14])[0]
            if et == tapnet.ETH_ARP and f[38:42] == socket.inet_aton(PEER_IP):
                body = tapnet.arp(2, PEER_MAC, PEER_IP, tapnet.GUEST_MAC, GUEST_IP)
                self.sock.send(tapnet.eth(tapnet.GUEST_MAC, PEER_MAC, tapnet.ETH_ARP, body))
                continue
            if et != tapnet.ETH_IP or f[23] != tapnet.PROTO_TCP or \
                    f[30:34] != socket.inet_aton(PEER_IP):
                continue
            ihl = (f[14] & 15) * 4
            t = f[14 + ihl:]
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", t[:14])
            if dport != self.sport:
                continue
            payload = t[(off >> 4) * 4:14 + struct.unpack("!H", f[16:18])[0] - ihl]
            if flags & 0x04:
                raise AssertionError("raw peer: reset by the guest")
            if flags & 0x02 and flags & 0x10:        # SYN-ACK
                self.rcv = (seq + 1) & 0xffffffff
            elif payload and seq == self.rcv:
                self.data += payload
                self.rcv = (self.rcv + len(payload)) & 0xffffffff
                self.send(0x10, self.snd)
            if flags & 0x10:
                self.acked = ack

    def connect(self):
        self.send(0x02, self.iss, options=bytes([2, 4, 0x05, 0xb4]))
        self.poll(lambda: self.rcv is not None)
        self.snd = self.iss + 1
        self.send(0x10, self.snd)

    def at(self, off, payload):
        """Send payload at stream offset off (0: the first byte after the SYN)."""
        self.send(0x18, self.snd + off, payload)
        self.end = max(self.end, off + len(payload))

    def wait_acked(self, n, timeout=5.0):
        self.poll(lambda: self.acked is not None and
                  ((self.acked - self.snd) & 0xffffffff) >= n, timeout)

    def reset(self):
        self.send(0x04, self.snd + self.end)    # in window: lwIP ignores any other RST


@pytest.mark.parametrize("hole", [24, 0, 3, 58])
@pytest.mark.timeout(60)
def test_iperf2_header_out_of_order(guest, tap, hole):
    """Issue 9's remote PANIC: the header's first bytes, then the rest out of order leaving a
    one-byte hole, then that byte: lwIP hands the server a chain whose first pbuf is 1 byte
    long. The header is still read right (a -R test of 1 s starts and the guest sends), and
    nothing asserts."""
    start = len(guest.snapshot())
    peer = RawPeer(tap, 5001, 40000 + hole)
    try:
        peer.connect()
        hdr = REVERSE_1S
        if hole:
            peer.at(0, hdr[:hole])
            peer.wait_acked(hole)
        peer.at(hole + 1, hdr[hole + 1:])
        time.sleep(0.1)
        peer.at(hole, hdr[hole:hole + 1])
        peer.wait_acked(len(hdr))
        guest.wait_for(r"iperf2: %s:%d reverse \(-R\) test, time 1000 ms" % (
            re.escape(PEER_IP), 40000 + hole), 5, start)
        peer.poll(lambda: len(peer.data) > 100000, timeout=10)
        peer.reset()
    finally:
        peer.close()
    assert tap.http("/").status == 200


@pytest.mark.timeout(60)
def test_iperf3_control_out_of_order(guest, tap):
    """iperf3's cookie and parameter message with holes filled last still get the server's
    PARAM_EXCHANGE and CREATE_STREAMS; a reset control connection frees the server for the
    next (real) client."""
    start = len(guest.snapshot())
    peer = RawPeer(tap, 5201, 41000)
    try:
        peer.connect()
        cookie = b"abcdefghijklmnopqrstuvwxyz0123456789\0"
        peer.at(1, cookie[1:])
        time.sleep(0.1)
        peer.at(0, cookie[:1])
        peer.poll(lambda: peer.data == bytes([9]))
        params = b'{"tcp":true,"omit":0,"time":1,"parallel":2,"reverse":true,"len":131072}'
        msg = struct.pack("!I", len(params)) + params
        off = len(cookie)
        peer.at(off + 2, msg[2:])
        time.sleep(0.1)
        peer.at(off, msg[:2])
        peer.poll(lambda: peer.data == bytes([9, 10]))
        guest.wait_for(r"iperf3: %s:41000 test: 2 stream\(s\) reverse" % re.escape(PEER_IP), 5,
                       start)
        peer.reset()
    finally:
        peer.close()
    guest.wait_for(r"iperf3: %s:41000 control connection reset" % re.escape(PEER_IP), 5, start)
    j = run_iperf3(tap, ["-t", "1"])
    assert "error" not in j, j.get("error")


def raw_exchange(tap, port, data, timeout=15.0, sock=None):
    """Connect (or use sock), write data, read until the guest closes or resets; returns
    (bytes, how)."""
    s = sock or tap.connect(port, timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                return got, "closed"
            got += b
    except ConnectionResetError:
        return got, "reset"
    finally:
        s.close()


@pytest.mark.timeout(120)
def test_hostile_input(guest, tap):
    """Headers the servers refuse, garbage and stalls on both ports: each connection ends
    (refused, reset, or closed by a timeout), nothing asserts, and real clients are served
    afterwards. /stats.json's tcp_guard.iperf_refused counts each refusal once."""
    start = len(guest.snapshot())
    refused0 = tap.stats()["tcp_guard"]["iperf_refused"]
    key = bytearray(REVERSE_1S)
    key[0] |= 0x10                                  # HEADER_KEYCHECK: no key configured
    got, how = raw_exchange(tap, 5001, bytes(key) + b"\0\4abcd")
    assert how == "reset" and not got, (got, how)
    got, how = raw_exchange(tap, 5001, bytes.fromhex("00800000") + b"\0" * 60)   # bounce-back
    assert how == "reset" and not got, (got, how)
    guest.wait_for(r"iperf2: .* refused: permit key", 5, start)
    guest.wait_for(r"iperf2: .* refused: bounce-back", 5, start)
    # -d asking the guest to connect back to a port where nothing listens: refused, freed
    s = tap.connect(5001)
    s.sendall(iperf2_dual_header(9))
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    assert s.recv(100)[:4] == bytes.fromhex("00000002")      # client_hdr_ack, then our FIN
    s.close()
    guest.wait_for(r"iperf2: connecting back to %s:9$" % re.escape(HOST_IP), 5, start)
    guest.wait_for(r"iperf2: %s:9 connection refused" % re.escape(HOST_IP), 5, start)
    # iperf3: a length prefix beyond what it takes, JSON that is not, UDP, too many streams
    for msg, end in ((b"\xff\xff\xff\xff" + b"{" * 100, "reset"),
                     (struct.pack("!I", 5) + b"{tcp}", "closed")):
        s = tap.connect(5201)
        try:
            s.sendall(b"x" * 36 + b"\0")
            assert s.recv(1) == bytes([9])          # PARAM_EXCHANGE
            got, how = raw_exchange(tap, 5201, msg, sock=s)
        finally:
            s.close()
        assert how == end, (msg, got, how)
        if end == "closed":     # SERVER_ERROR, IEUNIMP, errno 0
            assert got == bytes([0xfe]) + struct.pack("!ii", 13, 0), got
    p = tap.run([need("iperf3"), "-c", GUEST_IP, "-u", "-t", "1"], timeout=30)
    assert p.returncode != 0 and "not implemented" in p.stdout + p.stderr, p.stdout + p.stderr
    p = tap.run([need("iperf3"), "-c", GUEST_IP, "-P", "17", "-t", "1"], timeout=30)
    assert p.returncode != 0 and "not implemented" in p.stdout + p.stderr, p.stdout + p.stderr
    # a control connection that never finishes its cookie holds the server 10 s at most, by
    # the guest's clock (which runs off the host's by tens of percent on a loaded machine)
    u0 = tap.stats()["uptime_ms"]
    s = tap.connect(5201)
    try:
        s.sendall(b"abc")
        s.settimeout(60)
        with pytest.raises(ConnectionResetError):
            while s.recv(100):
                pass
    finally:
        s.close()
    assert tap.stats()["uptime_ms"] - u0 < 12000
    guest.wait_for(r"iperf3: .* timed out", 5, start)
    # permit key, bounce-back, a length too big, JSON that is not, -u, -P 17, the stall
    assert tap.stats()["tcp_guard"]["iperf_refused"] - refused0 == 7
    rows, _ = run_iperf2(tap, ["-t", "1", "-R"])
    assert rows and rows[0][3] > (1 << 20), rows
    j = run_iperf3(tap, ["-t", "1", "-R"])
    assert "error" not in j, j.get("error")


@pytest.mark.timeout(90)
def test_paced_reverse(guest, tap):
    """-b with -R: the guest paces what it sends to the client's rate (iperf 2: per connection
    from the header's lRate/uRate; iperf3: per stream from "bandwidth"), within a factor that
    leaves room for the guest's 500 ms top-up and its clock (not a speed test: the link does
    gigabits, the rate asked is tens of megabits)."""
    def guest_clock(run):
        """run() and the guest's clock rate against the host's over it: the guest paces by
        its TSC calibration, which drifts by tens of percent on a loaded host (issue 11)."""
        s0, t0 = tap.stats(), time.monotonic()
        out = run()
        s1, t1 = tap.stats(), time.monotonic()
        return out, (s1["uptime_ms"] - s0["uptime_ms"]) / 1000.0 / (t1 - t0)

    rows, rate = guest_clock(lambda: run_iperf2(tap, ["-t", "2", "-R", "-b", "20M"])[0])
    want = 20 * (1 << 20) * 2 / 8 * rate
    assert len(rows) == 1 and 0.5 * want <= rows[0][3] <= 1.6 * want, (rows, want, rate)
    j, rate = guest_clock(lambda: run_iperf3(tap, ["-t", "2", "-R", "-b", "30M", "-P", "2"]))
    assert "error" not in j, j.get("error")
    want = 30e6 * 2 / 8 * rate
    per = [s["receiver"]["bytes"] for s in j["end"]["streams"]]
    assert len(per) == 2 and all(0.5 * want <= b <= 1.6 * want for b in per), (per, want, rate)
