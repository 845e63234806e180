#!/usr/bin/env python3
"""Writes the lwip_eth seed corpus (the record format tests/fuzz/lwip_host/fuzz_eth.c
reads: FRAME = op 0, length (2 bytes), flags, [split], bytes; TIME = op 3, one byte).

    python3 tests/fuzz/mketh.py          # rewrites tests/fuzz/corpus/lwip_eth/*
"""
import os
import struct
import sys

FIX, TRUSTED, SPLIT = 1, 2, 4               # frame flags
US_MAC = bytes.fromhex('525400123456')
PEER_MAC = bytes.fromhex('02000000000a')
BCAST = b'\xff' * 6
US4, PEER4 = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 10])
US6 = bytes.fromhex('fe80000000000000505400fffe123456')    # link-local from the MAC
PEER6 = bytes.fromhex('fe80000000000000000000000000000a')
ALL_NODES = bytes.fromhex('ff020000000000000000000000000001')


def frame(b, flags=FIX, split=None):
    if split is not None:
        flags |= SPLIT
    r = bytes([0]) + struct.pack('>HB', len(b), flags)
    return r + (bytes([split]) if split is not None else b'') + b


def wait_ms(ms):
    assert 10 <= ms <= 1280
    return bytes([3, ms // 10 - 1])


def wait_s(s):
    assert 1 <= s <= 128
    return bytes([3, 127 + s])


def eth(dst, typ, payload, src=PEER_MAC):
    return dst + src + struct.pack('>H', typ) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack('>HHBBH', 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def csum(b):
    if len(b) & 1:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(proto, payload, src=PEER4, dst=US4, ident=1, frag=0, tot=None):
    h = struct.pack('>BBHHHBB2s4s4s', 0x45, 0, tot or 20 + len(payload), ident, frag, 64, proto,
                    b'\0\0', src, dst)
    h = h[:10] + struct.pack('>H', csum(h)) + h[12:]
    return h + payload


def icmp_echo(ident, seq, data, typ=8):
    m = struct.pack('>BBHHH', typ, 0, 0, ident, seq) + data
    return m[:2] + struct.pack('>H', csum(m)) + m[4:]


def ip6(nh, payload, src=PEER6, dst=US6, hop=64):
    return struct.pack('>IHBB', 0x60000000, len(payload), nh, hop) + src + dst + payload


def icmp6(typ, code, body, src=PEER6, dst=US6):
    m = bytes([typ, code, 0, 0]) + body
    ps = src + dst + struct.pack('>IxxxB', len(m), 58)
    return m[:2] + struct.pack('>H', csum(ps + m)) + m[4:]


def tcp(sport, dport, seq, ack, flags, opts=b'', data=b''):
    off = (20 + len(opts)) // 4
    return struct.pack('>HHIIBBHHH', sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + data


ARP_REQ = eth(BCAST, 0x0806, arp(1, PEER_MAC, PEER4, b'\0' * 6, US4))
ARP_REPLY = eth(US_MAC, 0x0806, arp(2, PEER_MAC, PEER4, US_MAC, US4))
PING = eth(US_MAC, 0x0800, ip4(1, icmp_echo(0x1234, 1, bytes(range(56)))))
NS = eth(bytes.fromhex('3333ff123456'), 0x86dd,
         ip6(58, icmp6(135, 0, b'\0' * 4 + US6 + bytes([1, 1]) + PEER_MAC,
                       dst=bytes.fromhex('ff0200000000000000000001ff123456')),
             dst=bytes.fromhex('ff0200000000000000000001ff123456'), hop=255))
NA = eth(US_MAC, 0x86dd, ip6(58, icmp6(136, 0, bytes([0x60, 0, 0, 0]) + PEER6 + bytes([2, 1]) + PEER_MAC),
                             hop=255))
PING6 = eth(US_MAC, 0x86dd, ip6(58, icmp6(128, 0, struct.pack('>HH', 0x99, 1) + bytes(range(32)))))
RTR6 = bytes.fromhex('fe800000000000000000000000000001')
RA = eth(bytes.fromhex('333300000001'), 0x86dd,
         ip6(58, icmp6(134, 0, struct.pack('>BBHII', 64, 0, 1800, 0, 0)
                       + bytes([1, 1]) + PEER_MAC                              # SLLAO
                       + struct.pack('>BBHI', 5, 1, 0, 1400)                   # MTU
                       + struct.pack('>BBBBIII', 3, 4, 64, 0xc0, 86400, 14400, 0)
                       + bytes.fromhex('20010db8000000010000000000000000'),    # prefix
                       src=RTR6, dst=ALL_NODES), src=RTR6, dst=ALL_NODES, hop=255))
MLD_QUERY = eth(bytes.fromhex('333300000001'), 0x86dd,
                ip6(0, bytes([58, 0, 5, 2, 0, 0, 1, 0])      # hop-by-hop: router alert
                    + icmp6(130, 0, struct.pack('>HH', 1000, 0) + b'\0' * 16, src=RTR6, dst=ALL_NODES),
                    src=RTR6, dst=ALL_NODES, hop=1))
MSS = bytes([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1])
SYN80 = eth(US_MAC, 0x0800, ip4(6, tcp(40000, 80, 1000, 0, 0x02, MSS)))
SYN_IPERF = eth(US_MAC, 0x0800, ip4(6, tcp(40001, 5001, 5000, 0, 0x02, MSS)))
SYN80_6 = eth(US_MAC, 0x86dd, ip6(6, tcp(40002, 80, 1000, 0, 0x02, MSS)))
UDP_CLOSED = eth(US_MAC, 0x0800, ip4(17, struct.pack('>HHHH', 5353, 9999, 12, 0) + b'abcd'))


def dhcp_reply(msg, xid, yiaddr=bytes([192, 0, 2, 50])):
    opts = (bytes([99, 130, 83, 99, 53, 1, msg, 54, 4]) + PEER4 + bytes([1, 4, 255, 255, 255, 0, 3, 4])
            + PEER4 + bytes([51, 4, 0, 0, 0, 60, 255]))     # lease 60 s: renewal at 30 s
    bootp = (bytes([2, 1, 6, 0]) + struct.pack('>I', xid) + b'\0' * 8 + yiaddr + b'\0' * 8 + US_MAC
             + b'\0' * 202 + opts)
    return eth(BCAST, 0x0800, ip4(17, struct.pack('>HHHH', 67, 68, 8 + len(bootp), 0) + bootp,
                                  src=PEER4, dst=b'\xff' * 4))


DHCP_START, DHCP_STOP = bytes([0x83, 0]), bytes([0x83, 1])
# The xid of the DISCOVER that DHCP_START sends first in an input (FUZZ_TRACE=1
# prints it: LWIP_RAND is seeded the same for every input).
XID = 0x47e4ce4b
DHCP_OFFER = dhcp_reply(2, XID)
DHCP_ACK = dhcp_reply(5, XID)


def frag4():
    dgram = icmp_echo(0x42, 7, bytes(i & 0xff for i in range(1200)))
    a, b = dgram[:800], dgram[800:]
    return (eth(US_MAC, 0x0800, ip4(1, a, ident=77, frag=0x2000)),
            eth(US_MAC, 0x0800, ip4(1, b, ident=77, frag=800 // 8)))


def frag6():
    echo = icmp6(128, 0, struct.pack('>HH', 0x43, 1) + bytes(i & 0xff for i in range(1200)))
    a, b = echo[:800], echo[800:]
    fh = lambda off, m: struct.pack('>BBHI', 58, 0, off | m, 0x1234567)
    return (eth(US_MAC, 0x86dd, ip6(44, fh(0, 1) + a)),
            eth(US_MAC, 0x86dd, ip6(44, fh(800, 0) + b)))


F4A, F4B = frag4()
F6A, F6B = frag6()
# The runt of patch 0609: Ethernet header + the first 8 bytes of an ARP request
# (up to the opcode; sender/target addresses missing).
SHORT_ARP = ARP_REQ[:14 + 8]

# Runts of patch 0610: the Ethernet header + the first 2 bytes of an IPv6 or
# IPv4 header (ip6_input read 4 bytes for the version, ip4_input the total
# length, before any length check).
IP6_RUNT = eth(bytes.fromhex('3333ff123456'), 0x86dd, b'\x60\x00')
IP4_RUNT = eth(US_MAC, 0x0800, b'\x45\x00')

# The runt of patch 0611: a UDP datagram not addressed to us (so ip4_input
# looks for a DHCP client port) whose IPv4 total length leaves 1 byte of UDP
# header.
UDP_RUNT = eth(US_MAC, 0x0800, ip4(17, b'\x00', dst=bytes([192, 0, 2, 99])))

SEEDS = {
    'arp_request': frame(ARP_REQ),
    'arp_reply': frame(ARP_REPLY),
    'ping': frame(ARP_REQ) + frame(PING) + wait_ms(100),
    'ping_split': frame(ARP_REPLY) + frame(PING, split=60),
    'ping6': frame(NA) + frame(PING6),
    'ns_na': frame(NS) + wait_ms(500) + frame(NA),
    'ra_slaac': frame(RA) + wait_s(3) + frame(NS),
    'mld_query': frame(MLD_QUERY) + wait_s(2),
    'tcp_syn80': frame(ARP_REPLY) + frame(SYN80, TRUSTED) + wait_s(1),
    'tcp_syn_iperf': frame(ARP_REPLY) + frame(SYN_IPERF),
    'tcp6_syn80': frame(NA) + frame(SYN80_6),
    'udp_closed': frame(ARP_REPLY) + frame(UDP_CLOSED),
    'dhcp_offer': frame(DHCP_OFFER),
    'dhcp_bind': DHCP_START + frame(DHCP_OFFER) + wait_ms(100) + frame(DHCP_ACK) + wait_s(35)
                 + frame(DHCP_ACK) + frame(PING) + DHCP_STOP,
    'frag4': frame(ARP_REPLY) + frame(F4A) + wait_ms(50) + frame(F4B),
    'frag4_incomplete': frame(F4A) + wait_s(20),
    'frag6': frame(NA) + frame(F6B) + frame(F6A),
    'regress_short_arp': frame(SHORT_ARP, 0),
    'regress_ip6_runt': frame(IP6_RUNT, 0),
    'regress_ip4_runt': frame(IP4_RUNT, 0),
    'regress_udp_runt_not_for_us': frame(UDP_RUNT, 0),
}


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(root, 'corpus', 'lwip_eth')
    os.makedirs(d, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(SEEDS), d), file=sys.stderr)


if __name__ == '__main__':
    main()
