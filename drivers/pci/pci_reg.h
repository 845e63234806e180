/* PCI configuration space layout (PCI Local Bus Specification 3.0, §6; PCI
 * Express Base 4.0, §7.5 for the extended space, §7.7.2 for MSI-X).
 *
 * Names follow Linux's include/uapi/linux/pci_regs.h so that anyone who knows
 * one knows the other. Only what this kernel uses is defined. */
#ifndef DRIVERS_PCI_PCI_REG_H
#define DRIVERS_PCI_PCI_REG_H

#include <stddef.h>
#include <stdint.h>

#define PCI_CFG_SPACE_SIZE      256   /* conventional space (0xCF8/0xCFC reaches this) */
#define PCI_CFG_SPACE_EXP_SIZE  4096  /* PCIe extended space (ECAM only) */

/* Configuration mechanism #1 (PCI 3.0 §3.2.2.3.2): a 32-bit address written to
 * CONFIG_ADDRESS selects bus/device/function/dword, CONFIG_DATA moves data. */
#define PCI_CONF1_ADDRESS_PORT  0xCF8
#define PCI_CONF1_DATA_PORT     0xCFC
#define PCI_CONF1_ENABLE        0x80000000u

/* ECAM (PCIe §7.2.2): 4 KiB per function, 1 MiB per bus. */
#define PCI_ECAM_BUS_SHIFT      20
#define PCI_ECAM_DEV_SHIFT      15
#define PCI_ECAM_FN_SHIFT       12
#define PCI_ECAM_BUS_SIZE       (1u << PCI_ECAM_BUS_SHIFT)

#define PCI_MAX_BUS     256
#define PCI_MAX_DEV     32
#define PCI_MAX_FN      8

/* Common header (types 0 and 1), PCI 3.0 §6.1. */
#define PCI_VENDOR_ID           0x00    /* 16 bits; 0xFFFF: no function here */
#define PCI_DEVICE_ID           0x02    /* 16 bits */
#define PCI_COMMAND             0x04    /* 16 bits */
#define  PCI_COMMAND_IO         0x0001  /* respond to I/O space accesses */
#define  PCI_COMMAND_MEMORY     0x0002  /* respond to memory space accesses */
#define  PCI_COMMAND_MASTER     0x0004  /* may initiate DMA (and MSI writes) */
#define  PCI_COMMAND_INTX_DISABLE 0x0400 /* PCI 2.3: stop asserting INTx# */
#define PCI_STATUS              0x06    /* 16 bits; error bits are RW1C */
#define  PCI_STATUS_INTERRUPT   0x0008  /* INTx# asserted (PCI 2.3) */
#define  PCI_STATUS_CAP_LIST    0x0010  /* PCI_CAPABILITY_LIST is valid */
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09    /* programming interface */
#define PCI_CLASS_DEVICE        0x0a    /* 16 bits: base class << 8 | subclass */
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define  PCI_HEADER_TYPE_MASK   0x7f
#define  PCI_HEADER_TYPE_NORMAL 0
#define  PCI_HEADER_TYPE_BRIDGE 1
#define  PCI_HEADER_TYPE_CARDBUS 2
#define  PCI_HEADER_TYPE_MFD    0x80    /* function 0 only: device has functions 1..7 */
#define PCI_BIST                0x0f

/* Base Address Registers, PCI 3.0 §6.2.5.1. Six in a type-0 header, two in a
 * type-1 (bridge) header. A 64-bit memory BAR uses the next slot as its upper
 * half. Sizing: write all-ones, read back, the lowest writable address bit is
 * the size (decode must be off meanwhile, §6.2.5.1 implementation note). */
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_BASE_ADDRESS_1      0x14
#define PCI_BASE_ADDRESS_2      0x18
#define PCI_BASE_ADDRESS_3      0x1c
#define PCI_BASE_ADDRESS_4      0x20
#define PCI_BASE_ADDRESS_5      0x24
#define  PCI_BASE_ADDRESS_SPACE         0x01    /* bit 0: 0 memory, 1 I/O */
#define  PCI_BASE_ADDRESS_SPACE_IO      0x01
#define  PCI_BASE_ADDRESS_SPACE_MEMORY  0x00
#define  PCI_BASE_ADDRESS_MEM_TYPE_MASK 0x06
#define  PCI_BASE_ADDRESS_MEM_TYPE_32   0x00    /* 32-bit address */
#define  PCI_BASE_ADDRESS_MEM_TYPE_1M   0x02    /* below 1 MiB (PCI 2.x, obsolete) */
#define  PCI_BASE_ADDRESS_MEM_TYPE_64   0x04    /* 64-bit address, two slots */
#define  PCI_BASE_ADDRESS_MEM_PREFETCH  0x08
#define  PCI_BASE_ADDRESS_MEM_MASK      (~(uint64_t)0x0f)
#define  PCI_BASE_ADDRESS_IO_MASK       (~(uint64_t)0x03)
#define PCI_STD_NUM_BARS        6
#define PCI_BRIDGE_NUM_BARS     2

/* Type 0 (endpoint) header. */
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34    /* 8 bits: offset of the first capability */
#define PCI_INTERRUPT_LINE      0x3c    /* 8 bits: written by firmware (PIC IRQ), not used by HW */
#define PCI_INTERRUPT_PIN       0x3d    /* 8 bits: 0 none, 1..4 = INTA#..INTD# */
#define PCI_MIN_GNT             0x3e
#define PCI_MAX_LAT             0x3f

/* Type 1 (PCI-to-PCI bridge) header, PCI-to-PCI Bridge Spec 1.2 §3.2. */
#define PCI_PRIMARY_BUS         0x18
#define PCI_SECONDARY_BUS       0x19
#define PCI_SUBORDINATE_BUS     0x1a
#define PCI_ROM_ADDRESS1        0x38
#define PCI_BRIDGE_CONTROL      0x3e

/* Class codes (base class << 8 | subclass), PCI Code and ID Assignment §1. */
#define PCI_CLASS_BRIDGE_HOST   0x0600
#define PCI_CLASS_BRIDGE_ISA    0x0601
#define PCI_CLASS_BRIDGE_PCI    0x0604
#define PCI_CLASS_NETWORK_ETHERNET 0x0200

/* Capability list, PCI 3.0 §6.7: each entry starts with an ID byte and a
 * next-pointer byte; pointers are dword aligned and >= 0x40. */
#define PCI_CAP_LIST_ID         0
#define PCI_CAP_LIST_NEXT       1
#define PCI_CAP_FLAGS           2
#define PCI_CAP_PTR_MIN         0x40
#define PCI_FIND_CAP_TTL        48      /* (256 - 64) / 4: at most this many capabilities */

#define PCI_CAP_ID_PM           0x01
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_VNDR         0x09    /* vendor specific (virtio uses these) */
#define PCI_CAP_ID_EXP          0x10    /* PCI Express */
#define PCI_CAP_ID_MSIX         0x11

/* MSI-X capability, PCI 3.0 §6.8.2 / PCIe 4.0 §7.7.2. */
#define PCI_MSIX_FLAGS          2       /* 16 bits: Message Control */
#define  PCI_MSIX_FLAGS_QSIZE   0x07ff  /* Table Size - 1 */
#define  PCI_MSIX_FLAGS_MASKALL 0x4000  /* Function Mask */
#define  PCI_MSIX_FLAGS_ENABLE  0x8000  /* MSI-X Enable */
#define PCI_MSIX_TABLE          4       /* 32 bits: Table Offset | Table BIR */
#define  PCI_MSIX_TABLE_BIR     0x00000007u
#define  PCI_MSIX_TABLE_OFFSET  0xfffffff8u
#define PCI_MSIX_PBA            8       /* 32 bits: PBA Offset | PBA BIR */
#define  PCI_MSIX_PBA_BIR       0x00000007u
#define  PCI_MSIX_PBA_OFFSET    0xfffffff8u
#define PCI_CAP_MSIX_SIZEOF     12
#define PCI_MSIX_MAX_ENTRIES    2048

/* One MSI-X table entry (PCI 3.0 §6.8.2.6-9). The table lives in memory
 * space and must be accessed with aligned dword (or qword) accesses only. */
struct pci_msix_entry {
    uint32_t msg_addr_lo;   /* written by driver: Message Address, dword aligned */
    uint32_t msg_addr_hi;   /* written by driver: Message Upper Address */
    uint32_t msg_data;      /* written by driver: Message Data */
    uint32_t vector_ctrl;   /* written by driver: bit 0 Mask; reset value 1 */
};
#define PCI_MSIX_ENTRY_SIZE             16
#define PCI_MSIX_ENTRY_LOWER_ADDR       0x0
#define PCI_MSIX_ENTRY_UPPER_ADDR       0x4
#define PCI_MSIX_ENTRY_DATA             0x8
#define PCI_MSIX_ENTRY_VECTOR_CTRL      0xc
#define  PCI_MSIX_ENTRY_CTRL_MASKBIT    0x00000001u

_Static_assert(sizeof(struct pci_msix_entry) == PCI_MSIX_ENTRY_SIZE, "MSI-X entry is 16 bytes");
_Static_assert(offsetof(struct pci_msix_entry, msg_addr_hi) == PCI_MSIX_ENTRY_UPPER_ADDR &&
               offsetof(struct pci_msix_entry, msg_data) == PCI_MSIX_ENTRY_DATA &&
               offsetof(struct pci_msix_entry, vector_ctrl) == PCI_MSIX_ENTRY_VECTOR_CTRL,
               "MSI-X entry layout (PCI 3.0 §6.8.2)");
_Static_assert(PCI_MSIX_FLAGS_QSIZE + 1 == PCI_MSIX_MAX_ENTRIES, "Table Size is 11 bits");
_Static_assert(PCI_CAP_ID_MSIX == 0x11 && PCI_CAP_ID_VNDR == 0x09 && PCI_CAP_ID_MSI == 0x05,
               "capability IDs (PCI Code and ID Assignment §2)");
_Static_assert(PCI_BASE_ADDRESS_5 == PCI_BASE_ADDRESS_0 + 4 * (PCI_STD_NUM_BARS - 1),
               "six BARs, one dword each");
_Static_assert(PCI_CAPABILITY_LIST == 0x34 && PCI_INTERRUPT_LINE == 0x3c &&
               PCI_INTERRUPT_PIN == 0x3d && PCI_SECONDARY_BUS == 0x19,
               "header layout (PCI 3.0 §6.1, PPB 1.2 §3.2)");
_Static_assert((PCI_CFG_SPACE_EXP_SIZE << 3 << 5) == PCI_ECAM_BUS_SIZE,
               "ECAM: 8 functions x 32 devices x 4 KiB per bus");

#endif
