"""The bench's spread judgment (scripts/bench/report.py), without QEMU: a metric is over its
limit when half its range over the rounds is over 10% of its median; the interrupt ratios and
idle CPU (ABS_SPREAD) only when it is over both that and their absolute floor, so a ratio of a
few interrupts near 0 is not flagged for reading ±900%, while a large one still is. Also: the
host control's spread is reported and judged like any other, and every guest asked for (the
napi-nodefer A/B too) gets a column."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "bench"))
import report  # noqa: E402


class Runs:
    def __init__(self, runs):
        self.runs = runs


def summary_of(per_round):
    """{guest: {metric path: [value per round]}} -> report.build_summary's summary."""
    runs = {}
    for g, metrics in per_round.items():
        r = runs.setdefault(g, {})
        for path, values in metrics.items():
            top, *rest = path.split(".")
            rounds = r.setdefault(top, [{} for _ in values])
            for d, v in zip(rounds, values):
                for k in rest[:-1]:
                    d = d.setdefault(k, {})
                if rest:
                    d[rest[-1]] = v
            if not rest:
                r[top] = values
    return report.build_summary(Runs(runs), list(per_round))


IRQ = "bytes.counters.irq_per_pkt"


def test_relative_spread_over_ten_percent_flagged():
    s = summary_of({"napi": {"wrk_c8.rps": [100, 100, 100, 100, 125]}})
    assert report.wide_spreads(s, ["napi"]) == ["napi wrk_c8.rps ±12%"]
    s = summary_of({"napi": {"wrk_c8.rps": [100, 100, 100, 100, 119]}})
    assert report.wide_spreads(s, ["napi"]) == []


def test_near_zero_ratio_judged_in_its_unit():
    s = summary_of({"napi": {IRQ: [0.0, 0.0, 0.0002, 0.0, 0.0024]}})
    assert abs(s["napi"][IRQ]["spread_abs"] - 0.0012) < 1e-12   # the median is 0: no relative
    assert report.wide_spreads(s, ["napi"]) == []         # ±0.0012 under the 0.003 floor
    assert report.fmt_cell(s["napi"][IRQ], "%.4f", IRQ) == "0.0000 ±0.0012"
    s = summary_of({"napi": {IRQ: [0.0, 0.0, 0.0, 0.0, 0.008]}})
    assert report.wide_spreads(s, ["napi"]) == ["napi %s ±0.004 (limit ±0.003)" % IRQ]


def test_large_ratio_still_judged_relative():
    # Linux's 0.65 ± 0.05: under 10% of its median though over the 0.003 floor
    s = summary_of({"linux": {IRQ: [0.60, 0.65, 0.65, 0.66, 0.70]}})
    assert report.wide_spreads(s, ["linux"]) == []
    s = summary_of({"linux": {IRQ: [0.50, 0.65, 0.65, 0.66, 0.70]}})
    assert report.wide_spreads(s, ["linux"]) == ["linux %s ±0.100 (limit ±0.065)" % IRQ]


def test_every_guest_asked_for_is_a_column(capsys):
    # napi-nodefer is not in guests.ORDER: the A/B of interrupt deferral must still show it
    s = summary_of({"napi": {"wrk_c8.rps": [100, 110]},
                    "napi-nodefer": {"wrk_c8.rps": [50, 55]}})
    meta = {"net_label": "tap", "mem": "256M", "runs": 2, "wrk_seconds": 10, "iperf_seconds": 10,
            "when": "now", "qemu_version": "7.2", "host_cpu": "x", "host_cpus": 2,
            "loadavg_start": "0", "loadavg_end": "0"}
    report.print_table(s, {}, ["napi", "napi-nodefer"], [], meta)
    out = capsys.readouterr().out.splitlines()
    head = [l for l in out if l.startswith("metric")][0]
    assert head.split()[1:] == ["ours", "napi", "ours", "napi,", "no", "deferral", "napi/nodefer"]
    row = [l for l in out if l.startswith("req/s  /  8 conns")][0]
    assert row.split()[4:] == ["105", "±5%", "52", "±5%", "2.00x"]


def test_host_control_spread_reported():
    s = summary_of({"napi": {"host_noise.mem_s": [1.0, 1.1, 1.2]}})
    assert report.host_spreads(s, ["napi"]) == ["napi memory walk ±9%"]
    assert report.wide_spreads(s, ["napi"]) == []
    s = summary_of({"napi": {"host_noise.mem_s": [1.0, 1.1, 1.3]}})
    assert report.wide_spreads(s, ["napi"]) == ["napi host_noise.mem_s ±14%"]
