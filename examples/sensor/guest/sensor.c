/*
 * sensor: the guest side of deja's example device plugin
 * (examples/sensor/sensor_plugin.ts).
 *
 * The sensor sits at 0x10010000 and raises PLIC source 12 while readings
 * wait in its FIFO. This program enables that interrupt, sleeps in wfi,
 * and on each wake-up claims the interrupt, drains the FIFO (each reading is
 * a signed number of thousandths) and prints the readings. After
 * SENSOR_READINGS readings it prints their sum and powers off.
 */
#include "runtime.h"

#define SENSOR_BASE 0x10010000UL
#define SENSOR_IRQ 12
#define SENSOR_ID 0x00      /* reads "SNSR" (0x534e5352) */
#define SENSOR_COUNT 0x04   /* readings waiting in the FIFO */
#define SENSOR_DATA 0x08    /* pops the oldest reading */
#define SENSOR_CTRL 0x0c    /* bit 0: interrupt enable */
#define SENSOR_DROPPED 0x10 /* readings lost to a full FIFO */
#define SENSOR_READINGS 8

static void print_milli(long v)
{
    const char *sign = v < 0 ? "-" : "";
    unsigned long a = v < 0 ? -(unsigned long)v : (unsigned long)v;
    kprintf("%s%lu.%03lu", sign, a / 1000, a % 1000);
}

int main(void)
{
    u32 id = mmio_read32(SENSOR_BASE + SENSOR_ID);
    if (id != 0x534e5352) {
        kprintf("sensor: no sensor at 0x%lx (id 0x%08x)\n", SENSOR_BASE, id);
        poweroff_fail(2);
    }
    kprintf("sensor: found at 0x%lx, irq %d\n", SENSOR_BASE, SENSOR_IRQ);

    mmio_write32(PLIC_PRIORITY(SENSOR_IRQ), 1);
    mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
    mmio_write32(PLIC_ENABLE(PLIC_CTX_M, SENSOR_IRQ), 1u << (SENSOR_IRQ % 32));
    mmio_write32(SENSOR_BASE + SENSOR_CTRL, 1);
    csr_write(mie, MIP_MEIP); /* mstatus.MIE stays 0: wfi wakes, no trap */

    int n = 0;
    long sum = 0;
    while (n < SENSOR_READINGS) {
        if (mmio_read32(SENSOR_BASE + SENSOR_COUNT) == 0)
            __asm__ volatile("wfi");
        u32 claimed = mmio_read32(PLIC_CLAIM(PLIC_CTX_M));
        while (n < SENSOR_READINGS && mmio_read32(SENSOR_BASE + SENSOR_COUNT)) {
            long v = (int)mmio_read32(SENSOR_BASE + SENSOR_DATA);
            n++;
            sum += v;
            kprintf("reading %d: ", n);
            print_milli(v);
            kprintf("\n");
        }
        if (claimed)
            mmio_write32(PLIC_CLAIM(PLIC_CTX_M), claimed);
    }
    kprintf("sum: ");
    print_milli(sum);
    kprintf(", dropped: %u\n", mmio_read32(SENSOR_BASE + SENSOR_DROPPED));
    poweroff_pass();
}
