"""Boot matrix: the machine / image / device combinations SPEC.md ("Boot") requires that no other
test file boots, each to READY and serving.

Already covered elsewhere, so not repeated here:
  test_boot.py    ELF q35/pc (to the banner), ISO q35/pc (serves), -m 16M, -smp 2 (q35 ELF)
  test_virtio.py  ELF q35, pc, q35 disable-legacy=on, q35 vectors=0, pc vectors=0 (serve)
  test_tap.py     ELF q35 on a tap (ping, arping, curl, iperf, wrk)

Added here, user-net (hostfwd):
  ISO  x pc  x vectors=0             GRUB + INTx on the PIIX line
  ISO  x q35 x disable-legacy=on     GRUB + modern-only device
  ELF  x pc  x disable-legacy=on     modern-only device on PIIX
  ELF  x q35 x -m 16M x -smp 2 x vectors=0   the tight corner: little RAM, 2 CPUs, INTx
  ELF  x microvm x vectors=0 (with and without its second IOAPIC), microvm x -m 16M x -smp 2
and on a tap in a namespace (root only; a real peer: ping flood, HTTP, bulk download):
  ELF  x pc  x vectors=0             INTx with a real backend (unikraft#17 class of bug)
  ELF  x q35 x disable-legacy=on x -smp 2
  ELF  x pc  x -m 16M
  ELF  x microvm
ISO on the tap is left out: the ISO's fixed command line asks for DHCP, and the namespace has
no DHCP server.
"""

import pytest

import tapnet
from qemulib import INTX_RE, MSIX_RE, get_stats, http_get, pattern
from tapnet import check_counters

USERNET = {
    "iso-pc-intx": dict(boot="iso", machine="pc", nic_opts="vectors=0"),
    "iso-q35-modern": dict(boot="iso", machine="q35", nic_opts="disable-legacy=on"),
    "elf-pc-modern": dict(machine="pc", nic_opts="disable-legacy=on"),
    "elf-q35-16m-smp2-intx": dict(machine="q35", mem="16M", smp=2, nic_opts="vectors=0"),
    # microvm's GPEX INTx lines: GSI 16-19 with its second IOAPIC, 12-15 without
    "elf-microvm-intx": dict(machine="microvm", nic_opts="vectors=0"),
    "elf-microvm-ioapic1-intx": dict(machine="microvm,ioapic2=off", nic_opts="vectors=0"),
    "elf-microvm-16m-smp2": dict(machine="microvm", mem="16M", smp=2),
}

TAP = {
    "elf-pc-intx": dict(machine="pc", nic_opts="vectors=0"),
    "elf-q35-modern-smp2": dict(machine="q35", smp=2, nic_opts="disable-legacy=on"),
    "elf-pc-16m": dict(machine="pc", mem="16M"),
    "elf-microvm": dict(machine="microvm"),
}


def check_irq_line(vm, nic_opts):
    if "vectors=0" in nic_opts:
        vm.wait_for(INTX_RE)
        assert not vm.find(MSIX_RE), vm.find(MSIX_RE).group(0)
    else:
        vm.wait_for(MSIX_RE)
        assert not vm.find(INTX_RE), vm.find(INTX_RE).group(0)


@pytest.mark.parametrize("cfg", list(USERNET))
@pytest.mark.timeout(120)
def test_usernet_boots_and_serves(qemu, cfg):
    opts = USERNET[cfg]
    vm = qemu(**opts)
    vm.wait_ready()
    check_irq_line(vm, opts.get("nic_opts", ""))
    port = vm.ports[80]
    s0 = get_stats(port)
    assert http_get(port, "/").status == 200
    r = http_get(port, "/bytes/1000000", timeout=60)
    assert r.status == 200 and r.body == pattern(0, 1000000)
    s1 = get_stats(port)
    assert not check_counters(s0, s1), check_counters(s0, s1)
    assert s1["net"]["tx_bytes"] - s0["net"]["tx_bytes"] >= 1000000


@pytest.mark.skipif(bool(tapnet.unavailable()), reason=tapnet.unavailable() or "")
@pytest.mark.parametrize("cfg", list(TAP))
@pytest.mark.timeout(120)
def test_tap_boots_and_serves(qemu, tap, cfg):
    opts = dict(TAP[cfg])
    nic_opts = opts.pop("nic_opts", "")
    vm = tap.boot(qemu, nic_opts=nic_opts, **opts)
    check_irq_line(vm, nic_opts)
    s0 = tap.stats()
    p, d = tap.ping(count=2000, flood=True, wait=1, deadline=60, timeout=90)
    assert d.get("sent") == 2000 and d["sent"] - d["received"] < 20, p.stdout + p.stderr
    p, d = tap.ping(count=1, wait=1)
    assert d.get("received") == 1 and d["max"] < 100, p.stdout
    r = tap.http("/bytes/4000000", timeout=60)
    assert r.status == 200 and r.body == pattern(0, 4000000)
    s1 = tap.stats()
    assert not check_counters(s0, s1), check_counters(s0, s1)
    assert s1["net"]["rx_packets"] - s0["net"]["rx_packets"] >= 2000
    assert s1["irq"]["rx"] > s0["irq"]["rx"], "no RX interrupt counted (%s)" % s1["irq"]
