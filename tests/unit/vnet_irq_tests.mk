# The interrupt handlers' contract on the real drivers/net/virtio_net.c,
# probed through a stand-in transport (test_vnet_irq.c) against sim_device.c.
UNIT_TESTS += vnet_irq
UNIT_SRCS_vnet_irq := tests/unit/test_vnet_irq.c tests/unit/sim_device.c \
	tests/unit/test_support.c tests/unit/vnet_fake_pci.c drivers/net/virtio_net.c drivers/net/virtio_net_rx.c \
	drivers/net/virtio_net_tx.c drivers/virtio/virtqueue.c drivers/virtio/virtio_pci_vqs.c drivers/net/netdev.c kernel/napi.c kernel/softirq.c
