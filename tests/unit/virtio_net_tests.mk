# Host unit tests of the virtio-net RX/TX paths: the real driver files, the
# real virtqueue, NAPI and softirq code, against sim_device.c. Test doubles
# for kernel/timer.h and kernel/log.h live in test_virtio_net.c; dma, clock
# and irqflags come from test_support.c. virtio_net.c (probe, PCI) is not
# linked: the test assembles a struct vnet by hand.
UNIT_TESTS += virtio_net
UNIT_SRCS_virtio_net := tests/unit/test_virtio_net.c tests/unit/sim_device.c \
	tests/unit/test_support.c drivers/net/virtio_net_rx.c drivers/net/virtio_net_tx.c \
	drivers/virtio/virtqueue.c kernel/napi.c kernel/softirq.c
