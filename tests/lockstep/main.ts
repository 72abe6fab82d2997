/**
 * `deno task lockstep`: run ELFs, or random programs, in deja and QEMU in
 * lockstep and report the first difference.
 *
 * ```
 * deno task lockstep [options] ELF...
 * deno task lockstep [options] --random SEED [--count N] [--seeds K]
 * ```
 *
 * Options: `-m MiB` (RAM, default 128), `--max-steps N`, `--keep` (keep the
 * generated random programs in /tmp), `--color`, `--blocks` (run deja in
 * chunks with its block compiler on, compared at chunk ends; random
 * programs then hold hot loops) or `--single` (one instruction at a time,
 * the default), `--chunk N`. Exit status:
 * 0 when every run ended with no mismatch, 1 on a mismatch, 2 on bad usage
 * or a missing tool.
 *
 * See docs/lockstep.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { lockstep } from "./lockstep.ts";
import type { LockstepResult } from "./lockstep.ts";
import { buildRandomElf } from "./gen.ts";

const USAGE = `Usage:
  deno task lockstep [options] ELF...
  deno task lockstep [options] --random SEED [--count N] [--seeds K]

Runs each ELF (-bios none -kernel ELF) in deja and in QEMU
(qemu-system-riscv64 -M virt -icount shift=0,sleep=off -S -gdb ...) and stops
at the first difference in pc, x1-x31, f0-f31, fcsr, the privilege level or
the trap CSRs: after every instruction (--single), or at the ends of chunks
that deja runs with its block compiler on (--blocks; steps that need it are
still single-stepped).

Options:
  --random SEED   generate a random RV64GC program from SEED instead
  --count N       instructions per random program (default 10000; with
                  --blocks it holds loops, which run many times as many)
  --seeds K       run K random programs, seeds SEED..SEED+K-1 (default 1)
  --keep          keep the generated programs (/tmp/deja-lockstep-SEED.*)
  -m MIB          RAM size in MiB for both machines (default 128)
  --blocks        chunks with deja's block compiler (and WebAssembly) on
  --js-blocks     with --blocks: JavaScript blocks only, WebAssembly off
  --single        one instruction at a time (the default)
  --chunk N       most instructions in a chunk (default 64)
  --max-steps N   stop each run after N steps
  --color         highlight differences with ANSI colours
  -h, --help      this text`;

/**
 * Run the lockstep command line.
 *
 * @param args the arguments
 * @returns the exit status
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        random: { type: "string" },
        count: { type: "string", default: "10000" },
        seeds: { type: "string", default: "1" },
        keep: { type: "boolean", default: false },
        m: { type: "string", short: "m", default: "128" },
        "max-steps": { type: "string" },
        color: { type: "boolean", default: false },
        blocks: { type: "boolean", default: false },
        "js-blocks": { type: "boolean", default: false },
        single: { type: "boolean", default: false },
        chunk: { type: "string", default: "64" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    console.error(`lockstep: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const num = (name: string, s: string | undefined, min: number) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${name} wants an integer >= ${min}, not ${s}`);
    }
    return n;
  };
  let memoryMiB: number, maxSteps: number | undefined;
  let seed: number | undefined, count: number, seeds: number, chunk: number;
  try {
    memoryMiB = num("m", v.m, 16)!;
    maxSteps = num("max-steps", v["max-steps"], 1);
    seed = num("random", v.random, 0);
    count = num("count", v.count, 1)!;
    seeds = num("seeds", v.seeds, 1)!;
    chunk = num("chunk", v.chunk, 1)!;
  } catch (err) {
    console.error(`lockstep: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const elfs = parsed.positionals;
  if ((seed === undefined) === (elfs.length === 0)) {
    console.error(
      `lockstep: give either ELF files or --random SEED (not both, not neither)\n\n${USAGE}`,
    );
    return 2;
  }
  if (v.blocks && v.single) {
    console.error(
      `lockstep: give --blocks or --single, not both\n\n${USAGE}`,
    );
    return 2;
  }
  const blocks = v.blocks;
  const runs: { name: string; path: () => Promise<string>; temp: boolean }[] =
    [];
  if (seed !== undefined) {
    for (let s = seed; s < seed + seeds; s++) {
      const elfPath = `/tmp/deja-lockstep-${s}.elf`;
      runs.push({
        name: `random seed ${s} (${count} instructions)`,
        path: () => buildRandomElf({ seed: s, count, loops: blocks, elfPath }),
        temp: !v.keep,
      });
    }
  } else {
    for (const e of elfs) {
      runs.push({ name: e, path: () => Promise.resolve(e), temp: false });
    }
  }
  let total = 0;
  const sums = {
    chunks: 0,
    chunkSteps: 0,
    singleSteps: 0,
    jsInsns: 0,
    wasmInsns: 0,
    wasmBlocks: 0,
    wasmPages: 0,
    withWasm: 0,
  };
  const known = new Map<string, number>();
  for (const run of runs) {
    let result: LockstepResult;
    let path: string | undefined;
    try {
      path = await run.path();
      const t0 = performance.now();
      result = await lockstep(path, {
        memoryMiB,
        ...(maxSteps !== undefined ? { maxSteps } : {}),
        color: v.color,
        blocks,
        wasm: !v["js-blocks"],
        chunk,
        onProgress: (n) => {
          if (n % 50_000 === 0) console.error(`  ... ${n} steps`);
        },
      });
      const secs = (performance.now() - t0) / 1000;
      console.log(
        `${result.report.replace(path, run.name)} [${secs.toFixed(1)} s, ${
          Math.round(result.steps / secs)
        } steps/s]`,
      );
    } catch (err) {
      console.error(`lockstep: ${run.name}: ${(err as Error).message}`);
      return 2;
    } finally {
      if (run.temp && path) {
        await Deno.remove(path).catch(() => {});
        await Deno.remove(path.replace(/\.elf$/, ".S")).catch(() => {});
      }
    }
    for (const [k, n] of result.known) known.set(k, (known.get(k) ?? 0) + n);
    total += result.steps;
    const b = result.blocks;
    if (b) {
      sums.chunks += b.chunks;
      sums.chunkSteps += b.chunkSteps;
      sums.singleSteps += b.singleSteps;
      sums.jsInsns += b.jsInsns;
      sums.wasmInsns += b.wasmInsns;
      sums.wasmBlocks += b.wasmBlocks;
      sums.wasmPages += b.wasmPages;
      if (b.wasmPages > 0) sums.withWasm++;
    }
    if (b?.wasmError !== undefined) {
      console.log(
        `lockstep: ${run.name}: deja's WebAssembly translator failed: ${b.wasmError}`,
      );
      return 1;
    }
    if (result.end === "mismatch") {
      if (run.temp && path) {
        console.log(
          `(reproduce with: deno task lockstep --random ${
            run.name.split(" ")[2]
          } --count ${count}${
            blocks ? ` --blocks --chunk ${chunk}` : ""
          } --keep${
            blocks
              ? `; a smaller --chunk narrows it down, and --single on the kept ELF runs it without blocks`
              : ""
          })`,
        );
      }
      return 1;
    }
  }
  const k = [...known].map(([n, c]) => `${n}: ${c}`).join("; ");
  console.log(
    `lockstep: ${runs.length} run(s), ${total} steps, no mismatch${
      k ? ` (known differences let through: ${k})` : ""
    }`,
  );
  if (blocks) {
    const s = sums;
    console.log(
      `  blocks on: ${s.chunkSteps} steps in ${s.chunks} chunks compared at their ends, ${s.singleSteps} single steps; ${
        s.jsInsns + s.wasmInsns
      } instructions ran inside compiled blocks (${s.wasmInsns} in WebAssembly, ${s.jsInsns} in JavaScript); ${s.wasmBlocks} WebAssembly blocks on ${s.wasmPages} pages at the runs' ends (${s.withWasm} of ${runs.length} runs used WebAssembly)`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
