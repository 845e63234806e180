/* A simulated PCI machine for the host tests of drivers/pci and the virtio
 * PCI transport (test_pci.c, test_virtio_pci.c): a configuration space
 * behind the pci_cfg_* back end, device memory in host buffers (mmio_map is
 * the identity, as in the kernel), and recording stubs of the kernel
 * services they call (irq, ioapic, acpi, log, panic; clock and dma come
 * from test_support.c). */
#ifndef TESTS_UNIT_PCI_SIM_H
#define TESTS_UNIT_PCI_SIM_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/pci/pci.h"
#include "kernel/acpi.h"
#include "kernel/irq.h"

struct fake_fn {
    uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
    uint32_t bar_wmask[PCI_STD_NUM_BARS];   /* writable bits of each BAR dword */
    uint8_t next_cap;                       /* where the next capability goes */
    uint8_t *last_cap;                      /* its predecessor's next pointer */
};

static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Functions of the machine: add them, then pci_init(). */
struct fake_fn *fake_add(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor,
                         uint16_t device, uint8_t cls, uint8_t sub, uint8_t hdr);
void fake_bridge(struct fake_fn *f, uint8_t primary, uint8_t secondary, uint8_t subordinate);
void fake_bar32(struct fake_fn *f, unsigned i, uint32_t addr, uint32_t size, uint32_t flags);
void fake_bar64(struct fake_fn *f, unsigned i, uint64_t addr, uint64_t size, uint32_t flags);
/* Appends a capability (body = bytes after ID and next) and links it. */
uint8_t fake_cap(struct fake_fn *f, uint8_t id, const void *body, uint8_t body_len);
void q35_host(void);                    /* the host bridge at 00:00.0 */
extern bool sized_with_decode_on;       /* a BAR all-ones write while decoding */

/* Recorded by the stubs. */
extern char log_text[16384];            /* every klog line, appended */
extern const struct acpi_sdt_header *fake_madt;   /* acpi_find_table("APIC") */
#define VEC_BASE 0x30
struct sim_vector {
    irq_handler_t fn;
    void *ctx;
};
extern struct sim_vector vectors[256];  /* irq_alloc_vector's, from VEC_BASE */
extern int vector_limit;                /* how many may be allocated at once */
void fire(int vector);                  /* runs the handler, as the CPU would */
struct sim_ioapic_pin {
    int vector;
    bool level, active_low, masked, routed;
};
extern struct sim_ioapic_pin ioapic[24];
extern jmp_buf *panic_jmp;              /* panic longjmps here when set */

/* cmocka setup/teardown: an empty machine; every vector given back. */
int setup(void **state);
int teardown(void **state);

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

extern uint8_t *vbar;
/* 00:02.0, a virtio function (device_id) with BAR4 memory at vbar holding
 * 3 queues of up to 256, msix_entries MSI-X entries (0: no capability)
 * and, when modern, the virtio capabilities; on q35 with an LPC bridge.
 * Runs pci_init(). free_vbar() after. */
struct pci_dev *virtio_machine(uint16_t device_id, unsigned msix_entries, bool modern);
void free_vbar(void);

#endif
