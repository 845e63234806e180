/* Host tests for drivers/pci (enumeration, BARs, capabilities, INTx
 * routing, MSI-X), run unchanged against the simulated machine of
 * pci_sim.h. The virtio PCI transport's tests: test_virtio_pci.c. */
#include "tests/unit/pci_sim.h"

#include <stdlib.h>

#include "drivers/pci/intx.h"
#include "drivers/pci/msix.h"
#include "drivers/virtio/virtio_pci_reg.h"

/* ------------------------------------------------------------------ */
/* Enumeration                                                          */
/* ------------------------------------------------------------------ */

static void test_enumerates_functions_bridges_and_logs(void **state)
{
    (void)state;
    q35_host();
    /* 00:01.0 single-function device that answers on every function number */
    for (uint8_t fn = 0; fn < 8; fn++)
        fake_add(0, 1, fn, 0x1234, 0x1111, 0x03, 0x00, PCI_HEADER_TYPE_NORMAL);
    /* 00:1f multifunction: fn 0, 2, 3 */
    fake_add(0, 0x1f, 0, 0x8086, 0x2918, 0x06, 0x01, PCI_HEADER_TYPE_MFD);
    fake_add(0, 0x1f, 2, 0x8086, 0x2922, 0x01, 0x06, PCI_HEADER_TYPE_NORMAL);
    fake_add(0, 0x1f, 3, 0x8086, 0x2930, 0x0c, 0x05, PCI_HEADER_TYPE_NORMAL);
    /* 00:03.0 bridge -> bus 1 -> 01:02.0 bridge -> bus 2 -> 02:05.0 virtio */
    fake_bridge(fake_add(0, 3, 0, 0x1b36, 0x0001, 0x06, 0x04, PCI_HEADER_TYPE_BRIDGE), 0, 1, 2);
    fake_bridge(fake_add(1, 2, 0, 0x1b36, 0x0001, 0x06, 0x04, PCI_HEADER_TYPE_BRIDGE), 1, 2, 2);
    struct fake_fn *v = fake_add(2, 5, 0, 0x1af4, 0x1041, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    v->cfg[PCI_INTERRUPT_PIN] = 1;
    v->cfg[PCI_INTERRUPT_LINE] = 11;
    /* a bridge firmware never numbered: must not be followed (or loop) */
    fake_bridge(fake_add(0, 4, 0, 0x1b36, 0x0001, 0x06, 0x04, PCI_HEADER_TYPE_BRIDGE), 0, 0, 0);

    assert_int_equal(pci_init(), 9);
    assert_int_equal(pci_device_count(), 9);
    assert_non_null(strstr(log_text, "pci: 02:05.0 1af4:1041 class 02.00.00\n"));
    assert_non_null(strstr(log_text, "pci: 00:1f.3 8086:2930 class 0c.05.00\n"));

    assert_non_null(pci_get_slot(0, 1, 0));
    assert_null(pci_get_slot(0, 1, 1));     /* single-function: fn 0 only */
    assert_null(pci_get_slot(0, 0x1f, 1));
    assert_true(pci_get_slot(0, 0x1f, 2)->multifunction);

    struct pci_dev *d = pci_find_device(0x1af4, 0x1000, 0x107f, NULL);
    assert_non_null(d);
    assert_int_equal(d->bus, 2);
    assert_int_equal(d->dev, 5);
    assert_int_equal(d->class_code, 0x02);
    assert_int_equal(d->irq_pin, 1);
    assert_int_equal(d->irq_line, 11);
    assert_non_null(d->parent);
    assert_int_equal(d->parent->bus, 1);
    assert_int_equal(d->parent->secondary_bus, 2);
    assert_int_equal(d->parent->parent->dev, 3);
    assert_null(d->parent->parent->parent);
    assert_null(pci_find_device(0x1af4, 0x1000, 0x107f, d));

    /* iterator visits every function once */
    unsigned n = 0;
    for (struct pci_dev *p = pci_next(NULL); p; p = pci_next(p))
        n++;
    assert_int_equal(n, 9);
}

/* ------------------------------------------------------------------ */
/* BARs                                                                 */
/* ------------------------------------------------------------------ */

static void test_bar_size_from_mask(void **state)
{
    (void)state;
    assert_int_equal(pci_bar_size_from_mask(0xfffff000u, PCI_BAR_MEM32), 0x1000);
    assert_int_equal(pci_bar_size_from_mask(0xfffff008u, PCI_BAR_MEM32), 0x1000); /* prefetch bit */
    assert_int_equal(pci_bar_size_from_mask(0xffffffe1u, PCI_BAR_IO), 0x20);
    assert_int_equal(pci_bar_size_from_mask(0x0000ffe1u, PCI_BAR_IO), 0x20);      /* 16-bit decoder */
    assert_int_equal(pci_bar_size_from_mask(0, PCI_BAR_MEM32), 0);
    assert_int_equal(pci_bar_size_from_mask(0xffffffffffffc00cull, PCI_BAR_MEM64), 0x4000);
    assert_int_equal(pci_bar_size_from_mask(0xfffffffe0000000cull, PCI_BAR_MEM64), 0x200000000ull);
}

static void test_bar_probe_decodes_and_restores(void **state)
{
    (void)state;
    q35_host();
    struct fake_fn *f = fake_add(0, 2, 0, 0x1af4, 0x1000, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    fake_bar32(f, 0, 0xc040, 0x20, PCI_BASE_ADDRESS_SPACE_IO);
    fake_bar32(f, 1, 0xfebd1000, 0x1000, 0);
    fake_bar64(f, 4, 0x800000000ull, 0x4000, PCI_BASE_ADDRESS_MEM_PREFETCH);
    put16(&f->cfg[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    uint8_t before[64];
    memcpy(before, f->cfg, sizeof before);
    pci_init();
    struct pci_dev *d = pci_get_slot(0, 2, 0);

    const struct pci_bar *b = pci_bar_get(d, 0);
    assert_non_null(b);
    assert_int_equal(b->type, PCI_BAR_IO);
    assert_int_equal(b->addr, 0xc040);
    assert_int_equal(b->size, 0x20);
    b = pci_bar_get(d, 1);
    assert_int_equal(b->type, PCI_BAR_MEM32);
    assert_int_equal(b->addr, 0xfebd1000u);
    assert_int_equal(b->size, 0x1000);
    assert_false(b->prefetchable);
    assert_null(pci_bar_get(d, 2));     /* not implemented */
    b = pci_bar_get(d, 4);
    assert_int_equal(b->type, PCI_BAR_MEM64);
    assert_int_equal(b->addr, 0x800000000ull);
    assert_int_equal(b->size, 0x4000);
    assert_true(b->prefetchable);
    assert_null(pci_bar_get(d, 5));     /* upper half of BAR4 */
    assert_null(pci_bar_get(d, 6));

    assert_false(sized_with_decode_on);
    assert_memory_equal(before, f->cfg, sizeof before);     /* BARs and command restored */

    assert_ptr_equal(pci_bar_map(d, 1), (void *)(uintptr_t)0xfebd1000u);
    assert_ptr_equal(pci_bar_map_range(d, 4, 0x3000, 0x1000), (void *)(uintptr_t)0x800003000ull);
    assert_null(pci_bar_map_range(d, 4, 0x3000, 0x1001));  /* runs past the BAR */
    assert_null(pci_bar_map(d, 0));                         /* I/O */
}

/* ------------------------------------------------------------------ */
/* Capabilities                                                         */
/* ------------------------------------------------------------------ */

static void test_cap_walk_and_vendor_iteration(void **state)
{
    (void)state;
    q35_host();
    struct fake_fn *f = fake_add(0, 2, 0, 0x1af4, 0x1041, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    uint8_t vbody[14] = {0};
    uint8_t p1 = fake_cap(f, PCI_CAP_ID_VNDR, vbody, sizeof vbody);
    uint8_t mbody[10] = {0};
    uint8_t pm = fake_cap(f, PCI_CAP_ID_MSIX, mbody, sizeof mbody);
    uint8_t p2 = fake_cap(f, PCI_CAP_ID_VNDR, vbody, sizeof vbody);
    uint8_t p3 = fake_cap(f, PCI_CAP_ID_VNDR, vbody, sizeof vbody);
    pci_init();
    struct pci_dev *d = pci_get_slot(0, 2, 0);

    assert_int_equal(pci_find_cap(d, PCI_CAP_ID_MSIX), pm);
    assert_int_equal(pci_find_cap(d, PCI_CAP_ID_MSI), 0);
    uint8_t seen[4], n = 0;
    for (uint8_t p = pci_find_cap(d, PCI_CAP_ID_VNDR); p; p = pci_find_next_cap(d, p, PCI_CAP_ID_VNDR))
        seen[n++] = p;
    assert_int_equal(n, 3);
    assert_int_equal(seen[0], p1);
    assert_int_equal(seen[1], p2);
    assert_int_equal(seen[2], p3);

    /* a list looping back on itself ends (TTL) instead of hanging */
    f->cfg[p3 + 1] = p1;
    n = 0;
    for (uint8_t p = pci_find_cap(d, PCI_CAP_ID_VNDR); p && n < 200;
         p = pci_find_next_cap(d, p, PCI_CAP_ID_VNDR))
        n++;
    assert_true(n < 200);
    assert_int_equal(pci_find_cap(d, PCI_CAP_ID_EXP), 0);

    /* no capability list bit: nothing found */
    put16(&f->cfg[PCI_STATUS], 0);
    assert_int_equal(pci_find_cap(d, PCI_CAP_ID_MSIX), 0);
}

/* ------------------------------------------------------------------ */
/* INTx routing                                                         */
/* ------------------------------------------------------------------ */

static void test_q35_pirq_table(void **state)
{
    (void)state;
    /* QEMU ich9_cc_init: slots 0..24 -> PIRQ E + (slot + pin) % 4 */
    assert_int_equal(pci_intx_q35_pirq(1, 1), 5);   /* PIRQF, GSI 21 */
    assert_int_equal(pci_intx_q35_pirq(2, 1), 6);   /* default virtio-net slot: GSI 22 */
    assert_int_equal(pci_intx_q35_pirq(3, 1), 7);
    assert_int_equal(pci_intx_q35_pirq(4, 1), 4);
    assert_int_equal(pci_intx_q35_pirq(2, 4), 5);
    assert_int_equal(pci_intx_q35_pirq(24, 2), 5);
    /* D25-D29, D31: IR registers at reset 0x3210 -> PIRQ A..D by pin */
    assert_int_equal(pci_intx_q35_pirq(31, 1), 0);
    assert_int_equal(pci_intx_q35_pirq(29, 3), 2);
    assert_int_equal(pci_intx_q35_pirq(25, 4), 3);
    /* D30: PIRQ E..H by pin */
    assert_int_equal(pci_intx_q35_pirq(30, 1), 4);
    assert_int_equal(pci_intx_q35_pirq(30, 4), 7);
    /* PIIX: (slot - 1 + pin) % 4 */
    assert_int_equal(pci_intx_piix_pirq(1, 1), 0);
    assert_int_equal(pci_intx_piix_pirq(3, 1), 2);
    assert_int_equal(pci_intx_piix_pirq(0, 1), 3);
    assert_int_equal(pci_intx_piix_pirq(4, 2), 0);
}

static void bump(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_q35_route_through_bridges(void **state)
{
    (void)state;
    q35_host();
    fake_bridge(fake_add(0, 3, 0, 0x1b36, 0x0001, 0x06, 0x04, PCI_HEADER_TYPE_BRIDGE), 0, 1, 1);
    struct fake_fn *v = fake_add(1, 5, 0, 0x1af4, 0x1041, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    v->cfg[PCI_INTERRUPT_PIN] = 1;
    struct fake_fn *r = fake_add(0, 2, 0, 0x1af4, 0x1041, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    r->cfg[PCI_INTERRUPT_PIN] = 1;
    r->cfg[PCI_INTERRUPT_LINE] = 11;
    pci_init();

    struct pci_intx_route rt;
    /* 01:05.0 INTA -> bridge slot 3 sees INTB -> PIRQ E + (3 + 1) % 4 = E */
    assert_int_equal(pci_intx_resolve(pci_get_slot(1, 5, 0), &rt), 0);
    assert_int_equal(rt.chipset, PCI_INTX_Q35);
    assert_int_equal(rt.root_slot, 3);
    assert_int_equal(rt.root_pin, 2);
    assert_int_equal(rt.pirq, 4);
    assert_int_equal(rt.gsi, 20);
    assert_true(rt.level);
    assert_false(rt.active_low);

    assert_int_equal(pci_intx_resolve(pci_get_slot(0, 2, 0), &rt), 0);
    assert_int_equal(rt.gsi, 22);

    /* two handlers on the line share one vector; both run */
    static int hits[2];
    hits[0] = hits[1] = 0;
    struct pci_dev *d = pci_get_slot(0, 2, 0);
    int v1 = pci_intx_request(d, bump, &hits[0], NULL);
    int v2 = pci_intx_request(d, bump, &hits[1], NULL);
    assert_true(v1 >= VEC_BASE);
    assert_int_equal(v1, v2);
    assert_true(ioapic[22].routed);
    assert_false(ioapic[22].masked);
    assert_int_equal(ioapic[22].vector, v1);
    assert_false(pci_read16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    fire(v1);
    assert_int_equal(hits[0], 1);
    assert_int_equal(hits[1], 1);
    pci_intx_free(d, bump, &hits[0]);
    assert_false(ioapic[22].masked);
    fire(v1);
    assert_int_equal(hits[0], 1);
    assert_int_equal(hits[1], 2);
    pci_intx_free(d, bump, &hits[1]);
    assert_true(ioapic[22].masked);
    assert_null(vectors[v1].fn);
}

/* MADT with interrupt source overrides, as QEMU builds it. */
static uint8_t madt_buf[256];
static void build_madt(const uint8_t (*isos)[10], unsigned n)
{
    memset(madt_buf, 0, sizeof madt_buf);
    struct acpi_sdt_header *h = (struct acpi_sdt_header *)madt_buf;
    memcpy(h->signature, "APIC", 4);
    uint8_t *p = madt_buf + 44;
    /* a local APIC entry first, to be skipped */
    p[0] = 0; p[1] = 8; p += 8;
    for (unsigned i = 0; i < n; i++, p += 10)
        memcpy(p, isos[i], 10);
    h->length = (uint32_t)(p - madt_buf);
    fake_madt = h;
}

static void piix_machine(uint8_t line)
{
    fake_add(0, 0, 0, 0x8086, 0x1237, 0x06, 0x00, PCI_HEADER_TYPE_NORMAL);
    struct fake_fn *isa = fake_add(0, 1, 0, 0x8086, 0x7000, 0x06, 0x01, PCI_HEADER_TYPE_MFD);
    isa->cfg[0x60] = 10;
    isa->cfg[0x61] = 10;
    isa->cfg[0x62] = 11;
    isa->cfg[0x63] = 0x80;  /* PIRQD not routed */
    struct fake_fn *v = fake_add(0, 3, 0, 0x1af4, 0x1000, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    v->cfg[PCI_INTERRUPT_PIN] = 1;
    v->cfg[PCI_INTERRUPT_LINE] = line;
}

static void test_piix_route_uses_pirqrc_and_madt(void **state)
{
    (void)state;
    /* QEMU: IRQ 0 -> GSI 2 edge; 5, 9, 10, 11 level/high (flags 0xd) */
    static const uint8_t isos[][10] = {
        { 2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0 },
        { 2, 10, 0, 5, 5, 0, 0, 0, 0x0d, 0 },
        { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0 },
        { 2, 10, 0, 10, 10, 0, 0, 0, 0x0d, 0 },
        { 2, 10, 0, 11, 11, 0, 0, 0, 0x0d, 0 },
    };
    build_madt(isos, 5);
    piix_machine(11);
    pci_init();

    struct pci_intx_route rt;
    assert_int_equal(pci_intx_resolve(pci_get_slot(0, 3, 0), &rt), 0);
    assert_int_equal(rt.chipset, PCI_INTX_PIIX);
    assert_int_equal(rt.pirq, 2);           /* (3 - 1 + 0) % 4 = PIRQC */
    assert_int_equal(rt.gsi, 11);
    assert_true(rt.level);
    assert_false(rt.active_low);
    assert_null(strstr(log_text, "line register says"));
}

static void test_piix_route_honours_override_and_mismatch(void **state)
{
    (void)state;
    static const uint8_t isos[][10] = {
        { 2, 10, 0, 11, 19, 0, 0, 0, 0x0f, 0 },     /* IRQ 11 -> GSI 19, level, low */
    };
    build_madt(isos, 1);
    piix_machine(10);   /* line register disagrees with PIRQRC: PIRQRC wins, warned */
    pci_init();
    struct pci_intx_route rt;
    assert_int_equal(pci_intx_resolve(pci_get_slot(0, 3, 0), &rt), 0);
    assert_int_equal(rt.gsi, 19);
    assert_true(rt.level);
    assert_true(rt.active_low);
    assert_non_null(strstr(log_text, "line register says IRQ 10"));
}

static void test_unknown_chipset_uses_line_register(void **state)
{
    (void)state;
    fake_add(0, 0, 0, 0x1022, 0x1450, 0x06, 0x00, PCI_HEADER_TYPE_NORMAL);
    struct fake_fn *v = fake_add(0, 3, 0, 0x1af4, 0x1000, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    v->cfg[PCI_INTERRUPT_PIN] = 2;
    v->cfg[PCI_INTERRUPT_LINE] = 5;
    struct fake_fn *n = fake_add(0, 4, 0, 0x1af4, 0x1000, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    n->cfg[PCI_INTERRUPT_PIN] = 0;
    pci_init();
    struct pci_intx_route rt;
    assert_int_equal(pci_intx_resolve(pci_get_slot(0, 3, 0), &rt), 0);
    assert_int_equal(rt.gsi, 5);
    assert_true(rt.level);
    assert_int_equal(pci_intx_resolve(pci_get_slot(0, 4, 0), &rt), -1);   /* no pin */
}

/* ------------------------------------------------------------------ */
/* MSI-X                                                                */
/* ------------------------------------------------------------------ */

static void test_msix_program_mask_enable(void **state)
{
    (void)state;
    struct pci_dev *d = virtio_machine(0x1041, 4, false);
    struct msix m;
    assert_int_equal(msix_init(&m, d), 0);
    assert_int_equal(m.table_size, 4);
    assert_ptr_equal(m.table, vbar + OFF_TABLE);
    assert_ptr_equal(m.pba, vbar + OFF_PBA);

    msix_enable(&m);
    uint16_t ctl = pci_read16(d, (uint16_t)(m.cap + PCI_MSIX_FLAGS));
    assert_int_equal(ctl & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
                     PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    assert_true(pci_read16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    assert_true(pci_read16(d, PCI_COMMAND) & PCI_COMMAND_MASTER);

    struct pci_msix_entry *e = (void *)(vbar + OFF_TABLE + 16 * 2);
    e->vector_ctrl = 0;     /* an unmasked entry must be masked before rewriting */
    assert_int_equal(msix_set_vector(&m, 2, 0x41), 0);
    assert_int_equal(e->msg_addr_lo, 0xfee00000u);
    assert_int_equal(e->msg_addr_hi, 0);
    assert_int_equal(e->msg_data, 0x41);
    assert_true(msix_is_masked(&m, 2));
    msix_unmask(&m, 2);
    assert_false(msix_is_masked(&m, 2));
    msix_mask(&m, 2);
    assert_int_equal(e->vector_ctrl, 1);
    assert_int_equal(msix_set_vector(&m, 4, 0x41), -1);   /* beyond the table */

    uint32_t pba = 1u << 2;
    memcpy(vbar + OFF_PBA, &pba, 4);
    assert_true(msix_pending(&m, 2));
    assert_false(msix_pending(&m, 1));

    msix_function_unmask(&m);
    ctl = pci_read16(d, (uint16_t)(m.cap + PCI_MSIX_FLAGS));
    assert_int_equal(ctl & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL), PCI_MSIX_FLAGS_ENABLE);
    msix_disable(&m);
    ctl = pci_read16(d, (uint16_t)(m.cap + PCI_MSIX_FLAGS));
    assert_int_equal(ctl & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL), 0);
    free_vbar();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_enumerates_functions_bridges_and_logs),
        T(test_bar_size_from_mask),
        T(test_bar_probe_decodes_and_restores),
        T(test_cap_walk_and_vendor_iteration),
        T(test_q35_pirq_table),
        T(test_q35_route_through_bridges),
        T(test_piix_route_uses_pirqrc_and_madt),
        T(test_piix_route_honours_override_and_mismatch),
        T(test_unknown_chipset_uses_line_register),
        T(test_msix_program_mask_enable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
