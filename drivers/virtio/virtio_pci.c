/* Virtio 1.x modern PCI transport (see virtio_pci.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drivers/virtio/virtio_pci.h"
#include "kernel/clock.h"
#include "kernel/io.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define RESET_TIMEOUT_US    1000000
#define RESET_POLL_US       10
#define CONFIG_GEN_TRIES    1000

/* Common-config field accessors: natural width, 64-bit as two halves. */
#define COMMON(vdev, field) (&(vdev)->common->field)

static void write_le64(volatile virtio_le64 *p, uint64_t v)
{
    volatile uint32_t *w = (volatile uint32_t *)p;
    mmio_write32(&w[0], (uint32_t)v);
    mmio_write32(&w[1], (uint32_t)(v >> 32));
}

/* ---- discovery ---- */

struct pci_dev *virtio_pci_find(unsigned device_type, struct pci_dev *from)
{
    for (struct pci_dev *d = from;
         (d = pci_find_device(VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_LEGACY_DEVICE_FIRST,
                              VIRTIO_PCI_MODERN_DEVICE_LAST, d)) != NULL;) {
        if (d->header_type == PCI_HEADER_TYPE_NORMAL &&
            virtio_pci_device_type(d->device_id, d->subsystem_id) == device_type)
            return d;
    }
    return NULL;
}

struct found_cap {
    volatile void *addr;
    uint32_t len;
    uint32_t notify_off_multiplier;
};

/* §4.1.4.1: use the first capability of each type the driver can use; skip
 * ones naming a reserved BAR, an I/O BAR (QEMU's optional PIO notify cap), a
 * range outside the BAR, or too short a structure. */
static void find_caps(struct virtio_pci_dev *vdev, struct found_cap caps[VIRTIO_PCI_CAP_DEVICE_CFG + 1])
{
    struct pci_dev *d = vdev->pci;
    for (uint8_t pos = pci_find_cap(d, PCI_CAP_ID_VNDR); pos;
         pos = pci_find_next_cap(d, pos, PCI_CAP_ID_VNDR)) {
        uint8_t cap_len = pci_read8(d, pos + offsetof(struct virtio_pci_cap, cap_len));
        uint8_t type = pci_read8(d, pos + offsetof(struct virtio_pci_cap, cfg_type));
        uint8_t bar = pci_read8(d, pos + offsetof(struct virtio_pci_cap, bar));
        uint32_t off = pci_read32(d, pos + offsetof(struct virtio_pci_cap, offset));
        uint32_t len = pci_read32(d, pos + offsetof(struct virtio_pci_cap, length));

        if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG ||
            caps[type].addr || cap_len < sizeof(struct virtio_pci_cap) || bar >= PCI_STD_NUM_BARS)
            continue;
        uint32_t min_len = type == VIRTIO_PCI_CAP_COMMON_CFG ? VIRTIO_PCI_COMMON_CFG_MIN_LEN
                         : type == VIRTIO_PCI_CAP_NOTIFY_CFG ? sizeof(uint16_t)
                         : type == VIRTIO_PCI_CAP_ISR_CFG ? 1 : 0;
        if (len < min_len || (type == VIRTIO_PCI_CAP_NOTIFY_CFG &&
                              cap_len < sizeof(struct virtio_pci_notify_cap)))
            continue;
        if (len == 0)   /* an empty device config: as good as none */
            continue;
        const struct pci_bar *b = pci_bar_get(d, bar);
        if (!b || b->type == PCI_BAR_IO)
            continue;
        volatile void *p = pci_bar_map_range(d, bar, off, len);
        if (!p)
            continue;
        caps[type].addr = p;
        caps[type].len = len;
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
            caps[type].notify_off_multiplier =
                pci_read32(d, pos + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier));
        log_debug("virtio-pci: cap type %u at BAR%u+0x%x len 0x%x", type, bar, (unsigned)off,
                  (unsigned)len);
    }
}

int virtio_pci_init(struct virtio_pci_dev *vdev, struct pci_dev *pci, const char **reason)
{
    *vdev = (struct virtio_pci_dev){
        .pci = pci,
        .device_type = virtio_pci_device_type(pci->device_id, pci->subsystem_id),
        .config_vector = -1, .shared_vector = -1, .intx_vector = -1,
        .irq_mode = VIRTIO_PCI_IRQ_NONE,
    };
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++)
        vdev->vq[i] = (struct virtio_pci_queue){ .msix_entry = VIRTIO_MSI_NO_VECTOR, .vector = -1 };

    struct found_cap caps[VIRTIO_PCI_CAP_DEVICE_CFG + 1] = {0};
    find_caps(vdev, caps);
    if (!caps[VIRTIO_PCI_CAP_COMMON_CFG].addr) {
        *reason = "legacy-only virtio device (no modern capabilities)";
        return -1;
    }
    if (!caps[VIRTIO_PCI_CAP_NOTIFY_CFG].addr || !caps[VIRTIO_PCI_CAP_ISR_CFG].addr) {
        *reason = "virtio device lacks a notify or ISR capability";
        return -1;
    }
    vdev->common = caps[VIRTIO_PCI_CAP_COMMON_CFG].addr;
    vdev->common_len = caps[VIRTIO_PCI_CAP_COMMON_CFG].len;
    vdev->notify_base = caps[VIRTIO_PCI_CAP_NOTIFY_CFG].addr;
    vdev->notify_len = caps[VIRTIO_PCI_CAP_NOTIFY_CFG].len;
    vdev->notify_off_multiplier = caps[VIRTIO_PCI_CAP_NOTIFY_CFG].notify_off_multiplier;
    vdev->isr = caps[VIRTIO_PCI_CAP_ISR_CFG].addr;
    vdev->device_cfg = caps[VIRTIO_PCI_CAP_DEVICE_CFG].addr;
    vdev->device_cfg_len = caps[VIRTIO_PCI_CAP_DEVICE_CFG].len;

    vdev->has_msix = msix_init(&vdev->msix, pci) == 0;
    pci_enable_mem(pci);

    /* §3.1.1 steps 1-3. Bus mastering only once the device is reset, so
     * nothing firmware left running can DMA into memory we now own. */
    if (virtio_pci_reset(vdev) < 0) {
        *reason = "virtio device did not finish reset";
        return -1;
    }
    pci_set_master(pci);
    virtio_pci_add_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    virtio_pci_add_status(vdev, VIRTIO_CONFIG_S_DRIVER);
    log_info("virtio-pci: %02x:%02x.%x %04x:%04x type %u, %u queues, msix %u entries",
             pci->bus, pci->dev, pci->fn, pci->vendor_id, pci->device_id, vdev->device_type,
             virtio_pci_num_queues(vdev), vdev->has_msix ? vdev->msix.table_size : 0);
    return 0;
}

/* ---- status and features ---- */

uint8_t virtio_pci_get_status(struct virtio_pci_dev *vdev)
{
    return mmio_read8(COMMON(vdev, device_status));
}

void virtio_pci_add_status(struct virtio_pci_dev *vdev, uint8_t bits)
{
    mmio_write8(COMMON(vdev, device_status), (uint8_t)(virtio_pci_get_status(vdev) | bits));
}

int virtio_pci_reset(struct virtio_pci_dev *vdev)
{
    mmio_write8(COMMON(vdev, device_status), 0);
    /* §4.1.4.3.2: the device may take its time; it is reset once status
     * reads back 0, and only then may it be set up again. */
    for (unsigned waited = 0; virtio_pci_get_status(vdev) != 0; waited += RESET_POLL_US) {
        if (waited >= RESET_TIMEOUT_US) {
            log_error("virtio-pci: reset timed out (status 0x%02x)", virtio_pci_get_status(vdev));
            return -1;
        }
        clock_delay_us(RESET_POLL_US);
    }
    return 0;
}

uint64_t virtio_pci_get_features(struct virtio_pci_dev *vdev)
{
    mmio_write32(COMMON(vdev, device_feature_select), 0);
    uint64_t lo = mmio_read32(COMMON(vdev, device_feature));
    mmio_write32(COMMON(vdev, device_feature_select), 1);
    uint64_t hi = mmio_read32(COMMON(vdev, device_feature));
    return hi << 32 | lo;
}

void virtio_pci_set_features(struct virtio_pci_dev *vdev, uint64_t features)
{
    vdev->features = features;
    mmio_write32(COMMON(vdev, driver_feature_select), 0);
    mmio_write32(COMMON(vdev, driver_feature), (uint32_t)features);
    mmio_write32(COMMON(vdev, driver_feature_select), 1);
    mmio_write32(COMMON(vdev, driver_feature), (uint32_t)(features >> 32));
}

int virtio_pci_features_ok(struct virtio_pci_dev *vdev)
{
    virtio_pci_add_status(vdev, VIRTIO_CONFIG_S_FEATURES_OK);
    /* §3.1.1 step 6: the device clears FEATURES_OK if it cannot work with
     * the subset we wrote. */
    return (virtio_pci_get_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK) ? 0 : -1;
}

void virtio_pci_driver_ok(struct virtio_pci_dev *vdev)
{
    virtio_pci_add_status(vdev, VIRTIO_CONFIG_S_DRIVER_OK);
}

void virtio_pci_fail(struct virtio_pci_dev *vdev)
{
    virtio_pci_add_status(vdev, VIRTIO_CONFIG_S_FAILED);
}

/* ---- device config ---- */

static bool cfg_range_ok(const struct virtio_pci_dev *vdev, uint32_t off, uint32_t len)
{
    return vdev->device_cfg && len && off <= vdev->device_cfg_len &&
           len <= vdev->device_cfg_len - off;
}

static void cfg_copy_in(struct virtio_pci_dev *vdev, uint32_t off, uint8_t *buf, uint32_t len)
{
    volatile uint8_t *p = vdev->device_cfg + off;
    if (len == 1) {
        buf[0] = mmio_read8(p);
    } else if (len == 2 && !(off & 1)) {
        uint16_t v = mmio_read16(p);
        __builtin_memcpy(buf, &v, 2);
    } else if (len == 4 && !(off & 3)) {
        uint32_t v = mmio_read32(p);
        __builtin_memcpy(buf, &v, 4);
    } else if (len == 8 && !(off & 3)) {
        uint32_t v[2] = { mmio_read32(p), mmio_read32(p + 4) };
        __builtin_memcpy(buf, v, 8);
    } else {
        for (uint32_t i = 0; i < len; i++)
            buf[i] = mmio_read8(p + i);
    }
}

int virtio_pci_read_config(struct virtio_pci_dev *vdev, uint32_t off, void *buf, uint32_t len)
{
    if (!cfg_range_ok(vdev, off, len))
        return -1;
    for (unsigned tries = 0; tries < CONFIG_GEN_TRIES; tries++) {
        uint8_t gen = mmio_read8(COMMON(vdev, config_generation));
        cfg_copy_in(vdev, off, buf, len);
        if (mmio_read8(COMMON(vdev, config_generation)) == gen)
            return 0;
    }
    log_warn("virtio-pci: device config never stable (generation keeps changing)");
    return -1;
}

int virtio_pci_write_config(struct virtio_pci_dev *vdev, uint32_t off, const void *buf,
                            uint32_t len)
{
    if (!cfg_range_ok(vdev, off, len))
        return -1;
    volatile uint8_t *p = vdev->device_cfg + off;
    const uint8_t *b = buf;
    if (len == 2 && !(off & 1)) {
        uint16_t v;
        __builtin_memcpy(&v, b, 2);
        mmio_write16(p, v);
    } else if (len == 4 && !(off & 3)) {
        uint32_t v;
        __builtin_memcpy(&v, b, 4);
        mmio_write32(p, v);
    } else if (len == 8 && !(off & 3)) {
        uint32_t v[2];
        __builtin_memcpy(v, b, 8);
        mmio_write32(p, v[0]);
        mmio_write32(p + 4, v[1]);
    } else {
        for (uint32_t i = 0; i < len; i++)
            mmio_write8(p + i, b[i]);
    }
    return 0;
}

/* ---- queues ---- */

uint16_t virtio_pci_num_queues(struct virtio_pci_dev *vdev)
{
    return mmio_read16(COMMON(vdev, num_queues));
}

uint16_t virtio_pci_queue_max_size(struct virtio_pci_dev *vdev, uint16_t idx)
{
    if (idx >= virtio_pci_num_queues(vdev))
        return 0;
    mmio_write16(COMMON(vdev, queue_select), idx);
    return mmio_read16(COMMON(vdev, queue_size));
}

/* Writes a vector register and reads it back: the device answers
 * VIRTIO_MSI_NO_VECTOR when it could not take that entry (§4.1.5.1.2). */
static bool set_vector(volatile uint16_t *reg, uint16_t entry)
{
    mmio_write16(reg, entry);
    return mmio_read16(reg) == entry;
}

/* §4.1.5.1.3 steps 1-5 for one queue (not step 6, queue_enable). */
static int program_queue(struct virtio_pci_dev *vdev, uint16_t idx,
                         const struct virtio_pci_vq_info *info, uint16_t msix_entry,
                         const char **reason)
{
    mmio_write16(COMMON(vdev, queue_select), idx);
    mmio_write16(COMMON(vdev, queue_size), info->num);
    write_le64(COMMON(vdev, queue_desc), info->desc);
    write_le64(COMMON(vdev, queue_driver), info->driver);
    write_le64(COMMON(vdev, queue_device), info->device);
    if (!set_vector(COMMON(vdev, queue_msix_vector), msix_entry)) {
        *reason = "device refused a queue MSI-X vector";
        return -1;
    }
    uint64_t off = (uint64_t)mmio_read16(COMMON(vdev, queue_notify_off)) *
                   vdev->notify_off_multiplier;
    if (off + sizeof(uint16_t) > vdev->notify_len) {
        *reason = "queue notify address outside the notify capability";
        return -1;
    }
    struct virtio_pci_queue *q = &vdev->vq[idx];
    q->num = info->num;
    q->notify = (volatile uint16_t *)(vdev->notify_base + off);
    q->msix_entry = msix_entry;
    q->callback = info->callback;
    q->ctx = info->ctx;
    return 0;
}

/* Interrupt context: shared MSI-X vector for every queue. */
static void shared_vq_interrupt(void *ctx)
{
    struct virtio_pci_dev *vdev = ctx;
    for (unsigned i = 0; i < vdev->nvqs; i++)
        if (vdev->vq[i].callback)
            vdev->vq[i].callback(vdev->vq[i].ctx);
}

/* Interrupt context: INTx. Reading the ISR acknowledges and de-asserts the
 * line before the dispatcher's EOI; 0 means it was not us (shared line). */
static void intx_interrupt(void *ctx)
{
    struct virtio_pci_dev *vdev = ctx;
    uint8_t isr = mmio_read8(vdev->isr);
    if (!isr) {
        vdev->intx_spurious++;
        return;
    }
    if ((isr & VIRTIO_PCI_ISR_CONFIG) && vdev->config_cb)
        vdev->config_cb(vdev->config_ctx);
    if (isr & VIRTIO_PCI_ISR_QUEUE)
        shared_vq_interrupt(vdev);
}

/* Undoes a failed or finished attempt: vectors back to NO_VECTOR, IDT
 * vectors freed, MSI-X off. Queues are never enabled before success. */
static void release_irqs(struct virtio_pci_dev *vdev, unsigned nvqs)
{
    mmio_write16(COMMON(vdev, config_msix_vector), VIRTIO_MSI_NO_VECTOR);
    for (unsigned i = 0; i < nvqs; i++) {
        mmio_write16(COMMON(vdev, queue_select), (uint16_t)i);
        mmio_write16(COMMON(vdev, queue_msix_vector), VIRTIO_MSI_NO_VECTOR);
        if (vdev->vq[i].vector >= 0)
            irq_free_vector(vdev->vq[i].vector);
        vdev->vq[i].vector = -1;
        vdev->vq[i].msix_entry = VIRTIO_MSI_NO_VECTOR;
    }
    if (vdev->config_vector >= 0)
        irq_free_vector(vdev->config_vector);
    if (vdev->shared_vector >= 0)
        irq_free_vector(vdev->shared_vector);
    if (vdev->intx_vector >= 0)
        pci_intx_free(vdev->pci, intx_interrupt, vdev);
    vdev->config_vector = vdev->shared_vector = vdev->intx_vector = -1;
    if (vdev->has_msix)
        msix_disable(&vdev->msix);
    vdev->irq_ready = false;
}

/* Allocates an IDT vector and points MSI-X entry `entry` at it (masked). */
static int msix_vector(struct virtio_pci_dev *vdev, unsigned entry, irq_handler_t fn, void *ctx)
{
    int v = irq_alloc_vector(fn, ctx);
    if (v < 0)
        return -1;
    if (msix_set_vector(&vdev->msix, entry, v) < 0) {
        irq_free_vector(v);
        return -1;
    }
    return v;
}

static int try_msix(struct virtio_pci_dev *vdev, bool per_vq, unsigned nvqs,
                    const struct virtio_pci_vq_info *vqs, const char **reason)
{
    /* Entries needed: up to the last one this layout uses. */
    unsigned last_cb = 0;   /* 1 + index of the last queue with a callback */
    for (unsigned i = 0; i < nvqs; i++)
        if (vqs[i].callback)
            last_cb = i + 1;
    bool any_cb = last_cb != 0;
    unsigned need = per_vq ? VIRTIO_PCI_MSIX_QUEUE_BASE + last_cb
                  : any_cb ? VIRTIO_PCI_MSIX_SHARED + 1 : VIRTIO_PCI_MSIX_CONFIG + 1;
    if (!vdev->has_msix) {
        *reason = "no MSI-X capability";
        return -1;
    }
    if (vdev->msix.table_size < need) {
        *reason = "too few MSI-X entries";
        return -1;
    }

    msix_enable(&vdev->msix);
    if (vdev->config_cb) {
        vdev->config_vector = msix_vector(vdev, VIRTIO_PCI_MSIX_CONFIG, vdev->config_cb,
                                          vdev->config_ctx);
        if (vdev->config_vector < 0)
            goto no_vectors;
    }
    if (!per_vq && any_cb) {
        vdev->shared_vector = msix_vector(vdev, VIRTIO_PCI_MSIX_SHARED, shared_vq_interrupt, vdev);
        if (vdev->shared_vector < 0)
            goto no_vectors;
    }
    for (unsigned i = 0; per_vq && i < nvqs; i++) {
        if (!vqs[i].callback)
            continue;
        vdev->vq[i].vector = msix_vector(vdev, VIRTIO_PCI_MSIX_QUEUE_BASE + i, vqs[i].callback,
                                         vqs[i].ctx);
        if (vdev->vq[i].vector < 0)
            goto no_vectors;
    }

    /* Device side: config vector, then each queue's (§4.1.5.1.2). */
    if (vdev->config_cb &&
        !set_vector(COMMON(vdev, config_msix_vector), VIRTIO_PCI_MSIX_CONFIG)) {
        *reason = "device refused the config MSI-X vector";
        return -1;
    }
    for (unsigned i = 0; i < nvqs; i++) {
        uint16_t entry = !vqs[i].callback ? VIRTIO_MSI_NO_VECTOR
                       : per_vq ? (uint16_t)(VIRTIO_PCI_MSIX_QUEUE_BASE + i)
                       : (uint16_t)VIRTIO_PCI_MSIX_SHARED;
        if (program_queue(vdev, (uint16_t)i, &vqs[i], entry, reason) < 0)
            return -1;
    }

    /* Only entries we programmed: the others may hold firmware's leftovers. */
    if (vdev->config_vector >= 0)
        msix_unmask(&vdev->msix, VIRTIO_PCI_MSIX_CONFIG);
    if (vdev->shared_vector >= 0)
        msix_unmask(&vdev->msix, VIRTIO_PCI_MSIX_SHARED);
    for (unsigned i = 0; per_vq && i < nvqs; i++)
        if (vdev->vq[i].vector >= 0)
            msix_unmask(&vdev->msix, VIRTIO_PCI_MSIX_QUEUE_BASE + i);
    return 0;

no_vectors:
    *reason = "out of IDT vectors";
    return -1;
}

static int try_intx(struct virtio_pci_dev *vdev, unsigned nvqs,
                    const struct virtio_pci_vq_info *vqs, const char **reason)
{
    if (vdev->has_msix)
        msix_disable(&vdev->msix);   /* the device signals INTx only with MSI-X off */
    for (unsigned i = 0; i < nvqs; i++)
        if (program_queue(vdev, (uint16_t)i, &vqs[i], VIRTIO_MSI_NO_VECTOR, reason) < 0)
            return -1;
    vdev->intx_vector = pci_intx_request(vdev->pci, intx_interrupt, vdev, &vdev->intx);
    if (vdev->intx_vector < 0) {
        *reason = "no INTx route or vector";
        return -1;
    }
    return 0;
}

static int try_none(struct virtio_pci_dev *vdev, unsigned nvqs,
                    const struct virtio_pci_vq_info *vqs, const char **reason)
{
    if (vdev->has_msix)
        msix_disable(&vdev->msix);
    pci_intx_enable(vdev->pci, false);
    for (unsigned i = 0; i < nvqs; i++)
        if (program_queue(vdev, (uint16_t)i, &vqs[i], VIRTIO_MSI_NO_VECTOR, reason) < 0)
            return -1;
    return 0;
}

static void log_mode(struct virtio_pci_dev *vdev)
{
    switch (vdev->irq_mode) {
    case VIRTIO_PCI_IRQ_MSIX_PER_VQ: {
        char qs[VIRTIO_PCI_MAX_QUEUES * 12 + 1];
        size_t n = 0;
        qs[0] = '\0';
        for (unsigned i = 0; i < vdev->nvqs; i++) {
            int w = snprintf(qs + n, sizeof qs - n, " q%u=%d", i, vdev->vq[i].vector);
            if (w < 0 || (size_t)w >= sizeof qs - n)
                break;
            n += (size_t)w;
        }
        log_info("virtio-pci: msix per-queue vectors: config=%d%s", vdev->config_vector, qs);
        break;
    }
    case VIRTIO_PCI_IRQ_MSIX_SHARED:
        log_info("virtio-pci: msix shared vectors: config=%d queues=%d", vdev->config_vector,
                 vdev->shared_vector);
        break;
    case VIRTIO_PCI_IRQ_INTX:
        log_info("virtio-pci: intx gsi %u vector %d (%s-triggered, active-%s)",
                 (unsigned)vdev->intx.gsi, vdev->intx_vector, vdev->intx.level ? "level" : "edge",
                 vdev->intx.active_low ? "low" : "high");
        break;
    case VIRTIO_PCI_IRQ_NONE:
        log_info("virtio-pci: no interrupts (polling)");
        break;
    }
}

int virtio_pci_setup_queues(struct virtio_pci_dev *vdev, unsigned nvqs,
                            const struct virtio_pci_vq_info *vqs, irq_handler_t config_cb,
                            void *config_ctx, enum virtio_pci_irq_mode first_mode,
                            const char **reason)
{
    if (nvqs == 0 || nvqs > VIRTIO_PCI_MAX_QUEUES || nvqs > virtio_pci_num_queues(vdev)) {
        *reason = "device has fewer queues than the driver needs";
        return -1;
    }
    for (unsigned i = 0; i < nvqs; i++) {
        uint16_t max = virtio_pci_queue_max_size(vdev, (uint16_t)i);
        uint16_t num = vqs[i].num;
        if (max == 0) {
            *reason = "device queue is absent (queue_size 0)";
            return -1;
        }
        if (num == 0 || num > max || (num & (num - 1))) {
            *reason = "ring size not a power of 2 within the device's queue_size";
            return -1;
        }
        if (mmio_read16(COMMON(vdev, queue_enable))) {
            *reason = "queue already enabled (device not reset?)";
            return -1;
        }
    }

    vdev->config_cb = config_cb;
    vdev->config_ctx = config_ctx;
    vdev->nvqs = nvqs;
    const char *why = "no interrupt mode worked";
    for (enum virtio_pci_irq_mode m = first_mode; m <= VIRTIO_PCI_IRQ_NONE; m++) {
        int rc;
        switch (m) {
        case VIRTIO_PCI_IRQ_MSIX_PER_VQ: rc = try_msix(vdev, true, nvqs, vqs, &why); break;
        case VIRTIO_PCI_IRQ_MSIX_SHARED: rc = try_msix(vdev, false, nvqs, vqs, &why); break;
        case VIRTIO_PCI_IRQ_INTX:        rc = try_intx(vdev, nvqs, vqs, &why); break;
        default:                         rc = try_none(vdev, nvqs, vqs, &why); break;
        }
        if (rc == 0) {
            vdev->irq_mode = m;
            break;
        }
        log_info("virtio-pci: %s interrupts unavailable: %s", virtio_pci_irq_mode_name(m), why);
        release_irqs(vdev, nvqs);
        /* Polling is a choice, never a fallback: a driver in napi or irq mode
         * would wait for interrupts that never come. */
        if (m >= VIRTIO_PCI_IRQ_INTX) {
            *reason = why;
            return -1;
        }
    }

    /* §4.1.5.1.3 step 6, only once every vector stuck. */
    for (unsigned i = 0; i < nvqs; i++) {
        mmio_write16(COMMON(vdev, queue_select), (uint16_t)i);
        mmio_write16(COMMON(vdev, queue_enable), 1);
    }
    if (vdev->irq_mode <= VIRTIO_PCI_IRQ_MSIX_SHARED)
        msix_function_unmask(&vdev->msix);
    vdev->irq_ready = true;
    log_mode(vdev);
    return 0;
}

const char *virtio_pci_irq_mode_name(enum virtio_pci_irq_mode mode)
{
    switch (mode) {
    case VIRTIO_PCI_IRQ_MSIX_PER_VQ: return "msix per-queue";
    case VIRTIO_PCI_IRQ_MSIX_SHARED: return "msix shared";
    case VIRTIO_PCI_IRQ_INTX:        return "intx";
    case VIRTIO_PCI_IRQ_NONE:        return "none";
    }
    return "?";
}

void virtio_pci_notify(struct virtio_pci_dev *vdev, uint16_t idx)
{
    /* Without VIRTIO_F_NOTIFICATION_DATA the doorbell value is the queue
     * index (§4.1.5.2). The caller's ring code has already issued the barrier
     * that orders its avail->idx store before this MMIO write. */
    mmio_write16(vdev->vq[idx].notify, idx);
}

int virtio_pci_queue_irq_mask(struct virtio_pci_dev *vdev, uint16_t idx, bool masked)
{
    if (vdev->irq_mode != VIRTIO_PCI_IRQ_MSIX_PER_VQ || idx >= vdev->nvqs ||
        vdev->vq[idx].msix_entry == VIRTIO_MSI_NO_VECTOR)
        return -1;
    if (masked)
        msix_mask(&vdev->msix, vdev->vq[idx].msix_entry);
    else
        msix_unmask(&vdev->msix, vdev->vq[idx].msix_entry);
    return 0;
}

uint8_t virtio_pci_isr_read(struct virtio_pci_dev *vdev)
{
    if (vdev->irq_ready && vdev->irq_mode <= VIRTIO_PCI_IRQ_MSIX_SHARED)
        panic("virtio-pci: ISR read with MSI-X enabled");
    return mmio_read8(vdev->isr);
}

void virtio_pci_teardown(struct virtio_pci_dev *vdev)
{
    if (!vdev->common)
        return;
    /* Reset first: the device stops DMA and interrupts before vectors go. */
    virtio_pci_reset(vdev);
    release_irqs(vdev, vdev->nvqs);
    vdev->nvqs = 0;
}
