"""Host tools the tap tests run inside the namespace: need() (the tool's path, or skip the
test with the reason), the iperf2/iperf3 clients (run_iperf, run_iperf2, run_iperf3) and iperf2
client headers for peers that speak the protocol themselves."""

import json
import struct

import pytest

from harness.netns import GUEST_IP, tool


# An iperf 2.1 client's header (version 1 + extension, 60 bytes) for a 1 s -R test.
REVERSE_1S = bytes.fromhex("44010078" "00000001" "00001389" "00000000" "00000000" "ffffff9c"
                           "00000000" "00000000" "0400" "0000" "00020001" "00080003" "0000"
                           "0000" "00000000" "00000000" "00000000")


def iperf2_dual_header(port):
    """The header of a 1 s -d test (RUN_NOW): the guest connects back to the client's port at
    once."""
    hdr = bytearray(REVERSE_1S)
    hdr[0:4] = bytes.fromhex("c0010079")
    hdr[8:12] = struct.pack("!I", port)
    return bytes(hdr)


def need(name):
    p = tool(name)
    if not p:
        pytest.skip("%s not installed (make deps)" % name)
    return p


def run_iperf(net, name, args, host=GUEST_IP, timeout=60):
    """`name -c host args` in net's namespace; fails the test on a non-zero exit."""
    p = net.run([need(name), "-c", host] + list(args), timeout=timeout)
    print(p.stdout[-3000:], p.stderr)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    return p


def iperf2_csv(out):
    """iperf -y C rows: [(local_ip, local_port, remote_port, bytes, end_s)] for per-stream rows
    (a connection the client accepted shows the guest as its local end)."""
    rows = []
    for line in out.splitlines():
        f = line.split(",")
        if len(f) < 9 or not f[-1].strip().isdigit():
            continue
        if int(f[5]) < 0:       # -P sum rows carry id -1
            continue
        rows.append((f[1], int(f[2]), int(f[4]), int(f[7]), float(f[6].split("-")[1])))
    return rows


def run_iperf2(net, args, host=GUEST_IP, timeout=60):
    """iperf -c host -y C args: (per-stream CSV rows, CompletedProcess)."""
    p = run_iperf(net, "iperf", ["-y", "C"] + list(args), host, timeout)
    return iperf2_csv(p.stdout), p


def run_iperf3(net, args, host=GUEST_IP, timeout=60):
    """iperf3 -c host -J args: the JSON report."""
    return json.loads(run_iperf(net, "iperf3", ["-J"] + list(args), host, timeout).stdout)
