/**
 * The devices of the `virt` board, each modelled on QEMU's so that Debian's
 * OpenSBI and U-Boot boot unchanged: the 16550A UART, the CLINT, the PLIC,
 * the SiFive test finisher, the Goldfish RTC, virtio-mmio slots (virtio-blk
 * over raw and qcow2 images, virtio-net, virtio-rng), the
 * reset-vector ROM, the board's device tree, and HTIF (`tohost`/`fromhost`)
 * for test binaries that define those symbols.
 *
 * Every device takes an options object, exposes the MMIO `regions` it
 * registers on the bus, has `reset()`, and declares its state once
 * (`uartState`, `clintState`, ...: `defineState` in `plugins/state.ts`),
 * keeping the values in its `state` object, which the plugin host saves and
 * restores. Timers that change guest state run on the virtual clock only.
 *
 * @example Wire a UART to a PLIC
 * ```ts
 * import { Plic, Uart16550 } from "./mod.ts";
 * import { UART0_BASE, UART0_IRQ, PLIC_BASE } from "../core/memory_map.ts";
 * const hart = { setPending(_mask: number, _level: boolean) {} };
 * const plic = new Plic({ base: PLIC_BASE, hart });
 * const uart = new Uart16550({
 *   base: UART0_BASE,
 *   irq: plic.irq(UART0_IRQ),
 *   output: () => {},
 * });
 * if (uart.regions[0]!.base !== UART0_BASE) throw new Error("unreachable");
 * ```
 *
 * @module
 */

export * from "./boot_rom.ts";
export * from "./clint.ts";
export * from "./goldfish_rtc.ts";
export * from "./htif.ts";
export * from "./plic.ts";
export * from "./sifive_test.ts";
export * from "./uart_16550.ts";
export * from "./virt_fdt.ts";
export * from "./virtio_mmio.ts";
export * from "./virtio_queue.ts";
export * from "./virtio_blk.ts";
export * from "./virtio_rng.ts";
export * from "./virtio_net.ts";
export * from "./block_image.ts";
export * from "./virt.ts";
export * from "./events.ts";
export * from "./snapshot.ts";
