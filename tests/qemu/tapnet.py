"""A real network peer for the unikernel: a tap device in a private network namespace.

    net = TapNet("test_x").create()          # netns ukt<pid>_<n>, tap inside it, 192.0.2.1/24
    vm = net.boot(qemu, append="net.mode=irq")  # QEMU runs inside the namespace, guest 192.0.2.2
    net.run(["ping", "-c", "3", GUEST_IP])   # host tools run inside the namespace
    net.stats()                              # GET /stats.json from inside the namespace
    net.destroy()                            # stops the VMs it booted, deletes the namespace

Everything stays in 192.0.2.0/24 (TEST-NET-1) inside the namespace; nothing touches the host's
own interfaces. Names contain the pytest PID, so parallel runs never collide; a namespace left
behind by a run that was killed (its PID gone) is removed by the next run, together with the
QEMU it still holds. Sockets are opened inside the namespace by switching the calling thread
with setns(2) (ctypes: Python 3.11 has no os.setns) and switching back at once; a socket stays
in the namespace it was created in.

Also here: Ethernet/IPv4/TCP/UDP/ICMP/ARP frame builders and the malformed-frame generator used
by test_malformed.py, and a raw-socket SYN flooder (test_storm.py). Standard library only.
"""

import atexit
import contextlib
import ctypes
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import qemulib

HOST_IP = "192.0.2.1"
GUEST_IP = "192.0.2.2"
PREFIX = 24
GUEST_MAC = "52:54:00:c0:00:02"
HOST_IP6 = "2001:db8::1"         # TapNet(ipv6=True): the tap's IPv6 side (2001:db8::/32)
GUEST_IP6 = "2001:db8::2"
PREFIX6 = 64
NS_PREFIX = "ukt"                 # namespaces and taps: ukt<pid>_<n> / uktap<pid>_<n>
IP = shutil.which("ip") or "/usr/sbin/ip"

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_counter = 0
_live = []
_lock = threading.Lock()


def tool(name):
    """Absolute path of a host tool, or None."""
    for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


_reason = None


def unavailable():
    """None if tap tests can run here, else the reason to skip them (cached)."""
    global _reason
    if _reason is not None:
        return _reason or None
    if os.geteuid() != 0:
        _reason = "tap tests need root (network namespace + tap device); running as uid %d" % os.geteuid()
    elif not os.path.exists("/dev/net/tun"):
        _reason = "tap tests need /dev/net/tun"
    elif not os.access(IP, os.X_OK):
        _reason = "tap tests need iproute2 (`ip`)"
    elif not hasattr(_libc, "setns"):
        _reason = "libc has no setns()"
    else:
        probe = "%s%dprobe" % (NS_PREFIX, os.getpid())
        p = subprocess.run([IP, "netns", "add", probe], capture_output=True, text=True)
        if p.returncode != 0:
            _reason = "cannot create a network namespace: %s" % p.stderr.strip()
        else:
            subprocess.run([IP, "netns", "del", probe], capture_output=True)
            _reason = ""
    return _reason or None


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


@contextlib.contextmanager
def in_netns(name):
    """Run the body with the calling thread in network namespace `name`; sockets (and
    threads) created in the body belong to it."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open("/var/run/netns/" + name, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def cleanup_stale():
    """Remove namespaces of earlier runs whose pytest is gone (killed with SIGKILL), and the
    QEMU still running in them. Only names this module makes are touched."""
    try:
        names = os.listdir("/var/run/netns")
    except OSError:
        return
    for name in names:
        m = re.fullmatch(NS_PREFIX + r"(\d+)_(\d+)", name)
        if not m or int(m.group(1)) == os.getpid() or os.path.exists("/proc/%s" % m.group(1)):
            continue
        p = subprocess.run([IP, "netns", "pids", name], capture_output=True, text=True)
        for pid in p.stdout.split():
            try:
                with open("/proc/%s/comm" % pid) as f:
                    comm = f.read().strip()
                if comm.startswith("qemu-system"):
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        subprocess.run([IP, "netns", "del", name], capture_output=True)


def _cleanup_all():
    for net in list(_live):
        try:
            net.destroy()
        except Exception:
            pass


atexit.register(_cleanup_all)


class TapNet:
    """One namespace with one tap (host side 192.0.2.1/24) for one guest (192.0.2.2)."""

    def __init__(self, label="", mtu=1500, txqueuelen=4096, ipv6=False):
        global _counter
        with _lock:
            _counter += 1
            n = _counter
        self.ns = "%s%d_%d" % (NS_PREFIX, os.getpid(), n)
        self.tap = "uktap%d_%d" % (os.getpid(), n)          # <= 15 chars (IFNAMSIZ)
        assert len(self.tap) <= 15, self.tap
        self.label = label
        self.mtu = mtu
        self.txqueuelen = txqueuelen
        self.ipv6 = ipv6
        self.vms = []
        self.created = False
        self.host_mac = None

    @property
    def prefix(self):
        return [IP, "netns", "exec", self.ns]

    def _ip(self, *args):
        p = subprocess.run([IP] + list(args), capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def create(self):
        cleanup_stale()
        _live.append(self)
        self._ip("netns", "add", self.ns)
        self.created = True
        # No IPv6 on the tap: its router/neighbour solicitations would be unaccounted frames.
        for k in ("all", "default"):
            subprocess.run(self.prefix + ["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % k],
                           capture_output=True, timeout=30)
        self._ip("-n", self.ns, "link", "set", "lo", "up")
        self._ip("netns", "exec", self.ns, IP, "tuntap", "add", "dev", self.tap, "mode", "tap")
        self._ip("-n", self.ns, "addr", "add", "%s/%d" % (HOST_IP, PREFIX), "dev", self.tap)
        if self.ipv6:
            # IPv6 on this tap only: no DAD (the address is ours, and a tentative host would
            # answer nothing for a second), no RA processing (the tests are the router).
            for k, v in (("accept_dad", 0), ("accept_ra", 0), ("disable_ipv6", 0)):
                subprocess.run(self.prefix + ["sysctl", "-qw", "net.ipv6.conf.%s.%s=%d" % (
                    self.tap, k, v)], capture_output=True, timeout=30, check=True)
            self._ip("-n", self.ns, "addr", "add", "%s/%d" % (HOST_IP6, PREFIX6), "dev",
                     self.tap, "nodad")
        # A deeper tap queue than tun's default 500 (sized when QEMU attaches), so a burst of a
        # few thousand frames reaches QEMU instead of being dropped on the host side.
        self._ip("-n", self.ns, "link", "set", self.tap, "mtu", str(self.mtu), "txqueuelen",
                 str(self.txqueuelen), "up")
        self.host_mac = self.link()["address"]
        return self

    def destroy(self):
        """Stop the VMs booted here (their own PIDs), then delete the namespace (and the tap
        in it). Idempotent; runs from the fixture finalizer and at exit."""
        for vm in self.vms:
            try:
                vm.stop()
            except Exception:
                pass
        if self.created:
            subprocess.run([IP, "netns", "del", self.ns], capture_output=True, timeout=30)
            self.created = False
        if self in _live:
            _live.remove(self)

    # ---- the guest ------------------------------------------------------
    def qemu_opts(self, append="", nic_opts="", **kw):
        """Keyword arguments for qemulib.Qemu / the `qemu` fixture: QEMU inside the namespace on
        the tap (no vhost), static guest address, fixed MAC."""
        app = " ".join(append) if isinstance(append, (list, tuple)) else append
        if "ip=" not in app:
            app = ("ip=%s/%d " % (GUEST_IP, PREFIX) + app).strip()
        opts = "mac=" + GUEST_MAC + ("," + nic_opts if nic_opts else "")
        d = dict(wrap=self.prefix, fwd=(), nic_opts=opts,
                 netdev="tap,id=n0,ifname=%s,script=no,downscript=no,vhost=off" % self.tap)
        if kw.get("boot", "elf") == "elf":
            d["append"] = app
        d.update(kw)
        return d

    def boot(self, qemu, append="", nic_opts="", wait=True, **kw):
        """Start a VM through the `qemu` fixture factory; wait for READY and HTTP."""
        vm = qemu(**self.qemu_opts(append=append, nic_opts=nic_opts, **kw))
        self.vms.append(vm)
        if wait:
            m = vm.wait_ready()
            assert m.group("ip") == GUEST_IP, m.group(0)
            self.check_pid(vm)
            self.wait_http(vm)
        return vm

    @staticmethod
    def check_pid(vm):
        """`ip netns exec` execs: the PID we signal must be QEMU itself."""
        exe = os.readlink("/proc/%d/exe" % vm.proc.pid)
        assert os.path.basename(exe).startswith("qemu-system"), \
            "PID %d is %s, not QEMU" % (vm.proc.pid, exe)

    # ---- host side ------------------------------------------------------
    def run(self, argv, timeout=60, check=False, **kw):
        """Run a host tool inside the namespace; returns CompletedProcess (text)."""
        p = subprocess.run(self.prefix + list(argv), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError("%s -> %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                     p.stderr))
        return p

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        return subprocess.Popen(self.prefix + list(argv), start_new_session=True, **kw)

    def inside(self):
        return in_netns(self.ns)

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        with self.inside():
            return socket.socket(family, type, proto)

    def connect(self, port=80, timeout=10.0):
        s = self.socket()
        s.settimeout(timeout)
        try:
            s.connect((GUEST_IP, port))
        except BaseException:
            s.close()
            raise
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def link(self):
        """`ip -s link` of the tap as a dict (stats64.rx/tx.packets, address, mtu, ...)."""
        out = self._ip("-j", "-s", "-n", self.ns, "link", "show", "dev", self.tap)
        return json.loads(out)[0]

    def tap_counters(self):
        """Frames the host handed to the guest (tap tx) and took from it (tap rx)."""
        s = self.link()["stats64"]
        return {"to_guest": s["tx"]["packets"], "to_guest_dropped": s["tx"]["dropped"],
                "from_guest": s["rx"]["packets"]}

    def set_mtu(self, mtu):
        self._ip("-n", self.ns, "link", "set", self.tap, "mtu", str(mtu))

    def http(self, path="/", method="GET", timeout=10.0, port=80, host=GUEST_IP):
        """One request on its own connection, from inside the namespace -> qemulib.Response.
        The client closes first, so the guest keeps no TIME_WAIT pcb."""
        with self.inside():
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.connect()
        try:
            conn.request(method, path)
            r = conn.getresponse()
            body = r.read()
            return qemulib.Response(r.status, r.reason, {k.lower(): v for k, v in r.getheaders()},
                                    body, "HTTP/1.%d" % (r.version - 10))
        finally:
            conn.close()

    def stats(self, timeout=10.0, host=GUEST_IP):
        r = self.http("/stats.json", timeout=timeout, host=host)
        assert r.status == 200, r
        return json.loads(r.body.decode("utf-8"))

    def wait_http(self, vm=None, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if vm is not None and not vm.alive:
                vm._fail("QEMU exited while waiting for HTTP on %s" % GUEST_IP)
            try:
                return self.http("/", timeout=min(5.0, max(0.5, deadline - time.monotonic())))
            except (OSError, http.client.HTTPException) as e:
                last = e
                time.sleep(0.2)
        msg = "HTTP on %s:80 not answering after %.0f s (last error: %r)" % (GUEST_IP, timeout, last)
        if vm is not None:
            vm._fail(msg)
        raise AssertionError(msg)

    def timed_get(self, path="/", timeout=10.0):
        """(seconds, Response) for one GET on a fresh connection."""
        t = time.monotonic()
        r = self.http(path, timeout=timeout)
        return time.monotonic() - t, r

    def ping(self, count=1, interval=None, flood=False, size=None, deadline=None, wait=None,
             timeout=120):
        """Run ping in the namespace; returns (CompletedProcess, dict of parsed summary)."""
        argv = [tool("ping") or "ping", "-n", "-q", "-c", str(count)]
        if flood:
            argv.append("-f")
        if interval is not None:
            argv += ["-i", str(interval)]
        if size is not None:
            argv += ["-s", str(size)]
        if deadline is not None:
            argv += ["-w", str(deadline)]
        if wait is not None:
            argv += ["-W", str(wait)]
        argv.append(GUEST_IP)
        p = self.run(argv, timeout=timeout)
        return p, parse_ping(p.stdout)


def parse_ping(out):
    d = {}
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", out)
    if m:
        d["sent"], d["received"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
    if m:
        d["min"], d["avg"], d["max"], d["mdev"] = (float(x) for x in m.groups())
    return d


# ============================================================ idle levels ===

IDLE_FIELDS = ("lwip.mem_used", "lwip.pbuf_pool_used", "lwip.tcp_pcbs", "heap.used")

# heap.used is the sbrk high-water mark (kernel/mm.c): it never shrinks. The driver grows its
# RX buffer pool on demand, up to the ring size + 512 buffers of 2 KiB (virtio_net_rx.c), while
# lwIP holds buffers (reassembly, out-of-order queues): that much growth is a pool filling, not a
# leak. A leak shows as growth beyond it, or (soak) as growth between equal rounds of load.
HEAP_SLACK = 512 * 2048 + (64 << 10)
DEFAULT_SLACK = {"heap.used": HEAP_SLACK}


def idle_diff(base, now, slack=None):
    """Fields above their idle level: {field: (idle, now)}."""
    slack = DEFAULT_SLACK if slack is None else slack
    out = {}
    for f in IDLE_FIELDS:
        b, n = qemulib.stat(base, f), qemulib.stat(now, f)
        if n > b + slack.get(f, 0):
            out[f] = (b, n)
    return out


def wait_idle(net, base, timeout=75.0, slack=None, vm=None):
    """Poll /stats.json until lwIP's pools and the heap are back at (or below) their idle
    level; TIME_WAIT / SYN_RCVD / reassembly / ARP-queue entries expire on their own timers.
    Returns (seconds waited, last stats); fails with the fields still above."""
    t0 = time.monotonic()
    while True:
        try:
            s = net.stats(timeout=5)
        except OSError as e:           # a starved server may not take the request yet
            s, left = None, "no answer to /stats.json (%r)" % e
        else:
            left = idle_diff(base, s, slack)
            if not left:
                return time.monotonic() - t0, s
        if time.monotonic() - t0 > timeout:
            msg = "not back to idle after %.0f s: %s (idle %s, now %s)" % (
                timeout, left, {f: qemulib.stat(base, f) for f in IDLE_FIELDS},
                s and {f: qemulib.stat(s, f) for f in IDLE_FIELDS})
            if vm is not None:
                vm._fail(msg)
            raise AssertionError(msg)
        time.sleep(1.0)


def check_counters(s0, s1, mode=None):
    """The invariants /stats.json promises between two reads of one VM."""
    bad = []
    for f in qemulib.MONOTONIC:
        if qemulib.stat(s1, f) < qemulib.stat(s0, f):
            bad.append("%s went down: %d -> %d" % (f, qemulib.stat(s0, f), qemulib.stat(s1, f)))
    n = s1["napi"]
    if n["completes"] > n["polls"]:
        bad.append("napi.completes %d > napi.polls %d" % (n["completes"], n["polls"]))
    if n["budget_exhausted"] > n["polls"]:
        bad.append("napi.budget_exhausted %d > napi.polls %d" % (n["budget_exhausted"], n["polls"]))
    mode = mode or n["mode"]
    if mode == "napi" and s1["irq"]["rx"] > s1["net"]["rx_packets"] + s1["net"]["rx_dropped"]:
        bad.append("napi mode: irq.rx %d > rx_packets %d + rx_dropped %d" % (
            s1["irq"]["rx"], s1["net"]["rx_packets"], s1["net"]["rx_dropped"]))
    if mode == "poll" and s1["irq"]["rx"] != 0:
        bad.append("poll mode: irq.rx %d" % s1["irq"]["rx"])
    if s1["lwip"]["mem_used"] > s1["lwip"]["mem_max"]:
        bad.append("lwip.mem_used %d > mem_max %d" % (s1["lwip"]["mem_used"], s1["lwip"]["mem_max"]))
    if s1["heap"]["used"] > s1["heap"]["size"]:
        bad.append("heap.used %d > heap.size %d" % (s1["heap"]["used"], s1["heap"]["size"]))
    if s1["heap"]["size"] != s0["heap"]["size"]:
        bad.append("heap.size changed %d -> %d" % (s0["heap"]["size"], s1["heap"]["size"]))
    if s1["net"]["rx_bytes"] < s1["net"]["rx_packets"] * 14 - 0:
        bad.append("rx_bytes %d < 14 * rx_packets %d" % (s1["net"]["rx_bytes"], s1["net"]["rx_packets"]))
    if s1["net"]["tx_bytes"] < s1["net"]["tx_packets"] * 14:
        bad.append("tx_bytes %d < 14 * tx_packets %d" % (s1["net"]["tx_bytes"], s1["net"]["tx_packets"]))
    return bad


# ========================================================= frame builders ===

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


# ============================================= malformed-frame generator ===

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
