/**
 * The built-in devices of the `virt` board as plugins, registered through the
 * same {@linkcode PluginRegistry} as third-party devices.
 *
 * @module
 */

import {
  defineDevicePlugin,
  PLUGIN_API_VERSION,
  PluginRegistry,
} from "../plugins/registry.ts";
import { Clint } from "./clint.ts";
import { GoldfishRtc } from "./goldfish_rtc.ts";
import { Plic } from "./plic.ts";
import { SifiveTest } from "./sifive_test.ts";
import type { ShutdownKind } from "./sifive_test.ts";
import { Uart16550 } from "./uart_16550.ts";
import { VirtioMmioSlot } from "./virtio_mmio.ts";

const common = {
  kind: "device",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
} as const;

/** The ns16550a UART. */
export const uartPlugin = defineDevicePlugin({
  ...common,
  name: "ns16550a",
  dependencies: ["plic"],
  produces: [],
  create: (
    ctx,
    o: { base: number; irq: number; output: (b: number) => void },
  ) =>
    new Uart16550({
      base: o.base,
      irq: ctx.irq(o.irq),
      clock: ctx.clock,
      output: o.output,
    }),
});

/** The CLINT (machine timer and software interrupts). */
export const clintPlugin = defineDevicePlugin({
  ...common,
  name: "clint",
  create: (ctx, o: { base: number }) =>
    new Clint({ base: o.base, clock: ctx.clock, hart: ctx.hart }),
});

/** The PLIC. */
export const plicPlugin = defineDevicePlugin({
  ...common,
  name: "plic",
  create: (ctx, o: { base: number }) =>
    new Plic({ base: o.base, hart: ctx.hart }),
});

/** The SiFive test finisher (power-off and reset). */
export const sifiveTestPlugin = defineDevicePlugin({
  ...common,
  name: "sifive_test",
  create: (
    _ctx,
    o: { base: number; onShutdown: (kind: ShutdownKind, code: number) => void },
  ) => new SifiveTest(o),
});

/** The Goldfish RTC. Its host clock reading is the nondeterministic input. */
export const rtcPlugin = defineDevicePlugin({
  ...common,
  name: "goldfish_rtc",
  dependencies: ["plic"],
  produces: ["clock"],
  create: (
    ctx,
    o: { base: number; irq: number; hostClock: () => bigint | number },
  ) =>
    new GoldfishRtc({
      base: o.base,
      clock: ctx.clock,
      irq: ctx.irq(o.irq),
      hostClock: o.hostClock,
    }),
});

/** An empty virtio-mmio slot. */
export const virtioMmioPlugin = defineDevicePlugin({
  ...common,
  name: "virtio-mmio",
  create: (_ctx, o: { base: number }) => new VirtioMmioSlot(o),
});

/**
 * A registry holding every built-in device plugin.
 *
 * @returns a new registry
 * @example List the built-in devices
 * ```ts
 * import { builtinRegistry } from "./builtin_plugins.ts";
 * console.log(builtinRegistry().names()); // ["plic", "clint", ...]
 * ```
 */
export function builtinRegistry(): PluginRegistry {
  const reg = new PluginRegistry();
  for (
    const p of [
      plicPlugin,
      clintPlugin,
      uartPlugin,
      sifiveTestPlugin,
      rtcPlugin,
      virtioMmioPlugin,
    ]
  ) reg.register(p);
  return reg;
}
