/*
 * uart: the ns16550a at 0x10000000: transmit, line status, scratch and
 * divisor registers, interrupt identification, FIFO enable, polled receive
 * and the received-data interrupt through the PLIC.
 *
 * Needs "hello\n" on the serial input (QEMU: pipe it into stdin).  The first
 * three bytes are read by polling LSR.DR, the rest from the RX interrupt.
 */
#include "runtime.h"

#define TIMEOUT_TICKS (2 * TIMEBASE_HZ)     /* 2 s of guest time */

static u8 reg(int r) { return mmio_read8(UART_BASE + r); }
static void wreg(int r, u8 v) { mmio_write8(UART_BASE + r, v); }

static volatile char rx_buf[32];
static volatile int rx_n;
static volatile int rx_irqs, rx_iir_ok, rx_claim_ok, timed_out;

static int m_irq(struct trap_frame *f)
{
    if (f->cause == (CAUSE_INTR | IRQ_M_TIMER)) {
        timed_out = 1;
        mtimecmp_write(~0UL);
        return 1;
    }
    if (f->cause != (CAUSE_INTR | IRQ_M_EXT))
        return 0;
    u32 id = mmio_read32(PLIC_CLAIM(PLIC_CTX_M));
    rx_irqs++;
    if (id == UART_IRQ)
        rx_claim_ok++;
    u8 iir = reg(UART_IIR);
    if ((iir & 0x0f) == 0x04)           /* received data available */
        rx_iir_ok++;
    while (reg(UART_LSR) & UART_LSR_DR) {
        u8 c = reg(UART_RBR);
        if (rx_n < (int)sizeof rx_buf - 1)
            rx_buf[rx_n++] = (char)c;
    }
    if (id)
        mmio_write32(PLIC_CLAIM(PLIC_CTX_M), id);
    return 1;
}

static int rx_done(void)
{
    return rx_n > 0 && (rx_buf[rx_n - 1] == '\n' || rx_buf[rx_n - 1] == '\r');
}

int main(void)
{
    test_begin("uart");
    csr_write(mie, 0);

    /* ---- transmit side ---- */
    while (!(reg(UART_LSR) & UART_LSR_TEMT))
        ;
    test_eq(reg(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT,
            "idle LSR has THRE and TEMT set");
    {
        wreg(UART_THR, '#');
        int ok = 0;
        for (int i = 0; i < 100000; i++)
            if (reg(UART_LSR) & UART_LSR_THRE) { ok = 1; break; }
        wreg(UART_THR, '\r');
        wreg(UART_THR, '\n');
        test_ok(ok, "THRE returns after writing THR");
    }
    wreg(UART_SCR, 0xa5);
    u8 s1 = reg(UART_SCR);
    wreg(UART_SCR, 0x5a);
    test_ok(s1 == 0xa5 && reg(UART_SCR) == 0x5a, "scratch register holds a byte");
    {
        u8 lcr = reg(UART_LCR);
        wreg(UART_LCR, lcr | 0x80);                 /* DLAB */
        u8 dll = reg(0), dlm = reg(1);
        wreg(0, 0x34);
        wreg(1, 0x12);
        u8 rl = reg(0), rm = reg(1);
        wreg(0, dll);
        wreg(1, dlm);
        wreg(UART_LCR, 0x03);                       /* 8N1, DLAB off */
        test_ok(rl == 0x34 && rm == 0x12 && reg(UART_LCR) == 0x03,
                "divisor latch and LCR read back");
    }
    test_eq(reg(UART_IIR) & 0x0f, 0x01, "IIR says no interrupt pending with IER=0");
    {
        wreg(UART_IER, UART_IER_THRI);
        u8 iir1 = reg(UART_IIR);
        u8 iir2 = reg(UART_IIR);
        wreg(UART_IER, 0);
        test_ok((iir1 & 0x0f) == 0x02 && (iir2 & 0x0f) == 0x01,
                "THRE interrupt: IIR 0x2, cleared by reading IIR");
        if ((iir1 & 0x0f) != 0x02 || (iir2 & 0x0f) != 0x01)
            test_diag("  IIR reads 0x%x then 0x%x", iir1, iir2);
    }
    /* ---- polled receive of the first three bytes ---- */
    char got[32];
    int n = 0, dr_seen = 1;
    u64 end = mtime_read() + TIMEOUT_TICKS;
    while (n < 3 && mtime_read() < end) {
        if (reg(UART_LSR) & UART_LSR_DR) {
            u8 lsr = reg(UART_LSR);
            if (!(lsr & UART_LSR_DR))
                dr_seen = 0;
            got[n++] = (char)reg(UART_RBR);
        }
    }
    got[n] = 0;
    test_ok(n == 3 && dr_seen, "polled: 3 bytes read while LSR.DR was set");
    test_ok(n == 3 && got[0] == 'h' && got[1] == 'e' && got[2] == 'l',
            "polled bytes are \"hel\" (got \"%s\")", got);

    /* ---- the rest through the RX interrupt ---- */
    m_hook = m_irq;
    mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
    mmio_write32(PLIC_ENABLE(PLIC_CTX_M, UART_IRQ), 1u << UART_IRQ);
    mtimecmp_write(mtime_read() + TIMEOUT_TICKS);
    csr_write(mie, MIP_MEIP | MIP_MTIP);
    wreg(UART_IER, UART_IER_RDI);
    csr_set(mstatus, MSTATUS_MIE);
    while (!rx_done() && !timed_out)
        __asm__ volatile("wfi");
    csr_clear(mstatus, MSTATUS_MIE);
    wreg(UART_IER, 0);
    csr_write(mie, 0);
    mtimecmp_write(~0UL);
    m_hook = 0;
    rx_buf[rx_n] = 0;
    test_ok(!timed_out && rx_irqs > 0 && rx_claim_ok == rx_irqs,
            "RX interrupts arrive through PLIC source 10 (%d taken)", rx_irqs);
    test_ok(rx_iir_ok > 0, "IIR reports received data (0x4) in the handler");
    test_ok(rx_n >= 3 && rx_buf[0] == 'l' && rx_buf[1] == 'o' && rx_done(),
            "interrupt-driven bytes complete the line");
    {
        /* echo the whole line back with a prefix */
        char line[48];
        int k = 0;
        for (int i = 0; i < n && k < 40; i++)
            line[k++] = got[i];
        for (int i = 0; i < rx_n && k < 40; i++)
            if (rx_buf[i] != '\n' && rx_buf[i] != '\r')
                line[k++] = rx_buf[i];
        line[k] = 0;
        kprintf("echo: %s\n", line);
        test_ok(strcmp(line, "hello") == 0, "received line is \"hello\"");
    }
    test_ok(!(reg(UART_LSR) & UART_LSR_DR), "LSR.DR clear once the input is consumed");
    mmio_write32(PLIC_ENABLE(PLIC_CTX_M, UART_IRQ), 0);
    /* after the input is consumed: toggling FIFO enable resets the RX side */
    {
        wreg(UART_FCR, 0x07);                       /* enable + clear both FIFOs */
        u8 iir = reg(UART_IIR);
        wreg(UART_FCR, 0x00);
        u8 iir_off = reg(UART_IIR);
        test_ok((iir & 0xc0) == 0xc0 && (iir_off & 0xc0) == 0,
                "FCR enables the FIFOs (IIR bits 7:6)");
    }

    return test_end();
}
