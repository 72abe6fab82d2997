/*
 * demo: a small interactive guest for the README.
 *
 * Prints a banner and a prompt, echoes what arrives on the UART, and for
 * every line prints the line reversed, its CRC-32 and the CLINT mtime at
 * which the line was completed (so a replay must reproduce the timing).
 * A machine timer interrupt prints "tick N" every 1,000,000 mtime ticks
 * (0.1 s of guest time).  The line "quit" prints "goodbye" and powers off
 * with exit status 0.
 *
 * Input arrives through the UART receive interrupt (PLIC source 10); the
 * handlers only queue data, all printing happens in the main loop, which
 * sleeps in wfi.
 */
#include "runtime.h"

#define TICK_PERIOD 1000000UL
#define LINE_MAX 120

static volatile u8 rxq[256];
static volatile u32 rxq_head, rxq_tail;     /* head: written by the handler */
static volatile u64 ticks_due;
static u64 next_deadline;

static int on_trap(struct trap_frame *f)
{
    if (f->cause == (CAUSE_INTR | IRQ_M_TIMER)) {
        u64 now = mtime_read();
        while (next_deadline <= now) {
            next_deadline += TICK_PERIOD;
            ticks_due++;
        }
        mtimecmp_write(next_deadline);
        return 1;
    }
    if (f->cause == (CAUSE_INTR | IRQ_M_EXT)) {
        u32 id = mmio_read32(PLIC_CLAIM(PLIC_CTX_M));
        while (mmio_read8(UART_BASE + UART_LSR) & UART_LSR_DR) {
            u8 c = mmio_read8(UART_BASE + UART_RBR);
            if (rxq_head - rxq_tail < sizeof rxq) {
                rxq[rxq_head % sizeof rxq] = c;
                rxq_head++;
            }
        }
        if (id)
            mmio_write32(PLIC_CLAIM(PLIC_CTX_M), id);
        return 1;
    }
    return 0;
}

static u32 crc32(const char *s, int n)
{
    u32 crc = 0xffffffffu;
    for (int i = 0; i < n; i++) {
        crc ^= (u8)s[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
    return ~crc;
}

static void prompt(const char *line, int len)
{
    kprintf("> %.*s", len, line);
}

int main(void)
{
    char line[LINE_MAX + 1];
    int len = 0, last_cr = 0;
    u64 tick_no = 0;

    kprintf("\ndeja demo guest: type a line, \"quit\" to power off\n");
    kprintf("every line gets its reverse, CRC-32 and the mtime; ticks every %lu mtime ticks\n",
            TICK_PERIOD);

    m_hook = on_trap;
    mmio_write8(UART_BASE + UART_IER, UART_IER_RDI);
    mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
    mmio_write32(PLIC_ENABLE(PLIC_CTX_M, UART_IRQ), 1u << UART_IRQ);
    next_deadline = mtime_read() + TICK_PERIOD;
    mtimecmp_write(next_deadline);
    csr_write(mie, MIP_MTIP | MIP_MEIP);
    csr_set(mstatus, MSTATUS_MIE);

    prompt(line, 0);
    for (;;) {
        csr_clear(mstatus, MSTATUS_MIE);
        int idle = ticks_due == 0 && rxq_head == rxq_tail;
        if (idle)
            __asm__ volatile("wfi");    /* wakes on a pending interrupt even with MIE=0 */
        csr_set(mstatus, MSTATUS_MIE);

        while (ticks_due) {
            csr_clear(mstatus, MSTATUS_MIE);
            ticks_due--;
            csr_set(mstatus, MSTATUS_MIE);
            tick_no++;
            kprintf(len ? "\n[tick %lu]\n" : "\r[tick %lu]\n", tick_no);
            prompt(line, len);
        }
        while (rxq_head != rxq_tail) {
            u8 c = rxq[rxq_tail % sizeof rxq];
            rxq_tail++;
            if (c == '\n' && last_cr) {
                last_cr = 0;
                continue;
            }
            last_cr = c == '\r';
            if (c == '\r' || c == '\n') {
                u64 now = mtime_read();
                line[len] = 0;
                kprintf("\n");
                if (strcmp(line, "quit") == 0) {
                    kprintf("goodbye\n");
                    poweroff_pass();
                }
                char rev[LINE_MAX + 1];
                for (int i = 0; i < len; i++)
                    rev[i] = line[len - 1 - i];
                rev[len] = 0;
                kprintf("reversed: %s\n", rev);
                kprintf("crc32: 0x%08x\n", crc32(line, len));
                kprintf("mtime: %lu\n", now);
                len = 0;
                prompt(line, len);
            } else if (c == 0x7f || c == 0x08) {
                if (len > 0) {
                    len--;
                    kprintf("\b \b");
                }
            } else if (c >= 0x20 && c < 0x7f && len < LINE_MAX) {
                line[len++] = (char)c;
                uart_putc((char)c);
            }
        }
    }
}
