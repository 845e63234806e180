"""An adversarial TCP peer for the QEMU tap tests: a userspace TCP over an AF_PACKET socket on the
test tap (tapnet.TapNet), with its own IPv4 address and MAC. Standard library only.

The peer answers ARP for its own address itself, and the host kernel never sees a frame
addressed to it (they carry the peer's MAC, not the tap's), so no host RST ever interferes.
Nothing is automatic beyond that and the handshake: every segment is sent on purpose, with the
sequence, ack, window and flags the test chooses, so a test can play any game a hostile peer
can (zero and shrinking windows, partial ACKs, out-of-order data, pipelined floods, never
reading, FIN or RST at any moment).

    peer = rawtcp.Peer(net, ip="192.0.2.50").start()
    c = peer.connect(80)                      # SYN, SYN-ACK (recorded), ACK
    c.send(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")   # at snd_nxt, acks rcv_nxt
    seg = c.wait(lambda s: s.payload, timeout=5)        # first data segment from the guest
    c.ack(window=0)                           # ACK what arrived in order, window 0
    c.send(b"x", seq=c.snd_nxt + 10)          # out of order: leaves a hole of 10 bytes
    c.rst()
    peer.close()

Every segment the guest sends to the peer is recorded on its connection (Conn.segments, a list
of Segment: seq, ack, window, flags, payload, options, t); Conn.irs is the guest's ISN (from its
SYN-ACK), Conn.stream() the guest's in-order bytes so far. Conn.rcv_nxt advances over in-order
data as it is recorded (it is what ack() acknowledges by default); it does not make the peer
ACK anything by itself unless the connection was made with auto_ack=True.

Also recorded: Conn.peer_ack / peer_window (the guest's last ack and window), rst_seen,
fin_seen, syn_tries; Peer.other keeps (time, frame) of every other IPv4 frame to the peer's
address (ICMP replies, fragments, segments for no connection). Conn.rst() resets at the
guest's last ack, so it lands in its window even after segments it dropped.

Many connections (thousands) can share one Peer: one receive thread demultiplexes by port.
Peer.send_frame() sends any raw Ethernet frame (tapnet's builders make them)."""

import collections
import random
import select
import socket
import struct
import threading
import time

from tapnet import ETH_ARP, ETH_IP, GUEST_IP, GUEST_MAC, PROTO_TCP, arp, eth, ipv4, mac_bytes, tcp

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003

Segment = collections.namedtuple("Segment", "seq ack window flags payload options t")


def _mac_str(b):
    return ":".join("%02x" % x for x in b)


def seq_lt(a, b):
    """a before b in sequence space (RFC 793 modulo 2**32 comparison)."""
    return ((a - b) & 0xffffffff) > 0x7fffffff


def parse_options(opts):
    """{kind: raw bytes} of a TCP options field (MSS = 2, WS = 3, SACK_PERM = 4, TS = 8)."""
    out, i = {}, 0
    while i < len(opts):
        k = opts[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        out[k] = bytes(opts[i + 2:i + opts[i + 1]])
        i += opts[i + 1]
    return out


class Conn:
    """One TCP connection of the peer. Sequence numbers are absolute (32-bit)."""

    def __init__(self, peer, sport, dport, isn, window, auto_ack):
        self.peer, self.sport, self.dport = peer, sport, dport
        self.isn = isn                    # our ISN
        self.snd_nxt = (isn + 1) & 0xffffffff
        self.irs = None                   # the guest's ISN (from its SYN-ACK)
        self.rcv_nxt = None
        self.window = window              # advertised by default on what we send
        self.auto_ack = auto_ack
        self.segments = []                # every Segment the guest sent us, in arrival order
        self.rst_seen = False
        self.fin_seen = False
        self.syn_tries = 0                # SYNs connect() sent before the SYN-ACK
        self.peer_window = 0              # the guest's last advertised window
        self.peer_ack = None              # the guest's last ack number (its rcv_nxt)
        self.peer_mss = None
        self._ooo = {}                    # seq -> payload beyond rcv_nxt (for stream())
        self._stream = bytearray()
        self._cv = threading.Condition()

    # ---- what the guest sent ----
    def _record(self, s):
        with self._cv:
            self.segments.append(s)
            self.peer_window = s.window
            if s.flags & ACK:
                self.peer_ack = s.ack
            if s.flags & RST:
                self.rst_seen = True
            if s.flags & SYN and s.flags & ACK and self.irs is None:
                self.irs = s.seq
                self.rcv_nxt = (s.seq + 1) & 0xffffffff
                mss = s.options.get(2)
                self.peer_mss = struct.unpack("!H", mss)[0] if mss and len(mss) == 2 else None
            elif self.rcv_nxt is not None and (s.payload or s.flags & FIN):
                self._ooo.setdefault(s.seq, (s.payload, bool(s.flags & FIN)))
                self._advance()
            self._cv.notify_all()
        if self.auto_ack and (s.payload or s.flags & FIN) and not s.flags & RST:
            self.ack()

    def _advance(self):
        moved = True
        while moved:
            moved = False
            for seq in list(self._ooo):
                data, fin = self._ooo[seq]
                off = (self.rcv_nxt - seq) & 0xffffffff
                if off >= 0x80000000:
                    continue              # beyond rcv_nxt: keep until the hole fills
                del self._ooo[seq]
                end = len(data) + (1 if fin else 0)
                if off < end:
                    self._stream += data[off:]
                    self.rcv_nxt = (seq + end) & 0xffffffff
                    self.fin_seen = self.fin_seen or fin
                    moved = True

    def stream(self):
        """The guest's bytes received in order so far."""
        with self._cv:
            return bytes(self._stream)

    def wait(self, pred, timeout=10.0, start=0):
        """First recorded Segment (index >= start) for which pred(segment) is true, waiting up
        to timeout seconds; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            i = start
            while True:
                while i < len(self.segments):
                    if pred(self.segments[i]):
                        return self.segments[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def wait_stream(self, n, timeout=10.0):
        """Waits until n in-order bytes arrived; returns the stream (maybe shorter on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self._stream) < n and time.monotonic() < deadline:
                self._cv.wait(max(0.0, deadline - time.monotonic()))
            return bytes(self._stream)

    def highest_seq_end(self):
        """One past the highest sequence number the guest has sent (its snd_nxt as seen here)."""
        with self._cv:
            best = self.rcv_nxt
            for s in self.segments:
                if s.flags & SYN:
                    continue
                e = (s.seq + len(s.payload) + (1 if s.flags & FIN else 0)) & 0xffffffff
                if best is None or seq_lt(best, e):
                    best = e
            return best

    # ---- what we send ----
    def segment(self, payload=b"", seq=None, ack=None, flags=None, window=None, options=b""):
        """Sends one segment. Defaults: seq = snd_nxt, ack = rcv_nxt, flags = ACK (+PSH with
        payload), window = self.window. snd_nxt advances only when seq was defaulted."""
        default_seq = seq is None
        seq = self.snd_nxt if default_seq else seq & 0xffffffff
        if ack is None:
            ack = self.rcv_nxt or 0
        if flags is None:
            flags = ACK | (PSH if payload else 0)
        if window is None:
            window = self.window
        self.peer.send_tcp(self.sport, self.dport, seq, ack, flags, window, payload, options)
        if default_seq:
            self.snd_nxt = (seq + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff
        return seq

    def send(self, data, seq=None, **kw):
        return self.segment(data, seq=seq, **kw)

    def ack(self, ack=None, window=None):
        return self.segment(b"", ack=ack, window=window, flags=ACK)

    def fin(self, **kw):
        return self.segment(b"", flags=FIN | ACK, **kw)

    def rst(self, seq=None):
        """RST at seq, by default where the guest expects our next byte (its last ack), so it
        is in its window even after segments of ours it dropped."""
        if seq is None:
            seq = self.peer_ack if self.peer_ack is not None else self.snd_nxt
        return self.segment(b"", seq=seq, flags=RST | ACK)

    def close(self):
        """RST and forget (frees the port in the Peer)."""
        try:
            self.rst()
        finally:
            self.peer._conns.pop((self.sport, self.dport), None)


class Peer:
    """A raw TCP/IPv4 endpoint at `ip`/`mac` on net's tap, talking to the guest."""

    def __init__(self, net, ip="192.0.2.50", mac=None, guest_ip=GUEST_IP, guest_mac=GUEST_MAC,
                 seed=None):
        self.net, self.ip, self.guest_ip, self.guest_mac = net, ip, guest_ip, guest_mac
        last = int(ip.split(".")[-1])
        self.mac = mac or "02:00:5e:00:%02x:%02x" % (last >> 8, last & 0xff)
        self.rand = random.Random(seed)
        self._conns = {}
        self._next_port = 30000 + self.rand.randrange(20000)
        self._stop = threading.Event()
        self._sock = None
        self._thread = None
        self._tx_lock = threading.Lock()
        self.other = []                  # (t, raw frame) of IPv4 frames to us not for a Conn
        self.arp_answered = 0

    def start(self):
        # ETH_P_ALL: a packet socket of protocol 0 (tapnet.packet_socket) receives nothing
        self._sock = self.net.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._sock.bind((self.net.tap, ETH_P_ALL))
        self._thread = threading.Thread(target=self._rx_loop, daemon=True,
                                        name="rawtcp-%s" % self.ip)
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self._sock:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        return self.start() if self._sock is None else self

    def __exit__(self, *a):
        self.close()

    # ---- frames ----
    def send_frame(self, frame):
        with self._tx_lock:
            for attempt in range(200):
                try:
                    self._sock.send(frame)
                    return
                except OSError as e:
                    if e.errno != 105 or attempt == 199:     # ENOBUFS: the tap queue is full
                        raise
                    time.sleep(0.001)

    def send_tcp(self, sport, dport, seq, ack, flags, window, payload=b"", options=b""):
        seg = tcp(self.ip, self.guest_ip, sport, dport, seq=seq, ack=ack, flags=flags,
                  win=window & 0xffff, options=options, payload=payload)
        self.send_frame(eth(self.guest_mac, self.mac, ETH_IP,
                            ipv4(self.ip, self.guest_ip, PROTO_TCP, seg,
                                 ident=self.rand.randrange(65536))))

    def announce(self):
        """A gratuitous ARP reply to the guest, so its first SYN-ACK needs no ARP round trip."""
        self.send_frame(eth(self.guest_mac, self.mac, ETH_ARP,
                            arp(2, self.mac, self.ip, self.guest_mac, self.guest_ip)))

    def _rx_loop(self):
        sock = self._sock
        self._mine = mac_bytes(self.mac)
        self._me = self.addr_bytes()
        while not self._stop.is_set():
            r, _, _ = select.select([sock], [], [], 0.1)
            if not r:
                continue
            try:
                frame, addr = sock.recvfrom(65536)
            except OSError:
                return
            if addr[2] == PACKET_OUTGOING or len(frame) < 14:
                continue
            seg = self._l3_in(frame)
            if seg is not None:
                self._tcp_in(seg, frame)

    # ---- IPv4 framing (Peer6 has the IPv6 one) ----
    def addr_bytes(self):
        return socket.inet_aton(self.ip)

    def _l3_in(self, frame):
        """Answers ARP for our address; returns the TCP segment of an IPv4 frame to us, or None
        (other IPv4 frames to us are kept in self.other)."""
        et = struct.unpack("!H", frame[12:14])[0]
        if et == ETH_ARP and len(frame) >= 42:
            op = struct.unpack("!H", frame[20:22])[0]
            if op == 1 and frame[38:42] == self._me:
                sha = _mac_str(frame[22:28])
                spa = socket.inet_ntoa(frame[28:32])
                self.send_frame(eth(sha, self.mac, ETH_ARP, arp(2, self.mac, self.ip, sha, spa)))
                self.arp_answered += 1
            return None
        if et != ETH_IP or frame[0:6] != self._mine or len(frame) < 34:
            return None
        ip = frame[14:]
        ihl = (ip[0] & 0xf) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if ip[16:20] != self._me or ip[9] != PROTO_TCP or total < ihl + 20:
            self.other.append((time.monotonic(), frame))
            return None
        return ip[ihl:total]

    def _tcp_in(self, t, frame):
        """Records a TCP segment from the guest on its connection (or in self.other)."""
        sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", t[:16])
        doff = (off >> 4) * 4
        s = Segment(seq, ack, win, flags, bytes(t[doff:]), parse_options(t[20:doff]),
                    time.monotonic())
        c = self._conns.get((dport, sport))
        if c is None:
            self.other.append((s.t, frame))
            return
        c._record(s)

    # ---- connections ----
    def port(self):
        while True:
            p = self._next_port
            self._next_port = 1024 + (self._next_port - 1024 + 1) % 64000
            if not any(k[0] == p for k in self._conns):
                return p

    def open(self, dport, sport=None, isn=None, window=65535, auto_ack=False):
        """A Conn without a handshake (register first, then send SYN yourself)."""
        sport = sport or self.port()
        isn = self.rand.randrange(1 << 32) if isn is None else isn
        c = Conn(self, sport, dport, isn, window, auto_ack)
        self._conns[(sport, dport)] = c
        return c

    def syn(self, c, mss=1460, wscale=None):
        opts = struct.pack("!BBH", 2, 4, mss)
        if wscale is not None:
            opts += struct.pack("!BBBB", 1, 3, 3, wscale)
        self.send_tcp(c.sport, c.dport, c.isn, 0, SYN, c.window, b"", opts)

    def connect(self, dport, sport=None, isn=None, window=65535, mss=1460, wscale=None,
                timeout=5.0, auto_ack=False, retries=2):
        """Three-way handshake; returns the Conn (irs recorded) or raises TimeoutError."""
        c = self.open(dport, sport, isn, window, auto_ack)
        for _ in range(retries + 1):
            c.syn_tries += 1
            self.syn(c, mss, wscale)
            s = c.wait(lambda s: s.flags & (SYN | ACK) == SYN | ACK or s.flags & RST, timeout)
            if s is not None:
                break
        else:
            raise TimeoutError("no SYN-ACK from %s:%d to %s:%d" % (self.guest_ip, dport, self.ip,
                                                                  c.sport))
        if s.flags & RST:
            raise ConnectionRefusedError("RST from %s:%d" % (self.guest_ip, dport))
        c.segment(b"", flags=ACK)
        return c

    def try_connect(self, dport, **kw):
        """connect() with no SYN retry; None if the guest does not answer or refuses."""
        try:
            return self.connect(dport, retries=0, **kw)
        except (TimeoutError, ConnectionRefusedError):
            return None

    def conns(self):
        return list(self._conns.values())
