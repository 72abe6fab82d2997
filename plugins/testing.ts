/**
 * The test kit for plugin authors:
 *
 * - {@linkcode assertStateRoundTrip}: drive a device into some state, save
 *   it, restore it into a fresh instance, save again: the bytes must be
 *   equal (and differ from the power-on state, so the test is not vacuous).
 * - {@linkcode recordSession} and {@linkcode replaySession}, and
 *   {@linkcode assertDeterministicReplay} on top of them: run a guest
 *   program with your device and its backend, record the nondeterministic
 *   inputs, replay from the log alone (no backend), and check that the
 *   output, the instruction count and the state hash match.
 *
 * @example Check a device's state round trip
 * ```ts
 * import { assertStateRoundTrip } from "./testing.ts";
 * import { defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * import { defineState } from "./state.ts";
 * type Reg = { value: number; regions: never[]; reset(): void };
 * const reg = defineDevicePlugin({
 *   kind: "device", name: "reg", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   state: {
 *     description: defineState({ name: "reg", version: 1, fields: { value: "u32" } }),
 *     save: (d: Reg) => ({ value: d.value }),
 *     load: (d: Reg, v: { value: number }) => void (d.value = v.value),
 *   },
 *   create: (): Reg => ({ value: 0, regions: [], reset() {} }),
 * });
 * assertStateRoundTrip(reg, { drive: (d) => void (d.value = 42) });
 * ```
 *
 * This module sits above the replay layer (it records and replays
 * sessions with `replay/runner.ts`); the layer test (`tests/layers_test.ts`)
 * places it there.
 *
 * @module
 */

import { Bus } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import type { ExitStatus, VirtMachineOptions } from "../devices/virt.ts";
import { arraySource } from "../replay/nondet.ts";
import type { NondetEvent } from "../replay/nondet.ts";
import { checkLogEventKinds } from "../replay/machine_log.ts";
import { Runner } from "../replay/runner.ts";
import { assertReplayMatches } from "../replay/session.ts";
import { SERIAL_INPUT } from "../devices/events.ts";
import { PluginHost, qualifyKind } from "./host.ts";
export type { ExitStatus, VirtMachineOptions } from "../devices/virt.ts";
export type { NondetEvent, NondetSource } from "../replay/nondet.ts";
import type { DeviceSpec } from "./host.ts";
import { parseOptions } from "./options.ts";
import {
  type AnyBackendPlugin,
  type AnyDevicePlugin,
  type BackendInstance,
  checkedEmit,
  PluginError,
  PluginRegistry,
} from "./registry.ts";

/** What a `drive` function of {@linkcode assertStateRoundTrip} gets. */
export interface DriveTools {
  /**
   * Write one of the device's MMIO registers.
   *
   * @param offset offset from the device's address
   * @param size 1, 2 or 4
   * @param value the value
   */
  write(offset: number, size: 1 | 2 | 4, value: number): void;
  /**
   * Read one of the device's MMIO registers.
   *
   * @param offset offset from the device's address
   * @param size 1, 2 or 4
   * @returns the value
   */
  read(offset: number, size: 1 | 2 | 4): number;
  /**
   * Deliver a replay event of a kind the device brings, as its backend
   * would.
   *
   * @param kind the event kind
   * @param value the value
   */
  emit(kind: string, value: unknown): void;
  /**
   * Let virtual time pass (timers fire).
   *
   * @param insns instructions' worth of time
   */
  advance(insns: number): void;
}

/** Options for {@linkcode assertStateRoundTrip}. */
export interface StateRoundTripOptions<I> {
  /**
   * Bring the instance into a non-trivial state.
   *
   * @default {undefined}
   */
  drive?: (device: I, tools: DriveTools) => void;
  /**
   * The device's options: `key=value` text for a third-party device, or
   * the wiring object of a built-in (then passed as is).
   *
   * @default {""}
   */
  options?: string | Record<string, unknown>;
  /**
   * Its MMIO address.
   *
   * @default {options.base for a built-in, else 0x10010000}
   */
  addr?: number;
  /**
   * Its PLIC source.
   *
   * @default {12}
   */
  irq?: number;
  /**
   * Fail if the driven state saves to the same bytes as the power-on
   * state (the drive did nothing the state records).
   *
   * @default {true when drive is given}
   */
  requireChange?: boolean;
}

function makeHost(plugin: AnyDevicePlugin) {
  let icount = 0;
  const clock = new VirtualClock(() => icount, { shift: 0 });
  const registry = new PluginRegistry();
  for (const dep of plugin.dependencies ?? []) {
    // Built-in dependencies (the PLIC) are board wiring here: stand-ins.
    registry.register({
      kind: "device",
      name: dep,
      version: "0",
      apiVersion: plugin.apiVersion,
      create: () => ({ regions: [], reset() {} }),
    });
  }
  registry.register(plugin);
  const host = new PluginHost(registry, {
    bus: new Bus(1 << 16),
    clock,
    hart: { setPending() {} },
    plicLine: () => ({ set() {} }),
  });
  return {
    host,
    clock,
    advance(n: number) {
      icount += n;
      clock.runExpired();
    },
  };
}

function create<I>(
  plugin: AnyDevicePlugin,
  o: StateRoundTripOptions<I>,
) {
  const h = makeHost(plugin);
  const wiredBase = typeof o.options === "object" ? o.options.base : undefined;
  const addr = o.addr ??
    (typeof wiredBase === "number" ? wiredBase : 0x1001_0000);
  const irq = o.irq ?? 12;
  const dev = typeof o.options === "object"
    ? (() => {
      const instance = h.host.createBuiltin(plugin, { addr, irq }, o.options);
      return h.host.devices.find((d) => d.instance === instance)!;
    })()
    : h.host.add({ plugin, addr, irq, options: o.options ?? "" });
  const region = (offset: number) => {
    const a = addr + offset;
    const r = dev.instance.regions.find((r) =>
      a >= r.base && a < r.base + r.size
    );
    if (!r) {
      throw new RangeError(
        `No MMIO region of ${plugin.name} at offset 0x${offset.toString(16)}`,
      );
    }
    return { r, off: a - r.base };
  };
  const tools: DriveTools = {
    write(offset, size, value) {
      const { r, off } = region(offset);
      r.write(off, size, value);
    },
    read(offset, size) {
      const { r, off } = region(offset);
      return r.read(off, size);
    },
    emit(kind, value) {
      h.host.apply(kind, h.host.encode(kind, value));
    },
    advance: h.advance,
  };
  return { ...h, dev, tools };
}

function equalBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * Check a device's declared state: drive an instance, save it, restore the
 * bytes into a fresh instance, save that: the two must be byte-equal.
 *
 * @param plugin the device plugin (it must declare `state`)
 * @param options how to drive it, and its options
 * @returns the saved bytes
 * @throws {Error} if the plugin declares no state, the bytes differ (naming
 * the first differing byte), or the drive left the state as at power-on
 * @example See the module example
 * ```ts
 * import { assertStateRoundTrip } from "./testing.ts";
 * import { clintPlugin } from "../devices/builtin_plugins.ts";
 * assertStateRoundTrip(clintPlugin, {
 *   options: { base: 0x200_0000 },
 *   drive: (_c, t) => t.write(0x4000, 4, 1234),
 * });
 * ```
 */
export function assertStateRoundTrip<
  P extends AnyDevicePlugin,
  I = ReturnType<P["create"]>,
>(
  plugin: P,
  options: StateRoundTripOptions<I> = {},
): Uint8Array {
  if (!plugin.state) {
    throw new PluginError(
      plugin.name,
      "it declares no state; add state: { description, save, load }",
    );
  }
  const a = create(plugin, options);
  const initial = a.host.saveState(a.dev)!;
  options.drive?.(a.dev.instance as I, a.tools);
  const saved = a.host.saveState(a.dev)!;
  if (
    (options.requireChange ?? options.drive !== undefined) &&
    equalBytes(initial, saved) < 0
  ) {
    throw new Error(
      `State round trip of ${plugin.name} proves nothing: the driven state saves to the same bytes as the power-on state`,
    );
  }
  const b = create(plugin, options);
  b.host.loadState(b.dev, saved);
  const again = b.host.saveState(b.dev)!;
  const at = equalBytes(saved, again);
  if (at >= 0) {
    throw new Error(
      `State round trip of ${plugin.name} differs at byte ${at} of ${saved.length}: the restored instance saves other bytes`,
    );
  }
  return saved;
}

// ---------------------------------------------------------------------------
// Record and replay

/** A backend to run while recording. */
export interface BackendSpec {
  /** The backend plugin. */
  plugin: AnyBackendPlugin;
  /**
   * Its options (`key=value` text or pairs).
   *
   * @default {""}
   */
  options?: string | Readonly<Record<string, string>>;
  /**
   * The device instance it feeds (its `name=`, or the plugin name): its
   * events go to that instance only, logged as `kind@instance`. Without
   * it, each event goes to the first device that brings its kind.
   *
   * @default {undefined}
   */
  instance?: string;
}

/** The machine of a session: everything but I/O and replay hooks. */
export type SessionOptions =
  & Omit<
    VirtMachineOptions,
    "output" | "events" | "devices"
  >
  & {
    /** Plugin devices. */
    devices?: readonly DeviceSpec[];
    /**
     * Stop after this many instructions.
     *
     * @default {2e8}
     */
    maxInsns?: number;
    /**
     * Instructions per slice between backend polls.
     *
     * @default {100000}
     */
    sliceInsns?: number;
    /**
     * While recording, how long (host time) the guest may wait idle for a
     * backend's input before the session fails.
     *
     * @default {30000}
     */
    hostWaitMs?: number;
  };

/** What a session produced. */
export interface SessionOutcome {
  /** Serial output as text. */
  output: string;
  /** Instructions retired. */
  icount: number;
  /** The machine's state hash at the end. */
  stateHash: string;
  /** How the guest exited, if it did. */
  exit: ExitStatus | undefined;
}

/** A recorded session: its outcome and its log. */
export interface SessionRecording extends SessionOutcome {
  /** The nondeterministic inputs. */
  log: NondetEvent[];
}

async function runSession(
  runner: Runner,
  options: SessionOptions,
  host: { poll(): void; stopped(): boolean; live: boolean },
  out: () => string,
): Promise<SessionOutcome> {
  const max = options.maxInsns ?? 2e8;
  const slice = options.sliceInsns ?? 100_000;
  const waitMs = options.hostWaitMs ?? 30_000;
  let exit: ExitStatus | undefined;
  let idleSince: number | undefined;
  const machine = runner.machine;
  while (machine.cpu.icount < max) {
    host.poll();
    if (host.stopped()) break;
    const r = runner.run(Math.min(slice, max - machine.cpu.icount));
    if (r.kind === "exit") {
      exit = r.status;
      break;
    }
    if (r.kind === "replay-end") break;
    if (r.kind === "idle" && machine.clock.nextDeadline() === Infinity) {
      // Waiting for host input: only a live backend can bring it.
      if (!host.live) break;
      idleSince ??= performance.now();
      if (performance.now() - idleSince > waitMs) {
        throw new Error(
          `The guest waited ${waitMs} ms of host time for input that no backend brought; check the backend's host source`,
        );
      }
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    idleSince = undefined;
    // Let the host sources (async reads, sockets) make progress.
    await new Promise((r) => setTimeout(r, 0));
  }
  return {
    output: out(),
    icount: machine.cpu.icount,
    stateHash: await machine.stateHash(),
    exit,
  };
}

function collect() {
  const dec = new TextDecoder();
  let text = "";
  return {
    sink: (b: Uint8Array) => (text += dec.decode(b, { stream: true })),
    text: () => text,
  };
}

/**
 * Run a session with its backends and record its nondeterministic inputs.
 *
 * @param options the machine, plugin devices and limits
 * @param backends the backends that feed the devices from the host
 * @returns the outcome and the log
 * @throws {PluginError} if a backend emits a kind no device brings
 */
export async function recordSession(
  options: SessionOptions,
  backends: readonly BackendSpec[] = [],
): Promise<SessionRecording> {
  const log: NondetEvent[] = [];
  const out = collect();
  const { maxInsns: _m, sliceInsns: _s, hostWaitMs: _w, ...machine } = options;
  const runner = new Runner({
    machine: { ...machine, output: out.sink },
    record: (e) => log.push(e),
    warpIdle: true,
  });
  const m = runner.machine;
  const instances: BackendInstance[] = [];
  let quit = false;
  for (const b of backends) {
    const plugin = b.plugin;
    const opts = parseOptions(
      plugin.name,
      plugin.options ?? {},
      b.options ?? "",
    );
    const emit = checkedEmit(plugin, (kind, value) => {
      if (kind === SERIAL_INPUT.name) return m.sendInput(value as Uint8Array);
      const k = b.instance === undefined ? kind : qualifyKind(kind, b.instance);
      m.injectEvent(k, m.plugins.encode(k, value));
    });
    instances.push(
      await plugin.create({
        name: b.instance ?? plugin.name,
        emit,
        quit: () => (quit = true),
      }, opts),
    );
  }
  try {
    const r = await runSession(
      runner,
      options,
      {
        poll: () => {
          for (const i of instances) i.poll?.();
        },
        stopped: () => quit,
        live: instances.length > 0,
      },
      out.text,
    );
    if (!r.exit) runner.endRecording();
    return { ...r, log };
  } finally {
    for (const i of instances) await i.close?.();
    m.finishInstrumentation("record-end");
  }
}

/**
 * Refuse a log that holds plugin event kinds that none of the plugin
 * devices brings, before a machine is built.
 *
 * @param log the log
 * @param devices the plugin devices of the replaying machine
 * @throws {UnknownEventKindError} listing the kinds
 * @example Refuse a sensor log without the sensor plugin
 * ```ts
 * import { checkLogKinds } from "./testing.ts";
 * try {
 *   checkLogKinds([{ kind: "input", icount: 1, event: "sensor.sample", payload: new Uint8Array() }], []);
 * } catch (e) {
 *   console.log((e as Error).name); // UnknownEventKindError
 * }
 * ```
 */
export function checkLogKinds(
  log: readonly NondetEvent[],
  devices: readonly DeviceSpec[],
): void {
  checkLogEventKinds(log, devices);
}

/**
 * Replay a session from its log alone: no backend runs.
 *
 * @param log the recording's log
 * @param options the same machine as recorded
 * @returns the outcome
 * @throws {UnknownEventKindError} if the log holds event kinds that no
 * device on the board brings
 */
export async function replaySession(
  log: readonly NondetEvent[],
  options: SessionOptions,
): Promise<SessionOutcome> {
  const out = collect();
  const { maxInsns: _m, sliceInsns: _s, hostWaitMs: _w, ...machine } = options;
  checkLogKinds(log, options.devices ?? []);
  const runner = new Runner({
    machine: { ...machine, output: out.sink },
    replay: arraySource(log),
    warpIdle: true,
  });
  const m = runner.machine;
  try {
    return await runSession(runner, options, {
      poll: () => {},
      stopped: () => false,
      live: false,
    }, out.text);
  } finally {
    m.finishInstrumentation("replay-end");
  }
}

/**
 * Record a session with its backends, replay it from the log alone, and
 * check that both runs agree on output, instruction count, exit and state
 * hash.
 *
 * @param options the machine and plugin devices
 * @param backends the backends that feed the devices while recording
 * @param between called after recording and before replaying (delete the
 * host source here to show the replay does not need it)
 * @returns the recording
 * @throws {Error} naming the first thing that differs
 */
export async function assertDeterministicReplay(
  options: SessionOptions,
  backends: readonly BackendSpec[] = [],
  between?: () => void | Promise<void>,
): Promise<SessionRecording> {
  const rec = await recordSession(options, backends);
  await between?.();
  const rep = await replaySession(rec.log, options);
  assertReplayMatches(rec, rep);
  return rec;
}
