"""rawtcp.Peer over IPv6: the same adversarial userspace TCP (every segment on purpose), with its
own IPv6 address in 2001:db8::/64 and its own MAC on the test tap. It answers neighbour
solicitations for its address itself (the host kernel never sees its frames), so the guest
resolves it like any station. Also the IPv6/ICMPv6/TCP frame builders the red-team tests use.

    peer = rawtcp6.Peer6(net, ip="2001:db8::50").start()
    c = peer.connect(80)            # then exactly as rawtcp.Conn
Standard library only."""

import ipaddress
import socket
import struct
import time

import rawtcp
from tapnet import GUEST_IP6, GUEST_MAC, PROTO_TCP, csum, eth, mac_bytes

ETH_IP6 = 0x86dd
PROTO_ICMP6 = 58


def a6(addr):
    return ipaddress.IPv6Address(addr).packed


def pseudo6(src, dst, nxt, length):
    return a6(src) + a6(dst) + struct.pack("!IxxxB", length, nxt)


def ipv6(src, dst, nxt, payload, hlim=64, plen=None, flow=0):
    """An IPv6 packet; plen (the payload length field) may lie."""
    n = len(payload) if plen is None else plen
    return struct.pack("!IHBB", (6 << 28) | flow, n & 0xffff, nxt, hlim) + a6(src) + a6(dst) + \
        payload


def tcp6(src, dst, sport, dport, seq=0, ack=0, flags=0x02, win=65535, options=b"", payload=b"",
         urg=0):
    hl = 20 + len(options)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      (hl // 4) << 4, flags & 0xff, win & 0xffff, 0, urg & 0xffff) + options
    seg = hdr + payload
    c = csum(pseudo6(src, dst, PROTO_TCP, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def icmp6(src, dst, typ, code, body):
    m = struct.pack("!BBH", typ, code, 0) + body
    c = csum(pseudo6(src, dst, PROTO_ICMP6, len(m)) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


def solicited_node(addr):
    return "ff02::1:ff" + "%02x:%02x%02x" % tuple(a6(addr)[13:16])


def mcast_mac(addr):
    b = a6(addr)
    return "33:33:%02x:%02x:%02x:%02x" % tuple(b[12:16])


def neighbour_advert(src, dst, target, mac, solicited=True):
    flags = (0x40000000 if solicited else 0) | 0x20000000          # S, O (RFC 4861 4.4)
    body = struct.pack("!I", flags) + a6(target) + struct.pack("!BB", 2, 1) + mac_bytes(mac)
    return icmp6(src, dst, 136, 0, body)


def neighbour_solicit(src, target, mac):
    body = b"\0\0\0\0" + a6(target) + struct.pack("!BB", 1, 1) + mac_bytes(mac)
    return icmp6(src, solicited_node(target), 135, 0, body)


class Peer6(rawtcp.Peer):
    """rawtcp.Peer with an IPv6 address; Conn objects are rawtcp.Conn."""

    def __init__(self, net, ip="2001:db8::50", mac=None, guest_ip=GUEST_IP6, guest_mac=GUEST_MAC,
                 seed=None):
        last = a6(ip)[14:16]
        super().__init__(net, ip="192.0.2.250", mac=mac or "02:00:6e:00:%02x:%02x" % tuple(last),
                         guest_mac=guest_mac, seed=seed)
        self.ip, self.guest_ip = str(ipaddress.IPv6Address(ip)), guest_ip
        self.nd_answered = 0

    def frame6(self, nxt, payload, dst_mac=None, **kw):
        return eth(dst_mac or self.guest_mac, self.mac, ETH_IP6,
                   ipv6(self.ip, self.guest_ip, nxt, payload, **kw))

    def send_tcp(self, sport, dport, seq, ack, flags, window, payload=b"", options=b""):
        self.send_frame(self.frame6(PROTO_TCP, tcp6(self.ip, self.guest_ip, sport, dport, seq,
                                                    ack, flags, window, options, payload)))

    def announce(self):
        """A neighbour solicitation for the guest from us: the guest learns our MAC (RFC 4861
        7.2.3) and answers, so its first SYN-ACK needs no round trip of its own."""
        ns = neighbour_solicit(self.ip, self.guest_ip, self.mac)
        self.send_frame(eth(mcast_mac(solicited_node(self.guest_ip)), self.mac, ETH_IP6,
                            ipv6(self.ip, solicited_node(self.guest_ip), PROTO_ICMP6, ns,
                                 hlim=255)))

    # ---- IPv6 framing (the TCP engine is rawtcp.Peer's) ----
    def addr_bytes(self):
        return a6(self.ip)

    def _l3_in(self, frame):
        """Answers neighbour solicitations for our address; returns the TCP segment of an
        IPv6 frame to us, or None (other IPv6 frames to us are kept in self.other)."""
        if len(frame) < 54 or struct.unpack("!H", frame[12:14])[0] != ETH_IP6:
            return None
        ip = frame[14:]
        nxt, src = ip[6], ip[8:24]
        plen = struct.unpack("!H", ip[4:6])[0]
        body = ip[40:40 + plen]
        if nxt == PROTO_ICMP6 and len(body) >= 24 and body[0] == 135 and body[8:24] == self._me:
            smac = ":".join("%02x" % x for x in frame[6:12])
            s6 = str(ipaddress.IPv6Address(src))
            na = neighbour_advert(self.ip, s6, self.ip, self.mac)
            self.send_frame(eth(smac, self.mac, ETH_IP6,
                                ipv6(self.ip, s6, PROTO_ICMP6, na, hlim=255)))
            self.nd_answered += 1
            return None
        if frame[0:6] != self._mine or ip[24:40] != self._me:
            return None
        if nxt != PROTO_TCP or len(body) < 20:
            self.other.append((time.monotonic(), frame))
            return None
        return body


def inet6_socket(net):
    return net.socket(socket.AF_INET6, socket.SOCK_STREAM)
