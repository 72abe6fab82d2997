// Internal to core/isa: the shapes of instruction definitions and the
// format helpers that every extension file uses: bit fields, immediates,
// operand formats (how to decode the operands and how to print them), and
// the packing of a decoded instruction into the word the interpreter runs.
//
// A decoded instruction is two int32 words:
//   w   = op | rd*2 << 8 | rs1*2 << 15 | rs2*2 << 21 | is32 << 27
//   imm = the immediate (or the CSR number, the AMO funct5, or the raw bits)
// rd*2 is 64 for an integer write to x0, so that writes land in a scratch
// slot and no instruction needs an `rd != 0` test.
//
// Reference: RISC-V Unprivileged ISA 20191213, chapter 2.2-2.3 (formats and
// immediates) and chapter 16.2 (compressed formats).

/** Bits hi..lo of v. */
export function bits(v: number, hi: number, lo: number): number {
  return (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

/** Sign-extend the low `n` bits of v. */
export function sext(v: number, n: number): number {
  return (v << (32 - n)) >> (32 - n);
}

// ---------------------------------------------------------------------------
// 32-bit fields and immediates

/** The `rd` field. */
export const rdOf = (i: number): number => (i >>> 7) & 31;
/** The `rs1` field. */
export const rs1Of = (i: number): number => (i >>> 15) & 31;
/** The `rs2` field. */
export const rs2Of = (i: number): number => (i >>> 20) & 31;
/** I-type immediate. */
export const immI = (i: number): number => i >> 20;
/** S-type immediate. */
export const immS = (i: number): number => ((i >> 25) << 5) | ((i >>> 7) & 31);
/** B-type immediate. */
export const immB = (i: number): number =>
  ((i >> 31) << 12) | (((i >>> 7) & 1) << 11) | (((i >>> 25) & 0x3f) << 5) |
  (((i >>> 8) & 0xf) << 1);
/** U-type immediate. */
export const immU = (i: number): number => i & 0xfffff000;
/** J-type immediate. */
export const immJ = (i: number): number =>
  ((i >> 31) << 20) | (((i >>> 12) & 0xff) << 12) |
  (((i >>> 20) & 1) << 11) | (((i >>> 21) & 0x3ff) << 1);

// Masks for the common fields.
/** Opcode mask. */
export const OPC = 0x7f;
/** funct3 mask. */
export const F3 = 0x7000;
/** funct7 mask. */
export const F7 = 0xfe000000 | 0;
/** rs2 field mask. */
export const RS2 = 0x01f00000;
/** rd field mask. */
export const RD = 0x00000f80;
/** AMO funct5 mask. */
export const F5 = 0xf8000000 | 0;
/** funct3 value in place. */
export const f3 = (v: number): number => v << 12;
/** funct7 value in place. */
export const f7 = (v: number): number => v << 25;

// ---------------------------------------------------------------------------
// Packing

const X0_DEST = 64; // rd*2 for writes to x0: a scratch slot

/** Pack an op whose rd is an integer register (x0 writes go to scratch). */
export function pack(
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  is32: number,
): number {
  return op | ((rd === 0 ? X0_DEST : rd * 2) << 8) | (rs1 * 2 << 15) |
    (rs2 * 2 << 21) | (is32 << 27);
}

/** Pack an op whose rd is an FP register or none: x0 is a real index. */
export function packF(
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  is32: number,
): number {
  return op | (rd * 2 << 8) | (rs1 * 2 << 15) | (rs2 * 2 << 21) | (is32 << 27);
}

// ---------------------------------------------------------------------------
// Definitions

/**
 * How an op touches memory: the block compiler inlines plain loads and
 * stores from this, and instrumentation reports the access.
 */
export interface MemInfo {
  /** Access size in bytes. */
  readonly size: 1 | 2 | 4 | 8;
  /** Reads memory. */
  readonly load?: boolean;
  /** Writes memory. */
  readonly store?: boolean;
  /** A load sign-extends its value. */
  readonly signed?: boolean;
  /** The data register is an FP register. */
  readonly fp?: boolean;
  /** The address is rs1 alone (atomics), not rs1 + imm. */
  readonly noOffset?: boolean;
}

/**
 * An interpreter op: what decoded instructions execute. Several instructions
 * may share one (every compressed instruction runs its 32-bit twin's op).
 */
export interface OpDef {
  /** Upper-case name, as in the interpreter's `case N: // NAME` comments. */
  readonly name: string;
  /**
   * The op number. Ops that `Cpu.run` implements by hand give theirs (the
   * `case` literal there); ops defined only here leave it out and get the
   * next free number, and the interpreter runs their `exec`.
   */
  readonly code?: number;
  /**
   * The semantics as a JavaScript statement over the interpreter's locals,
   * for ops that cannot trap or branch: `x` (the register pairs), `d`, `a`,
   * `b` (indices of rd, rs1, rs2: register n is x[2n], x[2n+1]), `i` (the
   * immediate) and `H` (the helpers of core/_alu64.ts). The block compiler
   * inlines it with the operands as constants; the interpreter runs it for
   * ops that have no hand-written case.
   */
  readonly exec?: string;
  /** Its memory access, if any. */
  readonly mem?: MemInfo;
  /**
   * For a conditional branch: the condition, as a JavaScript expression over
   * `x`, `a` and `b` (the block compiler ends a block with it).
   */
  readonly cond?: string;
  /**
   * The semantics for the WebAssembly translator (core/_wasm.ts), as a
   * postfix program over 64-bit values: `a`, `b` push rs1, rs2; `i` pushes
   * the immediate sign-extended (`i32` as a 32-bit value), `pc` the
   * instruction's address, a number a 64-bit constant; a WebAssembly
   * instruction name (`i64.add`, `i32.wrap_i64`, ...) or a macro of
   * core/_wasm.ts (`sext.w`, `rv.div`, ...) works on the stack. What is
   * left is written to rd; for a conditional branch (an op with `cond`),
   * it is the i32 condition. Ops without it end a translated block.
   */
  readonly wasm?: string;
  /**
   * For an op that is none of the above (jumps, traps, system and CSR
   * instructions, the FP unit): which of the interpreter's mechanisms runs
   * it (core/interp.ts, `KINDS`).
   */
  readonly kind?: string;
}

/** An operand format: how to decode the operands and how to print them. */
export interface Format32 {
  /** Packs the decoded word and immediate; `op` is the op number. */
  decode(op: number, i: number, out: Int32Array): void;
  /** The operands in assembler syntax. */
  print(i: number, ctx: PrintContext): string;
}

/** What printing needs besides the bits. */
export interface PrintContext {
  /** Name of integer register n. */
  x(n: number): string;
  /** Name of FP register n. */
  f(n: number): string;
  /** A CSR's name. */
  csr(n: number): string;
  /** A branch target at `off` from the pc. */
  target(off: number): string;
  /** Hexadecimal. */
  hex(v: number): string;
}

/** A 32-bit instruction. */
export interface InsnDef {
  /** Assembler name. */
  readonly name: string;
  /** Bits that identify it. */
  readonly mask: number;
  /** Their value. */
  readonly match: number;
  /** Operand format. */
  readonly format: Format32;
  /** The op it executes (an {@linkcode OpDef} name). */
  readonly op: string;
  /**
   * Decoding to a cheaper op: given the rd, rs1 and immediate, the name of
   * an op to use instead (for example `addi rd, x0, imm` is `LI`).
   */
  readonly alias?: (rd: number, rs1: number, imm: number) => string | undefined;
  /** A write to x0 does nothing at all: decode it as `NOP`. */
  readonly pure?: boolean;
  /** It may transfer control (ends a basic block). */
  readonly control?: boolean;
}

/** The fields of a compressed instruction, expanded. */
export interface Expanded {
  /** Op name to run. */
  readonly op: string;
  /** Destination register (x or f). */
  readonly rd: number;
  /** First source. */
  readonly rs1: number;
  /** Second source. */
  readonly rs2: number;
  /** Immediate. */
  readonly imm: number;
  /** rd is an FP register or none (x0 is not redirected to scratch). */
  readonly fpRd?: boolean;
}

/** A 16-bit (compressed) instruction. */
export interface CInsnDef {
  /** Assembler name (`c.` prefixed). */
  readonly name: string;
  /** Bits that identify it. */
  readonly mask: number;
  /** Their value. */
  readonly match: number;
  /** The 32-bit form it stands for, or undefined for a reserved encoding. */
  expand(i: number): Expanded | undefined;
  /** The operands in assembler syntax. */
  print(i: number, ctx: PrintContext): string;
  /** It may transfer control (ends a basic block). */
  readonly control?: boolean;
}

/** One extension's definitions. */
export interface Extension {
  /** Name, e.g. `RV64I` or `Zicsr`. */
  readonly name: string;
  /** Its interpreter ops. */
  readonly ops: readonly OpDef[];
  /** Its 32-bit instructions, first match wins. */
  readonly insns: readonly InsnDef[];
  /** Its compressed instructions, first match wins. */
  readonly cinsns?: readonly CInsnDef[];
}

// ---------------------------------------------------------------------------
// 32-bit operand formats

/** Register-register: `rd, rs1, rs2`. */
export const R: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = 0;
  },
  print: (i, c) => `${c.x(rdOf(i))}, ${c.x(rs1Of(i))}, ${c.x(rs2Of(i))}`,
};

/** Register-immediate: `rd, rs1, imm`. */
export const I: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = immI(i);
  },
  print: (i, c) => `${c.x(rdOf(i))}, ${c.x(rs1Of(i))}, ${immI(i)}`,
};

/** 64-bit shift by immediate: `rd, rs1, shamt` (6 bits). */
export const SH6: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = bits(i, 25, 20);
  },
  print: (i, c) =>
    `${c.x(rdOf(i))}, ${c.x(rs1Of(i))}, ${c.hex(bits(i, 25, 20))}`,
};

/** 32-bit shift by immediate: `rd, rs1, shamt` (5 bits). */
export const SH5: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = rs2Of(i);
  },
  print: (i, c) => `${c.x(rdOf(i))}, ${c.x(rs1Of(i))}, ${c.hex(rs2Of(i))}`,
};

/** Load: `rd, imm(rs1)`. */
export const LOAD: Format32 = {
  decode: I.decode,
  print: (i, c) => `${c.x(rdOf(i))}, ${immI(i)}(${c.x(rs1Of(i))})`,
};

/** Store: `rs2, imm(rs1)`. */
export const STORE: Format32 = {
  decode: (op, i, out) => {
    out[0] = packF(op, 0, rs1Of(i), rs2Of(i), 1);
    out[1] = immS(i);
  },
  print: (i, c) => `${c.x(rs2Of(i))}, ${immS(i)}(${c.x(rs1Of(i))})`,
};

/** Conditional branch: `rs1, rs2, target`. */
export const BRANCH: Format32 = {
  decode: (op, i, out) => {
    out[0] = packF(op, 0, rs1Of(i), rs2Of(i), 1);
    out[1] = immB(i);
  },
  print: (i, c) => `${c.x(rs1Of(i))}, ${c.x(rs2Of(i))}, ${c.target(immB(i))}`,
};

/** Upper immediate: `rd, imm20`. */
export const U: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = immU(i);
  },
  print: (i, c) => `${c.x(rdOf(i))}, ${c.hex(i >>> 12)}`,
};

/** `jal rd, target`. */
export const JAL: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = immJ(i);
  },
  print: (i, c) => `${c.x(rdOf(i))}, ${c.target(immJ(i))}`,
};

/** `jalr rd, imm(rs1)`. */
export const JALR: Format32 = LOAD;

/** CSR with a register: `rd, csr, rs1`. */
export const CSR_R: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = (i >>> 20) & 0xfff;
  },
  print: (i, c) => `${c.x(rdOf(i))}, ${c.csr(i >>> 20)}, ${c.x(rs1Of(i))}`,
};

/** CSR with an immediate: `rd, csr, uimm`. */
export const CSR_I: Format32 = {
  decode: CSR_R.decode,
  print: (i, c) => `${c.x(rdOf(i))}, ${c.csr(i >>> 20)}, ${rs1Of(i)}`,
};

/** No operands; no register fields. */
export const NONE: Format32 = {
  decode: (op, _i, out) => {
    out[0] = packF(op, 0, 0, 0, 1);
    out[1] = 0;
  },
  print: () => "",
};

/** `fence pred, succ`. */
export const FENCE: Format32 = {
  decode: NONE.decode,
  print: (i) => {
    const set = (v: number) =>
      (v & 8 ? "i" : "") + (v & 4 ? "o" : "") + (v & 2 ? "r" : "") +
        (v & 1 ? "w" : "") || "0";
    return `${set(bits(i, 27, 24))}, ${set(bits(i, 23, 20))}`;
  },
};

/** `sfence.vma rs1, rs2`. */
export const SFENCE: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = 0;
  },
  print: (i, c) => `${c.x(rs1Of(i))}, ${c.x(rs2Of(i))}`,
};

const ORDER = ["", ".rl", ".aq", ".aqrl"];

/** `lr.w rd, (rs1)` (the ordering bits print as a suffix of the name). */
export const LR: Format32 = {
  decode: (op, i, out) => {
    out[0] = pack(op, rdOf(i), rs1Of(i), rs2Of(i), 1);
    out[1] = i >>> 27;
  },
  print: (i, c) => `${c.x(rdOf(i))}, (${c.x(rs1Of(i))})`,
};

/** `amoadd.w rd, rs2, (rs1)`. */
export const AMO: Format32 = {
  decode: LR.decode,
  print: (i, c) => `${c.x(rdOf(i))}, ${c.x(rs2Of(i))}, (${c.x(rs1Of(i))})`,
};

/** The ordering suffix of an atomic (`.aq`, `.rl`, `.aqrl`). */
export function amoOrder(i: number): string {
  return ORDER[bits(i, 26, 25)]!;
}

const RM_NAMES = ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"];
const rmSuffix = (i: number) => {
  const rm = bits(i, 14, 12);
  return rm === 7 ? "" : `, ${RM_NAMES[rm]}`;
};

// The FP unit decodes OP-FP and FMA words itself (Fpu.exec): the op carries
// the raw bits and no register fields.
const fpDecode = (op: number, i: number, out: Int32Array) => {
  out[0] = packF(op, 0, 0, 0, 1);
  out[1] = i;
};
const fmt = (print: (i: number, c: PrintContext) => string): Format32 => ({
  decode: fpDecode,
  print,
});

/** `fd, fs1, fs2`. */
export const FR: Format32 = fmt((i, c) =>
  `${c.f(rdOf(i))}, ${c.f(rs1Of(i))}, ${c.f(rs2Of(i))}`
);
/** `fd, fs1, fs2[, rm]`. */
export const FR_RM: Format32 = fmt((i, c) =>
  `${c.f(rdOf(i))}, ${c.f(rs1Of(i))}, ${c.f(rs2Of(i))}${rmSuffix(i)}`
);
/** `fd, fs1, fs2, fs3[, rm]`. */
export const FR4: Format32 = fmt((i, c) =>
  `${c.f(rdOf(i))}, ${c.f(rs1Of(i))}, ${c.f(rs2Of(i))}, ${c.f(i >>> 27)}${
    rmSuffix(i)
  }`
);
/** `fd, fs1`. */
export const F1: Format32 = fmt((i, c) => `${c.f(rdOf(i))}, ${c.f(rs1Of(i))}`);
/** `fd, fs1[, rm]`. */
export const F1_RM: Format32 = fmt((i, c) =>
  `${c.f(rdOf(i))}, ${c.f(rs1Of(i))}${rmSuffix(i)}`
);
/** `fd, rs1`. */
export const FX: Format32 = fmt((i, c) => `${c.f(rdOf(i))}, ${c.x(rs1Of(i))}`);
/** `fd, rs1[, rm]`. */
export const FX_RM: Format32 = fmt((i, c) =>
  `${c.f(rdOf(i))}, ${c.x(rs1Of(i))}${rmSuffix(i)}`
);
/** `rd, fs1`. */
export const XF: Format32 = fmt((i, c) => `${c.x(rdOf(i))}, ${c.f(rs1Of(i))}`);
/** `rd, fs1[, rm]`. */
export const XF_RM: Format32 = fmt((i, c) =>
  `${c.x(rdOf(i))}, ${c.f(rs1Of(i))}${rmSuffix(i)}`
);
/** `rd, fs1, fs2`. */
export const FCMP: Format32 = fmt((i, c) =>
  `${c.x(rdOf(i))}, ${c.f(rs1Of(i))}, ${c.f(rs2Of(i))}`
);

/** FP load: `fd, imm(rs1)`. */
export const FLOAD: Format32 = {
  decode: (op, i, out) => {
    out[0] = packF(op, rdOf(i), rs1Of(i), 0, 1);
    out[1] = immI(i);
  },
  print: (i, c) => `${c.f(rdOf(i))}, ${immI(i)}(${c.x(rs1Of(i))})`,
};

/** FP store: `fs2, imm(rs1)`. */
export const FSTORE: Format32 = {
  decode: STORE.decode,
  print: (i, c) => `${c.f(rs2Of(i))}, ${immS(i)}(${c.x(rs1Of(i))})`,
};

// ---------------------------------------------------------------------------
// Compressed fields

/** Register x8..x15 from a 3-bit field at bits 4..2. */
export const cRd3 = (i: number): number => 8 + ((i >>> 2) & 7);
/** Register x8..x15 from a 3-bit field at bits 9..7. */
export const cRs1_3 = (i: number): number => 8 + ((i >>> 7) & 7);
/** The full `rd`/`rs1` field, bits 11..7. */
export const cRd = (i: number): number => (i >>> 7) & 31;
/** The full `rs2` field, bits 6..2. */
export const cRs2 = (i: number): number => (i >>> 2) & 31;
/** CI-format signed 6-bit immediate. */
export const cImm6 = (i: number): number =>
  ((((i >>> 12) & 1) << 31) >> 26) | ((i >>> 2) & 31);
/** CI-format 6-bit shift amount. */
export const cShamt = (i: number): number =>
  (((i >>> 12) & 1) << 5) | ((i >>> 2) & 31);
/** CL/CS word offset. */
export const cOffW = (i: number): number =>
  (((i >>> 10) & 7) << 3) | (((i >>> 6) & 1) << 2) | (((i >>> 5) & 1) << 6);
/** CL/CS doubleword offset. */
export const cOffD = (i: number): number =>
  (((i >>> 10) & 7) << 3) | (((i >>> 5) & 3) << 6);
/** CJ jump offset. */
export const cJ = (i: number): number =>
  ((((i >>> 12) & 1) << 31) >> 20) | (((i >>> 8) & 1) << 10) |
  (((i >>> 9) & 3) << 8) | (((i >>> 6) & 1) << 7) | (((i >>> 7) & 1) << 6) |
  (((i >>> 2) & 1) << 5) | (((i >>> 11) & 1) << 4) | (((i >>> 3) & 7) << 1);
/** CB branch offset. */
export const cB = (i: number): number =>
  ((((i >>> 12) & 1) << 31) >> 23) | (((i >>> 5) & 3) << 6) |
  (((i >>> 2) & 1) << 5) | (((i >>> 10) & 3) << 3) | (((i >>> 3) & 3) << 1);
/** `c.lwsp` offset. */
export const cLwsp = (i: number): number =>
  (((i >>> 12) & 1) << 5) | (((i >>> 4) & 7) << 2) | (((i >>> 2) & 3) << 6);
/** `c.ldsp`/`c.fldsp` offset. */
export const cLdsp = (i: number): number =>
  (((i >>> 12) & 1) << 5) | (((i >>> 5) & 3) << 3) | (((i >>> 2) & 7) << 6);
/** `c.swsp` offset. */
export const cSwsp = (i: number): number =>
  (((i >>> 9) & 0xf) << 2) | (((i >>> 7) & 3) << 6);
/** `c.sdsp`/`c.fsdsp` offset. */
export const cSdsp = (i: number): number =>
  (((i >>> 10) & 7) << 3) | (((i >>> 7) & 7) << 6);

/** An expansion with an integer rd. */
export function ex(
  op: string,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): Expanded {
  return { op, rd, rs1, rs2, imm };
}

/** An expansion whose rd is an FP register or none. */
export function exF(
  op: string,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): Expanded {
  return { op, rd, rs1, rs2, imm, fpRd: true };
}
