#include "kernel/console.h"

#include "kernel/io.h"

#define COM1 0x3f8
/* 16550 UART registers, offsets from the base port */
#define UART_THR 0      /* transmit holding (DLAB=0) */
#define UART_RBR 0      /* receive buffer (DLAB=0) */
#define UART_DLL 0      /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1      /* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1  0x03

void console_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DLL, 1);           /* 115200 = 115200 / 1 */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    outb(COM1 + UART_FCR, 0xc7);        /* enable and clear FIFOs */
    outb(COM1 + UART_MCR, 0x03);        /* DTR, RTS; OUT2 off: no IRQ */
}

static void put_raw(char c)
{
    /* Bounded: a missing UART reads 0xff (THRE set) so this cannot hang. */
    for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
        ;
    outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            put_raw('\r');
        put_raw(s[i]);
    }
}

void console_puts(const char *s)
{
    while (*s) {
        if (*s == '\n')
            put_raw('\r');
        put_raw(*s++);
    }
}

int console_getc_nonblock(void)
{
    if (inb(COM1 + UART_LSR) & UART_LSR_DR)
        return inb(COM1 + UART_RBR);
    return -1;
}
