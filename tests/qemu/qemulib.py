"""The names the QEMU tests import as `qemulib`: the shared harness (tests/harness: the QEMU
guest launcher, the HTTP helpers, the /bytes pattern) and the /stats.json checks
(statscheck.py). Each is defined once, there; this module only gathers them."""

from harness.guest import *  # noqa: F401,F403
from harness.httpc import *  # noqa: F401,F403
from harness.pattern import *  # noqa: F401,F403
from statscheck import MONOTONIC, STATS_FIELDS, check_stats_schema, stat  # noqa: F401
