/* TCP segmentation offload for lwIP's output: see tso.h. Main loop only. */
#include "net/glue/tso.h"

#include "lwip/prot/ethernet.h"
#include "lwip/prot/tcp.h"

struct tso_counters tso_counters;

void tso_netif_init(struct netif *nif, const struct netdev *dev)
{
    nif->tso_flags = 0;
    if (dev->tx_csum_offload && dev->tx_tso)
        nif->tso_flags |= NETIF_TSO_TCP4;
    if (dev->tx_csum_offload && dev->tx_tso6)
        nif->tso_flags |= NETIF_TSO_TCP6;
    nif->tso_max = nif->tso_flags ? TSO_MAX_PAYLOAD : 0;
}

bool tso_offload(const struct pbuf *p, bool ipv6, struct netdev_tx_offload *off)
{
    /* the TCP header is in the first pbuf (csum_partial checked that its
     * fixed part is); its options must be too: the device copies hdr_len
     * bytes onto every segment */
    unsigned l4 = off->csum_start;
    if (!off->csum_partial || p->len < l4 + TCP_HLEN)
        return false;
    const struct tcp_hdr *tcp = (const struct tcp_hdr *)((const uint8_t *)p->payload + l4);
    unsigned hdr_len = l4 + TCPH_HDRLEN_BYTES(tcp);
    if (TCPH_HDRLEN_BYTES(tcp) < TCP_HLEN || p->len < hdr_len || p->tot_len <= hdr_len ||
        (TCPH_FLAGS(tcp) & (TCP_SYN | TCP_RST | TCP_URG)))
        return false;
    off->gso_type = ipv6 ? NETDEV_GSO_TCPV6 : NETDEV_GSO_TCPV4;
    off->gso_size = p->tso_segsz;
    off->hdr_len = (uint16_t)hdr_len;
    return true;
}

void tso_count(const struct pbuf *p, const struct netdev_tx_offload *off)
{
    unsigned payload = p->tot_len - off->hdr_len;
    tso_counters.segments += (payload + off->gso_size - 1) / off->gso_size;
}
