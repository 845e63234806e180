/* The application: lwIP, the virtio-net device, the HTTP and iperf servers,
 * and the main loop that drives them all. Only this loop (and what it
 * calls) touches lwIP: interrupt handlers just schedule work. */
#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/virtio_net.h"
#include "drivers/pci/pci.h"
#include "kernel/app.h"
#include "kernel/clock.h"
#include "kernel/idle.h"
#include "kernel/log.h"
#include "kernel/napi.h"
#include "kernel/panic.h"
#include "kernel/softirq.h"
#include "kernel/test_hooks.h"
#include "kernel/timer.h"
#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "net/glue/config.h"
#include "net/apps/http_server.h"
#include "net/apps/iperf.h"
#include "net/glue/netif.h"
#include "net/glue/stats.h"
#include "net/guard/tcp_keys.h"

static struct netdev *dev;
static uint64_t idle_ns;

uint64_t main_loop_idle_ns(void) { return idle_ns; }

static void report_ready(uint32_t ip)
{
    uint64_t ns = clock_now_ns();
    log_info("net: ready %llu.%03llu ms since reset", (unsigned long long)(ns / 1000000),
             (unsigned long long)(ns / 1000 % 1000));
    log_info("READY ip=%u.%u.%u.%u port=%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
             ip & 0xff, net_config.http_port);
    /* Up to here the ring held what DHCP needs; fill it for real traffic. */
    virtio_net_rx_fill_all(dev);
    test_hooks_ready();
}

/* The listeners open while DHCP's DISCOVER is on the wire; READY means they
 * listen, so an address that comes first (ip=, set inside netglue_init)
 * waits for them. */
static bool listening;
static bool ready_held;
static uint32_t ready_ip;

static void on_ready(uint32_t ip)
{
    if (listening) {
        report_ready(ip);
        return;
    }
    ready_held = true;
    ready_ip = ip;
}

static void napi_warn(struct napi *n, const char *what)
{
    log_warn("napi: entry %p: %s", (void *)n, what);
}

static __attribute__((noreturn)) void halt_no_device(const char *reason)
{
    log_error("net: no usable virtio-net device: %s", reason);
    log_error("net: halting");
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void app_main(void)
{
    napi_init();
    napi_warn_hook = napi_warn;
    stats_set_mode(net_mode_name(netdev_config.mode));
    lwip_init();
    tcp_keys_init();

    pci_init();
    const char *reason = "not found";
    dev = virtio_net_probe(netdev_config.mode, netdev_config.queues, &reason);
    if (!dev)
        halt_no_device(reason);
    if (netglue_init(dev, &net_config, on_ready) != 0)
        halt_no_device("could not attach it to the IP stack");
    /* Out with DHCP's DISCOVER now: its answer takes a millisecond or two
     * through user-net, time in which the listeners open. */
    netglue_flush();
    if (http_server_start(net_config.http_port) != 0)
        panic("http: cannot listen on port %u", net_config.http_port);
    iperf_server_start();
    listening = true;
    if (ready_held)
        report_ready(ready_ip);

    bool polling = netdev_config.mode == NET_MODE_POLL;
    for (;;) {
        if (polling)
            dev->ops->poll_all(dev, napi_config.budget);
        softirq_run();
        ktimers_run();
        sys_check_timeouts();
        netglue_flush();
        if (polling)
            continue;
        uint32_t sleep_ms = sys_timeouts_sleeptime();
        uint64_t deadline = sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE
                                ? UINT64_MAX
                                : clock_now_ns() + (uint64_t)sleep_ms * 1000000ull;
        uint64_t t0 = clock_now_ns();
        kernel_idle(deadline);
        idle_ns += clock_now_ns() - t0;
    }
}
