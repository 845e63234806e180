# unikernel-net: x86_64 unikernel, virtio-net with NAPI, lwIP, HTTP demo.
# `make` builds build/unikernel.elf (PVH, for qemu -kernel) and
# build/unikernel.iso (GRUB multiboot2). See README.md.

CROSS ?=
CC := $(CROSS)gcc
LD := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
HOSTCC ?= gcc
PYTHON := /usr/bin/python3
QEMU ?= qemu-system-x86_64

BUILD := build
DEPS_DIR := .deps
LWIP_DIR := $(DEPS_DIR)/lwip
NEWLIB_DIR := $(DEPS_DIR)/newlib

# --- sources (explicit lists, one-way dependencies: net -> drivers -> kernel) ---
BOOT_SRCS := boot/boot.S
KERNEL_SRCS := kernel/main.c kernel/boot_info.c kernel/console.c kernel/log.c \
	kernel/panic.c kernel/cpu.c kernel/trap_entry.S kernel/irq.c kernel/lapic.c \
	kernel/ioapic.c kernel/acpi.c kernel/clock.c kernel/mm.c kernel/dma.c \
	kernel/cmdline.c kernel/timer.c kernel/idle.c kernel/softirq.c kernel/napi.c
LIB_SRCS := lib/syscalls.c
DRIVER_SRCS := drivers/pci/pci_cfg.c drivers/pci/pci.c drivers/pci/msix.c drivers/pci/intx.c \
	drivers/virtio/virtqueue.c drivers/virtio/virtio_pci.c \
	drivers/net/netdev.c drivers/net/virtio_net.c drivers/net/virtio_net_rx.c \
	drivers/net/virtio_net_tx.c
include net/lwip.mk
NET_SRCS := net/main.c net/netif.c net/stats.c net/tcp_guard.c $(NET_LWIP_PORT_SRCS) $(NET_HTTP_SRCS) \
	$(NET_HTTP_ASM)

SRCS := $(BOOT_SRCS) $(KERNEL_SRCS) $(LIB_SRCS) $(DRIVER_SRCS) $(NET_SRCS)
OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(SRCS))
LWIP_OBJS := $(patsubst $(LWIP_DIR)/%.c,$(BUILD)/lwip/%.o,$(LWIP_SRCS))

# --- flags ---
# SSE is allowed: newlib uses it and trap_entry.S saves the FPU state.
KERNEL_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fno-omit-frame-pointer -nostdlib --param=min-pagesize=0 \
	-Wall -Wextra -Werror -MMD -MP
KERNEL_CPPFLAGS := -I. -Inet -I$(LWIP_DIR)/src/include -isystem $(NEWLIB_DIR)/include
LIBGCC := $(shell $(CC) -print-libgcc-file-name)
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T linker.ld

# Command line baked into the ISO's grub.cfg (the ELF takes -append).
ISO_CMDLINE ?=

.PHONY: all deps run debug test unit-test qemu-test bench soak clean distclean

all: $(BUILD)/unikernel.elf $(BUILD)/unikernel.iso

deps:
	@bash scripts/deps.sh

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) $(KERNEL_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) $(KERNEL_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/net/www_data.S.o: $(NET_WWW_FILES)

$(BUILD)/lwip/%.o: $(LWIP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) $(LWIP_CFLAGS) $(KERNEL_CPPFLAGS) -c $< -o $@

$(BUILD)/unikernel.elf: $(OBJS) $(LWIP_OBJS) linker.ld
	$(LD) $(LDFLAGS) -o $@ $(OBJS) $(LWIP_OBJS) --start-group \
		$(NEWLIB_DIR)/lib/libc.a $(NEWLIB_DIR)/lib/libm.a $(LIBGCC) --end-group
	@size $@

$(BUILD)/unikernel.iso: $(BUILD)/unikernel.elf
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	cp $< $(BUILD)/iso/boot/unikernel.elf
	printf 'set timeout=0\nset default=0\nserial --unit=0 --speed=115200\nterminal_output serial\nmenuentry "unikernel-net" {\n  multiboot2 /boot/unikernel.elf %s\n  boot\n}\n' '$(ISO_CMDLINE)' > $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2> $(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# --- running ---
RUN_PORT ?= 8080
RUN_APPEND ?=
QEMU_NET ?= -device virtio-net-pci,netdev=n0 \
	-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$(RUN_PORT)-:80,hostfwd=tcp:127.0.0.1:5001-:5001
QEMU_ARGS := -machine q35 -cpu max -m 64M -nographic -no-reboot \
	-kernel $(BUILD)/unikernel.elf -append "$(RUN_APPEND)" $(QEMU_NET) \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04

run: deps
	@$(MAKE) --no-print-directory all
	@echo "serving on http://127.0.0.1:$(RUN_PORT)/ (Ctrl-A X quits QEMU)"
	$(QEMU) $(QEMU_ARGS)

debug: deps
	@$(MAKE) --no-print-directory all
	@echo "gdb $(BUILD)/unikernel.elf -ex 'target remote :1234'"
	$(QEMU) $(QEMU_ARGS) -s -S

# --- tests ---
UNIT_TESTS :=
-include tests/unit/*.mk
-include tests/fuzz/*.mk
UNIT_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -DUNIT_TEST -I. -Wall -Wextra -Werror -O2 -g \
	-fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_BINS := $(patsubst %,$(BUILD)/unit/test_%,$(UNIT_TESTS))

.SECONDEXPANSION:
$(BUILD)/unit/test_%: $$(UNIT_SRCS_$$*)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOSTCC) $(UNIT_CFLAGS) -MMD -MP -o $@ $(UNIT_SRCS_$*) -lcmocka

unit-test: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "unit tests: FAILED"; exit 1; fi; echo "unit tests: all passed"

qemu-test: all
	$(PYTHON) -m pytest -p no:cacheprovider -q tests/qemu

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory fuzz-test
	@$(MAKE) --no-print-directory qemu-test

# Benchmarks report, never fail on a number (scripts/bench/).
bench: deps
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/bench/bench.py

# The long robustness run (not in CI).
soak: deps
	@$(MAKE) --no-print-directory all
	UNIKERNEL_SOAK=1 $(PYTHON) -m pytest -p no:cacheprovider -q tests/qemu/test_soak.py

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(DEPS_DIR)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
