/**
 * The instruction set as one table: every instruction deja runs is defined
 * once, in the file of its extension (rv64i.ts, m.ts, a.ts, f.ts, d.ts,
 * c.ts, zicsr.ts, zifencei.ts, priv.ts, zba.ts), with its encoding, operand
 * format, the op it executes, and for ops without a hand-written fast path,
 * its semantics. From this table come the decoder ({@linkcode decode32},
 * {@linkcode decode16}), the op numbers ({@linkcode OP}), the block
 * compiler's code, the interpreter's dispatch of table-only ops
 * ({@linkcode EXTRA_OPS}), the disassembler (core/disasm.ts) and the
 * instrumentation decoder ({@linkcode memAccess}, {@linkcode isControl}).
 *
 * @module
 */

import type {
  CInsnDef,
  Expanded,
  Extension,
  Format32,
  InsnDef,
  MemInfo,
  OpDef,
} from "./_format.ts";
import { pack, packF } from "./_format.ts";
export { AMO, amoOrder, LR, type PrintContext } from "./_format.ts";
import { RV64I } from "./rv64i.ts";
import { M } from "./m.ts";
import { A } from "./a.ts";
import { F } from "./f.ts";
import { D } from "./d.ts";
import { C } from "./c.ts";
import { ZICSR } from "./zicsr.ts";
import { ZIFENCEI } from "./zifencei.ts";
import { PRIV } from "./priv.ts";
import { ZBA } from "./zba.ts";

export type {
  CInsnDef,
  Expanded,
  Extension,
  Format32,
  InsnDef,
  MemInfo,
  OpDef,
};

/** The extensions, in decode priority order. */
export const EXTENSIONS: readonly Extension[] = [
  RV64I,
  M,
  A,
  F,
  D,
  C,
  ZICSR,
  ZIFENCEI,
  PRIV,
  ZBA,
];

/** The interpreter's own ops, which no instruction names. */
const INTERNAL: readonly OpDef[] = [
  { name: "UNDECODED", code: 0, kind: "undecoded" },
  { name: "PAGE_END", code: 1, kind: "pageEnd" },
  { name: "CROSS", code: 2, kind: "cross" },
  { name: "ILLEGAL", code: 3, kind: "illegal" },
  { name: "NOP", code: 4, wasm: "", exec: "" },
  { name: "LI", code: 92, wasm: "i", exec: "x[d]=i;x[d+1]=i>>31;" },
  { name: "MV", code: 93, wasm: "a", exec: "x[d]=x[a];x[d+1]=x[a+1];" },
  { name: "BLOCK", code: 94, kind: "block" },
];

/** First op number for ops that only the table defines. */
export const FIRST_EXTRA_OP = 95;

function numberOps(): OpDef[] {
  const all = [...INTERNAL, ...EXTENSIONS.flatMap((e) => e.ops)];
  const out: OpDef[] = [];
  let next = FIRST_EXTRA_OP;
  const seen = new Set<string>();
  for (const o of all) {
    if (seen.has(o.name)) throw new Error(`ISA table: op ${o.name} twice`);
    seen.add(o.name);
    out.push(o.code === undefined ? { ...o, code: next++ } : o);
  }
  if (next > 256) throw new Error("ISA table: more than 256 ops");
  return out;
}

/** Every op, with its number. */
export const OPS: readonly (OpDef & { readonly code: number })[] =
  numberOps() as (OpDef & { code: number })[];

/** Op definitions indexed by number. */
export const OP_DEFS: readonly (OpDef | undefined)[] = (() => {
  const a: (OpDef | undefined)[] = new Array(256).fill(undefined);
  for (const o of OPS) {
    if (a[o.code]) throw new Error(`ISA table: op number ${o.code} twice`);
    a[o.code] = o;
  }
  return a;
})();

/** Op names indexed by number (`undefined` for unused numbers). */
export const OP_NAMES: readonly (string | undefined)[] = OP_DEFS.map((o) =>
  o?.name
);

/** Op numbers by name. */
export const OP: Readonly<Record<string, number>> = Object.fromEntries(
  OPS.map((o) => [o.name, o.code]),
);

/** The ops numbered by the table rather than by their definition. */
export const EXTRA_OPS: readonly (OpDef & { readonly code: number })[] = OPS
  .filter((o) => o.code >= FIRST_EXTRA_OP);

/** Every 32-bit instruction. */
export const INSNS: readonly InsnDef[] = EXTENSIONS.flatMap((e) => e.insns);
/** Every compressed instruction. */
export const CINSNS: readonly CInsnDef[] = EXTENSIONS.flatMap((e) =>
  e.cinsns ?? []
);

for (const d of INSNS) {
  if (OP[d.op] === undefined) {
    throw new Error(`ISA table: ${d.name} runs unknown op ${d.op}`);
  }
}

// Candidates by major opcode (32-bit) and by quadrant/funct3 (16-bit).
const BY_OPCODE: InsnDef[][] = Array.from({ length: 128 }, () => []);
for (const d of INSNS) {
  if ((d.mask & 0x7f) !== 0x7f) throw new Error(`ISA table: ${d.name} mask`);
  BY_OPCODE[d.match & 0x7f]!.push(d);
}
const BY_Q_F3: CInsnDef[][] = Array.from({ length: 32 }, () => []);
for (const d of CINSNS) {
  BY_Q_F3[((d.match >>> 13) << 2) | (d.match & 3)]!.push(d);
}

/**
 * The definition of a 32-bit instruction.
 *
 * @param i the instruction bits
 * @returns its definition, or undefined for an illegal encoding
 */
export function findInsn(i: number): InsnDef | undefined {
  for (const d of BY_OPCODE[i & 0x7f]!) {
    if ((i & d.mask) === d.match) return d;
  }
  return undefined;
}

/**
 * The definition of a compressed instruction.
 *
 * @param i the 16 instruction bits
 * @returns its definition (whose `expand` may still find it reserved), or
 *   undefined
 */
export function findCInsn(i: number): CInsnDef | undefined {
  i &= 0xffff;
  for (const d of BY_Q_F3[((i >>> 13) << 2) | (i & 3)]!) {
    if ((i & d.mask) === d.match) return d;
  }
  return undefined;
}

const NOP = OP.NOP!;
const ILLEGAL = OP.ILLEGAL!;

/**
 * Decode a 32-bit instruction into the interpreter's packed form.
 *
 * @param i the instruction bits
 * @param out out[0] = packed word, out[1] = immediate
 */
export function decode32(i: number, out: Int32Array): void {
  const d = findInsn(i);
  if (d === undefined) {
    out[0] = packF(ILLEGAL, 0, 0, 0, 1);
    out[1] = i;
    return;
  }
  let op = OP[d.op]!;
  const rd = (i >>> 7) & 31;
  if (d.alias !== undefined) {
    const a = d.alias(rd, (i >>> 15) & 31, i >> 20);
    if (a !== undefined) op = OP[a]!;
  }
  if (d.pure && rd === 0) op = NOP;
  d.format.decode(op, i, out);
}

/**
 * Decode a compressed instruction into the packed form of the 32-bit
 * instruction it stands for.
 *
 * @param i the instruction bits (low 16 bits used)
 * @param out out[0] = packed word, out[1] = immediate
 */
export function decode16(i: number, out: Int32Array): void {
  i &= 0xffff;
  const e = findCInsn(i)?.expand(i);
  if (e === undefined) {
    out[0] = packF(ILLEGAL, 0, 0, 0, 0);
    out[1] = i;
    return;
  }
  const op = OP[e.op]!;
  out[0] = e.fpRd
    ? packF(op, e.rd, e.rs1, e.rs2, 0)
    : pack(op, e.rd, e.rs1, e.rs2, 0);
  out[1] = e.imm;
}

/** A decoded memory access: the op's, with its registers and offset. */
export interface MemOperands extends MemInfo {
  /** Base address register. */
  readonly rs1: number;
  /** Offset added to it. */
  readonly imm: number;
  /** Destination register of a load (x or f), -1 for none. */
  readonly rd: number;
  /** Register holding the store data, -1 for none. */
  readonly rs2: number;
}

const T = new Int32Array(2);

/**
 * How an instruction accesses memory, from its encoding alone.
 *
 * @param insn a 32-bit instruction, or a 16-bit parcel
 * @returns the access, or undefined if it makes none (or is illegal)
 * @example
 * ```ts
 * import { memAccess } from "./mod.ts";
 * const m = memAccess(0xff843503)!; // ld a0, -8(s0)
 * if (m.size !== 8 || !m.load || m.rs1 !== 8 || m.imm !== -8) throw new Error("unreachable");
 * ```
 */
export function memAccess(insn: number): MemOperands | undefined {
  if ((insn & 3) !== 3) decode16(insn, T);
  else decode32(insn | 0, T);
  const w = T[0]!;
  const mem = OP_DEFS[w & 0xff]?.mem;
  if (mem === undefined) return undefined;
  const rd = (w >>> 8) & 127, rs1 = (w >>> 15) & 63, rs2 = (w >>> 21) & 63;
  return {
    ...mem,
    rs1: rs1 >> 1,
    imm: mem.noOffset ? 0 : T[1]!,
    rd: mem.load ? (rd === 64 ? 0 : rd >> 1) : -1,
    rs2: mem.store ? rs2 >> 1 : -1,
  };
}

/**
 * Whether an instruction may transfer control or change what the next one
 * sees (a branch, jump, trap, xRET, `wfi`, a fence of translations, or a
 * CSR instruction): it ends a basic block.
 *
 * @param insn a 32-bit instruction, or a 16-bit parcel
 * @returns true if it ends a block
 * @example
 * ```ts
 * import { isControl } from "./mod.ts";
 * if (!isControl(0x00008067) || isControl(0x00b50533)) throw new Error("unreachable"); // ret; add
 * ```
 */
export function isControl(insn: number): boolean {
  if ((insn & 3) !== 3) return findCInsn(insn)?.control === true;
  return findInsn(insn | 0)?.control === true;
}
