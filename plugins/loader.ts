/**
 * Load third-party plugins at run time: `-device ./path/plugin.ts,...` and
 * `-plugin ./path/instr.ts,...`. A plugin module's default export is the
 * plugin object made with `defineDevicePlugin`, `defineBackendPlugin` or
 * `defineInstrumentationPlugin`. The loader imports it with a dynamic
 * `import()` (a path, relative to the working directory, or a `file:` or
 * `https:` URL), checks its shape and API version, and splits and parses
 * the `key=value` options.
 *
 * Every failure is a {@linkcode PluginError} whose message names the module
 * and the fix.
 *
 * @module
 */

import {
  type AnyDevicePlugin,
  type AnyInstrumentationPlugin,
  checkPlugin,
  type Plugin,
  PluginError,
} from "./registry.ts";
import {
  type OptionsSchema,
  parseAddress,
  parseNumber,
  parseOptions,
  PluginOptionsError,
} from "./options.ts";
import {
  BUILTIN_INSTRUMENTATION,
  type InstrumentationHooks,
} from "./instrumentation.ts";
import { execlogPlugin } from "./execlog.ts";
import { guardHooks } from "./guards.ts";

/** The built-in instrumentation plugins, by name (`-plugin insn`). */
export const BUILTIN_INSTRUMENTATION_PLUGINS: ReadonlyMap<
  string,
  AnyInstrumentationPlugin
> = new Map<string, AnyInstrumentationPlugin>(
  [...BUILTIN_INSTRUMENTATION, execlogPlugin].map((p) => [p.name, p]),
);

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Turn a plugin path or URL into the URL to import.
 *
 * @param specifier a path (relative to `base`) or a URL
 * @param base the directory a relative path starts from
 * @returns the absolute URL
 * @example Resolve a relative path
 * ```ts
 * import { pluginUrl } from "./loader.ts";
 * console.log(pluginUrl("./led.ts", "file:///work/").href); // file:///work/led.ts
 * ```
 */
export function pluginUrl(specifier: string, base: string | URL): URL {
  if (URL_SCHEME.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)) {
    return new URL(specifier);
  }
  const b = new URL(base);
  if (!b.pathname.endsWith("/")) b.pathname += "/";
  return new URL(
    specifier.split("/").map(encodeURIComponent).join("/"),
    b,
  );
}

/** The working directory as a `file:` URL, for {@linkcode pluginUrl}. */
export function cwdUrl(): URL {
  const cwd = Deno.cwd();
  return new URL(`file://${cwd.endsWith("/") ? cwd : cwd + "/"}`);
}

/**
 * Import a plugin module and check its default export.
 *
 * @param url the module URL
 * @param shown how the user wrote it, for messages
 * @param kind the kind the option expects
 * @returns the plugin
 * @throws {PluginError} if the import fails, there is no default export,
 * the export is not a plugin of that kind, or its API version is not spoken
 * @example Load a module that is not there
 * ```ts
 * import { importPlugin } from "./loader.ts";
 * try {
 *   await importPlugin(new URL("file:///nonexistent/led.ts"), "./led.ts", "device");
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export async function importPlugin(
  url: URL,
  shown: string,
  kind: Plugin["kind"],
): Promise<Plugin> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message.split("\n")[0] : "";
    const missing = /not found|No such file|ENOENT/i.test(detail ?? "");
    throw new PluginError(
      shown,
      missing
        ? `the module does not exist (${url.href}); check the path`
        : `the module failed to import: ${detail}; fix the module (run it with deno check ${shown})`,
      { cause },
    );
  }
  if (!("default" in mod) || mod.default === undefined) {
    const define = kind === "device"
      ? "defineDevicePlugin"
      : kind === "backend"
      ? "defineBackendPlugin"
      : "defineInstrumentationPlugin";
    throw new PluginError(
      shown,
      `the module has no default export; end it with export default ${define}({ ... })`,
    );
  }
  const plugin = checkPlugin(mod.default, shown);
  if (plugin.kind !== kind) {
    const how = plugin.kind === "device"
      ? "-device"
      : plugin.kind === "instrumentation"
      ? "-plugin"
      : "the device plugin that it feeds (its backend field)";
    throw new PluginError(
      plugin.name,
      `it is ${an(plugin.kind)} plugin, not ${
        an(kind)
      } plugin; load it with ${how}`,
    );
  }
  return plugin;
}

function an(word: string): string {
  return `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}

/** Where a `-device` plugin sits and what its parts get. */
export interface DevicePlacement {
  /** MMIO base (`addr=`). */
  addr: number;
  /** PLIC source (`irq=`), if given. */
  irq?: number;
  /** Instance name (`name=`), if given. */
  name?: string;
  /** The options for the device itself. */
  device: Record<string, string>;
  /** The options for its backend. */
  backend: Record<string, string>;
}

/**
 * Split a `-device` property list into the placement (`addr`, `irq`,
 * `name`), the device's options and its backend's options, and check each
 * against its schema.
 *
 * @param plugin the device plugin
 * @param props the `key=value` properties
 * @returns the placement and the options
 * @throws {PluginOptionsError} for a missing or bad `addr`/`irq` or an
 * option that neither the device nor its backend takes
 * @example Split the properties of a sensor
 * ```ts
 * import { splitDeviceProps } from "./loader.ts";
 * import { defineDevicePlugin, PLUGIN_API_VERSION } from "./registry.ts";
 * const p = defineDevicePlugin({
 *   kind: "device", name: "s", version: "1", apiVersion: PLUGIN_API_VERSION,
 *   options: { scale: { type: "number" } },
 *   create: () => ({ regions: [], reset() {} }),
 * });
 * console.log(splitDeviceProps(p, { addr: "0x10010000", irq: "12", scale: "2" }));
 * ```
 */
export function splitDeviceProps(
  plugin: AnyDevicePlugin,
  props: Readonly<Record<string, string>>,
): DevicePlacement {
  const deviceSchema: OptionsSchema = plugin.options ?? {};
  const backendSchema: OptionsSchema = plugin.backend?.options ?? {};
  const out: DevicePlacement = { addr: 0, device: {}, backend: {} };
  const { addr, irq, name, ...rest } = props;
  if (addr === undefined) {
    throw new PluginOptionsError(
      plugin.name,
      "addr",
      "it is required; add addr=0x10010000 (the device's MMIO base, clear of the board's devices, such as 0x10010000 to 0x1fffffff)",
    );
  }
  // Exactly (a bigint first), and inside the address space.
  out.addr = parseAddress(plugin.name, "addr", addr);
  if (irq !== undefined) {
    const n = parseNumber(irq);
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > 95) {
      throw new PluginOptionsError(
        plugin.name,
        "irq",
        `${irq} is not a PLIC source; expected 1 to 95 (the board uses 1 to 11)`,
      );
    }
    out.irq = n;
  }
  if (name !== undefined) out.name = name;
  for (const [k, v] of Object.entries(rest)) {
    if (Object.hasOwn(deviceSchema, k)) out.device[k] = v;
    else if (Object.hasOwn(backendSchema, k)) out.backend[k] = v;
    else {
      const known = [
        "addr",
        "irq",
        "name",
        ...Object.keys(deviceSchema),
        ...Object.keys(backendSchema),
      ];
      throw new PluginOptionsError(
        plugin.name,
        k,
        `it is not an option of ${plugin.name}; it takes ${known.join(", ")}`,
      );
    }
  }
  // Check them now, so that a bad value fails before the machine starts.
  parseOptions(plugin.name, deviceSchema, out.device);
  if (plugin.backend) {
    parseOptions(plugin.backend.name, backendSchema, out.backend);
  }
  return out;
}

/**
 * Load an instrumentation plugin by built-in name or module path.
 *
 * @param specifier `insn`, `hotblocks`, `execlog`, `mem`, or a path or URL
 * @param base the directory a relative path starts from
 * @returns the plugin
 * @throws {PluginError} as {@linkcode importPlugin} does
 */
export async function loadInstrumentation(
  specifier: string,
  base: string | URL,
): Promise<AnyInstrumentationPlugin> {
  const builtin = BUILTIN_INSTRUMENTATION_PLUGINS.get(specifier) ??
    BUILTIN_INSTRUMENTATION_PLUGINS.get(
      specifier.replace(/^(.*\/)?lib(\w+)\.so$/, "$2"), // QEMU's libinsn.so
    );
  if (builtin) return builtin;
  return await importPlugin(
    pluginUrl(specifier, base),
    specifier,
    "instrumentation",
  ) as AnyInstrumentationPlugin;
}

/**
 * Create an instrumentation plugin's callbacks with its options.
 *
 * @param plugin the plugin
 * @param props its `key=value` options
 * @param output where its report lines go
 * @returns the callbacks
 * @throws {PluginOptionsError} for bad options
 */
export function createInstrumentation(
  plugin: AnyInstrumentationPlugin,
  props: Readonly<Record<string, string>>,
  output: (line: string) => void,
): InstrumentationHooks {
  const options = parseOptions(plugin.name, plugin.options ?? {}, props);
  let hooks: InstrumentationHooks;
  try {
    hooks = plugin.create({ name: plugin.name, output }, options);
  } catch (e) {
    throw new PluginError(
      plugin.name,
      `its create function failed: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  // A hook that throws names the plugin, the hook and the guest pc.
  return guardHooks(plugin.name, hooks);
}
