"""A real network peer for a guest: a tap device in a private network namespace.

    net = TapNet("test_x").create()          # netns ukt<pid>_<n>, tap inside it, 192.0.2.1/24
    vm = net.boot(qemu, append="net.mode=irq")  # QEMU runs inside the namespace, guest 192.0.2.2
    net.run(["ping", "-c", "3", GUEST_IP])   # host tools run inside the namespace
    net.stats()                              # GET /stats.json from inside the namespace
    net.destroy()                            # stops the VMs it booted, deletes the namespace

Everything stays in 192.0.2.0/24 (TEST-NET-1) inside the namespace; nothing touches the host's
own interfaces. Names contain the creating PID, so parallel runs never collide; a namespace left
behind by a run that was killed (its PID gone) is removed by the next run, together with the
QEMU it still holds. Sockets are opened inside the namespace by switching the calling thread
with setns(2) (ctypes: Python 3.11 has no os.setns) and switching back at once; a socket stays
in the namespace it was created in. scripts/bench keeps its main thread inside (`inside()`)
for the whole run, so QEMU and the load generators it starts are in the namespace too.
Standard library only.
"""

import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness.guest import each_quietly
from harness.httpc import http_request, wait_http

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


atexit.register(each_quietly, _live, "destroy")


class TapNet:
    """One namespace with one tap (host side 192.0.2.1/24) for one guest (192.0.2.2).

    txqueuelen: the tap's queue (None: the kernel's default); mac: the guest NIC's MAC;
    ipv6: also 2001:db8::1/64 on the tap; quiet (without ipv6): no IPv6 at all on the tap, so
    the host sends the guest no router/neighbour solicitation or MLD report (unaccounted
    frames); quiet=False keeps the kernel's link-local IPv6, as scripts/bench has always
    measured (those frames reach QEMU before the guest is up, which moves boot_to_200)."""

    def __init__(self, label="", mtu=1500, txqueuelen=4096, ipv6=False, mac=GUEST_MAC,
                 quiet=True):
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
        self.mac = mac
        self.quiet = quiet
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
        if self.quiet or self.ipv6:
            for k in ("all", "default"):
                subprocess.run(self.prefix + ["sysctl", "-qw",
                                              "net.ipv6.conf.%s.disable_ipv6=1" % k],
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
        queue = [] if self.txqueuelen is None else ["txqueuelen", str(self.txqueuelen)]
        self._ip("-n", self.ns, "link", "set", self.tap, "mtu", str(self.mtu), *queue, "up")
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

    def neigh_permanent(self, ip=GUEST_IP):
        """A permanent neighbour entry for the guest: no ARP probe before the first frame."""
        self._ip("-n", self.ns, "neigh", "replace", ip, "lladdr", self.mac, "dev", self.tap,
                 "nud", "permanent")

    # ---- the guest ------------------------------------------------------
    def netdev(self):
        """QEMU's -netdev for the tap (no vhost); QEMU must run inside the namespace."""
        return "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=off" % self.tap

    def qemu_opts(self, append="", nic_opts="", **kw):
        """Keyword arguments for harness.guest.Qemu / the `qemu` fixture: QEMU inside the
        namespace on the tap, static guest address, fixed MAC."""
        app = " ".join(append) if isinstance(append, (list, tuple)) else append
        if "ip=" not in app:
            app = ("ip=%s/%d " % (GUEST_IP, PREFIX) + app).strip()
        opts = "mac=" + self.mac + ("," + nic_opts if nic_opts else "")
        d = dict(wrap=self.prefix, fwd=(), nic_opts=opts, netdev=self.netdev())
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
        """One request on its own connection opened inside the namespace -> httpc.Response."""
        return http_request(port, path, method, timeout=timeout, host=host,
                            connect_in=self.inside())

    def stats(self, timeout=10.0, host=GUEST_IP):
        r = self.http("/stats.json", timeout=timeout, host=host)
        assert r.status == 200, r
        return json.loads(r.body.decode("utf-8"))

    def wait_http(self, vm=None, timeout=30.0):
        return wait_http(80, timeout, qemu=vm, host=GUEST_IP, connect_in=self.inside)

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
