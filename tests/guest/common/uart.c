/* Polled ns16550a console. */
#include "runtime.h"

static inline u8 uart_reg(int r) { return mmio_read8(UART_BASE + r); }

void uart_putc(char c)
{
    while (!(uart_reg(UART_LSR) & UART_LSR_THRE))
        ;
    mmio_write8(UART_BASE + UART_THR, (u8)c);
}

int uart_getc_nonblock(void)
{
    if (!(uart_reg(UART_LSR) & UART_LSR_DR))
        return -1;
    return uart_reg(UART_RBR);
}

int uart_getc(void)
{
    int c;
    while ((c = uart_getc_nonblock()) < 0)
        ;
    return c;
}

void puts_raw(const char *s)
{
    while (*s)
        uart_putc(*s++);
}
