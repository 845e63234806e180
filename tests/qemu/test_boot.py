"""Boot: both images on both machines, memory sizes, SMP, faults, clean exits, command line,
and the no-NIC path (SPEC.md: Boot, Kernel command line, Serial console); the ISO and the raw
image under SeaBIOS and OVMF; microvm; the clock against the host's."""

import re
import time

import pytest

from qemulib import (BANNER_RE, CLOCK_RE, ECAM_RE, EXIT_CLEAN, EXIT_PANIC, MEM_RE, MSIX_RE,
                     NET_READY_MS_RE, NO_NET_RE, PANIC_RE, READY_RE, UEFI_RE, get_stats, http_get,
                     pattern)


def check_banner_and_mem(vm, boot, mem_range):
    b = vm.wait_banner()
    bi = vm.last_index
    assert b.group("boot") == boot, b.group(0)
    ms = float(b.group("ms"))           # must parse; logged, not asserted
    assert ms >= 0
    print("boot time %s: %.3f ms (version %s)" % (vm.name, ms, b.group("version")))
    m = vm.wait_for(MEM_RE, start=bi)
    lo, hi = mem_range
    assert lo <= int(m.group("mib")) <= hi, m.group(0)
    assert 0 < int(m.group("heap")) <= int(m.group("mib")), m.group(0)
    return ms


@pytest.mark.parametrize("machine", ["q35", "pc"])
def test_elf_boots(qemu, machine):
    """PVH entry: banner, memory, then test.exit=boot exits cleanly before the network."""
    vm = qemu(boot="elf", machine=machine, append="test.exit=boot")
    check_banner_and_mem(vm, "pvh", (60, 64))
    assert vm.wait_exit() == EXIT_CLEAN
    assert not vm.find("PANIC")


@pytest.mark.parametrize("machine", ["q35", "pc"])
def test_iso_boots_and_serves(qemu, machine):
    """GRUB/multiboot2 ISO (fixed command line: defaults) behaves like the ELF: banner,
    memory, READY, GET / 200."""
    vm = qemu(boot="iso", machine=machine)
    check_banner_and_mem(vm, "multiboot2", (60, 64))
    vm.wait_ready()
    assert http_get(vm.ports[80], "/").status == 200


def test_mem_16m_serves(qemu):
    vm = qemu(mem="16M")
    check_banner_and_mem(vm, "pvh", (12, 16))
    vm.wait_ready()
    assert http_get(vm.ports[80], "/").status == 200


def test_smp2_serves(qemu):
    vm = qemu(smp=2)
    check_banner_and_mem(vm, "pvh", (60, 64))
    vm.wait_ready()
    assert http_get(vm.ports[80], "/").status == 200


@pytest.mark.parametrize("fault,vector", [("pf", 14), ("ud", 6), ("de", 0), ("gp", 13)])
def test_fault_panics(qemu, fault, vector):
    vm = qemu(append="test.fault=%s" % fault, expect_panic=True)
    vm.wait_banner()
    m = vm.wait_for(PANIC_RE)
    pi = vm.last_index
    assert int(m.group("vector")) == vector, m.group(0)
    assert int(m.group("rip"), 16) != 0, m.group(0)
    if fault == "pf":
        assert int(m.group("cr2"), 16) != 0, m.group(0)
    assert vm.wait_exit() == EXIT_PANIC
    # a register dump follows the PANIC line
    dump = "\n".join(vm.snapshot()[pi + 1:])
    assert re.search(r"(?i)\brax\b", dump) and re.search(r"(?i)\brsp\b", dump), \
        "no register dump after PANIC:\n" + dump
    assert not vm.find(READY_RE)


@pytest.mark.parametrize("fault,reason", [("abort", r"abort\(\) called"),
                                          ("assert", r"ASSERT: zero == 1 failed")])
def test_abort_and_assert_panic(qemu, fault, reason):
    """newlib's abort() and assert() end in PANIC with a register dump and exit 255."""
    vm = qemu(append="test.fault=%s" % fault, expect_panic=True)
    m = vm.wait_for(r"PANIC: .*")
    assert re.search(reason, m.group(0)), m.group(0)
    assert vm.wait_exit() == EXIT_PANIC
    assert vm.find(r"(?i)\brsp\b")


def test_heap_exhaustion_is_clean_enomem(qemu):
    """malloc until the heap (bounded by real RAM) runs out: ENOMEM, nothing
    corrupted, malloc works again after freeing; then the kernel goes on."""
    vm = qemu(append="test.heap=1 test.exit=boot", mem="16M")
    m = vm.wait_for(r"test: heap exhausted after (\d+) KiB, errno (\S+), (\d+) corrupt pages, "
                    r"(malloc works|malloc still fails) afterwards")
    assert 4 * 1024 < int(m.group(1)) < 16 * 1024, m.group(0)
    assert m.group(2) == "ENOMEM" and m.group(3) == "0" and m.group(4) == "malloc works", m.group(0)
    assert vm.wait_exit() == EXIT_CLEAN


def test_exit_boot_is_clean(qemu):
    vm = qemu(append="test.exit=boot")
    vm.wait_banner()
    assert vm.wait_exit() == EXIT_CLEAN
    assert not vm.find("PANIC")
    assert not vm.find(READY_RE), "test.exit=boot must exit before the network comes up"


def test_exit_ready_is_clean(qemu):
    vm = qemu(append="test.exit=ready")
    vm.wait_for(READY_RE)
    assert vm.wait_exit() == EXIT_CLEAN
    assert not vm.find("PANIC")


def test_cmdline_unknown_key_ignored(qemu):
    vm = qemu(append="bogus.key=1 test.exit=ready")
    vm.wait_for(r"cmdline: ignoring .*bogus\.key")
    vm.wait_for(READY_RE)
    assert vm.wait_exit() == EXIT_CLEAN


def test_cmdline_bad_value_uses_default(qemu):
    vm = qemu(append="napi.weight=abc")
    vm.wait_for(r"cmdline: ignoring .*napi\.weight")
    vm.wait_ready()
    s = get_stats(vm.ports[80])
    assert s["napi"]["weight"] == 64, s["napi"]


def test_cmdline_values_applied(qemu):
    vm = qemu(append="napi.weight=16 net.budget=100 net.mode=irq")
    vm.wait_ready()
    assert not vm.find(r"cmdline: ignoring"), vm.find(r"cmdline: ignoring").group(0)
    s = get_stats(vm.ports[80])
    assert (s["napi"]["weight"], s["napi"]["budget"], s["napi"]["mode"]) == (16, 100, "irq"), \
        s["napi"]


@pytest.mark.parametrize("nic", [None, "e1000"])
def test_no_virtio_net_halts_cleanly(qemu, nic):
    """No (virtio) NIC: says so, then exits cleanly or halts; never hangs silently."""
    vm = qemu(nic=nic)
    vm.wait_banner()
    m = vm.wait_for(NO_NET_RE)
    assert m.group("reason").strip(), m.group(0)
    # Either a clean isa-debug-exit or a halt; a halt is accepted once the line is out.
    try:
        rc = vm.proc.wait(2)
    except Exception:
        rc = None
    if rc is not None:
        assert rc == EXIT_CLEAN, "exit status %s after 'no usable virtio-net'" % rc
    assert not vm.find(READY_RE)


@pytest.mark.parametrize("boot,firmware,machine", [
    ("iso", "uefi", "q35"), ("iso", "uefi", "pc"), ("img", "uefi", "q35"), ("img", "bios", "pc")])
@pytest.mark.timeout(180)
def test_grub_image_boots_under_firmware(qemu, boot, firmware, machine):
    """The one hybrid image boots through GRUB's PC and EFI platforms, as a CD and as a raw
    disk. Under UEFI the kernel says so, finds ACPI through the loader's RSDP (no BIOS area to
    search) and a heap in the firmware's fragmented map, then serves."""
    vm = qemu(boot=boot, firmware=firmware, machine=machine, mem="64M")
    check_banner_and_mem(vm, "multiboot2", (40, 64))
    if firmware == "uefi":
        vm.wait_for(UEFI_RE)
    else:
        assert not vm.find(UEFI_RE), vm.find(UEFI_RE).group(0)
    m = vm.wait_for(r"acpi: RSDP rev (\d+)")
    if firmware == "uefi":
        assert int(m.group(1)) >= 2, m.group(0)     # OVMF's ACPI 2.0 RSDP, not the 1.0 copy
    heap = int(vm.find(MEM_RE).group("heap"))
    assert heap >= 16, "heap %d MiB: the largest RAM region was not taken" % heap
    vm.wait_ready()
    port = vm.ports[80]
    assert http_get(port, "/").status == 200
    r = http_get(port, "/bytes/300000", timeout=60)
    assert r.status == 200 and r.body == pattern(0, 300000)


@pytest.mark.timeout(120)
def test_microvm_boots_and_serves(qemu):
    """microvm,pcie=on: no MCFG and no ports 0xcf8, a BIOS that leaves BARs at 0 and no port
    0x61: ECAM at the GPEX window, BARs placed, MSI-X, a TSC rate from a real source."""
    vm = qemu(machine="microvm")
    check_banner_and_mem(vm, "pvh", (60, 64))
    c = vm.wait_for(CLOCK_RE)
    assert "assumed" not in c.group("source"), c.group(0)
    assert int(vm.wait_for(ECAM_RE).group("base"), 16) == 0xe0000000
    vm.wait_for(MSIX_RE)
    vm.wait_ready()
    port = vm.ports[80]
    s0 = get_stats(port)
    r = http_get(port, "/bytes/1000000", timeout=60)
    assert r.status == 200 and r.body == pattern(0, 1000000)
    s1 = get_stats(port)
    # MSI-X delivered: the boot's traffic interrupted. (This download may raise none: with
    # NAPI deferral a queue still masked from the previous request is polled by its timer.)
    assert s0["irq"]["rx"] > 0, s0["irq"]
    assert s1["napi"]["polls"] > s0["napi"]["polls"], (s0["napi"], s1["napi"])


@pytest.mark.parametrize("machine", ["q35", "pc", "microvm", "microvm,pit=off"])
@pytest.mark.timeout(120)
def test_clock_matches_host(qemu, machine):
    """The guest's clock runs at the host's rate (uptime_ms deltas against host monotonic
    time over a few seconds), and the boot time it reports is no longer than the host saw
    from starting QEMU to READY (reset comes after QEMU starts). The microvm clock used to
    run ~10x fast off a PIT gate port that machine does not have; with pit=off the RTC is
    the only timer left under TCG."""
    vm = qemu(machine=machine)
    c = vm.wait_for(CLOCK_RE)
    assert "assumed" not in c.group("source"), c.group(0)
    if "pit=off" in machine:
        assert "RTC" in c.group("source"), c.group(0)
    vm.wait_ready()
    host_ready_ms = (time.monotonic() - vm.started_at) * 1000
    guest_ready_ms = float(vm.find(NET_READY_MS_RE).group("ms"))
    assert guest_ready_ms <= host_ready_ms + 50, \
        "guest says READY %.0f ms after reset, host saw it %.0f ms after starting QEMU" % (
            guest_ready_ms, host_ready_ms)
    port = vm.ports[80]
    t0, u0 = time.monotonic(), get_stats(port)["uptime_ms"]
    time.sleep(3)
    t1, u1 = time.monotonic(), get_stats(port)["uptime_ms"]
    ratio = (u1 - u0) / ((t1 - t0) * 1000)
    print("%s: guest/host clock rate %.3f, READY guest %.0f ms host %.0f ms" % (
        machine, ratio, guest_ready_ms, host_ready_ms))
    # Each sample includes one HTTP round trip; 3 s dwarfs it.
    assert 0.85 < ratio < 1.15, "guest clock runs at %.3f x the host's" % ratio


def host_tsc_khz(seconds=0.5):
    """The host's TSC rate against time.monotonic (CLOCK_MONOTONIC, QEMU's virtual clock
    base): under TCG the guest's RDTSC is the host's (cpu_get_host_ticks), so this is the
    rate the guest's calibration should find. rdtsc from a few bytes of machine code."""
    import ctypes
    import mmap
    code = bytes([0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xc3])  # rdtsc; shl; or; ret
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(code)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    rdtsc = ctypes.CFUNCTYPE(ctypes.c_uint64)(addr)
    best = None
    for _ in range(3):     # bracket each end tightly; keep the narrowest pair
        a0 = rdtsc(); t0 = time.monotonic(); a1 = rdtsc()
        time.sleep(seconds)
        b0 = rdtsc(); t1 = time.monotonic(); b1 = rdtsc()
        width = (a1 - a0) + (b1 - b0)
        khz = ((b0 + b1) / 2 - (a0 + a1) / 2) / (t1 - t0) / 1000
        if best is None or width < best[0]:
            best = (width, khz)
    del rdtsc
    return best[1]


@pytest.mark.parametrize("machine", ["q35", "microvm", "microvm,pit=off"])
def test_tsc_calibration_within_0_1_percent(qemu, machine):
    """The calibrated TSC rate (PIT fit, or the RTC with pit=off) against the host's own TSC
    rate. 0.1%: the PIT fit measured 0.005% off; the 5 ms two-point PIT calibration it
    replaced was 0.19% slow, and a wrong rate skews every timeout and uptime."""
    import platform
    if platform.machine() != "x86_64":
        pytest.skip("host TSC comparison needs an x86_64 host")
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    if "constant_tsc" not in flags:
        pytest.skip("host TSC rate is not constant")
    vm = qemu(machine=machine, append="test.exit=boot")
    c = vm.wait_for(CLOCK_RE)
    if "calibrated" not in c.group("source"):
        pytest.skip("TSC rate from %s, not calibrated (KVM or CPUID)" % c.group("source"))
    assert vm.wait_exit() == EXIT_CLEAN
    host = host_tsc_khz()
    guest = int(c.group("khz"))
    err = (guest - host) / host
    print("%s: guest TSC %d kHz (%s), host %.0f kHz, %+.4f%%" % (
        machine, guest, c.group("source"), host, err * 100))
    assert abs(err) < 0.001, "guest calibrated %d kHz, host TSC runs at %.0f kHz (%+.3f%%)" % (
        guest, host, err * 100)


@pytest.mark.parametrize("machine", ["q35", "microvm"])
def test_lapic_timer_calibrated_at_first_use(qemu, machine):
    """The LAPIC timer is calibrated against the TSC over the boot work and finished at its
    first use (the first idle), then says its rate: QEMU's APIC timer ticks at 1 GHz under
    TCG (APIC_BUS_CYCLE_NS 1). A count stopped or restarted before the reading (an early
    write of the initial count) shows as a rate far off."""
    vm = qemu(machine=machine)
    c = vm.wait_for(CLOCK_RE)
    m = vm.wait_for(r"lapic: timer (?P<khz>\d+) kHz \(against the TSC over (?P<us>\d+) us\)")
    vm.wait_ready()
    if "calibrated" not in c.group("source"):
        pytest.skip("not TCG: the APIC timer's rate is the host's bus clock")
    khz = int(m.group("khz"))
    assert int(m.group("us")) >= 500, m.group(0)
    assert abs(khz - 1000000) < 10000, m.group(0)
    assert http_get(vm.ports[80], "/").status == 200
