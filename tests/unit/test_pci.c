/* Host tests for drivers/pci (enumeration, BARs, capabilities, MSI-X, INTx
 * routing) and the virtio PCI transport, run unchanged against a simulated
 * configuration space (this file's pci_cfg_* back end) and device memory in
 * host buffers (mmio_map is the identity, as in the kernel). The kernel
 * services they call (irq, ioapic, acpi, log, clock, panic) are recording
 * stubs below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/pci/intx.h"
#include "drivers/pci/msix.h"
#include "drivers/pci/pci.h"
#include "drivers/virtio/virtio_pci.h"
#include "kernel/acpi.h"
#include "kernel/clock.h"
#include "kernel/irq.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

/* ------------------------------------------------------------------ */
/* Simulated configuration space                                       */
/* ------------------------------------------------------------------ */

struct fake_fn {
    uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
    uint32_t bar_wmask[PCI_STD_NUM_BARS];   /* writable bits of each BAR dword */
    uint8_t next_cap;                       /* where the next capability goes */
    uint8_t *last_cap;                      /* its predecessor's next pointer */
};

static struct fake_fn *fake[PCI_MAX_BUS][PCI_MAX_DEV][PCI_MAX_FN];
static bool sized_with_decode_on;           /* BAR all-ones write while decoding */

static void fake_reset(void)
{
    for (unsigned b = 0; b < PCI_MAX_BUS; b++)
        for (unsigned d = 0; d < PCI_MAX_DEV; d++)
            for (unsigned f = 0; f < PCI_MAX_FN; f++) {
                free(fake[b][d][f]);
                fake[b][d][f] = NULL;
            }
    sized_with_decode_on = false;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static struct fake_fn *fake_add(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor,
                                uint16_t device, uint8_t cls, uint8_t sub, uint8_t hdr)
{
    struct fake_fn *f = calloc(1, sizeof *f);
    assert_non_null(f);
    put16(&f->cfg[PCI_VENDOR_ID], vendor);
    put16(&f->cfg[PCI_DEVICE_ID], device);
    f->cfg[PCI_CLASS_DEVICE + 1] = cls;
    f->cfg[PCI_CLASS_DEVICE] = sub;
    f->cfg[PCI_HEADER_TYPE] = hdr;
    f->next_cap = PCI_CAP_PTR_MIN;
    f->last_cap = &f->cfg[PCI_CAPABILITY_LIST];
    fake[bus][dev][fn] = f;
    return f;
}

static void fake_bridge(struct fake_fn *f, uint8_t primary, uint8_t secondary, uint8_t subordinate)
{
    f->cfg[PCI_PRIMARY_BUS] = primary;
    f->cfg[PCI_SECONDARY_BUS] = secondary;
    f->cfg[PCI_SUBORDINATE_BUS] = subordinate;
}

static void fake_bar32(struct fake_fn *f, unsigned i, uint32_t addr, uint32_t size, uint32_t flags)
{
    put32(&f->cfg[PCI_BASE_ADDRESS_0 + 4 * i], addr | flags);
    f->bar_wmask[i] = ~(size - 1) & ((flags & PCI_BASE_ADDRESS_SPACE_IO) ? ~3u : ~0xfu);
}

static void fake_bar64(struct fake_fn *f, unsigned i, uint64_t addr, uint64_t size, uint32_t flags)
{
    uint64_t wmask = ~(size - 1);
    flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
    put32(&f->cfg[PCI_BASE_ADDRESS_0 + 4 * i], (uint32_t)addr | flags);
    put32(&f->cfg[PCI_BASE_ADDRESS_0 + 4 * (i + 1)], (uint32_t)(addr >> 32));
    f->bar_wmask[i] = (uint32_t)wmask & ~0xfu;
    f->bar_wmask[i + 1] = (uint32_t)(wmask >> 32);
}

/* Appends a capability (body = bytes after ID and next) and links it. */
static uint8_t fake_cap(struct fake_fn *f, uint8_t id, const void *body, uint8_t body_len)
{
    uint8_t pos = f->next_cap;
    f->cfg[pos] = id;
    f->cfg[pos + 1] = 0;
    memcpy(&f->cfg[pos + 2], body, body_len);
    *f->last_cap = pos;
    f->last_cap = &f->cfg[pos + 1];
    f->next_cap = (uint8_t)((pos + 2 + body_len + 3) & ~3);
    put16(&f->cfg[PCI_STATUS], get16(&f->cfg[PCI_STATUS]) | PCI_STATUS_CAP_LIST);
    return pos;
}

static struct fake_fn *fake_get(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned w)
{
    if (dev >= PCI_MAX_DEV || fn >= PCI_MAX_FN || off + w > PCI_CFG_SPACE_EXP_SIZE || (off & (w - 1)))
        return NULL;
    return fake[bus][dev][fn];
}

static uint32_t fake_read(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned w)
{
    struct fake_fn *f = fake_get(bus, dev, fn, off, w);
    if (!f)
        return w == 4 ? 0xffffffffu : (1u << (8 * w)) - 1;
    uint32_t v = 0;
    memcpy(&v, &f->cfg[off], w);
    return v;
}

static void fake_write(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned w, uint32_t v)
{
    struct fake_fn *f = fake_get(bus, dev, fn, off, w);
    if (!f)
        return;
    unsigned nbars = (f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE
                     ? PCI_BRIDGE_NUM_BARS : PCI_STD_NUM_BARS;
    if (off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_0 + 4 * nbars) {
        assert_int_equal(w, 4);     /* BARs are dwords */
        unsigned i = (off - PCI_BASE_ADDRESS_0) / 4;
        if (v == 0xffffffffu &&
            (get16(&f->cfg[PCI_COMMAND]) & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)))
            sized_with_decode_on = true;
        uint32_t old = get32(&f->cfg[off]);
        put32(&f->cfg[off], (v & f->bar_wmask[i]) | (old & ~f->bar_wmask[i]));
        return;
    }
    if (off == PCI_STATUS)
        return;     /* RW1C error bits; nothing here sets them */
    memcpy(&f->cfg[off], &v, w);
}

void pci_cfg_init(void) {}
uint8_t pci_cfg_read8(uint8_t b, uint8_t d, uint8_t f, uint16_t o) { return (uint8_t)fake_read(b, d, f, o, 1); }
uint16_t pci_cfg_read16(uint8_t b, uint8_t d, uint8_t f, uint16_t o) { return (uint16_t)fake_read(b, d, f, o, 2); }
uint32_t pci_cfg_read32(uint8_t b, uint8_t d, uint8_t f, uint16_t o) { return fake_read(b, d, f, o, 4); }
void pci_cfg_write8(uint8_t b, uint8_t d, uint8_t f, uint16_t o, uint8_t v) { fake_write(b, d, f, o, 1, v); }
void pci_cfg_write16(uint8_t b, uint8_t d, uint8_t f, uint16_t o, uint16_t v) { fake_write(b, d, f, o, 2, v); }
void pci_cfg_write32(uint8_t b, uint8_t d, uint8_t f, uint16_t o, uint32_t v) { fake_write(b, d, f, o, 4, v); }

/* ------------------------------------------------------------------ */
/* Kernel stubs                                                         */
/* ------------------------------------------------------------------ */

enum log_level log_threshold = LOG_DEBUG;
static char log_text[16384];

void klog(enum log_level level, const char *fmt, ...)
{
    (void)level;
    size_t n = strlen(log_text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log_text + n, sizeof log_text - n, fmt, ap);
    va_end(ap);
    n = strlen(log_text);
    if (n + 1 < sizeof log_text) {
        log_text[n] = '\n';
        log_text[n + 1] = '\0';
    }
}

void *mmio_map(uint64_t phys, uint64_t len)
{
    (void)len;
    return (void *)(uintptr_t)phys;
}

static const struct acpi_sdt_header *fake_madt;
const struct acpi_sdt_header *acpi_find_table(const char sig[4])
{
    return memcmp(sig, "APIC", 4) == 0 ? fake_madt : NULL;
}

#define VEC_BASE 0x30
static struct {
    irq_handler_t fn;
    void *ctx;
} vectors[256];
static int vector_limit;    /* how many may be allocated at once */

int irq_alloc_vector(irq_handler_t handler, void *ctx)
{
    int used = 0;
    for (int v = VEC_BASE; v < 0xf0; v++)
        used += vectors[v].fn != NULL;
    if (used >= vector_limit)
        return -1;
    for (int v = VEC_BASE; v < 0xf0; v++)
        if (!vectors[v].fn) {
            vectors[v].fn = handler;
            vectors[v].ctx = ctx;
            return v;
        }
    return -1;
}

void irq_free_vector(int vector)
{
    assert_non_null(vectors[vector].fn);
    vectors[vector].fn = NULL;
}

static void fire(int vector)
{
    assert_non_null(vectors[vector].fn);
    vectors[vector].fn(vectors[vector].ctx);
}

uint64_t msi_address(void) { return 0xfee00000u; }
uint32_t msi_data(int vector) { return (uint32_t)vector; }

static struct {
    int vector;
    bool level, active_low, masked, routed;
} ioapic[24];

int ioapic_route(uint32_t gsi, int vector, bool level, bool active_low)
{
    if (gsi >= 24)
        return -1;
    ioapic[gsi].vector = vector;
    ioapic[gsi].level = level;
    ioapic[gsi].active_low = active_low;
    ioapic[gsi].routed = true;
    ioapic[gsi].masked = true;
    return 0;
}

void ioapic_mask(uint32_t gsi, bool masked)
{
    assert_true(gsi < 24 && ioapic[gsi].routed);
    ioapic[gsi].masked = masked;
}

void clock_delay_us(uint64_t us) { (void)us; }

static jmp_buf *panic_jmp;
void panic(const char *fmt, ...)
{
    (void)fmt;
    if (panic_jmp)
        longjmp(*panic_jmp, 1);
    abort();
}

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_madt = NULL;
    memset(vectors, 0, sizeof vectors);
    memset(ioapic, 0, sizeof ioapic);
    vector_limit = 1000;
    log_text[0] = '\0';
    panic_jmp = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    for (int v = 0; v < 256; v++)
        assert_null(vectors[v].fn);     /* every test gives its vectors back */
    return 0;
}

/* ------------------------------------------------------------------ */
/* Enumeration                                                          */
/* ------------------------------------------------------------------ */

static void q35_host(void)
{
    fake_add(0, 0, 0, 0x8086, 0x29c0, 0x06, 0x00, PCI_HEADER_TYPE_NORMAL);
}

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

/* Device memory for one BAR lives in a host buffer; BAR base = its address
 * (so it must be aligned to the BAR size, as real BARs are). */
#define VBAR_SIZE 0x8000u
#define OFF_COMMON 0x0000u
#define OFF_ISR    0x1000u
#define OFF_DEVCFG 0x2000u
#define OFF_NOTIFY 0x3000u
#define OFF_TABLE  0x4000u
#define OFF_PBA    0x4800u
#define NOTIFY_MULT 4u

static uint8_t *vbar;

static uint8_t add_msix_cap(struct fake_fn *f, unsigned entries, unsigned bir)
{
    uint8_t body[10];
    put16(&body[0], (uint16_t)(entries - 1));
    put32(&body[2], OFF_TABLE | bir);
    put32(&body[6], OFF_PBA | bir);
    return fake_cap(f, PCI_CAP_ID_MSIX, body, sizeof body);
}

static void add_virtio_cap(struct fake_fn *f, uint8_t type, uint8_t bar, uint32_t off,
                           uint32_t len, bool notify)
{
    uint8_t body[18] = {0};
    body[0] = notify ? 20 : 16;     /* cap_len */
    body[1] = type;
    body[2] = bar;
    put32(&body[6], off);
    put32(&body[10], len);
    if (notify)
        put32(&body[14], NOTIFY_MULT);
    fake_cap(f, PCI_CAP_ID_VNDR, body, notify ? 18 : 14);
}

static struct pci_dev *virtio_machine(uint16_t device_id, unsigned msix_entries, bool modern)
{
    q35_host();
    fake_add(0, 0x1f, 0, 0x8086, 0x2918, 0x06, 0x01, PCI_HEADER_TYPE_MFD);
    struct fake_fn *f = fake_add(0, 2, 0, 0x1af4, device_id, 0x02, 0x00, PCI_HEADER_TYPE_NORMAL);
    put16(&f->cfg[PCI_SUBSYSTEM_ID], 1);
    f->cfg[PCI_INTERRUPT_PIN] = 1;
    f->cfg[PCI_INTERRUPT_LINE] = 10;
    fake_bar32(f, 0, 0xc040, 0x20, PCI_BASE_ADDRESS_SPACE_IO);
    vbar = aligned_alloc(VBAR_SIZE, VBAR_SIZE);
    assert_non_null(vbar);
    memset(vbar, 0, VBAR_SIZE);
    fake_bar64(f, 4, (uintptr_t)vbar, VBAR_SIZE, PCI_BASE_ADDRESS_MEM_PREFETCH);
    if (msix_entries)
        add_msix_cap(f, msix_entries, 4);
    if (modern) {
        /* an I/O-BAR notify cap first (QEMU modern-pio-notify): must be skipped */
        add_virtio_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0, 4, true);
        add_virtio_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, 4, OFF_COMMON, 0x1000, false);
        add_virtio_cap(f, VIRTIO_PCI_CAP_ISR_CFG, 4, OFF_ISR, 0x1000, false);
        add_virtio_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG, 4, OFF_DEVCFG, 0x1000, false);
        add_virtio_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, OFF_NOTIFY, 0x1000, true);
        add_virtio_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x7000, 0x1000, false);  /* second: ignored */
    }
    /* device state the memory model holds: 2 queues of up to 256 */
    struct virtio_pci_common_cfg *c = (void *)(vbar + OFF_COMMON);
    c->num_queues = 3;
    c->queue_size = 256;
    c->queue_notify_off = 3;
    c->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
    c->queue_msix_vector = VIRTIO_MSI_NO_VECTOR;
    c->device_feature = 0x1;
    memcpy(vbar + OFF_DEVCFG, "\x52\x54\x00\x12\x34\x56", 6);
    /* MSI-X entries reset masked, with junk messages */
    for (unsigned i = 0; i < msix_entries; i++) {
        struct pci_msix_entry *e = (void *)(vbar + OFF_TABLE + 16 * i);
        e->msg_addr_lo = 0xdead0000u;
        e->vector_ctrl = 1;
    }
    pci_init();
    return pci_get_slot(0, 2, 0);
}

static void free_vbar(void)
{
    free(vbar);
    vbar = NULL;
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enumerates_functions_bridges_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_size_from_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_probe_decodes_and_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap_walk_and_vendor_iteration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_q35_pirq_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_q35_route_through_bridges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_piix_route_uses_pirqrc_and_madt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_piix_route_honours_override_and_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_chipset_uses_line_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msix_program_mask_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_device_type_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_refuses_legacy_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_init_maps_first_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_msix_per_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_falls_back_to_shared_when_vectors_run_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_falls_back_to_intx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_no_msix_cap_goes_to_intx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_fails_cleanly_without_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_polling_and_bad_queue_sizes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
