/**
 * The board side of device plugins: {@linkcode PluginHost} builds each
 * device's context (its address, interrupt line, the virtual clock, guest
 * memory, a checked `emit`), keeps the instances that own each replay event
 * kind, applies events to them, and saves and restores their declared state.
 *
 * The machine ({@linkcode VirtMachine}) owns one host. It decides what an
 * event does in record and replay mode; the host only encodes, decodes and
 * applies.
 *
 * @module
 */

import type { Bus } from "../core/bus.ts";
import type { VirtualClock } from "../core/clock.ts";
import type { InterruptTarget, IrqLine } from "../core/irq.ts";
import {
  type AnyDevicePlugin,
  checkedEmit,
  CORE_EVENT_KINDS,
  type DeviceContext,
  type DeviceInstance,
  type EventCodec,
  type GuestClock,
  type GuestMemory,
  PluginError,
  type PluginRegistry,
  UnknownEventKindError,
} from "./registry.ts";
import { parseOptions } from "./options.ts";
import { ReplayLogReader } from "../replay/log.ts";
import type { NondetEvent } from "../replay/nondet.ts";
import { decodeState, encodeState } from "./state.ts";

/** A plugin device to put on the board, as `-device` describes it. */
export interface DeviceSpec {
  /** The device plugin. */
  plugin: AnyDevicePlugin;
  /** Where its MMIO window starts. */
  addr: number;
  /** Its PLIC source number, if it has an interrupt. */
  irq?: number;
  /**
   * Its instance name.
   *
   * @default {plugin.name}
   */
  name?: string;
  /**
   * Its options: `key=value` text or pairs, parsed with the plugin's
   * schema.
   *
   * @default {{}}
   */
  options?: string | Readonly<Record<string, string>>;
}

/** A device the host created. */
export interface HostedDevice {
  /** The instance name. */
  readonly name: string;
  /** The plugin. */
  readonly plugin: AnyDevicePlugin;
  /** The instance. */
  readonly instance: DeviceInstance;
  /** Its MMIO base. */
  readonly addr: number;
  /** Its PLIC source, if any. */
  readonly irq: number | undefined;
}

/** What the host needs from the board. */
export interface PluginHostOptions {
  /** The bus (for DMA). */
  bus: Bus;
  /** The virtual clock. */
  clock: VirtualClock;
  /** The hart (for CLINT/PLIC wiring). */
  hart: InterruptTarget;
  /** A PLIC input line. */
  plicLine: (source: number) => IrqLine;
  /**
   * Where a device's own `emit` goes, already checked and encoded.
   *
   * @default {(kind, payload) => host.apply(kind, payload)}
   */
  deliver?: (kind: string, payload: Uint8Array) => void;
}

/**
 * The board side of device plugins.
 *
 * @example Create a plugin device and deliver it an event
 * ```ts
 * import { Bus } from "../core/bus.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { PluginHost } from "./host.ts";
 * import { defineDevicePlugin, PLUGIN_API_VERSION, PluginRegistry } from "./registry.ts";
 * const latch = defineDevicePlugin({
 *   kind: "device", name: "latch", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   produces: ["latch.set"],
 *   events: {
 *     "latch.set": {
 *       encode: (v: number) => new Uint8Array([v]),
 *       decode: (b) => b[0]!,
 *       apply: (d: { value: number }, v) => void (d.value = v),
 *     },
 *   },
 *   create: () => ({ value: 0, regions: [], reset() {} }),
 * });
 * const reg = new PluginRegistry();
 * reg.register(latch);
 * const host = new PluginHost(reg, {
 *   bus: new Bus(4096),
 *   clock: new VirtualClock(() => 0),
 *   hart: { setPending() {} },
 *   plicLine: () => ({ set() {} }),
 * });
 * const dev = host.add({ plugin: latch, addr: 0x1000_0000 });
 * host.apply("latch.set", new Uint8Array([7]));
 * console.log((dev.instance as unknown as { value: number }).value); // 7
 * ```
 */
export class PluginHost {
  #registry: PluginRegistry;
  #options: PluginHostOptions;
  #devices: HostedDevice[] = [];
  #owners = new Map<
    string,
    { codec: EventCodec<unknown, unknown>; device: HostedDevice }
  >();
  #clock: GuestClock;
  #memory: GuestMemory;

  /**
   * Make a host.
   *
   * @param registry the plugins the board may use
   * @param options the board's bus, clock, hart and PLIC
   */
  constructor(registry: PluginRegistry, options: PluginHostOptions) {
    this.#registry = registry;
    this.#options = options;
    const clock = options.clock;
    // Only the virtual clock, and only its reading and its timers.
    this.#clock = Object.freeze({
      nowNs: () => clock.nowNs(),
      newTimer: (name: string, cb: () => void) => clock.newTimer(name, cb),
      newBottomHalf: (name: string, cb: () => void) =>
        clock.newBottomHalf(name, cb),
    });
    const bus = options.bus;
    this.#memory = Object.freeze({
      read: (addr: number, size: 1 | 2 | 4) => bus.read(addr, size),
      write: (addr: number, size: 1 | 2 | 4, value: number) =>
        bus.write(addr, size, value),
    });
  }

  /** The registry. */
  get registry(): PluginRegistry {
    return this.#registry;
  }

  /** The devices created so far, in order. */
  get devices(): readonly HostedDevice[] {
    return this.#devices;
  }

  /**
   * The context a device gets.
   *
   * @param plugin the device plugin
   * @param where its name, address and interrupt
   * @returns the context
   */
  context(
    plugin: AnyDevicePlugin,
    where: { name: string; addr: number; irq?: number | undefined },
  ): DeviceContext {
    const o = this.#options;
    const irqNumber = where.irq;
    const line = irqNumber === undefined ? undefined : o.plicLine(irqNumber);
    const irq: IrqLine = line ?? {
      set: () => {
        throw new PluginError(
          plugin.name,
          `device ${where.name} raised its interrupt but has none; give it one with irq=N`,
        );
      },
    };
    const deliver = o.deliver ?? ((k, p) => this.apply(k, p));
    const emit = checkedEmit(plugin, (kind, value) => {
      if (CORE_EVENT_KINDS.includes(kind)) {
        throw new PluginError(
          plugin.name,
          `a device cannot emit the core event kind ${kind}; the board feeds it`,
        );
      }
      const owner = this.#owners.get(kind);
      if (!owner) {
        throw new PluginError(
          plugin.name,
          `it emitted ${kind}, but no device on the board brings a codec for it`,
        );
      }
      deliver(kind, owner.codec.encode(value));
    });
    return Object.freeze({
      name: where.name,
      addr: where.addr,
      irqNumber,
      irq,
      clock: this.#clock,
      memory: this.#memory,
      emit: emit as DeviceContext["emit"],
      hart: o.hart,
      plicLine: o.plicLine,
    });
  }

  /**
   * Create a built-in device with board wiring options.
   *
   * @param plugin the plugin (registered)
   * @param where its name, address and interrupt
   * @param options its wiring options
   * @returns the instance
   */
  createBuiltin<P extends AnyDevicePlugin>(
    plugin: P,
    where: { name?: string; addr: number; irq?: number },
    options: Parameters<P["create"]>[1],
  ): ReturnType<P["create"]> {
    const name = where.name ?? plugin.name;
    const ctx = this.context(plugin, { ...where, name });
    const instance = this.#registry.create(plugin, ctx, options);
    this.#track({
      name,
      plugin,
      instance: instance as DeviceInstance,
      addr: where.addr,
      irq: where.irq,
    });
    return instance;
  }

  /**
   * Create a plugin device from a spec: register the plugin if it is not
   * yet, parse its options, create it.
   *
   * @param spec the plugin, address, interrupt and options
   * @returns the device
   * @throws {PluginError} if the plugin fails registration
   * @throws {PluginOptionsError} if its options are bad
   */
  add(spec: DeviceSpec): HostedDevice {
    const plugin = spec.plugin;
    if (this.#registry.get(plugin.name) !== plugin) {
      this.#registry.register(plugin);
    }
    const name = spec.name ?? plugin.name;
    if (this.#devices.some((d) => d.name === name)) {
      throw new PluginError(
        plugin.name,
        `a device named ${name} is already on the board; give this one name=OTHER`,
      );
    }
    const options = parseOptions(
      plugin.name,
      plugin.options ?? {},
      spec.options ?? {},
    );
    const ctx = this.context(plugin, {
      name,
      addr: spec.addr,
      irq: spec.irq,
    });
    const instance = plugin.create(ctx, options) as DeviceInstance;
    if (!instance || !Array.isArray(instance.regions)) {
      throw new PluginError(
        plugin.name,
        "its create function must return an object with regions and reset",
      );
    }
    const dev = { name, plugin, instance, addr: spec.addr, irq: spec.irq };
    this.#track(dev);
    return dev;
  }

  #track(dev: HostedDevice): void {
    this.#devices.push(dev);
    for (const [kind, codec] of Object.entries(dev.plugin.events ?? {})) {
      if (!this.#owners.has(kind)) {
        this.#owners.set(kind, {
          codec: codec as EventCodec<unknown, unknown>,
          device: dev,
        });
      }
    }
  }

  /**
   * The event kinds the devices on the board can apply.
   *
   * @returns the kinds
   */
  eventKinds(): string[] {
    return [...this.#owners.keys()];
  }

  /**
   * Refuse a replay log that holds plugin event kinds that no device on
   * the board brings. Call it before replaying.
   *
   * @param kinds the plugin event kinds in the log
   * @throws {UnknownEventKindError} listing them
   */
  checkLogKinds(kinds: Iterable<string>): void {
    const unknown = [...new Set(kinds)].filter((k) => !this.#owners.has(k));
    if (unknown.length > 0) throw new UnknownEventKindError(unknown.sort());
  }

  /**
   * Encode a value of an event kind with its codec.
   *
   * @param kind the event kind
   * @param value the value
   * @returns the bytes for the log
   * @throws {PluginError} if no device brings the kind
   */
  encode(kind: string, value: unknown): Uint8Array {
    return this.#owner(kind).codec.encode(value);
  }

  /**
   * Apply an event to the device that brings its kind: decode the payload
   * and call the codec's `apply`.
   *
   * @param kind the event kind
   * @param payload the encoded value
   * @throws {PluginError} if no device brings the kind
   */
  apply(kind: string, payload: Uint8Array): void {
    const o = this.#owner(kind);
    o.codec.apply(o.device.instance, o.codec.decode(payload));
  }

  #owner(kind: string) {
    const o = this.#owners.get(kind);
    if (!o) {
      throw new PluginError(
        kind,
        `no device on the board brings replay event kind ${kind}`,
      );
    }
    return o;
  }

  /**
   * Save a device's declared state.
   *
   * @param dev the device
   * @returns the bytes, or undefined if it declares no state
   */
  saveState(dev: HostedDevice): Uint8Array | undefined {
    const s = dev.plugin.state;
    if (!s) return undefined;
    return encodeState(s.description, s.save(dev.instance));
  }

  /**
   * Restore a device's declared state (through its `postLoad`).
   *
   * @param dev the device
   * @param bytes what {@linkcode PluginHost.saveState} returned
   * @throws {StateError} if the bytes do not fit the declaration
   */
  loadState(dev: HostedDevice, bytes: Uint8Array): void {
    const s = dev.plugin.state;
    if (!s) {
      throw new PluginError(dev.plugin.name, "it declares no state");
    }
    s.load(dev.instance, decodeState(s.description, bytes));
  }
}

/**
 * Refuse a replay log that holds plugin event kinds that none of the given
 * plugin devices brings, before a machine is built. Takes the log as bytes
 * (QEMU's format: the kinds that `EVENT_DEJA_PLUGIN_KIND` declares) or as the in-process list of
 * events; a corrupt or cut log is left to the replayer to report.
 *
 * @param log the log
 * @param devices the plugin devices of the replaying machine
 * @throws {UnknownEventKindError} listing the kinds no device brings
 * @example Refuse a sensor log without the sensor plugin
 * ```ts
 * import { checkLogEventKinds } from "./host.ts";
 * try {
 *   checkLogEventKinds([{ kind: "plugin", icount: 1, event: "sensor.reading", payload: new Uint8Array(4) }], []);
 * } catch (e) {
 *   console.log((e as Error).name); // UnknownEventKindError
 * }
 * ```
 */
export function checkLogEventKinds(
  log: Uint8Array | readonly NondetEvent[],
  devices: readonly { plugin: AnyDevicePlugin }[],
): void {
  const found = new Set<string>();
  if (log instanceof Uint8Array) {
    try {
      for (const e of new ReplayLogReader(log)) {
        if (e.kind === "plugin-event" || e.kind === "plugin-kind") {
          found.add(e.event);
        }
      }
    } catch {
      // A corrupt or cut log: the replayer reports it.
    }
  } else {
    for (const e of log) if (e.kind === "plugin") found.add(e.event);
  }
  const known = new Set(
    devices.flatMap((d) => Object.keys(d.plugin.events ?? {})),
  );
  const unknown = [...found].filter((k) => !known.has(k)).sort();
  if (unknown.length > 0) throw new UnknownEventKindError(unknown);
}
