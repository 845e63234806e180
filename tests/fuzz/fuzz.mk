# Host fuzz targets (libFuzzer, clang 14, ASan + UBSan). Included by the
# top-level Makefile after net/port/lwip.mk.
#   make fuzz-test            bounded run of every target (part of `make test`)
#   make fuzz FUZZ_SECONDS=N  long run of every target (default 600 s each)
#   make fuzz-one FUZZ_TARGET=lwip_tcp FUZZ_SECONDS=N
# A target <t> is the binary $(BUILD)/fuzz/<t>, with seeds in
# tests/fuzz/corpus/<t>/ (each must pass) and reproducers of known, not yet
# fixed crashes in tests/fuzz/known/<t>/ (see tests/fuzz/README).
# Other fuzz targets append themselves: FUZZ_TARGETS += name, plus a rule for
# $(BUILD)/fuzz/name.
FUZZ_TARGETS += lwip_tcp
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_TEST_SECONDS ?= 40
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link -Wall -Wextra -Werror -MMD -MP
# Host arch/cc.h first; lwipopts.h is the product's (net/).
FUZZ_CPPFLAGS := -Itests/fuzz/lwip_host -I. -Inet/port -I$(LWIP_DIR)/src/include

# The real lwIP list and the servers exactly as the kernel links them.
FUZZ_LWIP_TCP_SRCS := $(LWIP_SRCS) $(NET_HTTP_SRCS) $(NET_HTTP_ASM) net/guard/tcp_guard.c \
	$(NET_LWIP_HOOK_SRCS) net/glue/netif_ipv6.c net/glue/ip6_hdr.c net/guard/icmp_limit.c net/guard/icmp_rate.c net/guard/icmp_errors.c \
	tests/fuzz/lwip_host/host_port.c tests/fuzz/lwip_host/memp_guard.c tests/fuzz/lwip_host/sim_netif.c \
	tests/fuzz/lwip_host/peer.c tests/fuzz/lwip_host/fuzz_common.c tests/fuzz/lwip_host/fuzz_tcp.c
FUZZ_LWIP_TCP_OBJS := $(patsubst %,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LWIP_TCP_SRCS))

$(BUILD)/fuzz/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/net/apps/www_data.S.o: $(NET_WWW_FILES)

$(BUILD)/fuzz/lwip_tcp: $(FUZZ_LWIP_TCP_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -Wl,--wrap=memp_malloc,--wrap=memp_free,--wrap=tcp_tmr -o $@ $^

.PHONY: fuzz fuzz-test fuzz-one fuzz-build
# (in the recipe, not as prerequisites: a .mk included after this one may still
# append to FUZZ_TARGETS)
fuzz-build:
	@$(MAKE) --no-print-directory $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))

fuzz-test: fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do \
		bash tests/fuzz/run.sh $(BUILD)/fuzz/$$t $(FUZZ_TEST_SECONDS) || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "fuzz tests: FAILED"; exit 1; fi; echo "fuzz tests: all passed"

fuzz: fuzz-build
	@fail=0; for t in $(FUZZ_TARGETS); do \
		bash tests/fuzz/run.sh $(BUILD)/fuzz/$$t $(FUZZ_SECONDS) || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "fuzz: new crashes (see above)"; exit 1; fi

fuzz-one: $(BUILD)/fuzz/$(FUZZ_TARGET)
	bash tests/fuzz/run.sh $(BUILD)/fuzz/$(FUZZ_TARGET) $(FUZZ_SECONDS)

-include $(shell find $(BUILD)/fuzz -name '*.d' 2>/dev/null)
