"""Ethernet/IPv4/TCP/UDP/ICMP/ARP frame builders (every length and checksum may lie), and
tcp4_header, the reader of a captured IPv4/TCP frame's header fields."""

import collections
import socket
import struct

def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(a):
    return socket.inet_aton(a)


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


ETH_IP, ETH_ARP, ETH_VLAN, ETH_QINQ, ETH_IP6 = 0x0800, 0x0806, 0x8100, 0x88a8, 0x86dd
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17


def eth(dst, src, etype, payload):
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ident=0, flags_frag=0, ttl=64, tos=0, options=b"",
         ihl=None, total=None, check=None):
    """An IPv4 packet; ihl (words), total (length field) and check may lie."""
    hl = 20 + len(options)
    if ihl is None:
        ihl = hl // 4
    if total is None:
        total = hl + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | (ihl & 0xf), tos, total & 0xffff, ident & 0xffff,
                      flags_frag & 0xffff, ttl, proto, 0, ip_bytes(src), ip_bytes(dst)) + options
    c = csum(hdr) if check is None else check
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def _pseudo(src, dst, proto, length):
    return ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, proto, length)


def tcp(src, dst, sport, dport, seq=0, ack=0, flags=0x02, win=65535, options=b"", payload=b"",
        doff=None, check=None):
    hl = 20 + len(options)
    if doff is None:
        doff = hl // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      (doff & 0xf) << 4, flags & 0xff, win, 0, 0) + options
    seg = hdr + payload
    c = csum(_pseudo(src, dst, PROTO_TCP, len(seg)) + seg) if check is None else check
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload=b"", length=None, check=None):
    ln = 8 + len(payload) if length is None else length
    seg = struct.pack("!HHHH", sport, dport, ln & 0xffff, 0) + payload
    if check is None:
        c = csum(_pseudo(src, dst, PROTO_UDP, len(seg)) + seg) or 0xffff
    else:
        c = check
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(typ=8, code=0, ident=0, seq=0, payload=b"", check=None):
    hdr = struct.pack("!BBHHH", typ, code, 0, ident, seq) + payload
    c = csum(hdr) if check is None else check
    return hdr[:2] + struct.pack("!H", c) + hdr[4:]


def arp(op, sha, spa, tha, tpa, htype=1, ptype=ETH_IP, hlen=6, plen=4, raw_addrs=None):
    hdr = struct.pack("!HHBBH", htype, ptype, hlen & 0xff, plen & 0xff, op)
    if raw_addrs is not None:
        return hdr + raw_addrs
    return hdr + mac_bytes(sha) + ip_bytes(spa) + mac_bytes(tha) + ip_bytes(tpa)


Tcp4 = collections.namedtuple("Tcp4", "src dst ident sport dport seq ack flags")


def tcp4_header(frame):
    """The IPv4 and TCP header fields of a captured Ethernet frame (addresses as strings), or
    None if it is not IPv4 carrying TCP or is too short for both headers."""
    if len(frame) < 14 + 20 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != PROTO_TCP or len(ip) < ihl + 20:
        return None
    sport, dport, seq, ack = struct.unpack("!HHII", ip[ihl:ihl + 12])
    return Tcp4(socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]),
                struct.unpack("!H", ip[4:6])[0], sport, dport, seq, ack, ip[ihl + 13])
