# Host unit tests of the IPv6 header walks (net/glue/ip6_hdr.c).
UNIT_TESTS += ip6_hdr
UNIT_SRCS_ip6_hdr := tests/unit/test_ip6_hdr.c net/glue/ip6_hdr.c
