"""virtio-net over PCI: discovery, feature negotiation, interrupt set-up (MSI-X or INTx) in each
device configuration SPEC.md lists, and traffic in each net.mode with consistent counters."""

import threading

import pytest

from qemulib import (FEATURES_ACCEPTED_RE, FEATURES_OFFERED_RE, INTX_RE, MSIX_RE, PCI_RE, READY_RE, Conn, get_stats,
                     http_get, pattern)

VIRTIO_F_VERSION_1 = 1 << 32

CONFIGS = {
    "q35": dict(machine="q35"),
    "pc": dict(machine="pc"),
    "q35-modern": dict(machine="q35", nic_opts="disable-legacy=on"),
    "q35-intx": dict(machine="q35", nic_opts="vectors=0"),
    "pc-intx": dict(machine="pc", nic_opts="vectors=0"),
}


@pytest.mark.parametrize("cfg", list(CONFIGS))
def test_device_found_and_serves(qemu, cfg):
    opts = CONFIGS[cfg]
    vm = qemu(**opts)
    modern_only = "disable-legacy=on" in opts.get("nic_opts", "")
    intx = "vectors=0" in opts.get("nic_opts", "")

    # PCI enumeration lists the virtio-net function: transitional 1af4:1000 or modern 1af4:1041
    vm.wait_for(r"(?i)pci: .* 1af4:10(00|41) ")
    pcis = [{k: v.lower() for k, v in m.groupdict().items()} | {"line": m.group(0)}
            for m in vm.find_all(PCI_RE)]
    net = [m for m in pcis if m["vendor"] == "1af4" and m["device"] in ("1000", "1041")]
    assert net, "no pci line for virtio-net:\n" + vm.tail()
    assert net[0]["device"] == ("1041" if modern_only else "1000"), net[0]["line"]
    assert (net[0]["cls"], net[0]["sub"]) == ("02", "00"), net[0]["line"]
    bridge = "8086:29c0" if opts["machine"] == "q35" else "8086:1237"
    assert any("%s:%s" % (m["vendor"], m["device"]) == bridge for m in pcis), \
        "host bridge %s not listed" % bridge

    fo = vm.wait_for(FEATURES_OFFERED_RE)
    fa = vm.wait_for(FEATURES_ACCEPTED_RE, start=vm.last_index)
    offered, accepted = int(fo.group("offered"), 16), int(fa.group("accepted"), 16)
    assert offered != 0 and accepted & ~offered == 0, (fo.group(0), fa.group(0))
    if modern_only:
        assert accepted & VIRTIO_F_VERSION_1, "modern-only device needs VIRTIO_F_VERSION_1"

    if intx:
        vm.wait_for(INTX_RE)
        assert not vm.find(MSIX_RE), vm.find(MSIX_RE).group(0)
    else:
        vm.wait_for(MSIX_RE)
        assert not vm.find(INTX_RE), vm.find(INTX_RE).group(0)

    m = vm.wait_ready()
    assert m.group("ip") == "10.0.2.15"
    port = vm.ports[80]
    r = http_get(port, "/")
    assert r.status == 200
    r = http_get(port, "/bytes/300000", timeout=30)
    assert r.status == 200 and r.body == pattern(0, 300000)
    s = get_stats(port)
    assert s["irq"]["rx"] > 0, "no RX interrupt counted in napi mode (%s)" % s["irq"]
    assert s["net"]["rx_packets"] > 0 and s["net"]["tx_packets"] > 0, s["net"]


def _traffic(port):
    """A few hundred requests, all checked: keep-alive, new connections, a bulk download and
    a burst of concurrent clients (so napi polls see batches)."""
    n = 0
    with Conn(port, timeout=20) as c:
        for i in range(200):
            c.request("GET", "/bytes/%d" % (i * 7))
            r = c.read_response()
            assert r.status == 200 and r.body == pattern(0, i * 7), (i, r)
            n += 1
    for i in range(40):
        assert http_get(port, "/", timeout=20).status == 200
        n += 1
    r = http_get(port, "/bytes/%d" % (4 << 20), timeout=60)
    assert r.status == 200 and r.body == pattern(0, 4 << 20)
    n += 1

    errors = []

    def client(k):
        try:
            with Conn(port, timeout=30) as c:
                for j in range(5):
                    c.request("GET", "/bytes/%d" % (1000 + k))
                    r = c.read_response()
                    if r.status != 200 or r.body != pattern(0, 1000 + k):
                        errors.append((k, j, r))
        except Exception as e:        # noqa: BLE001 - collected and asserted below
            errors.append((k, repr(e)))

    ts = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "clients still running after 60 s"
    assert not errors, errors[:5]
    return n + 16 * 5


@pytest.mark.parametrize("mode", ["napi", "irq", "poll"])
def test_traffic_in_mode(qemu, mode):
    vm = qemu(append="net.mode=%s" % mode)
    vm.wait_ready()
    port = vm.ports[80]
    s0 = get_stats(port)
    assert s0["napi"]["mode"] == mode, s0["napi"]
    n = _traffic(port)
    s1 = get_stats(port)
    print("%s: %d requests; before %s; after %s" % (mode, n, s0, s1))
    assert s1["napi"]["mode"] == mode
    assert s1["net"]["rx_packets"] > s0["net"]["rx_packets"] + n, (s0["net"], s1["net"])
    assert s1["net"]["tx_packets"] > s0["net"]["tx_packets"] + n, (s0["net"], s1["net"])
    assert s1["net"]["rx_bytes"] > s0["net"]["rx_bytes"]
    assert s1["net"]["tx_bytes"] > s0["net"]["tx_bytes"] + (4 << 20)
    irq_rx = s1["irq"]["rx"]
    if mode == "napi":
        assert 0 < irq_rx < s1["net"]["rx_packets"], (s1["irq"], s1["net"])
        assert s1["napi"]["polls"] >= s1["napi"]["completes"] > 0, s1["napi"]
    elif mode == "irq":
        assert irq_rx > 0, s1["irq"]
    else:
        assert irq_rx == 0, s1["irq"]
    assert vm.find(READY_RE)
