/*
 * sensor_irq: the sensor example's guest with a trap handler instead of
 * polling (examples/sensor/sensor_plugin.ts; docs/plugins.md, section 9).
 *
 * The sensor at 0x10010000 raises PLIC source 12 while readings wait. The
 * M-mode trap hook claims the source, drains the FIFO and completes it; main
 * enables the interrupt and sleeps in wfi, taking the trap each time it
 * wakes, until the handler has taken SENSOR_READINGS readings.
 */
#include "runtime.h"

#define SENSOR_BASE 0x10010000UL
#define SENSOR_IRQ 12
#define SENSOR_COUNT 0x04 /* readings waiting in the FIFO */
#define SENSOR_DATA 0x08  /* pops the oldest reading */
#define SENSOR_CTRL 0x0c  /* bit 0: interrupt enable */
#define SENSOR_READINGS 8

static volatile int n;
static volatile long sum;

/* The M-mode trap hook: claim, drain the FIFO, complete. */
static int sensor_irq(struct trap_frame *f)
{
    if (f->cause != (CAUSE_INTR | IRQ_M_EXT))
        return 0; /* not ours: the runtime reports it */
    u32 src = mmio_read32(PLIC_CLAIM(PLIC_CTX_M));
    while (src == SENSOR_IRQ && mmio_read32(SENSOR_BASE + SENSOR_COUNT)) {
        sum += (int)mmio_read32(SENSOR_BASE + SENSOR_DATA);
        n++;
    }
    if (src)
        mmio_write32(PLIC_CLAIM(PLIC_CTX_M), src); /* complete */
    return 1;
}

int main(void)
{
    m_hook = sensor_irq;
    mmio_write32(PLIC_PRIORITY(SENSOR_IRQ), 1);
    mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
    mmio_write32(PLIC_ENABLE(PLIC_CTX_M, SENSOR_IRQ), 1u << (SENSOR_IRQ % 32));
    mmio_write32(SENSOR_BASE + SENSOR_CTRL, 1);
    csr_set(mie, MIP_MEIP);
    for (;;) {
        /* Check and sleep with interrupts masked, so that the last one
         * cannot slip in between the check and the wfi (and leave the hart
         * asleep for good): wfi still wakes on a pending interrupt, and the
         * trap is taken as soon as MIE is set again. */
        csr_clear(mstatus, MSTATUS_MIE);
        if (n >= SENSOR_READINGS)
            break;
        __asm__ volatile("wfi");
        csr_set(mstatus, MSTATUS_MIE); /* the handler runs here */
    }
    kprintf("readings: %d, sum: %ld\n", n, sum);
    poweroff_pass();
}
