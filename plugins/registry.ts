/**
 * The typed plugin registry. There are three kinds of plugin, told apart by
 * `kind`:
 *
 * - **device**: a guest-visible model that runs with the vCPU (MMIO
 *   registers, an interrupt line, declared state);
 * - **backend**: host I/O that runs on the main loop (a terminal, a file, a
 *   socket, a sensor's data source); it hands host data to the guest only by
 *   emitting declared replay events;
 * - **instrumentation**: observes execution (QEMU's TCG plugins); it cannot
 *   change guest state.
 *
 * Every plugin has a unique `name`, a `version`, the plugin API version it
 * was written for (the registry accepts
 * {@linkcode MIN_PLUGIN_API_VERSION} to {@linkcode PLUGIN_API_VERSION}), the
 * names of the plugins it depends on, and an option schema.
 *
 * A plugin lists in `produces` the replay event kinds it may emit. A device
 * plugin that brings a new kind registers its codec in `events`: `encode` and
 * `decode` (the bytes in the log) and `apply` (what the event does to the
 * device). Emitting a kind that is not in `produces` throws
 * {@linkcode UndeclaredEventError}, and the types make it a compile error.
 *
 * @module
 */

import { CORE_INPUT_KINDS } from "../devices/events.ts";
import type { BottomHalf, VirtualTimer } from "../core/clock.ts";
import type { InterruptTarget, IrqLine } from "../core/irq.ts";
import type { MmioRegion } from "../core/bus.ts";
import type { OptionsOf, OptionsSchema } from "./options.ts";
import type { StateDescription, StateFields, StateValues } from "./state.ts";
import type { InstrumentationHooks } from "./hooks.ts";

/** The plugin API version that this registry speaks (the newest). */
export const PLUGIN_API_VERSION = 1;

/** The oldest plugin API version that this registry still accepts. */
export const MIN_PLUGIN_API_VERSION = 1;

/**
 * Replay event kinds that the core itself logs and applies (the machine's
 * input kinds, `devices/events.ts`). A plugin may list them in `produces`
 * without a codec: `serial` is bytes for the UART's receive FIFO,
 * `host-clock` a host wall-clock reading, `random` host entropy, `warp` an
 * idle hart's clock warp.
 */
export const CORE_EVENT_KINDS: readonly string[] = CORE_INPUT_KINDS.map((k) =>
  k.name
);

// ---------------------------------------------------------------------------
// Replay events

/**
 * How a replay event kind is stored and what it does: QEMU's
 * `_save/_load/_run` triple. `encode` and `decode` must be inverses;
 * `apply` runs on the device, at the same instruction count in the
 * recording and in every replay.
 */
export interface EventCodec<T = unknown, I = never> {
  /**
   * Turn a value into the bytes stored in the log.
   *
   * @param value what was emitted
   * @returns the bytes
   */
  encode(value: T): Uint8Array;
  /**
   * Turn logged bytes back into the value.
   *
   * @param bytes what `encode` returned
   * @returns the value
   */
  decode(bytes: Uint8Array): T;
  /**
   * Deliver the event to the device (the recording and every replay call
   * it with the decoded value, at the same instruction).
   *
   * @param device the device instance
   * @param value the decoded value
   */
  apply(device: I, value: T): void;
}

/** The value type of a codec. */
export type CodecValue<C> = C extends EventCodec<infer T, infer _I> ? T
  : never;

/**
 * An emitted event kind is not in the plugin's `produces`. Names the plugin
 * and the kind.
 */
export class UndeclaredEventError extends Error {
  /** The plugin that emitted. */
  readonly plugin: string;
  /** The kind it emitted. */
  readonly eventKind: string;

  /**
   * Create the error.
   *
   * @param plugin the plugin name
   * @param kind the event kind
   * @param declared what the plugin declared
   */
  constructor(plugin: string, kind: string, declared: readonly string[]) {
    super(
      `Plugin ${plugin} emitted replay event kind ${
        JSON.stringify(kind)
      }, which it does not declare; add it to produces (declared: ${
        declared.length ? declared.join(", ") : "none"
      })`,
    );
    this.name = "UndeclaredEventError";
    this.plugin = plugin;
    this.eventKind = kind;
  }
}

/**
 * A replay log holds event kinds that no loaded plugin provides, so it
 * cannot be replayed with this set of plugins.
 */
export class UnknownEventKindError extends Error {
  /** The kinds that no plugin provides. */
  readonly kinds: readonly string[];

  /**
   * Create the error.
   *
   * @param kinds the unknown kinds
   */
  constructor(kinds: readonly string[]) {
    super(
      `Cannot replay this log: it holds replay event kinds that no loaded plugin provides: ${
        kinds.join(", ")
      }; load the plugins it was recorded with (-device PLUGIN.ts${
        kinds.some((k) => k.includes("@"))
          ? ", with name=INSTANCE for kind@INSTANCE"
          : ""
      })`,
    );
    this.name = "UnknownEventKindError";
    this.kinds = kinds;
  }
}

// ---------------------------------------------------------------------------
// Device plugins

/** The guest's virtual clock, the only clock a device sees. */
export interface GuestClock {
  /** Virtual nanoseconds since power-on (from the instruction count). */
  nowNs(): number;
  /**
   * Make a timer on the virtual clock: arm it with `mod(deadlineNs)`,
   * disarm it with `del()`; the callback runs at the deadline's
   * instruction on every run.
   *
   * @param name a name for debugging
   * @param callback what runs when it expires
   * @returns the timer
   */
  newTimer(name: string, callback: () => void): VirtualTimer;
  /**
   * Make a deterministic bottom half: work that the device defers with
   * `schedule()` and that runs at the next checkpoint of the vCPU, at the
   * same instruction on every run, so record and replay agree (QEMU's
   * `replay_bh_schedule_event`). See {@linkcode BottomHalf}.
   *
   * @param name a name for debugging
   * @param callback the deferred work
   * @returns the bottom half, not scheduled
   */
  newBottomHalf(name: string, callback: () => void): BottomHalf;
}

/** Guest physical memory, for DMA. */
export interface GuestMemory {
  /**
   * Read guest memory (RAM or MMIO).
   *
   * @param addr physical address
   * @param size 1, 2 or 4 bytes
   * @returns the value, zero-extended
   */
  read(addr: number, size: 1 | 2 | 4): number;
  /**
   * Write guest memory.
   *
   * @param addr physical address
   * @param size 1, 2 or 4 bytes
   * @param value the value
   * @returns false if nothing is mapped there
   */
  write(addr: number, size: 1 | 2 | 4, value: number): boolean;
}

/** The emit function of a plugin that declared the kinds `K`. */
export type Emit<K extends string, V extends Record<string, unknown>> = <
  E extends K,
>(
  kind: E,
  value: E extends keyof V ? V[E] : unknown,
) => void;

/** What a device plugin gets when it is created. */
export interface DeviceContext<
  K extends string = string,
  V extends Record<string, unknown> = Record<string, unknown>,
> {
  /** The instance name (the plugin name, or `name=` from `-device`). */
  readonly name: string;
  /** Where the device's MMIO window starts (`addr=` of `-device`). */
  readonly addr: number;
  /** The PLIC source number of its interrupt (`irq=`), if it has one. */
  readonly irqNumber: number | undefined;
  /**
   * The device's interrupt line to the PLIC (level-triggered). Setting it
   * when the device has no `irq=` throws.
   */
  readonly irq: IrqLine;
  /** The virtual clock: the only clock that may change guest state. */
  readonly clock: GuestClock;
  /** Guest physical memory (DMA). */
  readonly memory: GuestMemory;
  /**
   * Hand a value of a declared kind to the machine as a replay event of
   * this instance (`kind@name` in the log); the kind's codec's `apply`
   * delivers it. Host data should come from a backend plugin.
   */
  readonly emit: Emit<K, V>;
  /**
   * Ask for host data now, at the instruction that needs it (an RNG word, a
   * sensor sampled when the guest reads it). The kind must be in the
   * plugin's `pulls` and have a codec. In a recording the backend's
   * `pull(kind)` answers, and the value is logged as one event of this
   * instance at this instruction; in a replay the log serves it. Returns
   * the decoded value (the codec's `apply` also sees it).
   *
   * @param kind a kind listed in `pulls`
   * @returns the value
   * @throws {PluginError} if no backend answers and the log has no value
   */
  pull<E extends K>(kind: E): E extends keyof V ? V[E] : unknown;
}

/**
 * Board wiring that only the board's own devices get: the third argument of
 * a built-in's `create`, handed over by `PluginHost.createBuiltin`
 * (which only the board calls). A device loaded with `-device` never gets
 * it: its context reaches only its own interrupt line and what it declared.
 */
export interface BoardWiring {
  /** The hart's pending-interrupt bits (the CLINT and the PLIC drive them). */
  readonly hart: InterruptTarget;
  /**
   * For the interrupt controller: give the board the function that connects
   * a device to a source, one new input per device (wire-ORed).
   *
   * @param connect makes a new input line of a source
   */
  provideInterruptLines(connect: (source: number) => IrqLine): void;
}

/** What every device instance offers the board. */
export interface DeviceInstance {
  /** The MMIO regions to map. */
  readonly regions: readonly MmioRegion[];
  /** Return to the power-on state. */
  reset(): void;
  /**
   * The live values of the declared state (when the plugin's `state` is a
   * {@linkcode StateDescription}): the host saves this object and restores
   * into it, field by field.
   */
  readonly state?: Record<string, unknown>;
  /**
   * QEMU's `pre_save`: bring state fields up to date from what is not kept
   * in them (a timer's deadline), just before a save.
   */
  beforeSave?(): void;
  /**
   * QEMU's `post_load`: re-derive what follows from the restored fields
   * (re-arm a timer, a cached value). It must touch only this device: not
   * its interrupt line (the interrupt controller restores its own inputs).
   */
  afterLoad?(): void;
}

/**
 * A device's state: the declaration and how to read and write the values of
 * an instance.
 */
export interface DeviceState<I, F extends StateFields = StateFields> {
  /** The declaration (fields, version, postLoad). */
  readonly description: StateDescription<F>;
  /**
   * Read the instance's state.
   *
   * @param device the instance
   * @returns its values
   */
  save(device: I): StateValues<F>;
  /**
   * Set the instance's state (after `postLoad`).
   *
   * @param device the instance
   * @param values the values
   */
  load(device: I, values: StateValues<F>): void;
}

/**
 * The codecs of a device plugin, one per kind it brings; `V` maps each kind
 * to its value type.
 */
export type EventCodecs<V extends Record<string, unknown>> = {
  readonly [E in keyof V]: EventCodec<V[E], AnyDevice>;
};

/** The device an event applies to: whatever the plugin's create returns. */
// deno-lint-ignore no-explicit-any
export type AnyDevice = any;

/** What every kind of plugin declares besides its kind, name and options. */
export interface PluginBase {
  /** The plugin's own version. */
  readonly version: string;
  /** The plugin API version it was written for. */
  readonly apiVersion: number;
  /** Names of plugins that must be registered first. */
  readonly dependencies?: readonly string[];
  /** A one-line description. */
  readonly description?: string;
}

/** A device plugin. */
export interface DevicePlugin<
  Name extends string = string,
  K extends string = string,
  S extends OptionsSchema = OptionsSchema,
  I extends DeviceInstance = DeviceInstance,
  V extends Record<string, unknown> = Record<string, unknown>,
  O = OptionsOf<S>,
  F extends StateFields = StateFields,
> extends PluginBase {
  /** The discriminant. */
  readonly kind: "device";
  /** A unique name, as used with `-device NAME`. */
  readonly name: Name;
  /** The `compatible` string of its device tree node. */
  readonly compatible?: string;
  /** Size of its MMIO window in bytes (for the device tree node). */
  readonly mmioSize?: number;
  /** The options it takes after `-device PLUGIN,` (typed by the schema). */
  readonly options?: S;
  /** Replay event kinds that the plugin (or its backend) may emit. */
  readonly produces?: readonly K[];
  /**
   * Kinds (also in `produces`, with a codec) that the device asks for on
   * demand with `ctx.pull(kind)`, answered by its backend's `pull`.
   */
  readonly pulls?: readonly K[];
  /** Codecs of the event kinds it brings. */
  readonly events?: EventCodecs<V>;
  /**
   * Its declared state: a {@linkcode StateDescription} whose values the
   * instance keeps in its `state` property (the fields are written once), or,
   * for state that is not kept as plain fields, a {@linkcode DeviceState}
   * with its own `save` and `load`.
   */
  readonly state?: StateDescription<F> | DeviceState<I, F>;
  /** The backend that feeds it from the host (runs on the main loop). */
  readonly backend?: AnyBackendPlugin;
  /**
   * Make an instance.
   *
   * @param ctx what the board offers
   * @param options the parsed options (for built-ins, board wiring)
   * @param wiring the board's own wiring: only built-ins get it, from
   * `PluginHost.createBuiltin`
   * @returns the instance
   */
  create(
    ctx: DeviceContext<K, V>,
    options: O,
    wiring?: BoardWiring,
  ): I;
}

/**
 * Define a device plugin, keeping its literal types: the name, the event
 * kinds in `produces` (so that `ctx.emit` accepts only those), the option
 * types from the schema.
 *
 * @param plugin the plugin object
 * @returns the same object
 * @example A scratch-register device
 * ```ts
 * import { defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const scratch = defineDevicePlugin({
 *   kind: "device",
 *   name: "scratch",
 *   version: "1.0.0",
 *   apiVersion: PLUGIN_API_VERSION,
 *   compatible: "deja,scratch",
 *   mmioSize: 4,
 *   options: { initial: { type: "number", default: 0 } },
 *   create: (ctx, options) => {
 *     let value = options.initial;
 *     return {
 *       regions: [{
 *         name: "scratch",
 *         base: ctx.addr,
 *         size: 4,
 *         accessSizes: [4],
 *         read: () => value,
 *         write: (_o, _s, v) => (value = v),
 *       }],
 *       reset: () => (value = options.initial),
 *     };
 *   },
 * });
 * const name: "scratch" = scratch.name;
 * console.log(name);
 * ```
 */
export function defineDevicePlugin<
  const Name extends string,
  I extends DeviceInstance,
  const K extends string = never,
  const S extends OptionsSchema = Record<never, never>,
  V extends Record<string, unknown> = Record<never, never>,
  O = OptionsOf<S>,
  const F extends StateFields = Record<never, never>,
>(
  plugin: DevicePlugin<Name, K, S, I, V, O, F>,
): DevicePlugin<Name, K, S, I, V, O, F> {
  return plugin;
}

// ---------------------------------------------------------------------------
// Backend plugins

/** What a backend plugin gets when it is created. */
export interface BackendContext<K extends string = string> {
  /** The instance name. */
  readonly name: string;
  /**
   * Hand host data to the guest as a replay event of a declared kind. In
   * a recording it is logged at the instruction where the device takes it;
   * in a replay the backend is not started and the log supplies it.
   */
  readonly emit: Emit<K, Record<string, unknown>>;
  /** Ask the machine to stop, as Ctrl-A x does. */
  readonly quit: () => void;
}

/** What a backend instance offers the host loop. */
export interface BackendInstance {
  /**
   * Guest output for a character backend: bytes the device wrote.
   *
   * @param bytes the bytes
   */
  write?(bytes: Uint8Array): void;
  /**
   * Answer a device's on-demand request (`ctx.pull(kind)` in the device):
   * return the host data now (an RNG word, a fresh sensor sample). It runs
   * synchronously, in the thread of the machine, at the instruction that
   * asks; the value is logged, so a replay does not call it.
   *
   * @param kind the kind the device pulled
   * @returns the value, of the kind's codec type
   */
  pull?(kind: string): unknown;
  /**
   * Called by the host loop from time to time (character backends: drain
   * the host source, emitting what arrived). Host data that a device needs
   * at a given instruction should be pulled instead.
   */
  poll?(): void;
  /** Release host resources (files, sockets). */
  close?(): void | Promise<void>;
}

/** A host permission a backend needs, in Deno's terms. */
export type BackendPermission =
  | { name: "read" | "write"; path: string }
  | { name: "net"; host: string };

/** A backend plugin: host I/O on the main loop. */
export interface BackendPlugin<
  Name extends string = string,
  K extends string = string,
  S extends OptionsSchema = OptionsSchema,
> extends PluginBase {
  /** The discriminant. */
  readonly kind: "backend";
  /** A unique name, as in `-serial NAME:...` for character backends. */
  readonly name: Name;
  /** The options it takes (typed by the schema). */
  readonly options?: S;
  /** Replay event kinds it emits. */
  readonly produces?: readonly K[];
  /**
   * The host permissions it needs with these options, so that the command
   * line can name the exact flag before it starts.
   *
   * @param options the parsed options
   * @returns the permissions
   */
  permissions?(options: OptionsOf<S>): BackendPermission[];
  /**
   * Open the host source. May be async (open a file, listen on a socket).
   *
   * @param ctx the emit function
   * @param options the parsed options
   * @returns the instance
   */
  create(
    ctx: BackendContext<K>,
    options: OptionsOf<S>,
  ): BackendInstance | Promise<BackendInstance>;
}

/**
 * Define a backend plugin, keeping its literal types.
 *
 * @param plugin the plugin object
 * @returns the same object
 * @example A backend that types "hi" once
 * ```ts
 * import { defineBackendPlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const hello = defineBackendPlugin({
 *   kind: "backend",
 *   name: "hello",
 *   version: "1.0.0",
 *   apiVersion: PLUGIN_API_VERSION,
 *   produces: ["serial"],
 *   create: (ctx) => {
 *     ctx.emit("serial", new TextEncoder().encode("hi"));
 *     return {};
 *   },
 * });
 * console.log(hello.produces); // ["serial"]
 * ```
 */
export function defineBackendPlugin<
  const Name extends string,
  const K extends string,
  const S extends OptionsSchema,
>(plugin: BackendPlugin<Name, K, S>): BackendPlugin<Name, K, S> {
  return plugin;
}

// ---------------------------------------------------------------------------
// Instrumentation plugins

/** What an instrumentation plugin gets when it is created. */
export interface InstrumentationContext {
  /** The instance name. */
  readonly name: string;
  /**
   * Where its report goes (the CLI prints it on stderr, or to `outfile=`).
   *
   * @param line one line of text
   */
  output(line: string): void;
}

/** An instrumentation plugin: observes execution, changes nothing. */
export interface InstrumentationPlugin<
  Name extends string = string,
  S extends OptionsSchema = OptionsSchema,
> extends PluginBase {
  /** The discriminant. */
  readonly kind: "instrumentation";
  /** A unique name, as in `-plugin NAME`. */
  readonly name: Name;
  /** The options it takes (typed by the schema). */
  readonly options?: S;
  /** Instrumentation never produces replay events. */
  readonly produces?: readonly never[];
  /**
   * Make the callbacks.
   *
   * @param ctx where the report goes
   * @param options the parsed options
   * @returns the callbacks it wants
   */
  create(
    ctx: InstrumentationContext,
    options: OptionsOf<S>,
  ): InstrumentationHooks;
}

/**
 * Define an instrumentation plugin, keeping its literal types.
 *
 * @param plugin the plugin object
 * @returns the same object
 * @example Count traps
 * ```ts
 * import { defineInstrumentationPlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const traps = defineInstrumentationPlugin({
 *   kind: "instrumentation",
 *   name: "traps",
 *   version: "1.0.0",
 *   apiVersion: PLUGIN_API_VERSION,
 *   create: (ctx) => {
 *     let n = 0;
 *     return { trap: () => n++, exit: () => ctx.output(`traps: ${n}`) };
 *   },
 * });
 * console.log(traps.name);
 * ```
 */
export function defineInstrumentationPlugin<
  const Name extends string,
  const S extends OptionsSchema,
>(plugin: InstrumentationPlugin<Name, S>): InstrumentationPlugin<Name, S> {
  return plugin;
}

// ---------------------------------------------------------------------------
// The registry

/** Any device plugin. */
export type AnyDevicePlugin =
  & Omit<
    // deno-lint-ignore no-explicit-any
    DevicePlugin<string, string, any, any, any, any, any>,
    "create" | "backend"
  >
  & {
    /** Its backend, if any. */
    readonly backend?: AnyBackendPlugin;
    /**
     * Make an instance.
     *
     * @param ctx what the board offers
     * @param options the parsed options
     * @param wiring the board's own wiring (built-ins only)
     */
    // deno-lint-ignore no-explicit-any
    create(ctx: any, options: any, wiring?: BoardWiring): any;
  };
/** Any backend plugin. */
export type AnyBackendPlugin =
  // deno-lint-ignore no-explicit-any
  & Omit<BackendPlugin<string, string, any>, "create" | "permissions">
  & {
    /**
     * The permissions it needs.
     *
     * @param options the parsed options
     */
    // deno-lint-ignore no-explicit-any
    permissions?(options: any): BackendPermission[];
    /**
     * Open the host source.
     *
     * @param ctx the emit function
     * @param options the parsed options
     */
    create(
      // deno-lint-ignore no-explicit-any
      ctx: any,
      // deno-lint-ignore no-explicit-any
      options: any,
    ): BackendInstance | Promise<BackendInstance>;
  };
/** Any instrumentation plugin. */
export type AnyInstrumentationPlugin =
  // deno-lint-ignore no-explicit-any
  & Omit<InstrumentationPlugin<string, any>, "create">
  & {
    /**
     * Make the callbacks.
     *
     * @param ctx where the report goes
     * @param options the parsed options
     */
    // deno-lint-ignore no-explicit-any
    create(ctx: any, options: any): InstrumentationHooks;
  };

/** Any plugin: the union over `kind`. */
export type Plugin =
  | AnyDevicePlugin
  | AnyBackendPlugin
  | AnyInstrumentationPlugin;

/** A plugin failed a registration check (API version, name, dependency). */
export class PluginError extends Error {
  /** The plugin's name, or its path when it has none. */
  readonly plugin: string;

  /**
   * Create the error.
   *
   * @param plugin the plugin name or path
   * @param detail what is wrong and how to fix it
   * @param options the cause
   */
  constructor(plugin: string, detail: string, options?: ErrorOptions) {
    super(`Cannot load plugin ${plugin}: ${detail}`, options);
    this.name = "PluginError";
    this.plugin = plugin;
  }
}

/**
 * A plugin's callback threw: its `create`, an MMIO `read` or `write`, an
 * event codec, a backend's `emit` of an undeclared kind, or an
 * instrumentation hook. The message is one line that names the plugin, the
 * instance, the callback, the MMIO offset and the guest pc when known, and
 * the cause; the original error is the `cause`.
 *
 * @example
 * ```ts
 * import { PluginCallbackError } from "./registry.ts";
 * const e = new PluginCallbackError({
 *   plugin: "trng", instance: "trng0", callback: "MMIO read of region trng",
 *   offset: 8, pc: 0x80000010n, icount: 42, cause: new Error("no entropy"),
 * });
 * console.log(e.message);
 * // Plugin trng (instance trng0) failed in MMIO read of region trng at offset 0x8, guest pc 0x80000010 (instruction 42): no entropy
 * ```
 */
export class PluginCallbackError extends Error {
  /** The plugin's name. */
  readonly plugin: string;
  /** The instance's name. */
  readonly instance: string;
  /** The callback that threw. */
  readonly callback: string;
  /** The MMIO offset, for `read` and `write`. */
  readonly offset: number | undefined;
  /** The guest pc, when the board told the host. */
  readonly pc: bigint | undefined;

  /**
   * Create the error.
   *
   * @param where the plugin, instance, callback, offset, pc, icount and
   * the cause
   */
  constructor(where: {
    plugin: string;
    instance: string;
    callback: string;
    offset?: number | undefined;
    pc?: bigint | undefined;
    icount?: number | undefined;
    cause: unknown;
  }) {
    const c = where.cause;
    const why = c instanceof Error ? c.message : String(c);
    const at = [
      where.offset !== undefined
        ? ` at offset 0x${where.offset.toString(16)}`
        : "",
      where.pc !== undefined ? `, guest pc 0x${where.pc.toString(16)}` : "",
      where.icount !== undefined ? ` (instruction ${where.icount})` : "",
    ].join("");
    super(
      `Plugin ${where.plugin} (instance ${where.instance}) failed in ${where.callback}${at}: ${why}`,
      { cause: c },
    );
    this.name = "PluginCallbackError";
    this.plugin = where.plugin;
    this.instance = where.instance;
    this.callback = where.callback;
    this.offset = where.offset;
    this.pc = where.pc;
  }
}

const KINDS = ["device", "backend", "instrumentation"];

/**
 * Check that a value is a well-formed plugin object (any kind), and that its
 * API version is one this registry speaks.
 *
 * @param value what a module exported
 * @param where the plugin's name or path, for messages
 * @returns the plugin
 * @throws {PluginError} naming what is missing or wrong
 * @example Refuse a plugin written for a newer API
 * ```ts
 * import { checkPlugin, PluginError } from "./registry.ts";
 * try {
 *   checkPlugin({ kind: "device", name: "x", version: "1", apiVersion: 99, create() {} }, "x.ts");
 * } catch (e) {
 *   if (!(e instanceof PluginError)) throw e;
 *   console.log(e.message);
 * }
 * ```
 */
export function checkPlugin(value: unknown, where: string): Plugin {
  if (typeof value !== "object" || value === null) {
    throw new PluginError(
      where,
      "expected a plugin object made with defineDevicePlugin, defineBackendPlugin or defineInstrumentationPlugin",
    );
  }
  const p = value as Record<string, unknown>;
  if (typeof p.kind !== "string" || !KINDS.includes(p.kind)) {
    throw new PluginError(
      where,
      `its kind is ${
        JSON.stringify(p.kind)
      }; expected "device", "backend" or "instrumentation"`,
    );
  }
  if (typeof p.name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(p.name)) {
    throw new PluginError(
      where,
      "its name must be a non-empty string of letters, digits, _ . and -",
    );
  }
  const name = p.name;
  if (typeof p.version !== "string" || p.version === "") {
    throw new PluginError(name, "its version must be a non-empty string");
  }
  if (typeof p.apiVersion !== "number") {
    throw new PluginError(
      name,
      `it has no apiVersion; set apiVersion: PLUGIN_API_VERSION (${PLUGIN_API_VERSION})`,
    );
  }
  if (
    p.apiVersion < MIN_PLUGIN_API_VERSION || p.apiVersion > PLUGIN_API_VERSION
  ) {
    throw new PluginError(
      name,
      `it was written for plugin API version ${p.apiVersion}, and this deja speaks versions ${MIN_PLUGIN_API_VERSION} to ${PLUGIN_API_VERSION}; ${
        p.apiVersion > PLUGIN_API_VERSION ? "update deja" : "update the plugin"
      }`,
    );
  }
  if (typeof p.create !== "function") {
    throw new PluginError(name, "it has no create function");
  }
  if (
    p.produces !== undefined &&
    (!Array.isArray(p.produces) ||
      !p.produces.every((k) => typeof k === "string"))
  ) {
    throw new PluginError(name, "produces must be an array of strings");
  }
  if (p.kind === "instrumentation" && (p.produces as unknown[])?.length) {
    throw new PluginError(
      name,
      "an instrumentation plugin observes only and cannot produce replay events",
    );
  }
  const events = (p.events ?? {}) as Record<string, unknown>;
  for (const kind of Object.keys(events)) {
    if (kind.includes("@")) {
      throw new PluginError(
        name,
        `its event kind ${kind} contains @, which the log uses to name the instance (kind@instance); rename it`,
      );
    }
    const c = events[kind] as Record<string, unknown> | undefined;
    if (
      !c || typeof c.encode !== "function" ||
      typeof c.decode !== "function" || typeof c.apply !== "function"
    ) {
      throw new PluginError(
        name,
        `the codec of event kind ${kind} needs encode, decode and apply functions`,
      );
    }
    if (!(p.produces as string[] | undefined)?.includes(kind)) {
      throw new PluginError(
        name,
        `it has a codec for ${kind} but does not list it in produces`,
      );
    }
  }
  if (p.pulls !== undefined) {
    if (!Array.isArray(p.pulls)) {
      throw new PluginError(name, "pulls must be an array of strings");
    }
    for (const kind of p.pulls) {
      if (!Object.hasOwn(events, kind)) {
        throw new PluginError(
          name,
          `it pulls ${kind} but brings no codec for it; add it to events (and produces)`,
        );
      }
    }
  }
  if (p.backend !== undefined) checkPlugin(p.backend, `${name} (backend)`);
  return value as Plugin;
}

/**
 * The set of plugins that a machine may use, and the replay event kinds
 * they bring.
 *
 * @example Register a plugin twice
 * ```ts
 * import { PluginRegistry, defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const p = defineDevicePlugin({
 *   kind: "device", name: "nothing", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   create: () => ({ regions: [], reset() {} }),
 * });
 * const reg = new PluginRegistry();
 * reg.register(p);
 * try {
 *   reg.register(p);
 * } catch (e) {
 *   console.log((e as Error).message); // the name is taken
 * }
 * ```
 */
export class PluginRegistry {
  #plugins = new Map<string, Plugin>();
  #kinds = new Map<string, string>(); // event kind -> plugin that brings it

  /**
   * Add a plugin.
   *
   * @param plugin the plugin
   * @throws {PluginError} if it is malformed, its name is taken, its API
   * version is not spoken here, a dependency is missing, or an event kind
   * it brings is already brought by another plugin
   */
  register(plugin: Plugin): void {
    checkPlugin(plugin, (plugin as { name?: string })?.name ?? "(unnamed)");
    if (this.#plugins.has(plugin.name)) {
      throw new PluginError(
        plugin.name,
        "a plugin with that name is already registered",
      );
    }
    for (const dep of plugin.dependencies ?? []) {
      if (!this.#plugins.has(dep)) {
        throw new PluginError(
          plugin.name,
          `it depends on ${dep}, which is not registered; register ${dep} first`,
        );
      }
    }
    if (plugin.kind === "device") {
      for (const kind of Object.keys(plugin.events ?? {})) {
        const owner = this.#kinds.get(kind);
        if (owner !== undefined || CORE_EVENT_KINDS.includes(kind)) {
          throw new PluginError(
            plugin.name,
            `replay event kind ${kind} is already brought by ${
              owner ?? "the core"
            }; name it after the plugin (${plugin.name}.${kind})`,
          );
        }
      }
      for (const kind of Object.keys(plugin.events ?? {})) {
        this.#kinds.set(kind, plugin.name);
      }
      if (plugin.backend) {
        this.#plugins.set(plugin.backend.name, plugin.backend);
      }
    }
    this.#plugins.set(plugin.name, plugin);
  }

  /**
   * Whether a plugin is registered.
   *
   * @param name plugin name
   * @returns true if it is
   */
  has(name: string): boolean {
    return this.#plugins.has(name);
  }

  /**
   * Look up a plugin.
   *
   * @param name plugin name
   * @returns the plugin, or undefined
   */
  get(name: string): Plugin | undefined {
    return this.#plugins.get(name);
  }

  /**
   * List the plugins.
   *
   * @returns the registered plugin names, in registration order
   */
  names(): string[] {
    return [...this.#plugins.keys()];
  }

  /**
   * Every replay event kind this registry can replay: the core's and those
   * that registered plugins bring.
   *
   * @returns the kinds
   */
  eventKinds(): string[] {
    return [...CORE_EVENT_KINDS, ...this.#kinds.keys()];
  }

  /**
   * The plugin that brings an event kind.
   *
   * @param kind the event kind
   * @returns the plugin name, or undefined for core kinds and unknown ones
   */
  eventOwner(kind: string): string | undefined {
    return this.#kinds.get(kind);
  }

  /**
   * Refuse a replay log that holds event kinds that no registered plugin
   * brings.
   *
   * @param kinds the plugin event kinds found in the log
   * @throws {UnknownEventKindError} listing the unknown kinds
   * @example Refuse a log from a missing plugin
   * ```ts
   * import { PluginRegistry, UnknownEventKindError } from "./registry.ts";
   * try {
   *   new PluginRegistry().checkLogKinds(["sensor.sample"]);
   * } catch (e) {
   *   if (!(e instanceof UnknownEventKindError)) throw e;
   *   console.log(e.message);
   * }
   * ```
   */
  checkLogKinds(kinds: Iterable<string>): void {
    const known = new Set(this.eventKinds());
    const unknown = [...new Set(kinds)].filter((k) => !known.has(k));
    if (unknown.length > 0) throw new UnknownEventKindError(unknown.sort());
  }

  /**
   * Create a device from a registered plugin.
   *
   * @param plugin the plugin (it must be the registered one of that name)
   * @param ctx the board context
   * @param options the plugin's options
   * @param wiring the board's own wiring, for a built-in
   * @returns the instance
   * @throws {PluginError} if the plugin is not registered
   */
  create<P extends AnyDevicePlugin>(
    plugin: P,
    ctx: Parameters<P["create"]>[0],
    options: Parameters<P["create"]>[1],
    wiring?: BoardWiring,
  ): ReturnType<P["create"]> {
    const registered = this.#plugins.get(plugin.name);
    if (registered !== (plugin as unknown)) {
      throw new PluginError(
        plugin.name,
        "the plugin is not registered; register it first",
      );
    }
    return plugin.create(ctx, options, wiring) as ReturnType<P["create"]>;
  }
}

/**
 * Wrap an emit function so that it throws {@linkcode UndeclaredEventError}
 * for a kind the plugin did not declare.
 *
 * @param plugin the plugin's name and `produces`
 * @param sink where declared events go
 * @returns the checked emit
 * @example Reject an undeclared kind
 * ```ts
 * import { checkedEmit, UndeclaredEventError } from "./registry.ts";
 * const emit = checkedEmit({ name: "p", produces: ["a"] }, () => {});
 * emit("a", 1);
 * try {
 *   emit("b", 2);
 * } catch (e) {
 *   if (!(e instanceof UndeclaredEventError)) throw e;
 * }
 * ```
 */
export function checkedEmit(
  plugin: { readonly name: string; readonly produces?: readonly string[] },
  sink: (kind: string, value: unknown) => void,
): (kind: string, value: unknown) => void {
  const declared = plugin.produces ?? [];
  return (kind, value) => {
    if (!declared.includes(kind)) {
      throw new UndeclaredEventError(plugin.name, kind, declared);
    }
    sink(kind, value);
  };
}

/**
 * Say how two lists of plugins (name and version, as a replay log's
 * configuration stores them) differ, in words: `trng 1.0.0 recorded, 1.1.0
 * given`, `trng 1.0.0 recorded, not loaded`, `echo 2.0.0 loaded, not
 * recorded`. A replay needs the plugins a log was recorded with, at the same
 * versions: a newer plugin may log or apply its events differently.
 *
 * @param recorded the plugins of the recording
 * @param given the plugins of this run
 * @returns the differences joined with "; ", or undefined if there are none
 * @example A newer plugin than the recording's
 * ```ts
 * import { describePluginChanges } from "./registry.ts";
 * console.log(describePluginChanges(
 *   [{ name: "trng", version: "1.0.0" }],
 *   [{ name: "trng", version: "1.1.0" }],
 * )); // trng 1.0.0 recorded, 1.1.0 given
 * ```
 */
export function describePluginChanges(
  recorded: readonly { name: string; version: string }[],
  given: readonly { name: string; version: string }[],
): string | undefined {
  const out: string[] = [];
  const group = (list: readonly { name: string; version: string }[]) => {
    const m = new Map<string, string[]>();
    for (const p of list) m.set(p.name, [...(m.get(p.name) ?? []), p.version]);
    for (const v of m.values()) v.sort();
    return m;
  };
  const then = group(recorded), now = group(given);
  const times = (n: number) => n === 1 ? "" : ` (${n} instances)`;
  for (const name of new Set([...then.keys(), ...now.keys()])) {
    const r = then.get(name) ?? [], g = now.get(name) ?? [];
    if (r.join() === g.join()) continue;
    if (g.length === 0) {
      out.push(`${name} ${r[0]} recorded${times(r.length)}, not loaded`);
    } else if (r.length === 0) {
      out.push(`${name} ${g[0]} loaded${times(g.length)}, not recorded`);
    } else if (r.length === 1 && g.length === 1) {
      out.push(`${name} ${r[0]} recorded, ${g[0]} given`);
    } else {
      out.push(
        `${name} recorded as ${r.join(", ")}, given as ${g.join(", ")}`,
      );
    }
  }
  return out.length > 0 ? out.join("; ") : undefined;
}

/**
 * The whole message for a replay whose plugins differ from the recording's:
 * what differs, and what to do.
 *
 * @param recorded the plugins of the recording
 * @param given the plugins of this run
 * @returns the message, or undefined if the plugins agree
 * @example
 * ```ts
 * import { pluginChangesMessage } from "./registry.ts";
 * console.log(pluginChangesMessage(
 *   [{ name: "trng", version: "1.0.0" }],
 *   [{ name: "trng", version: "1.1.0" }],
 * ));
 * ```
 */
export function pluginChangesMessage(
  recorded: readonly { name: string; version: string }[],
  given: readonly { name: string; version: string }[],
): string | undefined {
  const what = describePluginChanges(recorded, given);
  if (what === undefined) return undefined;
  return `the plugins differ: ${what}; replay with the plugins and versions it was recorded with (the same -device and -plugin options, from the same plugin files), or record again with these`;
}
