/* See pci_sim.h. */
#include "tests/unit/pci_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virtio/virtio_pci.h"
#include "kernel/acpi.h"
#include "kernel/clock.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

/* ------------------------------------------------------------------ */
/* Simulated configuration space                                       */
/* ------------------------------------------------------------------ */

static struct fake_fn *fake[PCI_MAX_BUS][PCI_MAX_DEV][PCI_MAX_FN];
bool sized_with_decode_on;           /* BAR all-ones write while decoding */

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

struct fake_fn *fake_add(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor,
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

void fake_bridge(struct fake_fn *f, uint8_t primary, uint8_t secondary, uint8_t subordinate)
{
    f->cfg[PCI_PRIMARY_BUS] = primary;
    f->cfg[PCI_SECONDARY_BUS] = secondary;
    f->cfg[PCI_SUBORDINATE_BUS] = subordinate;
}

void fake_bar32(struct fake_fn *f, unsigned i, uint32_t addr, uint32_t size, uint32_t flags)
{
    put32(&f->cfg[PCI_BASE_ADDRESS_0 + 4 * i], addr | flags);
    f->bar_wmask[i] = ~(size - 1) & ((flags & PCI_BASE_ADDRESS_SPACE_IO) ? ~3u : ~0xfu);
}

void fake_bar64(struct fake_fn *f, unsigned i, uint64_t addr, uint64_t size, uint32_t flags)
{
    uint64_t wmask = ~(size - 1);
    flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
    put32(&f->cfg[PCI_BASE_ADDRESS_0 + 4 * i], (uint32_t)addr | flags);
    put32(&f->cfg[PCI_BASE_ADDRESS_0 + 4 * (i + 1)], (uint32_t)(addr >> 32));
    f->bar_wmask[i] = (uint32_t)wmask & ~0xfu;
    f->bar_wmask[i + 1] = (uint32_t)(wmask >> 32);
}

/* Appends a capability (body = bytes after ID and next) and links it. */
uint8_t fake_cap(struct fake_fn *f, uint8_t id, const void *body, uint8_t body_len)
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
char log_text[16384];

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

const struct acpi_sdt_header *fake_madt;
const struct acpi_sdt_header *acpi_find_table(const char sig[4])
{
    return memcmp(sig, "APIC", 4) == 0 ? fake_madt : NULL;
}

struct sim_vector vectors[256];
int vector_limit;    /* how many may be allocated at once */

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

void fire(int vector)
{
    assert_non_null(vectors[vector].fn);
    vectors[vector].fn(vectors[vector].ctx);
}

uint64_t msi_address(void) { return 0xfee00000u; }
uint32_t msi_data(int vector) { return (uint32_t)vector; }

struct sim_ioapic_pin ioapic[24];

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

/* clock and dma: test_support.c */

jmp_buf *panic_jmp;
void panic(const char *fmt, ...)
{
    (void)fmt;
    if (panic_jmp)
        longjmp(*panic_jmp, 1);
    abort();
}

int setup(void **state)
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

int teardown(void **state)
{
    (void)state;
    fake_reset();
    for (int v = 0; v < 256; v++)
        assert_null(vectors[v].fn);     /* every test gives its vectors back */
    return 0;
}

void q35_host(void)
{
    fake_add(0, 0, 0, 0x8086, 0x29c0, 0x06, 0x00, PCI_HEADER_TYPE_NORMAL);
}

/* ------------------------------------------------------------------ */
/* A virtio-net function with its BAR memory                           */
/* ------------------------------------------------------------------ */

uint8_t *vbar;

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

struct pci_dev *virtio_machine(uint16_t device_id, unsigned msix_entries, bool modern)
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

void free_vbar(void)
{
    free(vbar);
    vbar = NULL;
}
