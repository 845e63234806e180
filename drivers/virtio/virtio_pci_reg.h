/* Virtio over PCI, virtio 1.x (OASIS virtio v1.2 cs01, §4.1 "Virtio Over PCI
 * Bus"), plus the device status field (§2.1) and PCI IDs (§4.1.2).
 *
 * Struct and field names are the spec's. All fields are little-endian
 * (§4.1.3); this header is for little-endian hosts only. The structures live
 * in device memory (a BAR): access them only through volatile MMIO accessors,
 * each field with its natural width (§4.1.3.1), 64-bit fields as two 32-bit
 * halves (low first) since a device need not accept 64-bit accesses. */
#ifndef DRIVERS_VIRTIO_VIRTIO_PCI_REG_H
#define DRIVERS_VIRTIO_VIRTIO_PCI_REG_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "virtio 1.x PCI structures are little-endian; add byte swaps for a BE host");

/* §4.1.2 PCI Device Discovery. */
#define VIRTIO_PCI_VENDOR_ID            0x1af4
#define VIRTIO_PCI_MODERN_DEVICE_BASE   0x1040  /* device ID = 0x1040 + virtio device type */
#define VIRTIO_PCI_MODERN_DEVICE_LAST   0x107f
#define VIRTIO_PCI_LEGACY_DEVICE_FIRST  0x1000  /* transitional: type in PCI Subsystem Device ID */
#define VIRTIO_PCI_LEGACY_DEVICE_LAST   0x103f
/* §5 Device Types. */
#define VIRTIO_ID_NET                   1
#define VIRTIO_ID_BLOCK                 2
#define VIRTIO_ID_CONSOLE               3

/* Virtio device type of a function with vendor 0x1af4, or 0 (not virtio /
 * reserved). Modern IDs encode it directly; a transitional device (0x1000..
 * 0x103f) carries it in the Subsystem Device ID (§4.1.2.1). */
static inline unsigned virtio_pci_device_type(uint16_t device_id, uint16_t subsystem_id)
{
    if (device_id >= VIRTIO_PCI_MODERN_DEVICE_BASE && device_id <= VIRTIO_PCI_MODERN_DEVICE_LAST)
        return (unsigned)(device_id - VIRTIO_PCI_MODERN_DEVICE_BASE);
    if (device_id >= VIRTIO_PCI_LEGACY_DEVICE_FIRST && device_id <= VIRTIO_PCI_LEGACY_DEVICE_LAST)
        return subsystem_id;
    return 0;
}

/* §4.1.4 Virtio Structure PCI Capabilities: vendor-specific capabilities
 * (PCI_CAP_ID_VNDR) whose cfg_type names the structure. */
#define VIRTIO_PCI_CAP_COMMON_CFG        1  /* §4.1.4.3 */
#define VIRTIO_PCI_CAP_NOTIFY_CFG        2  /* §4.1.4.4 */
#define VIRTIO_PCI_CAP_ISR_CFG           3  /* §4.1.4.5 */
#define VIRTIO_PCI_CAP_DEVICE_CFG        4  /* §4.1.4.6 */
#define VIRTIO_PCI_CAP_PCI_CFG           5  /* §4.1.4.9: config-space window, unused here */
#define VIRTIO_PCI_CAP_SHARED_MEMORY_CFG 8  /* §4.1.4.7 */
#define VIRTIO_PCI_CAP_VENDOR_CFG        9  /* §4.1.4.8 */

/* A le64 field of the common config sits at a 4-byte multiple and the
 * structure is 0x3c bytes: a 64-bit type with 4-byte alignment keeps
 * sizeof() and offsetof() at the spec's values. Access is by 32-bit halves. */
typedef uint64_t virtio_le64 __attribute__((aligned(4)));

/* §4.1.4: all fields read-only for the driver (the device provides them). */
struct virtio_pci_cap {
    uint8_t cap_vndr;       /* PCI_CAP_ID_VNDR */
    uint8_t cap_next;       /* next capability pointer */
    uint8_t cap_len;        /* length of this capability, >= 16 */
    uint8_t cfg_type;       /* VIRTIO_PCI_CAP_* */
    uint8_t bar;            /* 0..5; other values reserved: ignore the capability */
    uint8_t id;             /* v1.2: tells apart several caps of one type; was padding */
    uint8_t padding[2];
    uint32_t offset;        /* within the BAR */
    uint32_t length;        /* bytes */
};

/* §4.1.4.4: the notification area. Queue q's doorbell is at
 * cap.offset + queue_notify_off(q) * notify_off_multiplier within cap.bar. */
struct virtio_pci_notify_cap {
    struct virtio_pci_cap cap;
    uint32_t notify_off_multiplier;  /* 0: all queues share one address */
};

/* §4.1.4.3 Common configuration structure layout. "RW" = written by driver,
 * "RO" = written by device (read-only for the driver). queue_* fields other
 * than queue_select refer to the queue selected by queue_select. */
struct virtio_pci_common_cfg {
    /* About the whole device. */
    uint32_t device_feature_select; /* RW: which 32-bit word device_feature shows */
    uint32_t device_feature;        /* RO */
    uint32_t driver_feature_select; /* RW */
    uint32_t driver_feature;        /* RW */
    uint16_t config_msix_vector;    /* RW: MSI-X entry for config changes (msix_config) */
    uint16_t num_queues;            /* RO: maximum number of virtqueues */
    uint8_t device_status;          /* RW: VIRTIO_CONFIG_S_*; write 0 = reset */
    uint8_t config_generation;      /* RO: changes when device config changes */

    /* About a specific virtqueue. */
    uint16_t queue_select;          /* RW */
    uint16_t queue_size;            /* RW: reads max size (0 = no such queue); may be lowered */
    uint16_t queue_msix_vector;     /* RW: MSI-X entry; reads VIRTIO_MSI_NO_VECTOR on failure */
    uint16_t queue_enable;          /* RW: write 1 to enable; 0 means not in use */
    uint16_t queue_notify_off;      /* RO */
    virtio_le64 queue_desc;         /* RW: Descriptor Area */
    virtio_le64 queue_driver;       /* RW: Driver Area (available ring) */
    virtio_le64 queue_device;       /* RW: Device Area (used ring) */
    uint16_t queue_notify_data;     /* RO: v1.2, with VIRTIO_F_NOTIF_CONFIG_DATA */
    uint16_t queue_reset;           /* RW: v1.2, with VIRTIO_F_RING_RESET */
};
/* A virtio 1.0 device's structure ends before queue_notify_data. */
#define VIRTIO_PCI_COMMON_CFG_MIN_LEN   offsetof(struct virtio_pci_common_cfg, queue_notify_data)

/* §4.1.4.5 ISR status: one byte, read-to-clear; under INTx reading it also
 * de-asserts the line. Not used (and must not be relied on) with MSI-X. */
#define VIRTIO_PCI_ISR_QUEUE            0x1  /* some queue has used buffers */
#define VIRTIO_PCI_ISR_CONFIG           0x2  /* device configuration changed */

/* §4.1.5.1.2.1 / §4.1.4.3: value of *_msix_vector meaning "no vector"; also
 * what the device reads back when it could not map the requested entry. */
#define VIRTIO_MSI_NO_VECTOR            0xffff

/* §2.1 Device Status Field (Linux's names; the spec's are ACKNOWLEDGE,
 * DRIVER, FAILED, FEATURES_OK, DRIVER_OK, DEVICE_NEEDS_RESET). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE     1   /* driver noticed the device */
#define VIRTIO_CONFIG_S_DRIVER          2   /* driver knows how to drive it */
#define VIRTIO_CONFIG_S_DRIVER_OK       4   /* driver ready: set last (§3.1.1 step 8) */
#define VIRTIO_CONFIG_S_FEATURES_OK     8   /* feature negotiation done; device may clear it */
#define VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET 0x40 /* device hit an error, set by device */
#define VIRTIO_CONFIG_S_FAILED          0x80 /* driver gave up */

_Static_assert(sizeof(struct virtio_pci_cap) == 16, "§4.1.4: virtio_pci_cap is 16 bytes");
_Static_assert(offsetof(struct virtio_pci_cap, cfg_type) == 3 &&
               offsetof(struct virtio_pci_cap, bar) == 4 &&
               offsetof(struct virtio_pci_cap, offset) == 8 &&
               offsetof(struct virtio_pci_cap, length) == 12, "§4.1.4 virtio_pci_cap layout");
_Static_assert(sizeof(struct virtio_pci_notify_cap) == 20 &&
               offsetof(struct virtio_pci_notify_cap, notify_off_multiplier) == 16,
               "§4.1.4.4 virtio_pci_notify_cap layout");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_feature_select) == 0x00 &&
               offsetof(struct virtio_pci_common_cfg, device_feature) == 0x04 &&
               offsetof(struct virtio_pci_common_cfg, driver_feature_select) == 0x08 &&
               offsetof(struct virtio_pci_common_cfg, driver_feature) == 0x0c &&
               offsetof(struct virtio_pci_common_cfg, config_msix_vector) == 0x10 &&
               offsetof(struct virtio_pci_common_cfg, num_queues) == 0x12 &&
               offsetof(struct virtio_pci_common_cfg, device_status) == 0x14 &&
               offsetof(struct virtio_pci_common_cfg, config_generation) == 0x15,
               "§4.1.4.3 common config: device part");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_select) == 0x16 &&
               offsetof(struct virtio_pci_common_cfg, queue_size) == 0x18 &&
               offsetof(struct virtio_pci_common_cfg, queue_msix_vector) == 0x1a &&
               offsetof(struct virtio_pci_common_cfg, queue_enable) == 0x1c &&
               offsetof(struct virtio_pci_common_cfg, queue_notify_off) == 0x1e &&
               offsetof(struct virtio_pci_common_cfg, queue_desc) == 0x20 &&
               offsetof(struct virtio_pci_common_cfg, queue_driver) == 0x28 &&
               offsetof(struct virtio_pci_common_cfg, queue_device) == 0x30 &&
               offsetof(struct virtio_pci_common_cfg, queue_notify_data) == 0x38 &&
               offsetof(struct virtio_pci_common_cfg, queue_reset) == 0x3a,
               "§4.1.4.3 common config: queue part");
_Static_assert(sizeof(struct virtio_pci_common_cfg) == 0x3c && VIRTIO_PCI_COMMON_CFG_MIN_LEN == 0x38,
               "§4.1.4.3: 0x38 bytes in v1.0, 0x3c in v1.2");
_Static_assert(VIRTIO_CONFIG_S_ACKNOWLEDGE == 1 && VIRTIO_CONFIG_S_DRIVER == 2 &&
               VIRTIO_CONFIG_S_DRIVER_OK == 4 && VIRTIO_CONFIG_S_FEATURES_OK == 8 &&
               VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET == 64 && VIRTIO_CONFIG_S_FAILED == 128,
               "§2.1 device status bits");
_Static_assert(VIRTIO_PCI_CAP_COMMON_CFG == 1 && VIRTIO_PCI_CAP_NOTIFY_CFG == 2 &&
               VIRTIO_PCI_CAP_ISR_CFG == 3 && VIRTIO_PCI_CAP_DEVICE_CFG == 4 &&
               VIRTIO_PCI_CAP_PCI_CFG == 5, "§4.1.4 cfg_type values");
_Static_assert(VIRTIO_PCI_ISR_QUEUE == 1 && VIRTIO_PCI_ISR_CONFIG == 2, "§4.1.4.5 ISR bits");
_Static_assert(VIRTIO_MSI_NO_VECTOR == 0xffff, "§4.1.5.1.2 NO_VECTOR");
_Static_assert(VIRTIO_PCI_MODERN_DEVICE_BASE + VIRTIO_ID_NET == 0x1041, "§4.1.2: modern net is 0x1041");

#endif
