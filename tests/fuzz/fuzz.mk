# libFuzzer target (clang, libclang-rt-14-dev): a hostile device against the
# real virtio-net driver and virtqueue, with ASan/UBSan (fuzz_device.c).
#   make fuzz-test          bounded (FUZZ_TEST_SECONDS, default 20), in `make test`;
#                           first replays tests/fuzz/regress/ (inputs of fixed bugs)
#   make fuzz FUZZ_SECONDS=N  a long run; corpus kept in build/fuzz/corpus
FUZZ_CC ?= clang
FUZZ_BIN := $(BUILD)/fuzz/fuzz_device
FUZZ_SRCS := tests/fuzz/fuzz_device.c tests/unit/sim_device.c tests/unit/test_support.c \
	tests/unit/vnet_fake_pci.c drivers/net/virtio_net.c drivers/net/virtio_net_rx.c \
	drivers/net/virtio_net_tx.c drivers/virtio/virtqueue.c kernel/napi.c kernel/softirq.c
FUZZ_TEST_SECONDS ?= 20
FUZZ_SECONDS ?= 600
FUZZ_FLAGS := -max_len=4096 -timeout=10 -rss_limit_mb=1024
TEST_EXTRA += fuzz-test
.PHONY: fuzz fuzz-test

$(FUZZ_BIN): $(FUZZ_SRCS) $(wildcard drivers/net/*.h drivers/virtio/*.h kernel/*.h tests/unit/*.h)
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus
	@echo "  FUZZCC  $@"
	@$(FUZZ_CC) -std=c11 -D_DEFAULT_SOURCE -DUNIT_TEST -I. -g -O1 -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(FUZZ_SRCS)

fuzz-test: $(FUZZ_BIN)
	@$(FUZZ_BIN) -runs=0 tests/fuzz/regress >/dev/null 2>&1 || $(FUZZ_BIN) -runs=0 tests/fuzz/regress
	@cd $(BUILD)/fuzz && { ./fuzz_device $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TEST_SECONDS) \
		corpus >fuzz-test.log 2>&1; rc=$$?; tail -n 1 fuzz-test.log; \
		[ $$rc -eq 0 ] || { grep -m5 -E 'ERROR|invariant|SUMMARY|Test unit' fuzz-test.log; \
		echo "fuzz-test: FAILED (see $(BUILD)/fuzz/fuzz-test.log)"; exit 1; }; }
fuzz: $(FUZZ_BIN)
	cd $(BUILD)/fuzz && ./fuzz_device $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) corpus
