/**
 * The `execlog` instrumentation plugin: one line per executed instruction
 * with its address, raw bits and disassembly (QEMU's `libexeclog.so`).
 *
 * @module
 */

import { disassemble } from "../core/disasm.ts";
import {
  type AnyInstrumentationPlugin,
  defineInstrumentationPlugin,
  PLUGIN_API_VERSION,
} from "./registry.ts";

/** `execlog`: one line per instruction: pc, raw bits, disassembly. */
export const execlogPlugin: AnyInstrumentationPlugin =
  defineInstrumentationPlugin({
    kind: "instrumentation",
    version: "1.0.0",
    apiVersion: PLUGIN_API_VERSION,
    name: "execlog",
    description: "log pc and disassembly of every instruction",
    options: {
      limit: {
        type: "number",
        default: 0,
        min: 0,
        description: "stop logging after this many instructions (0: never)",
      },
    },
    create: (ctx, options) => {
      let n = 0;
      return {
        insn: (pc, insn, size) => {
          if (options.limit && n >= options.limit) return;
          n++;
          const hex = insn.toString(16).padStart(size * 2, "0");
          ctx.output(
            `0x${pc.toString(16).padStart(16, "0")}, 0x${hex}, ${
              disassemble(insn, { pc })
            }`,
          );
        },
      };
    },
  });
