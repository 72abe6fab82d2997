/**
 * The built-in devices of the `virt` board as plugins, registered through the
 * same {@linkcode PluginRegistry} as third-party devices. Each device
 * declares its state once, next to its model (`uartState` in
 * `uart_16550.ts`, ...), and keeps the values in its `state` object; the
 * plugin host saves and restores that object from the declaration.
 *
 * Built-ins take board wiring that a third-party device never gets: their
 * options (serial output, the shutdown callback, the host clock frontend)
 * and the {@linkcode BoardWiring} that `PluginHost.createBuiltin` hands
 * them (the hart for the CLINT and the PLIC; the PLIC provides every
 * device's interrupt input). A `-device` plugin's context reaches only its
 * own interrupt line and what it declared.
 *
 * @module
 */

import {
  type BoardWiring,
  defineDevicePlugin,
  PLUGIN_API_VERSION,
  PluginError,
  PluginRegistry,
} from "../plugins/registry.ts";
import {
  type StateDescription,
  type StateFields,
  stateRecord,
  type StateValues,
} from "../plugins/state.ts";
import { Clint, clintState } from "./clint.ts";
import { GoldfishRtc, rtcState } from "./goldfish_rtc.ts";
import { Plic, plicState } from "./plic.ts";
import { SifiveTest, sifiveTestState } from "./sifive_test.ts";
import type { ShutdownKind } from "./sifive_test.ts";
import { Uart16550, uartState } from "./uart_16550.ts";
import {
  type VirtioDevice,
  VirtioMmioSlot,
  virtioMmioState,
} from "./virtio_mmio.ts";
import type { GuestRam } from "./virtio_queue.ts";

export { clintState, plicState, rtcState, sifiveTestState, uartState };

/** A state as the built-in devices' records held it before version 2. */
export type LegacyStateRecord = Record<
  string,
  number | string | boolean | number[]
>;

/**
 * The built-in devices' states as the plain records that their
 * `saveState()` returned before each device declared its state once (u64
 * fields as decimal text, bytes as arrays, the PLIC without the `inputs` of
 * its version 2): what the `rrcheck` hashes of logs recorded then cover
 * (state hash version 1, `replay/state_hash.ts`). New hashes and snapshots
 * use the declared state's bytes (`PluginHost.saveState`).
 *
 * @param board the board's built-in devices
 * @returns one record per device, in the order the old hash joined them
 * @example
 * ```ts
 * import { legacyStateRecords } from "./builtin_plugins.ts";
 * import { VirtMachine } from "./virt.ts";
 * const m = new VirtMachine({ memoryBytes: 1 << 20 });
 * console.log(Object.keys(legacyStateRecords(m))); // ["uart", "clint", "plic", "rtc", "test"]
 * ```
 */
export function legacyStateRecords(board: {
  uart: Uart16550;
  clint: Clint;
  plic: Plic;
  rtc: GoldfishRtc;
  test: SifiveTest;
}): Record<"uart" | "clint" | "plic" | "rtc" | "test", LegacyStateRecord> {
  const record = <F extends StateFields>(
    description: StateDescription<F>,
    dev: { state: StateValues<F>; beforeSave?(): void },
  ) => {
    dev.beforeSave?.();
    return stateRecord(description, dev.state);
  };
  const { inputs: _, ...plic } = record(plicState, board.plic);
  return {
    uart: record(uartState, board.uart),
    clint: record(clintState, board.clint),
    plic,
    rtc: record(rtcState, board.rtc),
    test: record(sifiveTestState, board.test),
  };
}
export { virtioMmioState };

const common = {
  kind: "device",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
} as const;

function boardOnly(name: string, wiring: BoardWiring | undefined): BoardWiring {
  if (!wiring) {
    throw new PluginError(
      name,
      "it is part of the board and needs the board's wiring; the board creates it (PluginHost.createBuiltin), -device cannot",
    );
  }
  return wiring;
}

/** The ns16550a UART. */
export const uartPlugin = defineDevicePlugin({
  ...common,
  name: "ns16550a",
  compatible: "ns16550a",
  mmioSize: 0x100,
  dependencies: ["plic"],
  produces: ["serial"],
  state: uartState,
  // `irq` is the source the board gave in `where` (the line is ctx.irq).
  create: (
    ctx,
    o: { base: number; irq?: number; output: (b: number) => void },
  ) =>
    new Uart16550({
      base: o.base,
      irq: ctx.irq,
      clock: ctx.clock,
      output: o.output,
    }),
});

/** The CLINT (machine timer and software interrupts). */
export const clintPlugin = defineDevicePlugin({
  ...common,
  name: "clint",
  compatible: "sifive,clint0",
  mmioSize: 0x10000,
  state: clintState,
  create: (ctx, o: { base: number }, wiring) =>
    new Clint({
      base: o.base,
      clock: ctx.clock,
      hart: boardOnly("clint", wiring).hart,
    }),
});

/** The PLIC: it provides every device's interrupt input (wire-ORed). */
export const plicPlugin = defineDevicePlugin({
  ...common,
  name: "plic",
  compatible: "riscv,plic0",
  mmioSize: 0x600000,
  state: plicState,
  create: (_ctx, o: { base: number }, wiring) => {
    const w = boardOnly("plic", wiring);
    const plic = new Plic({ base: o.base, hart: w.hart });
    w.provideInterruptLines((source) => plic.connect(source));
    return plic;
  },
});

/** The SiFive test finisher (power-off and reset). */
export const sifiveTestPlugin = defineDevicePlugin({
  ...common,
  name: "sifive_test",
  compatible: "sifive,test0",
  mmioSize: 0x1000,
  state: sifiveTestState,
  create: (
    _ctx,
    o: { base: number; onShutdown: (kind: ShutdownKind, code: number) => void },
  ) => new SifiveTest(o),
});

/** The Goldfish RTC. Its host clock reading is the nondeterministic input. */
export const rtcPlugin = defineDevicePlugin({
  ...common,
  name: "goldfish_rtc",
  compatible: "google,goldfish-rtc",
  mmioSize: 0x1000,
  dependencies: ["plic"],
  produces: ["host-clock"], // HOST_CLOCK (events.ts), read through the board
  state: rtcState,
  create: (
    ctx,
    o: { base: number; irq?: number; hostClock: () => bigint | number },
  ) =>
    new GoldfishRtc({
      base: o.base,
      clock: ctx.clock,
      irq: ctx.irq,
      hostClock: o.hostClock,
    }),
});

/** A virtio-mmio slot, empty or with a virtio device (block, entropy). */
export const virtioMmioPlugin = defineDevicePlugin({
  ...common,
  name: "virtio-mmio",
  compatible: "virtio,mmio",
  mmioSize: 0x1000,
  dependencies: ["plic"],
  state: virtioMmioState,
  create: (
    ctx,
    o: {
      base: number;
      legacy?: boolean;
      device?: VirtioDevice;
      ram?: GuestRam;
    },
  ) => new VirtioMmioSlot(o.device ? { ...o, irq: ctx.irq } : o),
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
