#!/usr/bin/python3
"""Boot to first HTTP 200 on microvm next to the floor: an empty PVH kernel that exits at once.

Both run under one QEMU command line (microvm,pcie=on, -cpu max, -m 64M, the same
virtio-net-pci on user-net, isa-debug-exit), timed the same way from the QEMU process
start on the host's monotonic clock: the empty kernel until QEMU exits (its first
instruction writes isa-debug-exit; also until its "@@" on the console, which leaves out
QEMU's exit), ours until the first 200 on GET / (a new connection
every 2 ms through hostfwd, earlier ones kept open). The same pair on q35 for context. Also records the guest's own
"net: ready N ms since reset" next to the host's READY time, as a check of the guest clock.
Goal: ours within 1.25x of the floor on microvm. Reports; never fails on a number.
Standalone: scripts/bench/boot_floor.py [runs]; from bench.py: measure(elf, logdir).
"""

import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))     # the shared harness package
from harness.guest import free_port  # noqa: E402
QEMU = os.environ.get("QEMU", "/usr/bin/qemu-system-x86_64")
GOAL = 1.25

# 32-bit PVH entry (XEN_ELFNOTE_PHYS32_ENTRY = 18): "@@\n" to COM1, then 0 to isa-debug-exit.
MARK = b"@@\n"
EMPTY_S = r"""
    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 4, 18
    .asciz "Xen"
    .long start
    .text
    .code32
    .globl start
start:
    movw $0x3f8, %dx
    movb $'@', %al
    outb %al, %dx
    outb %al, %dx
    movb $10, %al
    outb %al, %dx
    xorl %eax, %eax
    outb %al, $0xf4
1:  hlt
    jmp 1b
"""


def build_empty(workdir):
    src = os.path.join(workdir, "empty_pvh.S")
    obj = os.path.join(workdir, "empty_pvh.o")
    elf = os.path.join(workdir, "empty_pvh.elf")
    with open(src, "w") as f:
        f.write(EMPTY_S)
    subprocess.run(["gcc", "-c", "-o", obj, src], check=True)
    subprocess.run(["ld", "-o", elf, "-Ttext=0x100000", "-e", "start", "-z", "noexecstack",
                    "--build-id=none", obj], check=True)
    return elf


def qemu_argv(machine, elf, port):
    return [QEMU, "-machine", machine, "-cpu", "max", "-m", "64M", "-nographic", "-no-reboot",
            "-kernel", elf, "-device", "virtio-net-pci,netdev=n0",
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80" % port,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def time_empty(machine, elf, timeout=30):
    """ms from Popen to the kernel's first console bytes, and to QEMU's exit."""
    t0 = time.monotonic()
    p = subprocess.Popen(qemu_argv(machine, elf, free_port()), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen, t_mark = b"", None
    try:
        while True:
            d = os.read(p.stdout.fileno(), 4096)
            if not d:
                break
            seen += d
            if t_mark is None and MARK in seen:
                t_mark = time.monotonic()
        rc = p.wait(timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        p.stdout.close()
    t_exit = time.monotonic()
    if rc != 1 or t_mark is None:
        raise RuntimeError("empty kernel: QEMU status %s, marker %s" % (rc, t_mark is not None))
    return (t_mark - t0) * 1000, (t_exit - t0) * 1000


def time_ours(machine, elf, log, timeout=60):
    """ms from Popen to the first 200, and the guest's own READY time since reset.

    A new connection every 2 ms, earlier ones left open: slirp accepts on the host at once
    and its SYN to a guest that is not up yet is only retried a second later, so waiting on
    one connection would measure slirp's retry timer, not the guest."""
    port = free_port()
    req = b"GET / HTTP/1.1\r\nHost: floor\r\nConnection: close\r\n\r\n"
    sel = selectors.DefaultSelector()
    ms = None
    with open(log, "wb") as out:
        t0 = time.monotonic()
        p = subprocess.Popen(qemu_argv(machine, elf, port), stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT)
        try:
            next_open = t0
            while ms is None and time.monotonic() - t0 < timeout:
                if p.poll() is not None:
                    raise RuntimeError("QEMU exited (%s), see %s" % (p.returncode, log))
                now = time.monotonic()
                if now >= next_open and len(sel.get_map()) < 200:
                    s = socket.socket()
                    s.setblocking(False)
                    try:
                        s.connect(("127.0.0.1", port))
                    except BlockingIOError:
                        pass
                    except OSError:
                        s.close()
                        s = None
                    if s is not None:
                        sel.register(s, selectors.EVENT_WRITE, [b"", False])
                    next_open = now + 0.002
                for key, ev in sel.select(timeout=0.001):
                    s, st = key.fileobj, key.data
                    try:
                        if not st[1]:
                            s.send(req)
                            st[1] = True
                            sel.modify(s, selectors.EVENT_READ, st)
                            continue
                        d = s.recv(64)
                    except OSError:
                        d = b""
                    if d:
                        st[0] += d
                    if len(st[0]) >= 12 or not d:
                        if st[0][:5] == b"HTTP/" and st[0][9:12] == b"200":
                            ms = (time.monotonic() - t0) * 1000
                        sel.unregister(s)
                        s.close()
            if ms is None:
                raise RuntimeError("no HTTP 200 within %d s, see %s" % (timeout, log))
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
    with open(log, "rb") as f:
        m = re.search(rb"net: ready (\d+\.\d+) ms since reset", f.read())
    return ms, float(m.group(1)) if m else None


def measure(elf, logdir, runs=5):
    """Returns a dict of medians (ms) and every run; prints a small table."""
    os.makedirs(logdir, exist_ok=True)
    out = {"runs": runs, "goal_ratio": GOAL}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            empty = build_empty(tmp)
            for machine, key in (("microvm,pcie=on", "microvm"), ("q35", "q35")):
                mark, fl, ours, guest = [], [], [], []
                for i in range(runs):      # interleaved: load changes hit both alike
                    m, e = time_empty(machine, empty)
                    mark.append(m)
                    fl.append(e)
                    o, g = time_ours(machine, elf, os.path.join(logdir, "floor-%s-%d.log" % (key, i)))
                    ours.append(o)
                    guest.append(g)
                out[key] = {"floor_exit_ms": fl, "floor_console_ms": mark,
                            "ours_to_200_ms": ours, "guest_ready_ms": guest,
                            "floor_median_ms": statistics.median(fl),
                            "floor_console_median_ms": statistics.median(mark),
                            "ours_median_ms": statistics.median(ours),
                            "ratio": statistics.median(ours) / statistics.median(fl)}
    except Exception as e:
        out["error"] = str(e)
        print("boot floor: %s" % e)
        return out
    print("boot to first HTTP 200 vs an empty PVH kernel (host clock from QEMU start, "
          "median of %d):" % runs)
    print("  %-8s %12s %14s %10s %7s  %s" % ("machine", "empty: exit", "empty: console",
                                             "ours: 200", "ratio", "ours READY, guest clock"))
    for key in ("microvm", "q35"):
        r = out[key]
        g = [x for x in r["guest_ready_ms"] if x is not None]
        print("  %-8s %9.1f ms %11.1f ms %7.1f ms %6.2fx  %s" % (
            key, r["floor_median_ms"], r["floor_console_median_ms"], r["ours_median_ms"],
            r["ratio"], "%.1f ms since reset" % statistics.median(g) if g else "-"))
    r = out["microvm"]["ratio"]
    print("  microvm goal: within %.2fx of the floor: %s (%.2fx)" % (GOAL, "met" if r <= GOAL else "NOT met", r))
    return out


if __name__ == "__main__":
    elf = os.environ.get("UNIKERNEL_ELF", os.path.join(REPO, "build", "unikernel.elf"))
    measure(elf, os.path.join(REPO, "build", "bench", "logs"),
            int(sys.argv[1]) if len(sys.argv) > 1 else 5)
