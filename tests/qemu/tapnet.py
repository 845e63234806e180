"""The names the tap tests import as `tapnet`: the network namespace + tap peer
(tests/harness/netns.py: TapNet, in_netns, GUEST_IP, ...), the IPv4 frame builders
(tests/harness/frames.py), the hostile-frame generators and packet socket (hostile.py) and
the idle-level checks (statscheck.py). Each is defined once, there; this module only gathers
them."""

from harness.frames import *  # noqa: F401,F403
from harness.netns import *  # noqa: F401,F403
from hostile import Malformed, blast, packet_socket, syn_frames  # noqa: F401
from statscheck import (DEFAULT_SLACK, HEAP_SLACK, IDLE_FIELDS, check_counters,  # noqa: F401
                        idle_diff, wait_idle)
