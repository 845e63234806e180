# Fuzz target fuzz_device (fuzz_device.c): a hostile virtio-net device
# against the real driver (virtio_net*.c probed through the stand-in
# transport tests/unit/vnet_fake_pci.c) and the real virtqueue. Run by
# fuzz.mk's fuzz-test / fuzz / fuzz-one like every target; seeds and
# regression inputs in tests/fuzz/corpus/fuzz_device/.
FUZZ_TARGETS += fuzz_device
FUZZ_DEVICE_SRCS := tests/fuzz/fuzz_device.c tests/unit/sim_device.c tests/unit/test_support.c \
	tests/unit/vnet_fake_pci.c drivers/net/virtio_net.c drivers/net/virtio_net_rx.c \
	drivers/net/virtio_net_tx.c drivers/virtio/virtqueue.c drivers/virtio/virtio_pci_vqs.c drivers/net/netdev.c kernel/napi.c kernel/softirq.c

$(BUILD)/fuzz/fuzz_device: $(FUZZ_DEVICE_SRCS) $(wildcard drivers/net/*.h drivers/virtio/*.h kernel/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) -std=c11 -D_DEFAULT_SOURCE -DUNIT_TEST -I. -O1 -g -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror \
		-o $@ $(FUZZ_DEVICE_SRCS)
