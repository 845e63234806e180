"""Normal traffic leaves the virtio rings healthy: after HTTP (TSO answers), iperf 2 in both
directions (mergeable RX chains, GSO frames) and ping in each net.mode, /stats.json reports
device_errors == 0, in total and for every queue pair.

device_errors counts what the virtqueue layer took for a device protocol violation (a used
id/length/index it rejects, which also marks the ring broken). Under QEMU a violation is our
own bug: a check stricter than the spec, a ring index read out of order, an entry consumed
twice. Dedicated file (not a shared fixture's teardown) so it stays independent of the
harness. Needs root and /dev/net/tun (skipped otherwise); iperf 2 for the bulk directions."""

import pytest

import tapnet
from qemulib import pattern
from tapnet import GUEST_IP, tool

pytestmark = pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")


def device_errors(s):
    return {"total": s["net"]["device_errors"],
            "queues": [q["device_errors"] for q in s["queues"]]}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["napi", "irq", "poll"])
def test_no_device_errors_after_normal_traffic(qemu, tap, mode):
    vm = tap.boot(qemu, append="net.mode=%s" % mode)
    s0 = tap.stats()
    assert device_errors(s0) == {"total": 0, "queues": [0] * len(s0["queues"])}, s0

    def step(what):
        # a ring the driver marks broken says so on the console at once (vq_warn_hook); a
        # dead queue would otherwise show only as the next step's timeout
        bad = vm.console_problems()
        assert not bad, "after %s: %s" % (what, bad)

    for _ in range(10):
        assert tap.http("/").status == 200
    r = tap.http("/bytes/3000000", timeout=60)
    assert r.status == 200 and r.body == pattern(0, 3000000)
    step("HTTP")
    p, d = tap.ping(count=50, interval=0.01, wait=1)
    assert d.get("received") == 50, p.stdout
    step("ping")
    iperf = tool("iperf")
    if iperf:
        vm.wait_for(r"iperf2: listening on port 5001", 10)
        for args in (["-t", "2"], ["-t", "1", "-R"]):
            p = tap.run([iperf, "-c", GUEST_IP, "-y", "C"] + args, timeout=30)
            step("iperf %s" % " ".join(args))
            assert p.returncode == 0, p.stdout + p.stderr

    s1 = tap.stats()
    moved = (s1["net"]["rx_bytes"] - s0["net"]["rx_bytes"],
             s1["net"]["tx_bytes"] - s0["net"]["tx_bytes"])
    print("mode %s: rx %d tx %d bytes, TSO frames %d, iperf %s; device_errors %s"
          % (mode, moved[0], moved[1], s1["net"]["tx_tso_frames"], bool(iperf),
             device_errors(s1)))
    assert moved[1] > 3000000, moved
    assert device_errors(s1) == {"total": 0, "queues": [0] * len(s1["queues"])}, \
        ("normal traffic counted device errors (a ring marked broken?)", device_errors(s1))
    assert not vm.console_problems(), vm.console_problems()
    assert tap.http("/").status == 200
