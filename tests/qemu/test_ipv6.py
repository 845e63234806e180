"""IPv6 on a real peer (dual stack): the tap namespace with IPv6 on its host side
(tapnet.TapNet(ipv6=True): 2001:db8::1/64 on the tap, no DAD, no RA processing) and the host's
own ping, curl and iperf. Router advertisements come from the test itself (raw ICMPv6 socket,
standard library). Needs root and /dev/net/tun; skipped with the reason otherwise.

Guest MAC 52:54:00:c0:00:02, so its link-local address is fe80::5054:ff:fec0:2 (modified
EUI-64, RFC 4291 2.5.1) and SLAAC on 2001:db8::/64 gives 2001:db8::5054:ff:fec0:2."""

import hashlib
import ipaddress
import os
import re
import socket
import struct
import subprocess
import time

import pytest

import tapnet
from qemulib import pattern_sha256
from hosttools import need, run_iperf, run_iperf3
from tapnet import GUEST_IP, GUEST_IP6, GUEST_MAC, HOST_IP6

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")

OFFLINK_SRC = "2001:db8:ffff::1"    # a host address outside every guest prefix: needs a router
ADDR_TIMEOUT = 20                  # DAD (1 probe, 1 s) and the ND timer's 1 s ticks


def eui64(mac, prefix="fe80::"):
    b = bytearray(int(x, 16) for x in mac.split(":"))
    iid = bytes([b[0] ^ 2]) + bytes(b[1:3]) + b"\xff\xfe" + bytes(b[3:6])
    net = ipaddress.IPv6Address(prefix).packed[:8]
    return str(ipaddress.IPv6Address(net + iid))


GUEST_LL = eui64(GUEST_MAC)
GUEST_SLAAC = eui64(GUEST_MAC, "2001:db8::")


@pytest.fixture
def tap6(request):
    net = tapnet.TapNet(request.node.nodeid, ipv6=True)
    request.addfinalizer(net.destroy)
    return net.create()


def wait_addr(vm, addr, kind, plen=64):
    return vm.wait_for(r"net: ip6 %s/%d %s$" % (re.escape(addr), plen, kind), timeout=ADDR_TIMEOUT)


def ping6(net, dest, count=3, src=None, interval=0.2, wait=2, extra=()):
    argv = [need("ping"), "-6", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(wait)]
    if src:
        argv += ["-I", src]
    argv += list(extra) + [dest]
    p = net.run(argv, timeout=60)
    return p, tapnet.parse_ping(p.stdout)


def host_linklocal(net, timeout=10.0):
    """The tap's own fe80:: address (the kernel adds it once QEMU gives the tap a carrier)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = net.run(["ip", "-6", "-o", "addr", "show", "dev", net.tap, "scope", "link"]).stdout
        m = re.search(r"inet6 (fe80::[0-9a-f:]+)/64", out)
        if m and "tentative" not in out:
            return m.group(1)
        time.sleep(0.2)
    raise AssertionError("no link-local address on %s: %s" % (net.tap, out))


def router_advertisement(mac, prefix, plen=64, router_lifetime=1800, valid=86400,
                         preferred=14400, flags=0xc0):
    """RFC 4861 4.2: RA with source link-layer and prefix information options (L|A flags by
    default). The kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket."""
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, router_lifetime, 0, 0)
    ra += struct.pack("!BB6s", 1, 1, bytes(int(x, 16) for x in mac.split(":")))
    ra += struct.pack("!BBBBIII16s", 3, 4, plen, flags, valid, preferred, 0,
                      ipaddress.IPv6Address(prefix).packed)
    return ra


def send_ra(net, **kw):
    ll = host_linklocal(net)
    with net.inside():
        idx = socket.if_nametoindex(net.tap)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)   # RFC 4861 6.1.2
        s.bind((ll, 0, 0, idx))
        s.sendto(router_advertisement(net.host_mac, **kw), ("ff02::1", 0, 0, idx))
    finally:
        s.close()


def add_host_addr(net, addr):
    net.run(["ip", "-6", "addr", "add", addr, "dev", net.tap, "nodad"], check=True)


def curl6(net, path, addr=GUEST_IP6):
    curl = need("curl")
    p = subprocess.run(net.prefix + [curl, "-g", "-sS", "--max-time", "30",
                                     "http://[%s]%s" % (addr, path)],
                       capture_output=True, timeout=40, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, (path, p.stderr)
    return p.stdout


# ----------------------------------------------------------- addresses ---

@pytest.mark.timeout(60)
def test_linklocal_present_and_pingable(qemu, tap6):
    """Without ip6= the guest still has its link-local address from the MAC (after DAD) and
    answers echo on it; IPv4 is unaffected."""
    vm = tap6.boot(qemu)
    wait_addr(vm, GUEST_LL, "link-local")
    p, d = ping6(tap6, "%s%%%s" % (GUEST_LL, tap6.tap), count=3)
    assert d.get("received") == 3, p.stdout + p.stderr
    # neighbour discovery learnt the guest's MAC
    neigh = tap6.run(["ip", "-6", "neigh", "show", "dev", tap6.tap]).stdout
    assert GUEST_LL in neigh and GUEST_MAC in neigh.lower(), neigh
    assert tap6.http("/").status == 200


@pytest.mark.timeout(60)
def test_slaac_from_router_advertisement(qemu, tap6):
    """An RA with a /64 autonomous prefix gives the guest prefix + its EUI-64 interface id, and
    the RA's router becomes its default route (an off-link source is answered through it)."""
    vm = tap6.boot(qemu)
    wait_addr(vm, GUEST_LL, "link-local")
    assert not vm.find(r"net: ip6 2001:db8:"), "a global address before any RA"
    send_ra(tap6, prefix="2001:db8::")
    wait_addr(vm, GUEST_SLAAC, "slaac")
    p, d = ping6(tap6, GUEST_SLAAC, count=3)
    assert d.get("received") == 3, p.stdout + p.stderr
    add_host_addr(tap6, OFFLINK_SRC + "/128")
    p, d = ping6(tap6, GUEST_SLAAC, count=3, src=OFFLINK_SRC)
    assert d.get("received") == 3, "no reply via the RA's router\n" + p.stdout + p.stderr
    assert tap6.http("/", host=GUEST_SLAAC).status == 200


@pytest.mark.timeout(60)
def test_ra_without_autonomous_flag_gives_no_address(qemu, tap6):
    """A prefix without the A flag (on-link only) must not make a SLAAC address."""
    vm = tap6.boot(qemu)
    wait_addr(vm, GUEST_LL, "link-local")
    send_ra(tap6, prefix="2001:db8::", flags=0x80)
    p, d = ping6(tap6, GUEST_SLAAC, count=2, wait=1)
    assert d.get("received") == 0, p.stdout
    assert not vm.find(r"net: ip6 2001:db8:.* slaac")


@pytest.mark.timeout(90)
def test_static_ip6_and_gw6(qemu, tap6):
    """ip6=2001:db8::2/64 gw6=2001:db8::1: the static address answers, and replies to an
    off-link source go through gw6. Without gw6 (and no RA) they have no route."""
    vm = tap6.boot(qemu, append="ip6=%s/64 gw6=%s" % (GUEST_IP6, HOST_IP6))
    wait_addr(vm, GUEST_IP6, "static")
    assert vm.find(r"net: ip6 gw %s \(static\)" % re.escape(HOST_IP6))
    assert not vm.find(r"slaac")
    p, d = ping6(tap6, GUEST_IP6, count=3)
    assert d.get("received") == 3, p.stdout + p.stderr
    add_host_addr(tap6, OFFLINK_SRC + "/128")
    p, d = ping6(tap6, GUEST_IP6, count=3, src=OFFLINK_SRC)
    assert d.get("received") == 3, "no reply via gw6\n" + p.stdout + p.stderr
    vm.stop()

    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    p, d = ping6(tap6, GUEST_IP6, count=2, src=OFFLINK_SRC, wait=1)
    assert d.get("received") == 0, "an off-link reply with no router\n" + p.stdout


@pytest.mark.timeout(60)
def test_static_prefix_shorter_than_64_is_on_link(qemu, tap6):
    """ip6=2001:db8::2/48: 2001:db8:0:1::1 is on-link (lwIP alone would take only the /64)."""
    vm = tap6.boot(qemu, append="ip6=%s/48" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static", plen=48)
    add_host_addr(tap6, "2001:db8:0:1::1/64")
    p, d = ping6(tap6, GUEST_IP6, count=3, src="2001:db8:0:1::1")
    assert d.get("received") == 3, p.stdout + p.stderr


@pytest.mark.timeout(60)
def test_bad_ip6_values_reported(qemu, tap6):
    vm = tap6.boot(qemu, append="ip6=2001:db8::2 gw6=ff02::1")
    assert vm.find(r"cmdline: ignoring bad value for 'ip6'")
    assert vm.find(r"cmdline: ignoring bad value for 'gw6'")
    wait_addr(vm, GUEST_LL, "link-local")
    assert tap6.http("/").status == 200


# ---------------------------------------------------------- services ---

@pytest.mark.timeout(120)
def test_http_over_ipv6(qemu, tap6):
    """GET / and /bytes/N byte-exact over IPv6 (TCP checksums on IPv6 frames filled in by
    the glue for the device's checksum offload), 404, and IPv4 still served."""
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    body = curl6(tap6, "/")
    assert b"<html" in body.lower(), body[:200]
    for n in (0, 1, 1440, 1441, 1 << 20, 8 << 20):
        got = curl6(tap6, "/bytes/%d" % n)
        assert len(got) == n and hashlib.sha256(got).hexdigest() == pattern_sha256(n), n
    curl = need("curl")
    p = tap6.run([curl, "-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                  "http://[%s]/nope" % GUEST_IP6], timeout=30)
    assert p.stdout == "404", p.stdout + p.stderr
    p = tap6.run([curl, "-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                  "http://[%s%%25%s]/" % (GUEST_LL, tap6.tap)], timeout=30)
    assert p.stdout == "200", "link-local HTTP: " + p.stdout + p.stderr
    s = tap6.stats(host=GUEST_IP6)
    assert s["net"]["rx_packets"] > 0
    assert tap6.http("/").status == 200


def _iperf_total(out):
    m = re.findall(r"\[\s*\*?\d+\]\s+[\d.]+-\s*[\d.]+ sec\s+(\d+) Bytes", out)
    return int(m[-1]) if m else 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_iperf_over_ipv6(qemu, tap6):
    """iperf -V -c: host->guest over IPv6; with GUEST_TSO6 the host's TCP hands the guest
    segments larger than one MTU (frames above 1514 bytes on average)."""
    need("iperf")
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    feats = vm.find(r"virtio-net: features accepted .*")
    s0 = tap6.stats(host=GUEST_IP6)
    p = run_iperf(tap6, "iperf", ["-V", "-t", "3", "-f", "b"], host=GUEST_IP6)
    sent = _iperf_total(p.stdout)
    assert sent > (1 << 20), p.stdout
    s1 = tap6.stats(host=GUEST_IP6)
    rx = s1["net"]["rx_bytes"] - s0["net"]["rx_bytes"]
    pk = s1["net"]["rx_packets"] - s0["net"]["rx_packets"]
    assert rx >= sent, (rx, sent)
    print("features:", feats.group(0), "rx %d bytes in %d frames: %.0f bytes/frame"
          % (rx, pk, rx / max(pk, 1)))
    assert rx / max(pk, 1) > 1514, "no frame larger than the MTU: receive offload not used"
    assert "GUEST_TSO6" in feats.group(0), feats.group(0)
    m = vm.wait_for(r"(?i)iperf2: 2001:db8:\S+ received (\d+) bytes", timeout=15)
    assert int(m.group(1)) >= sent, (m.group(0), sent)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("reverse", [False, True], ids=["host_sends", "guest_sends"])
def test_iperf3_over_ipv6(qemu, tap6, reverse):
    """iperf3 -6 -c (and -R): the iperf3 server on 5201 over IPv6, both directions."""
    need("iperf3")
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    end = run_iperf3(tap6, ["-6", "-t", "2"] + (["-R"] if reverse else []), host=GUEST_IP6)["end"]
    got = end["sum_received"]["bytes"]
    print("iperf3 -6%s: %d bytes received" % (" -R" if reverse else "", got))
    assert got > (1 << 20), end


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_iperf_reverse_over_ipv6_with_tso6(qemu, tap6):
    """iperf -V -c -R: the guest sends over IPv6; with HOST_TSO6 its TCP segments leave as
    super-segments the device cuts up (tx_tso_frames grows), and the host gets every byte."""
    need("iperf")
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    feats = vm.find(r"virtio-net: features accepted .*").group(0)
    s0 = tap6.stats(host=GUEST_IP6)
    p = run_iperf(tap6, "iperf", ["-V", "-R", "-t", "3", "-f", "b"], host=GUEST_IP6)
    got = _iperf_total(p.stdout)
    assert got > (1 << 20), p.stdout
    s1 = tap6.stats(host=GUEST_IP6)
    frames = s1["net"]["tx_tso_frames"] - s0["net"]["tx_tso_frames"]
    tso_bytes = s1["net"]["tx_tso_bytes"] - s0["net"]["tx_tso_bytes"]
    print("features:", feats, "%d super-segments, %d bytes" % (frames, tso_bytes))
    assert "HOST_TSO6" in feats, feats
    assert frames > 0 and tso_bytes > 0, (frames, tso_bytes)
    assert s1["net"]["tx_bytes"] - s0["net"]["tx_bytes"] >= got


# -------------------------------------------------------------- ICMPv6 ---

def echo_request(ident, seq, payload=b"x" * 32):
    return struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload


@pytest.mark.timeout(90)
def echo_limit():
    """(rate, burst) of the guest's echo bucket, read from the header that sets them."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "net", "guard", "icmp_limit.h")
    with open(path) as f:
        text = f.read()
    rate = int(re.search(r"#define ICMP_ECHO_RATE\s+(\d+)", text).group(1))
    burst = int(re.search(r"#define ICMP_ECHO_BURST\s+(\d+)", text).group(1))
    return rate, burst


def test_echo_flood_rate_limited(qemu, tap6):
    """20000 echo requests as fast as a raw socket sends them: the stack's one echo bucket
    (net/guard/icmp_limit.h, shared with IPv4: ICMP_ECHO_BURST at once, then ICMP_ECHO_RATE/s) drops the excess, counted
    in tcp_guard.icmp_limited; replies stay within burst + rate over the time they came, and
    HTTP over IPv6 is served right after."""
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    p, d = ping6(tap6, GUEST_IP6, count=1)      # neighbours resolved both ways
    assert d.get("received") == 1, p.stdout
    limited0 = tap6.stats()["tcp_guard"]["icmp_limited"]
    with tap6.inside():
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    ident, n = 0x6a6a, 20000
    replies, last = 0, None
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 24)
        t0 = time.monotonic()
        for i in range(n):
            try:
                s.sendto(echo_request(ident, i), (GUEST_IP6, 0))
            except OSError:
                time.sleep(0.001)
        flood = time.monotonic() - t0
        s.settimeout(0.2)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                data = s.recv(2048)
            except socket.timeout:
                continue
            if len(data) >= 8 and data[0] == 129 and struct.unpack("!H", data[4:6])[0] == ident:
                replies += 1
                last = time.monotonic()
    finally:
        s.close()
    limited = tap6.stats()["tcp_guard"]["icmp_limited"] - limited0
    span = (last or time.monotonic()) - t0
    rate, burst = echo_limit()
    bound = burst + rate * span + 100
    print("%d requests in %.2f s, %d replies over %.2f s (bound %d), %d limited in the guest"
          % (n, flood, replies, span, bound, limited))
    assert replies >= 1 and limited >= 1, (replies, limited)
    assert replies <= bound and replies + limited <= n, (replies, limited, bound)
    t = time.monotonic()
    assert tap6.http("/", host=GUEST_IP6, timeout=5).status == 200
    assert time.monotonic() - t < 2.0
    p, d = ping6(tap6, GUEST_IP6, count=3)      # the bucket refills: ordinary pings answered
    assert d.get("received") == 3, p.stdout


@pytest.mark.timeout(60)
def test_16M_boots_with_ipv6(qemu, tap6):
    vm = tap6.boot(qemu, mem="16M", append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    wait_addr(vm, GUEST_LL, "link-local")
    p, d = ping6(tap6, GUEST_IP6, count=3)
    assert d.get("received") == 3, p.stdout + p.stderr
    got = curl6(tap6, "/bytes/100000")
    assert hashlib.sha256(got).hexdigest() == pattern_sha256(100000)


def neighbour_advertisement(target, mac, flags=0x20000000):
    """RFC 4861 4.4: NA (override flag by default) with a target link-layer address option."""
    return struct.pack("!BBHI16s", 136, 0, 0, flags, ipaddress.IPv6Address(target).packed) + \
        struct.pack("!BB6s", 2, 1, bytes(int(x, 16) for x in mac.split(":")))


def send_nd(net, msg, dest="ff02::1"):
    ll = host_linklocal(net)
    with net.inside():
        idx = socket.if_nametoindex(net.tap)
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
        s.bind((ll, 0, 0, idx))
        s.sendto(msg, (dest, 0, 0, idx))
    finally:
        s.close()


@pytest.mark.timeout(60)
def test_unsolicited_na_for_our_address_ignored(qemu, tap6):
    """Anyone may send an unsolicited NA naming the guest's addresses (ND has no
    authentication): once past DAD, the guest keeps them (RFC 4862 5.4.4)."""
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    wait_addr(vm, GUEST_LL, "link-local")
    for target in (GUEST_IP6, GUEST_LL):
        send_nd(tap6, neighbour_advertisement(target, "02:00:00:00:00:66"))
    time.sleep(0.5)
    p, d = ping6(tap6, GUEST_IP6, count=2)
    assert d.get("received") == 2, p.stdout + p.stderr
    p, d = ping6(tap6, "%s%%%s" % (GUEST_LL, tap6.tap), count=2)
    assert d.get("received") == 2, p.stdout + p.stderr
    assert not vm.find(r"duplicate address detected")


# ------------------------------------------------------ Packet Too Big ---

def packet_too_big(mtu, src=GUEST_IP6, dst=HOST_IP6, proto=6):
    """RFC 4443 3.2: ICMPv6 Packet Too Big quoting a packet the guest sent (src -> dst)."""
    inner = struct.pack("!IHBB16s16s", 0x60000000, 20, proto, 64,
                        ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    inner += struct.pack("!HHII", 80, 40000, 1, 0) + b"\x50\x10\xff\xff\0\0\0\0"
    return struct.pack("!BBHI", 2, 0, 0, mtu) + inner


def send_icmp6(net, msg, dest=GUEST_IP6):
    with net.inside():
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        s.sendto(msg, (dest, 0))
    finally:
        s.close()


@pytest.mark.timeout(90)
def test_packet_too_big_below_minimum_mtu_ignored(qemu, tap6):
    """A Packet Too Big with an MTU below 1280 (RFC 8201 4: never go below it) must not shrink
    the guest's path MTU to the host: lwIP would derive a TCP MSS of 0 from MTU 40. Then a
    valid one (1280) lowers the MSS of new connections, which still deliver byte-exact."""
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    assert curl6(tap6, "/bytes/1000") == qemulib_pattern(1000)   # destination cache entry
    ptb0 = tap6.stats()["tcp_guard"]["ip6_ptb_below_min"]
    for mtu in (1279, 0, 1, 60, 40):
        send_icmp6(tap6, packet_too_big(mtu))
    got = curl6(tap6, "/bytes/200000")
    assert hashlib.sha256(got).hexdigest() == pattern_sha256(200000)
    assert tap6.stats()["tcp_guard"]["ip6_ptb_below_min"] - ptb0 == 5
    send_icmp6(tap6, packet_too_big(1280))
    got = curl6(tap6, "/bytes/200000")
    assert hashlib.sha256(got).hexdigest() == pattern_sha256(200000)
    assert not vm.find(r"PANIC")


def qemulib_pattern(n):
    import qemulib
    return qemulib.pattern(0, n)


@pytest.mark.timeout(120)
def test_path_mtu_drop_mid_download(qemu, tap6):
    """A valid Packet Too Big (1280) in the middle of a download: lwIP keeps the connection's
    MSS and fragments its segments (RFC 8200 5); each fragment's share of the TCP checksum,
    which the device cannot finish across fragments, must still come out right."""
    import qemulib
    vm = tap6.boot(qemu, append="ip6=%s/64" % GUEST_IP6)
    wait_addr(vm, GUEST_IP6, "static")
    n = 8 << 20
    reasm0 = snmp6(tap6, "Ip6ReasmOKs")
    with tap6.inside():
        s = socket.create_connection((GUEST_IP6, 80), timeout=20)
    try:
        s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, body = buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), head
        got = bytearray(body)
        while len(got) < (1 << 20):
            got += s.recv(65536)
        send_icmp6(tap6, packet_too_big(1280))
        while len(got) < (2 << 20):
            got += s.recv(65536)
        # A second trip through ip6_frag for segments already fragmented once: a second of
        # link down loses a window of them and TCP's retransmission timer sends them again.
        tap6.run(["sysctl", "-qw", "net.ipv6.conf.%s.keep_addr_on_down=1" % tap6.tap], check=True)
        tap6.run(["ip", "link", "set", tap6.tap, "down"], check=True)
        time.sleep(1.0)
        tap6.run(["ip", "link", "set", tap6.tap, "up"], check=True)
        while len(got) < n:
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
    finally:
        s.close()
    assert len(got) == n, "stream stopped at %d of %d bytes" % (len(got), n)
    assert hashlib.sha256(bytes(got)).hexdigest() == pattern_sha256(n)
    reasm = snmp6(tap6, "Ip6ReasmOKs") - reasm0
    print("host reassembled %d datagrams from the guest's fragments" % reasm)
    assert reasm > 100, "the Packet Too Big did not make the guest fragment (%d)" % reasm
    assert not vm.find(r"PANIC")


def snmp6(net, name):
    """A counter of the namespace's IPv6 stack (/proc/net/snmp6 is per network namespace)."""
    out = net.run(["cat", "/proc/net/snmp6"]).stdout
    m = re.search(r"^%s\s+(\d+)$" % name, out, re.M)
    return int(m.group(1))
