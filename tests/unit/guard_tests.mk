# Host unit tests of the pure parts of the defences against hostile peers:
# the ICMP echo token bucket, the per-source reassembly share, the stall tracker.
UNIT_TESTS += guards
UNIT_SRCS_guards := tests/unit/test_guards.c net/guard/icmp_limit.c net/guard/icmp_errors.c net/guard/icmp_rate.c net/guard/frag_guard.c net/guard/stall_track.c
