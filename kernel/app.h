/* The application the kernel hands control to once the machine is up
 * (net/main.c). It owns the main loop and never returns. */
#ifndef KERNEL_APP_H
#define KERNEL_APP_H

#include "kernel/cmdline.h"

void app_main(const struct kconfig *cfg) __attribute__((noreturn));

#endif
