/* Host tests for the virtio PCI transport (drivers/virtio/virtio_pci*.c):
 * capabilities, status and features, the interrupt modes and their
 * fallbacks, queue registration and creation, on the simulated machine of
 * pci_sim.h. */
#include "tests/unit/pci_sim.h"

#include <stdlib.h>

#include "drivers/pci/msix.h"
#include "drivers/virtio/virtio_pci.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "drivers/virtio/virtqueue.h"
#include "tests/unit/test_support.h"

/* ------------------------------------------------------------------ */
/* Virtio PCI transport                                                 */
/* ------------------------------------------------------------------ */

static int cb_hits[3], cfg_hits;
static void q_cb(void *ctx) { (*(int *)ctx)++; }
static void cfg_cb(void *ctx) { (*(int *)ctx)++; }

static struct virtio_pci_vq_info vq_info[2];
static void fill_vqs(void)
{
    cb_hits[0] = cb_hits[1] = cfg_hits = 0;
    for (int i = 0; i < 2; i++)
        vq_info[i] = (struct virtio_pci_vq_info){
            .num = 128, .desc = 0x100000u * (i + 1), .driver = 0x100000u * (i + 1) + 0x800,
            .device = 0x100000u * (i + 1) + 0x1000, .callback = q_cb, .ctx = &cb_hits[i],
        };
}

static struct virtio_pci_common_cfg *common(void)
{
    return (void *)(vbar + OFF_COMMON);
}

static void test_virtio_device_type_rules(void **state)
{
    (void)state;
    assert_int_equal(virtio_pci_device_type(0x1041, 0), VIRTIO_ID_NET);     /* modern */
    assert_int_equal(virtio_pci_device_type(0x1000, 1), VIRTIO_ID_NET);     /* transitional */
    assert_int_equal(virtio_pci_device_type(0x1001, 2), VIRTIO_ID_BLOCK);
    assert_int_equal(virtio_pci_device_type(0x1042, 1), VIRTIO_ID_BLOCK);   /* subsystem ignored */
    assert_int_equal(virtio_pci_device_type(0x1100, 1), 0);
}

static void test_virtio_refuses_legacy_only(void **state)
{
    (void)state;
    struct pci_dev *d = virtio_machine(0x1000, 3, false);   /* disable-modern=on */
    assert_ptr_equal(virtio_pci_find(VIRTIO_ID_NET, NULL), d);
    struct virtio_pci_dev vdev;
    const char *why = NULL;
    assert_int_equal(virtio_pci_init(&vdev, d, &why), -1);
    assert_string_equal(why, "legacy-only virtio device (no modern capabilities)");
    free_vbar();
}

static void test_virtio_init_maps_first_caps(void **state)
{
    (void)state;
    struct pci_dev *d = virtio_machine(0x1000, 3, true);     /* transitional */
    common()->device_status = 0x0f;                          /* left over from firmware */
    struct virtio_pci_dev vdev;
    const char *why = NULL;
    assert_int_equal(virtio_pci_init(&vdev, d, &why), 0);
    assert_ptr_equal(vdev.common, vbar + OFF_COMMON);        /* the first common cap */
    assert_ptr_equal(vdev.notify_base, vbar + OFF_NOTIFY);   /* memory one, not the I/O one */
    assert_ptr_equal(vdev.isr, vbar + OFF_ISR);
    assert_ptr_equal(vdev.device_cfg, vbar + OFF_DEVCFG);
    assert_int_equal(vdev.notify_off_multiplier, NOTIFY_MULT);
    assert_int_equal(vdev.device_type, VIRTIO_ID_NET);
    assert_true(vdev.has_msix);
    /* reset, then ACKNOWLEDGE | DRIVER */
    assert_int_equal(common()->device_status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    assert_true(pci_read16(d, PCI_COMMAND) & PCI_COMMAND_MASTER);
    assert_true(pci_read16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY);

    uint8_t mac[6];
    assert_int_equal(virtio_pci_read_config(&vdev, 0, mac, 6), 0);
    assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56", 6);
    assert_int_equal(virtio_pci_read_config(&vdev, 0xffe, mac, 6), -1);

    virtio_pci_set_features(&vdev, 0x100000020ull);
    assert_int_equal(common()->driver_feature_select, 1);
    assert_int_equal(common()->driver_feature, 1);      /* the high word went last */
    assert_int_equal(virtio_pci_get_features(&vdev), 0x100000001ull);
    assert_int_equal(virtio_pci_features_ok(&vdev), 0);
    virtio_pci_teardown(&vdev);
    assert_int_equal(common()->device_status, 0);
    free_vbar();
}

static void start(struct virtio_pci_dev *vdev, struct pci_dev *d)
{
    const char *why = NULL;
    assert_int_equal(virtio_pci_init(vdev, d, &why), 0);
    assert_int_equal(virtio_pci_features_ok(vdev), 0);
    fill_vqs();
}

static void test_virtio_msix_per_queue(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    const char *why = NULL;
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, cfg_cb, &cfg_hits,
                                             VIRTIO_PCI_IRQ_MSIX_PER_VQ, &why), 0);
    assert_int_equal(vdev.irq_mode, VIRTIO_PCI_IRQ_MSIX_PER_VQ);
    assert_non_null(strstr(log_text, "virtio-pci: msix per-queue vectors: config=48 q0=49 q1=50\n"));
    /* last queue programmed is queue 1: its registers hold its values */
    assert_int_equal(common()->queue_select, 1);
    assert_int_equal(common()->queue_msix_vector, VIRTIO_PCI_MSIX_QUEUE_BASE + 1);
    assert_int_equal(common()->config_msix_vector, VIRTIO_PCI_MSIX_CONFIG);
    assert_int_equal(common()->queue_size, 128);
    assert_int_equal(common()->queue_desc, 0x200000u);
    assert_int_equal(common()->queue_driver, 0x200800u);
    assert_int_equal(common()->queue_device, 0x201000u);
    assert_int_equal(common()->queue_enable, 1);
    /* entries: 0 config, 1 + i queue i, each pointing at its vector, unmasked */
    struct pci_msix_entry *t = (void *)(vbar + OFF_TABLE);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(t[i].msg_addr_lo, 0xfee00000u);
        assert_int_equal(t[i].msg_data, 48 + i);
        assert_int_equal(t[i].vector_ctrl, 0);
    }
    assert_int_equal(t[3].vector_ctrl, 1);   /* unused entry stays masked */
    uint16_t ctl = pci_read16(vdev.pci, (uint16_t)(vdev.msix.cap + PCI_MSIX_FLAGS));
    assert_int_equal(ctl & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL), PCI_MSIX_FLAGS_ENABLE);

    /* handlers are the callers' own, straight from the IDT */
    fire(49);
    fire(50);
    fire(50);
    fire(48);
    assert_int_equal(cb_hits[0], 1);
    assert_int_equal(cb_hits[1], 2);
    assert_int_equal(cfg_hits, 1);

    /* doorbell: notify base + queue_notify_off * multiplier, value = index */
    assert_ptr_equal(virtio_pci_notify_addr(&vdev, 1), vbar + OFF_NOTIFY + 3 * NOTIFY_MULT);
    virtio_pci_notify(&vdev, 1);
    assert_int_equal(get16(vbar + OFF_NOTIFY + 3 * NOTIFY_MULT), 1);

    assert_int_equal(virtio_pci_queue_irq_mask(&vdev, 1, true), 0);
    assert_int_equal(t[2].vector_ctrl, 1);
    assert_int_equal(t[1].vector_ctrl, 0);
    assert_int_equal(virtio_pci_queue_irq_mask(&vdev, 1, false), 0);
    assert_int_equal(t[2].vector_ctrl, 0);

    /* the ISR must never be read under MSI-X */
    jmp_buf jb;
    panic_jmp = &jb;
    if (setjmp(jb) == 0) {
        virtio_pci_isr_read(&vdev);
        fail_msg("ISR read under MSI-X did not panic");
    }
    panic_jmp = NULL;

    virtio_pci_teardown(&vdev);
    ctl = pci_read16(vdev.pci, (uint16_t)(vdev.msix.cap + PCI_MSIX_FLAGS));
    assert_int_equal(ctl & PCI_MSIX_FLAGS_ENABLE, 0);
    free_vbar();
}

static void test_virtio_falls_back_to_shared_when_vectors_run_out(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    vector_limit = 2;   /* per-queue needs 3 */
    const char *why = NULL;
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, cfg_cb, &cfg_hits,
                                             VIRTIO_PCI_IRQ_MSIX_PER_VQ, &why), 0);
    assert_int_equal(vdev.irq_mode, VIRTIO_PCI_IRQ_MSIX_SHARED);
    assert_non_null(strstr(log_text, "msix per-queue interrupts unavailable: out of IDT vectors"));
    assert_non_null(strstr(log_text, "virtio-pci: msix shared vectors: config=48 queues=49\n"));
    assert_int_equal(common()->queue_msix_vector, VIRTIO_PCI_MSIX_SHARED);
    /* the shared vector runs every queue's callback */
    fire(49);
    assert_int_equal(cb_hits[0], 1);
    assert_int_equal(cb_hits[1], 1);
    assert_int_equal(cfg_hits, 0);
    assert_int_equal(virtio_pci_queue_irq_mask(&vdev, 0, true), -1);  /* would mask both */
    virtio_pci_teardown(&vdev);
    free_vbar();
}

static void test_virtio_falls_back_to_intx(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 1, true));  /* one entry: neither MSI-X mode fits */
    const char *why = NULL;
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, cfg_cb, &cfg_hits,
                                             VIRTIO_PCI_IRQ_MSIX_PER_VQ, &why), 0);
    assert_int_equal(vdev.irq_mode, VIRTIO_PCI_IRQ_INTX);
    assert_int_equal(vdev.intx.gsi, 22);    /* q35 slot 2 INTA -> PIRQG */
    assert_non_null(strstr(log_text, "virtio-pci: intx gsi 22 vector 48"));
    assert_true(ioapic[22].routed && !ioapic[22].masked && ioapic[22].level);
    assert_false(pci_read16(vdev.pci, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(common()->queue_msix_vector, VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(common()->config_msix_vector, VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(common()->queue_enable, 1);

    vbar[OFF_ISR] = VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG;
    fire(48);
    assert_int_equal(cb_hits[0], 1);
    assert_int_equal(cb_hits[1], 1);
    assert_int_equal(cfg_hits, 1);
    vbar[OFF_ISR] = VIRTIO_PCI_ISR_CONFIG;
    fire(48);
    assert_int_equal(cb_hits[0], 1);
    assert_int_equal(cfg_hits, 2);
    vbar[OFF_ISR] = 0;
    fire(48);
    assert_int_equal(vdev.intx_spurious, 1);
    assert_int_equal(virtio_pci_isr_read(&vdev), 0);    /* allowed under INTx */

    virtio_pci_teardown(&vdev);
    assert_true(ioapic[22].masked);
    free_vbar();
}

static void test_virtio_no_msix_cap_goes_to_intx(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 0, true));  /* vectors=0 */
    assert_false(vdev.has_msix);
    const char *why = NULL;
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, NULL, NULL,
                                             VIRTIO_PCI_IRQ_MSIX_PER_VQ, &why), 0);
    assert_int_equal(vdev.irq_mode, VIRTIO_PCI_IRQ_INTX);
    virtio_pci_teardown(&vdev);
    free_vbar();
}

static void test_virtio_fails_cleanly_without_vectors(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    vector_limit = 0;
    const char *why = NULL;
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, cfg_cb, &cfg_hits,
                                             VIRTIO_PCI_IRQ_MSIX_PER_VQ, &why), -1);
    assert_non_null(why);
    assert_int_equal(common()->queue_enable, 0);            /* nothing half-enabled */
    assert_false(ioapic[22].routed && !ioapic[22].masked);
    virtio_pci_teardown(&vdev);
    free_vbar();
}

static void test_virtio_polling_and_bad_queue_sizes(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    const char *why = NULL;
    vq_info[1].num = 512;   /* above the device's 256 */
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, NULL, NULL,
                                             VIRTIO_PCI_IRQ_NONE, &why), -1);
    vq_info[1].num = 96;    /* not a power of 2 */
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, NULL, NULL,
                                             VIRTIO_PCI_IRQ_NONE, &why), -1);
    assert_int_equal(virtio_pci_setup_queues(&vdev, 4, vq_info, NULL, NULL,
                                             VIRTIO_PCI_IRQ_NONE, &why), -1);  /* only 3 queues */
    vq_info[1].num = 64;
    assert_int_equal(virtio_pci_setup_queues(&vdev, 2, vq_info, NULL, NULL,
                                             VIRTIO_PCI_IRQ_NONE, &why), 0);
    assert_int_equal(vdev.irq_mode, VIRTIO_PCI_IRQ_NONE);
    assert_true(pci_read16(vdev.pci, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(common()->queue_size, 64);
    virtio_pci_driver_ok(&vdev);
    assert_true(common()->device_status & VIRTIO_CONFIG_S_DRIVER_OK);
    virtio_pci_teardown(&vdev);
    free_vbar();
}

/* Reset, then the rings go: nothing left allocated. */
static void finish_vqs(struct virtio_pci_dev *vdev)
{
    virtio_pci_teardown(vdev);
    virtio_pci_del_vqs(vdev);
    assert_int_equal(test_dma_outstanding(), 0);
    free_vbar();
}

/* find_vqs: rings sized from the wish and the device's queue_size, features
 * as negotiated, doorbell wired, vectors handed back per mode. */
static void find_three_queues(struct virtio_pci_dev *vdev, struct virtqueue *vq[3], int vec[3])
{
    const struct virtio_vq_spec spec[3] = {
        { .name = "rx", .callback = q_cb, .ctx = &cb_hits[0], .size = 1024, .vq = &vq[0],
          .vector = &vec[0] },
        { .name = "tx", .callback = q_cb, .ctx = &cb_hits[1], .size = 64, .vq = &vq[1],
          .vector = &vec[1] },
        { .name = "ctrl", .size = 64, .no_indirect = true, .vq = &vq[2], .vector = &vec[2] },
    };
    const char *why = NULL;
    assert_int_equal(virtio_pci_find_vqs(vdev, 3, spec, cfg_cb, &cfg_hits,
                                         VIRTIO_PCI_IRQ_MSIX_PER_VQ, &why), 0);
}

static void test_virtio_find_vqs_creates_and_wires(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    virtio_pci_set_features(&vdev, (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_VERSION_1));
    struct virtqueue *vq[3];
    int vec[3];
    find_three_queues(&vdev, vq, vec);
    assert_int_equal(vq_num(vq[0]), 256);      /* the device's limit */
    assert_int_equal(vq_num(vq[1]), 64);       /* the wish */
    assert_int_equal(vq_index(vq[2]), 2);
    assert_int_equal(vec[0], 49);
    assert_int_equal(vec[1], 50);
    assert_int_equal(vec[2], -1);              /* no callback, no vector */
    /* the last queue registered is the control queue, at its own rings */
    assert_int_equal(common()->queue_desc, vq_desc_addr(vq[2]));
    assert_int_equal(common()->queue_device, vq_used_addr(vq[2]));
    assert_int_equal(common()->queue_size, 64);
    assert_int_equal(vq_indirect_reserve(vq[0], 1), -1);   /* INDIRECT_DESC not negotiated */
    /* the doorbell: queue 1's kick writes 1 at its notify address */
    static uint8_t buf[16];
    struct vq_sg sg = { (uint64_t)(uintptr_t)buf, sizeof buf };
    assert_int_equal(vq_add_sgs(vq[1], &sg, 1, 0, buf), 0);
    put16(vbar + OFF_NOTIFY + 3 * NOTIFY_MULT, 0xffff);
    assert_true(vq_kick(vq[1]));
    assert_int_equal(get16(vbar + OFF_NOTIFY + 3 * NOTIFY_MULT), 1);
    fire(vec[1]);
    assert_int_equal(cb_hits[1], 1);
    finish_vqs(&vdev);
}

static void test_virtio_find_vqs_shared_vector_reported(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    virtio_pci_set_features(&vdev, (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_VERSION_1));
    vector_limit = 2;   /* per-queue needs 3 */
    struct virtqueue *vq[3];
    int vec[3];
    find_three_queues(&vdev, vq, vec);
    assert_int_equal(vdev.irq_mode, VIRTIO_PCI_IRQ_MSIX_SHARED);
    assert_int_equal(vec[0], 49);
    assert_int_equal(vec[1], 49);
    assert_int_equal(vec[2], -1);
    assert_int_equal(vq_indirect_reserve(vq[0], 1), 0);    /* negotiated: indirect rings */
    assert_int_equal(vq_indirect_reserve(vq[2], 1), -1);   /* ... but not where refused */
    finish_vqs(&vdev);
}

static void test_virtio_find_vqs_missing_queue_fails(void **state)
{
    (void)state;
    struct virtio_pci_dev vdev;
    start(&vdev, virtio_machine(0x1041, 4, true));
    common()->num_queues = 2;
    struct virtqueue *vq[3];
    int vec[3];
    const struct virtio_vq_spec spec[3] = {
        { .name = "rx", .size = 64, .vq = &vq[0], .vector = &vec[0] },
        { .name = "tx", .size = 64, .vq = &vq[1], .vector = &vec[1] },
        { .name = "ctrl", .size = 64, .vq = &vq[2], .vector = &vec[2] },
    };
    const char *why = NULL;
    assert_int_equal(virtio_pci_find_vqs(&vdev, 3, spec, NULL, NULL, VIRTIO_PCI_IRQ_NONE, &why),
                     -1);
    assert_string_equal(why, "device has no queue it should have");
    assert_non_null(vq[0]);
    assert_null(vq[2]);
    finish_vqs(&vdev);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_virtio_device_type_rules),
        T(test_virtio_refuses_legacy_only),
        T(test_virtio_init_maps_first_caps),
        T(test_virtio_msix_per_queue),
        T(test_virtio_falls_back_to_shared_when_vectors_run_out),
        T(test_virtio_falls_back_to_intx),
        T(test_virtio_no_msix_cap_goes_to_intx),
        T(test_virtio_fails_cleanly_without_vectors),
        T(test_virtio_polling_and_bad_queue_sizes),
        T(test_virtio_find_vqs_creates_and_wires),
        T(test_virtio_find_vqs_shared_vector_reported),
        T(test_virtio_find_vqs_missing_queue_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
