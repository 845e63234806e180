/* See sim_netif.h. Checksums are neither generated nor checked: the harness
 * builds segments without them, the way the device vouches for a frame with
 * VIRTIO_NET_HDR_F_DATA_VALID and computes them with NEEDS_CSUM. */
#include "tests/fuzz/lwip_host/sim_netif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#define SIM_HOLD_MAX 64

struct rx_buf {
    struct pbuf_custom pc;          /* first: lwIP frees it as a struct pbuf * */
    uint8_t data[];
};

static struct netif netif;
static struct sim_frame cap[SIM_CAP_MAX];
static size_t ncap;
static bool hold;
static struct pbuf *held[SIM_HOLD_MAX];
static unsigned nheld;
static long rx_outstanding;

static void rx_free(struct pbuf *p)
{
    rx_outstanding--;
    free(p);
}

void sim_inject(const uint8_t *pkt, size_t len, size_t split)
{
    struct pbuf *head = NULL;
    size_t off = 0;

    if (len == 0 || len > 0xffff)
        return;
    if (split >= len)
        split = 0;
    while (off < len) {
        size_t n = (off == 0 && split) ? split : len - off;
        struct rx_buf *b = malloc(sizeof(*b) + n);
        if (!b)
            abort();
        memcpy(b->data, pkt + off, n);
        b->pc.custom_free_function = rx_free;
        rx_outstanding++;
        struct pbuf *p = pbuf_alloced_custom(PBUF_RAW, (u16_t)n, PBUF_REF, &b->pc, b->data,
                                             (u16_t)n);
        if (!head)
            head = p;
        else
            pbuf_cat(head, p);
        off += n;
    }
    if (netif.input(head, &netif) != ERR_OK)
        pbuf_free(head);
}

static err_t sim_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
    (void)nif;
    (void)dst;
    /* what the device could not send: a frame over the MTU that is not a
     * super-segment, or one whose segments would not fit */
    if (p->tot_len > nif->mtu &&
        (!(nif->tso_flags & NETIF_TSO_TCP4) || p->tso_segsz == 0 ||
         p->tso_segsz + 40u > nif->mtu || p->tot_len > nif->tso_max + 100u)) {
        fprintf(stderr, "sim_netif: frame of %u bytes over the MTU (tso_segsz %u)\n",
                (unsigned)p->tot_len, (unsigned)p->tso_segsz);
        abort();
    }
    if (ncap < SIM_CAP_MAX) {   /* beyond that: lost on the wire */
        struct sim_frame *f = &cap[ncap++];
        f->len = p->tot_len;
        memset(f->data, 0, sizeof f->data);
        pbuf_copy_partial(p, f->data, sizeof f->data, 0);
    }
    if (hold) {
        if (nheld == SIM_HOLD_MAX) {
            pbuf_free(held[0]);
            memmove(held, held + 1, sizeof(held[0]) * (SIM_HOLD_MAX - 1));
            nheld--;
        }
        pbuf_ref(p);
        held[nheld++] = p;
    }
    return ERR_OK;
}

size_t sim_take_output(struct sim_frame **frames)
{
    size_t n = ncap;

    *frames = cap;
    ncap = 0;
    return n;
}

void sim_set_tx_hold(bool on) { hold = on; }

void sim_set_tso(bool on)
{
    netif.tso_flags = on ? NETIF_TSO_TCP4 : 0;
    netif.tso_max = on ? 65000 : 0;     /* net/glue/tso.h TSO_MAX_PAYLOAD */
}

void sim_tx_complete(void)
{
    for (unsigned i = 0; i < nheld; i++)
        pbuf_free(held[i]);
    nheld = 0;
}

long sim_rx_outstanding(void) { return rx_outstanding; }

static err_t sim_netif_setup(struct netif *nif)
{
    nif->name[0] = 's';
    nif->name[1] = 'm';
    nif->output = sim_output;
    nif->mtu = 1500;
    nif->flags = NETIF_FLAG_UP | NETIF_FLAG_LINK_UP;
    NETIF_SET_CHECKSUM_CTRL(nif, NETIF_CHECKSUM_DISABLE_ALL);
    return ERR_OK;
}

void sim_netif_init(void)
{
    ip4_addr_t ip, mask, gw;

    ip4_addr_set_u32(&ip, lwip_htonl(SIM_LOCAL_IP));
    ip4_addr_set_u32(&mask, lwip_htonl(0xffffff00u));
    ip4_addr_set_u32(&gw, lwip_htonl(SIM_LOCAL_IP + 253));
    netif_add(&netif, &ip, &mask, &gw, NULL, sim_netif_setup, ip_input);
    netif_set_default(&netif);
    netif_set_up(&netif);
    netif_set_link_up(&netif);
}
