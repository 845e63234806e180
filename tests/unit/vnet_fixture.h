/* The virtio-net driver fixture shared by test_virtio_net.c (RX, NAPI, the
 * release path) and test_virtio_net_tx.c (TX, TSO, interrupt handlers): the
 * real drivers/net/virtio_net_rx.c and virtio_net_tx.c, with the real
 * virtqueue, NAPI and softirq code, against the simulated device
 * (sim_device.c) working on the real ring memory.
 *
 * A struct vnet is put together by hand, as create_queues() + vnet_open()
 * do, minus PCI. The queue interrupt handlers are the real ones
 * (vnet_rx_irq, vnet_tx_irq); delivery honours the simulated IF: an
 * interrupt raised while IF is clear is taken at the irq_restore that sets
 * it again, as on the CPU.
 *
 * Test doubles (vnet_fixture.c): kernel/timer.h (ktimer_arm records, the
 * test fires), kernel/log.h (klog counts), dma_alloc failure knobs in
 * test_support.c. Include after <cmocka.h>. */
#ifndef TESTS_UNIT_VNET_FIXTURE_H
#define TESTS_UNIT_VNET_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/virtio_net_priv.h"
#include "kernel/log.h"
#include "kernel/timer.h"
#include "tests/unit/sim_device.h"

#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define MAX_REC 128
#define MAX_HELD 1024

/* ---- the fixture: one queue pair ---- */

struct fx_cfg {
    unsigned rx_num, tx_num;
    bool event_idx, indirect, mergeable;
    int weight;
};

extern const struct fx_cfg DEFAULT_CFG;

struct rx_rec {
    unsigned nfrags;
    struct netdev_rx_frag frags[VNET_MAX_MERGE];
    uint32_t total;
    uint8_t *bytes; /* the frame, frags concatenated */
    unsigned flags; /* NETDEV_RX_* */
};

struct fx {
    struct vnet vn;
    struct vnet_rxq *rq;
    struct vnet_txq *tq;
    struct sim_device rxd, txd;
    long dma_base;

    /* interrupts */
    bool rx_irq_pending, tx_irq_pending;
    unsigned long tx_irqs;            /* TX interrupts delivered */
    bool tx_complete_on_kick;         /* a device that finishes all at once when kicked */
    bool tx_broken_ok;                /* the test broke the TX queue on purpose */

    /* upper layer */
    struct rx_rec rx[MAX_REC];
    unsigned nrx;
    void *held[MAX_HELD]; /* RX buffers the upper layer holds */
    unsigned nheld;
    void *done[MAX_REC];  /* tx_done tokens, in call order */
    unsigned ndone;
    unsigned wakes;
    bool in_xmit;
    unsigned wake_xmits;  /* frames tx_wake sends, as netif's backlog drain */
    unsigned wake_xmit_ok;

    uint64_t dev_addr[64]; /* buffers the device wrote in the last dev_rx */

    /* injection points */
    void (*after_rx)(unsigned nrx); /* after each rx upcall */
    void (*on_rx_kick)(void);       /* once, at the next RX queue notify */
    void (*on_irq_save)(void);      /* once, at the next irq_save */
};

/* test doubles' records */
extern unsigned nlog[LOG_DEBUG + 1];
extern unsigned self_ipis;
extern unsigned timer_rearmed_while_armed;
extern uint64_t timer_last_delay;
void timer_fire(struct ktimer *t);
extern unsigned vq_warns;
/* the fixture, its upper layer and interrupt lines */
extern struct fx *F;
extern uint8_t tx_payload[MAX_REC][256];
enum netdev_tx xmit(const struct netdev_tx_sg *sg, unsigned nsg,
                    const struct netdev_tx_offload *off, void *token);
enum netdev_tx xmit_one(unsigned i, uint32_t len);
void rx_irq_handler(struct vnet_rxq *rq);
void tx_irq_handler(struct vnet_txq *tq);
void hook_irq_enable(void);
void fx_open(const struct fx_cfg *c);
void fx_start(void);
unsigned rx_posted(void);
void check_rx_accounting(void);
void fx_close(void);
int setup(void **state);
int teardown(void **state);
/* frames as the device writes them */
uint8_t pat(unsigned seed, unsigned i);
uint32_t put_frame(uint8_t *out, uint16_t num_buffers, uint32_t frame_len, unsigned seed);
void check_frame(const struct rx_rec *r, uint32_t frame_len, unsigned seed);
bool dev_rx(const struct sim_data *items, unsigned n);
bool dev_rx_frames(unsigned n, uint32_t frame_len, unsigned seed);
void run_softirqs(void);
bool rx_cb_enabled(void);
extern unsigned timer_arms;
unsigned rx_free_list_len(void);
void release_held(void);
bool tx_cb_enabled(void);

/* Two cmocka tests: off running fn(false), on running fn(true). */
#define TEST_PAIR(off, on, fn)                                                     \
    static void off(void **s)                                                      \
    {                                                                              \
        (void)s;                                                                   \
        fn(false);                                                                 \
    }                                                                              \
    static void on(void **s)                                                       \
    {                                                                              \
        (void)s;                                                                   \
        fn(true);                                                                  \
    }

/* test_<name>_flags and test_<name>_event_idx, running fn(event_idx). */
#define BOTH_RING_SCHEMES(name, fn) TEST_PAIR(name##_flags, name##_event_idx, fn)

/* test_<name> and test_<name>_indirect, running fn(indirect). */
#define DIRECT_AND_INDIRECT(name, fn) TEST_PAIR(name, name##_indirect, fn)

#endif
