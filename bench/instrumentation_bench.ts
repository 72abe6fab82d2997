/**
 * The instrumentation section of `deno task bench`: the bench guest with
 * `-plugin insn`, `-plugin hotblocks` and both, against the same run without
 * plugins (in process, interleaved, best of 3 each), and the observed path
 * (a plugin with a per-instruction hook) on the first 20M instructions.
 * `insn` and `hotblocks` only count, so they take the counting path
 * (`Cpu.runCounted`). Debian's QEMU ships no TCG plugins
 * (`libinsn.so`, `libhotblocks.so`), so there is no QEMU row.
 *
 * Run alone: `deno run -A bench/instrumentation_bench.ts [ELF]`.
 *
 * @module
 */

import { VirtMachine } from "../devices/virt.ts";
import {
  hotblocksPlugin,
  insnPlugin,
  type InstrumentationHooks,
} from "../plugins/instrumentation.ts";
import type { AnyInstrumentationPlugin } from "../plugins/registry.ts";
import { parseOptions } from "../plugins/options.ts";

function hooksOf(plugin: AnyInstrumentationPlugin): InstrumentationHooks {
  return plugin.create(
    { name: plugin.name, output: () => {} },
    parseOptions(plugin.name, plugin.options ?? {}, ""),
  );
}

/** MIPS of the guest run to its end (or to `max` instructions). */
function mips(
  elf: Uint8Array,
  hooks: InstrumentationHooks[],
  max = Infinity,
): number {
  const m = new VirtMachine({
    bios: "none",
    kernel: elf,
    output: () => {},
    instrumentation: hooks,
  });
  const t0 = performance.now();
  while (m.cpu.icount < max) {
    const r = m.run(Math.min(50_000_000, max - m.cpu.icount), {
      warpIdle: true,
    });
    if (r.kind === "exit" || r.kind === "idle") break;
  }
  m.finishInstrumentation("poweroff");
  return m.cpu.icount / ((performance.now() - t0) / 1000) / 1e6;
}

/**
 * Print the section.
 *
 * @param elfPath the bench guest
 */
export function instrumentationBench(elfPath: string): void {
  const elf = Deno.readFileSync(elfPath);
  console.log("\n== instrumentation ==");
  const sets: [string, () => InstrumentationHooks[]][] = [
    ["no plugin", () => []],
    ["-plugin insn", () => [hooksOf(insnPlugin)]],
    ["-plugin hotblocks", () => [hooksOf(hotblocksPlugin)]],
    ["insn + hotblocks", () => [hooksOf(insnPlugin), hooksOf(hotblocksPlugin)]],
  ];
  const best = sets.map(() => 0);
  for (let i = 0; i < 3; i++) {
    sets.forEach(([, make], k) => {
      best[k] = Math.max(best[k]!, mips(elf, make()));
    });
  }
  sets.forEach(([name], k) => {
    console.log(
      `bench guest, ${name}: ${best[k]!.toFixed(1)} MIPS (${
        (best[k]! / best[0]!).toFixed(2)
      } of no plugin)`,
    );
  });
  const observed = mips(elf, [hooksOf(insnPlugin), { trap: () => {} }], 20e6);
  console.log(
    `observed path (a plugin with a per-instruction hook), first 20M instructions: ${
      observed.toFixed(1)
    } MIPS (${(observed / best[0]!).toFixed(3)} of no plugin)`,
  );
  console.log("QEMU: Debian ships no TCG plugins (libinsn, libhotblocks)");
}

if (import.meta.main) {
  instrumentationBench(
    Deno.args[0] ?? new URL("./guest/bench.elf", import.meta.url).pathname,
  );
}
