UNIT_TESTS += cmdline
UNIT_SRCS_cmdline := tests/unit/test_cmdline.c kernel/cmdline.c
