/* Physical address map and interrupt numbers of QEMU's riscv `virt` board. */
#ifndef PLATFORM_H
#define PLATFORM_H

#define DRAM_BASE       0x80000000UL

#define TEST_BASE       0x00100000UL   /* sifive_test: 0x5555 pass, (code<<16)|0x3333 fail */
#define TEST_PASS       0x5555u
#define TEST_FAIL       0x3333u

#define UART_BASE       0x10000000UL   /* ns16550a */
#define UART_RBR        0   /* read: receive buffer (DLAB=0) */
#define UART_THR        0   /* write: transmit holding (DLAB=0) */
#define UART_IER        1   /* interrupt enable */
#define UART_IIR        2   /* read: interrupt identification */
#define UART_FCR        2   /* write: FIFO control */
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_MSR        6
#define UART_SCR        7
#define UART_LSR_DR     0x01
#define UART_LSR_THRE   0x20
#define UART_LSR_TEMT   0x40
#define UART_IER_RDI    0x01
#define UART_IER_THRI   0x02
#define UART_IRQ        10

#define CLINT_BASE      0x02000000UL
#define CLINT_MSIP      (CLINT_BASE + 0x0000)
#define CLINT_MTIMECMP  (CLINT_BASE + 0x4000)
#define CLINT_MTIME     (CLINT_BASE + 0xBFF8)
#define TIMEBASE_HZ     10000000UL      /* mtime ticks per second */

#define PLIC_BASE       0x0C000000UL
#define PLIC_PRIORITY(src)      (PLIC_BASE + 4UL * (src))
#define PLIC_PENDING(src)       (PLIC_BASE + 0x1000UL + 4UL * ((src) / 32))
#define PLIC_ENABLE(ctx, src)   (PLIC_BASE + 0x2000UL + 0x80UL * (ctx) + 4UL * ((src) / 32))
#define PLIC_THRESHOLD(ctx)     (PLIC_BASE + 0x200000UL + 0x1000UL * (ctx))
#define PLIC_CLAIM(ctx)         (PLIC_BASE + 0x200004UL + 0x1000UL * (ctx))
#define PLIC_CTX_M      0   /* hart 0, M-mode */
#define PLIC_CTX_S      1   /* hart 0, S-mode */
#define PLIC_NUM_SOURCES 96 /* sources 1..95 */

/* Anything in [0x0, 0x1000) and far above RAM is unmapped on virt. */
#define UNMAPPED_ADDR   0x00000100UL

static inline void mmio_write32(unsigned long a, unsigned int v) { *(volatile unsigned int *)a = v; }
static inline unsigned int mmio_read32(unsigned long a) { return *(volatile unsigned int *)a; }
static inline void mmio_write64(unsigned long a, unsigned long v) { *(volatile unsigned long *)a = v; }
static inline unsigned long mmio_read64(unsigned long a) { return *(volatile unsigned long *)a; }
static inline void mmio_write8(unsigned long a, unsigned char v) { *(volatile unsigned char *)a = v; }
static inline unsigned char mmio_read8(unsigned long a) { return *(volatile unsigned char *)a; }

#endif
