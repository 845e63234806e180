# Host unit tests of the virtqueue, softirq and NAPI modules (cmocka).
# Included by the top-level Makefile, which builds each test as
#   build/unit/test_<name>: $(HOSTCC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS_<name>) -lcmocka
# The product files are compiled unchanged; test_support.c stands in for the
# kernel's dma/clock/irqflags services and sim_device.c for the device.

UNIT_TESTS += virtqueue
UNIT_SRCS_virtqueue := tests/unit/test_virtqueue.c tests/unit/sim_device.c \
	tests/unit/test_support.c drivers/virtio/virtqueue.c

UNIT_TESTS += vq_indirect
UNIT_SRCS_vq_indirect := tests/unit/test_vq_indirect.c tests/unit/sim_device.c \
	tests/unit/test_support.c drivers/virtio/virtqueue.c

UNIT_TESTS += softirq
UNIT_SRCS_softirq := tests/unit/test_softirq.c tests/unit/test_support.c \
	kernel/softirq.c

UNIT_TESTS += napi
UNIT_SRCS_napi := tests/unit/test_napi.c tests/unit/sim_device.c \
	tests/unit/test_support.c kernel/napi.c kernel/softirq.c kernel/timer.c \
	drivers/virtio/virtqueue.c
