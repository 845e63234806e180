# net/pattern.h (header only).
UNIT_TESTS += pattern
UNIT_SRCS_pattern := tests/unit/test_pattern.c
