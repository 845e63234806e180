/* The virtio-net NAPI/virtqueue notification protocol, as the C code does it,
 * on x86-TSO. One driver CPU (main loop + interrupt handlers), one device.
 *
 * Steps are named after the C functions they stand for:
 *   drivers/virtio/virtqueue.c  vq_add_sgs vq_kick_prepare vq_notify vq_get_buf
 *                               vq_disable_cb vq_enable_cb_prepare vq_poll
 *                               vq_enable_cb_delayed
 *   drivers/net/virtio_net.c    rx_irq tx_irq vnet_tx_softirq
 *   drivers/net/virtio_net_rx.c vnet_rx_poll vnet_rx_receive (refill)
 *   drivers/net/virtio_net_tx.c vnet_xmit (tx_post) tx_stop vnet_tx_reclaim tx_wake
 *   kernel/napi.c               napi_schedule_prep napi_schedule_commit
 *                               napi_complete_done napi_reschedule net_rx_action
 *   kernel/softirq.c, idle.c    softirq_run, kernel_idle (cli; check; sti;hlt)
 *
 * Memory: each side has a FIFO store buffer (TSO): its stores reach memory
 * in order, some time later (the *_sb_flush processes); its own loads see
 * its buffered stores first; mb() drains the buffer. So the model itself
 * shows why each fence is there: build with one of the MUTANT_* macros and
 * SPIN finds the lost notification (tests/model/run.sh).
 *
 * Checked: assertions (safety) and `ltl live` under weak fairness: every
 * buffer the device fills is polled, every packet sent is reclaimed, and a
 * stopped TX queue is woken.
 *
 * EVENT_IDX: VIRTIO_F_EVENT_IDX negotiated (used_event / avail_event),
 * else the ring flags (VIRTQ_AVAIL_F_NO_INTERRUPT / VIRTQ_USED_F_NO_NOTIFY).
 * Ring indices are mod 256 here (16 bits in C); vring_need_event is the
 * same mod-2^n formula. */

#ifndef RX_TOTAL
#define RX_TOTAL 3      /* frames the device delivers */
#endif
#ifndef TX_TOTAL
#define TX_TOTAL 3      /* frames the stack sends */
#endif
#define RX_RING 2       /* RX buffers posted at once */
#define TX_RING 2       /* TX ring slots */
#define WEIGHT 2        /* napi weight */
#define BUDGET 3        /* net_rx_action budget */
#define SB 3            /* store buffer depth */

/* Shared memory. Driver-written: */
#define RX_AVAIL_IDX 0
#define RX_EVENT     1  /* used_event (EVENT_IDX) or avail->flags */
#define TX_AVAIL_IDX 2
#define TX_EVENT     3
/* Device-written: */
#define RX_USED_IDX  4
#define TX_USED_IDX  5
#define TX_KICK_EV   6  /* avail_event (EVENT_IDX) or used->flags */
byte mem[7];

#define NO_FLAG 1       /* VIRTQ_AVAIL_F_NO_INTERRUPT == VIRTQ_USED_F_NO_NOTIFY == 1 */
#define need_event(ev, nw, old) ((((nw) - (ev) - 1) & 255) < (((nw) - (old)) & 255))

/* ---- store buffers ---- */
byte cpu_sb_a[SB], cpu_sb_v[SB], cpu_sb_n;   /* driver CPU */
byte dev_sb_a[SB], dev_sb_v[SB], dev_sb_n;   /* device */

/* For P in cpu, dev: P_store, P_load (forwarding from the own buffer),
 * P_mb (mb(): the lock-prefixed add waits until the buffer is drained),
 * P_flush1 (oldest entry to memory). A store into a full buffer first
 * drains the oldest entry (the CPU stalls for it): it never blocks, so an
 * interrupt handler stays one atomic step. */
#define SB_OPS(P) \
inline P##_flush1() { \
    mem[P##_sb_a[0]] = P##_sb_v[0]; \
    P##_sb_a[0] = P##_sb_a[1]; P##_sb_v[0] = P##_sb_v[1]; \
    P##_sb_a[1] = P##_sb_a[2]; P##_sb_v[1] = P##_sb_v[2]; \
    P##_sb_a[2] = 0; P##_sb_v[2] = 0; \
    P##_sb_n-- \
} \
inline P##_store(a, v) { \
    d_step { \
        if :: P##_sb_n == SB -> P##_flush1() :: else fi; \
        P##_sb_a[P##_sb_n] = a; P##_sb_v[P##_sb_n] = v; P##_sb_n++ \
    } \
} \
inline P##_mb() { \
    d_step { do :: P##_sb_n > 0 -> P##_flush1() :: else -> break od } \
} \
inline P##_load(a, r) { \
    d_step { \
        r = mem[a]; \
        if :: P##_sb_n > 0 && P##_sb_a[0] == a -> r = P##_sb_v[0] :: else fi; \
        if :: P##_sb_n > 1 && P##_sb_a[1] == a -> r = P##_sb_v[1] :: else fi; \
        if :: P##_sb_n > 2 && P##_sb_a[2] == a -> r = P##_sb_v[2] :: else fi \
    } \
}
SB_OPS(cpu)
SB_OPS(dev)

active proctype cpu_sb_flush() {
end: do :: d_step { cpu_sb_n > 0 -> cpu_flush1() } od
}
active proctype dev_sb_flush() {
end: do :: d_step { dev_sb_n > 0 -> dev_flush1() } od
}

/* ---- driver state (one CPU: main loop and interrupt handlers) ---- */
bit IF = 1;                 /* RFLAGS.IF */
bit halted;                 /* in hlt */
bit rx_irq, tx_irq;         /* MSI-X vector pending at the LAPIC */
byte softirq;               /* pending softirq bits */
#define NET_RX 1
#define NET_TX 2

/* struct napi of the RX queue */
#define SCHED 1
#define MISSED 2
byte napi_state;
byte napi_lists;            /* lists the entry is on: must stay <= 1 */
bit napi_local;             /* on net_rx_action's private list (else the global one) */
bit in_poll;

/* struct virtqueue, driver-private (shadows) */
byte rx_last_used, rx_avail_shadow, rx_off = 1;   /* rx_off: NO_INTERRUPT in avail_flags_shadow */
byte tx_last_used, tx_avail_shadow, tx_off = 1, tx_kick_old;
/* virtio_net_tx.c */
bit tx_stopped, kick_pending;

/* ---- the device ---- */
byte dev_rx_last_avail, dev_rx_used, dev_tx_last_avail, dev_tx_used;
bit dev_tx_sleeping, kicked;

/* Every frame received was polled; every frame was sent (so a stopped queue
 * was woken each time) and reached the device (no kick lost). */
#define delivered (rx_last_used == RX_TOTAL && tx_avail_shadow == TX_TOTAL && \
                   dev_tx_last_avail == TX_TOTAL)
ltl live { <> delivered }

/* ---- drivers/virtio/virtqueue.c ---- */

inline vq_disable_cb(EV, off, last_used) {
    if
    :: !off ->
        off = 1;
#ifdef EVENT_IDX
        cpu_store(EV, (last_used - 1) & 255)
#else
        cpu_store(EV, NO_FLAG)
#endif
    :: else
    fi
}

inline vq_enable_cb_prepare(EV, off, last_used, opaque) {
#ifdef EVENT_IDX
    off = 0;
    cpu_store(EV, last_used);
#else
    if :: off -> off = 0; cpu_store(EV, 0) :: else fi;
#endif
    opaque = last_used
}

/* True if the used idx moved past opaque. */
inline vq_poll(USED, opaque, r) {
#ifndef MUTANT_POLL_FENCE
    cpu_mb();
#endif
    cpu_load(USED, t);
    r = (t != opaque)
}

/* One used buffer, if any: got = 1. With callbacks on and event idx, ask for
 * the interrupt at the next entry, fenced before the next used idx load. */
inline vq_get_buf(EV, USED, off, last_used, got) {
    cpu_load(USED, t);
    if
    :: t != last_used ->
        last_used = (last_used + 1) & 255;
        got = 1;
#ifdef EVENT_IDX
        if
        :: !off ->
            cpu_store(EV, last_used);
#ifndef MUTANT_GETBUF_FENCE
            cpu_mb()
#endif
        :: else
        fi
#endif
    :: else -> got = 0
    fi
}

/* TX only (RX buffers are posted with the device polling RX avail). */
inline vq_kick_prepare(r) {
#ifndef MUTANT_KICK_FENCE
    cpu_mb();
#endif
    if
    :: tx_avail_shadow == tx_kick_old -> r = 0
    :: else ->
        cpu_load(TX_KICK_EV, t);
#ifdef EVENT_IDX
        r = need_event(t, tx_avail_shadow, tx_kick_old);
#else
        r = !(t & NO_FLAG);
#endif
        tx_kick_old = tx_avail_shadow
    fi
}

/* The notify register write: uncached, so it is ordered after our stores. */
inline vq_notify() {
    cpu_mb();
    kicked = 1
}

/* vq_enable_cb_delayed: false if more than 3/4 of the outstanding buffers
 * are already used (then nobody will interrupt: reclaim now). */
inline vq_enable_cb_delayed(r) {
#ifdef EVENT_IDX
    tx_off = 0;
    bufs = (((tx_avail_shadow - tx_last_used) & 255) * 3) / 4;
    cpu_store(TX_EVENT, (tx_last_used + bufs) & 255);
#ifndef MUTANT_DELAYED_FENCE
    cpu_mb();
#endif
    cpu_load(TX_USED_IDX, t);
    r = (((t - tx_last_used) & 255) <= bufs)
#else
    vq_enable_cb_prepare(TX_EVENT, tx_off, tx_last_used, opaque);
    vq_poll(TX_USED_IDX, opaque, r);
    r = !r
#endif
}

/* ---- kernel/napi.c ---- */

inline q_push() {
    assert(napi_lists == 0);     /* never queued twice */
    napi_lists = 1;
    napi_local = 0
}

/* Returns r = 1 if it took SCHED. */
inline napi_schedule_prep(r) {
    d_step {
        r = !(napi_state & SCHED);
#ifndef MUTANT_NO_MISSED
        if :: (napi_state & SCHED) && napi_lists == 0 -> napi_state = napi_state | MISSED :: else fi;
#endif
        napi_state = napi_state | SCHED
    }
}

inline napi_schedule_commit() {
    atomic {
        if :: napi_lists == 0 -> q_push() :: else fi;
        softirq = softirq | NET_RX
    }
}

inline napi_complete_done(r) {
    atomic {
        if
        :: napi_state & MISSED ->
            napi_state = SCHED;
            if :: napi_lists == 0 -> q_push() :: else fi;
            softirq = softirq | NET_RX;
            r = 0
        :: else ->
            napi_state = 0;
            r = 1
        fi
    }
}

/* ---- interrupt handlers (drivers/net/virtio_net.c), run with IF = 0 ---- */

inline rx_irq_handler() {
    napi_schedule_prep(p);
    if
    :: p ->
#ifndef MUTANT_NO_IRQ_MASK
        vq_disable_cb(RX_EVENT, rx_off, rx_last_used);
#endif
        napi_schedule_commit()
    :: else
    fi
}

inline tx_irq_handler() {
    vq_disable_cb(TX_EVENT, tx_off, tx_last_used);
    softirq = softirq | NET_TX
}

/* Interrupt delivery: whenever IF is set (also wakes hlt). */
active proctype interrupts() {
    bit p;
    byte t;
end:
    do
    :: atomic { IF && rx_irq -> rx_irq = 0; halted = 0; IF = 0; rx_irq_handler(); IF = 1 }
    :: atomic { IF && tx_irq -> tx_irq = 0; halted = 0; IF = 0; tx_irq_handler(); IF = 1 }
    od
}

/* ---- the device (QEMU virtio.c: virtqueue_push, virtio_notify) ---- */
active proctype device() {
    byte t, old;
end:
    do
    :: /* RX: a frame arrives, into the next posted buffer */
        atomic { mem[RX_AVAIL_IDX] != dev_rx_last_avail ->
            dev_rx_last_avail = (dev_rx_last_avail + 1) & 255;
            old = dev_rx_used;
            dev_rx_used = (dev_rx_used + 1) & 255 };
        dev_store(RX_USED_IDX, dev_rx_used);
        dev_mb();            /* idx before reading used_event/flags */
        t = mem[RX_EVENT];
#ifdef EVENT_IDX
        if :: need_event(t, dev_rx_used, old) -> rx_irq = 1 :: else fi
#else
        if :: !(t & NO_FLAG) -> rx_irq = 1 :: else fi
#endif
    :: /* TX: awake, work through what is available */
        atomic { !dev_tx_sleeping && mem[TX_AVAIL_IDX] != dev_tx_last_avail ->
            dev_tx_last_avail = (dev_tx_last_avail + 1) & 255;
            old = dev_tx_used;
            dev_tx_used = (dev_tx_used + 1) & 255 };
        dev_store(TX_USED_IDX, dev_tx_used);
        dev_mb();
        t = mem[TX_EVENT];
#ifdef EVENT_IDX
        if :: need_event(t, dev_tx_used, old) -> tx_irq = 1 :: else fi
#else
        if :: !(t & NO_FLAG) -> tx_irq = 1 :: else fi
#endif
    :: /* TX: nothing left: ask for kicks, look once more, sleep */
        atomic { !dev_tx_sleeping && mem[TX_AVAIL_IDX] == dev_tx_last_avail ->
#ifdef EVENT_IDX
        dev_store(TX_KICK_EV, dev_tx_last_avail) };
#else
        dev_store(TX_KICK_EV, 0) };
#endif
        dev_mb();
        if
        :: mem[TX_AVAIL_IDX] == dev_tx_last_avail -> dev_tx_sleeping = 1
        :: else ->
#ifdef EVENT_IDX
            dev_store(TX_KICK_EV, (dev_tx_last_avail - 1) & 255)
#else
            dev_store(TX_KICK_EV, NO_FLAG)
#endif
        fi
    :: /* TX: kicked: wake, notifications off while busy */
        atomic { dev_tx_sleeping && kicked -> kicked = 0; dev_tx_sleeping = 0 };
#ifdef EVENT_IDX
        dev_store(TX_KICK_EV, (dev_tx_last_avail - 1) & 255)
#else
        dev_store(TX_KICK_EV, NO_FLAG)
#endif
    od
}

/* ---- the driver's main loop ---- */

/* vnet_tx_reclaim: free what the device finished; wake a stopped queue once
 * a worst-case frame fits: here the whole ring (as C does for a ring smaller
 * than that frame), so an interrupt can come before there is room. */
inline vnet_tx_reclaim() {
    do
    :: vq_get_buf(TX_EVENT, TX_USED_IDX, tx_off, tx_last_used, got);
       if :: got -> assert(tx_last_used <= tx_avail_shadow) :: else -> break fi
    od;
    if
    :: tx_stopped && tx_avail_shadow == tx_last_used ->
        /* tx_wake */
        tx_stopped = 0;
        vq_disable_cb(TX_EVENT, tx_off, tx_last_used)
    :: else
    fi
}

inline vnet_xmit_flush() {
    if
    :: kick_pending ->
        kick_pending = 0;
        vq_kick_prepare(r);
        if :: r -> vq_notify() :: else fi
    :: else
    fi
}

/* tx_stop: the ring is full. Kick what is queued, ask for the interrupt
 * after most of it; if the device is already past that, reclaim now. */
inline tx_stop() {
    tx_stopped = 1;
    vnet_xmit_flush();
    vq_enable_cb_delayed(r);
#ifndef MUTANT_TX_STOP_NO_RECLAIM
    if :: !r -> vnet_tx_reclaim() :: else fi
#endif
}

/* vnet_xmit -> tx_post: one frame. The stack retries after tx_wake. */
inline vnet_xmit() {
    vnet_tx_reclaim();
    if
    :: !tx_stopped && ((tx_avail_shadow - tx_last_used) & 255) == TX_RING -> tx_stop()
    :: else
    fi;
    if
    :: !tx_stopped && ((tx_avail_shadow - tx_last_used) & 255) < TX_RING ->
        /* vq_add_sgs: descriptors, then the avail idx that publishes them */
        tx_avail_shadow = (tx_avail_shadow + 1) & 255;
        cpu_store(TX_AVAIL_IDX, tx_avail_shadow);
        kick_pending = 1
    :: else
    fi
}

/* NET_TX softirq, raised by the TX interrupt. */
inline vnet_tx_softirq() {
    vnet_tx_reclaim();
#ifndef MUTANT_TX_SOFTIRQ_NO_REARM
    if
    :: tx_stopped ->
        vq_enable_cb_delayed(r);
        if :: !r -> atomic { softirq = softirq | NET_TX } :: else fi
    :: else
    fi;
#endif
    vnet_xmit_flush()
}

/* vnet_rx_poll: up to WEIGHT frames, refill, then the completion protocol. */
inline vnet_rx_poll() {
    assert(!in_poll && napi_lists == 0 && (napi_state & SCHED));
    in_poll = 1;
    work = 0;
    do
    :: work < WEIGHT ->
        vq_get_buf(RX_EVENT, RX_USED_IDX, rx_off, rx_last_used, got);
        if
        :: got -> work++; assert(rx_last_used <= RX_TOTAL)
        :: else -> break
        fi
    :: else -> break
    od;
    /* vnet_rx_receive's refill: repost what was consumed */
    if
    :: rx_avail_shadow < RX_TOTAL && ((rx_avail_shadow - rx_last_used) & 255) < RX_RING ->
        rx_avail_shadow = (rx_avail_shadow + 1) & 255;
        cpu_store(RX_AVAIL_IDX, rx_avail_shadow)
    :: else
    fi;
    vnet_tx_reclaim();     /* virtnet_poll_cleantx */
    vnet_xmit_flush();
    if
    :: work < WEIGHT ->
        vq_enable_cb_prepare(RX_EVENT, rx_off, rx_last_used, opaque);
        napi_complete_done(r);
        if
        :: r ->
#ifndef MUTANT_NO_RECHECK
            vq_poll(RX_USED_IDX, opaque, r);
            if
            :: r ->
                vq_disable_cb(RX_EVENT, rx_off, rx_last_used);
                /* napi_reschedule */
                napi_schedule_prep(r);
                if :: r -> napi_schedule_commit() :: else fi
            :: else
            fi
#else
            skip
#endif
        :: else -> vq_disable_cb(RX_EVENT, rx_off, rx_last_used)
        fi
    :: else
    fi;
    in_poll = 0
}

inline net_rx_action() {
    budget = BUDGET;
    do
    :: atomic { napi_lists && !napi_local -> napi_local = 1 }  /* take the global list */
    :: atomic { napi_lists && napi_local -> napi_lists = 0; napi_local = 0 };   /* q_pop */
        work = 0;
        if :: napi_state & SCHED -> vnet_rx_poll() :: else fi;
        if
        :: work == WEIGHT ->
            /* not completed: still ours, to the tail (behind the global list) */
            atomic { if :: (napi_state & SCHED) && napi_lists == 0 -> q_push(); napi_local = 1 :: else fi }
        :: else
        fi;
        budget = budget - work;
        if :: budget <= 0 -> break :: else fi
    :: atomic { !napi_lists -> break }
    od;
    /* leftovers back to the global list, NET_RX raised again */
    atomic { if :: napi_lists -> napi_local = 0; softirq = softirq | NET_RX :: else fi }
}

active proctype cpu() {
    byte t, opaque, bufs, work, pend;
    bit r, got, p;
    short budget;

    /* vnet_open: post RX buffers, arm the RX interrupt (vq_enable_cb) */
    rx_avail_shadow = (RX_TOTAL < RX_RING -> RX_TOTAL : RX_RING);
    cpu_store(RX_AVAIL_IDX, rx_avail_shadow);
    vq_enable_cb_prepare(RX_EVENT, rx_off, rx_last_used, opaque);
    vq_poll(RX_USED_IDX, opaque, r);
    if :: r -> napi_schedule_prep(p); if :: p -> napi_schedule_commit() :: else fi :: else fi;
    /* vnet_tx_init: vq_disable_cb(tx) */
#ifdef EVENT_IDX
    cpu_store(TX_EVENT, 255);
#else
    cpu_store(TX_EVENT, NO_FLAG);
#endif

    do
    :: /* softirq_run */
        atomic { softirq -> pend = softirq; softirq = 0 };
        if :: pend & NET_RX -> net_rx_action() :: else fi;
        if :: pend & NET_TX -> vnet_tx_softirq() :: else fi;
        pend = 0
    :: /* the stack sends a frame */
        tx_avail_shadow < TX_TOTAL && !tx_stopped && !softirq ->
        vnet_xmit();
        vnet_xmit_flush()
    :: /* kernel_idle: nothing to do */
        !softirq && (tx_avail_shadow == TX_TOTAL || tx_stopped) ->
#ifndef MUTANT_IDLE_NO_CLI
        IF = 0;
#endif
        if
        :: softirq -> IF = 1
        :: else -> atomic { IF = 1; halted = 1 };   /* sti; hlt */
end_hlt:    !halted
        fi
    od
}
