#!/bin/sh
# CC used to build newlib for x86_64-elf with the machine's own gcc, freestanding.
# Used by scripts/deps.sh; NEWLIB_HOST_CC overrides the underlying compiler.
exec "${NEWLIB_HOST_CC:-gcc}" -ffreestanding -fno-pic -fno-pie -mno-red-zone \
    -fno-stack-protector -nostdlib -O2 -g "$@"
