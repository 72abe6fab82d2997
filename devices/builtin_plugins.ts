/**
 * The built-in devices of the `virt` board as plugins, registered through the
 * same {@linkcode PluginRegistry} as third-party devices, each with its
 * declared state.
 *
 * Built-ins take board wiring (serial output, the shutdown callback, the
 * host clock) in their options besides the context; a third-party device
 * takes only the string options of its schema.
 *
 * @module
 */

import {
  defineDevicePlugin,
  PLUGIN_API_VERSION,
  PluginRegistry,
} from "../plugins/registry.ts";
import { defineState } from "../plugins/state.ts";
import type { StateValues } from "../plugins/state.ts";
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

type Saved = Record<string, number | string | number[]>;

/** The 16550 UART's state, version 1. */
export const uartState = defineState({
  name: "ns16550a",
  version: 1,
  fields: {
    divider: "u16",
    rbr: "u8",
    ier: "u8",
    iir: "u8",
    lcr: "u8",
    mcr: "u8",
    lsr: "u8",
    msr: "u8",
    scr: "u8",
    fcr: "u8",
    thrIpending: "u8",
    timeoutIpending: "u8",
    charTimeNs: "int",
    rxFifo: "bytes",
    timeoutDeadlineNs: "f64",
  },
});

/** The ns16550a UART. */
export const uartPlugin = defineDevicePlugin({
  ...common,
  name: "ns16550a",
  compatible: "ns16550a",
  mmioSize: 0x100,
  dependencies: ["plic"],
  produces: ["serial"],
  state: {
    description: uartState,
    save: (u: Uart16550) => {
      const s = u.saveState();
      return {
        ...(s as Omit<StateValues<typeof uartState.fields>, "rxFifo">),
        rxFifo: Uint8Array.from(s.rxFifo as number[]),
      };
    },
    load: (u: Uart16550, v: StateValues<typeof uartState.fields>) =>
      u.loadState({ ...v, rxFifo: Array.from(v.rxFifo) }),
  },
  create: (
    ctx,
    o: { base: number; irq: number; output: (b: number) => void },
  ) =>
    new Uart16550({
      base: o.base,
      irq: ctx.plicLine(o.irq),
      clock: ctx.clock,
      output: o.output,
    }),
});

/** The CLINT's state, version 1. */
export const clintState = defineState({
  name: "clint",
  version: 1,
  fields: {
    msip: "u8",
    mtimecmpLo: "u32",
    mtimecmpHi: "u32",
    mtimeDeltaLo: "u32",
    mtimeDeltaHi: "u32",
    timerDeadlineNs: "f64",
  },
});

/** The CLINT (machine timer and software interrupts). */
export const clintPlugin = defineDevicePlugin({
  ...common,
  name: "clint",
  compatible: "sifive,clint0",
  mmioSize: 0x10000,
  state: {
    description: clintState,
    save: (c: Clint) => c.saveState() as StateValues<typeof clintState.fields>,
    load: (c: Clint, v: StateValues<typeof clintState.fields>) =>
      c.loadState(v),
  },
  create: (ctx, o: { base: number }) =>
    new Clint({ base: o.base, clock: ctx.clock, hart: ctx.hart }),
});

/** The PLIC's state, version 1. */
export const plicState = defineState({
  name: "plic",
  version: 1,
  fields: {
    numSources: "u32",
    priority: "u32[]",
    pending: "u32[]",
    claimed: "u32[]",
    levels: "u32[]",
    enableM: "u32[]",
    enableS: "u32[]",
    thresholdM: "u32",
    thresholdS: "u32",
  },
});

/** The PLIC. */
export const plicPlugin = defineDevicePlugin({
  ...common,
  name: "plic",
  compatible: "riscv,plic0",
  mmioSize: 0x600000,
  state: {
    description: plicState,
    save: (p: Plic) => p.saveState() as StateValues<typeof plicState.fields>,
    load: (p: Plic, v: StateValues<typeof plicState.fields>) => p.loadState(v),
  },
  create: (ctx, o: { base: number }) =>
    new Plic({ base: o.base, hart: ctx.hart }),
});

/** The SiFive test finisher's state: it has none (version 1, no fields). */
export const sifiveTestState = defineState({
  name: "sifive_test",
  version: 1,
  fields: {},
});

/** The SiFive test finisher (power-off and reset). */
export const sifiveTestPlugin = defineDevicePlugin({
  ...common,
  name: "sifive_test",
  compatible: "sifive,test0",
  mmioSize: 0x1000,
  state: {
    description: sifiveTestState,
    save: (t: SifiveTest) => t.saveState() as Record<never, never>,
    load: (t: SifiveTest, v: Record<never, never>) => t.loadState(v),
  },
  create: (
    _ctx,
    o: { base: number; onShutdown: (kind: ShutdownKind, code: number) => void },
  ) => new SifiveTest(o),
});

/** The Goldfish RTC's state, version 1. */
export const rtcState = defineState({
  name: "goldfish_rtc",
  version: 1,
  fields: {
    resetOffset: "u64",
    tickOffset: "u64",
    alarmNext: "u64",
    alarmRunning: "u8",
    irqPending: "u8",
    irqEnabled: "u8",
    timeHigh: "u32",
    alarmDeadlineNs: "f64",
  },
});

/** The Goldfish RTC. Its host clock reading is the nondeterministic input. */
export const rtcPlugin = defineDevicePlugin({
  ...common,
  name: "goldfish_rtc",
  compatible: "google,goldfish-rtc",
  mmioSize: 0x1000,
  dependencies: ["plic"],
  produces: ["clock"],
  state: {
    description: rtcState,
    save: (r: GoldfishRtc) => {
      const s = r.saveState() as Saved;
      return {
        ...(s as Omit<
          StateValues<typeof rtcState.fields>,
          "resetOffset" | "tickOffset" | "alarmNext"
        >),
        resetOffset: BigInt(s.resetOffset as string),
        tickOffset: BigInt(s.tickOffset as string),
        alarmNext: BigInt(s.alarmNext as string),
      };
    },
    load: (r: GoldfishRtc, v: StateValues<typeof rtcState.fields>) =>
      r.loadState({
        ...v,
        resetOffset: v.resetOffset.toString(),
        tickOffset: v.tickOffset.toString(),
        alarmNext: v.alarmNext.toString(),
      }),
  },
  create: (
    ctx,
    o: { base: number; irq: number; hostClock: () => bigint | number },
  ) =>
    new GoldfishRtc({
      base: o.base,
      clock: ctx.clock,
      irq: ctx.plicLine(o.irq),
      hostClock: o.hostClock,
    }),
});

/** An empty virtio-mmio transport's state: none (version 1, no fields). */
export const virtioMmioState = defineState({
  name: "virtio-mmio",
  version: 1,
  fields: {},
});

/** An empty virtio-mmio slot. */
export const virtioMmioPlugin = defineDevicePlugin({
  ...common,
  name: "virtio-mmio",
  compatible: "virtio,mmio",
  mmioSize: 0x1000,
  state: {
    description: virtioMmioState,
    save: (v: VirtioMmioSlot) => v.saveState() as Record<never, never>,
    load: (v: VirtioMmioSlot, s: Record<never, never>) => v.loadState(s),
  },
  create: (_ctx, o: { base: number }) => new VirtioMmioSlot(o),
});

/** Every built-in device plugin, in the order the board creates them. */
export const BUILTIN_DEVICES: readonly [
  typeof plicPlugin,
  typeof clintPlugin,
  typeof uartPlugin,
  typeof sifiveTestPlugin,
  typeof rtcPlugin,
  typeof virtioMmioPlugin,
] = [
  plicPlugin,
  clintPlugin,
  uartPlugin,
  sifiveTestPlugin,
  rtcPlugin,
  virtioMmioPlugin,
];

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
  for (const p of BUILTIN_DEVICES) reg.register(p);
  return reg;
}
