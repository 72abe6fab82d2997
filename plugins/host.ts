/**
 * The board side of device plugins: {@linkcode PluginHost} builds each
 * device's context (its address, its own interrupt line, the virtual clock,
 * guest memory, a checked `emit` and `pull`), checks each `-device` window,
 * routes replay events to the instance they belong to (`kind@instance`),
 * guards plugin callbacks so that a failure names the plugin, and saves and
 * restores each device's declared state.
 *
 * The machine ({@linkcode VirtMachine}) owns one host. It decides what an
 * event does in record and replay mode; the host only encodes, decodes and
 * applies.
 *
 * @module
 */

import type { Bus, MmioRegion } from "../core/bus.ts";
import type { VirtualClock } from "../core/clock.ts";
import type { InterruptTarget, IrqLine } from "../core/irq.ts";
import {
  type AnyDevicePlugin,
  type BoardWiring,
  checkedEmit,
  CORE_EVENT_KINDS,
  type DeviceContext,
  type DeviceInstance,
  type DeviceState,
  type EventCodec,
  type GuestClock,
  type GuestMemory,
  PluginCallbackError,
  PluginError,
  type PluginRegistry,
  UndeclaredEventError,
  UnknownEventKindError,
} from "./registry.ts";
import {
  parseOptions,
  PHYS_ADDR_LIMIT,
  PluginOptionsError,
} from "./options.ts";
import {
  assignState,
  decodeState,
  encodeState,
  type StateDescription,
} from "./state.ts";

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
  /**
   * Where the device's on-demand host data comes from in this process: a
   * started backend's `pull` (see {@linkcode DeviceContext.pull}). Leave it
   * out in a replay, where the log serves every pulled value.
   *
   * @default {undefined}
   */
  pull?: (kind: string) => unknown;
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
  /**
   * The MMIO regions to map on the bus: the instance's, and for a `-device`
   * plugin wrapped so that an exception in its `read` or `write` becomes a
   * {@linkcode PluginCallbackError} naming the plugin, the instance, the
   * offset and the guest pc.
   */
  readonly regions: readonly MmioRegion[];
}

/** What the host needs from the board. */
export interface PluginHostOptions {
  /** The bus (for DMA). */
  bus: Bus;
  /** The virtual clock. */
  clock: VirtualClock;
  /** The hart (board wiring for the CLINT and the PLIC, see {@linkcode BoardWiring}). */
  hart: InterruptTarget;
  /**
   * A PLIC input line, for boards whose interrupt controller is not created
   * through the host (the controller's `provideInterruptLines` wins).
   */
  plicLine: (source: number) => IrqLine;
  /**
   * Where a device's own `emit` goes, already checked and encoded; the kind
   * is qualified with the instance (`kind@instance`).
   *
   * @default {(kind, payload) => host.apply(kind, payload)}
   */
  deliver?: (kind: string, payload: Uint8Array) => void;
  /**
   * The guest's pc and instruction count, for the errors of plugin
   * callbacks.
   *
   * @default {undefined}
   */
  where?: () => { pc: bigint; icount: number };
  /**
   * Address ranges of the board that are not devices of this host (the
   * boot ROM), which a `-device` window must not overlap either.
   *
   * @default {[]}
   */
  reserved?: readonly { name: string; base: number; size: number }[];
}

/**
 * Qualify an event kind with the device instance it belongs to:
 * `sensor.reading@sensor2`. This is the name the log gives the kind, so
 * that each instance of a plugin gets its own events back in a replay.
 *
 * @param kind the declared kind
 * @param instance the instance name
 * @returns `kind@instance`
 * @example
 * ```ts
 * import { qualifyKind, splitKind } from "./host.ts";
 * const q = qualifyKind("sensor.reading", "sensor2");
 * console.log(q, splitKind(q)); // sensor.reading@sensor2 { kind: "sensor.reading", instance: "sensor2" }
 * ```
 */
export function qualifyKind(kind: string, instance: string): string {
  return `${kind}@${instance}`;
}

/**
 * Split a logged event kind into the declared kind and the instance. A log
 * recorded before events were per instance has the bare kind: its instance
 * is undefined, and the event goes to the first instance that brings it.
 *
 * @param logged `kind@instance` or `kind`
 * @returns the parts
 */
export function splitKind(
  logged: string,
): { kind: string; instance: string | undefined } {
  const at = logged.lastIndexOf("@");
  return at < 0
    ? { kind: logged, instance: undefined }
    : { kind: logged.slice(0, at), instance: logged.slice(at + 1) };
}

const INSTANCE_NAME = /^[A-Za-z0-9_.-]+$/;

interface Owner {
  codec: EventCodec<unknown, unknown>;
  device: HostedDevice;
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
 * host.apply("latch.set@latch", new Uint8Array([7]));
 * console.log((dev.instance as unknown as { value: number }).value); // 7
 * ```
 */
export class PluginHost {
  #registry: PluginRegistry;
  #options: PluginHostOptions;
  #devices: HostedDevice[] = [];
  /** `kind@instance` -> its codec and device. */
  #owners = new Map<string, Owner>();
  /** bare kind -> the first instance that brings it (old logs). */
  #firstOwners = new Map<string, Owner>();
  #clock: GuestClock;
  #connect: ((source: number) => IrqLine) | undefined;
  /** `kind@instance` -> values applied and not yet pulled. */
  #pulled = new Map<string, unknown[]>();
  /** A state restore is running its `afterLoad`. */
  #restoring = false;

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
   * The context a device gets: its own interrupt line (a new input of its
   * PLIC source, wire-ORed with the other devices on that source), the
   * virtual clock, guest memory, and `emit`/`pull` for the kinds it
   * declares. Nothing of the hart or of other lines.
   *
   * @param plugin the device plugin
   * @param where its name, address, interrupt, and on-demand source
   * @returns the context
   */
  context(
    plugin: AnyDevicePlugin,
    where: {
      name: string;
      addr: number;
      irq?: number | undefined;
      pull?: ((kind: string) => unknown) | undefined;
    },
  ): DeviceContext {
    const o = this.#options;
    const irqNumber = where.irq;
    const line = irqNumber === undefined
      ? undefined
      : (this.#connect ?? o.plicLine)(irqNumber);
    const irq: IrqLine = line
      ? {
        set: (level) => {
          if (this.#restoring) this.#touched(plugin, where.name, "its line");
          line.set(level);
        },
      }
      : {
        set: () => {
          throw new PluginError(
            plugin.name,
            `device ${where.name} raised its interrupt but has none; give it one with irq=N`,
          );
        },
      };
    const deliver = o.deliver ?? ((k, p) => this.apply(k, p));
    const instance = where.name;
    const bus = o.bus;
    const memory: GuestMemory = Object.freeze({
      read: (addr: number, size: 1 | 2 | 4) => bus.read(addr, size),
      write: (addr: number, size: 1 | 2 | 4, value: number) => {
        if (this.#restoring) {
          this.#touched(
            plugin,
            instance,
            `guest memory at 0x${addr.toString(16)}`,
          );
        }
        return bus.write(addr, size, value);
      },
    });
    const encodeFor = (kind: string, value: unknown): Uint8Array => {
      if (CORE_EVENT_KINDS.includes(kind)) {
        throw new PluginError(
          plugin.name,
          `a device cannot emit the core event kind ${kind}; the board feeds it`,
        );
      }
      const codec = plugin.events?.[kind] as
        | EventCodec<unknown, unknown>
        | undefined;
      if (!codec) {
        throw new PluginError(
          plugin.name,
          `it emitted ${kind}, but brings no codec for it; add it to events`,
        );
      }
      return codec.encode(value);
    };
    const emit = checkedEmit(plugin, (kind, value) => {
      if (this.#restoring) this.#touched(plugin, instance, `event ${kind}`);
      deliver(qualifyKind(kind, instance), encodeFor(kind, value));
    });
    const pull = checkedPull(plugin, (kind) => {
      const key = qualifyKind(kind, instance);
      let queue = this.#pulled.get(key);
      if (!queue?.length && where.pull) {
        // Recording (or a plain run): ask the host now, and hand the value
        // over as an event at this instruction, as an emit does; its codec's
        // apply queues it here. In a replay the log's event did that already.
        const value = where.pull(kind);
        deliver(key, encodeFor(kind, value));
        queue = this.#pulled.get(key);
      }
      if (!queue?.length) {
        throw new PluginError(
          plugin.name,
          `device ${instance} pulled ${kind}, but there is no value for it: no backend answers pulls (start its backend), or the replay log has none at this instruction`,
        );
      }
      return queue.shift();
    });
    return Object.freeze({
      name: where.name,
      addr: where.addr,
      irqNumber,
      irq,
      clock: this.#clock,
      memory,
      emit: emit as DeviceContext["emit"],
      pull: pull as DeviceContext["pull"],
    });
  }

  /**
   * Create a built-in device of the board: it gets the board's own wiring
   * ({@linkcode BoardWiring}: the hart, and for the interrupt controller
   * the right to provide the devices' lines). Only the board calls this; a
   * `-device` plugin goes through {@linkcode PluginHost.add} and gets no
   * wiring.
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
    const wiring: BoardWiring = Object.freeze({
      hart: this.#options.hart,
      provideInterruptLines: (connect: (source: number) => IrqLine) => {
        this.#connect = connect;
      },
    });
    const instance = this.#registry.create(plugin, ctx, options, wiring);
    this.#track({
      name,
      plugin,
      instance: instance as DeviceInstance,
      addr: where.addr,
      irq: where.irq,
      regions: (instance as DeviceInstance).regions,
    });
    return instance;
  }

  /**
   * Create a plugin device from a spec: register the plugin if it is not
   * yet, parse its options, create it.
   *
   * @param spec the plugin, address, interrupt and options
   * @returns the device
   * @throws {PluginError} if the plugin fails registration, the instance
   * name is taken or malformed, or its create function throws (naming the
   * plugin, the instance and the cause)
   * @throws {PluginOptionsError} if its options are bad
   */
  add(spec: DeviceSpec): HostedDevice {
    const plugin = spec.plugin;
    if (this.#registry.get(plugin.name) !== plugin) {
      this.#registry.register(plugin);
    }
    const name = spec.name ?? plugin.name;
    if (!INSTANCE_NAME.test(name)) {
      throw new PluginError(
        plugin.name,
        `its instance name ${
          JSON.stringify(name)
        } must be letters, digits, _ . and -; fix name=`,
      );
    }
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
    if (plugin.mmioSize !== undefined) {
      this.#checkWindow(plugin.name, spec.addr, plugin.mmioSize);
    }
    if (
      spec.irq !== undefined &&
      !(Number.isInteger(spec.irq) && spec.irq >= 1 && spec.irq <= 95)
    ) {
      throw new PluginOptionsError(
        plugin.name,
        "irq",
        `${spec.irq} is not a PLIC source; expected 1 to 95`,
      );
    }
    const ctx = this.context(plugin, {
      name,
      addr: spec.addr,
      irq: spec.irq,
      pull: spec.pull,
    });
    let instance: DeviceInstance;
    try {
      instance = plugin.create(ctx, options) as DeviceInstance;
    } catch (e) {
      throw new PluginError(
        plugin.name,
        `its create function failed for device ${name}: ${errorText(e)}`,
        { cause: e },
      );
    }
    if (!instance || !Array.isArray(instance.regions)) {
      throw new PluginError(
        plugin.name,
        "its create function must return an object with regions and reset",
      );
    }
    const s = plugin.state;
    if (s && isDescription(s) && typeof instance.state !== "object") {
      throw new PluginError(
        plugin.name,
        `it declares state ${s.name}, but its instance has no state object; return state: newState(${s.name}State) from create`,
      );
    }
    if (plugin.mmioSize === undefined && instance.regions.length > 0) {
      const lo = Math.min(...instance.regions.map((r) => r.base));
      const hi = Math.max(...instance.regions.map((r) => r.base + r.size));
      this.#checkWindow(plugin.name, lo, hi - lo);
    }
    const dev: HostedDevice = {
      name,
      plugin,
      instance,
      addr: spec.addr,
      irq: spec.irq,
      regions: instance.regions.map((r) => this.#guard(plugin, name, r)),
    };
    this.#track(dev);
    return dev;
  }

  /** Refuse what an `afterLoad` may not do: reach beyond its own device. */
  #touched(plugin: AnyDevicePlugin, name: string, what: string): never {
    throw new PluginError(
      plugin.name,
      `device ${name} drove ${what} while its state was restored (afterLoad); a restore must change only the device itself (the PLIC restores its own inputs), so leave that to the running device`,
    );
  }

  /**
   * Check a `-device` window: inside the physical address space, clear of
   * RAM, the board's devices, reserved ranges and earlier plugin devices.
   */
  #checkWindow(plugin: string, base: number, size: number): void {
    const bad = (detail: string): never => {
      throw new PluginOptionsError(plugin, "addr", detail);
    };
    const at = `0x${base.toString(16)}`;
    if (!Number.isInteger(base) || base < 0) {
      bad(`${base} is not an address; write it like 0x10010000`);
    }
    const end = base + size;
    if (end > Number.MAX_SAFE_INTEGER || BigInt(end) > PHYS_ADDR_LIMIT) {
      bad(
        `the window ${at} + 0x${
          size.toString(16)
        } ends outside the physical address space that deja maps (0 to 0x${
          Number.MAX_SAFE_INTEGER.toString(16)
        }); the board leaves 0x10010000 to 0x1fffffff free for devices`,
      );
    }
    const taken: { name: string; base: number; size: number }[] = [
      {
        name: "RAM",
        base: this.#options.bus.ramBase,
        size: this.#options.bus.ramSize,
      },
      ...(this.#options.reserved ?? []),
    ];
    for (const d of this.#devices) {
      const span = d.plugin.mmioSize ??
        Math.max(0, ...d.regions.map((r) => r.base + r.size - d.addr));
      taken.push({ name: d.name, base: d.addr, size: span });
    }
    for (const t of taken) {
      if (base < t.base + t.size && t.base < end) {
        bad(
          `the window ${at} to 0x${
            (end - 1).toString(16)
          } overlaps ${t.name} (0x${t.base.toString(16)} to 0x${
            (t.base + t.size - 1).toString(16)
          }); the board leaves 0x10010000 to 0x1fffffff free for devices`,
        );
      }
    }
  }

  /** Wrap a plugin region so that a throw names the plugin and the access. */
  #guard(plugin: AnyDevicePlugin, name: string, r: MmioRegion): MmioRegion {
    const fail = (what: string, offset: number, e: unknown): never => {
      // Errors that already name the plugin and the misuse (an undeclared
      // emit, a pull with no value) go out as they are.
      if (
        e instanceof PluginCallbackError || e instanceof PluginError ||
        e instanceof UndeclaredEventError
      ) throw e;
      throw new PluginCallbackError({
        plugin: plugin.name,
        instance: name,
        callback: `MMIO ${what} of region ${r.name}`,
        offset,
        ...this.#options.where?.(),
        cause: e,
      });
    };
    return {
      ...r,
      read: (offset, size) => {
        try {
          return r.read(offset, size);
        } catch (e) {
          return fail("read", offset, e);
        }
      },
      write: (offset, size, value) => {
        try {
          return r.write(offset, size, value);
        } catch (e) {
          return fail("write", offset, e);
        }
      },
    };
  }

  #track(dev: HostedDevice): void {
    this.#devices.push(dev);
    for (const [kind, codec] of Object.entries(dev.plugin.events ?? {})) {
      const owner = {
        codec: codec as EventCodec<unknown, unknown>,
        device: dev,
      };
      this.#owners.set(qualifyKind(kind, dev.name), owner);
      if (!this.#firstOwners.has(kind)) this.#firstOwners.set(kind, owner);
    }
  }

  /**
   * The event kinds the devices on the board can apply, each qualified
   * with its instance (`kind@instance`).
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
   * @param kinds the plugin event kinds in the log (`kind@instance`, or a
   * bare kind from an older log)
   * @throws {UnknownEventKindError} listing them
   */
  checkLogKinds(kinds: Iterable<string>): void {
    const unknown = [...new Set(kinds)].filter((k) => !this.#find(k));
    if (unknown.length > 0) throw new UnknownEventKindError(unknown.sort());
  }

  /**
   * Encode a value of an event kind with its codec.
   *
   * @param kind the event kind (`kind@instance`, or a bare kind for its
   * first instance)
   * @param value the value
   * @returns the bytes for the log
   * @throws {PluginError} if no device brings the kind
   */
  encode(kind: string, value: unknown): Uint8Array {
    return this.#owner(kind).codec.encode(value);
  }

  /**
   * Apply an event to the device instance it belongs to: decode the
   * payload and call the codec's `apply`.
   *
   * @param kind `kind@instance`; a bare kind (a log recorded before events
   * were per instance) goes to the first instance that brings it
   * @param payload the encoded value
   * @throws {PluginError} if no device brings the kind
   * @throws {PluginCallbackError} if the codec throws
   */
  apply(kind: string, payload: Uint8Array): void {
    const o = this.#owner(kind);
    const bare = splitKind(kind).kind;
    let value: unknown;
    try {
      value = o.codec.decode(payload);
      if (o.device.plugin.pulls?.includes(bare)) {
        const key = qualifyKind(bare, o.device.name);
        const q = this.#pulled.get(key);
        if (q) q.push(value);
        else this.#pulled.set(key, [value]);
      }
      o.codec.apply(o.device.instance, value);
    } catch (e) {
      if (e instanceof PluginCallbackError) throw e;
      throw new PluginCallbackError({
        plugin: o.device.plugin.name,
        instance: o.device.name,
        callback: `the event ${bare}'s ${
          value === undefined ? "decode" : "apply"
        }`,
        ...this.#options.where?.(),
        cause: e,
      });
    }
  }

  #find(kind: string): Owner | undefined {
    return kind.includes("@")
      ? this.#owners.get(kind)
      : this.#firstOwners.get(kind);
  }

  #owner(kind: string): Owner {
    const o = this.#find(kind);
    if (!o) {
      const { kind: bare, instance } = splitKind(kind);
      throw new PluginError(
        bare,
        instance === undefined
          ? `no device on the board brings replay event kind ${bare}`
          : `no device named ${instance} on the board brings replay event kind ${bare}; load it with -device PLUGIN,name=${instance}`,
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
    if (isDescription(s)) {
      dev.instance.beforeSave?.();
      return encodeState(s, liveState(dev));
    }
    const c = s as DeviceState<DeviceInstance>;
    return encodeState(c.description, c.save(dev.instance));
  }

  /**
   * Restore a device's declared state (through its `postLoad`, then the
   * instance's `afterLoad`).
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
    if (isDescription(s)) {
      assignState(liveState(dev), decodeState(s, bytes));
      this.#restoring = true;
      try {
        dev.instance.afterLoad?.();
      } finally {
        this.#restoring = false;
      }
      return;
    }
    const c = s as DeviceState<DeviceInstance>;
    c.load(dev.instance, decodeState(c.description, bytes));
  }
}

function isDescription(
  s: NonNullable<AnyDevicePlugin["state"]>,
): s is StateDescription {
  return "fields" in s;
}

function liveState(dev: HostedDevice): Record<string, never> {
  const v = dev.instance.state;
  if (typeof v !== "object" || v === null) {
    throw new PluginError(
      dev.plugin.name,
      `device ${dev.name} has no state object to save or restore`,
    );
  }
  return v as Record<string, never>;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Check the kinds a device pulls against its declaration, as
 * {@linkcode checkedEmit} does for emits.
 */
function checkedPull(
  plugin: AnyDevicePlugin,
  source: (kind: string) => unknown,
): (kind: string) => unknown {
  const declared = plugin.pulls ?? [];
  return (kind) => {
    if (!declared.includes(kind)) {
      throw new PluginError(
        plugin.name,
        `it pulled replay event kind ${
          JSON.stringify(kind)
        }, which it does not declare; add it to pulls (declared: ${
          declared.length ? declared.join(", ") : "none"
        })`,
      );
    }
    return source(kind);
  };
}

/**
 * Refuse plugin event kinds that none of the given plugin devices brings.
 * The replay layer lists the kinds of its log and calls this before a
 * machine is built.
 *
 * @param kinds the plugin event kinds of a log: `kind@instance`, or bare
 * kinds from a log recorded before events were per instance
 * @param devices the plugin devices of the replaying machine, with their
 * instance names (a device given without a name accepts its kinds for any
 * instance)
 * @throws {UnknownEventKindError} listing the kinds no device brings
 * @example Refuse a sensor log without the sensor plugin
 * ```ts
 * import { checkEventKinds } from "./host.ts";
 * try {
 *   checkEventKinds(["sensor.reading@sensor"], []);
 * } catch (e) {
 *   console.log((e as Error).name); // UnknownEventKindError
 * }
 * ```
 */
export function checkEventKinds(
  kinds: Iterable<string>,
  devices: readonly { plugin: AnyDevicePlugin; name?: string }[],
): void {
  const known = new Set<string>();
  const anyInstance = new Set<string>();
  for (const d of devices) {
    for (const k of Object.keys(d.plugin.events ?? {})) {
      known.add(k);
      if (d.name === undefined) anyInstance.add(k);
      else known.add(qualifyKind(k, d.name));
    }
  }
  const unknown = [...new Set(kinds)].filter((k) =>
    !known.has(k) && !anyInstance.has(splitKind(k).kind)
  ).sort();
  if (unknown.length > 0) throw new UnknownEventKindError(unknown);
}
