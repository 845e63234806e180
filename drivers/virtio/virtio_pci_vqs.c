/* Virtqueue creation for the virtio PCI transport (virtio_pci_find_vqs,
 * see virtio_pci.h), Linux vp_find_vqs' job: rings sized from the driver's
 * wish and the device's queue_size, the doorbell wired in, the interrupt
 * facts handed back. Boot/main loop only. */
#include "drivers/virtio/virtio_pci.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/log.h"

/* The virtqueue's notify callback (main loop, after its barrier). */
static void vp_notify(struct virtqueue *vq)
{
    virtio_pci_notify(vq_notify_ctx(vq), vq_index(vq));
}

static int queue_vector(const struct virtio_pci_dev *vdev, unsigned idx)
{
    if (!vdev->vq[idx].callback)
        return -1;
    switch (vdev->irq_mode) {
    case VIRTIO_PCI_IRQ_MSIX_PER_VQ: return vdev->vq[idx].vector;
    case VIRTIO_PCI_IRQ_MSIX_SHARED: return vdev->shared_vector;
    default:                         return -1;
    }
}

int virtio_pci_find_vqs(struct virtio_pci_dev *vdev, unsigned nvqs,
                        const struct virtio_vq_spec *specs, irq_handler_t config_cb,
                        void *config_ctx, enum virtio_pci_irq_mode first_mode,
                        const char **reason)
{
    if (nvqs == 0 || nvqs > VIRTIO_PCI_MAX_QUEUES) {
        *reason = "device has fewer queues than the driver needs";
        return -1;
    }
    bool event_idx = (vdev->features >> VIRTIO_F_EVENT_IDX) & 1;
    bool indirect = (vdev->features >> VIRTIO_F_INDIRECT_DESC) & 1;
    struct virtio_pci_vq_info info[VIRTIO_PCI_MAX_QUEUES];
    for (unsigned i = 0; i < nvqs; i++)
        *specs[i].vq = NULL;
    for (unsigned i = 0; i < nvqs; i++) {
        const struct virtio_vq_spec *s = &specs[i];
        uint16_t max = virtio_pci_queue_max_size(vdev, (uint16_t)i);
        if (max == 0) {
            *reason = "device has no queue it should have";
            return -1;
        }
        unsigned num = max < s->size ? max : s->size;
        struct virtqueue *vq = vq_create((uint16_t)i, num, event_idx, indirect && !s->no_indirect,
                                         vp_notify, vdev);
        if (!vq) {
            *reason = "out of memory for the rings";
            return -1;
        }
        vdev->vq[i].vq = vq;
        *s->vq = vq;
        info[i] = (struct virtio_pci_vq_info){
            .num = (uint16_t)num, .desc = vq_desc_addr(vq), .driver = vq_avail_addr(vq),
            .device = vq_used_addr(vq), .callback = s->callback, .ctx = s->ctx,
        };
        log_debug("virtio-pci: queue %u (%s) %u entries", i, s->name, num);
    }
    if (virtio_pci_setup_queues(vdev, nvqs, info, config_cb, config_ctx, first_mode, reason) != 0)
        return -1;
    for (unsigned i = 0; i < nvqs; i++)
        if (specs[i].vector)
            *specs[i].vector = queue_vector(vdev, i);
    return 0;
}

void virtio_pci_del_vqs(struct virtio_pci_dev *vdev)
{
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
        vq_destroy(vdev->vq[i].vq);
        vdev->vq[i].vq = NULL;
    }
}
