/* A stand-in for the virtio PCI transport (drivers/virtio/virtio_pci.h), so
 * the real drivers/net/virtio_net.c can be probed on the host: features,
 * config space and queue sizes come from the test (or fuzzer); the real
 * virtio_pci_vqs.c creates the rings and calls setup_queues here, which
 * records each queue's interrupt callback, which the test calls to deliver
 * an interrupt. Also the kernel services virtio_net*.c need that
 * test_support.c does not provide (klog, ktimer, lapic_self_ipi). */
#ifndef TESTS_UNIT_VNET_FAKE_PCI_H
#define TESTS_UNIT_VNET_FAKE_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtio/virtio_pci.h"

#define FAKE_PCI_MAX_QUEUES 8

struct fake_pci {
    uint64_t offered;                 /* device features */
    uint8_t config[64];               /* device config space (struct virtio_net_config) */
    uint16_t queue_max[FAKE_PCI_MAX_QUEUES]; /* per queue; 0 = no such queue */
    bool features_ok_fails;
    /* recorded */
    unsigned nq;
    struct virtio_pci_vq_info q[FAKE_PCI_MAX_QUEUES];
    irq_handler_t config_cb;
    void *config_ctx;
    unsigned long notifies[FAKE_PCI_MAX_QUEUES];
    unsigned errors_logged, warnings_logged;
    unsigned timers_armed;
    void (*on_notify)(unsigned q);    /* optional: the device reacting to a kick */
};
extern struct fake_pci fake_pci;

/* Deliver queue q's (or the config) interrupt: callback run with IF clear. */
void fake_pci_irq(unsigned q);
void fake_pci_config_irq(void);

#endif
