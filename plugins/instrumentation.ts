/**
 * Instrumentation: QEMU's TCG plugins in TypeScript. An instrumentation
 * plugin returns the callbacks it wants ({@linkcode InstrumentationHooks});
 * the machine then runs the hart one instruction at a time on a separate,
 * observed path and calls them. With no instrumentation plugin loaded the
 * machine never takes that path, so the fast loop is untouched.
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
 * Decode the memory access of a load, store or atomic from its raw bits,
 * with the registers as they are before it executes.
 */
function memOf(cpu: Cpu, insn: number): PendingMem | undefined {
  if ((insn & 3) !== 3) return memOfCompressed(cpu, insn & 0xffff);
  const op = insn & 0x7f;
  const f3 = (insn >>> 12) & 7;
  const rd = (insn >>> 7) & 31;
  const rs1 = (insn >>> 15) & 31;
  const rs2 = (insn >>> 20) & 31;
  const sizes = [1, 2, 4, 8] as const;
  switch (op) {
    case 0x03: // loads
    case 0x07: { // FP loads
      if (op === 0x07 && f3 !== 2 && f3 !== 3) return undefined;
      const imm = insn >> 20;
      return {
        addr: BigInt.asUintN(64, reg(cpu, rs1) + BigInt(imm)),
        size: sizes[f3 & 3]!,
        load: true,
        store: false,
        rd,
        fp: op === 0x07,
        storeValue: 0n,
      };
    }
    case 0x23: // stores
    case 0x27: { // FP stores
      if (op === 0x27 && f3 !== 2 && f3 !== 3) return undefined;
      const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
      const size = sizes[f3 & 3]!;
      const v = op === 0x27 ? freg(cpu, rs2) : reg(cpu, rs2);
      return {
        addr: BigInt.asUintN(64, reg(cpu, rs1) + BigInt(imm)),
        size,
        load: false,
        store: true,
        rd: -1,
        fp: false,
        storeValue: BigInt.asUintN(size * 8, v),
      };
    }
    case 0x2f: { // atomics
      const size = f3 === 3 ? 8 : 4;
      const f5 = insn >>> 27;
      const v = BigInt.asUintN(size * 8, reg(cpu, rs2));
      return {
        addr: reg(cpu, rs1),
        size,
        load: f5 !== 3, // sc only writes
        store: f5 !== 2, // lr only reads
        rd,
        fp: false,
        storeValue: v,
      };
    }
  }
  return undefined;
}

function memOfCompressed(cpu: Cpu, c: number): PendingMem | undefined {
  const q = c & 3, f3 = c >>> 13;
  const rdp = ((c >>> 2) & 7) + 8, rs1p = ((c >>> 7) & 7) + 8;
  const mk = (
    base: number,
    off: number,
    size: 4 | 8,
    load: boolean,
    r: number,
    fp: boolean,
  ): PendingMem => ({
    addr: BigInt.asUintN(64, reg(cpu, base) + BigInt(off)),
    size,
    load,
    store: !load,
    rd: load ? r : -1,
    fp,
    storeValue: load
      ? 0n
      : BigInt.asUintN(size * 8, fp ? freg(cpu, r) : reg(cpu, r)),
  });
  const offW = ((c >>> 7) & 0x38) | ((c << 1) & 0x40) | ((c >>> 4) & 4);
  const offD = ((c >>> 7) & 0x38) | ((c << 1) & 0xc0);
  if (q === 0) {
    if (f3 === 1) return mk(rs1p, offD, 8, true, rdp, true); // c.fld
    if (f3 === 2) return mk(rs1p, offW, 4, true, rdp, false); // c.lw
    if (f3 === 3) return mk(rs1p, offD, 8, true, rdp, false); // c.ld
    if (f3 === 5) return mk(rs1p, offD, 8, false, rdp, true); // c.fsd
    if (f3 === 6) return mk(rs1p, offW, 4, false, rdp, false); // c.sw
    if (f3 === 7) return mk(rs1p, offD, 8, false, rdp, false); // c.sd
    return undefined;
  }
  if (q === 2) {
    const rd = (c >>> 7) & 31, rs2 = (c >>> 2) & 31;
    const lwsp = ((c >>> 2) & 0x1c) | ((c >>> 7) & 0x20) | ((c << 4) & 0xc0);
    const ldsp = ((c >>> 2) & 0x18) | ((c >>> 7) & 0x20) | ((c << 4) & 0x1c0);
    const swsp = ((c >>> 7) & 0x3c) | ((c >>> 1) & 0xc0);
    const sdsp = ((c >>> 7) & 0x38) | ((c >>> 1) & 0x1c0);
    if (f3 === 1) return mk(2, ldsp, 8, true, rd, true); // c.fldsp
    if (f3 === 2 && rd !== 0) return mk(2, lwsp, 4, true, rd, false);
    if (f3 === 3 && rd !== 0) return mk(2, ldsp, 8, true, rd, false);
    if (f3 === 5) return mk(2, sdsp, 8, false, rs2, true); // c.fsdsp
    if (f3 === 6) return mk(2, swsp, 4, false, rs2, false);
    if (f3 === 7) return mk(2, sdsp, 8, false, rs2, false);
  }
  return undefined;
}

/** Whether an instruction may transfer control (ends a block). */
function endsBlock(insn: number): boolean {
  if ((insn & 3) !== 3) {
    const q = insn & 3, f3 = (insn >>> 13) & 7;
    if (q === 1 && (f3 === 1 || f3 === 5 || f3 === 6 || f3 === 7)) return true;
    if (q === 2 && f3 === 4 && ((insn >>> 2) & 31) === 0) return true; // jr/jalr/ebreak
    return false;
  }
  const op = insn & 0x7f;
  return op === 0x63 || op === 0x6f || op === 0x67 || op === 0x73;
}

/**
 * Run the hart for up to `maxInsns` instructions one at a time, calling the
 * hooks. This is the observed path: the machine takes it only while
 * instrumentation plugins are loaded.
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
  const insnHooks = hooks.filter((h) => h.insn);
  const blockHooks = hooks.filter((h) => h.block);
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
      for (const h of blockHooks) h.block!(blockPc, insns);
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
        for (const h of insnHooks) h.insn!(pc, insn, size);
        if (m) reportMem(cpu, pc, m, memHooks);
        if (blockHooks.length) {
          if (trapped) flush(); // a trap ends the block before it
          if (block.length === 0) blockPc = pc;
          block.push(Object.freeze({ pc, insn, size }));
          const next = pc + BigInt(size);
          if (endsBlock(insn) || pcOf(cpu) !== next) flush();
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
 * equals the machine's icount.
 */
export const insnPlugin: AnyInstrumentationPlugin = defineInstrumentationPlugin(
  {
    ...common,
    name: "insn",
    description: "count executed instructions",
    create: (ctx) => {
      let n = 0;
      return {
        insn: () => void n++,
        exit: () => ctx.output(`insns: ${n}`),
      };
    },
  },
);

/** `hotblocks`: lists the most executed blocks (QEMU's `libhotblocks.so`). */
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
        block: (pc, insns) => {
          const e = seen.get(pc);
          if (e) e.execs++;
          else seen.set(pc, { execs: 1, insns: insns.length });
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
