/* The application the kernel hands control to once the machine is up
 * (net/glue/main.c). It owns the main loop and never returns; its configuration
 * came with the command line (each module's CMDLINE_PARAM keys). */
#ifndef KERNEL_APP_H
#define KERNEL_APP_H

void app_main(void) __attribute__((noreturn));

#endif
