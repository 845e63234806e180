# net/apps/tcp_room.c (how much one tcp_write may take) against the real lwIP on the
# host (tests/unit/lwip_tests.mk's harness); also guards lwIP patch 0701.
UNIT_TESTS += tcp_room
UNIT_SRCS_tcp_room := tests/unit/test_tcp_room.c net/apps/tcp_room.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_tcp_room: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
$(BUILD)/unit/test_tcp_room: $(DEPS_DIR)/stamp-lwip $(LWIP_HOST_HDRS)
