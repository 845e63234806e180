"""IPv6 frame builders and a seeded generator of hostile IPv6 frames (test_ipv6_malformed.py).

Checksums are right unless a category is about wrong ones, so lwIP really parses what
follows: extension header chains (long, looping lengths, past the packet), fragments
(overlapping, never completed, past 64 KiB, tiny first fragments), neighbour discovery with
option lengths 0 and 255, router advertisements with odd prefixes, MTUs and timers, MLD queries,
ICMPv6 errors quoting anything, TCP segments with option garbage, lying payload lengths.
Standard library only."""

import ipaddress
import random
import struct

from tapnet import GUEST_MAC, csum, eth

ETH_IP6 = 0x86dd
HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, AH, NONE = 0, 43, 44, 60, 51, 59
TCP, UDP, ICMP6 = 6, 17, 58


def a6(addr):
    return ipaddress.IPv6Address(addr).packed


def l4_csum(src, dst, proto, seg):
    """RFC 8200 8.1 pseudo-header checksum (seg has its checksum field zeroed)."""
    return csum(a6(src) + a6(dst) + struct.pack("!IxxxB", len(seg), proto) + seg)


def ipv6(src, dst, nh, payload, hlim=64, plen=None):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload) if plen is None else plen,
                       nh, hlim, a6(src), a6(dst)) + payload


def icmp6(src, dst, typ, code, body, bad_csum=False):
    m = bytearray(struct.pack("!BBH", typ, code, 0) + body)
    c = l4_csum(src, dst, ICMP6, bytes(m))
    struct.pack_into("!H", m, 2, c ^ (0x5a5a if bad_csum else 0))
    return bytes(m)


def tcp6(src, dst, sport, dport, seq=0, ack=0, flags=0x02, win=65535, options=b"", payload=b"",
         doff=None):
    opt = options + b"\0" * (-len(options) % 4)
    hl = 20 + len(opt)
    d = (hl // 4) if doff is None else doff
    seg = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, d << 4, flags, win, 0, 0)
                    + opt + payload)
    struct.pack_into("!H", seg, 16, l4_csum(src, dst, TCP, bytes(seg)))
    return bytes(seg)


def ip6_is_linklocal(addr):
    return ipaddress.IPv6Address(addr).is_link_local


def solicited_node_mac(addr):
    b = a6(addr)
    return "33:33:ff:%02x:%02x:%02x" % (b[13], b[14], b[15])


class Malformed6:
    """Hostile IPv6 frames to the guest (host at src_ll / host_ip, guest at guest_ll/ip)."""

    def __init__(self, seed, host_mac, host_ll, host_ip, guest_ll, guest_ip, guest_mac=GUEST_MAC):
        self.r = random.Random(seed)
        self.hm, self.gm = host_mac, guest_mac
        self.hll, self.hip, self.gll, self.gip = host_ll, host_ip, guest_ll, guest_ip
        self.cats = [n[4:] for n in dir(self) if n.startswith("gen_")]
        self.ra_sources = set()     # routers the guest may now hold on to (see withdraw_routers)

    def rb(self, n):
        return bytes(self.r.getrandbits(8) for _ in range(max(0, n)))

    def e(self, pkt, dst=None):
        return eth(dst or self.gm, self.hm, ETH_IP6, pkt)

    def dst(self):
        return self.r.choice([self.gip, self.gll, "ff02::1", "ff02::1:ff00:2", "ff02::2",
                              "2001:db8::77", "ff05::1", "::1"])

    def src(self):
        return self.r.choice([self.hip, self.hll, "fe80::%x" % self.r.randrange(1, 1 << 16),
                              "2001:db8::%x" % self.r.randrange(3, 1 << 16), "::", "ff02::1",
                              "::1", "::ffff:192.0.2.1"])

    def ext(self, nh, body_len=None):
        """One extension header (next header nh), random content, sane or lying length."""
        hl = self.r.choice([0, 0, 1, 2, 31, 255]) if body_len is None else body_len
        body = self.rb(6 + 8 * hl)
        if self.r.random() < 0.3:       # options: Pad1, PadN with lying lengths, jumbo, router alert
            opts = self.r.choice([b"\x00" * 6, b"\x01\x04\0\0\0\0", b"\x01\xff\0\0\0\0",
                                  b"\xc2\x04\0\x01\0\0", b"\x05\x02\0\0\x01\x00",
                                  b"\x01\x00\x01\x00\x01\x00"])
            body = opts + body[6:]
        return bytes([nh, hl]) + body

    def gen_ext_chain(self):
        n = self.r.randrange(1, 20)
        kinds = [self.r.choice([HOPOPTS, ROUTING, DSTOPTS, AH, FRAGMENT]) for _ in range(n)]
        last = self.r.choice([ICMP6, TCP, UDP, NONE, 250])
        payload = icmp6(self.hip, self.gip, 128, 0, self.rb(12)) if last == ICMP6 else self.rb(24)
        for i in reversed(range(n)):
            nxt = kinds[i + 1] if i + 1 < n else last
            if kinds[i] == FRAGMENT:
                payload = struct.pack("!BBHI", nxt, 0, self.r.choice([0, 1, 8, 0xfff9]),
                                      self.r.getrandbits(32)) + payload
            elif kinds[i] == AH:
                payload = bytes([nxt, self.r.choice([0, 1, 4, 255])]) + self.rb(10) + payload
            else:
                payload = self.ext(nxt, self.r.choice([None, 0])) + payload
        cut = len(payload) if self.r.random() < 0.7 else self.r.randrange(len(payload) + 1)
        return self.e(ipv6(self.src(), self.gip, kinds[0], payload[:cut]))

    def gen_fragments(self):
        ident = self.r.randrange(4) if self.r.random() < 0.4 else self.r.getrandbits(32)
        nxt = self.r.choice([ICMP6, TCP, UDP, NONE])
        k = self.r.random()
        if k < 0.25:
            off, m = 0, 1                               # first only: never completes
        elif k < 0.45:
            off, m = self.r.randrange(1, 8000), 1       # middle pieces
        elif k < 0.6:
            off, m = self.r.randrange(1, 8191), 0       # last pieces, some past 64 KiB
        elif k < 0.75:
            off, m = 0, 0                               # atomic fragment (RFC 6946)
        else:
            off, m = self.r.randrange(0, 4), self.r.randrange(2)   # overlapping
        data = self.rb(self.r.choice([0, 1, 3, 7, 8, 16, 256, 1232]))
        if nxt == ICMP6 and off == 0 and len(data) >= 8 and self.r.random() < 0.5:
            data = icmp6(self.hip, self.gip, 128, 0, data[4:])
        fh = struct.pack("!BBHI", nxt, 0, (off << 3) | m, ident)
        return self.e(ipv6(self.hip, self.gip, FRAGMENT, fh + data))

    def nd_options(self):
        out = b""
        for _ in range(self.r.randrange(0, 5)):
            typ = self.r.choice([1, 2, 3, 4, 5, 24, 25, 31, 0, 255])
            ln = self.r.choice([0, 1, 1, 2, 4, 4, 255])
            body = self.rb(8 * ln - 2) if ln else b""
            if typ == 3 and ln == 4 and self.r.random() < 0.7:    # prefix information
                plen = self.r.choice([0, 1, 48, 64, 64, 64, 65, 128, 200])
                flags = self.r.choice([0xc0, 0x40, 0x80, 0, 0xff])
                valid = self.r.choice([0, 1, 7200, 0xffffffff, self.r.getrandbits(32)])
                pref = self.r.choice([0, valid, 0xffffffff])
                pfx = self.r.choice(["2001:db8::", "2001:db8:%x::" % self.r.randrange(1 << 16),
                                     "fe80::", "ff02::", "::"])
                body = struct.pack("!BBIII16s", plen, flags, valid, pref, 0, a6(pfx))
            elif typ == 5 and ln == 1:                                # MTU
                body = struct.pack("!HI", 0, self.r.choice([0, 1, 68, 1279, 1280, 1400, 1500,
                                                            9000, 0xffffffff]))
            out += bytes([typ, ln]) + body
        if self.r.random() < 0.2:
            out = out[:self.r.randrange(len(out) + 1)]              # cut inside an option
        return out

    def gen_nd(self):
        typ = self.r.choice([133, 134, 134, 134, 135, 135, 136, 137])
        src = self.r.choice([self.hll, self.hll, "fe80::%x" % self.r.randrange(1, 1 << 16),
                             self.hip, "::"])
        dst = self.r.choice([self.gll, "ff02::1", "ff02::1:ffc0:2", self.gip])
        hlim = 255 if self.r.random() < 0.85 else self.r.choice([0, 1, 64, 254])
        if typ == 134:        # RA: hop limit, flags, router lifetime, reachable, retrans
            fixed = struct.pack("!BBHII", self.r.choice([0, 1, 64, 255]), self.r.getrandbits(8),
                                self.r.choice([0, 1, 1800, 9000, 0xffff]),
                                self.r.choice([0, 1, 30000, 0xffffffff]),
                                self.r.choice([0, 1, 1000, 0xffffffff]))
        elif typ in (135, 136):
            target = self.r.choice([self.gll, self.gip, self.hip, "ff02::1", "::",
                                    "2001:db8::%x" % self.r.randrange(1 << 16)])
            fixed = struct.pack("!I16s", self.r.getrandbits(32) & 0xe0000000, a6(target))
        elif typ == 137:      # redirect: target, destination
            fixed = struct.pack("!I16s16s", 0, a6(self.r.choice([self.hll, self.gll, "::"])),
                                a6(self.r.choice([self.hip, "2001:db8::9", "ff02::1"])))
        else:
            fixed = b"\0\0\0\0"
        if typ == 134 and ip6_is_linklocal(src):
            self.ra_sources.add(src)
        body = fixed + self.nd_options()
        if self.r.random() < 0.1:
            body = body[:self.r.randrange(len(body) + 1)]
        code = 0 if self.r.random() < 0.9 else self.r.randrange(256)
        m = icmp6(src, dst, typ, code, body, bad_csum=self.r.random() < 0.05)
        mac = self.gm if not dst.startswith("ff02") else (
            "33:33:00:00:00:01" if dst == "ff02::1" else solicited_node_mac(self.gll))
        return self.e(ipv6(src, dst, ICMP6, m, hlim=hlim), dst=mac)

    def gen_icmp6_errors(self):
        typ = self.r.choice([1, 2, 2, 3, 4, 100, 127])
        quoted_src = self.r.choice([self.gip, self.gll, self.hip])
        quoted = ipv6(quoted_src, self.r.choice([self.hip, "2001:db8::99", "ff02::1"]),
                      self.r.choice([TCP, UDP, ICMP6, FRAGMENT]), self.rb(self.r.randrange(0, 64)),
                      plen=self.r.choice([None, 0, 1, 65535]))
        quoted = quoted[:self.r.choice([len(quoted), 0, 8, 39, 40, 48])]
        mtu = self.r.choice([0, 1, 60, 1279, 1280, 1400, 1500, 65535, 0xffffffff])
        body = struct.pack("!I", mtu if typ == 2 else self.r.getrandbits(32)) + quoted
        return self.e(ipv6(self.src(), self.gip, ICMP6, icmp6(self.hip, self.gip, typ,
                                                              self.r.randrange(8), body)))

    def gen_mld(self):
        typ = self.r.choice([130, 130, 131, 132, 143])
        group = self.r.choice(["::", "ff02::1", "ff02::1:ffc0:2", "ff05::2", "2001:db8::1"])
        body = struct.pack("!HH16s", self.r.choice([0, 1, 10000, 0xffff]), 0, a6(group))
        if self.r.random() < 0.5:     # MLDv2 query tail: S/QRV, QQIC, sources (count may lie)
            n = self.r.choice([0, 1, 2, 0xffff])
            body += struct.pack("!BBH", self.r.getrandbits(8), self.r.getrandbits(8), n)
            body += self.rb(16 * self.r.randrange(0, 3))
        body = body[:self.r.choice([len(body), 0, 2, 10, 20])]
        src = self.r.choice([self.hll, "::", self.hip])
        hop = bytes([ICMP6, 0]) + b"\x05\x02\0\0\x01\x00"         # router alert
        m = icmp6(src, "ff02::1", typ, 0, body)
        return self.e(ipv6(src, "ff02::1", HOPOPTS, hop + m, hlim=1), dst="33:33:00:00:00:01")

    def gen_lengths(self):
        m = icmp6(self.hip, self.gip, 128, 0, struct.pack("!HH", 0x4242, self.r.getrandbits(16))
                  + self.rb(self.r.randrange(0, 64)))
        plen = self.r.choice([0, 1, 7, len(m) - 1, len(m) + 1, len(m) + 500, 65535])
        return self.e(ipv6(self.hip, self.gip, ICMP6, m, plen=plen))

    def gen_tcp(self):
        olen = self.r.choice([0, 4, 8, 20, 40])
        opt = bytes([self.r.choice([1, 2, 3, 4, 5, 8, 30]), self.r.choice([0, 1, 2, 255])])
        opt += self.rb(olen - 2) if olen else b""
        seg = tcp6(self.r.choice([self.hip, self.hll]), self.gip, self.r.randrange(1024, 65536),
                   self.r.choice([80, 5001, 81]), seq=self.r.getrandbits(32),
                   ack=self.r.getrandbits(32),
                   flags=self.r.choice([0x02, 0x12, 0x10, 0x18, 0x01, 0x04, 0x11, 0xff]),
                   options=opt if olen else b"", payload=self.rb(self.r.randrange(0, 40)),
                   doff=self.r.choice([None, None, None, 0, 1, 4, 15]))
        return self.e(ipv6(self.hip, self.gip, TCP, seg))

    def gen_random(self):
        pkt = ipv6(self.src(), self.dst(), self.r.randrange(256), self.rb(self.r.randrange(0, 200)))
        if self.r.random() < 0.3:
            pkt = pkt[:self.r.randrange(0, 40)]
        return self.e(pkt, dst=self.r.choice([self.gm, "33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff"]))

    def withdraw_routers(self):
        """RAs with router lifetime 0 (RFC 4861 6.3.4) from every router the barrage advertised:
        a router that never answers stays in lwIP's default router list, probed and holding the
        packets queued for it, until its lifetime ends (at most 18 h): bounded, and released
        here so the pools can be checked for leaks."""
        for src in sorted(self.ra_sources):
            ra = icmp6(src, "ff02::1", 134, 0, struct.pack("!BBHII", 64, 0, 0, 0, 0))
            yield "withdraw", self.e(ipv6(src, "ff02::1", ICMP6, ra, hlim=255),
                                     dst="33:33:00:00:00:01")

    def frames(self, n):
        for i in range(n):
            c = self.cats[i % len(self.cats)]
            yield c, getattr(self, "gen_" + c)()
