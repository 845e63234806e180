# kernel/cmdline.c with every module that owns keys (CMDLINE_PARAM), so the
# table is the kernel's: NAPI, netdev, net/glue/config.c, log, the test hooks.
UNIT_TESTS += cmdline
UNIT_SRCS_cmdline := tests/unit/test_cmdline.c kernel/cmdline.c kernel/napi.c kernel/softirq.c kernel/timer.c \
	tests/unit/test_support.c drivers/net/netdev.c net/glue/config.c kernel/log.c kernel/test_hooks.c

# kernel/dma.c on the host's malloc: alignment, zeroing, dma_free's pointer.
UNIT_TESTS += dma
UNIT_SRCS_dma := tests/unit/test_dma.c kernel/dma.c
