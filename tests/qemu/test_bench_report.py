"""The bench's spread judgment (scripts/bench/report.py), without QEMU: a metric is over its
limit when half its range over the rounds is over 10% of its median; the interrupt ratios and
idle CPU (ABS_SPREAD) only when it is over both that and their absolute floor, so a ratio of a
few interrupts near 0 is not flagged for reading ±900%, while a large one still is."""

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
