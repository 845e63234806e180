# Host unit tests for drivers/pci and the virtio PCI transport: the real code,
# linked against test_pci.c's simulated config space and kernel stubs
# (pci_cfg.c, the hardware back end, is deliberately not linked).
UNIT_TESTS += pci
UNIT_SRCS_pci := tests/unit/test_pci.c drivers/pci/pci.c drivers/pci/msix.c \
                 drivers/pci/intx.c drivers/virtio/virtio_pci.c
