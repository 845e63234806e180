# lwip_eth: whole Ethernet frames into the kernel's netif glue and lwIP
# (tests/fuzz/lwip_host/fuzz_eth.c). Uses fuzz.mk's compile rules.
FUZZ_TARGETS += lwip_eth
FUZZ_LWIP_ETH_SRCS := $(LWIP_SRCS) $(NET_HTTP_SRCS) $(NET_HTTP_ASM) net/guard/tcp_guard.c \
	$(NET_LWIP_HOOK_SRCS) net/glue/netif_ipv6.c net/glue/ip6_hdr.c net/guard/icmp_limit.c net/guard/icmp_rate.c net/guard/icmp_errors.c \
	net/glue/netif.c net/guard/rx_guard.c net/guard/frag_guard.c net/guard/arp_guard.c net/guard/stall_guard.c \
	net/guard/stall_track.c net/glue/tso.c \
	tests/fuzz/lwip_host/host_port.c tests/fuzz/lwip_host/memp_guard.c \
	tests/fuzz/lwip_host/eth_csum.c tests/fuzz/lwip_host/fuzz_common.c tests/fuzz/lwip_host/fuzz_eth.c
FUZZ_LWIP_ETH_OBJS := $(patsubst %,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LWIP_ETH_SRCS))

$(BUILD)/fuzz/lwip_eth: $(FUZZ_LWIP_ETH_OBJS)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -Wl,--wrap=memp_malloc,--wrap=memp_free -o $@ $^
