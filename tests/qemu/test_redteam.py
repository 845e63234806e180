"""Red team: attacks issue 9's reviewers will play against the booted image that the other QEMU
tests do not (variations in ports, IPv6, options, timing, sources), each asserting the reviewers'
pass criterion (redteam_lib.verdict): no PANIC, QEMU alive, ping and a fresh client's GET /
answered within 2 s, /stats.json readable, heap and pools back to idle.

One dual-stack VM for the module (rebooted if an attack kills it); root only, like test_tap.py.
The adversaries are rawtcp.Peer / rawtcp6.Peer6 (own IP and MAC, every segment on purpose)."""

import random
import struct
import threading
import time

import pytest

import qemulib
import rawtcp
import rawtcp6
import tapnet
from hostile import paced_blast
from rawtcp import ACK, FIN, PSH, RST, SYN, URG
from redteam_lib import _env, env  # noqa: F401 (fixtures)
from redteam_lib import (Prober, close_all, connect_many, get, guard_delta, raw_segment,
                         verdict)
from tapnet import (ETH_ARP, ETH_IP, GUEST_IP, GUEST_MAC, PROTO_TCP, arp, eth, ipv4,
                    packet_socket, tcp)

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

ECE, CWR = 0x40, 0x80
PORTS = (80, 5001, 5201)


def mss_opt(mss):
    return struct.pack("!BBH", 2, 4, mss)


# ------------------------------------------------------------------ SYN options ---

@pytest.mark.timeout(90)
def test_syn_option_and_flag_zoo(env):
    """SYNs to 80, 5001 and 5201 with MSS 0..64, window scale 14/15/255, SACK-permitted,
    timestamps, unknown and duplicated options, data on the SYN, SYN+FIN, SYN+RST, SYN+URG,
    SYN with ECE/CWR, window 0 on the SYN; every SYN-ACK is completed and the connection
    reset, half of them with a GET first."""
    opts = [mss_opt(m) for m in (0, 1, 8, 40, 64)] + [
        mss_opt(1460) + b"\x01\x03\x03\x0e", mss_opt(1460) + b"\x01\x03\x03\x0f",
        b"\x01\x03\x03\xff" + mss_opt(536), b"\x04\x02" + mss_opt(1460),
        b"\x08\x0a" + b"\xff" * 8 + mss_opt(1460) + b"\x01\x01",
        mss_opt(1) + mss_opt(65535), b"\xfe\x06\x00\x00\x00\x00" + b"\x01\x01",
        b"\x03\x03\x0e\x04\x02\x08\x0a" + b"\0" * 8 + b"\x02\x04\x00\x01" + b"\0" * 3]
    flagsets = [SYN, SYN | FIN, SYN | RST, SYN | URG, SYN | ECE | CWR, SYN | PSH, SYN | ACK]
    start = env.start_line
    answered = 0
    with rawtcp.Peer(env.net, ip="192.0.2.60", seed=60) as peer:
        peer.announce()
        for port in PORTS:
            for i, o in enumerate(opts + [mss_opt(1460)] * len(flagsets)):
                fl = flagsets[i - len(opts)] if i >= len(opts) else SYN
                c = peer.open(port, window=0 if i % 3 == 0 else 65535)
                data = b"GET / HTTP/1.1\r\n\r\n" if fl & PSH or i % 4 == 1 else b""
                raw_segment(peer, c, fl, data, seq=c.isn, ack=0, urg=5 if fl & URG else 0,
                            options=o)
                s = c.wait(lambda s: s.flags & (SYN | ACK) == SYN | ACK or s.flags & RST, 1.0)
                if s is not None and s.flags & SYN:
                    answered += 1
                    c.window = 65535
                    c.ack()
                    if i % 2 and port == 80:
                        c.send(get("/bytes/3000"))
                        c.wait_stream(50, timeout=1)
                c.close()
        assert env.vm.alive
    print("SYN-ACKs: %d" % answered)
    assert answered > 0
    verdict(env, start, "SYN option zoo")


@pytest.mark.timeout(90)
def test_tiny_mss_downloads(env):
    """Handshakes with MSS 1, 8, 48, 88, 150 and 536 each download a /bytes/N body (20000 for
    MSS 1 and 8, else 100000) with an ACK for every segment (the answer cut into thousands of
    segments, and TSO asked to cut at a tiny MSS): every body arrives, byte-exact, within
    25 s. (Linux floors the peer's MSS at 48; any MSS a peer may send must not hang it.)"""
    start = env.start_line
    sizes = {1: 20000, 8: 20000, 48: 100000, 88: 100000, 150: 100000, 536: 100000}
    with rawtcp.Peer(env.net, ip="192.0.2.61", seed=61) as peer:
        peer.announce()
        conns = []
        for m, n in sizes.items():
            c = peer.connect(80, mss=m, auto_ack=True)
            c.send(get("/bytes/%d" % n))
            conns.append((m, c))
        deadline = time.monotonic() + 25
        for m, c in conns:
            c.wait_stream(sizes[m] + 60, timeout=max(0.1, deadline - time.monotonic()))
        env.served("during tiny-MSS downloads")
        for m, c in conns:
            body = c.stream().split(b"\r\n\r\n", 1)[-1]
            big = max((len(s.payload) for s in c.segments), default=0)
            print("MSS %d: %d of %d body bytes, %d segments (TSO frames), largest %d" % (
                m, len(body), sizes[m], len(c.segments), big))
        close_all([c for _, c in conns])
    verdict(env, start, "tiny MSS")
    short = {}
    for m, c in conns:
        body = c.stream().split(b"\r\n\r\n", 1)[-1]
        if len(body) != sizes[m] or body != qemulib.pattern(0, sizes[m]):
            short[m] = "%d/%d" % (len(body), sizes[m])
    assert not short, "body bytes received in 25 s, by MSS: %s" % short


# --------------------------------------------------------------- odd flags / URG ---

@pytest.mark.timeout(90)
def test_odd_flags_on_established(env):
    """On established connections to 80, 5001 and 5201: zero-length segments with no flags,
    URG alone, URG with a pointer past the data, SYN in the window, SYN+FIN, RST+SYN, all eight
    flags, ECE|CWR, ACKs of data never sent, ACKs from before the window, sequence numbers far
    outside it, RSTs in the window but not exact, data with URG; 3000 ACKs that advertise a
    huge window and then retract it to 0 below what is in flight."""
    start = env.start_line
    odd = [(0, b""), (URG, b""), (URG | ACK, b"x"), (SYN | ACK, b""), (SYN | FIN, b""),
           (RST | SYN, b""), (0xff, b"y"), (ECE | CWR | ACK, b""), (PSH, b"z"), (FIN | URG, b""),
           (URG | PSH | ACK, b"GET / HTTP/1.1\r\n\r\n")]
    with rawtcp.Peer(env.net, ip="192.0.2.62", seed=62) as peer:
        peer.announce()
        for port in PORTS:
            for k, (fl, pl) in enumerate(odd):
                c = peer.connect(port, wscale=14 if k % 2 else None)
                if port == 80:
                    c.send(get("/bytes/500000"))
                    c.wait_stream(1, timeout=2)
                raw_segment(peer, c, fl, pl, urg=0xffff if fl & URG else 0)
                raw_segment(peer, c, ACK, ack=(c.rcv_nxt or 0) + 10000000)      # never sent
                raw_segment(peer, c, ACK, ack=(c.rcv_nxt or 0) - 0x40000000)    # ancient
                raw_segment(peer, c, ACK | PSH, b"q" * 10, seq=c.snd_nxt + 0x20000000)
                raw_segment(peer, c, RST, seq=c.snd_nxt + 100)                  # in window
                raw_segment(peer, c, SYN, seq=c.snd_nxt + 5)
                if port == 80 and k < 3:
                    hi = c.highest_seq_end()
                    for j in range(1000):
                        c.ack(ack=c.rcv_nxt, window=0xffff if j % 2 else 0)
                    c.ack(ack=hi, window=0)
                time.sleep(0.05)
                c.close()
        env.served("after odd flags")
    verdict(env, start, "odd flags")


# ------------------------------------------------------- overlapping out of order ---

def pieces(data, base_seq, r):
    """(seq, bytes) pieces of data: 1..9 bytes each, with overlaps and duplicates."""
    out, i = [], 0
    while i < len(data):
        n = r.randrange(1, 10)
        out.append((base_seq + i, data[i:i + n]))
        if r.random() < 0.4:                           # an overlapping one, same bytes
            j = max(0, i - r.randrange(0, 5))
            out.append((base_seq + j, data[j:j + n + 6]))
        i += n
    out += r.sample(out, len(out) // 3)                # retransmissions
    r.shuffle(out)
    return out


@pytest.mark.timeout(90)
def test_overlapping_out_of_order_request(env):
    """30 connections (ISNs near the 2**32 wrap for some) send their request as 1..9-byte
    pieces shuffled, overlapping and retransmitted, plus segments past the window, and
    conflicting bytes for ranges already delivered: each must still get its 200, byte-exact.
    The same on 5001/5201 (headers in pieces), then reset."""
    start = env.start_line
    r = random.Random(63)
    req = get("/bytes/3000")
    ok = 0
    with rawtcp.Peer(env.net, ip="192.0.2.63", seed=63) as peer:
        peer.announce()
        conns = []
        for i in range(30):
            c = peer.connect(80, isn=(0xffffffff - r.randrange(40)) if i % 3 == 0 else None,
                             auto_ack=True)
            at = c.snd_nxt
            for seq, d in pieces(req, at, r):
                c.send(d, seq=seq)
                if r.random() < 0.05:
                    c.send(b"Z" * 30, seq=at + 70000 + r.randrange(1 << 20))   # past the window
            c.send(b"XXXX", seq=at)                      # conflicting, already delivered
            c.snd_nxt = (at + len(req)) & 0xffffffff
            conns.append(c)
        for c in conns:
            st = c.wait_stream(3000, timeout=5)
            if st.startswith(b"HTTP/1.1 200") and st.endswith(qemulib.pattern(0, 3000)):
                ok += 1
        for port in (5001, 5201):
            for i in range(10):
                c = peer.connect(port)
                hdr = bytes(r.randrange(256) for _ in range(60)) if i % 2 else b"\0" * 24
                at = c.snd_nxt
                for seq, d in pieces(hdr, at, r):
                    c.send(d, seq=seq)
                conns.append(c)
        time.sleep(0.5)
        close_all(conns)
    assert ok == 30, "%d of 30 requests sent as overlapping pieces answered correctly" % ok
    verdict(env, start, "overlapping out of order")


# ---------------------------------------------------------------- RST/FIN timing ---

@pytest.mark.timeout(90)
def test_rst_and_fin_at_odd_moments(env):
    """On 80, 5001 and 5201, ten rounds of: RST instead of the handshake's ACK; FIN (no ACK) in
    SYN_RCVD; FIN then data after the FIN; two FINs at different sequence numbers; FIN while
    the guest's window to us is zero; RST in the middle of a 1 MB answer; a bare ACK RST
    (ack only); the guest's FIN answered with RST."""
    start = env.start_line
    with rawtcp.Peer(env.net, ip="192.0.2.64", seed=64) as peer:
        peer.announce()
        for rnd in range(10):
            for port in PORTS:
                c = peer.open(port)
                peer.syn(c)
                c.wait(lambda s: s.flags & SYN, 1.0)
                raw_segment(peer, c, RST, seq=c.snd_nxt)
                c.close()
                c = peer.open(port)
                peer.syn(c)
                if c.wait(lambda s: s.flags & SYN, 1.0):
                    c.rcv_nxt = (c.irs + 1) & 0xffffffff
                    raw_segment(peer, c, FIN)
                c.close()
                c = peer.connect(port)
                c.send(get("/") if port == 80 else b"\0" * 24)
                c.fin()
                c.send(b"after the fin", seq=c.snd_nxt)
                c.fin(seq=c.snd_nxt + 7)
                time.sleep(0.02)
                c.close()
                c = peer.connect(port, window=0)
                c.send(get("/bytes/1000000") if port == 80 else b"\0" * 24, window=0)
                c.fin(window=0)
                time.sleep(0.05)
                c.ack(window=65535)
                c.close()
                if port == 80:
                    c = peer.connect(80, auto_ack=True)
                    c.send(get("/bytes/1000000"))
                    c.wait_stream(20000, timeout=2)
                    c.rst()
                    c = peer.connect(80, auto_ack=False)
                    c.send(get("/", keep=False))
                    c.wait(lambda s: s.flags & FIN, 2.0)
                    c.ack(ack=c.highest_seq_end())
                    c.segment(flags=RST | ACK)
                    c.peer._conns.pop((c.sport, c.dport), None)
        env.served("after RST/FIN games")
    verdict(env, start, "RST/FIN at odd moments")


# ------------------------------------------------------------------ slow readers ---

@pytest.mark.timeout(120)
def test_slow_readers_one_byte_per_second(env):
    """300 connections from three addresses ask for /bytes/1073741824 and read it one byte a
    second (ACK one more byte, window 1): each makes acknowledged progress, so neither stall
    detection nor eviction by idle age applies, and 300 is more than the 256 connection
    states. Fresh clients must be served within 2 s throughout (20 s)."""
    start = env.start_line
    peers = [rawtcp.Peer(env.net, ip="192.0.2.%d" % (70 + k), seed=70 + k).start()
             for k in range(3)]
    try:
        for p in peers:
            p.announce()
        conns = connect_many(peers, 80, 300,
                             lambda i, c: c.send(get("/bytes/1073741824"), window=1), window=1)
        prober = Prober(env, every=0.5)
        prober.start()
        peak = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            for c in conns:
                if not c.rst_seen and c.rcv_nxt is not None:
                    c.ack(window=1)
            time.sleep(1.0)
            if int(time.monotonic() - t0) % 5 == 0:
                try:
                    peak = max(peak, env.net.stats(timeout=3)["lwip"]["mem_used"])
                except OSError:
                    pass
        prober.stop()
        got = sum(len(c.stream()) for c in conns)
        print("%d slow readers, %d bytes read, %d reset by the guest; heap peak %d" % (
            len(conns), got, sum(c.rst_seen for c in conns), peak))
        print("fresh clients (t, s, result):", prober.results)
        assert not prober.slow(), ("fresh clients not served within 2 s among 300 "
                                   "one-byte-a-second readers: %s" % prober.slow())
    finally:
        for p in peers:
            close_all(p.conns())
            p.close()
    verdict(env, start, "slow readers")


# --------------------------------------------------------------- pipelined floods ---

@pytest.mark.timeout(90)
def test_pipelined_head_get_flood_unread(env):
    """20 connections pipeline 3000 HEAD / and GET / requests each (120 KB) and never read an
    answer (window 0), from both address families; held input and queued answers must stay
    bounded: fresh clients served, heap below 3/4 of lwIP's, and idle afterwards."""
    start = env.start_line
    reqs = b"".join(get("/", method="HEAD") + get("/") for _ in range(1500))
    peak = 0
    with rawtcp.Peer(env.net, ip="192.0.2.74", seed=74) as p4, \
            rawtcp6.Peer6(env.net, ip="2001:db8::74", seed=74) as p6:
        p4.announce()
        p6.announce()
        conns = [p4.connect(80) for _ in range(14)] + [p6.connect(80) for _ in range(6)]
        for off in range(0, len(reqs), 1400):
            for c in conns:
                c.send(reqs[off:off + 1400], window=0)
            if off % (1400 * 20) == 0:
                s = env.net.stats(timeout=5)
                peak = max(peak, s["lwip"]["mem_used"])
                time.sleep(0.05)
        env.served("behind 20 unread pipelines")
        env.served("behind 20 unread pipelines", v6=True)
        s = env.net.stats(timeout=5)
        peak = max(peak, s["lwip"]["mem_used"])
        print("heap peak %d, tcp_guard %s" % (peak, guard_delta(env.base, s)))
        close_all(conns)
    assert peak < 2 * 1024 * 1024 * 3 // 4, peak
    verdict(env, start, "pipelined HEAD/GET", v6=True)


# ------------------------------------------------------------------------ iperf ---

@pytest.mark.timeout(90)
def test_iperf3_control_connections_never_finish(env):
    """300 connections to 5201: silence, the 37-byte cookie only, the cookie and a parameter
    length of 4 GiB, the cookie and a 4000-byte length followed by 10 bytes; held 10 s, then
    a real iperf3 client must be able to run once they are reset."""
    start = env.start_line
    with rawtcp.Peer(env.net, ip="192.0.2.75", seed=75) as peer:
        peer.announce()

        def control(i, c):
            cookie = ("%036d" % i).encode() + b"\0"
            k = i % 4
            if k >= 1:
                c.send(cookie)
            if k == 2:
                c.send(b"\xff\xff\xff\xff")
            if k == 3:
                c.send(struct.pack("!I", 4000) + b"{" * 10)
        conns = connect_many([peer], 5201, 300, control)
        time.sleep(3)
        env.served("with 300 stuck iperf3 control connections")
        time.sleep(7)
        closed = sum(c.rst_seen or c.fin_seen for c in conns)
        print("%d control connections, %d closed by the guest within 10 s" % (len(conns), closed))
        close_all(conns)
    iperf3 = tapnet.tool("iperf3")
    if iperf3:
        time.sleep(1)
        p = env.net.run([iperf3, "-c", GUEST_IP, "-t", "1", "--connect-timeout", "3000"],
                        timeout=30)
        assert p.returncode == 0, "iperf3 after the attack: " + p.stdout[-500:] + p.stderr
    verdict(env, start, "iperf3 control")


def iperf2_header(flags, port, amount=0xfffffc18):
    """client_hdr_v1: flags, numThreads, mPort, mBufLen, mWinBand, mAmount (-10 s)."""
    return struct.pack("!IiiiiI", flags, 1, port, 0, 0, amount)


@pytest.mark.timeout(120)
def test_iperf2_connect_back_to_silence(env):
    """40 iperf2 headers asking for -d (connect back at once) and -r (after the test) to ports
    on 192.0.2.76 where nobody answers (the peer answers ARP, never a SYN), then the test
    connections are reset: the guest's connect-backs sit in SYN_SENT. A real iperf2 client is
    served after the attack, and the pools go back to idle."""
    start = env.start_line
    with rawtcp.Peer(env.net, ip="192.0.2.76", seed=76) as peer:
        peer.announce()

        def ask_connect_back(i, c):
            fl = 0x80000000 | (1 if i % 2 else 0)
            c.send(iperf2_header(fl, 6000 + i, amount=500 if i % 2 == 0 else 0xffffffce))
            if i % 2 == 0:
                c.send(b"d" * 500)
                c.fin()
        conns = connect_many([peer], 5001, 40, ask_connect_back)
        time.sleep(3)
        syns = sum(1 for _, f in peer.other if len(f) > 47 and f[23] == PROTO_TCP and
                   f[47] & SYN)
        print("%d test connections, %d connect-back SYNs seen" % (len(conns), syns))
        env.served("with connect-backs to silence")
        close_all(conns)
        iperf = tapnet.tool("iperf")
        if iperf:
            t = time.monotonic()
            p = env.net.run([iperf, "-c", GUEST_IP, "-t", "1"], timeout=30)
            print("iperf2 client after %.1f s: %s" % (time.monotonic() - t, p.stdout[-300:]))
            assert p.returncode == 0 and " sec " in p.stdout, p.stdout + p.stderr
    verdict(env, start, "iperf2 connect-back", idle_timeout=75)


# -------------------------------------------------------------- FIN_WAIT left open ---

@pytest.mark.timeout(120)
def test_fin_wait_never_acknowledged(env):
    """150 requests with Connection: close on 80: 50 peers ACK nothing (FIN_WAIT_1 with the
    answer unacknowledged), 50 ACK the answer but never the FIN and answer its retransmissions
    with a duplicate ACK, 50 ACK everything and never send their own FIN (FIN_WAIT_2). Nothing
    is reset by the peer: the guest must free them all by itself (pools idle within 60 s)."""
    start = env.start_line
    stop = threading.Event()
    with rawtcp.Peer(env.net, ip="192.0.2.77", seed=77) as peer:
        peer.announce()
        groups = ([], [], [])
        for i in range(150):
            c = peer.connect(80)
            c.send(get("/bytes/3000", keep=False))
            groups[i % 3].append(c)
        time.sleep(1.5)
        for c in groups[2]:
            c.ack(ack=c.highest_seq_end())

        def dup_acks():
            while not stop.wait(1.0):
                for c in groups[1]:
                    if c.fin_seen and not c.rst_seen:
                        c.ack(ack=(c.highest_seq_end() - 1) & 0xffffffff)

        t = threading.Thread(target=dup_acks, daemon=True)
        t.start()
        try:
            env.served("with 150 connections in FIN_WAIT")
            verdict(env, start, "FIN_WAIT never acknowledged", idle_timeout=60)
        finally:
            stop.set()
            t.join(5)
            close_all(peer.conns())


# -------------------------------------------------------------------- SYN floods ---

def ghost_mac(k):
    return "02:00:00:5f:%02x:%02x" % (k >> 8, k & 0xff)


def flood_frames(n, seed, ports=PORTS, nsrc=150):
    """n SYNs from 192.0.2.100..249 (MACs nobody owns), random ports, ISNs and options."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        k = r.randrange(nsrc)
        src = "192.0.2.%d" % (100 + k)
        opt = bytes([2, 4, 5, 0xb4]) + (b"\x01\x03\x03\x07\x04\x02\x01\x01" if i % 2 else b"")
        seg = tcp(src, GUEST_IP, 1024 + r.randrange(64000), ports[i % len(ports)],
                  seq=r.randrange(1 << 32), flags=SYN, options=opt)
        out.append(("syn", eth(GUEST_MAC, ghost_mac(k), ETH_IP,
                               ipv4(src, GUEST_IP, PROTO_TCP, seg, ident=i))))
    return out


@pytest.mark.timeout(120)
def test_syn_flood_many_sources_sustained(env):
    """A burst of 20000 spoofed SYNs to 80, 5001 and 5201 from 150 addresses (half of them
    resolved to MACs nobody owns, half never answering ARP), then 2000 SYN/s for 12 s: a fresh
    client is served within 2 s throughout and after."""
    start = env.start_line
    sock = packet_socket(env.net, sndbuf=4 << 20)
    for k in range(0, 150, 2):
        sock.send(eth(GUEST_MAC, ghost_mac(k), ETH_ARP,
                      arp(2, ghost_mac(k), "192.0.2.%d" % (100 + k), GUEST_MAC, GUEST_IP)))
    burst = flood_frames(20000, 1)
    steady = flood_frames(24000, 2)
    prober = Prober(env, every=0.25)
    prober.start()
    sent = tapnet.blast(sock, burst)
    paced_blast(sock, steady, 2000.0, 200)
    time.sleep(2)
    prober.stop()
    sock.close()
    s = env.net.stats(timeout=5)
    print("burst %s; guard %s; pcbs %d" % (sent[:2], guard_delta(env.base, s), s["lwip"]["tcp_pcbs"]))
    print("fresh clients (t, s, result):", prober.results)
    verdict(env, start, "SYN flood", idle_timeout=75)
    assert not prober.slow(), "fresh clients not served within 2 s during the flood: %s" % (
        prober.slow(),)


# ---------------------------------------------------------------------- ISNs ---

def isn_sample(peer, n, port=80, sport=None):
    out = []
    for _ in range(n):
        c = peer.connect(port, sport=sport)
        out.append(c.irs)
        c.close()
    return out


def near_pairs(isns, within=1 << 24):
    return sum(1 for a, b in zip(isns, isns[1:])
               if min((a - b) & 0xffffffff, (b - a) & 0xffffffff) < within)


@pytest.mark.timeout(60)
def test_isn_sampling(env):
    """ISNs of 40 handshakes in a row from one IPv4 peer (new ports), 10 from a second address,
    10 reusing one 4-tuple, 20 over IPv6: all distinct, and consecutive ISNs of different
    4-tuples far apart (a keyed hash, RFC 6528), not a counter's steps."""
    start = env.start_line
    with rawtcp.Peer(env.net, ip="192.0.2.78", seed=78) as a, \
            rawtcp.Peer(env.net, ip="192.0.2.79", seed=79) as b, \
            rawtcp6.Peer6(env.net, ip="2001:db8::78", seed=78) as c6:
        for p in (a, b, c6):
            p.announce()
        s1 = isn_sample(a, 40)
        s2 = isn_sample(b, 10)
        same = isn_sample(a, 10, sport=45678)
        s6 = isn_sample(c6, 20)
    mixed = [x for pair in zip(s1[:10], s2) for x in pair]
    print("IPv4:", [hex(x) for x in s1[:12]], "...")
    print("same 4-tuple:", [hex(x) for x in same])
    print("IPv6:", [hex(x) for x in s6[:8]], "...")
    verdict(env, start, "ISN sampling", v6=True)
    assert len(set(s1 + s2 + s6)) == 70, "repeated ISNs"
    assert len(set(same)) == 10, "the same 4-tuple got a repeated ISN: %s" % same
    for name, s in (("one peer", s1), ("two peers interleaved", mixed), ("IPv6", s6)):
        assert near_pairs(s) <= 2, ("%s: %d of %d consecutive ISNs within 2**24 of each other: "
                                    "predictable" % (name, near_pairs(s), len(s) - 1),
                                    [hex(x) for x in s])


@pytest.mark.timeout(90)
def test_iperf_reverse_with_small_mss(env):
    """Real iperf3 -R and iperf 2 -R clients with MSS 100 (-M, Linux's floor is 88): the guest
    sends to a peer with a small but legal MSS; the test must move data, not stall."""
    start = env.start_line
    out = {}
    for name, argv in (("iperf3", ["-c", GUEST_IP, "-R", "-M", "100", "-t", "3", "-f", "k",
                                   "--connect-timeout", "3000"]),
                       ("iperf", ["-c", GUEST_IP, "-R", "-M", "100", "-t", "3", "-f", "k"])):
        tool = tapnet.tool(name)
        if not tool:
            continue
        p = env.net.run([tool] + argv, timeout=30)
        out[name] = (p.returncode, p.stdout[-400:] + p.stderr[-200:])
        print(name, p.returncode, p.stdout[-400:], p.stderr[-200:])
    verdict(env, start, "iperf -R with MSS 100", idle_timeout=40)
    for name, (rc, text) in out.items():
        # iperf3 picks the transfer column's unit itself (-f sets only the rate's)
        kb = [float(x) * {"": 1 / 1024, "K": 1, "M": 1024, "G": 1 << 20}[u] for x, u in
              __import__("re").findall(r"([\d.]+) ([KMG]?)Bytes\s", text)]
        assert rc == 0 and kb and max(kb) > 0, "%s -R -M 100 moved nothing: %s" % (name, text)
