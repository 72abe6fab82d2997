// For the instrumentation tests: a plugin made with its report lines
// collected, and a guest program from its instruction words.

import type { InstrumentationHooks } from "../plugins/instrumentation.ts";
import type { AnyInstrumentationPlugin } from "../plugins/registry.ts";
import { parseOptions } from "../plugins/options.ts";

/** Make `plugin` with `options` (as on the command line); its lines collect. */
export function load(
  plugin: AnyInstrumentationPlugin,
  options = "",
): { hooks: InstrumentationHooks; lines: string[] } {
  const lines: string[] = [];
  const hooks: InstrumentationHooks = plugin.create(
    { name: plugin.name, output: (l: string) => lines.push(l) },
    parseOptions(plugin.name, plugin.options ?? {}, options),
  );
  return { hooks, lines };
}

/** A guest program: 32-bit instruction words, little-endian. */
export function words(insns: readonly number[]): Uint8Array {
  const b = new Uint8Array(insns.length * 4);
  const v = new DataView(b.buffer);
  insns.forEach((w, i) => v.setUint32(i * 4, w, true));
  return b;
}
