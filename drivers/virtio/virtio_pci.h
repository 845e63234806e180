/* Virtio 1.x modern PCI transport (virtio v1.2 §4.1).
 *
 * Knows PCI, MSI-X, INTx and the common configuration structure. It creates
 * the virtqueues (as Linux vp_find_vqs): a driver lists what it wants per
 * queue (struct virtio_vq_spec) and gets back the queues, wired to the
 * doorbell, and the IDT vector each one's interrupt arrives on. The ring
 * code itself (virtqueue.h) knows nothing of PCI.
 *
 * Driver initialisation (§3.1.1), caller's side:
 *   virtio_pci_init()            map caps, reset, ACKNOWLEDGE, DRIVER (steps 1-3)
 *   virtio_pci_get_features() / virtio_pci_set_features()          (step 4)
 *   virtio_pci_features_ok()     FEATURES_OK, fails if the device refused (5-6)
 *   virtio_pci_read_config()
 *   virtio_pci_find_vqs()        rings, interrupts, registration      (step 7)
 *   virtio_pci_driver_ok()       DRIVER_OK, last                       (step 8)
 * On any failure after init: virtio_pci_teardown() (resets the device,
 * releases vectors) then virtio_pci_del_vqs(), or at least virtio_pci_fail().
 * virtio_pci_setup_queues() is find_vqs' lower half, for rings built
 * elsewhere (the transport's own tests).
 *
 * Context: everything is boot/main-loop only except virtio_pci_notify(),
 * virtio_pci_queue_irq_mask() and virtio_pci_isr_read(), which are safe from
 * interrupt handlers. */
#ifndef DRIVERS_VIRTIO_VIRTIO_PCI_H
#define DRIVERS_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/intx.h"
#include "drivers/pci/msix.h"
#include "drivers/pci/pci.h"
#include "drivers/virtio/virtio_pci_reg.h"
#include "drivers/virtio/virtqueue.h"
#include "kernel/irq.h"

#define VIRTIO_PCI_MAX_QUEUES 16

/* The MSI-X table layout, defined here and nowhere else:
 *   entry 0       configuration change (config_msix_vector)
 *   entry 1 + i   queue i                      (VIRTIO_PCI_IRQ_MSIX_PER_VQ)
 *   entry 1       every queue, one handler     (VIRTIO_PCI_IRQ_MSIX_SHARED)
 * A queue without a callback keeps VIRTIO_MSI_NO_VECTOR (its entry stays
 * unused), as does the config change without a config callback. Each used
 * entry gets its own IDT vector from irq_alloc_vector(). */
enum virtio_pci_msix_entry {
    VIRTIO_PCI_MSIX_CONFIG = 0,
    VIRTIO_PCI_MSIX_QUEUE_BASE = 1,
    VIRTIO_PCI_MSIX_SHARED = 1,
};

/* Interrupt modes in Linux vp_find_vqs() order: setup tries them from the
 * one the caller asks for downwards and keeps the first that works. */
enum virtio_pci_irq_mode {
    VIRTIO_PCI_IRQ_MSIX_PER_VQ = 0, /* 1 + nvqs entries/vectors */
    VIRTIO_PCI_IRQ_MSIX_SHARED,     /* 2 entries/vectors: config, all queues */
    VIRTIO_PCI_IRQ_INTX,            /* one level line; handler reads the ISR */
    VIRTIO_PCI_IRQ_NONE,            /* no interrupt source: polling only */
};

/* One queue as virtio_pci_setup_queues() registers it. */
struct virtio_pci_vq_info {
    uint16_t num;           /* ring size, power of 2, <= virtio_pci_queue_max_size() */
    uint64_t desc;          /* device address of the descriptor table (vq_desc_addr) */
    uint64_t driver;        /* ... of the available ring (vq_avail_addr) */
    uint64_t device;        /* ... of the used ring (vq_used_addr) */
    /* Interrupt context, interrupts off, EOI after return. May be called when
     * the queue has no new work (shared vector, shared INTx line): it must
     * check the ring. NULL: this queue never interrupts. */
    irq_handler_t callback;
    void *ctx;
};

struct virtio_pci_queue {
    struct virtqueue *vq;       /* created by find_vqs, NULL otherwise */
    uint16_t num;
    volatile uint16_t *notify;  /* doorbell: write the queue index (16 bits) */
    uint16_t msix_entry;        /* VIRTIO_MSI_NO_VECTOR when none */
    int vector;                 /* its own IDT vector (per-queue mode), else -1 */
    irq_handler_t callback;
    void *ctx;
};

struct virtio_pci_dev {
    struct pci_dev *pci;
    unsigned device_type;                       /* VIRTIO_ID_* */
    volatile struct virtio_pci_common_cfg *common;
    uint32_t common_len;
    volatile uint8_t *notify_base;
    uint32_t notify_len;
    uint32_t notify_off_multiplier;
    volatile uint8_t *isr;
    volatile uint8_t *device_cfg;               /* NULL: the device has none */
    uint32_t device_cfg_len;
    uint64_t features;                          /* as set_features last wrote them */

    bool has_msix;
    struct msix msix;
    enum virtio_pci_irq_mode irq_mode;          /* valid after setup_queues */
    bool irq_ready;                             /* setup_queues succeeded */
    int config_vector;                          /* MSI-X modes, -1 if none */
    int shared_vector;                          /* shared mode, else -1 */
    int intx_vector;                            /* INTx mode, else -1 */
    struct pci_intx_route intx;                 /* INTx mode */
    irq_handler_t config_cb;
    void *config_ctx;

    unsigned nvqs;
    struct virtio_pci_queue vq[VIRTIO_PCI_MAX_QUEUES];

    /* Counted here: INTx interrupts whose ISR read 0 (another device on the
     * line, or spurious). Every other interrupt is the callbacks' to count. */
    volatile uint64_t intx_spurious;
};

/* Next virtio function of this device type (VIRTIO_ID_*) after `from`
 * (NULL: first), modern 0x1040+type or transitional 0x1000..0x103f. */
struct pci_dev *virtio_pci_find(unsigned device_type, struct pci_dev *from);

/* Finds and maps the first usable capability of each type (common, notify,
 * ISR, device config), enables memory decode and bus mastering, resets the
 * device and sets ACKNOWLEDGE | DRIVER. 0, or -1 with *reason set (e.g. a
 * legacy-only device: "legacy-only virtio device (no modern capabilities)"). */
int virtio_pci_init(struct virtio_pci_dev *vdev, struct pci_dev *pci, const char **reason);

/* Writes 0 to device_status and waits (bounded, 1 s) for it to read 0.
 * 0, or -1 on timeout. */
int virtio_pci_reset(struct virtio_pci_dev *vdev);
uint8_t virtio_pci_get_status(struct virtio_pci_dev *vdev);
void virtio_pci_add_status(struct virtio_pci_dev *vdev, uint8_t bits);

uint64_t virtio_pci_get_features(struct virtio_pci_dev *vdev);   /* device's offer */
void virtio_pci_set_features(struct virtio_pci_dev *vdev, uint64_t features);
/* Sets FEATURES_OK and reads it back: 0, or -1 if the device cleared it
 * (it does not support that subset; the caller should give up). */
int virtio_pci_features_ok(struct virtio_pci_dev *vdev);
void virtio_pci_driver_ok(struct virtio_pci_dev *vdev);
void virtio_pci_fail(struct virtio_pci_dev *vdev);   /* sets FAILED */

/* Copies device config [off, off+len) into buf, retrying until
 * config_generation is stable (§4.1.4.3.1). len 1, 2, 4 (aligned) use one
 * access of that width, 8 two 32-bit ones, anything else byte accesses.
 * 0, or -1 (no device config, out of range, generation never settled). */
int virtio_pci_read_config(struct virtio_pci_dev *vdev, uint32_t off, void *buf, uint32_t len);
/* Same access-width rule; no generation check (the driver is the writer). */
int virtio_pci_write_config(struct virtio_pci_dev *vdev, uint32_t off, const void *buf,
                            uint32_t len);

uint16_t virtio_pci_num_queues(struct virtio_pci_dev *vdev);
/* Largest ring the device accepts for queue idx; 0: the queue does not exist. */
uint16_t virtio_pci_queue_max_size(struct virtio_pci_dev *vdev, uint16_t idx);

/* Step 7 for queues 0..nvqs-1 together: picks the interrupt mode, starting
 * at first_mode and falling back (per-queue MSI-X -> shared MSI-X -> INTx;
 * NONE only when asked for) when the device has no MSI-X or too few entries,
 * IDT vectors run out, or the device reads a vector back as
 * VIRTIO_MSI_NO_VECTOR; registers each queue (size, addresses, vector), and
 * enables them. Logs the mode chosen:
 *   virtio-pci: msix per-queue vectors: config=48 q0=49 q1=50
 *   virtio-pci: msix shared vectors: config=48 queues=49
 *   virtio-pci: intx gsi 22 vector 48
 * 0, or -1 with *reason set. Call between features_ok and driver_ok. */
int virtio_pci_setup_queues(struct virtio_pci_dev *vdev, unsigned nvqs,
                            const struct virtio_pci_vq_info *vqs, irq_handler_t config_cb,
                            void *config_ctx, enum virtio_pci_irq_mode first_mode,
                            const char **reason);

const char *virtio_pci_irq_mode_name(enum virtio_pci_irq_mode mode);

/* What a driver wants of one queue (index = position in the list). */
struct virtio_vq_spec {
    const char *name;           /* for the debug log */
    /* As in virtio_pci_vq_info: interrupt context, must check the ring
     * (shared vector or line). NULL: the queue never interrupts. */
    irq_handler_t callback;
    void *ctx;
    uint16_t size;              /* wish: the ring gets min(size, device max) */
    bool no_indirect;           /* even if VIRTIO_F_INDIRECT_DESC was negotiated */
    /* Out: the queue, stored before its interrupt is set up (a handler may
     * read it at once), NULL when find_vqs failed before creating it. */
    struct virtqueue **vq;
    /* Out, may be NULL: the IDT vector the queue's interrupt arrives on,
     * its own (per-queue MSI-X) or the one every queue shares (shared
     * MSI-X); -1 with INTx (the handler there reads the ISR), without
     * interrupts, or without a callback. */
    int *vector;
};

/* Step 7 from specs: creates queue i (ring size from spec and device,
 * VIRTIO_F_EVENT_IDX / VIRTIO_F_INDIRECT_DESC as negotiated by
 * set_features, doorbell virtio_pci_notify), then registers them all
 * with virtio_pci_setup_queues (same modes, fallbacks, log and failures).
 * 0, or -1 with *reason set; on failure too the caller tears down and
 * calls virtio_pci_del_vqs. Call between features_ok and driver_ok. */
int virtio_pci_find_vqs(struct virtio_pci_dev *vdev, unsigned nvqs,
                        const struct virtio_vq_spec *specs, irq_handler_t config_cb,
                        void *config_ctx, enum virtio_pci_irq_mode first_mode,
                        const char **reason);
/* After virtio_pci_teardown (the device no longer reads the rings):
 * destroys the queues find_vqs created. The driver detaches its buffers
 * (vq_detach_unused_buf) before. */
void virtio_pci_del_vqs(struct virtio_pci_dev *vdev);

/* Doorbell for queue idx (after setup_queues). Interrupt-safe. */
static inline volatile uint16_t *virtio_pci_notify_addr(struct virtio_pci_dev *vdev, uint16_t idx)
{
    return vdev->vq[idx].notify;
}
void virtio_pci_notify(struct virtio_pci_dev *vdev, uint16_t idx);

/* Masks/unmasks queue idx's own MSI-X entry (a message raised meanwhile is
 * held pending and sent on unmask). Only in per-queue mode: -1 otherwise or
 * when the queue has no entry. NAPI does not need this (ring flags do), but
 * it is the way to silence a queue without touching the ring. */
int virtio_pci_queue_irq_mask(struct virtio_pci_dev *vdev, uint16_t idx, bool masked);

/* Reads (and thereby clears, de-asserting INTx) the ISR status. INTx/polling
 * only: panics if MSI-X is enabled, where the ISR must not be relied on. */
uint8_t virtio_pci_isr_read(struct virtio_pci_dev *vdev);

/* Resets the device, releases vectors / INTx handler, disables MSI-X. */
void virtio_pci_teardown(struct virtio_pci_dev *vdev);

#endif
