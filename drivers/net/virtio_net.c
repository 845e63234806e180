/* virtio-net device: probe, feature negotiation, queue and interrupt set-up,
 * and the interrupt handlers (virtio 1.x 5.1, 3.1.1; Linux virtio_net.c).
 *
 * Interrupt handlers run with interrupts off and touch no packet: RX masks
 * its queue (napi mode) and schedules the queue's NAPI entry; TX and config
 * raise the NET_TX softirq. The rest runs in the main loop. */
#include <stdio.h>
#include <string.h>

#include "drivers/net/virtio_net.h"
#include "drivers/net/virtio_net_priv.h"
#include "drivers/virtio/virtio_ring_reg.h"
#include "kernel/barrier.h"
#include "kernel/clock.h"
#include "kernel/dma.h"
#include "kernel/log.h"
#include "kernel/softirq.h"

/* What we can drive. VERSION_1 is required; the rest is taken if offered. */
#define VNET_FEATURES_WANTED                                                        \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) |                    \
     (1ull << VIRTIO_NET_F_STATUS) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |             \
     (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |              \
     (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC))
/* Multiqueue, taken when the device's pair count fits NETDEV_MAX_QUEUES:
 * each RX queue gets its own vector and NAPI entry, so the device's flow
 * steering spreads load over entries that net_rx_action rotates. */
#define VNET_FEATURES_MQ ((1ull << VIRTIO_NET_F_CTRL_VQ) | (1ull << VIRTIO_NET_F_MQ))
#define VNET_CTRL_TIMEOUT_US 1000000

static struct vnet the_vnet;    /* one device; queues point back to it */

static const struct {
    unsigned bit;
    const char *name;
} feature_names[] = {
    { VIRTIO_NET_F_CSUM, "CSUM" }, { VIRTIO_NET_F_GUEST_CSUM, "GUEST_CSUM" },
    { VIRTIO_NET_F_MTU, "MTU" }, { VIRTIO_NET_F_MAC, "MAC" },
    { VIRTIO_NET_F_GUEST_TSO4, "GUEST_TSO4" }, { VIRTIO_NET_F_HOST_TSO4, "HOST_TSO4" },
    { VIRTIO_NET_F_GUEST_TSO6, "GUEST_TSO6" }, { VIRTIO_NET_F_HOST_TSO6, "HOST_TSO6" },
    { VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF" }, { VIRTIO_NET_F_STATUS, "STATUS" },
    { VIRTIO_NET_F_CTRL_VQ, "CTRL_VQ" }, { VIRTIO_NET_F_MQ, "MQ" },
    { VIRTIO_F_INDIRECT_DESC, "INDIRECT_DESC" }, { VIRTIO_F_EVENT_IDX, "EVENT_IDX" },
    { VIRTIO_F_VERSION_1, "VERSION_1" },
};

static void log_features(const char *what, uint64_t f)
{
    char names[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
        if ((f >> feature_names[i].bit) & 1) {
            int n = snprintf(names + used, sizeof(names) - used, " %s", feature_names[i].name);
            if (n > 0 && (size_t)n < sizeof(names) - used)
                used += (size_t)n;
        }
    }
    log_info("virtio-net: %s 0x%016llx:%s", what, (unsigned long long)f, names);
}

/* --- interrupt context --- */

/* The queue handlers, vnet_rx_irq and vnet_tx_irq, live with their queues. */

static void config_irq(void *ctx)
{
    struct vnet *vn = ctx;
    vn->dev.c.irq_config++;
    vn->config_changed = true;
    softirq_raise(SOFTIRQ_NET_TX);
}

/* --- main loop --- */

static void read_link(struct vnet *vn)
{
    bool up = true;     /* without VIRTIO_NET_F_STATUS the link is always up */
    if (vnet_has(vn, VIRTIO_NET_F_STATUS)) {
        uint16_t status = 0;
        if (virtio_pci_read_config(&vn->vpci, offsetof(struct virtio_net_config, status),
                                   &status, sizeof(status)) == 0)
            up = status & VIRTIO_NET_S_LINK_UP;
    }
    if (up != vn->dev.link_up) {
        vn->dev.link_up = up;
        if (vn->dev.link_changed)
            vn->dev.link_changed(&vn->dev);
    }
}

/* Acts on a config interrupt (set in IRQ context, cleared here). */
static void config_change(struct vnet *vn)
{
    if (vn->config_changed) {
        vn->config_changed = false;
        read_link(vn);
    }
}

/* NET_TX softirq: config change (TX completions have their NAPI entry). */
static void vnet_tx_softirq(void)
{
    config_change(&the_vnet);
}

static void vnet_poll_all(struct netdev *dev, int budget)
{
    struct vnet *vn = dev->priv;
    for (unsigned i = 0; i < vn->pairs; i++) {
        vnet_rx_receive(&vn->rxq[i], budget);
        vnet_tx_clean(&vn->txq[i]);
    }
    config_change(vn);
}

static int vnet_open(struct netdev *dev)
{
    struct vnet *vn = dev->priv;
    if (dev->rx_upper_room > VNET_RX_UPPER_ROOM) {
        log_error("virtio-net: upper layer wants %u bytes per buffer, have %u",
                  dev->rx_upper_room, VNET_RX_UPPER_ROOM);
        return -1;
    }
    for (unsigned i = 0; i < vn->pairs; i++) {
        if (vnet_rx_open(&vn->rxq[i]) != 0) {
            log_error("virtio-net: no memory for receive buffers");
            return -1;
        }
    }
    log_info("virtio-net: %u RX buffers of %u bytes posted per queue, mode %s",
             vq_num(vn->rxq[0].vq) - vq_num_free(vn->rxq[0].vq), VNET_RX_BUF_SIZE,
             net_mode_name(vn->mode));
    return 0;
}

static const struct netdev_ops vnet_ops = {
    .xmit = vnet_xmit,
    .xmit_flush = vnet_xmit_flush,
    .rx_buf_release = vnet_rx_buf_release,
    .poll_all = vnet_poll_all,
    .open = vnet_open,
    .device_errors = vnet_device_errors,
};

static void vq_warn(struct virtqueue *vq, const char *why)
{
    /* The ring is unusable from here on; say so loudly (tests watch it). */
    log_error("virtio-net: queue %u broken: %s", vq_index(vq), why);
}

/* Ring sizes we ask for: 1024 (Linux's default) for data, 64 for control. */
#define VNET_RING_WISH 1024
#define VNET_CTRL_RING_WISH 64

static int create_queues(struct vnet *vn, const char **reason)
{
    struct virtio_vq_spec spec[2 * NETDEV_MAX_QUEUES + 1];
    bool ctrl = vnet_has(vn, VIRTIO_NET_F_CTRL_VQ);
    unsigned nvqs = 2 * vn->pairs + (ctrl ? 1 : 0);
    /* net.mode=poll: no queue vector at all. With EVENT_IDX the ring's
     * NO_INTERRUPT flag is only a hint the device may ignore. */
    bool irqs = vn->mode != NET_MODE_POLL;
    for (unsigned i = 0; i < vn->pairs; i++) {
        struct vnet_rxq *rq = &vn->rxq[i];
        struct vnet_txq *tq = &vn->txq[i];
        *rq = (struct vnet_rxq){ .vn = vn, .index = i, .irq_vector = -1 };
        *tq = (struct vnet_txq){ .vn = vn, .index = i };
        spec[VIRTIO_NET_RXQ(i)] = (struct virtio_vq_spec){
            .name = "rx", .callback = irqs ? vnet_rx_irq : NULL, .ctx = rq,
            .size = VNET_RING_WISH, .vq = &rq->vq, .vector = &rq->irq_vector,
        };
        spec[VIRTIO_NET_TXQ(i)] = (struct virtio_vq_spec){
            .name = "tx", .callback = irqs ? vnet_tx_irq : NULL, .ctx = tq,
            .size = VNET_RING_WISH, .vq = &tq->vq,
        };
    }
    if (ctrl) {
        /* The control queue: polled at set-up, no interrupt. */
        spec[VIRTIO_NET_CTRLQ(vn->pairs)] = (struct virtio_vq_spec){
            .name = "ctrl", .size = VNET_CTRL_RING_WISH, .no_indirect = true, .vq = &vn->ctrlq,
        };
    }
    if (virtio_pci_find_vqs(&vn->vpci, nvqs, spec, config_irq, vn, VIRTIO_PCI_IRQ_MSIX_PER_VQ,
                            reason) != 0)
        return -1;
    if (vn->ctrlq)
        vq_disable_cb(vn->ctrlq);
    for (unsigned i = 0; i < vn->pairs; i++) {
        if (vnet_rx_init(&vn->rxq[i]) != 0 || vnet_tx_init(&vn->txq[i]) != 0) {
            *reason = "out of memory for queue state";
            return -1;
        }
    }
    return 0;
}

/* After a failed create_queues and the device reset (it no longer reads
 * the rings): give back what was allocated. */
static void destroy_queues(struct vnet *vn)
{
    for (unsigned i = 0; i < vn->pairs; i++) {
        vnet_tx_free(&vn->txq[i]);
        vn->rxq[i].vq = vn->txq[i].vq = NULL;
    }
    virtio_pci_del_vqs(&vn->vpci);
    vn->ctrlq = NULL;
}

/* One control command, waited for by polling (boot only, after DRIVER_OK;
 * 5.1.6.5). Returns the device's ack, or -1 when it did not answer. */
static int ctrl_command(struct vnet *vn, uint8_t class, uint8_t cmd, const void *data,
                        uint32_t len)
{
    struct ctrl_buf {
        struct virtio_net_ctrl_hdr hdr;       /* read by device */
        uint8_t data[8];                      /* read by device */
        uint8_t ack;                          /* written by device */
    } *b = dma_alloc(sizeof(struct ctrl_buf), 16);
    if (!b || len > sizeof(b->data)) {
        dma_free(b);
        return -1;
    }
    b->hdr = (struct virtio_net_ctrl_hdr){ class, cmd };
    memcpy(b->data, data, len);
    b->ack = 0xff;
    struct vq_sg sg[3] = {
        { dma_addr(&b->hdr), sizeof(b->hdr) },
        { dma_addr(b->data), len },
        { dma_addr(&b->ack), 1 },
    };
    int ack = -1;
    if (vq_add_sgs(vn->ctrlq, sg, 2, 1, b) == 0) {
        vq_kick(vn->ctrlq);
        uint64_t deadline = clock_now_us() + VNET_CTRL_TIMEOUT_US;
        uint32_t used_len;
        while (!vq_get_buf(vn->ctrlq, &used_len) && !vq_is_broken(vn->ctrlq)) {
            if (clock_now_us() > deadline) {
                /* The buffer stays with the device: do not free it. */
                log_error("virtio-net: control command %u.%u timed out", class, cmd);
                return -1;
            }
            __asm__ __volatile__("pause");
        }
        ack = READ_ONCE(b->ack);
    }
    dma_free(b);
    return ack;
}

/* The device starts with one pair active (5.1.6.5.5): ask for them all. */
static void enable_all_pairs(struct vnet *vn)
{
    if (vn->pairs < 2)
        return;
    uint16_t pairs = (uint16_t)vn->active_pairs;
    int ack = ctrl_command(vn, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
                           sizeof(pairs));
    if (ack != VIRTIO_NET_OK) {
        /* Only pair 0 carries traffic; the others stay posted and idle. */
        log_warn("virtio-net: device refused %u queue pairs (ack %d): using 1", pairs, ack);
        vn->active_pairs = 1;
        vn->dev.num_queues = 1;
        return;
    }
}

/* Pairs the device offers (all of them are set up: the control queue's
 * index follows the last one), 1 when multiqueue is not wanted, not
 * offered or does not fit. */
static unsigned offered_pairs(struct vnet *vn, uint64_t offered, unsigned wanted)
{
    if (wanted < 2 || (offered & VNET_FEATURES_MQ) != VNET_FEATURES_MQ)
        return 1;
    uint16_t max = 1;
    /* Reading device config before FEATURES_OK is allowed (3.1.1 step 4). */
    virtio_pci_read_config(&vn->vpci, offsetof(struct virtio_net_config, max_virtqueue_pairs),
                           &max, sizeof(max));
    if (max < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || max > NETDEV_MAX_QUEUES) {
        log_info("virtio-net: device offers %u queue pairs, driver takes up to %u: "
                 "multiqueue not used", max, NETDEV_MAX_QUEUES);
        return 1;
    }
    return max;
}

struct netdev *virtio_net_probe(enum net_mode mode, unsigned max_pairs, const char **reason)
{
    struct vnet *vn = &the_vnet;
    struct pci_dev *pci = virtio_pci_find(VIRTIO_ID_NET, NULL);
    if (!pci) {
        *reason = "no virtio-net PCI function found";
        return NULL;
    }
    memset(vn, 0, sizeof(*vn));
    vn->mode = mode;
    vq_warn_hook = vq_warn;
    if (virtio_pci_init(&vn->vpci, pci, reason) != 0)
        return NULL;

    uint64_t offered = virtio_pci_get_features(&vn->vpci);
    log_features("features offered", offered);
    if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
        virtio_pci_fail(&vn->vpci);
        *reason = "device does not offer VIRTIO_F_VERSION_1";
        return NULL;
    }
    vn->pairs = offered_pairs(vn, offered, max_pairs);
    vn->active_pairs = vn->pairs < max_pairs ? vn->pairs : max_pairs;
    vn->features = offered & (VNET_FEATURES_WANTED | (vn->pairs > 1 ? VNET_FEATURES_MQ : 0));
    /* Receive segmentation offload: the device may hand us TCP segments of
     * up to 64 KiB (already one frame, as Linux GRO would build it) spread
     * over merged buffers. Only with MRG_RXBUF (our buffers are 2 KiB) and
     * GUEST_CSUM (the spec requires it; such frames come NEEDS_CSUM). */
    const uint64_t tso_rx = (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6);
    const uint64_t tso_rx_needs = (1ull << VIRTIO_NET_F_MRG_RXBUF) | (1ull << VIRTIO_NET_F_GUEST_CSUM);
    if ((vn->features & tso_rx_needs) == tso_rx_needs)
        vn->features |= offered & tso_rx;
    /* Segmentation offload (5.1.3.1: HOST_TSO4 and HOST_TSO6 require CSUM):
     * we hand the device TCP super-segments to cut up. No HOST_ECN: we send
     * no ECN. */
    const uint64_t tso_tx = (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6);
    if (vnet_has(vn, VIRTIO_NET_F_CSUM))
        vn->features |= offered & tso_tx;
    /* net.mode=irq is the unmitigated baseline: without the event index the
     * device interrupts for every used buffer while the queue is armed,
     * which irq mode never stops doing (the pre-NAPI behaviour). */
    if (mode == NET_MODE_IRQ)
        vn->features &= ~(1ull << VIRTIO_F_EVENT_IDX);
    virtio_pci_set_features(&vn->vpci, vn->features);
    if (virtio_pci_features_ok(&vn->vpci) != 0) {
        virtio_pci_fail(&vn->vpci);
        *reason = "device refused the feature set (FEATURES_OK cleared)";
        return NULL;
    }
    log_features("features accepted", vn->features);
    vn->mergeable = vnet_has(vn, VIRTIO_NET_F_MRG_RXBUF);

    struct netdev *dev = &vn->dev;
    dev->name = "virtio-net0";
    dev->ops = &vnet_ops;
    dev->priv = vn;
    dev->mtu = 1500;
    dev->tx_csum_offload = vnet_has(vn, VIRTIO_NET_F_CSUM);
    dev->tx_tso = vnet_has(vn, VIRTIO_NET_F_HOST_TSO4);
    dev->tx_tso6 = vnet_has(vn, VIRTIO_NET_F_HOST_TSO6);
    dev->irq_spurious = &vn->vpci.intx_spurious;
    if (vnet_has(vn, VIRTIO_NET_F_MAC)) {
        virtio_pci_read_config(&vn->vpci, offsetof(struct virtio_net_config, mac), dev->mac, 6);
    } else {
        /* Locally administered, fixed: 02:00:00:00:00:01. */
        static const uint8_t fallback[6] = { 0x02, 0, 0, 0, 0, 0x01 };
        memcpy(dev->mac, fallback, 6);
    }
    /* Queue pairs the stack sends on and the device steers to; the rest
     * are set up but idle. */
    dev->num_queues = vn->active_pairs;

    softirq_register(SOFTIRQ_NET_TX, vnet_tx_softirq);
    if (create_queues(vn, reason) != 0) {
        virtio_pci_teardown(&vn->vpci);
        destroy_queues(vn);
        return NULL;
    }
    virtio_pci_driver_ok(&vn->vpci);
    enable_all_pairs(vn);
    read_link(vn);
    log_info("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x, link %s, %u queue pair(s), "
             "rx ring %u, tx ring %u, irq %s",
             dev->mac[0], dev->mac[1], dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5],
             dev->link_up ? "up" : "down", vn->active_pairs, vq_num(vn->rxq[0].vq),
             vq_num(vn->txq[0].vq), virtio_pci_irq_mode_name(vn->vpci.irq_mode));
    return dev;
}
