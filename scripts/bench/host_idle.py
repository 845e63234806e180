"""--host-idle poll: the bench host's idle CPUs poll instead of halting while the bench runs.

Why it exists: the machines this runs on are themselves VMs. Their idle CPUs halt to the
hypervisor (here cpuidle's haltpoll driver with haltpoll.guest_halt_poll_ns=0: no polling
first), so every wake-up of QEMU's vCPU thread, its I/O thread, wrk or iperf waits until the
hypervisor runs that CPU again. A request of a 1- or 8-connection wrk run crosses several.

Why it is not the default: measured (README, Performance), it makes both guests faster,
ours the most (req/s at one connection 2.7x), but not steadier from round to round, and the
Linux guest stalled in two of its five rounds' bulk transfers. The figures are then those of
a host that spends both its CPUs spinning, which is not where anyone runs.

How: a PM QoS CPU latency request of 0 us (/dev/cpu_dma_latency, Documentation/power/
pm_qos_interface.rst), which makes the cpuidle governor pick only the polling state. The
kernel keeps the request while the file stays open and drops it when this process exits,
however it exits: nothing to restore. Both guests run under the same setting.
"""

import os
import struct

DEV = "/dev/cpu_dma_latency"


class PollIdle:
    """hold() -> a one-line description for bench.json's meta; release() on the way out."""

    def __init__(self):
        self.fd = None

    def hold(self):
        try:
            fd = os.open(DEV, os.O_RDWR)
        except OSError as e:
            return "default (could not open %s: %s)" % (DEV, e.strerror)
        try:
            os.write(fd, struct.pack("=i", 0))
            # the kernel reads back the request now in force, ours or a lower one
            os.lseek(fd, 0, os.SEEK_SET)
            got = struct.unpack("=i", os.read(fd, 4))[0]
        except OSError as e:
            os.close(fd)
            return "default (%s refused the request: %s)" % (DEV, e.strerror)
        self.fd = fd
        return "poll (PM QoS CPU latency %d us held on %s; cpuidle %s)" % (got, DEV, driver())

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def driver():
    try:
        with open("/sys/devices/system/cpu/cpuidle/current_driver") as f:
            return f.read().strip()
    except OSError:
        return "none"
