"""Statistics and report of `make bench`: the Recorder every measurement goes through (a
failure is recorded as null with its error, never an abort), the medians and spreads, the
bar (ratios against targets) and its notes, the table on stdout, build/bench.json, and the
facts about the run (QEMU version, host CPU, git revision)."""

import json
import statistics
import subprocess

from guests import GUESTS, REPO, columns, log
from harness.guest import QEMU_BIN
from workloads import OFFLOADS


class Recorder:
    def __init__(self):
        self.runs = {}        # guest -> metric -> [values]
        self.errors = {}      # guest -> metric -> [errors]
        self.extra = {}       # guest -> metric -> [dicts]

    def put(self, guest, metric, value):
        self.runs.setdefault(guest, {}).setdefault(metric, []).append(value)

    def err(self, guest, metric, e):
        msg = "%s: %s" % (type(e).__name__, e)
        self.errors.setdefault(guest, {}).setdefault(metric, []).append(msg[:600])
        log("  %s %s: FAILED %s" % (guest, metric, msg[:300]))

    def measure(self, guest, metric, fn, store=True):
        """fn()'s value, recorded under metric; a failure is recorded as None with its error,
        never an abort."""
        try:
            v = fn()
        except Exception as e:
            self.err(guest, metric, e)
            v = None
        if store:
            self.put(guest, metric, v)
        return v


# ------------------------------------------------------------------ summary --

def summ(values):
    v = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def path_values(runs, path):
    """values of runs[metric][i][key][key2] for path 'metric.key.key2'."""
    parts = path.split(".")
    out = []
    for r in runs.get(parts[0], []):
        x = r
        for p in parts[1:]:
            x = x.get(p) if isinstance(x, dict) else None
        out.append(x)
    return out


# (key, label, unit/format, better: "hi"|"lo"|None)
ROWS = [
    ("boot_to_200_ms", "boot to first HTTP 200 (ms, from QEMU start)", "%.0f", "lo"),
    ("guest_boot_ms", "guest boot to READY (ms) [1]", "%.0f", "lo"),
    ("wrk_c1.rps", "req/s  /  1 conn", "%.0f", "hi"),
    ("wrk_c1.p50_ms", "  p50 latency (ms)", "%.2f", "lo"),
    ("wrk_c1.p99_ms", "  p99 latency (ms)", "%.2f", "lo"),
    ("wrk_c8.rps", "req/s  /  8 conns", "%.0f", "hi"),
    ("wrk_c8.p50_ms", "  p50 latency (ms)", "%.2f", "lo"),
    ("wrk_c8.p99_ms", "  p99 latency (ms)", "%.2f", "lo"),
    ("wrk_c64.rps", "req/s  /  64 conns", "%.0f", "hi"),
    ("wrk_c64.p50_ms", "  p50 latency (ms)", "%.2f", "lo"),
    ("wrk_c64.p99_ms", "  p99 latency (ms)", "%.2f", "lo"),
    ("bytes.mbit_s", "/bytes 64 MiB downloads (Mbit/s)", "%.0f", "hi"),
    ("iperf.to_guest_mbit_s", "iperf2 host->guest (Mbit/s)", "%.0f", "hi"),
    ("iperf.from_guest_mbit_s", "iperf2 guest->host (Mbit/s)", "%.0f", "hi"),
    ("wrk_c64.counters.irq_per_pkt", "interrupts/packet, wrk 64 conns", "%.3f", "lo"),
    ("bytes.counters.irq_per_pkt", "interrupts/packet, /bytes", "%.3f", "lo"),
    ("iperf.counters.irq_per_pkt", "interrupts/packet, iperf2", "%.3f", "lo"),
    ("wrk_c1.counters.irq_per_pkt", "interrupts/packet, wrk 1 conn", "%.3f", "lo"),
    ("wrk_c64.counters.polls_per_irq", "NAPI polls/interrupt, wrk 64", "%.2f", None),
    ("iperf.counters.polls_per_irq", "NAPI polls/interrupt, iperf2", "%.2f", None),
    ("idle_cpu_pct", "idle CPU of QEMU (% of a core)", "%.1f", "lo"),
    ("insn_per_request", "guest insns / request (wrk 8 conns, /bytes/1024) [4]", "%.0f", "lo"),
    ("insn_per_rx_packet", "guest insns / received packet (iperf2 host->guest) [4]", "%.0f", "lo"),
    ("insn_per_rx_byte", "guest insns / received byte (iperf2 host->guest) [4]", "%.2f", "lo"),
    ("insn_per_tx_byte", "guest insns / sent byte (/bytes 64 MiB) [4]", "%.2f", "lo"),
    ("synflood.fraction", "req/s during a spoofed SYN flood / without [5]", "%.2f", "hi"),
    ("synflood.flood_rps", "  req/s during the flood (wrk 8 conns, GET /)", "%.0f", "hi"),
    ("synflood.syn_per_s", "  SYNs/s sent (achieved)", "%.0f", None),
    ("synflood.after_ms", "  fresh GET / after the flood (ms)", "%.0f", "lo"),
    ("insn_boot", "guest insns, boot to ready [4]", "%.3g", "lo"),
    ("insn_idle_per_s", "guest insns / idle second [4]", "%.3g", "lo"),
    ("host_noise.mem_s", "control: host memory walk, no guest (s) [6]", "%.3f", "lo"),
    ("host_noise.cpu_s", "control: host register loop, no guest (s) [6]", "%.3f", "lo"),
    ("host_noise.rtt_p99_us", "control: host loopback TCP round trip p99 (us) [6]", "%.0f", "lo"),
]


# Ratios of small counts and near-idle percentages: their medians can sit near 0 (a few
# interrupts in 100k packets, 0.2% of a core), where half the range over the median says
# nothing (0.0002 against 0 reads ±900%). Their spread is shown in their own unit and
# judged as math.isclose does: within 10% of the median or within an absolute floor, a
# tenth of the bar they answer to (interrupts/packet 0.003, issue 10's bar being 0.03;
# idle CPU 1 point of a core).
ABS_SPREAD = {
    "wrk_c64.counters.irq_per_pkt": 0.003,
    "bytes.counters.irq_per_pkt": 0.003,
    "iperf.counters.irq_per_pkt": 0.003,
    "wrk_c1.counters.irq_per_pkt": 0.003,
    "idle_cpu_pct": 1.0,
}


def fmt_cell(s, f, key=None):
    """A summary cell (build_summary's) of the row key."""
    if not s:
        return "-"
    med = f % s["median"]
    if "spread_abs" in s:
        return "%s ±%s" % (med, f % s["spread_abs"])
    if s["n"] > 1 and s["median"]:
        spread = (s["max"] - s["min"]) / 2 / abs(s["median"]) * 100
        return "%s ±%.0f%%" % (med, spread)
    return med


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def build_summary(rec, guests):
    summary = {}
    for g in guests:
        runs = rec.runs.get(g, {})
        summary[g] = {key: summ(path_values(runs, key)) for key, *_ in ROWS}
        for key, s in summary[g].items():
            if s and s["n"] > 1 and key in ABS_SPREAD:
                s["spread_abs"] = (s["max"] - s["min"]) / 2
            if s and s["n"] > 1 and s["median"]:
                s["spread_pct"] = round((s["max"] - s["min"]) / 2 / abs(s["median"]) * 100, 1)
    return summary


def wide_spreads(summary, guests, limit=10.0):
    """Timed metrics whose run-to-run spread (half the range over the median) is over limit%,
    or, for ABS_SPREAD metrics, whose half range is over both limit% of the median and their floor."""
    out = []
    for key, label, f, better in ROWS:
        if better is None:
            continue
        for g in guests:
            s = summary.get(g, {}).get(key)
            if not s:
                continue
            if key in ABS_SPREAD:
                lim = max(ABS_SPREAD[key], abs(s["median"]) * limit / 100)
                if s.get("spread_abs", 0) > lim:
                    out.append("%s %s ±%s (limit ±%s)" % (g, key, f % s["spread_abs"], f % lim))
            elif s.get("spread_pct", 0) > limit:
                out.append("%s %s ±%.0f%%" % (g, key, s["spread_pct"]))
    return out


def host_spreads(summary, guests):
    """The control rows' spreads per guest column, e.g. ["napi memory walk ±4%", ...]."""
    out = []
    for g in guests:
        for key, what in (("host_noise.mem_s", "memory walk"), ("host_noise.cpu_s", "register loop"),
                          ("host_noise.rtt_p99_us", "loopback p99")):
            s = summary.get(g, {}).get(key)
            if s and s["n"] > 1 and "spread_pct" in s:
                out.append("%s %s ±%.0f%%" % (g, what, s["spread_pct"]))
    return out


def med(summary, g, key):
    s = summary.get(g, {}).get(key)
    return s["median"] if s else None


def bar_checks(summary, static, guests):
    out = []

    def add(what, value, target, met, why="", keys=()):
        out.append({"what": what, "value": value, "target": target, "met": met, "note": why,
                    "keys": list(keys)})

    if "linux" in guests and "napi" in guests:
        r = ratio(med(summary, "napi", "wrk_c64.rps"), med(summary, "linux", "wrk_c64.rps"))
        add("req/s at 64 conns, napi / Linux", r, ">= 2", None if r is None else r >= 2,
            "" if r is None or r >= 2 else "short by %.0f%% of the target" % ((2 - r) / 2 * 100),
            [("napi", "wrk_c64.rps"), ("linux", "wrk_c64.rps")])
        r = ratio(med(summary, "napi", "boot_to_200_ms"), med(summary, "linux", "boot_to_200_ms"))
        add("boot to first 200, napi / Linux", r, "< 0.1", None if r is None else r < 0.1,
            "" if r is None or r < 0.1 else "%.1fx the target" % (r / 0.1),
            [("napi", "boot_to_200_ms"), ("linux", "boot_to_200_ms")])
        for key, lbl in (("bytes.mbit_s", "/bytes download"),
                         ("iperf.to_guest_mbit_s", "iperf2 host->guest"),
                         ("iperf.from_guest_mbit_s", "iperf2 guest->host")):
            r = ratio(med(summary, "napi", key), med(summary, "linux", key))
            add("%s, napi / Linux" % lbl, r, ">= 1", None if r is None else r >= 1,
                "" if r is None or r >= 1 else "%.1f%% below Linux" % ((1 - r) * 100),
                [("napi", key), ("linux", key)])
    if "linux" in guests and "napi" in guests:
        a, l = med(summary, "napi", "synflood.fraction"), med(summary, "linux", "synflood.fraction")
        r = ratio(a, l)
        add("req/s kept under a SYN flood, napi fraction / Linux fraction", r, ">= 1",
            None if r is None else r >= 1,
            "" if r is None else "napi keeps %.0f%%, Linux %.0f%%" % (a * 100, l * 100),
            [("napi", "synflood.fraction"), ("linux", "synflood.fraction")])
    if "napi" in guests:
        vals = [med(summary, "napi", k) for k in ("wrk_c64.counters.irq_per_pkt",
                                                 "bytes.counters.irq_per_pkt",
                                                 "iperf.counters.irq_per_pkt")]
        vals = [v for v in vals if v is not None]
        worst = max(vals) if vals else None
        add("napi interrupts/packet at saturation (worst of wrk64, /bytes, iperf)", worst,
            "< 0.1", None if worst is None else worst < 0.1,
            "" if worst is None or worst < 0.1 else "%.1fx the target" % (worst / 0.1))
    if "napi" in guests and "irq" in guests:
        for key, lbl in (("wrk_c1.p50_ms", "p50"), ("wrk_c1.p99_ms", "p99")):
            r = ratio(med(summary, "napi", key), med(summary, "irq", key))
            add("light-load %s latency (1 conn), napi / irq" % lbl, r, "<= 1 (noise ~10%)",
                None if r is None else r <= 1.1,
                "" if r is None or r <= 1.1 else "napi %.0f%% slower" % ((r - 1) * 100),
                [("napi", key), ("irq", key)])
    return out


def spread_pct(summary, g, key):
    s = summary.get(g, {}).get(key)
    if not s or s["n"] < 2 or not s["median"]:
        return None
    return (s["max"] - s["min"]) / 2 / abs(s["median"]) * 100


def make_notes(summary, checks, rec, guests, net_kind):
    """Why, where the bar is missed, from what the run itself saw."""
    notes = []
    feats = {}
    for g in guests:
        v = [x for x in rec.runs.get(g, {}).get("virtio_features", []) if x]
        feats[g] = v[0] if v else None
    if net_kind == "user":
        notes.append("user-net (slirp) terminates TCP in QEMU and copies every byte: bulk "
                     "throughput is slirp's, not the guest's; use root for the tap peer.")
    missed = {c["what"] for c in checks if c["met"] is False}
    if any("Linux" in m and ("download" in m or "iperf" in m) for m in missed) \
            and feats.get("linux") and feats.get("napi") is not None:
        lacking = sorted((set(feats["linux"]) & OFFLOADS) - set(feats["napi"]))
        if lacking:
            sw = " and checksummed in software by the TCG guest" if "CSUM" in lacking else ""
            notes.append("bulk: the Linux guest negotiates %s, ours does not: Linux moves up to "
                         "64 KiB TSO/GSO segments through one descriptor chain and one tap "
                         "write, ours MTU-sized frames, each its own virtqueue round trip%s."
                         % ("+".join(lacking), sw))
    for c in checks:
        ks = c.get("keys") or []
        if c["met"] is False and len(ks) == 2:
            a, b = (summary.get(g, {}).get(k) for g, k in ks)
            if a and b and a["n"] > 1 and b["n"] > 1 and a["min"] <= b["max"] and b["min"] <= a["max"]:
                c["within_noise"] = True
        if c["met"] is False and c.get("keys"):
            sp = ["%s ±%.0f%%" % (g, v) for g, k in c["keys"]
                  for v in [spread_pct(summary, g, k)] if v is not None]
            if sp:
                c["note"] += ("; " if c["note"] else "") + "run spread " + ", ".join(sp)
    return notes, feats


def print_table(summary, static, guests, checks, meta, notes=()):
    cols = columns(guests)
    head = ["metric"] + [GUESTS[g]["label"] for g in cols]
    extra = []
    if "napi" in cols and "linux" in cols:
        extra.append(("napi/Linux", "napi", "linux"))
    if "napi" in cols and "irq" in cols:
        extra.append(("napi/irq", "napi", "irq"))
    if "napi" in cols and "napi-nodefer" in cols:
        extra.append(("napi/nodefer", "napi", "napi-nodefer"))
    head += [e[0] for e in extra]
    rows = []
    for key, label, f, _ in ROWS:
        row = [label] + [fmt_cell(summary[g][key], f, key) for g in cols]
        for _, a, b in extra:
            r = ratio(med(summary, a, key), med(summary, b, key))
            row.append("-" if r is None else "%.2fx" % r)
        rows.append(row)
    for key, label in (("image_kib", "image size (KiB) [2]"), ("min_mem_mib", "smallest -m (MiB) [3]")):
        row = [label]
        for g in cols:
            v = static.get(g, {}).get(key)
            row.append("-" if v is None else ("%.0f" % v))
        for _, a, b in extra:
            r = ratio(static.get(a, {}).get(key), static.get(b, {}).get(key))
            row.append("-" if r is None else "%.2fx" % r)
        rows.append(row)
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r))
    print()
    print("Benchmark: %s, -m %s, %d run(s) each, wrk %d s, /bytes %g s, iperf %d s%s; %s" % (
        meta["net_label"], meta["mem"], meta["runs"], meta["wrk_seconds"],
        meta.get("bytes_seconds", 0), meta["iperf_seconds"],
        ", vCPU pinned to CPU 1, the rest to CPU 0" if meta.get("pin") else "", meta["when"]))
    print("host idle: %s" % meta.get("host_idle", "default"))
    print("QEMU %s (TCG), host %s, %d CPUs, load average %s -> %s" % (
        meta["qemu_version"], meta["host_cpu"], meta["host_cpus"], meta["loadavg_start"],
        meta["loadavg_end"]))
    print("cells: median ±half the range over the runs (over the median in %; interrupt ratios and "
          "idle CPU in their own unit)")
    print()
    print(line(head))
    print(line(["-" * x for x in w]))
    for r in rows:
        print(line(r))
    print()
    print("[1] ours: TSC time since reset of READY ('net: ready'); Linux: printk time "
          "of READY (from kernel start;\n    firmware and bzImage decompression not counted)")
    print("[2] ours: build/unikernel.elf (loadable segments %s KiB); Linux: vmlinuz + initramfs.cpio.gz"
          % (static.get("napi", static.get("irq", {})).get("loadable_kib", "?") if cols else "?"))
    print("[3] boots and answers GET / (Linux without the 64 MiB /bytes file), bisected over %s"
          % meta.get("min_mem_candidates", "?"))
    print("[4] guest instructions counted by a TCG plugin (scripts/bench/insn.py): one QEMU run per\n"
          "    guest, the count read before and after each workload; not moved by the machine's load\n"
          "    (per received packet depends on how many frames the device merges: per byte does not)")
    print("[5] scripts/bench/synflood.py: %s SYN/s asked from random on-link 192.0.2.3-254 sources for %s s\n"
          "    (tap peer only); the client's req/s with the flood over its req/s just before"
          % (meta.get("syn_rate", "?"), meta.get("syn_seconds", "?")))
    print("[6] scripts/bench/host_noise.c, timed before each guest's round with no guest running: a\n"
          "    fixed walk through 64 MiB (the host's cache and memory latency), a fixed register loop,\n"
          "    and 20000 one-byte round trips over loopback TCP between two processes (the wake-ups a\n"
          "    request crosses). Their spread is the host's own, under every figure in the same column")
    if checks:
        print()
        print("The bar (same machine, same run):")
        for c in checks:
            v = "-" if c["value"] is None else "%.3g" % c["value"]
            verdict = {True: "MET", False: "MISSED", None: "n/a"}[c["met"]]
            if c.get("within_noise"):
                verdict += " (ranges overlap)"
            print("  %-68s %7s  target %-18s %s%s" % (c["what"], v, c["target"], verdict,
                                                      ("  (" + c["note"] + ")") if c["note"] else ""))
    for n in notes:
        print("  note: " + n)
    wide = wide_spreads(summary, cols)
    if wide:
        print("  spread over the limit (10%% of the median, or ABS_SPREAD; lengthen with BENCH_WRK_SECONDS/BENCH_BYTES_SECONDS/BENCH_IPERF_SECONDS or BENCH_RUNS): %s"
              % ", ".join(wide))
    elif meta["runs"] > 1:
        print("  every timed metric's run-to-run spread is within its limit (10% of the median, or ABS_SPREAD)")
    host = host_spreads(summary, cols)
    if host:
        print("  the host's own spread over the same rounds (control [6]): " + ", ".join(host))


def write_json(path, out):
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)


# --------------------------------------------------------------- run facts --

def qemu_version():
    try:
        return subprocess.run([QEMU_BIN, "--version"], capture_output=True, text=True,
                              timeout=10).stdout.splitlines()[0].replace("QEMU emulator version ", "")
    except Exception as e:
        return "unknown (%s)" % e


def host_cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except Exception:
        return None
