"""The guests `make bench` compares and the network they share.

GUESTS: Linux (the Debian guest linux_guest.sh builds) and ours in each net.mode. Every guest
boots under the same QEMU command line (harness.guest.Qemu: q35, -cpu max, same -m,
virtio-net-pci with the same MAC, same netdev). The network is TapPeer (root: the shared
harness.netns.TapNet, which this process enters for the whole run) or UserPeer (slirp with
hostfwd on 127.0.0.1).
"""

import json
import os
import re
import socket
import struct
import subprocess
import time

from harness.guest import Qemu
from harness.netns import GUEST_IP, TapNet

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build")
WORK = os.path.join(BUILD, "bench")
LOGS = os.path.join(WORK, "logs")
LG_DIR = os.path.join(REPO, ".deps", "linux-guest")
LG_SCRIPT = os.path.join(REPO, "scripts", "bench", "linux_guest.sh")

MAC = "52:54:00:12:34:56"
USER_GUEST, USER_GW = "10.0.2.15", "10.0.2.2"
# the Linux guest makes its 64 MiB /bytes file after READY, then prints this
BYTES_READY_RE = re.compile(r"BYTES-READY size=(?P<size>\d+)")

GUESTS = {
    "linux": {"kind": "linux", "label": "Linux 6.1 guest"},
    "napi": {"kind": "ours", "mode": "napi", "label": "ours napi"},
    "irq": {"kind": "ours", "mode": "irq", "label": "ours irq"},
    "poll": {"kind": "ours", "mode": "poll", "label": "ours poll"},
    # not in ORDER: `--guests napi,napi-nodefer` A/Bs interrupt deferral (kernel/napi.h)
    "napi-nodefer": {"kind": "ours", "mode": "napi", "append": "napi.defer_hard_irqs=0",
                     "label": "ours napi, no deferral"},
}
ORDER = ["linux", "napi", "irq", "poll"]


def columns(guests):
    """The table's and the SVG's guest columns: ORDER's first, then any other asked for
    (napi-nodefer) in the order given."""
    return [g for g in ORDER if g in guests] + [g for g in guests if g not in ORDER]


def log(msg):
    print("bench: " + msg, flush=True)


# ------------------------------------------------------------------ network --

class TapPeer:
    """harness.netns.TapNet (host 192.0.2.1/24 <-> guest 192.0.2.2) with this process's
    main thread inside it: QEMU, wrk, iperf and curl all run in the namespace."""
    kind = "tap"
    label = "tap in a private netns (host 192.0.2.1 <-> guest 192.0.2.2)"

    def __init__(self):
        # the kernel's tap queue length and link-local IPv6, as the bench has always measured
        self.net = TapNet("bench", txqueuelen=None, mac=MAC, quiet=False)
        self._inside = None

    @property
    def tap(self):
        return self.net.tap

    def setup(self):
        self.net.create()
        # a permanent neighbour entry: no ARP probe timing (1 s retries) in boot-to-200
        self.net.neigh_permanent(GUEST_IP)
        self._inside = self.net.inside()
        self._inside.__enter__()

    def cleanup(self):
        if self._inside is not None:
            self._inside.__exit__(None, None, None)
            self._inside = None
        self.net.destroy()

    def guest_args(self):
        return "ip=%s/24" % GUEST_IP

    def qemu_kw(self):
        return {"netdev": self.net.netdev()}

    def addr(self, g, port):
        return (GUEST_IP, port)


class UserPeer:
    kind = "user"
    label = "QEMU user-net (slirp) with hostfwd on 127.0.0.1: throughput is slirp's copying"

    def setup(self):
        pass

    def cleanup(self):
        pass

    def guest_args(self):
        return "ip=%s/24 gw=%s" % (USER_GUEST, USER_GW)

    def qemu_kw(self):
        return {"fwd": (80, 5001)}

    def addr(self, g, port):
        return ("127.0.0.1", g.ports[port])


# -------------------------------------------------------------------- guests --

class Guest(Qemu):
    """One bench guest: spec (GUESTS), the peer's netdev, http/iperf as (host, port)."""

    def __init__(self, name, spec, net, mem, images, extra_append="", tag="", pin_cpu=None):
        append = net.guest_args()
        if spec["kind"] == "linux":
            kernel, initrd = images["vmlinuz"], images["initrd"]
            append = "console=ttyS0 quiet panic=-1 " + append
        else:
            kernel, initrd = images["elf"], None
            append += " net.mode=" + spec["mode"]
            if spec.get("append"):
                append += " " + spec["append"]
        if extra_append:
            append += " " + extra_append
        # debug-threads names the vCPU thread "CPU 0/TCG", for pin_vcpu
        super().__init__(name=tag or name, kernel=kernel, initrd=initrd, mem=mem, append=append,
                         nic_opts="mac=" + MAC, log_dir=LOGS,
                         extra=["-name", "%s,debug-threads=on" % (tag or name)], **net.qemu_kw())
        self.spec = spec
        self.net = net
        self.pin_cpu = pin_cpu

    def start(self):
        super().start()
        if self.pin_cpu is not None:
            self.pin_vcpu(self.pin_cpu)

    def pin_vcpu(self, cpu):
        """Moves QEMU's vCPU thread to cpu alone; its I/O thread and the clients keep the
        bench's affinity (--pin: the other CPU). The scheduler then cannot place the vCPU
        with wrk or the tap I/O on one core in one round and apart in the next."""
        task = "/proc/%d/task" % self.proc.pid
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for tid in os.listdir(task):
                try:
                    with open(os.path.join(task, tid, "comm")) as f:
                        if f.read().startswith("CPU "):
                            os.sched_setaffinity(int(tid), {cpu})
                            return
                except OSError:
                    pass
            time.sleep(0.01)
        raise RuntimeError("no vCPU thread found in %s" % task)

    @property
    def http(self):
        return self.net.addr(self, 80)

    @property
    def iperf(self):
        return self.net.addr(self, 5001)

    def tail(self, n=6):
        """The last console lines on one line (errors are kept in bench.json)."""
        return " | ".join(self.snapshot()[-n:])


def boot_to_200(g, timeout):
    """Seconds from the QEMU process start to the first 200 on GET /: a fresh connection
    every ~10 ms (a SYN to a guest whose stack is not up is lost, and TCP would retry it
    only after 1 s); each attempt has short timeouts."""
    req = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    deadline = g.started_at + timeout
    last = None
    while time.monotonic() < deadline:
        if not g.alive:
            raise RuntimeError("QEMU exited: " + g.tail())
        s = socket.socket()
        try:
            s.settimeout(0.1)
            s.connect(g.http)
            s.settimeout(0.5)
            s.sendall(req)
            data = b""
            while b"\r\n" not in data:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            if data.startswith(b"HTTP/1.") and data[9:12] == b"200":
                return time.monotonic() - g.started_at
            last = data[:40]
        except OSError as e:
            last = e
        finally:
            s.close()
        time.sleep(0.01)
    raise RuntimeError("no HTTP 200 within %.0f s (last: %r): %s" % (timeout, last, g.tail()))


# -------------------------------------------------------------------- images --

def elf_loadable(path):
    """Sum of PT_LOAD p_filesz of an ELF64 file."""
    with open(path, "rb") as f:
        h = f.read(64)
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        total = 0
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p = f.read(phentsize)
            ptype, = struct.unpack_from("<I", p, 0)
            filesz, = struct.unpack_from("<Q", p, 32)
            if ptype == 1:
                total += filesz
    return total


def build_linux_guest():
    """Run linux_guest.sh (instant when its stamp matches); returns the image paths."""
    t = time.monotonic()
    r = subprocess.run(["bash", LG_SCRIPT, LG_DIR], capture_output=True, text=True, timeout=900)
    msg = (r.stderr.strip().splitlines() or ["?"])[-1]
    log("linux guest: %s (%.1f s)" % (msg.replace("linux-guest: ", ""), time.monotonic() - t))
    if r.returncode != 0:
        raise RuntimeError("linux_guest.sh failed: " + r.stderr[-800:])
    info = {}
    try:
        with open(os.path.join(LG_DIR, "info.json")) as f:
            info = json.load(f)
    except (OSError, ValueError):
        pass
    return {"vmlinuz": os.path.join(LG_DIR, "vmlinuz"),
            "initrd": os.path.join(LG_DIR, "initramfs.cpio.gz"), "info": info}
