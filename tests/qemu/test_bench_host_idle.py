"""The bench's host idle setting (scripts/bench/host_idle.py), without QEMU: while PollIdle
holds its PM QoS request, no CPU of this host enters a halting idle state; once released,
the request is gone. Needs root and a cpuidle driver with a state other than polling."""

import glob
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "bench"))
import host_idle  # noqa: E402

STATES = "/sys/devices/system/cpu/cpu*/cpuidle/state*"


def halting_entries():
    """Entries into every idle state but polling, summed over the CPUs."""
    n = 0
    for d in glob.glob(STATES):
        with open(os.path.join(d, "name")) as f:
            if f.read().strip() == "POLL":
                continue
        with open(os.path.join(d, "usage")) as f:
            n += int(f.read())
    return n


def halts_during(seconds):
    a = halting_entries()
    time.sleep(seconds)
    return halting_entries() - a


def test_poll_idle_holds_and_releases():
    if os.geteuid() != 0 or not os.path.exists(host_idle.DEV):
        pytest.skip("needs root and %s" % host_idle.DEV)
    if not any(open(os.path.join(d, "name")).read().strip() != "POLL"
               for d in glob.glob(STATES)):
        pytest.skip("no halting cpuidle state on this host")
    # a CPU idle for a moment halts without the request (else this cannot tell anything)
    if halts_during(0.5) == 0:
        pytest.skip("no CPU went idle in 0.5 s: the host is too busy to tell")
    idle = host_idle.PollIdle()
    desc = idle.hold()
    try:
        assert desc.startswith("poll (PM QoS CPU latency 0 us"), desc
        assert halts_during(0.5) == 0
    finally:
        idle.release()
    assert idle.fd is None
    deadline = time.monotonic() + 5
    while halts_during(0.5) == 0:
        assert time.monotonic() < deadline, "CPUs still poll after release()"
