#!/usr/bin/python3
"""`make bench`: the unikernel in net.mode=napi|irq|poll against a Debian Linux guest.

Every guest boots under the same QEMU command line (q35, -cpu max, same -m, virtio-net-pci
with the same MAC, same netdev), one at a time. Per round and guest (rounds interleave the
guests, so a change in the machine's load spreads over all of them):
  boot to first HTTP 200 from the QEMU process start (fresh connection every ~10 ms),
  guest-only boot time (ours: banner's TSC time since reset + console delta to READY;
  Linux: printk time of its READY marker, i.e. from kernel start, firmware and bzImage
  decompression not included), wrk at 1/8/64 keep-alive connections (req/s, p50, p99),
  downloads of /bytes/64MiB for BENCH_BYTES_SECONDS (8 in a row per curl connection), iperf2 both ways (`iperf -c`, then `iperf -c -R`),
  interrupts per packet and NAPI polls per interrupt (ours: /stats.json; Linux:
  /proc/interrupts + /proc/net/dev through a CGI), idle CPU of the QEMU process (/proc/PID/stat
  utime+stime over an idle window). Before each guest's round, with no guest running, the
  control: host_noise.c's fixed memory walk, register loop and loopback TCP round trips,
  whose spread over the rounds is the host's own. Then the image size and the smallest -m that still boots
  and answers GET / (bisection over a few sizes).
After the rounds, per guest (linux and napi by default): guest instructions per request,
per received packet/byte and per sent byte, counted by a TCG plugin (insn.py; one QEMU run,
the count read around each workload: not moved by the machine's load), and a real client's
req/s during a spoofed-SYN flood over its req/s without one (synflood.py, tap only).
BENCH_HOTBLOCKS=1 adds where our instructions go per request and per sent byte (hotblocks).
Network: as root, a tap in a private network namespace (host 192.0.2.1/24, guest
192.0.2.2/24); this process enters the namespace (setns) after building what it needs, so
QEMU, wrk, iperf and curl all run inside it, and it is deleted on exit. Otherwise QEMU
user-net with hostfwd on 127.0.0.1 (slirp copies every byte: throughput is slirp's).
Output: one table on stdout, build/bench.json (every run, the medians, QEMU version, host
CPU, load average), build/bench.svg, QEMU console logs in build/bench/logs/.
Numbers never fail the run: a failed measurement is recorded as null with its error.
Files: bench.py (options, rounds), guests.py (the guests, their QEMU, the network),
workloads.py (wrk, curl, iperf2, counters, idle CPU), insn.py, synflood.py, report.py
(statistics, table, bench.json), svg.py, host_noise.py/.c (the control), host_idle.py
(--host-idle poll); QEMU launcher, netns/tap and HTTP helpers are the
shared harness in tests/harness (also used by tests/qemu).
Options: --help. Environment: BENCH_RUNS, BENCH_WRK_SECONDS, BENCH_IPERF_SECONDS, BENCH_BYTES_SECONDS,
BENCH_IDLE_SECONDS, BENCH_MEM, BENCH_NET (tap|user), BENCH_GUESTS (comma list), QEMU,
BENCH_INSN_SECONDS, BENCH_INSN_GUESTS, BENCH_SYN_RATE, BENCH_SYN_SECONDS,
BENCH_SYNFLOOD_GUESTS, BENCH_HOTBLOCKS, BENCH_PIN (1: --pin), BENCH_HOST_IDLE (poll|default),
BENCH_BUDGET_SECONDS.
"""

import argparse
import datetime
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))     # the shared harness package

from guests import (GUESTS, LOGS, MAC, ORDER, WORK, BYTES_READY_RE, Guest,  # noqa: E402
                    TapPeer, UserPeer, boot_to_200, build_linux_guest, elf_loadable, log)
from harness.guest import BANNER_RE, NET_READY_MS_RE, READY_RE, stop_all  # noqa: E402
import host_idle  # noqa: E402
from host_noise import HostNoise  # noqa: E402
import report  # noqa: E402
from report import Recorder  # noqa: E402
import svg  # noqa: E402
import workloads as w  # noqa: E402

BUILD = os.path.join(REPO, "build")
JSON_OUT = os.path.join(BUILD, "bench.json")
SVG_OUT = os.path.join(BUILD, "bench.svg")     # and bench.png when rsvg-convert exists
ELF_SRC = os.environ.get("UNIKERNEL_ELF", os.path.join(BUILD, "unikernel.elf"))


def now():
    return time.monotonic()


# ------------------------------------------------------------------ a round --

def one_round(rec, name, spec, net, mem, images, opts, rnd, control):
    """--pin: the guest's vCPU thread on CPU 1 alone; this process, so QEMU's other threads
    and every client it starts (wrk, curl, iperf), on CPU 0, for the round only.
    control (HostNoise or None) is timed first, with no guest running."""
    if control is not None:
        rec.measure(name, "host_noise", control.run)
    all_cpus = os.sched_getaffinity(0)
    if opts.pin:
        os.sched_setaffinity(0, {0})
    g = Guest(name, spec, net, mem, images, tag="%s-r%d" % (name, rnd),
              pin_cpu=1 if opts.pin else None)
    linux = spec["kind"] == "linux"
    boot_timeout = 90 if linux else 30
    try:
        g.start()
        t200 = rec.measure(name, "boot_to_200_ms", lambda: boot_to_200(g, boot_timeout) * 1e3)
        if t200 is None:
            return

        def guest_boot():
            m, t_ready = g.wait_timed(READY_RE, 10)
            if m.group("tms"):
                return float(m.group("tms"))
            if linux:
                return float(m.group("t")) * 1e3 if m.group("t") else None
            r = g.find(NET_READY_MS_RE)
            if r:
                return float(r.group("ms"))
            b, t_banner = g.find_timed(BANNER_RE)
            if not b:
                raise RuntimeError("no banner")
            return float(b.group("ms")) + (t_ready - t_banner) * 1e3
        rec.measure(name, "guest_boot_ms", guest_boot)

        if linux:
            # the 64 MiB file is made after READY; keep its making out of every figure
            rec.measure(name, "bytes_file", lambda: g.wait_for(BYTES_READY_RE, 120), store=False)
        if rnd == 0:
            rec.measure(name, "virtio_features", lambda: w.virtio_features(g))
            rec.measure(name, "page_bytes", lambda: w.page_check(g)["bytes"])
            rec.measure(name, "bytes_verified", lambda: w.bytes_check(g))

        for c in opts.conns:
            def wrk(c=c):
                res, d = w.with_counters(g, lambda: w.wrk(g, c, opts.wrk_seconds))
                res["counters"] = d
                return res
            rec.measure(name, "wrk_c%d" % c, wrk)

        def b():
            res, d = w.with_counters(g, lambda: w.curl_bytes_for(g, opts.bytes_seconds))
            res["counters"] = d
            return res
        rec.measure(name, "bytes", b)

        def ip():
            res, d = w.with_counters(g, lambda: w.iperf(g, opts.iperf_seconds))
            res["counters"] = d
            return res
        rec.measure(name, "iperf", ip)

        time.sleep(1.0)
        rec.measure(name, "idle_cpu_pct", lambda: w.idle_cpu(g, opts.idle_seconds))
        if not g.alive:
            rec.err(name, "qemu", RuntimeError("QEMU died during the round: " + g.tail()))
    finally:
        g.stop()
        os.sched_setaffinity(0, all_cpus)


def fits(name, spec, net, mem_mib, images, timeout):
    """Does the guest boot and answer GET / with 200 in -m mem_mib? (bool, detail)"""
    extra = "bench.nobytes" if spec["kind"] == "linux" else ""
    g = Guest(name, spec, net, "%dM" % mem_mib, images, extra_append=extra,
              tag="%s-minmem-%dM" % (name, mem_mib))
    try:
        g.start()
        t = boot_to_200(g, timeout)
        return True, "200 after %.0f ms" % (t * 1e3)
    except Exception as e:
        return False, str(e)[:300]
    finally:
        g.stop()


def smallest_mem(name, spec, net, images, candidates, timeout):
    """Bisect the sorted candidates for the smallest passing one (assumes monotonic)."""
    probes = {}
    lo, hi = 0, len(candidates) - 1
    ok, detail = fits(name, spec, net, candidates[hi], images, timeout)
    probes[candidates[hi]] = {"ok": ok, "detail": detail}
    if not ok:
        return None, probes
    while lo < hi:
        mid = (lo + hi) // 2
        ok, detail = fits(name, spec, net, candidates[mid], images, timeout)
        probes[candidates[mid]] = {"ok": ok, "detail": detail}
        if ok:
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo], probes


# -------------------------------------------------------------------- setup --

def parse_args():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--runs", type=int, default=int(env("BENCH_RUNS", "3")))
    ap.add_argument("--wrk-seconds", type=int, default=int(env("BENCH_WRK_SECONDS", "10")))
    ap.add_argument("--iperf-seconds", type=int, default=int(env("BENCH_IPERF_SECONDS", "10")))
    ap.add_argument("--bytes-seconds", type=float, default=float(env("BENCH_BYTES_SECONDS", "5")))
    ap.add_argument("--idle-seconds", type=float, default=float(env("BENCH_IDLE_SECONDS", "5")))
    ap.add_argument("--mem", default=env("BENCH_MEM", "256M"),
                    help="-m for every guest (Linux keeps the 64 MiB /bytes file in RAM)")
    ap.add_argument("--net", choices=["auto", "tap", "user"], default=env("BENCH_NET", "auto"))
    ap.add_argument("--guests", default=env("BENCH_GUESTS", ",".join(ORDER)),
                    help="comma list of linux,napi,irq,poll")
    ap.add_argument("--no-min-mem", action="store_true", help="skip the smallest -m bisection")
    ap.add_argument("--quick", action="store_true", help="1 run, 1 s wrk/iperf//bytes, 2 s idle")
    ap.add_argument("--conns", default="1,8,64")
    ap.add_argument("--no-insn", action="store_true", help="skip the instruction counts")
    ap.add_argument("--no-synflood", action="store_true", help="skip the SYN flood figure")
    ap.add_argument("--syn-rate", type=int, default=int(env("BENCH_SYN_RATE", "20000")))
    ap.add_argument("--syn-seconds", type=int, default=int(env("BENCH_SYN_SECONDS", "5")))
    ap.add_argument("--synflood-guests", default=env("BENCH_SYNFLOOD_GUESTS", "linux,napi"))
    ap.add_argument("--insn-seconds", type=int, default=int(env("BENCH_INSN_SECONDS", "5")))
    ap.add_argument("--insn-guests", default=env("BENCH_INSN_GUESTS", "linux,napi"))
    ap.add_argument("--pin", action="store_true", default=env("BENCH_PIN", "") == "1",
                    help="each round: the vCPU thread alone on CPU 1, QEMU's I/O and the clients on CPU 0")
    ap.add_argument("--host-idle", choices=["poll", "default"], default=env("BENCH_HOST_IDLE", "default"),
                    help="poll: the host's idle CPUs poll, not halt, while the bench runs (host_idle.py)")
    ap.add_argument("--budget", type=float, default=float(env("BENCH_BUDGET_SECONDS", "1500")),
                    help="start no new round past this many seconds (make bench < ~30 min)")
    o = ap.parse_args()
    if o.quick:
        o.runs, o.wrk_seconds, o.iperf_seconds, o.idle_seconds, o.bytes_seconds = 1, 1, 1, 2, 1
    o.conns = [int(x) for x in o.conns.split(",")]
    o.guests = [g for g in o.guests.split(",") if g in GUESTS]
    return o


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main():
    opts = parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    t_start = now()
    os.makedirs(LOGS, exist_ok=True)
    for f in os.listdir(LOGS):
        if f.endswith(".log"):
            os.unlink(os.path.join(LOGS, f))
    meta = {"when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "qemu_version": report.qemu_version(), "host_cpu": report.host_cpu(),
            "host_cpus": os.cpu_count(), "git": report.git_rev(), "runs": opts.runs,
            "wrk_seconds": opts.wrk_seconds, "iperf_seconds": opts.iperf_seconds,
            "bytes_seconds": opts.bytes_seconds, "pin": opts.pin,
            "idle_seconds": opts.idle_seconds, "mem": opts.mem, "conns": opts.conns,
            "loadavg_start": "%.2f %.2f %.2f" % os.getloadavg(),
            "qemu_common": "-machine q35 -cpu max -m %s -smp 1 -nographic -no-reboot "
                           "-device virtio-net-pci,netdev=n0,mac=%s "
                           "-device isa-debug-exit,iobase=0xf4,iosize=0x04" % (opts.mem, MAC)}
    setup_errors = {}
    static = {}
    images = {}

    # our image, copied: other people rebuild build/unikernel.elf while this runs
    if any(GUESTS[g]["kind"] == "ours" for g in opts.guests):
        if not os.path.exists(ELF_SRC):
            log("%s missing: run `make` first" % ELF_SRC)
            return 1
        elf = os.path.join(WORK, "unikernel.elf")
        shutil.copyfile(ELF_SRC, elf)
        with open(elf, "rb") as f:
            meta["elf_sha256"] = hashlib.sha256(f.read()).hexdigest()
        images["elf"] = elf
        st = {"image_kib": os.path.getsize(elf) / 1024,
              "loadable_kib": round(elf_loadable(elf) / 1024)}
        for g in opts.guests:
            if GUESTS[g]["kind"] == "ours":
                static[g] = dict(st)
    if "linux" in opts.guests:
        try:
            li = build_linux_guest()
            images.update(li)
            meta["linux_guest"] = li["info"]
            static["linux"] = {"image_kib": (os.path.getsize(li["vmlinuz"]) +
                                             os.path.getsize(li["initrd"])) / 1024}
        except Exception as e:
            setup_errors["linux"] = str(e)
            log("linux guest unavailable: %s" % e)
            opts.guests = [g for g in opts.guests if g != "linux"]

    net = None
    if opts.net in ("auto", "tap") and os.geteuid() == 0:
        net = TapPeer()
        try:
            net.setup()
        except Exception as e:
            log("tap set-up failed (%s); falling back to user-net" % e)
            setup_errors["tap"] = str(e)
            net.cleanup()
            net = None
    elif opts.net == "tap":
        setup_errors["tap"] = "not root"
    if net is None:
        net = UserPeer()
        net.setup()
    meta["net"] = net.kind
    meta["net_label"] = net.label

    control = HostNoise(WORK)
    try:
        control.build()
    except Exception as e:
        setup_errors["host_noise"] = str(e)
        log("host noise control unavailable: %s" % e)
        control = None

    rec = Recorder()
    idle = host_idle.PollIdle()
    meta["host_idle"] = idle.hold() if opts.host_idle == "poll" else "default (--host-idle default)"
    log("host idle: " + meta["host_idle"])
    try:
        log("network: %s; guests: %s; -m %s; %d round(s)" % (net.label, ", ".join(opts.guests),
                                                             opts.mem, opts.runs))
        round_times = []
        for rnd in range(opts.runs):
            left = opts.budget - (now() - t_start)
            est = max(round_times) if round_times else 0
            if rnd > 0 and est + (40 if not opts.no_min_mem else 0) > left:
                log("time budget: stopping after %d round(s) (next ~%.0f s, %.0f s left)"
                    % (rnd, est, left))
                meta["rounds_cut_by_budget"] = rnd
                break
            t_round = now()
            # rotate the order so no guest always runs first after a quiet spell
            gs = opts.guests[rnd % len(opts.guests):] + opts.guests[:rnd % len(opts.guests)]
            for name in gs:
                t = now()
                rec.put(name, "loadavg_1min", os.getloadavg()[0])
                try:
                    one_round(rec, name, GUESTS[name], net, opts.mem, images, opts, rnd, control)
                except Exception as e:
                    rec.err(name, "round", e)
                r = rec.runs.get(name, {})
                last = lambda k: (r.get(k) or [None])[-1]
                w64 = last("wrk_c64") or {}
                by = last("bytes") or {}
                log("round %d %-5s %5.1f s: boot->200 %s ms, wrk64 %s req/s, bytes %s Mbit/s"
                    % (rnd + 1, name, now() - t,
                       "%.0f" % last("boot_to_200_ms") if last("boot_to_200_ms") else "-",
                       "%.0f" % w64["rps"] if w64.get("rps") else "-",
                       "%.0f" % by["mbit_s"] if by.get("mbit_s") else "-"))
            round_times.append(now() - t_round)

        if not opts.no_synflood:
            import synflood
            meta["syn_rate"], meta["syn_seconds"] = opts.syn_rate, opts.syn_seconds
            for name in [g for g in opts.synflood_guests.split(",") if g in opts.guests]:
                t = now()
                synflood.suite(rec, name, GUESTS[name], net, opts.mem, images, opts)
                r = (rec.runs.get(name, {}).get("synflood") or [None])[-1] or {}
                log("syn flood %s (%.0f s): %s req/s -> %s req/s at %s SYN/s" % (
                    name, now() - t, r.get("base_rps"), r.get("flood_rps"),
                    "%.0f" % r["syn_per_s"] if r.get("syn_per_s") else "-"))

        if not opts.no_insn:
            import insn
            for name in [g for g in opts.insn_guests.split(",") if g in opts.guests]:
                t = now()
                insn.suite(rec, name, GUESTS[name], net, opts.mem, images, opts)
                r = rec.runs.get(name, {})
                log("instructions %s (%.0f s): %s" % (name, now() - t, ", ".join(
                    "%s %s" % (k[5:], "%.4g" % r[k][-1] if r.get(k) and r[k][-1] else "-")
                    for k in ("insn_per_request", "insn_per_rx_packet", "insn_per_tx_byte"))))

        if not opts.no_min_mem:
            cands = {"ours": [4, 6, 8, 12, 16, 24, 32, 64], "linux": [48, 64, 96, 128, 192, 256]}
            meta["min_mem_candidates"] = "ours %s, Linux %s MiB" % (cands["ours"], cands["linux"])
            done_ours = None
            for name in opts.guests:
                spec = GUESTS[name]
                if spec["kind"] == "ours" and done_ours is not None:
                    static[name]["min_mem_mib"] = static[done_ours]["min_mem_mib"]
                    continue
                t = now()
                boot = (rec.runs.get(name, {}).get("boot_to_200_ms") or [None])
                bmed = statistics.median([b for b in boot if b] or [10000]) / 1e3
                timeout = max(20.0, 3 * bmed)
                try:
                    mm, probes = smallest_mem(name, spec, net, images, cands[spec["kind"]], timeout)
                except Exception as e:
                    mm, probes = None, {"error": str(e)}
                static.setdefault(name, {})["min_mem_mib"] = mm
                static[name]["min_mem_probes"] = probes
                if spec["kind"] == "ours":
                    done_ours = name
                log("smallest -m %s: %s MiB (%.0f s; probes %s)" % (
                    name, mm, now() - t, {k: v["ok"] for k, v in probes.items() if isinstance(v, dict)}))
    finally:
        stop_all()
        net.cleanup()

    try:
        meta["boot_floor"] = __import__("boot_floor").measure(images.get("elf", ELF_SRC), LOGS)
    finally:
        idle.release()
    meta["loadavg_end"] = "%.2f %.2f %.2f" % os.getloadavg()
    meta["elapsed_s"] = round(now() - t_start, 1)
    summary = report.build_summary(rec, opts.guests)
    checks = report.bar_checks(summary, static, opts.guests)
    notes, feats = report.make_notes(summary, checks, rec, opts.guests, net.kind)
    meta["virtio_features"] = feats
    out = {"meta": meta, "guests": {g: GUESTS[g] for g in opts.guests}, "summary": summary,
           "static": static, "bar": checks, "notes": notes, "runs": rec.runs, "errors": rec.errors,
           "setup_errors": setup_errors}
    report.write_json(JSON_OUT, out)
    try:
        svg.write_svg(summary, opts.guests, SVG_OUT, meta)
        png = SVG_OUT[:-4] + ".png"
        if shutil.which("rsvg-convert"):          # optional (Debian librsvg2-bin)
            subprocess.run(["rsvg-convert", SVG_OUT, "-o", png], timeout=60, check=False)
    except Exception as e:
        log("svg: %s" % e)
    report.print_table(summary, static, opts.guests, checks, meta, notes)
    nerr = sum(len(v) for m in rec.errors.values() for v in m.values())
    print()
    print("%d failed measurement(s)%s; wrote %s and %s; logs in %s; %.0f s" % (
        nerr, " (see errors in bench.json)" if nerr else "", os.path.relpath(JSON_OUT, REPO),
        os.path.relpath(SVG_OUT, REPO), os.path.relpath(LOGS, REPO), meta["elapsed_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
