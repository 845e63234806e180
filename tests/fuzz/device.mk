# fuzz_device (libFuzzer, clang, ASan/UBSan): a hostile device against the real
# virtio-net driver and virtqueue (fuzz_device.c). Run by fuzz.mk's fuzz-test /
# fuzz targets; its seeds, tests/fuzz/corpus/fuzz_device/, are inputs of fixed
# bugs and must pass.
FUZZ_TARGETS += fuzz_device
FUZZ_DEVICE_SRCS := tests/fuzz/fuzz_device.c tests/unit/sim_device.c tests/unit/test_support.c \
	tests/unit/vnet_fake_pci.c drivers/net/virtio_net.c drivers/net/virtio_net_rx.c \
	drivers/net/virtio_net_tx.c drivers/virtio/virtqueue.c kernel/napi.c kernel/softirq.c

$(BUILD)/fuzz/fuzz_device: $(FUZZ_DEVICE_SRCS) $(wildcard drivers/net/*.h drivers/virtio/*.h kernel/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	@$(FUZZ_CC) -std=c11 -D_DEFAULT_SOURCE -DUNIT_TEST -I. -g -O1 -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(FUZZ_DEVICE_SRCS)
