"""The QEMU guest launcher shared by tests/qemu and scripts/bench (standard library only).

Qemu starts one QEMU process (the unikernel, or any -kernel/-initrd such as the bench's Linux
guest), keeps its console lines with their time since the process start, and waits for
console patterns. Every wait here is bounded; a Qemu instance only ever signals its own PID.
"""

import atexit
import os
import re
import socket
import subprocess
import threading
import time
import weakref

from harness.httpc import wait_http

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build")
LOG_DIR = os.path.join(BUILD, "test-logs")

QEMU_BIN = os.environ.get("QEMU", "/usr/bin/qemu-system-x86_64")
ELF = os.environ.get("UNIKERNEL_ELF", os.path.join(BUILD, "unikernel.elf"))
ISO = os.environ.get("UNIKERNEL_ISO", os.path.join(BUILD, "unikernel.iso"))
IMG = os.environ.get("UNIKERNEL_IMG", os.path.join(BUILD, "unikernel.img"))
# Debian's ovmf: UEFI firmware for -bios (firmware="uefi")
OVMF = os.environ.get("UNIKERNEL_OVMF", "/usr/share/OVMF/OVMF_CODE.fd")

# TCG boots in 1-3 s; these leave room for a loaded machine.
BOOT_TIMEOUT = float(os.environ.get("UNIKERNEL_BOOT_TIMEOUT", "60"))
EXIT_TIMEOUT = float(os.environ.get("UNIKERNEL_EXIT_TIMEOUT", "30"))

# isa-debug-exit: QEMU status = (value << 1) | 1
EXIT_CLEAN = 1      # kernel wrote 0
EXIT_PANIC = 255    # kernel wrote 127

BANNER_RE = (r"unikernel-net (?P<version>\S+) \(x86_64, (?P<boot>pvh|multiboot2)\) "
             r"booted in (?P<ms>\d+(?:\.\d+)?) ms since reset")
MEM_RE = r"mem: (?P<mib>\d+) MiB usable RAM, heap (?P<heap>\d+) MiB"
# The bench's Linux guest adds its printk time (t=) to the same line.
READY_RE = (r"READY ip=(?P<ip>\d+\.\d+\.\d+\.\d+) port=(?P<port>\d+)(?: t=(?P<t>[\d.]+))?"
            r"(?:.*?\bt_ms=(?P<tms>[\d.]+))?")
PANIC_RE = (r"PANIC: (?P<name>.*?) \(vector (?P<vector>\d+)\) at RIP 0x(?P<rip>[0-9a-fA-F]+)"
            r" CR2 0x(?P<cr2>[0-9a-fA-F]+)")
PCI_RE = (r"(?i)pci: (?P<bus>[0-9a-f]{2}):(?P<dev>[0-9a-f]{2})\.(?P<fn>[0-7]) "
          r"(?P<vendor>[0-9a-f]{4}):(?P<device>[0-9a-f]{4}) "
          r"class (?P<cls>[0-9a-f]{2})\.(?P<sub>[0-9a-f]{2})\.(?P<pi>[0-9a-f]{2})")
# One line ("features offered 0x.. accepted 0x..") or two ("features offered 0x..",
# "features accepted 0x..") are both accepted.
FEATURES_OFFERED_RE = r"virtio-net: features offered 0x(?P<offered>[0-9a-fA-F]+)"
FEATURES_ACCEPTED_RE = r"virtio-net: (?:features )?.*accepted 0x(?P<accepted>[0-9a-fA-F]+)"
# MSI-X set up (a Linux-style fallback may also log "msix ... unavailable" before INTx)
MSIX_RE = r"virtio-pci: msix (?:per-queue|shared) vectors"
INTX_RE = r"virtio-pci: intx\b"
NO_NET_RE = r"net: no usable virtio-net device: (?P<reason>.+)"
UEFI_RE = r"boot: UEFI firmware"
CLOCK_RE = r"clock: TSC (?P<khz>\d+) kHz, (?P<source>.+)"
NET_READY_MS_RE = r"net: ready (?P<ms>\d+(?:\.\d+)?) ms since reset"
ECAM_RE = r"pci: config access via ECAM at 0x(?P<base>[0-9a-f]+)"

# Firmware and GRUB paint the serial line with terminal escapes.
_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])")
_CTRL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

MAX_LINES = 200000

_live = weakref.WeakSet()


def each_quietly(objs, method):
    """Call objs' method on a copy of the collection, ignoring failures (exit-time clean-up)."""
    for o in list(objs):
        try:
            getattr(o, method)()
        except Exception:
            pass


def stop_all():
    """Stop every Qemu still running (each its own PID)."""
    each_quietly(_live, "stop")


atexit.register(stop_all)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_line(raw):
    s = raw.decode("utf-8", "replace")
    s = _ANSI_RE.sub("", s)
    return _CTRL_RE.sub("", s.rstrip("\r\n"))


class QemuError(AssertionError):
    pass


class Qemu:
    """One QEMU process with the unikernel and its console.

    boot:      "elf" (-kernel, PVH, cmdline via -append), "iso" (-cdrom, GRUB, fixed cmdline)
               or "img" (the same hybrid image as a raw -drive)
    kernel:    the -kernel file for boot="elf" (default: build/unikernel.elf); initrd: -initrd
    machine:   "q35" | "pc" | "microvm" (pcie=on added);  mem: "-m" value;  smp: vCPU count
    firmware:  "bios" (QEMU's default: SeaBIOS, or qboot on microvm) or "uefi" (-bios OVMF)
    append:    kernel command line (str or list of "key=value"); ELF only
    nic:       "virtio-net-pci" (default), another -device model (e.g. "e1000"), or None (-nic none)
    nic_opts:  extra device properties, e.g. "disable-legacy=on,vectors=0"
    fwd:       guest TCP ports to forward from a free 127.0.0.1 port (self.ports[guest_port])
    guest_ip:  hostfwd target address (default: slirp's first DHCP address, 10.0.2.15)
    netdev:    a full -netdev value replacing user-net (e.g. "tap,id=n0,ifname=..."); its id
               must be n0; fwd is then ignored
    wrap:      argv prefix for QEMU, e.g. ["ip", "netns", "exec", NS] (must exec QEMU, so the
               PID signalled by stop() is QEMU's)
    log_dir:   where the console log <name>.log goes (default build/test-logs)
    """

    def __init__(self, name="qemu", boot="elf", machine="q35", mem="64M", smp=1,
                 append="", nic="virtio-net-pci", nic_opts="", fwd=(80,), guest_ip="",
                 debug_exit=True, extra=(), expect_panic=False, netdev=None, wrap=(),
                 firmware="bios", kernel=None, initrd=None, log_dir=LOG_DIR):
        self.name = name
        self.boot = boot
        self.kernel = kernel
        self.initrd = initrd
        self.firmware = firmware
        self.machine = machine
        self.mem = mem
        self.smp = smp
        self.append = " ".join(append) if isinstance(append, (list, tuple)) else append
        self.nic = nic
        self.nic_opts = nic_opts
        self.netdev = netdev
        self.wrap = list(wrap)
        self.fwd = tuple(fwd) if nic and not netdev else ()
        self.guest_ip = guest_ip
        self.debug_exit = debug_exit
        self.extra = list(extra)
        self.expect_panic = expect_panic
        self.ports = {}
        self.proc = None
        self.lines = []
        self.times = []             # per console line: seconds since the process start
        self.stderr_lines = []
        self.dropped = 0
        self.ready = None
        self._cond = threading.Condition()
        self._eof = False
        self._err_eof = False
        self._threads = []
        self._log = None
        self.log_dir = log_dir
        self.log_path = os.path.join(log_dir, re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".log")
        self.started_at = None

    # ---- command line -------------------------------------------------
    def cmdline(self):
        image = {"elf": self.kernel or ELF, "img": IMG}.get(self.boot, ISO)
        if not os.path.exists(image):
            raise QemuError("%s not built (run `make`)" % image)
        machine = self.machine
        if machine.split(",")[0] == "microvm" and "pcie=" not in machine:
            machine += ",pcie=on"       # the only way microvm has PCI at all
        args = self.wrap + [QEMU_BIN, "-machine", machine, "-cpu", "max", "-m", str(self.mem),
                "-smp", str(self.smp), "-nographic", "-no-reboot"]
        if self.firmware == "uefi":
            if not os.path.exists(OVMF):
                raise QemuError("%s missing (Debian package ovmf; run `make deps`)" % OVMF)
            args += ["-bios", OVMF]
        elif self.firmware != "bios":
            raise ValueError(self.firmware)
        if self.boot == "elf":
            args += ["-kernel", image]
            if self.initrd:
                args += ["-initrd", self.initrd]
            if self.append:
                args += ["-append", self.append]
        elif self.boot == "iso":
            if self.append:
                raise QemuError("the ISO has a fixed command line; cannot pass %r" % self.append)
            args += ["-cdrom", image, "-boot", "d"]
        elif self.boot == "img":
            if self.append:
                raise QemuError("the image has a fixed command line; cannot pass %r" % self.append)
            # snapshot: instances share the file and never write it
            args += ["-drive", "file=%s,format=raw,snapshot=on" % image]
        else:
            raise ValueError(self.boot)
        if self.nic is None:
            args += ["-nic", "none"]
        else:
            dev = "%s,netdev=n0" % self.nic
            if self.nic_opts:
                dev += "," + self.nic_opts
            netdev = self.netdev or "user,id=n0"
            for gport in self.fwd:
                hport = self.ports.get(gport) or free_port()
                self.ports[gport] = hport
                netdev += ",hostfwd=tcp:127.0.0.1:%d-%s:%d" % (hport, self.guest_ip, gport)
            args += ["-device", dev, "-netdev", netdev]
        if self.debug_exit:
            args += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        return args + self.extra

    # ---- lifecycle ----------------------------------------------------
    def start(self):
        args = self.cmdline()
        os.makedirs(self.log_dir, exist_ok=True)
        self._log = open(self.log_path, "w", encoding="utf-8", errors="replace")
        self._log.write("# " + " ".join(args) + "\n")
        self._log.flush()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True, cwd=REPO)
        _live.add(self)
        for stream, is_err in ((self.proc.stdout, False), (self.proc.stderr, True)):
            t = threading.Thread(target=self._reader, args=(stream, is_err),
                                 name="qemu-%s-%s" % (self.proc.pid, "err" if is_err else "out"),
                                 daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _reader(self, stream, is_err):
        try:
            for raw in iter(stream.readline, b""):
                line = clean_line(raw)
                t = time.monotonic() - self.started_at
                with self._cond:
                    if is_err:
                        self.stderr_lines.append(line)
                    elif len(self.lines) < MAX_LINES:
                        self.lines.append(line)
                        self.times.append(t)
                    else:
                        self.dropped += 1
                    if self._log and not self._log.closed:
                        self._log.write("%8.3f %s%s\n" % (t, "[qemu stderr] " if is_err else "", line))
                        self._log.flush()
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                if is_err:
                    self._err_eof = True
                else:
                    self._eof = True
                self._cond.notify_all()

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def stop(self, grace=5.0):
        """Terminate (then kill) this instance's own PID; idempotent."""
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(grace)
                except subprocess.TimeoutExpired:
                    pass
            except ProcessLookupError:
                pass
        for t in self._threads:
            t.join(2.0)
        with self._cond:
            if self._log and not self._log.closed:
                self._log.write("# exit status %s\n" % p.returncode)
                self._log.close()
        _live.discard(self)

    # ---- console ------------------------------------------------------
    def text(self):
        with self._cond:
            return "\n".join(self.lines)

    def snapshot(self):
        with self._cond:
            return list(self.lines)

    def tail(self, n=40):
        with self._cond:
            out = self.lines[-n:]
            err = self.stderr_lines[-10:]
        s = "--- console (last %d lines of %s, log %s) ---\n" % (len(out), self.name, self.log_path)
        s += "\n".join(out)
        if err:
            s += "\n--- qemu stderr ---\n" + "\n".join(err)
        return s

    def _fail(self, msg):
        raise QemuError("%s\n%s" % (msg, self.tail()))

    def wait_for(self, pattern, timeout=BOOT_TIMEOUT, start=0):
        """Wait until a console line (index >= start) matches pattern; returns the re.Match.

        The index of the matching line is left in self.last_index. Fails at once if QEMU exits
        (and its output is drained) without the line."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        self.last_index = i
                        return m
                    i += 1
                if self._eof:
                    self._cond.release()
                    try:
                        rc = self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        rc = None
                    finally:
                        self._cond.acquire()
                    if i >= len(self.lines):
                        self._fail("QEMU exited (status %s) before /%s/ appeared" % (rc, pattern))
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 1.0))
        self._fail("timeout (%.0f s) waiting for /%s/" % (timeout, pattern))

    def wait_timed(self, pattern, timeout=BOOT_TIMEOUT):
        """(re.Match, seconds from the process start to that console line)."""
        m = self.wait_for(pattern, timeout)
        with self._cond:
            return m, self.times[self.last_index]

    def find_timed(self, pattern):
        """(re.Match, seconds since the start) of the first matching line, or (None, None)."""
        rx = re.compile(pattern)
        with self._cond:
            for line, t in zip(self.lines, self.times):
                m = rx.search(line)
                if m:
                    return m, t
        return None, None

    def find(self, pattern, start=0):
        rx = re.compile(pattern)
        for line in self.snapshot()[start:]:
            m = rx.search(line)
            if m:
                return m
        return None

    def find_all(self, pattern, start=0):
        rx = re.compile(pattern)
        return [m for m in (rx.search(l) for l in self.snapshot()[start:]) if m]

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Wait for QEMU to exit by itself; returns its status."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail("QEMU still running after %.0f s" % timeout)
        for t in self._threads:
            t.join(5.0)
        return rc

    def wait_banner(self, timeout=BOOT_TIMEOUT):
        return self.wait_for(BANNER_RE, timeout)

    def wait_ready(self, timeout=BOOT_TIMEOUT, check_http=True):
        """Wait for READY, then (user-net) until HTTP answers on the forwarded port."""
        m = self.wait_for(READY_RE, timeout)
        self.ready = m
        if check_http and 80 in self.ports and int(m.group("port")) == 80:
            wait_http(self.ports[80], timeout=min(timeout, 30), qemu=self)
        return m

    def console_problems(self, start=0):
        """Lines that fail any QEMU test: PANIC (unless expected), ASSERT:, virtio 'broken',
        and more than one READY."""
        bad = []
        ready = 0
        for line in self.snapshot()[start:]:
            if "PANIC" in line:
                # an expected panic may itself be a deliberate assertion
                if not self.expect_panic:
                    bad.append(line)
            elif "ASSERT:" in line:
                bad.append(line)
            elif re.search(r"(?i)\bbroken\b", line) and re.search(r"(?i)virt|\bvq\b|ring|queue", line):
                bad.append(line)
            if re.search(READY_RE, line):
                ready += 1
        if ready > 1:
            bad.append("READY printed %d times" % ready)
        return bad

    def __repr__(self):
        return "<Qemu %s pid=%s ports=%s>" % (self.name, self.proc and self.proc.pid, self.ports)
