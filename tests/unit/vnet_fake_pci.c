/* See vnet_fake_pci.h. */
#include "tests/unit/vnet_fake_pci.h"

#include <string.h>

#include "kernel/log.h"
#include "kernel/timer.h"
#include "tests/unit/test_support.h"

struct fake_pci fake_pci;

struct pci_dev *virtio_pci_find(unsigned device_type, struct pci_dev *from)
{
    static char fake;
    (void)device_type;
    return from ? NULL : (struct pci_dev *)(void *)&fake;
}
int virtio_pci_init(struct virtio_pci_dev *vdev, struct pci_dev *pci, const char **reason)
{
    (void)vdev, (void)pci, (void)reason;
    return 0;
}
uint64_t virtio_pci_get_features(struct virtio_pci_dev *vdev) { (void)vdev; return fake_pci.offered; }
void virtio_pci_set_features(struct virtio_pci_dev *vdev, uint64_t f) { vdev->features = f; }
int virtio_pci_features_ok(struct virtio_pci_dev *vdev)
{
    (void)vdev;
    return fake_pci.features_ok_fails ? -1 : 0;
}
void virtio_pci_driver_ok(struct virtio_pci_dev *vdev) { (void)vdev; }
void virtio_pci_fail(struct virtio_pci_dev *vdev) { (void)vdev; }
void virtio_pci_teardown(struct virtio_pci_dev *vdev) { (void)vdev; }
int virtio_pci_read_config(struct virtio_pci_dev *vdev, uint32_t off, void *buf, uint32_t len)
{
    (void)vdev;
    if (off > sizeof(fake_pci.config) || len > sizeof(fake_pci.config) - off)
        return -1;
    memcpy(buf, fake_pci.config + off, len);
    return 0;
}
uint16_t virtio_pci_queue_max_size(struct virtio_pci_dev *vdev, uint16_t idx)
{
    (void)vdev;
    return idx < FAKE_PCI_MAX_QUEUES ? fake_pci.queue_max[idx] : 0;
}
const char *virtio_pci_irq_mode_name(enum virtio_pci_irq_mode mode) { (void)mode; return "msix"; }
void virtio_pci_notify(struct virtio_pci_dev *vdev, uint16_t idx)
{
    (void)vdev;
    if (idx < FAKE_PCI_MAX_QUEUES) {
        fake_pci.notifies[idx]++;
        if (fake_pci.on_notify)
            fake_pci.on_notify(idx);
    }
}
int virtio_pci_setup_queues(struct virtio_pci_dev *vdev, unsigned nvqs,
                            const struct virtio_pci_vq_info *vqs, irq_handler_t config_cb,
                            void *config_ctx, enum virtio_pci_irq_mode first_mode,
                            const char **reason)
{
    if (nvqs > FAKE_PCI_MAX_QUEUES) {
        *reason = "fake transport: too many queues";
        return -1;
    }
    fake_pci.nq = nvqs;
    memcpy(fake_pci.q, vqs, nvqs * sizeof(*vqs));
    fake_pci.config_cb = config_cb;
    fake_pci.config_ctx = config_ctx;
    vdev->irq_mode = first_mode;
    for (unsigned i = 0; i < nvqs; i++) {
        vdev->vq[i].callback = vqs[i].callback;
        vdev->vq[i].vector = vqs[i].callback ? 0x40 + (int)i : -1;
    }
    return 0;
}

void fake_pci_irq(unsigned q)
{
    if (q >= fake_pci.nq || !fake_pci.q[q].callback)
        return;
    bool was = test_irq_enabled();
    test_irq_set(false);
    fake_pci.q[q].callback(fake_pci.q[q].ctx);
    test_irq_set(was);
}

void fake_pci_config_irq(void)
{
    if (!fake_pci.config_cb)
        return;
    bool was = test_irq_enabled();
    test_irq_set(false);
    fake_pci.config_cb(fake_pci.config_ctx);
    test_irq_set(was);
}

void klog(enum log_level level, const char *fmt, ...)
{
    (void)fmt;
    if (level == LOG_ERROR)
        fake_pci.errors_logged++;
    else if (level == LOG_WARN)
        fake_pci.warnings_logged++;
}
void ktimer_arm(struct ktimer *t, uint64_t delay_ns, void (*fn)(void *ctx), void *ctx)
{
    t->deadline_ns = delay_ns;
    t->fn = fn;
    t->ctx = ctx;
    t->armed = true;
    fake_pci.timers_armed++;
}
void ktimer_cancel(struct ktimer *t) { t->armed = false; }
void lapic_self_ipi(int vector) { (void)vector; }
