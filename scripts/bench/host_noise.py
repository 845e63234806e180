"""The bench's control: host_noise.c's three fixed jobs, timed with no guest running, before
each guest's round. The rounds' spread of these is the host's own; no figure of the same run
can be expected steadier than that (issue 10: run-to-run spreads under 10%)."""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "host_noise.c")


class HostNoise:
    def __init__(self, work_dir):
        self.exe = os.path.join(work_dir, "host_noise")

    def build(self):
        """Raises with the compiler's words when it cannot be built."""
        r = subprocess.run(["gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                            self.exe, SRC], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("gcc host_noise.c: " + (r.stderr.strip()[-300:] or "?"))

    def run(self):
        """{"cpu_s", "mem_s": seconds of each loop; "rtt_p99_us", "rtt_max_us": loopback
        round trips}."""
        r = subprocess.run([self.exe], capture_output=True, text=True, timeout=60)
        f = r.stdout.split()
        if r.returncode != 0 or len(f) != 5:
            raise RuntimeError("host_noise exit %s: %r %r" % (r.returncode, r.stdout, r.stderr))
        return {"cpu_s": float(f[0]), "mem_s": float(f[1]), "rtt_p99_us": float(f[2]),
                "rtt_max_us": float(f[3])}
