"""Hostile frames for the guest on the tap: the seeded malformed-frame generator (Malformed,
test_malformed.py, test_attacks.py), the SYN generator (test_storm.py), the AF_PACKET
socket that sends them (packet_socket, blast), and a paced flood with fetches beside it
(paced_blast; flood_with_fetches: test_arp_churn.py, test_ipv6_nd.py)."""

import random
import socket
import struct
import threading
import time

from harness.frames import (ETH_ARP, ETH_IP, ETH_IP6, ETH_QINQ, ETH_VLAN, PROTO_ICMP, PROTO_TCP,
                            PROTO_UDP, arp, eth, icmp, ipv4, mac_bytes, tcp, udp)
from harness.netns import GUEST_IP, GUEST_MAC, HOST_IP

class Malformed:
    """Yields (category, frame) of hostile frames for the guest: every frame is addressed to
    the guest's MAC (or broadcast), seeded so a failure can be replayed.

    Sources are the host (192.0.2.1, the tap's MAC) or addresses nobody owns in 192.0.2.0/24,
    never a spoofed 192.0.2.1/.2 in ARP (that would poison the guest's ARP cache for the rest
    of the test)."""

    def __init__(self, host_mac, guest_mac=GUEST_MAC, seed=1, jumbo_max=1514):
        self.r = random.Random(seed)
        self.hm = host_mac
        self.gm = guest_mac
        self.jumbo_max = jumbo_max
        self.ident = self.r.randrange(1 << 16)
        self.cats = [m[4:] for m in dir(self) if m.startswith("gen_")]
        self.cats.sort()

    def rb(self, n):
        return self.r.randbytes(n)

    def e(self, payload, etype=ETH_IP, dst=None):
        return eth(dst or self.gm, self.hm, etype, payload)

    def src(self):
        return self.r.choice([HOST_IP, HOST_IP, "192.0.2.%d" % self.r.randrange(100, 250),
                              "0.0.0.0", "255.255.255.255", "10.9.8.7", "224.0.0.1",
                              "192.0.2.255", "127.0.0.1"])

    def dst(self):
        return self.r.choice([GUEST_IP, GUEST_IP, GUEST_IP, "192.0.2.255", "255.255.255.255",
                              "224.0.0.1", "192.0.2.77", "0.0.0.0"])

    def next_id(self):
        self.ident = (self.ident + 1) & 0xffff
        return self.ident

    def l4(self, s, d, proto=None):
        proto = proto or self.r.choice([PROTO_TCP, PROTO_UDP, PROTO_ICMP])
        if proto == PROTO_TCP:
            return proto, tcp(s, d, self.r.randrange(1024, 65536), self.r.choice([80, 5001, 7, 81]),
                              seq=self.r.randrange(1 << 32), flags=self.r.randrange(256),
                              payload=self.rb(self.r.randrange(0, 64)))
        if proto == PROTO_UDP:
            return proto, udp(s, d, self.r.randrange(1024, 65536), self.r.choice([7, 53, 67, 5001]),
                              payload=self.rb(self.r.randrange(0, 64)))
        return proto, icmp(self.r.choice([8, 8, 0, 3, 5, 11, 13, 17, 255]), self.r.randrange(4),
                           self.r.randrange(65536), self.r.randrange(65536),
                           self.rb(self.r.randrange(0, 64)))

    # ---- categories (each returns one frame) ----
    def gen_runt(self):
        # 14..59 bytes: below Ethernet's minimum; AF_PACKET cannot send under 14
        et = self.r.choice([ETH_IP, ETH_ARP, ETH_VLAN, 0x1234])
        return self.e(self.rb(self.r.randrange(0, 46)), et)

    def gen_trunc_ip(self):
        p = ipv4(HOST_IP, GUEST_IP, *self.l4(HOST_IP, GUEST_IP), ident=self.next_id())
        return self.e(p[:self.r.randrange(0, 20)])

    def gen_trunc_l4(self):
        proto = self.r.choice([PROTO_TCP, PROTO_UDP, PROTO_ICMP])
        _, seg = self.l4(HOST_IP, GUEST_IP, proto)
        hl = {PROTO_TCP: 20, PROTO_UDP: 8, PROTO_ICMP: 8}[proto]
        seg = seg[:self.r.randrange(0, hl)]
        lie = self.r.random() < 0.5     # total length consistent, or claiming the full header
        return self.e(ipv4(HOST_IP, GUEST_IP, proto, seg, ident=self.next_id(),
                           total=(20 + hl + 10) if lie else None))

    def gen_ip_lengths(self):
        proto, seg = self.l4(HOST_IP, GUEST_IP)
        ln = 20 + len(seg)
        total = self.r.choice([0, 1, 19, 20, ln - 1, ln + 1, ln + 100, 1500, 65535,
                               self.r.randrange(65536)])
        ihl = self.r.choice([None, None, 0, 1, 4, 6, 15])
        return self.e(ipv4(HOST_IP, GUEST_IP, proto, seg, ident=self.next_id(), total=total,
                           ihl=ihl))

    def gen_ip_version(self):
        p = bytearray(ipv4(HOST_IP, GUEST_IP, *self.l4(HOST_IP, GUEST_IP), ident=self.next_id()))
        p[0] = (self.r.choice([0, 5, 6, 15]) << 4) | (p[0] & 0xf)
        return self.e(bytes(p), self.r.choice([ETH_IP, ETH_IP6]))

    def gen_bad_csum(self):
        proto, seg = self.l4(HOST_IP, GUEST_IP)
        seg = bytearray(seg)
        if self.r.random() < 0.5 and len(seg) > 8:
            off = {PROTO_TCP: 16, PROTO_UDP: 6, PROTO_ICMP: 2}[proto]
            seg[off] ^= 0x5a
            return self.e(ipv4(HOST_IP, GUEST_IP, proto, bytes(seg), ident=self.next_id()))
        return self.e(ipv4(HOST_IP, GUEST_IP, proto, bytes(seg), ident=self.next_id(),
                           check=self.r.randrange(65536)))

    def gen_ip_options(self):
        n = self.r.choice([4, 8, 12, 20, 40])
        kind = self.r.random()
        if kind < 0.3:
            opts = self.rb(n)
        elif kind < 0.6:   # option lengths 0, 1, 255, past the header
            opts = bytes([self.r.choice([7, 68, 130, 131, 137, 148, 0x44]),
                          self.r.choice([0, 1, 2, 255, n + 4])]) + self.rb(n - 2)
        else:              # NOPs then a lying option
            opts = b"\x01" * (n - 2) + bytes([self.r.randrange(256), self.r.choice([0, 255])])
        return self.e(ipv4(HOST_IP, GUEST_IP, *self.l4(HOST_IP, GUEST_IP), options=opts,
                           ident=self.next_id()))

    def gen_tcp_options(self):
        # valid checksums, so lwIP really parses the options (an options length of 0 has
        # looped other stacks for ever)
        olen = self.r.choice([4, 8, 12, 20, 40])
        k = self.r.random()
        if k < 0.4:
            opt = bytes([self.r.choice([2, 3, 4, 5, 8, 30, 254]), self.r.choice([0, 255, 1])])
            opt += self.rb(olen - 2)
        elif k < 0.6:
            opt = b"\x01" * (olen - 2) + bytes([self.r.choice([2, 3, 8]), self.r.choice([0, 255])])
        elif k < 0.8:
            opt = self.rb(olen)
        else:
            opt = bytes([2, 4, 0, 0]) + b"\x01" * (olen - 4)      # MSS 0
        doff = self.r.choice([None, None, None, 0, 1, 4, 15])
        flags = self.r.choice([0x02, 0x02, 0x12, 0x10, 0x18, 0x01, 0x04, 0x03, 0xff])
        seg = tcp(HOST_IP, GUEST_IP, self.r.randrange(1024, 65536), self.r.choice([80, 5001, 81]),
                  seq=self.r.randrange(1 << 32), flags=flags, options=opt, doff=doff,
                  payload=self.rb(self.r.randrange(0, 32)))
        return self.e(ipv4(HOST_IP, GUEST_IP, PROTO_TCP, seg, ident=self.next_id()))

    def gen_udp_lengths(self):
        pl = self.rb(self.r.randrange(0, 64))
        ln = self.r.choice([0, 1, 7, 8 + len(pl) + 1, 8 + len(pl) + 500, 65535])
        return self.e(ipv4(HOST_IP, GUEST_IP, PROTO_UDP,
                           udp(HOST_IP, GUEST_IP, self.r.randrange(1024, 65536),
                               self.r.choice([7, 5001, 9]), pl, length=ln)))

    def gen_fragments(self):
        """Overlapping, never-completed, past-64K, tiny; one id per frame or a few per id."""
        ident = self.next_id() if self.r.random() < 0.7 else self.r.randrange(16)
        k = self.r.random()
        proto = self.r.choice([PROTO_ICMP, PROTO_UDP, PROTO_TCP])
        if k < 0.3:        # first fragment only (MF set): never completes
            off, mf = 0, 1
        elif k < 0.5:      # a middle piece only
            off, mf = self.r.randrange(1, 500), 1
        elif k < 0.65:     # a last piece only
            off, mf = self.r.randrange(1, 8000), 0
        elif k < 0.8:      # beyond 65535 once reassembled
            off, mf = self.r.choice([8189, 8190, 8191]), self.r.randrange(2)
        else:              # overlapping with whatever came before for this small id
            off, mf = self.r.randrange(0, 4), self.r.randrange(2)
        data = self.rb(self.r.choice([8, 16, 24, 256, 1400]))
        return self.e(ipv4(HOST_IP, GUEST_IP, proto, data, ident=ident,
                           flags_frag=(mf << 13) | off))

    def gen_arp(self):
        spa = "192.0.2.%d" % self.r.randrange(100, 250)
        sha = "02:00:00:%02x:%02x:%02x" % tuple(self.rb(3))
        k = self.r.random()
        dst = self.r.choice([self.gm, "ff:ff:ff:ff:ff:ff"])
        if k < 0.35:       # odd hardware / protocol lengths with matching or short bodies
            hlen = self.r.choice([0, 1, 5, 7, 16, 255])
            plen = self.r.choice([0, 1, 4, 6, 16, 255])
            body = arp(self.r.choice([1, 2]), None, None, None, None, hlen=hlen, plen=plen,
                       raw_addrs=self.rb(self.r.choice([0, 4, 20, 2 * hlen + 2 * plen])))
        elif k < 0.5:      # wrong hardware/protocol type
            body = arp(self.r.choice([1, 2]), sha, spa, "00:00:00:00:00:00", GUEST_IP,
                       htype=self.r.choice([0, 6, 0xffff]), ptype=self.r.choice([0, ETH_IP6, 0xffff]))
        elif k < 0.65:     # truncated
            body = arp(1, sha, spa, "00:00:00:00:00:00", GUEST_IP)[:self.r.randrange(0, 28)]
        elif k < 0.8:      # bad opcodes, odd sender addresses
            body = arp(self.r.choice([0, 3, 4, 0xffff]), sha,
                       self.r.choice([spa, "0.0.0.0", "255.255.255.255", "224.0.0.5"]),
                       "00:00:00:00:00:00", GUEST_IP)
        else:              # well-formed requests from addresses nobody else uses
            body = arp(1, sha, spa, "00:00:00:00:00:00",
                       self.r.choice([GUEST_IP, "192.0.2.77", "192.0.2.255"]))
        return eth(dst, self.hm, ETH_ARP, body)

    def gen_vlan(self):
        inner = ipv4(HOST_IP, GUEST_IP, PROTO_ICMP, icmp(8, 0, 0x7777, self.r.randrange(65536),
                                                          self.rb(16)))
        tag = struct.pack("!H", self.r.randrange(65536))
        k = self.r.random()
        if k < 0.4:
            pl = tag + struct.pack("!H", ETH_IP) + inner
        elif k < 0.7:      # Q-in-Q
            pl = tag + struct.pack("!H", ETH_VLAN) + tag + struct.pack("!H", ETH_IP) + inner
        else:              # a tag and nothing (or part of a type) after it
            pl = tag[:self.r.randrange(0, 3)] + self.rb(self.r.randrange(0, 3))
        return self.e(pl, self.r.choice([ETH_VLAN, ETH_QINQ]))

    def gen_jumbo(self):
        if self.jumbo_max <= 1514:
            n = self.r.randrange(1000, 1515)
        else:
            n = self.r.choice([1515, 1518, 1522, 2048, 4000, 9000, 9018, 16384, 32768,
                               self.jumbo_max, self.r.randrange(1515, self.jumbo_max + 1)])
            n = min(n, self.jumbo_max)
        k = self.r.random()
        if k < 0.5:        # an IP packet that claims its (jumbo) length
            proto = self.r.choice([PROTO_UDP, PROTO_ICMP])
            pl = self.rb(n - 14 - 20 - 8)
            seg = udp(HOST_IP, GUEST_IP, 4444, 7, pl) if proto == PROTO_UDP else icmp(8, 0, 1, 1, pl)
            return self.e(ipv4(HOST_IP, GUEST_IP, proto, seg, ident=self.next_id()))
        return self.e(self.rb(n - 14), self.r.choice([ETH_IP, 0x1234, ETH_ARP]))

    def gen_random(self):
        n = self.r.randrange(14, 1515)
        k = self.r.random()
        if k < 0.3:
            return self.rb(n)                                    # any MAC, any type
        if k < 0.6:
            return mac_bytes(self.gm) + self.rb(n - 6)
        if k < 0.8:
            return mac_bytes("ff:ff:ff:ff:ff:ff") + self.rb(n - 6)
        hdr = bytearray(ipv4(HOST_IP, GUEST_IP, self.r.randrange(256), b""))
        return self.e(bytes(hdr[:12]) + self.rb(max(0, n - 14 - 12)))  # IPv4-looking, then noise

    def gen_odd_addresses(self):
        s, d = self.src(), self.dst()
        proto, seg = self.l4(s, d)
        return self.e(ipv4(s, d, proto, seg, ident=self.next_id(), ttl=self.r.choice([0, 1, 64])),
                      dst=self.r.choice([self.gm, "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"]))

    def gen_llc(self):
        # 802.3 length field instead of an EtherType, and other EtherTypes nobody handles
        et = self.r.choice([0, 46, 1500, 0x05ff, 0x0600, 0x88cc, 0x8863, 0x8847, 0xffff])
        return self.e(self.rb(self.r.randrange(0, 200)), et)

    def gen_tcp_state(self):
        # segments into the middle of nowhere: no connection, random flags and numbers
        seg = tcp(HOST_IP, GUEST_IP, self.r.randrange(1024, 65536), 80,
                  seq=self.r.randrange(1 << 32), ack=self.r.randrange(1 << 32),
                  flags=self.r.choice([0x10, 0x18, 0x11, 0x04, 0x14, 0x03, 0x00, 0x29, 0xff]),
                  win=self.r.randrange(65536), payload=self.rb(self.r.randrange(0, 100)))
        return self.e(ipv4(HOST_IP, GUEST_IP, PROTO_TCP, seg, ident=self.next_id()))

    def frames(self, n):
        for i in range(n):
            c = self.cats[i % len(self.cats)]
            yield c, getattr(self, "gen_" + c)()


def packet_socket(net, sndbuf=1 << 20):
    """AF_PACKET raw socket on the namespace's tap: frames sent on it go to QEMU (the guest)."""
    s = net.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.bind((net.tap, 0))
    return s


def blast(sock, frames, deadline=None):
    """Send frames as fast as the socket takes them; returns (sent, refused by the kernel,
    {category: sent}). ENOBUFS is retried once after a short pause."""
    sent = refused = 0
    per = {}
    for cat, f in frames:
        if deadline is not None and time.monotonic() > deadline:
            break
        try:
            sock.send(f)
        except OSError as e:
            if e.errno == 105:             # ENOBUFS
                time.sleep(0.001)
                try:
                    sock.send(f)
                except OSError:
                    refused += 1
                    continue
            else:
                refused += 1
                continue
        sent += 1
        per[cat] = per.get(cat, 0) + 1
    return sent, refused, per


def syn_frames(host_mac, n, src_ip=HOST_IP, guest_mac=GUEST_MAC, dport=80, seed=7,
               port_base=20000):
    """n SYNs to the guest from n different source ports."""
    r = random.Random(seed)
    for i in range(n):
        sport = port_base + (i % 40000)
        seg = tcp(src_ip, GUEST_IP, sport, dport, seq=r.randrange(1 << 32), flags=0x02,
                  options=bytes([2, 4, 0x05, 0xb4]))
        yield "syn", eth(guest_mac, host_mac, ETH_IP, ipv4(src_ip, GUEST_IP, PROTO_TCP, seg,
                                                            ident=i))


def paced_blast(sock, frames, per_s, burst, between=None):
    """blast() frames in bursts of `burst` at per_s frames a second on average; between() (if
    given) runs after each burst. Returns how many the socket took."""
    t0 = time.monotonic()
    sent = 0
    for i in range(0, len(frames), burst):
        sent += blast(sock, frames[i:i + burst])[0]
        if between is not None:
            between()
        delay = t0 + (i + burst) / per_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return sent


def flood_with_fetches(net, flood, capture_type, fetch, per_s, burst=30, every=0.2, slow_s=2.0):
    """Send flood ((category, frame) pairs) on net's tap at per_s frames a second, in bursts,
    while fetch() (-> an HTTP status) runs every `every` s, capturing the frames of EtherType
    capture_type on the tap meanwhile. Returns (captured frames, [(t, seconds, status) of each
    fetch that failed or took over slow_s])."""
    cap = net.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(capture_type))
    cap.bind((net.tap, capture_type))
    cap.settimeout(0.2)
    frames, stop = [], threading.Event()

    def capture():
        while not stop.is_set():
            try:
                frames.append(cap.recv(2048))
            except socket.timeout:
                pass

    th = threading.Thread(target=capture, daemon=True)
    th.start()
    sock = packet_socket(net)
    slow = []
    t0 = time.monotonic()
    next_get = [t0]

    def fetch_if_due():
        if time.monotonic() >= next_get[0]:
            t = time.monotonic()
            try:
                st = fetch()
            except OSError as e:
                st = repr(e)
            dt = time.monotonic() - t
            if st != 200 or dt > slow_s:
                slow.append((round(t - t0, 1), round(dt, 2), st))
            next_get[0] = time.monotonic() + every

    try:
        paced_blast(sock, flood, per_s, burst, between=fetch_if_due)
    finally:
        sock.close()
        stop.set()
        th.join(2)
        cap.close()
    return frames, slow
