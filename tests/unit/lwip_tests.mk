# Host tests of the real lwIP (.deps/lwip with net/port/patches applied, our
# net/port/lwipopts.h and net/port/arch/cc.h) on a simulated netif (tests/unit/lwip_host.c).
LWIP_HOST_SRCS := tests/unit/lwip_host.c $(filter-out %/lwiperf.c,$(LWIP_SRCS)) \
	$(NET_TCP_KEYED_SRCS) net/guard/tcp_guard.c
LWIP_HOST_CFLAGS := -Inet/port -I$(LWIP_DIR)/src/include

UNIT_TESTS += lwip_persist
UNIT_SRCS_lwip_persist := tests/unit/test_lwip_persist.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_lwip_persist: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
# The series and the patches change the lwIP tree (make deps re-applies them).
$(BUILD)/unit/test_lwip_persist: $(DEPS_DIR)/stamp-lwip

# SipHash vectors, SYN cookie encoding, entropy sources (no lwIP).
UNIT_TESTS += tcp_keyed
UNIT_SRCS_tcp_keyed := tests/unit/test_tcp_keyed.c net/guard/siphash.c net/guard/syncookie.c net/guard/entropy.c

UNIT_TESTS += lwip_syncookie
UNIT_SRCS_lwip_syncookie := tests/unit/test_lwip_syncookie.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_lwip_syncookie: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
$(BUILD)/unit/test_lwip_syncookie: $(DEPS_DIR)/stamp-lwip

# TCP segmentation offload (net/port/patches/0801-*) against the real lwIP.
UNIT_TESTS += lwip_tso
UNIT_SRCS_lwip_tso := tests/unit/test_lwip_tso.c net/glue/tso.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_lwip_tso: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
$(BUILD)/unit/test_lwip_tso: $(DEPS_DIR)/stamp-lwip

# TIME_WAIT reopened by a new SYN (net/port/patches/0901-*).
UNIT_TESTS += lwip_timewait
UNIT_SRCS_lwip_timewait := tests/unit/test_lwip_timewait.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_lwip_timewait: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
$(BUILD)/unit/test_lwip_timewait: $(DEPS_DIR)/stamp-lwip

# Keyed per-destination datagram ids (net/guard/ip_id.c, patch 0902's hooks).
UNIT_TESTS += ip_id
UNIT_SRCS_ip_id := tests/unit/test_ip_id.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_ip_id: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
$(BUILD)/unit/test_ip_id: $(DEPS_DIR)/stamp-lwip

# Per-destination ephemeral ports (net/guard/tcp_port.c, patch 0903's hook).
UNIT_TESTS += tcp_port
UNIT_SRCS_tcp_port := tests/unit/test_tcp_port.c $(LWIP_HOST_SRCS)
$(BUILD)/unit/test_tcp_port: UNIT_CFLAGS += $(LWIP_HOST_CFLAGS)
$(BUILD)/unit/test_tcp_port: $(DEPS_DIR)/stamp-lwip

# One gcc call builds each test from several sources, and -MMD then keeps only
# the last source's dependencies: name the headers these tests depend on.
LWIP_HOST_HDRS := $(wildcard net/*/*.h net/port/arch/*.h) tests/unit/lwip_host.h tests/lib/tcp4_hdr.h
$(BUILD)/unit/test_lwip_persist $(BUILD)/unit/test_lwip_syncookie $(BUILD)/unit/test_tcp_keyed \
	$(BUILD)/unit/test_lwip_tso $(BUILD)/unit/test_lwip_timewait $(BUILD)/unit/test_ip_id \
	$(BUILD)/unit/test_tcp_port: \
	$(LWIP_HOST_HDRS)
