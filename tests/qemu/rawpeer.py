"""A minimal raw TCP peer on a TapNet: an address the host kernel does not own (so it sends no
RST of its own), frames over an AF_PACKET socket on the tap. It answers ARP, does the handshake,
sends what it is told and ACKs only when asked, so a test can make the link as quiet as it likes
and watch every segment the guest sends (retransmissions included), with arrival times.

    p = RawPeer(net).open()
    p.connect(80)                        # SYN, SYN-ACK, ACK
    p.send(b"GET / HTTP/1.1\r\n\r\n")    # one data segment, ACKing what arrived so far
    segs = p.collect(5.0)                # [Seg] the guest sent in that time, nothing ACKed
    p.reset(); p.close()
"""

import select
import socket
import struct
import time

import tapnet
from tapnet import ETH_ARP, ETH_IP, GUEST_IP, GUEST_MAC, PROTO_TCP, arp, eth, ipv4, tcp

PEER_IP = "192.0.2.77"
PEER_MAC = "02:00:00:00:00:77"
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Seg:
    """One TCP segment from the guest."""

    def __init__(self, t, seq, ack, flags, win, payload):
        self.t, self.seq, self.ack, self.flags, self.win, self.payload = \
            t, seq, ack, flags, win, payload

    @property
    def end(self):
        return (self.seq + len(self.payload) + (1 if self.flags & (SYN | FIN) else 0)) & 0xffffffff

    def __repr__(self):
        return "Seg(t=%.3f seq=%d len=%d flags=%#x)" % (self.t, self.seq, len(self.payload),
                                                       self.flags)


class RawPeer:
    def __init__(self, net, ip=PEER_IP, mac=PEER_MAC, sport=40001, mss=1460, win=65535):
        self.net, self.ip, self.mac, self.sport, self.mss, self.win = net, ip, mac, sport, mss, win
        self.sock = None
        self.seq = 1000000
        self.rcv_nxt = None
        self.dport = None

    def open(self):
        # ETH_P_ALL: tapnet.packet_socket (protocol 0) only sends.
        self.sock = self.net.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((self.net.tap, ETH_P_ALL))
        self.sock.setblocking(False)
        # Teach the guest our MAC: an ARP request for its address (lwIP learns the sender).
        self._send_frame(eth("ff:ff:ff:ff:ff:ff", self.mac, ETH_ARP,
                             arp(1, self.mac, self.ip, "00:00:00:00:00:00", GUEST_IP)))
        return self

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _send_frame(self, f):
        self.sock.send(f)

    def _send_tcp(self, flags, payload=b"", seq=None, ack=None, options=b"", win=None):
        seg = tcp(self.ip, GUEST_IP, self.sport, self.dport,
                  seq=self.seq if seq is None else seq,
                  ack=(self.rcv_nxt or 0) if ack is None else ack, flags=flags,
                  win=self.win if win is None else win, options=options, payload=payload)
        self._send_frame(eth(GUEST_MAC, self.mac, ETH_IP, ipv4(self.ip, GUEST_IP, PROTO_TCP, seg)))

    def _answer_arp(self, frame):
        op = struct.unpack("!H", frame[20:22])[0]
        tpa = socket.inet_ntoa(frame[38:42])
        if op == 1 and tpa == self.ip:
            sha, spa = frame[22:28], socket.inet_ntoa(frame[28:32])
            mac = ":".join("%02x" % b for b in sha)
            self._send_frame(eth(mac, self.mac, ETH_ARP, arp(2, self.mac, self.ip, mac, spa)))

    def _recv(self, timeout):
        """Next TCP segment of our connection from the guest, or None at timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                frame, addr = self.sock.recvfrom(70000)
            except BlockingIOError:
                continue
            if addr[2] == PACKET_OUTGOING or len(frame) < 14:
                continue
            etype = struct.unpack("!H", frame[12:14])[0]
            if etype == ETH_ARP and len(frame) >= 42:
                self._answer_arp(frame)
                continue
            if etype != ETH_IP or frame[0:6] != tapnet.mac_bytes(self.mac):
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0xf) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != PROTO_TCP or socket.inet_ntoa(ip[16:20]) != self.ip:
                continue
            t = ip[ihl:total]
            sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", t[:16])
            if dport != self.sport:
                continue
            return Seg(time.monotonic(), seq, ack, flags, win, bytes(t[(off >> 4) * 4:]))

    def connect(self, dport, timeout=10.0):
        self.dport = dport
        opts = struct.pack("!BBH", 2, 4, self.mss)
        self._send_tcp(SYN, seq=self.seq, ack=0, options=opts)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self._recv(deadline - time.monotonic())
            if s and (s.flags & (SYN | ACK)) == (SYN | ACK):
                self.seq = (self.seq + 1) & 0xffffffff
                self.rcv_nxt = (s.seq + 1) & 0xffffffff
                self._send_tcp(ACK)
                return s
        raise AssertionError("no SYN-ACK from the guest")

    def send(self, data):
        self._send_tcp(ACK | PSH, payload=data)
        self.seq = (self.seq + len(data)) & 0xffffffff

    def ack(self, upto=None):
        if upto is not None:
            self.rcv_nxt = upto & 0xffffffff
        self._send_tcp(ACK)

    def collect(self, duration, until=None):
        """Every segment of our connection in the next `duration` seconds; ACKs nothing.
        until(segs) -> True stops early."""
        segs = []
        deadline = time.monotonic() + duration
        while True:
            s = self._recv(deadline - time.monotonic())
            if s is None:
                return segs
            segs.append(s)
            if until and until(segs):
                return segs

    def reset(self):
        if self.dport is not None:
            self._send_tcp(RST | ACK)
