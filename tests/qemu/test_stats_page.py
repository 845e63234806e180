"""/stats in headless Chromium under load: the page's drawn rates move, sit near what the
test's own /stats.json deltas say, and every tcp_guard field and queue has its row. A
screenshot is kept in build/test-logs/stats-page.png."""

import json
import os
import threading
import time

import pytest

import chromium
from qemulib import LOG_DIR, get_stats, http_get

pytestmark = pytest.mark.skipif(bool(chromium.unavailable()), reason=chromium.unavailable() or "")


def interp(samples, t, key):
    """Counter `key` (a function of a snapshot) at guest time t, linear between samples."""
    for (t0, s0), (t1, s1) in zip(samples, samples[1:]):
        if t0 <= t <= t1:
            v0, v1 = key(s0), key(s1)
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v0
    return None


COUNTERS = {
    "rx_pps": lambda s: s["net"]["rx_packets"],
    "tx_pps": lambda s: s["net"]["tx_packets"],
    "irq_ps": lambda s: s["irq"]["rx"] + s["irq"]["tx"] + s["irq"]["config"],
    "poll_ps": lambda s: s["napi"]["polls"],
}


@pytest.mark.timeout(150)
def test_stats_page_draws_rates_near_json(qemu):
    vm = qemu(append="net.mode=napi")
    vm.wait_ready()
    port = vm.ports[80]
    stop = threading.Event()
    samples, errors = [], []

    def load():
        while not stop.is_set():
            try:
                http_get(port, "/bytes/400000", timeout=20)
            except Exception as e:          # reported below if nothing got through
                errors.append(e)
                time.sleep(0.1)

    def sample():
        while not stop.is_set():
            try:
                s = get_stats(port)
                samples.append((s["uptime_ms"], s))
            except Exception as e:
                errors.append(e)
            time.sleep(0.25)

    threads = [threading.Thread(target=load, daemon=True), threading.Thread(target=sample, daemon=True)]
    for t in threads:
        t.start()
    os.makedirs(LOG_DIR, exist_ok=True)
    b = chromium.Browser(log_path=os.path.join(LOG_DIR, "stats-page-chromium.log"))
    try:
        b.open("http://127.0.0.1:%d/stats" % port)
        deadline = time.monotonic() + 60
        drawn = []
        while time.monotonic() < deadline:
            time.sleep(1)
            drawn = json.loads(b.eval("document.getElementById('drawn').textContent") or "[]")
            if len(drawn) >= 6:
                break
        last = b.eval("JSON.stringify(Object.fromEntries([...document.querySelectorAll("
                      "'b[id^=v_]')].map(e => [e.id.slice(2), e.dataset.value])))")
        guard_rows = b.eval("[...document.querySelectorAll('#tcp_guard tr[data-field]')]"
                            ".map(r => r.dataset.field)")
        queue_rows = b.eval("document.querySelectorAll('#queues tbody tr').length")
        b.screenshot(os.path.join(LOG_DIR, "stats-page.png"))
    finally:
        stop.set()
        b.close()
        for t in threads:
            t.join(25)

    assert len(drawn) >= 4, "page drew %d points in 60 s (errors %r)" % (len(drawn), errors[:3])
    assert len(samples) >= 8, (len(samples), errors[:3])
    # the legend shows the last drawn point
    last = json.loads(last)
    for k in ("rx_pps", "tx_pps", "irq_ps", "poll_ps", "irq_pp", "poll_pi"):
        assert abs(float(last[k]) - drawn[-1][k]) <= 1e-6 * max(1, drawn[-1][k]), (k, last, drawn[-1])
    tx = [p["tx_pps"] for p in drawn]
    assert max(tx) > 100 and len(set(round(v) for v in tx)) > 1, "drawn tx rates do not move: %r" % tx

    compared = 0
    for p in drawn:
        t1, t0 = p["t"], p["t"] - p["dt"] * 1000
        for key, f in COUNTERS.items():
            a, b_ = interp(samples, t0, f), interp(samples, t1, f)
            if a is None or b_ is None:
                break
            want = (b_ - a) / p["dt"]
            # the test's samples are 250 ms apart: interpolation smooths bursts
            assert abs(p[key] - want) <= 0.25 * want + 20, \
                "%s drawn %.1f, /stats.json deltas say %.1f (point %r)" % (key, p[key], want, p)
        else:
            compared += 1
    assert compared >= 2, "only %d drawn points fell inside the sampled window" % compared

    s = get_stats(port)
    assert sorted(guard_rows) == sorted(s.get("tcp_guard", {})), (guard_rows, s.get("tcp_guard"))
    assert queue_rows == max(1, len(s.get("queues", []))), (queue_rows, s.get("queues"))
