# lwIP sources the kernel links (set LWIP_DIR := .deps/lwip before including).
# Options come from net/port/lwipopts.h: compile with -Inet/port -I$(LWIP_DIR)/src/include.
LWIP_SRCS := \
	$(LWIP_DIR)/src/core/init.c \
	$(LWIP_DIR)/src/core/def.c \
	$(LWIP_DIR)/src/core/inet_chksum.c \
	$(LWIP_DIR)/src/core/ip.c \
	$(LWIP_DIR)/src/core/mem.c \
	$(LWIP_DIR)/src/core/memp.c \
	$(LWIP_DIR)/src/core/netif.c \
	$(LWIP_DIR)/src/core/pbuf.c \
	$(LWIP_DIR)/src/core/stats.c \
	$(LWIP_DIR)/src/core/sys.c \
	$(LWIP_DIR)/src/core/tcp.c \
	$(LWIP_DIR)/src/core/tcp_in.c \
	$(LWIP_DIR)/src/core/tcp_out.c \
	$(LWIP_DIR)/src/core/timeouts.c \
	$(LWIP_DIR)/src/core/udp.c \
	$(LWIP_DIR)/src/core/ipv4/dhcp.c \
	$(LWIP_DIR)/src/core/ipv4/etharp.c \
	$(LWIP_DIR)/src/core/ipv4/icmp.c \
	$(LWIP_DIR)/src/core/ipv4/ip4.c \
	$(LWIP_DIR)/src/core/ipv4/ip4_addr.c \
	$(LWIP_DIR)/src/core/ipv4/ip4_frag.c \
	$(LWIP_DIR)/src/netif/ethernet.c

# Our side of the port and the HTTP demo (kernel flags, -Werror clean).
NET_LWIP_PORT_SRCS := net/port/sys_arch.c
# Keyed ISNs, SYN cookies, datagram ids and ephemeral ports behind lwIP's hooks
# (net/port/lwip_hooks.h).
NET_TCP_KEYED_SRCS := net/guard/siphash.c net/guard/tcp_isn.c net/guard/syncookie.c net/guard/tcp_syncookie.c \
	net/guard/ip_id.c net/guard/tcp_port.c
NET_LWIP_PORT_SRCS += $(NET_TCP_KEYED_SRCS) net/guard/entropy.c net/guard/tcp_keys.c
# What a host build of lwIP with our lwipopts.h must link besides lwIP itself.
NET_LWIP_HOOK_SRCS := $(NET_TCP_KEYED_SRCS)
NET_IPERF_SRCS := net/apps/iperf.c net/apps/iperf_rx.c net/apps/iperf_tx.c net/apps/iperf_json.c net/apps/iperf2_hdr.c \
	net/apps/iperf2.c net/apps/iperf3_proto.c net/apps/iperf3.c net/apps/tcp_room.c
NET_HTTP_SRCS := net/apps/http_parser.c net/apps/http_server.c net/apps/http_routes.c net/apps/stats_json.c net/apps/json_out.c $(NET_IPERF_SRCS)
NET_HTTP_ASM := net/apps/www_data.S
# .incbin inputs: gcc -MD does not see them, so list them as prerequisites
# of the object built from net/apps/www_data.S.
NET_WWW_FILES := net/apps/www/index.html net/apps/www/stats.html net/apps/www/style.css

# The tree must be the one `make deps` made from the current patch series: a
# series or patch newer than the stamp (edited, or merged in) stops the build
# here instead of compiling a stale tree (goals that run deps first check in
# their sub-make). A tree never set up is the Makefile's case: `make` sets it
# up first, a direct object target stops with one line.
ifeq ($(filter deps clean distclean run debug test bench soak,$(MAKECMDGOALS)),)
LWIP_STALE := $(shell [ -f $(DEPS_DIR)/stamp-lwip ] && \
	[ -n "$$(find net/port/patches -newer $(DEPS_DIR)/stamp-lwip -print -quit)" ] && echo y)
ifneq ($(LWIP_STALE),)
$(error lwIP in $(LWIP_DIR) is older than net/port/patches: run `make deps`)
endif
endif

# Extra flags for $(LWIP_SRCS) only (third-party code; see report).
LWIP_CFLAGS :=

# IPv6 (dual stack): lwIP's IPv6 core and our glue for it.
LWIP_IPV6_SRCS := \
	$(LWIP_DIR)/src/core/ipv6/ethip6.c \
	$(LWIP_DIR)/src/core/ipv6/icmp6.c \
	$(LWIP_DIR)/src/core/ipv6/inet6.c \
	$(LWIP_DIR)/src/core/ipv6/ip6.c \
	$(LWIP_DIR)/src/core/ipv6/ip6_addr.c \
	$(LWIP_DIR)/src/core/ipv6/ip6_frag.c \
	$(LWIP_DIR)/src/core/ipv6/mld6.c \
	$(LWIP_DIR)/src/core/ipv6/nd6.c
LWIP_SRCS += $(LWIP_IPV6_SRCS)
NET_LWIP_PORT_SRCS += net/glue/netif_ipv6.c net/glue/ip6_hdr.c
