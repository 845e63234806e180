"""Boot: both images on both machines, memory sizes, SMP, faults, clean exits, command line,
and the no-NIC path (SPEC.md: Boot, Kernel command line, Serial console)."""

import re

import pytest

from qemulib import (BANNER_RE, EXIT_CLEAN, EXIT_PANIC, MEM_RE, NO_NET_RE, PANIC_RE, READY_RE,
                     get_stats, http_get)


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
