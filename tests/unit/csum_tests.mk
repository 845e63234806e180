# Host unit test for the Internet checksum sum lwIP uses (LWIP_CHKSUM).
UNIT_TESTS += inet_csum
UNIT_SRCS_inet_csum := tests/unit/test_inet_csum.c
