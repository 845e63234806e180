# unikernel-net: x86_64 unikernel, virtio-net with NAPI, lwIP, HTTP demo.
# `make` builds build/unikernel.elf (PVH, for qemu -kernel), build/unikernel.iso
# (GRUB multiboot2, BIOS and UEFI) and build/unikernel.img (the same hybrid image
# for -drive format=raw). On a fresh clone it first runs `make deps`.
# See README.md and docs/.

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
KERNEL_SRCS := kernel/main.c kernel/boot_info.c kernel/console.c kernel/log.c kernel/test_hooks.c \
	kernel/panic.c kernel/cpu.c kernel/trap_entry.S kernel/irq.c kernel/lapic.c \
	kernel/ioapic.c kernel/acpi.c kernel/clock.c kernel/mm.c kernel/dma.c \
	kernel/cmdline.c kernel/timer.c kernel/idle.c kernel/softirq.c kernel/napi.c
LIB_SRCS := lib/syscalls.c
DRIVER_SRCS := drivers/pci/pci_cfg.c drivers/pci/pci.c drivers/pci/msix.c drivers/pci/intx.c \
	drivers/virtio/virtqueue.c drivers/virtio/virtio_pci.c drivers/virtio/virtio_pci_vqs.c \
	drivers/net/netdev.c drivers/net/virtio_net.c drivers/net/virtio_net_rx.c \
	drivers/net/virtio_net_tx.c
include net/port/lwip.mk
# net/: port/ (lwIP options, hooks, patches: net/port/lwip.mk), glue/ (netif on a
# netdev, TSO, stats snapshot, main loop), guard/ (defences before and beside lwIP),
# apps/ (HTTP, /stats.json, iperf; lists in net/port/lwip.mk).
NET_GLUE_SRCS := net/glue/main.c net/glue/config.c net/glue/netif.c net/glue/tso.c net/glue/stats.c
NET_GUARD_SRCS := net/guard/tcp_guard.c net/guard/rx_guard.c net/guard/frag_guard.c \
	net/guard/icmp_limit.c net/guard/icmp_rate.c net/guard/icmp_errors.c net/guard/arp_guard.c net/guard/stall_track.c \
	net/guard/stall_guard.c
NET_SRCS := $(NET_GLUE_SRCS) $(NET_GUARD_SRCS) $(NET_LWIP_PORT_SRCS) $(NET_HTTP_SRCS) $(NET_HTTP_ASM)

SRCS := $(BOOT_SRCS) $(KERNEL_SRCS) $(LIB_SRCS) $(DRIVER_SRCS) $(NET_SRCS)
OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(SRCS))
LWIP_OBJS := $(patsubst $(LWIP_DIR)/%.c,$(BUILD)/lwip/%.o,$(LWIP_SRCS))

# --- flags ---
# SSE is allowed: newlib uses it and trap_entry.S saves the FPU state.
KERNEL_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-fno-stack-protector -fno-omit-frame-pointer -nostdlib --param=min-pagesize=0 \
	-Wall -Wextra -Werror -MMD -MP
KERNEL_CPPFLAGS := -I. -Inet/port -I$(LWIP_DIR)/src/include -isystem $(NEWLIB_DIR)/include
LIBGCC := $(shell $(CC) -print-libgcc-file-name)
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T linker.ld

# Command line baked into the ISO's grub.cfg (the ELF takes -append).
ISO_CMDLINE ?=
GRUB_LIB ?= /usr/lib/grub

.PHONY: all images deps run debug test unit-test build-test qemu-test bench soak clean distclean FORCE

# newlib and lwIP live in .deps/ (make deps). On a fresh clone `make` sets them
# up first, then builds in a sub-make that sees them.
DEPS_READY = test -f $(NEWLIB_DIR)/include/stdio.h -a -f $(LWIP_DIR)/src/include/lwip/init.h \
	-a -f $(DEPS_DIR)/stamp-newlib -a -f $(DEPS_DIR)/stamp-lwip

all:
	@$(DEPS_READY) || { echo "make: first build: setting up dependencies (make deps)"; \
		bash scripts/deps.sh; }
	@$(MAKE) --no-print-directory images

images: $(BUILD)/unikernel.elf $(BUILD)/unikernel.iso $(BUILD)/unikernel.img

deps:
	@bash scripts/deps.sh

# Every kernel object is compiled against newlib's and lwIP's headers, which
# -MMD does not list (-isystem). deps.sh names what it built in its stamps;
# build/deps.key holds them and changes only when they do, so a new newlib or
# lwIP rebuilds every object, and nothing compiles before they exist (an
# object built against the host's glibc headers would poison the tree).
DEPS_KEY := $(BUILD)/deps.key
DEPS_HEADER_STAMPS = $(sort $(wildcard $(DEPS_DIR)/stamp-newlib* $(DEPS_DIR)/stamp-lwip*))
$(DEPS_KEY): FORCE
	@$(DEPS_READY) || { echo "make: newlib/lwIP are not set up in $(DEPS_DIR)/: run 'make deps'" >&2; \
		exit 1; }
	@mkdir -p $(dir $@)
	@cat $(DEPS_HEADER_STAMPS) | cmp -s - $@ 2>/dev/null || cat $(DEPS_HEADER_STAMPS) > $@
FORCE:

$(OBJS) $(LWIP_OBJS): $(DEPS_KEY)

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) $(KERNEL_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) $(KERNEL_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/net/apps/www_data.S.o: $(NET_WWW_FILES)

$(BUILD)/lwip/%.o: $(LWIP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) $(LWIP_CFLAGS) $(KERNEL_CPPFLAGS) -c $< -o $@

$(BUILD)/unikernel.elf: $(OBJS) $(LWIP_OBJS) linker.ld
	$(LD) $(LDFLAGS) -o $@ $(OBJS) $(LWIP_OBJS) --start-group \
		$(NEWLIB_DIR)/lib/libc.a $(NEWLIB_DIR)/lib/libm.a $(LIBGCC) --end-group
	@size $@

# grub.cfg changes only when its text does (ISO_CMDLINE, this recipe), and the image follows.
# Under EFI there is no text mode to set: keep the firmware's video mode.
GRUB_CFG := set timeout=0\nset default=0\nserial --unit=0 --speed=115200\nterminal_output serial\n$\
if [ "$$grub_platform" = efi ]; then set gfxpayload=keep; fi\n$\
menuentry "unikernel-net" {\n  multiboot2 /boot/unikernel.elf %s\n  boot\n}\n
$(BUILD)/grub.cfg: FORCE
	@mkdir -p $(dir $@)
	@printf '$(GRUB_CFG)' '$(ISO_CMDLINE)' | cmp -s - $@ 2>/dev/null || \
		printf '$(GRUB_CFG)' '$(ISO_CMDLINE)' > $@

$(BUILD)/unikernel.iso: $(BUILD)/unikernel.elf $(BUILD)/grub.cfg
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub
	cp $< $(BUILD)/iso/boot/unikernel.elf
	cp $(BUILD)/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	@for p in i386-pc x86_64-efi; do test -d $(GRUB_LIB)/$$p || { \
		echo "make: GRUB platform $$p missing in $(GRUB_LIB) (grub-pc-bin, grub-efi-amd64-bin): run 'make deps'" >&2; \
		exit 1; }; done
	grub-mkrescue -o $@ $(BUILD)/iso \
		2> $(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# grub-mkrescue's image is hybrid: an ISO 9660 El Torito CD (BIOS and EFI boot
# images), an MBR with GRUB's boot code and a partition entry for the EFI system
# partition image. So the same bytes boot as a raw disk under SeaBIOS and OVMF.
$(BUILD)/unikernel.img: $(BUILD)/unikernel.iso
	cp $< $@

# --- running ---
RUN_PORT ?= 8080
RUN_APPEND ?=
QEMU_NET ?= -device virtio-net-pci,netdev=n0 \
	-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$(RUN_PORT)-:80,hostfwd=tcp:127.0.0.1:5001-:5001,hostfwd=tcp:127.0.0.1:5201-:5201
# RUN_MACHINE=microvm boots the same ELF on QEMU's microvm (PCIe on).
RUN_MACHINE ?= q35
RUN_MACHINE_OPT = $(if $(filter microvm,$(RUN_MACHINE)),microvm$(comma)pcie=on,$(RUN_MACHINE))
comma := ,
QEMU_ARGS = -machine $(RUN_MACHINE_OPT) -m 64M -nographic -no-reboot \
	-kernel $(BUILD)/unikernel.elf -append "$(RUN_APPEND)" $(QEMU_NET) \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
# KVM when it really works here: /dev/kvm opens and the kernel boots under it to
# test.exit=boot (a nested KVM may refuse MSRs or fail to emulate); else TCG.
# RUN_ACCEL=kvm|tcg forces one. -cpu host under KVM, max under TCG.
KVM_USABLE = test -r /dev/kvm -a -w /dev/kvm && timeout 10 $(QEMU) -accel kvm -cpu host \
	-machine $(RUN_MACHINE_OPT) -m 64M -display none -nodefaults -no-reboot -serial null \
	-kernel $(BUILD)/unikernel.elf -append test.exit=boot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 >/dev/null 2>&1; test $$? -eq 1
RUN_ACCEL ?= auto

run: deps
	@$(MAKE) --no-print-directory all
	@accel=$(RUN_ACCEL); why="RUN_ACCEL=$$accel"; if [ $$accel = auto ]; then \
		if $(KVM_USABLE); then accel=kvm; why="/dev/kvm is usable"; \
		else accel=tcg; why="no /dev/kvm, or the kernel does not boot under KVM here"; fi; fi; \
	if [ $$accel = kvm ]; then cpu=host; echo "run: -accel kvm ($$why)"; \
	else cpu=max; echo "run: -accel tcg ($$why): emulated, slower"; fi; \
	echo "serving on http://127.0.0.1:$(RUN_PORT)/ (Ctrl-A X quits QEMU)"; \
	echo "$(QEMU) -accel $$accel -cpu $$cpu $(QEMU_ARGS)"; \
	exec $(QEMU) -accel $$accel -cpu $$cpu $(QEMU_ARGS)

debug: deps
	@$(MAKE) --no-print-directory all
	@echo "gdb $(BUILD)/unikernel.elf -ex 'target remote :1234'"
	$(QEMU) -cpu max $(QEMU_ARGS) -s -S

# --- tests ---
UNIT_TESTS :=
TEST_EXTRA :=
-include tests/unit/*.mk
# Protocol model, concurrency stress, fuzzing: targets they add to TEST_EXTRA run in `make test`.
-include tests/model/*.mk tests/stress/*.mk tests/fuzz/*.mk
UNIT_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -DUNIT_TEST -I. -Wall -Wextra -Werror -O2 -g \
	-fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_BINS := $(patsubst %,$(BUILD)/unit/test_%,$(UNIT_TESTS))

.SECONDEXPANSION:
# One gcc call per test builds several sources, and -MMD then records only
# the last one's headers: every test depends on the project's headers.
UNIT_HDRS := $(wildcard kernel/*.h lib/*.h drivers/*/*.h net/*/*.h net/port/arch/*.h tests/unit/*.h)
$(UNIT_BINS): $(BUILD)/unit/test_%: $$(UNIT_SRCS_$$*) $(UNIT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOSTCC) $(UNIT_CFLAGS) -MMD -MP -o $@ $(UNIT_SRCS_$*) -lcmocka

unit-test: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "unit tests: FAILED"; exit 1; fi; echo "unit tests: all passed"

# Build hygiene in a temporary copy of the tree (a second or so, no QEMU).
build-test:
	@bash tests/build/test_hygiene.sh

qemu-test: all
	$(PYTHON) -m pytest -p no:cacheprovider -q tests/qemu

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit-test
	$(if $(TEST_EXTRA),@$(MAKE) --no-print-directory $(TEST_EXTRA))
	@$(MAKE) --no-print-directory build-test
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
