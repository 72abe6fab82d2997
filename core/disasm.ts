/**
 * A disassembler for RV64GC: every instruction of RV64I, M, A, F, D, C,
 * Zicsr and Zifencei, the privileged `mret`, `sret`, `wfi` and
 * `sfence.vma`, and what deja has of Zba, printed in the GNU assembler's
 * syntax with ABI register names. Used by the lockstep tester and by
 * instrumentation.
 *
 * Reference: RISC-V Unprivileged ISA 20191213 (chapter 24, "RV32/64G
 * Instruction Set Listings", and chapter 16, tables 16.5-16.7, for the
 * compressed quadrants) and Privileged ISA 1.12 (CSR addresses, table 2.2).
 *
 * It is derived from the instruction table (core/isa/): each definition's
 * name, encoding and operand format. Compressed instructions are printed
 * under their own `c.` names, and reserved encodings print as `illegal`.
 *
 * @module
 */

import { CSR_DEFS } from "./csr.ts";
import {
  AMO,
  amoOrder,
  findCInsn,
  findInsn,
  LR,
  type PrintContext,
} from "./isa/mod.ts";

/** ABI names of the integer registers. */
export const X_NAMES: readonly string[] = [
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
];

/** ABI names of the floating-point registers. */
export const F_NAMES: readonly string[] = [
  "ft0",
  "ft1",
  "ft2",
  "ft3",
  "ft4",
  "ft5",
  "ft6",
  "ft7",
  "fs0",
  "fs1",
  "fa0",
  "fa1",
  "fa2",
  "fa3",
  "fa4",
  "fa5",
  "fa6",
  "fa7",
  "fs2",
  "fs3",
  "fs4",
  "fs5",
  "fs6",
  "fs7",
  "fs8",
  "fs9",
  "fs10",
  "fs11",
  "ft8",
  "ft9",
  "ft10",
  "ft11",
];

/** Names of the CSRs that deja implements, from {@linkcode CSR_DEFS}. */
export const CSR_NAMES: ReadonlyMap<number, string> = new Map<number, string>(
  CSR_DEFS.map((d) => [d.num, d.name]),
);

/** Options for {@linkcode disassemble}. */
export interface DisassembleOptions {
  /**
   * The instruction's address: branch and jump targets then print as
   * absolute addresses instead of offsets.
   *
   * @default {undefined}
   */
  pc?: bigint | number;
}

function hex(v: number | bigint): string {
  const n = BigInt(v);
  return n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

function csrName(csr: number): string {
  return CSR_NAMES.get(csr) ?? hex(csr);
}

function context(pc: bigint | number | undefined): PrintContext {
  return {
    x: (n) => X_NAMES[n]!,
    f: (n) => F_NAMES[n]!,
    csr: csrName,
    hex,
    target: (off) =>
      pc === undefined
        ? (off >= 0 ? `.+${off}` : `.${off}`)
        : hex(BigInt.asUintN(64, BigInt(pc) + BigInt(off))),
  };
}

function disasm32(i: number, pc: bigint | number | undefined): string {
  const d = findInsn(i);
  if (d === undefined) return "illegal";
  const name = d.format === LR || d.format === AMO
    ? d.name + amoOrder(i)
    : d.name;
  const ops = d.format.print(i, context(pc));
  return ops === "" ? name : `${name} ${ops}`;
}

function disasm16(i: number, pc: bigint | number | undefined): string {
  return findCInsn(i)?.print(i, context(pc)) ?? "illegal";
}

/**
 * The length in bytes of the instruction whose first 16-bit parcel is
 * `parcel`: 2 for compressed instructions, otherwise 4 (longer encodings are
 * not part of RV64GC and count as 4).
 *
 * @param parcel the low 16 bits of the instruction
 * @returns 2 or 4
 * @example
 * ```ts
 * import { instructionLength } from "./disasm.ts";
 * if (instructionLength(0x4501) !== 2) throw new Error("unreachable");
 * ```
 */
export function instructionLength(parcel: number): 2 | 4 {
  return (parcel & 3) === 3 ? 4 : 2;
}

/**
 * Disassemble one instruction.
 *
 * @param insn the instruction bits: a 32-bit word, or a 16-bit parcel for a
 * compressed instruction (only the low 16 bits are looked at when the low
 * two bits are not 11)
 * @param options the pc, to print branch targets as addresses
 * @returns the instruction in assembler syntax, or `illegal`
 * @example Disassemble a compressed and a 32-bit instruction
 * ```ts
 * import { disassemble } from "./disasm.ts";
 * if (disassemble(0x4501) !== "c.li a0, 0") throw new Error("unreachable");
 * const s = disassemble(0x00b50533);
 * if (s !== "add a0, a0, a1") throw new Error(s);
 * ```
 */
export function disassemble(
  insn: number,
  options: DisassembleOptions = {},
): string {
  if ((insn & 3) !== 3) return disasm16(insn & 0xffff, options.pc);
  return disasm32(insn | 0, options.pc);
}
