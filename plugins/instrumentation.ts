/**
 * Instrumentation: QEMU's TCG plugins in TypeScript. An instrumentation
 * plugin returns the callbacks it wants ({@linkcode InstrumentationHooks});
 * the machine then runs the hart one instruction at a time on a separate,
 * observed path and calls them. With no instrumentation plugin loaded the
 * machine never takes that path, so the fast loop is untouched. Plugins
 * that only count (`insnCount`, `blockCount`) take the counting path
 * instead: the fast loop's counting variant (`Cpu.runCounted`), compiled
 * blocks included, with the counts delivered in batches.
 *
 * Callbacks get values (numbers, bigints, frozen records), never the hart or
 * the bus, so they cannot change guest state: a log replays the same with
 * any set of instrumentation plugins loaded.
 *
 * Built-ins: {@linkcode insnPlugin} (count instructions),
 * {@linkcode hotblocksPlugin} (most executed blocks),
 * {@linkcode memPlugin} (memory accesses); `execlog.ts` has `execlog` (pc
 * and disassembly per instruction).
 *
 * @module
 */

import type { Cpu } from "../core/cpu.ts";
import { isControl, memAccess } from "../core/isa/mod.ts";
import { warmUpInterpreter } from "../core/warmup.ts";
import {
  type AnyInstrumentationPlugin,
  defineInstrumentationPlugin,
  PLUGIN_API_VERSION,
} from "./registry.ts";

import type {
  InsnInfo,
  InstrumentationHooks,
  MemAccess,
  TrapInfo,
} from "./hooks.ts";
export type {
  ExitInfo,
  InsnInfo,
  InstrumentationHooks,
  MemAccess,
  TrapInfo,
} from "./hooks.ts";

function pcOf(cpu: Cpu): bigint {
  return BigInt.asUintN(64, (BigInt(cpu.pcHi) << 32n) | BigInt(cpu.pcLo >>> 0));
}

function reg(cpu: Cpu, r: number): bigint {
  return BigInt.asUintN(
    64,
    (BigInt(cpu.x[2 * r + 1]!) << 32n) | BigInt(cpu.x[2 * r]! >>> 0),
  );
}

function freg(cpu: Cpu, r: number): bigint {
  return BigInt.asUintN(
    64,
    (BigInt(cpu.f[2 * r + 1]!) << 32n) | BigInt(cpu.f[2 * r]! >>> 0),
  );
}

/** A memory access an instruction is about to make, from its encoding. */
interface PendingMem {
  addr: bigint;
  size: 1 | 2 | 4 | 8;
  load: boolean;
  store: boolean;
  rd: number; // destination register (x or f), -1 if none
  fp: boolean; // rd/rs2 is an FP register
  storeValue: bigint;
}

/**
 * The memory access of a load, store or atomic, from its encoding (through
 * the instruction table), with the registers as they are before it executes.
 */
function memOf(cpu: Cpu, insn: number): PendingMem | undefined {
  const m = memAccess(insn);
  if (m === undefined) return undefined;
  const fp = m.fp === true;
  return {
    addr: BigInt.asUintN(64, reg(cpu, m.rs1) + BigInt(m.imm)),
    size: m.size,
    load: m.load === true,
    store: m.store === true,
    rd: m.rd,
    fp,
    storeValue: m.store
      ? BigInt.asUintN(m.size * 8, fp ? freg(cpu, m.rs2) : reg(cpu, m.rs2))
      : 0n,
  };
}

/** Whether a plugin's hooks only count (no per-instruction callbacks). */
function countsOnly(h: InstrumentationHooks): boolean {
  return !h.insn && !h.block && !h.mem && !h.trap;
}

/**
 * Instructions run on the counting path since its block counts were last
 * delivered, per hart.
 */
const undelivered = new WeakMap<Cpu, number>();

/**
 * Deliver at most this seldom: a delivery walks the pages run since the
 * last one, and slices can be short.
 */
const DELIVER_EVERY = 1 << 24;

/**
 * Hand the block starts counted so far to the `blockCount` hooks.
 *
 * @param cpu the hart
 * @param hooks the loaded plugins' callbacks
 */
export function deliverCounts(
  cpu: Cpu,
  hooks: readonly InstrumentationHooks[],
): void {
  undelivered.set(cpu, 0);
  const blockHooks = hooks.filter((h) => h.blockCount);
  cpu.drainBlockCounts((pc, raw, execs) => {
    if (blockHooks.length === 0) return;
    let at = pc;
    const insns = Object.freeze(raw.map((insn) => {
      const size: 2 | 4 = (insn & 3) === 3 ? 4 : 2;
      const info: InsnInfo = Object.freeze({ pc: at, insn, size });
      at = BigInt.asUintN(64, at + BigInt(size));
      return info;
    }));
    for (const h of blockHooks) h.blockCount!(pc, insns, execs);
  });
}

/** Instructions run on the counting path in this process. */
let countedSoFar = 0;

/**
 * The counting path warms its loop up (core/warmup.ts) once it has run this
 * many instructions: a short run pays nothing, a long one avoids the
 * deoptimizations that cases without type feedback cause later.
 */
const WARM_UP_AFTER = 4_000_000;

/**
 * The counting path: the fast loop with block-start counts, then the
 * instruction count to `insnCount`, and the block counts to `blockCount`
 * now and then (and at the end: {@linkcode deliverCounts}).
 */
function runCounting(
  cpu: Cpu,
  maxInsns: number,
  hooks: readonly InstrumentationHooks[],
): number {
  const before = cpu.icount;
  const reason = cpu.runCounted(maxInsns);
  const n = cpu.icount - before;
  // Type feedback for every case of the counting loop, once per process,
  // and only for runs long enough to gain from it.
  countedSoFar += n;
  if (countedSoFar >= WARM_UP_AFTER) warmUpInterpreter(true);
  if (n > 0) {
    for (const h of hooks) h.insnCount?.(n);
  }
  const pending = (undelivered.get(cpu) ?? 0) + n;
  if (pending >= DELIVER_EVERY) deliverCounts(cpu, hooks);
  else undelivered.set(cpu, pending);
  return reason;
}

/**
 * Run the hart for up to `maxInsns` instructions one at a time, calling the
 * hooks. This is the observed path: the machine takes it only while
 * instrumentation plugins are loaded. When all of them only count, it takes
 * the counting path instead (see {@linkcode InstrumentationHooks.insnCount}).
 *
 * @param cpu the hart
 * @param maxInsns instruction budget
 * @param hooks the loaded plugins' callbacks
 * @returns why it stopped, as `cpu.run` returns it
 */
export function runObserved(
  cpu: Cpu,
  maxInsns: number,
  hooks: readonly InstrumentationHooks[],
): number {
  if (hooks.every(countsOnly)) return runCounting(cpu, maxInsns, hooks);
  const insnHooks = hooks.filter((h) => h.insn || h.insnCount);
  const blockHooks = hooks.filter((h) => h.block || h.blockCount);
  const memHooks = hooks.filter((h) => h.mem);
  const trapHooks = hooks.filter((h) => h.trap);
  const wantInsn = insnHooks.length > 0 || blockHooks.length > 0 ||
    memHooks.length > 0;
  let block: InsnInfo[] = [];
  let blockPc = 0n;
  let trapped = false;
  let trapInsn = 0;
  let trapPc = 0n;
  let trapMem: PendingMem | undefined;
  const previous = cpu.onTrap;
  cpu.onTrap = (cause, interrupt) => {
    previous?.(cause, interrupt);
    trapped = true;
    trapInsn = wantInsn ? cpu.peekInsn() : 0;
    trapPc = pcOf(cpu);
    trapMem = memHooks.length && trapInsn ? memOf(cpu, trapInsn) : undefined;
    if (trapHooks.length) {
      const info: TrapInfo = Object.freeze({
        cause,
        interrupt,
        handler: pcOf(cpu),
        icount: cpu.icount,
      });
      for (const h of trapHooks) h.trap!(info);
    }
  };
  const flush = () => {
    if (block.length > 0) {
      const insns = Object.freeze(block);
      for (const h of blockHooks) {
        h.block?.(blockPc, insns);
        h.blockCount?.(blockPc, insns, 1);
      }
      block = [];
    }
  };
  let reason = 0;
  try {
    const end = cpu.icount + maxInsns;
    while (cpu.icount < end) {
      const before = cpu.icount;
      const pcLo = cpu.pcLo, pcHi = cpu.pcHi;
      let insn = wantInsn ? cpu.peekInsn() : 0;
      const mem = memHooks.length && insn ? memOf(cpu, insn) : undefined;
      trapped = false;
      reason = cpu.run(1);
      if (cpu.icount === before) break; // stopped, idle or a timer moved
      let pc: bigint;
      let m = mem;
      if (trapped) {
        // A trap does not retire its instruction: the one that retired in
        // this step is the handler's first.
        pc = trapPc;
        insn = trapInsn;
        m = trapMem;
      } else {
        pc = BigInt.asUintN(
          64,
          (BigInt(pcHi) << 32n) | BigInt(pcLo >>> 0),
        );
      }
      if (wantInsn) {
        const size: 2 | 4 = (insn & 3) === 3 ? 4 : 2;
        for (const h of insnHooks) {
          h.insn?.(pc, insn, size);
          h.insnCount?.(1);
        }
        if (m) reportMem(cpu, pc, m, memHooks);
        if (blockHooks.length) {
          if (trapped) flush(); // a trap ends the block before it
          if (block.length === 0) blockPc = pc;
          block.push(Object.freeze({ pc, insn, size }));
          const next = pc + BigInt(size);
          if (isControl(insn) || pcOf(cpu) !== next) flush();
        }
      }
      if (reason !== 0) break;
      // A device asked to stop or a timer moved: end the slice here, as
      // the fast path does right after such an instruction.
      const pending = cpu.pendingStop;
      if (pending !== 0) {
        reason = pending === 2 ? 2 : 0;
        break;
      }
    }
  } finally {
    cpu.onTrap = previous;
    flush();
  }
  return reason;
}

function reportMem(
  cpu: Cpu,
  pc: bigint,
  m: PendingMem,
  hooks: readonly InstrumentationHooks[],
): void {
  if (m.load) {
    let v = 0n;
    if (m.rd > 0 || m.fp) v = m.fp ? freg(cpu, m.rd) : reg(cpu, m.rd);
    v = BigInt.asUintN(m.size * 8, v);
    const a: MemAccess = Object.freeze({
      pc,
      addr: m.addr,
      size: m.size,
      value: v,
      access: "read",
    });
    for (const h of hooks) h.mem!(a);
  }
  if (m.store) {
    const a: MemAccess = Object.freeze({
      pc,
      addr: m.addr,
      size: m.size,
      value: m.storeValue,
      access: "write",
    });
    for (const h of hooks) h.mem!(a);
  }
}

// ---------------------------------------------------------------------------
// Built-in instrumentation plugins

const common = {
  kind: "instrumentation",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
} as const;

/**
 * `insn`: counts executed instructions (QEMU's `libinsn.so`). The count
 * equals the machine's icount. It only counts, so alone (or with other
 * counting plugins) it runs on the counting path, at close to full speed.
 */
export const insnPlugin: AnyInstrumentationPlugin = defineInstrumentationPlugin(
  {
    ...common,
    name: "insn",
    description: "count executed instructions",
    create: (ctx) => {
      let n = 0;
      return {
        insnCount: (k) => void (n += k),
        exit: () => ctx.output(`insns: ${n}`),
      };
    },
  },
);

/**
 * `hotblocks`: lists the most executed blocks (QEMU's `libhotblocks.so`).
 * It only counts, so alone (or with other counting plugins) it runs on the
 * counting path, where a block is as `blockCount` describes it.
 */
export const hotblocksPlugin: AnyInstrumentationPlugin =
  defineInstrumentationPlugin({
    ...common,
    name: "hotblocks",
    description: "list the most executed blocks",
    options: {
      limit: {
        type: "number",
        default: 20,
        min: 1,
        description: "how many blocks to list",
      },
    },
    create: (ctx, options) => {
      const seen = new Map<bigint, { execs: number; insns: number }>();
      return {
        blockCount: (pc, insns, execs) => {
          const e = seen.get(pc);
          if (e) e.execs += execs;
          else seen.set(pc, { execs, insns: insns.length });
        },
        exit: () => {
          const top = [...seen].sort((a, b) =>
            b[1].execs - a[1].execs || (a[0] < b[0] ? -1 : 1)
          ).slice(0, options.limit);
          ctx.output("pc, insns, execs");
          for (const [pc, e] of top) {
            ctx.output(
              `0x${pc.toString(16).padStart(16, "0")}, ${e.insns}, ${e.execs}`,
            );
          }
        },
      };
    },
  });

/** `mem`: one line per memory access (QEMU's `libmem.so` with tracing). */
export const memPlugin: AnyInstrumentationPlugin = defineInstrumentationPlugin({
  ...common,
  name: "mem",
  description: "trace memory accesses",
  options: {
    limit: {
      type: "number",
      default: 0,
      min: 0,
      description: "stop tracing after this many accesses (0: never)",
    },
  },
  create: (ctx, options) => {
    let n = 0, reads = 0, writes = 0;
    return {
      mem: (a) => {
        if (a.access === "read") reads++;
        else writes++;
        if (options.limit && n >= options.limit) return;
        n++;
        ctx.output(
          `0x${a.pc.toString(16).padStart(16, "0")}, ${
            a.access === "read" ? "ld" : "st"
          }${a.size * 8}, 0x${a.addr.toString(16).padStart(16, "0")}, 0x${
            a.value.toString(16)
          }`,
        );
      },
      exit: () => ctx.output(`mem: ${reads} reads, ${writes} writes`),
    };
  },
});

/** The built-in instrumentation plugins. */
export const BUILTIN_INSTRUMENTATION: readonly AnyInstrumentationPlugin[] = [
  insnPlugin,
  hotblocksPlugin,
  memPlugin,
];
