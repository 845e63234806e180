"""Fixtures for the QEMU boot tests.

  qemu(**opts)  factory fixture: start a Qemu (see tests/harness/guest.py for opts); every instance is
                stopped at teardown (own PID only) and its console checked: PANIC (unless
                expect_panic=True), ASSERT:, a virtio 'broken' line or a second READY fail the test.
  server        the module's shared default VM (q35, ELF, DHCP, ports 80 and 5001 forwarded),
                booted to READY once per module and rebooted if a test killed it; its console
                lines printed during each test are checked the same way.
  @pytest.mark.timeout(N)  per-test limit (SIGALRM) for setup and for call; default 180 s.
"""

import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))       # tests/: the shared harness package
from harness import guest  # noqa: E402
from harness.guest import Qemu  # noqa: E402

DEFAULT_TIMEOUT = int(os.environ.get("UNIKERNEL_TEST_TIMEOUT", "180"))
TEARDOWN_TIMEOUT = 60

_boot_times = []


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): per-test time limit (SIGALRM)")
    config.addinivalue_line("markers", "slow: takes tens of seconds (runs by default; "
                            "-m 'not slow' skips)")


# ------------------------------------------------------------- timeouts ---

class _Alarm:
    def __init__(self, seconds, what):
        self.seconds = max(1, int(seconds))
        self.what = what

    def _fire(self, signum, frame):
        pytest.fail("%s exceeded the %d s per-test time limit" % (self.what, self.seconds))

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._fire)
        signal.alarm(self.seconds)

    def __exit__(self, *a):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)


def _limit(item):
    m = item.get_closest_marker("timeout")
    return int(m.args[0]) if m else DEFAULT_TIMEOUT


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _Alarm(_limit(item), "setup of " + item.nodeid):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _Alarm(_limit(item), item.nodeid):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with _Alarm(TEARDOWN_TIMEOUT, "teardown of " + item.nodeid):
        yield


# ------------------------------------------------------------- reporting ---

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for q in getattr(item, "_qemus", []):
            rep.sections.append(("qemu console: %s" % q.name, q.tail(60)))


def _record_boot_time(q):
    m = q.find(guest.BANNER_RE)
    if m:
        _boot_times.append((q.name, m.group("boot"), float(m.group("ms"))))


def pytest_terminal_summary(terminalreporter):
    if _boot_times:
        tr = terminalreporter
        tr.section("unikernel boot times (banner, ms since reset)")
        for name, boot, ms in _boot_times:
            tr.write_line("%10.3f  %-10s %s" % (ms, boot, name))


def _check(q, start=0):
    problems = q.console_problems(start)
    if problems:
        pytest.fail("console of %s shows:\n  %s\n%s" % (q.name, "\n  ".join(problems), q.tail(60)),
                    pytrace=False)


# -------------------------------------------------------------- fixtures ---

def _log_name(item, n):
    base = item.nodeid.split("::", 1)[-1]
    mod = os.path.splitext(os.path.basename(item.fspath))[0]
    return "%s-%s%s" % (mod, base, "" if n == 0 else "-%d" % (n + 1))


@pytest.fixture
def qemu(request):
    """Factory: vm = qemu(machine="pc", append="net.mode=poll") -> started harness.guest.Qemu."""
    if not os.path.exists(guest.QEMU_BIN):
        pytest.skip("%s not installed" % guest.QEMU_BIN)
    made = []
    request.node._qemus = getattr(request.node, "_qemus", [])

    def make(**kw):
        kw.setdefault("name", _log_name(request.node, len(made)))
        q = Qemu(**kw)
        made.append(q)
        request.node._qemus.append(q)
        request.addfinalizer(q.stop)   # runs even if start() or the test fails
        return q.start()

    yield make
    for q in made:
        q.stop()
    for q in made:
        _record_boot_time(q)
    for q in made:
        _check(q)


class SharedVM:
    """One VM reused by a module's tests; rebooted if a previous test left it dead."""

    def __init__(self, name, **kw):
        self.name = name
        self.kw = kw
        self.vm = None
        self.boots = 0
        self.failed = None

    MAX_BOOTS = 4

    def get(self):
        if self.vm is not None and self.vm.alive:
            return self.vm
        if self.vm is not None:
            self.vm.stop()
        if self.failed:
            pytest.fail("shared VM unavailable: %s" % self.failed, pytrace=False)
        if self.boots >= self.MAX_BOOTS:
            pytest.fail("shared VM died %d times; not rebooting again" % self.boots, pytrace=False)
        self.boots += 1
        name = self.name if self.boots == 1 else "%s-reboot%d" % (self.name, self.boots)
        self.vm = Qemu(name=name, **self.kw)
        try:
            self.vm.start()
            self.vm.wait_ready()
        except BaseException as e:
            self.vm.stop()
            self.failed = "boot %d (%s) failed: %s" % (self.boots, self.vm.log_path,
                                                       str(e).splitlines()[0] if str(e) else repr(e))
            raise
        return self.vm

    def stop(self):
        if self.vm is not None:
            self.vm.stop()
            _record_boot_time(self.vm)


@pytest.fixture(scope="module")
def _shared_server(request):
    if not os.path.exists(guest.QEMU_BIN):
        pytest.skip("%s not installed" % guest.QEMU_BIN)
    mod = os.path.splitext(os.path.basename(str(request.fspath)))[0]
    holder = SharedVM("%s-shared-server" % mod, fwd=(80, 5001))
    yield holder
    holder.stop()


@pytest.fixture
def server(request, _shared_server):
    """The shared default VM, booted to READY and answering HTTP; .ports[80] is the host port."""
    vm = _shared_server.get()
    request.node._qemus = getattr(request.node, "_qemus", []) + [vm]
    start = len(vm.snapshot())
    yield vm
    _check(vm, start)


@pytest.fixture
def tap(request):
    """A private network namespace with a tap (host 192.0.2.1/24) for a guest at 192.0.2.2;
    see harness.netns.TapNet. vm = tap.boot(qemu, append=...) starts QEMU inside it. Skips (with the
    reason) without root or /dev/net/tun. Removed at teardown, also on failure or timeout, and
    at exit; the VMs it booted are stopped (own PIDs) first."""
    from harness import netns
    reason = netns.unavailable()
    if reason:
        pytest.skip(reason)
    net = netns.TapNet(request.node.nodeid)
    request.addfinalizer(net.destroy)
    return net.create()
