/**
 * The typed plugin registry. Every device of the board, built-in or not, is
 * a plugin: a plain object with a `kind` discriminant, a unique `name`, a
 * `version`, the plugin API version it was written for, the names of the
 * plugins it depends on, the replay event kinds it may produce, and a
 * `create(ctx, options)` factory.
 *
 * This is the first cut of the registry (device plugins); backend and
 * instrumentation plugins, replay event codecs and run-time loading build on
 * the same shapes.
 *
 * @module
 */

import type { Bus, MmioRegion } from "../core/bus.ts";
import type { VirtualClock } from "../core/clock.ts";
import type { InterruptTarget, IrqLine } from "../core/irq.ts";

/** The plugin API version that this registry speaks. */
export const PLUGIN_API_VERSION = 1;

/** What a device plugin gets when it is created. */
export interface DeviceContext {
  /** The physical bus, to read guest memory (DMA). */
  readonly bus: Bus;
  /** The virtual clock: the only clock that may change guest state. */
  readonly clock: VirtualClock;
  /** The hart's interrupt pending bits (for CLINT-like devices). */
  readonly hart: InterruptTarget;
  /**
   * A PLIC input line.
   *
   * @param source PLIC source number, 1 to 95
   */
  irq(source: number): IrqLine;
}

/** What every device instance offers the board. */
export interface DeviceInstance {
  /** The MMIO regions to map. */
  readonly regions: readonly MmioRegion[];
  /** Return to the power-on state. */
  reset(): void;
}

/** A device plugin. */
export interface DevicePlugin<
  Name extends string = string,
  Options = unknown,
  Instance extends DeviceInstance = DeviceInstance,
> {
  /** The discriminant. */
  readonly kind: "device";
  /** A unique name, as used with `-device NAME`. */
  readonly name: Name;
  /** The plugin's own version. */
  readonly version: string;
  /** The plugin API version it was written for. */
  readonly apiVersion: number;
  /** Names of plugins that must be registered first. */
  readonly dependencies?: readonly string[];
  /** Replay event kinds that the plugin may emit. */
  readonly produces?: readonly string[];
  /**
   * Make an instance.
   *
   * @param ctx what the board offers
   * @param options the plugin's options
   */
  create(ctx: DeviceContext, options: Options): Instance;
}

/** Any plugin. */
export type Plugin = DevicePlugin<string, never, DeviceInstance>;

/**
 * Define a device plugin, keeping its literal types (name, events).
 *
 * @param plugin the plugin object
 * @returns the same object
 * @example Define a scratch-register device
 * ```ts
 * import { defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const scratch = defineDevicePlugin({
 *   kind: "device",
 *   name: "scratch",
 *   version: "1.0.0",
 *   apiVersion: PLUGIN_API_VERSION,
 *   create: (_ctx, options: { base: number }) => {
 *     let value = 0;
 *     return {
 *       regions: [{
 *         name: "scratch",
 *         base: options.base,
 *         size: 4,
 *         accessSizes: [4],
 *         read: () => value,
 *         write: (_o: number, _s: number, v: number) => (value = v),
 *       }],
 *       reset: () => (value = 0),
 *     };
 *   },
 * });
 * const name: "scratch" = scratch.name;
 * console.log(name);
 * ```
 */
export function defineDevicePlugin<
  const Name extends string,
  Options,
  Instance extends DeviceInstance,
>(
  plugin: DevicePlugin<Name, Options, Instance>,
): DevicePlugin<Name, Options, Instance> {
  return plugin;
}

/**
 * The set of plugins that a machine may use.
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
  #plugins = new Map<string, DevicePlugin<string, never, DeviceInstance>>();

  /**
   * Add a plugin.
   *
   * @param plugin the plugin
   * @throws {TypeError} if the plugin is malformed
   * @throws {RangeError} if the name is taken, the API version differs, or a
   * dependency is missing
   */
  register<N extends string, O, I extends DeviceInstance>(
    plugin: DevicePlugin<N, O, I>,
  ): void {
    if (
      typeof plugin !== "object" || plugin === null ||
      plugin.kind !== "device" || typeof plugin.name !== "string" ||
      typeof plugin.create !== "function"
    ) {
      throw new TypeError(
        'Cannot register plugin: expected an object with kind "device", a name and a create function',
      );
    }
    if (this.#plugins.has(plugin.name)) {
      throw new RangeError(
        `Cannot register plugin ${plugin.name}: a plugin with that name is already registered`,
      );
    }
    if (plugin.apiVersion !== PLUGIN_API_VERSION) {
      throw new RangeError(
        `Cannot register plugin ${plugin.name}: it needs plugin API version ${plugin.apiVersion}, deja provides ${PLUGIN_API_VERSION}`,
      );
    }
    for (const dep of plugin.dependencies ?? []) {
      if (!this.#plugins.has(dep)) {
        throw new RangeError(
          `Cannot register plugin ${plugin.name}: it depends on ${dep}, which is not registered; register ${dep} first`,
        );
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
   * List the plugins.
   *
   * @returns the registered plugin names, in registration order
   */
  names(): string[] {
    return [...this.#plugins.keys()];
  }

  /**
   * Create a device from a registered plugin.
   *
   * @param plugin the plugin (it must be the registered one of that name)
   * @param ctx the board context
   * @param options the plugin's options
   * @returns the instance
   * @throws {RangeError} if the plugin is not registered
   */
  create<N extends string, O, I extends DeviceInstance>(
    plugin: DevicePlugin<N, O, I>,
    ctx: DeviceContext,
    options: O,
  ): I {
    const registered = this.#plugins.get(plugin.name);
    if (registered !== (plugin as unknown)) {
      throw new RangeError(
        `Cannot create device ${plugin.name}: the plugin is not registered`,
      );
    }
    return plugin.create(ctx, options);
  }
}
