/* COM1 serial console, 115200 8N1, polled. Polled output is the only kind
 * that still works from a panic with interrupts off. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stddef.h>

void console_init(void);
void console_write(const char *s, size_t len);
void console_puts(const char *s);
int console_getc_nonblock(void);   /* -1 when nothing is waiting */

#endif
