# Host unit tests for drivers/pci and the virtio PCI transport: the real code,
# linked against pci_sim.c's simulated config space, device memory and kernel
# stubs (pci_cfg.c, the hardware back end, is deliberately not linked).
PCI_SIM_SRCS := tests/unit/pci_sim.c tests/unit/test_support.c drivers/pci/pci.c drivers/pci/msix.c drivers/pci/intx.c
UNIT_TESTS += pci virtio_pci
UNIT_SRCS_pci := tests/unit/test_pci.c $(PCI_SIM_SRCS)
UNIT_SRCS_virtio_pci := tests/unit/test_virtio_pci.c $(PCI_SIM_SRCS) drivers/virtio/virtio_pci.c \
	drivers/virtio/virtio_pci_vqs.c drivers/virtio/virtqueue.c
