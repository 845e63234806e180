# Host tests of the real lwIP (.deps/lwip with net/lwip/patches applied, our
# net/lwipopts.h and net/arch/cc.h) on a simulated netif (tests/unit/lwip_host.c).
LWIP_HOST_SRCS := tests/unit/lwip_host.c $(filter-out %/lwiperf.c,$(LWIP_SRCS))
LWIP_HOST_CFLAGS := -Inet -I$(LWIP_DIR)/src/include

UNIT_TESTS += lwip_persist
UNIT_SRCS_lwip_persist := tests/unit/test_lwip_persist.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_lwip_persist: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
# The series and the patches change the lwIP tree (make deps re-applies them).
$(BUILD)/unit/test_lwip_persist: $(DEPS_DIR)/stamp-lwip
