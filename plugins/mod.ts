/**
 * Plugins: the typed registry through which every device of the board is
 * created, backends feed it host data, and instrumentation observes it.
 * See `docs/plugins.md` for the plugin author's guide.
 *
 * - `registry.ts`: the plugin kinds, `define*Plugin`, {@linkcode PluginRegistry}
 * - `options.ts`: option schemas and `key=value` parsing
 * - `state.ts`: declared device state, saved and restored as bytes
 * - `host.ts`: the board side of device plugins (contexts, per-instance
 *   events, pulls, declared state)
 * - `backends.ts`: starting a device instance's backend
 * - `guards.ts`: instrumentation callbacks whose errors name the plugin
 * - `hooks.ts`: the instrumentation callback types
 * - `instrumentation.ts`: callbacks and the built-in `insn`, `hotblocks`, `mem`
 * - `testing.ts`: the test kit (state round trip, record and replay)
 *
 * @example Make a registry with the built-in devices
 * ```ts
 * import { builtinRegistry } from "../devices/builtin_plugins.ts";
 * const reg = builtinRegistry();
 * console.log(reg.names());
 * ```
 *
 * @module
 */

export * from "./registry.ts";
export * from "./options.ts";
export * from "./state.ts";
export * from "./host.ts";
export * from "./backends.ts";
export * from "./guards.ts";
export * from "./instrumentation.ts";
export * from "./loader.ts";
export * from "./char_backends.ts";
export * from "./block_backends.ts";
export * from "./net_user.ts";
export * from "./net_socket.ts";
export { execlogPlugin } from "./execlog.ts";
export type { AccessSize, Bus, MmioRegion } from "../core/bus.ts";
export type { BottomHalf, VirtualClock, VirtualTimer } from "../core/clock.ts";
export type { InterruptTarget, IrqLine } from "../core/irq.ts";
export type { Cpu, StopReason } from "../core/cpu.ts";
