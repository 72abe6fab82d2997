/**
 * Guards around an instrumentation plugin's callbacks: an exception in a
 * hook becomes a {@linkcode PluginCallbackError} that names the plugin, the
 * hook and, where the hook has one, the guest pc, instead of a bare message
 * (or a stack trace) in the middle of the guest's output.
 *
 * @example A hook that throws
 * ```ts
 * import { guardHooks } from "./guards.ts";
 * import { PluginCallbackError } from "./registry.ts";
 * const hooks = guardHooks("stores", {
 *   insn: () => {
 *     throw new Error("out of memory");
 *   },
 * });
 * try {
 *   hooks.insn!(0x80000000n, 0x13, 4);
 * } catch (e) {
 *   if (!(e instanceof PluginCallbackError)) throw e;
 *   console.log(e.message);
 *   // Plugin stores (instance stores) failed in its insn hook, guest pc 0x80000000: out of memory
 * }
 * ```
 *
 * @module
 */

import type { InstrumentationHooks } from "./hooks.ts";
import { PluginCallbackError } from "./registry.ts";

/**
 * Wrap each callback of an instrumentation plugin so that a throw names
 * the plugin and the hook.
 *
 * @param plugin the plugin's name
 * @param hooks what its `create` returned
 * @param instance its instance name
 * @returns the same hooks, guarded (only those it has)
 */
export function guardHooks(
  plugin: string,
  hooks: InstrumentationHooks,
  instance: string = plugin,
): InstrumentationHooks {
  const fail = (hook: string, e: unknown, pc?: bigint): never => {
    if (e instanceof PluginCallbackError) throw e;
    throw new PluginCallbackError({
      plugin,
      instance,
      callback: `its ${hook} hook`,
      pc,
      cause: e,
    });
  };
  const h = hooks;
  const out: InstrumentationHooks = {};
  if (h.vcpuInit) {
    out.vcpuInit = () => {
      try {
        h.vcpuInit!();
      } catch (e) {
        fail("vcpuInit", e);
      }
    };
  }
  if (h.insn) {
    out.insn = (pc, insn, size) => {
      try {
        h.insn!(pc, insn, size);
      } catch (e) {
        fail("insn", e, pc);
      }
    };
  }
  if (h.block) {
    out.block = (pc, insns) => {
      try {
        h.block!(pc, insns);
      } catch (e) {
        fail("block", e, pc);
      }
    };
  }
  if (h.insnCount) {
    out.insnCount = (n) => {
      try {
        h.insnCount!(n);
      } catch (e) {
        fail("insnCount", e);
      }
    };
  }
  if (h.blockCount) {
    out.blockCount = (pc, insns, execs) => {
      try {
        h.blockCount!(pc, insns, execs);
      } catch (e) {
        fail("blockCount", e, pc);
      }
    };
  }
  if (h.mem) {
    out.mem = (a) => {
      try {
        h.mem!(a);
      } catch (e) {
        fail("mem", e, a.pc);
      }
    };
  }
  if (h.trap) {
    out.trap = (t) => {
      try {
        h.trap!(t);
      } catch (e) {
        fail("trap", e);
      }
    };
  }
  if (h.vcpuExit) {
    out.vcpuExit = () => {
      try {
        h.vcpuExit!();
      } catch (e) {
        fail("vcpuExit", e);
      }
    };
  }
  if (h.exit) {
    out.exit = (info) => {
      try {
        h.exit!(info);
      } catch (e) {
        fail("exit", e);
      }
    };
  }
  return out;
}
