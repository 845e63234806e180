/* MSI-X table programming (see msix.h). */
#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/msix.h"
#include "kernel/io.h"
#include "kernel/irq.h"
#include "kernel/log.h"

static uint16_t msix_ctrl(const struct msix *m)
{
    return pci_read16(m->dev, (uint16_t)(m->cap + PCI_MSIX_FLAGS));
}

static void msix_ctrl_update(struct msix *m, uint16_t set, uint16_t clear)
{
    uint16_t v = (uint16_t)((msix_ctrl(m) | set) & ~clear);
    pci_write16(m->dev, (uint16_t)(m->cap + PCI_MSIX_FLAGS), v);
}

/* Maps [off, off+len) of the BAR named by a Table/PBA register. */
static volatile void *map_region(struct pci_dev *dev, uint32_t reg, uint64_t len, const char *what)
{
    unsigned bir = reg & PCI_MSIX_TABLE_BIR;
    uint32_t off = reg & PCI_MSIX_TABLE_OFFSET;
    volatile void *p = pci_bar_map_range(dev, bir, off, len);
    if (!p)
        log_warn("msix: %02x:%02x.%x cannot map %s (BAR%u + 0x%x, %llu bytes)", dev->bus,
                 dev->dev, dev->fn, what, bir, (unsigned)off, (unsigned long long)len);
    return p;
}

int msix_init(struct msix *m, struct pci_dev *dev)
{
    *m = (struct msix){ .dev = dev };
    m->cap = pci_find_cap(dev, PCI_CAP_ID_MSIX);
    if (!m->cap) {
        log_debug("msix: %02x:%02x.%x has no MSI-X capability", dev->bus, dev->dev, dev->fn);
        return -1;
    }
    m->table_size = (uint16_t)((msix_ctrl(m) & PCI_MSIX_FLAGS_QSIZE) + 1);
    uint32_t table_reg = pci_read32(dev, (uint16_t)(m->cap + PCI_MSIX_TABLE));
    uint32_t pba_reg = pci_read32(dev, (uint16_t)(m->cap + PCI_MSIX_PBA));

    m->table = map_region(dev, table_reg, (uint64_t)m->table_size * PCI_MSIX_ENTRY_SIZE, "table");
    /* One pending bit per entry, in qwords (PCI 3.0 §6.8.2.10). */
    m->pba = map_region(dev, pba_reg, ((m->table_size + 63u) / 64u) * 8u, "PBA");
    if (!m->table || !m->pba) {
        m->table = NULL;
        m->pba = NULL;
        m->cap = 0;
        return -1;
    }
    pci_enable_mem(dev);
    log_debug("msix: %02x:%02x.%x table %u entries at BAR%u+0x%x", dev->bus, dev->dev, dev->fn,
              m->table_size, (unsigned)(table_reg & PCI_MSIX_TABLE_BIR),
              (unsigned)(table_reg & PCI_MSIX_TABLE_OFFSET));
    return 0;
}

void msix_mask(struct msix *m, unsigned entry)
{
    if (entry >= m->table_size)
        return;
    volatile uint32_t *ctl = &m->table[entry].vector_ctrl;
    mmio_write32(ctl, mmio_read32(ctl) | PCI_MSIX_ENTRY_CTRL_MASKBIT);
    (void)mmio_read32(ctl);     /* flush the posted write: masked from here on */
}

void msix_unmask(struct msix *m, unsigned entry)
{
    if (entry >= m->table_size)
        return;
    volatile uint32_t *ctl = &m->table[entry].vector_ctrl;
    mmio_write32(ctl, mmio_read32(ctl) & ~PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

bool msix_is_masked(const struct msix *m, unsigned entry)
{
    if (entry >= m->table_size)
        return true;
    return mmio_read32(&m->table[entry].vector_ctrl) & PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

bool msix_pending(const struct msix *m, unsigned entry)
{
    if (entry >= m->table_size)
        return false;
    return (mmio_read32(&m->pba[entry / 32]) >> (entry % 32)) & 1u;
}

void msix_enable(struct msix *m)
{
    /* Enable with Function Mask in one write: the table is live from here,
     * and stale unmasked entries from firmware must not fire meanwhile. */
    msix_ctrl_update(m, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 0);
    for (unsigned i = 0; i < m->table_size; i++)
        msix_mask(m, i);
    pci_command_update(m->dev, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 0);
    pci_intx_enable(m->dev, false);
}

void msix_function_unmask(struct msix *m)
{
    msix_ctrl_update(m, 0, PCI_MSIX_FLAGS_MASKALL);
}

void msix_disable(struct msix *m)
{
    if (!m->cap)
        return;
    msix_ctrl_update(m, PCI_MSIX_FLAGS_MASKALL, 0);
    for (unsigned i = 0; i < m->table_size; i++)
        msix_mask(m, i);
    msix_ctrl_update(m, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
}

int msix_set_message(struct msix *m, unsigned entry, uint64_t addr, uint32_t data)
{
    if (entry >= m->table_size)
        return -1;
    /* Changing address/data of an unmasked entry could deliver a torn
     * message (PCI 3.0 §6.8.3.5): mask, write, leave masked. */
    msix_mask(m, entry);
    volatile struct pci_msix_entry *e = &m->table[entry];
    mmio_write32(&e->msg_addr_lo, (uint32_t)addr);
    mmio_write32(&e->msg_addr_hi, (uint32_t)(addr >> 32));
    mmio_write32(&e->msg_data, data);
    return 0;
}

int msix_set_vector(struct msix *m, unsigned entry, int vector)
{
    if (vector < 0x10 || vector > 0xfe)
        return -1;
    return msix_set_message(m, entry, msi_address(), msi_data(vector));
}
