/**
 * The `virt` board's physical address map and interrupt numbers.
 *
 * Every constant follows QEMU's `hw/riscv/virt.c` (`virt_memmap[]` and the
 * `*_IRQ` enum in `include/hw/riscv/virt.h`), so that firmware built for QEMU
 * finds its devices where it expects them.
 *
 * @module
 */

/** Boot ROM holding the reset vector (`VIRT_MROM`). */
export const MROM_BASE = 0x1000;
/** Size of the boot ROM (`VIRT_MROM`). */
export const MROM_SIZE = 0xf000;
/** SiFive test device for power-off and reset (`VIRT_TEST`). */
export const TEST_BASE = 0x100000;
/** Size of the test device (`VIRT_TEST`). */
export const TEST_SIZE = 0x1000;
/** Goldfish real-time clock (`VIRT_RTC`). */
export const RTC_BASE = 0x101000;
/** Size of the RTC (`VIRT_RTC`). */
export const RTC_SIZE = 0x1000;
/** Core-local interruptor (`VIRT_CLINT`). */
export const CLINT_BASE = 0x2000000;
/** Size of the CLINT (`VIRT_CLINT`). */
export const CLINT_SIZE = 0x10000;
/** Platform-level interrupt controller (`VIRT_PLIC`). */
export const PLIC_BASE = 0xc000000;
/** Size of the PLIC for one hart (`VIRT_PLIC_SIZE(2)`). */
export const PLIC_SIZE = 0x600000;
/** The 16550A UART (`VIRT_UART0`). */
export const UART0_BASE = 0x10000000;
/** Size of the UART window (`VIRT_UART0`). */
export const UART0_SIZE = 0x100;
/** First virtio-mmio slot (`VIRT_VIRTIO`). */
export const VIRTIO_BASE = 0x10001000;
/** Stride between virtio-mmio slots (`VIRT_VIRTIO`). */
export const VIRTIO_SIZE = 0x1000;
/** Number of virtio-mmio slots (`VIRTIO_COUNT`). */
export const VIRTIO_COUNT = 8;
/** Start of DRAM (`VIRT_DRAM`). */
export const DRAM_BASE = 0x80000000;

/** PLIC source of the UART (`UART0_IRQ`). */
export const UART0_IRQ = 10;
/** PLIC source of the RTC (`RTC_IRQ`). */
export const RTC_IRQ = 11;
/** PLIC source of the first virtio-mmio slot (`VIRTIO_IRQ`); slot i uses 1 + i. */
export const VIRTIO_IRQ = 1;
/** Number of PLIC sources on `virt` (`VIRT_IRQCHIP_NUM_SOURCES`). */
export const PLIC_NUM_SOURCES = 96;
/** PLIC priority levels (`VIRT_IRQCHIP_NUM_PRIO`). */
export const PLIC_NUM_PRIORITIES = 7;

/** CLINT timebase: `mtime` counts at 10 MHz (`RISCV_ACLINT_DEFAULT_TIMEBASE_FREQ`). */
export const TIMEBASE_FREQ = 10_000_000;

/** Where `fw_jump` jumps, and so where `-kernel` goes without an ELF address. */
export const KERNEL_LOAD_ADDR = 0x80200000;
