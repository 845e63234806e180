# Host unit tests of the virtio-net RX/TX paths: the real driver files, the
# real virtqueue, NAPI and softirq code, against sim_device.c, through the
# fixture in vnet_fixture.c (test doubles for kernel/timer.h and
# kernel/log.h; dma, clock and irqflags come from test_support.c).
# virtio_net.c (probe, PCI) is not linked: the fixture assembles a struct
# vnet by hand.
VNET_FIXTURE_SRCS := tests/unit/vnet_fixture.c tests/unit/sim_device.c \
	tests/unit/test_support.c drivers/net/virtio_net_rx.c drivers/net/virtio_net_tx.c \
	drivers/virtio/virtqueue.c drivers/net/netdev.c kernel/napi.c kernel/softirq.c
UNIT_TESTS += virtio_net virtio_net_tx vnet_hostile vnet_napi vnet_fill
UNIT_SRCS_virtio_net := tests/unit/test_virtio_net.c $(VNET_FIXTURE_SRCS)
UNIT_SRCS_virtio_net_tx := tests/unit/test_virtio_net_tx.c $(VNET_FIXTURE_SRCS)
UNIT_SRCS_vnet_hostile := tests/unit/test_vnet_hostile.c $(VNET_FIXTURE_SRCS)
UNIT_SRCS_vnet_napi := tests/unit/test_vnet_napi.c $(VNET_FIXTURE_SRCS)
UNIT_SRCS_vnet_fill := tests/unit/test_vnet_fill.c $(VNET_FIXTURE_SRCS)
