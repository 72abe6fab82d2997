// Internal: the WebAssembly translator. Hot blocks of a guest page (found
// and shaped as for core/_block.ts) become a WebAssembly module, with one
// function per block; a page that gains hot blocks later gets one more
// module with the new ones. A block function loads the registers it names
// from the hart into i64 locals, runs its instructions, stores the
// registers it wrote, and goes on with a tail call: straight
// (`return_call`) into the block at a constant successor that the same
// module holds, through the page's table (`return_call_indirect` on the
// slot) for a successor in another module or a `jalr` that stays in the
// page, or back to the interpreter for anything else (an offset with no
// block, where the table's entry returns; a jump out of the page; a TLB
// miss; a budget too small for the next whole block). Small functions keep
// V8's optimizing compile fast, and a loop whose blocks all sit in the
// page runs without leaving WebAssembly.
//
// A module imports guest RAM (memory 0, the bus's shared
// `WebAssembly.Memory`), the hart's memory (memory 1: the state of
// core/hart_state.ts, with the integer registers as little-endian i64 at
// `OFF_X`, the pc at `OFF_WORDS`, and the load and store TLBs at
// `TLB_OFF`), for the counting loop's translation the count memory (memory
// 2), and the page's table.
//
// The export is `run(vbLo, vbHi, off, avail, cap)`: the page's virtual
// base, the page offset to start at, how many instructions it may complete,
// and the most it may have completed before it starts another block (0:
// just the first). It returns `done * 8192 + offset`, as a JavaScript block
// does; offset `JUMPED_OFF` (4100) means the pc is already set. Each
// instruction's semantics come from its op's `wasm` program in core/isa/
// (see OpDef.wasm and docs/architecture.md); loads, stores and jumps are
// generated here.

import { OP, OP_DEFS, type OpDef } from "./isa/mod.ts";
import { OFF_WORDS, OFF_X, TLB_ENTRIES, TLB_OFF } from "./hart_state.ts";

const JAL = OP.JAL!;
const JALR = OP.JALR!;
/**
 * The offset a translation returns after a jump out of the page: it has
 * set the pc, and the interpreter re-enters there.
 */
export const JUMPED_OFF = 4100;

// Opcodes of the WebAssembly instructions that semantics may name.
const OPS: Record<string, number> = {
  "i32.eqz": 0x45,
  "i32.eq": 0x46,
  "i32.ne": 0x47,
  "i32.lt_s": 0x48,
  "i32.lt_u": 0x49,
  "i32.gt_s": 0x4a,
  "i32.ge_u": 0x4f,
  "i64.eqz": 0x50,
  "i64.eq": 0x51,
  "i64.ne": 0x52,
  "i64.lt_s": 0x53,
  "i64.lt_u": 0x54,
  "i64.ge_s": 0x59,
  "i64.ge_u": 0x5a,
  "i32.add": 0x6a,
  "i32.sub": 0x6b,
  "i32.mul": 0x6c,
  "i32.div_s": 0x6d,
  "i32.div_u": 0x6e,
  "i32.rem_s": 0x6f,
  "i32.rem_u": 0x70,
  "i32.and": 0x71,
  "i32.or": 0x72,
  "i32.xor": 0x73,
  "i32.shl": 0x74,
  "i32.shr_s": 0x75,
  "i32.shr_u": 0x76,
  "i64.add": 0x7c,
  "i64.sub": 0x7d,
  "i64.mul": 0x7e,
  "i64.div_s": 0x7f,
  "i64.div_u": 0x80,
  "i64.rem_s": 0x81,
  "i64.rem_u": 0x82,
  "i64.and": 0x83,
  "i64.or": 0x84,
  "i64.xor": 0x85,
  "i64.shl": 0x86,
  "i64.shr_s": 0x87,
  "i64.shr_u": 0x88,
  "i32.wrap_i64": 0xa7,
  "i64.extend_i32_s": 0xac,
  "i64.extend_i32_u": 0xad,
};

const BLOCK = 0x02, IF = 0x04, ELSE = 0x05, END = 0x0b;
const BR = 0x0c;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_CONST = 0x41, I64_CONST = 0x42;
const VOID = 0x40, T_I32 = 0x7f, T_I64 = 0x7e;
const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_STORE = 0x36, I64_STORE = 0x37;

// Locals of a block function: the parameters, then i32 scratch, then i64
// scratch, then the registers the block names (see `regLocals`).
const P_VBLO = 0, P_VBHI = 1, P_OFF = 2, P_AVAIL = 3, P_CAP = 4, P_DONE = 5;
const L_KEY = 6, L_E = 7, L_W0 = 8, L_W1 = 9, L_C = 10;
const N_I32 = 5; // L_KEY .. L_C
const L_VB = 11, L_AD = 12, L_T = 13; // L_T .. L_T+5: i64 temporaries
const N_TMP64 = 6;
const L_REG = L_T + N_TMP64; // the first register local
const RETURN_CALL = 0x12, RETURN = 0x0f, CALL = 0x10;

/** The most a run completes before it starts another block. */
const CAP = 262_000;

/** One instruction of a block, as decoded. */
interface Insn {
  off: number;
  len: number;
  op: number;
  d: number;
  a: number;
  b: number;
  imm: number;
}

/** A block to translate: its instructions, the last maybe a branch. */
export interface WasmBlockPlan {
  /** Page offset of the first instruction. */
  start: number;
  /** Page offset just past the last. */
  end: number;
  /** Whether the last instruction is a jump or a conditional branch. */
  branch: boolean;
  /** The instructions. */
  insns: Insn[];
}

/**
 * Whether op `def` has what the translator needs (a `wasm` program, or an
 * integer load or store with an offset).
 */
export function wasmCan(def: OpDef | undefined): boolean {
  if (def === undefined) return false;
  if (def.wasm !== undefined) return true;
  if (def.mem !== undefined) return !def.mem.fp && !def.mem.noOffset;
  return def.code === JAL || def.code === JALR;
}

/**
 * Describe the block from `start` to `end` of the page's decoded slots.
 *
 * @param ops decoded op words
 * @param imms immediates
 * @param start first instruction
 * @param end just past the last
 * @param branch whether the last is a jump or a branch
 */
export function planWasmBlock(
  ops: Int32Array,
  imms: Int32Array,
  start: number,
  end: number,
  branch: boolean,
): WasmBlockPlan | undefined {
  const insns: Insn[] = [];
  for (let off = start; off < end;) {
    const w = ops[off >> 1]!;
    const op = w & 0xff;
    if (!wasmCan(OP_DEFS[op])) return undefined;
    const len = 2 + ((w >>> 26) & 2);
    insns.push({
      off,
      len,
      op,
      d: ((w >>> 8) & 127) >> 1,
      a: ((w >>> 15) & 63) >> 1,
      b: ((w >>> 21) & 63) >> 1,
      imm: imms[off >> 1]!,
    });
    off += len;
  }
  return { start, end, branch, insns };
}

// ---- bytes ----------------------------------------------------------------

class Bytes {
  #buf = new Uint8Array(256);
  #n = 0;
  /** The bytes so far. */
  get b(): Uint8Array {
    return this.#buf.subarray(0, this.#n);
  }
  get length(): number {
    return this.#n;
  }
  push(x: number): void {
    if (this.#n === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    this.#buf[this.#n++] = x;
  }
  u8(...v: number[]): this {
    for (const x of v) this.push(x);
    return this;
  }
  /** Append `v`'s bytes (of any length: no spread). */
  append(v: Uint8Array): this {
    for (const x of v) this.push(x);
    return this;
  }
  uleb(v: number): this {
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      this.push(byte);
    } while (v !== 0);
    return this;
  }
  sleb(v: number): this {
    // v is an int32 (a 64-bit constant's sign extension is the same bytes)
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40))) {
        this.push(byte);
        return this;
      }
      this.push(byte | 0x80);
    }
  }
  get(l: number): this {
    return this.u8(GET).uleb(l);
  }
  set(l: number): this {
    return this.u8(SET).uleb(l);
  }
  tee(l: number): this {
    return this.u8(TEE).uleb(l);
  }
  i32(v: number): this {
    return this.u8(I32_CONST).sleb(v | 0);
  }
  i64(v: number): this {
    return this.u8(I64_CONST).sleb(v | 0);
  }
  /** Load or store with a memarg for memory `mem`. */
  mem(opcode: number, align: number, mem: number, offset: number): this {
    this.u8(opcode);
    if (mem === 0) this.uleb(align);
    else this.uleb(align | 0x40).uleb(mem);
    return this.uleb(offset);
  }
  op(name: string): this {
    const code = OPS[name];
    if (code === undefined) {
      throw new Error(`wasm translator: unknown instruction ${name}`);
    }
    return this.u8(code);
  }
}

/** -2^63 as an i64.const immediate. */
const I64_MIN = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f];

// ---- macros: RISC-V arithmetic that WebAssembly lacks or traps on -------

const T0 = L_T, T1 = L_T + 1, T2 = L_T + 2, T3 = L_T + 3, T4 = L_T + 4;
const T5 = L_T + 5;

/** mulhu of the two values on the stack (T0..T4 are free). */
function mulhu(e: Bytes): void {
  // a = T0, b = T1; 32-bit halves; partial products.
  e.set(T1).set(T0);
  // ll = aL*bL (T2), lh = aL*bH (T3), hl = aH*bL (T4)
  const aL = () => e.get(T0).u8(0xa7).u8(0xad); // zero-extended low half
  const bL = () => e.get(T1).u8(0xa7).u8(0xad);
  const aH = () => e.get(T0).i64(32).op("i64.shr_u");
  const bH = () => e.get(T1).i64(32).op("i64.shr_u");
  aL();
  bL();
  e.op("i64.mul").set(T2);
  aL();
  bH();
  e.op("i64.mul").set(T3);
  aH();
  bL();
  e.op("i64.mul").set(T4);
  // hh + (lh >> 32) + (hl >> 32) + (((ll >> 32) + lo(lh) + lo(hl)) >> 32)
  aH();
  bH();
  e.op("i64.mul");
  e.get(T3).i64(32).op("i64.shr_u").op("i64.add");
  e.get(T4).i64(32).op("i64.shr_u").op("i64.add");
  e.get(T2).i64(32).op("i64.shr_u");
  e.get(T3).u8(0xa7).u8(0xad).op("i64.add");
  e.get(T4).u8(0xa7).u8(0xad).op("i64.add");
  e.i64(32).op("i64.shr_u").op("i64.add");
}

const MACROS: Record<string, (e: Bytes) => void> = {
  "sext.w": (e) => e.op("i32.wrap_i64").op("i64.extend_i32_s"),
  "rv.mulhu": mulhu,
  // mulhu(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)
  "rv.mulh": (e) => {
    e.set(T5).set(L_AD);
    e.get(L_AD).get(T5);
    mulhu(e);
    e.get(L_AD).i64(63).op("i64.shr_s").get(T5).op("i64.and").op("i64.sub");
    e.get(T5).i64(63).op("i64.shr_s").get(L_AD).op("i64.and").op("i64.sub");
  },
  // mulhu(a, b) - (a < 0 ? b : 0)
  "rv.mulhsu": (e) => {
    e.set(T5).set(L_AD);
    e.get(L_AD).get(T5);
    mulhu(e);
    e.get(L_AD).i64(63).op("i64.shr_s").get(T5).op("i64.and").op("i64.sub");
  },
  // b == 0 ? -1 : a == MIN && b == -1 ? MIN : a / b
  "rv.div": (e) => {
    e.set(T1).set(T0);
    e.get(T1).op("i64.eqz").u8(IF, T_I64).i64(-1).u8(ELSE);
    e.get(T0).u8(I64_CONST, ...I64_MIN).op("i64.eq");
    e.get(T1).i64(-1).op("i64.eq").op("i32.and");
    e.u8(IF, T_I64).get(T0).u8(ELSE).get(T0).get(T1).op("i64.div_s");
    e.u8(END, END);
  },
  "rv.divu": (e) => {
    e.set(T1).set(T0);
    e.get(T1).op("i64.eqz").u8(IF, T_I64).i64(-1).u8(ELSE);
    e.get(T0).get(T1).op("i64.div_u").u8(END);
  },
  // b == 0 ? a : a % b (rem_s gives 0 for MIN % -1, as RISC-V does)
  "rv.rem": (e) => {
    e.set(T1).set(T0);
    e.get(T1).op("i64.eqz").u8(IF, T_I64).get(T0).u8(ELSE);
    e.get(T0).get(T1).op("i64.rem_s").u8(END);
  },
  "rv.remu": (e) => {
    e.set(T1).set(T0);
    e.get(T1).op("i64.eqz").u8(IF, T_I64).get(T0).u8(ELSE);
    e.get(T0).get(T1).op("i64.rem_u").u8(END);
  },
  // The W forms on the low 32 bits, results sign-extended.
  "rv.divw": (e) => {
    e.op("i32.wrap_i64").set(L_W1).op("i32.wrap_i64").set(L_W0);
    e.get(L_W1).op("i32.eqz").u8(IF, T_I32).i32(-1).u8(ELSE);
    e.get(L_W0).i32(-0x80000000).op("i32.eq");
    e.get(L_W1).i32(-1).op("i32.eq").op("i32.and");
    e.u8(IF, T_I32).get(L_W0).u8(ELSE).get(L_W0).get(L_W1).op("i32.div_s");
    e.u8(END, END).op("i64.extend_i32_s");
  },
  "rv.divuw": (e) => {
    e.op("i32.wrap_i64").set(L_W1).op("i32.wrap_i64").set(L_W0);
    e.get(L_W1).op("i32.eqz").u8(IF, T_I32).i32(-1).u8(ELSE);
    e.get(L_W0).get(L_W1).op("i32.div_u").u8(END).op("i64.extend_i32_s");
  },
  "rv.remw": (e) => {
    e.op("i32.wrap_i64").set(L_W1).op("i32.wrap_i64").set(L_W0);
    e.get(L_W1).op("i32.eqz").u8(IF, T_I32).get(L_W0).u8(ELSE);
    e.get(L_W0).get(L_W1).op("i32.rem_s").u8(END).op("i64.extend_i32_s");
  },
  "rv.remuw": (e) => {
    e.op("i32.wrap_i64").set(L_W1).op("i32.wrap_i64").set(L_W0);
    e.get(L_W1).op("i32.eqz").u8(IF, T_I32).get(L_W0).u8(ELSE);
    e.get(L_W0).get(L_W1).op("i32.rem_u").u8(END).op("i64.extend_i32_s");
  },
};

/** Emit op `def`'s `wasm` program for instruction `n`. */
function semantics(e: Bytes, program: string, n: Insn): void {
  for (const tok of program.split(" ")) {
    if (tok === "") continue;
    if (tok === "a") e.get(reg(n.a));
    else if (tok === "b") e.get(reg(n.b));
    else if (tok === "i") e.i64(n.imm);
    else if (tok === "i32") e.i32(n.imm);
    else if (tok === "pc") e.get(L_VB).i64(n.off).op("i64.add");
    else if (/^-?\d+$/.test(tok)) e.i64(Number(tok));
    else if (MACROS[tok] !== undefined) MACROS[tok]!(e);
    else e.op(tok);
  }
}

// Loads: [opcode, log2 alignment] by size and signedness.
const LOADS: Record<string, [number, number]> = {
  "1s": [0x30, 0],
  "1u": [0x31, 0],
  "2s": [0x32, 1],
  "2u": [0x33, 1],
  "4s": [0x34, 2],
  "4u": [0x35, 2],
  "8s": [I64_LOAD, 3],
};
const STORES: Record<number, [number, number]> = {
  1: [0x3c, 0],
  2: [0x3d, 1],
  4: [0x3e, 2],
  8: [I64_STORE, 3],
};

// TLB arrays in the hart's memory (see Cpu): load tags, load offsets,
// store tags, store offsets; TLB_ENTRIES int32 each.
const RT = TLB_OFF, RO = TLB_OFF + TLB_ENTRIES * 4;
const WT = TLB_OFF + TLB_ENTRIES * 8, WO = TLB_OFF + TLB_ENTRIES * 12;

/**
 * A memory access: the TLB test (a miss, a misaligned access or an address
 * that is not a sign-extended 44-bit one exits before the instruction with
 * `k` instructions done), then the access. A store to a page that holds
 * decoded code (bit 0 of its TLB offset) then tells the hart (the imported
 * `inv`, which forgets what the bytes held), and if they held decoded code
 * leaves after the store: this block, or one it goes on to, may be what
 * changed.
 */
function access(
  e: Bytes,
  m: NonNullable<OpDef["mem"]>,
  n: Insn,
  k: number,
): void {
  e.get(reg(n.a)).i64(n.imm).op("i64.add").tee(L_AD);
  e.i64(12).op("i64.shr_u").op("i32.wrap_i64").tee(L_KEY);
  e.i32(255).op("i32.and").i32(2).op("i32.shl").tee(L_E);
  e.mem(I32_LOAD, 2, 1, m.load ? RT : WT).get(L_KEY).op("i32.ne");
  e.get(L_AD).i64(20).op("i64.shl").i64(20).op("i64.shr_s").get(L_AD)
    .op("i64.ne").op("i32.or");
  if (m.size > 1) {
    e.get(L_AD).op("i32.wrap_i64").i32(m.size - 1).op("i32.and").op("i32.or");
  }
  e.u8(IF, VOID);
  exitAt(e, k, n.off, 1); // out of this if, to $exit
  e.u8(END);
  if (m.load) e.get(L_E).mem(I32_LOAD, 2, 1, RO);
  else e.get(L_E).mem(I32_LOAD, 2, 1, WO).tee(L_W0).i32(-2).op("i32.and");
  e.get(L_AD).op("i32.wrap_i64").i32(4095).op("i32.and").op("i32.add");
  if (m.load) {
    const [opc, al] =
      LOADS[`${m.size}${m.signed || m.size === 8 ? "s" : "u"}`]!;
    e.mem(opc, al, 0, 0).set(reg(n.d));
    return;
  }
  const [opc, al] = STORES[m.size]!;
  e.get(reg(n.b)).mem(opc, al, 0, 0);
  e.get(L_W0).i32(1).op("i32.and").u8(IF, VOID);
  e.get(L_W0).get(L_AD).op("i32.wrap_i64").i32(4095).op("i32.and")
    .i32(m.size).u8(CALL).uleb(F_INV);
  e.u8(IF, VOID);
  exitAt(e, k + 1, n.off + n.len, 2); // out of both ifs, to $exit
  e.u8(END, END);
}

/**
 * Return to the interpreter: `done * 8192` plus the page offset `off`, or
 * P_OFF's value.
 */
function leave(e: Bytes, off: number | undefined): void {
  e.get(P_DONE).i32(13).op("i32.shl");
  if (off === undefined) e.get(P_OFF);
  else e.i32(off);
  e.op("i32.add").u8(RETURN);
}

/** Leave with `k` more instructions done, at page offset `off`. */
function exitAt(e: Bytes, k: number, off: number, depth: number): void {
  if (k > 0) e.get(P_DONE).i32(k).op("i32.add").set(P_DONE);
  e.i32(off).set(P_OFF).u8(BR).uleb(depth);
}

// The register locals of the function being emitted: register r lives in
// local REGS[r] (x0 reads as the zero loaded from the hart; 32 is the slot
// where writes to x0 land, kept as the interpreter keeps it, since the
// state hashes cover it).
let REGS: number[] = [];
const reg = (r: number): number => {
  const l = REGS[r];
  if (l === undefined) throw new Error(`wasm translator: x${r} has no local`);
  return l;
};

/** Which registers block `bl` reads and writes. */
function registersOf(bl: WasmBlockPlan): { used: number[]; written: number[] } {
  const used = new Set<number>();
  const written = new Set<number>();
  for (const n of bl.insns) {
    const def = OP_DEFS[n.op]!;
    const w = def.wasm ?? "";
    if (/\ba\b/.test(w) || def.mem !== undefined || n.op === JALR) {
      used.add(n.a);
    }
    if (/\bb\b/.test(w) || def.mem?.store) used.add(n.b);
    const writes = def.mem?.load || n.op === JAL || n.op === JALR ||
      (def.cond === undefined && def.wasm !== undefined && def.wasm !== "");
    if (writes) {
      used.add(n.d);
      written.add(n.d);
    }
  }
  return { used: [...used].sort((a, b) => a - b), written: [...written] };
}

// Functions of a module: 0 the imported `inv(tlbOffset, pageOffset, size)`
// (a store hit a page with decoded code: 1 if the bytes held some), 1 `run`
// (exported), then one per block (exported as b0, b1, ...). Type 0 is run's
// (vbLo, vbHi, off, avail, cap) -> i32; type 1 is the blocks', with `done`
// (instructions completed so far) added; type 2 is inv's.
// The page's table (imported) holds, at each slot where a translated block
// starts, its function (from whichever of the page's modules made it), and
// elsewhere a function that returns to the interpreter.
const F_INV = 0, F_RUN = 1, F_BLOCK0 = 2;
const RETURN_CALL_INDIRECT = 0x13;
/** Entries of a page's table: one per slot, and the page end's. */
export const TABLE_SIZE = 2049;

/** Pass the caller's arguments, with offset `off` and `done`, to `fn`. */
function tailCall(e: Bytes, fn: number, off: number): void {
  e.get(P_VBLO).get(P_VBHI).i32(off).get(P_AVAIL).get(P_CAP).get(P_DONE);
  e.u8(RETURN_CALL).uleb(fn);
}

/**
 * Pass the caller's arguments, with `done`, to the table's function at the
 * offset: `off`, or P_OFF's value (which must be below 4098).
 */
function tailCallAt(e: Bytes, off: number | undefined): void {
  e.get(P_VBLO).get(P_VBHI);
  if (off === undefined) e.get(P_OFF);
  else e.i32(off);
  e.get(P_AVAIL).get(P_CAP).get(P_DONE);
  if (off === undefined) e.get(P_OFF).i32(1).op("i32.shr_u");
  else e.i32(off >> 1);
  e.u8(RETURN_CALL_INDIRECT).uleb(1).uleb(0);
}

/**
 * Go on at page offset `off` (a constant): straight into the block that
 * starts there (in this module, or through the page's table, whose entry
 * may return to the interpreter). With `count` (a block start, in
 * a translation for the counting loop) count a start there first.
 */
function goTo(
  e: Bytes,
  off: number,
  index: Map<number, number>,
  count = false,
): void {
  if (count) countAt(e, off);
  const j = index.get(off);
  if (j !== undefined) tailCall(e, F_BLOCK0 + j, off);
  else if (off <= 4096) tailCallAt(e, off);
  else leave(e, off);
}

/**
 * In a translation for the counting loop, count a block start at page
 * offset `off`, or P_OFF's value (nothing otherwise).
 */
function countAt(e: Bytes, off: number | undefined): void {
  if (COUNTS === undefined) return;
  // The address: 0 plus the offset in the memarg, or (P_OFF / 2) * 4.
  const at = off === undefined ? COUNTS : COUNTS + 2 * off;
  if (off === undefined) e.get(P_OFF).i32(1).op("i32.shl").tee(L_E).get(L_E);
  else e.i32(0).i32(0);
  e.mem(I32_LOAD, 2, 2, at).i32(1).op("i32.add").mem(I32_STORE, 2, 2, at);
}

// Where the counting loop's block-start counts of the page being translated
// start in memory 2 (one u32 per slot), or undefined: no counting.
let COUNTS: number | undefined;

/** The body of block `bl`'s function. */
function blockFunction(
  bl: WasmBlockPlan,
  index: Map<number, number>,
): Bytes {
  const { used, written } = registersOf(bl);
  REGS = [];
  used.forEach((r, k) => (REGS[r] = L_REG + k));
  const f = new Bytes();
  f.uleb(2).uleb(N_I32).u8(T_I32).uleb(L_REG - L_VB + used.length).u8(T_I64);
  const n = bl.insns.length;
  // Room for the whole block, and not past the cap? Else back to the
  // interpreter, here.
  f.get(P_AVAIL).get(P_DONE).op("i32.sub").i32(n).op("i32.lt_s");
  f.get(P_DONE).get(P_CAP).op("i32.gt_s").op("i32.or");
  f.u8(IF, VOID);
  leave(f, bl.start);
  f.u8(END);
  // vb = vbLo | vbHi << 32
  f.get(P_VBLO).op("i64.extend_i32_u").get(P_VBHI).op("i64.extend_i32_u");
  f.i64(32).op("i64.shl").op("i64.or").set(L_VB);
  for (const r of used) {
    f.i32(0).mem(I64_LOAD, 3, 1, OFF_X + 8 * r).set(reg(r));
  }
  const store = () => {
    for (const r of written) {
      f.i32(0).get(reg(r)).mem(I64_STORE, 3, 1, OFF_X + 8 * r);
    }
  };
  f.u8(BLOCK, VOID); // $exit: leave before an instruction (a TLB miss)
  bl.insns.forEach((ins, idx) => {
    const def = OP_DEFS[ins.op]!;
    const last = idx === n - 1 && bl.branch;
    if (last && (ins.op === JAL || ins.op === JALR)) {
      // The target first (rd may be rs1), then the link.
      const t = ins.off + ins.imm;
      if (ins.op === JAL) f.get(L_VB).i64(t).op("i64.add").set(L_AD);
      else {
        f.get(reg(ins.a)).i64(ins.imm).op("i64.add").i64(-2).op("i64.and")
          .set(L_AD);
      }
      f.get(L_VB).i64(ins.off + ins.len).op("i64.add").set(reg(ins.d));
      f.get(P_DONE).i32(n).op("i32.add").set(P_DONE);
      store();
      if (ins.op === JAL && t >= 0 && t < 4096) goTo(f, t, index, true);
      else {
        // Within the page: the block there; elsewhere: set pc and return.
        f.get(L_AD).i64(-4096).op("i64.and").get(L_VB).op("i64.eq");
        f.u8(IF, VOID).get(L_AD).op("i32.wrap_i64").i32(4095).op("i32.and")
          .set(P_OFF);
        countAt(f, undefined);
        tailCallAt(f, undefined);
        f.u8(END);
        f.i32(0).get(L_AD).mem(I64_STORE, 3, 1, OFF_WORDS);
        leave(f, JUMPED_OFF);
      }
    } else if (last) {
      semantics(f, def.wasm!, ins);
      f.set(L_C);
      f.get(P_DONE).i32(n).op("i32.add").set(P_DONE);
      store();
      f.get(L_C).u8(IF, VOID);
      goTo(f, ins.off + ins.imm, index, true);
      f.u8(END);
      goTo(f, ins.off + ins.len, index, true);
    } else if (def.mem !== undefined) {
      access(f, def.mem, ins, idx);
    } else if (def.wasm !== "") {
      semantics(f, def.wasm!, ins);
      f.set(reg(ins.d));
    }
  });
  if (!bl.branch) {
    f.get(P_DONE).i32(n).op("i32.add").set(P_DONE);
    store();
    goTo(f, bl.end, index);
  }
  f.u8(END); // $exit
  store();
  leave(f, undefined);
  f.u8(END);
  return f;
}

/**
 * Translate blocks of one page into a module; returns its bytes. The blocks
 * must start at different offsets.
 *
 * @param blocks the blocks
 * @param ramPages pages (64 KiB) of the RAM memory
 * @param counts for the counting loop: the byte offset of the page's
 *   block-start counts in the counts memory (imported as memory 2)
 */
export function translatePage(
  blocks: readonly WasmBlockPlan[],
  ramPages: number,
  counts?: number,
): Uint8Array {
  COUNTS = counts;
  const index = new Map(blocks.map((bl, j) => [bl.start, j]));
  const bodies: Bytes[] = [];
  // run: the table's function at the offset, with nothing done yet.
  const run = new Bytes().uleb(0);
  run.get(P_VBLO).get(P_VBHI).get(P_OFF).get(P_AVAIL).get(P_CAP).i32(0);
  run.get(P_OFF).i32(1).op("i32.shr_u");
  run.u8(RETURN_CALL_INDIRECT).uleb(1).uleb(0).u8(END);
  bodies.push(run);
  for (const bl of blocks) bodies.push(blockFunction(bl, index));
  return moduleBytes(bodies, ramPages, counts !== undefined, blocks.length);
}

/** A module's bytes from its sections, as (id, contents), in order. */
function wasmModule(sections: readonly [number, Bytes][]): Uint8Array {
  const m = new Bytes().u8(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  for (const [id, body] of sections) {
    m.u8(id).uleb(body.length).append(body.b);
  }
  return m.b.slice();
}

/** Append a function type of `params` i32s to one i32 to `b`. */
function i32FuncType(b: Bytes, params: number): Bytes {
  b.u8(0x60).uleb(params);
  for (let k = 0; k < params; k++) b.u8(T_I32);
  return b.uleb(1).u8(T_I32);
}

/** Append a name (ASCII) to `b`. */
function wasmName(b: Bytes, s: string): Bytes {
  b.uleb(s.length);
  for (let k = 0; k < s.length; k++) b.u8(s.charCodeAt(k));
  return b;
}

/** The module around `bodies` (run, then the blocks). */
function moduleBytes(
  bodies: readonly Bytes[],
  ramPages: number,
  counted: boolean,
  nBlocks: number,
): Uint8Array {
  const types = new Bytes().uleb(3);
  i32FuncType(types, 5);
  i32FuncType(types, 6);
  i32FuncType(types, 3);
  const imp = new Bytes().uleb(counted ? 5 : 4);
  const mem = (n: string) => wasmName(wasmName(imp, "m"), n);
  mem("inv").u8(0x00).uleb(2);
  mem("ram").u8(0x02, 0x03).uleb(ramPages).uleb(ramPages);
  mem("hart").u8(0x02, 0x00).uleb(1);
  if (counted) mem("counts").u8(0x02, 0x03).uleb(1).uleb(COUNT_PAGES);
  mem("table").u8(0x01, 0x70, 0x00).uleb(TABLE_SIZE);
  const funcs = new Bytes().uleb(bodies.length).uleb(0);
  for (let j = 1; j < bodies.length; j++) funcs.uleb(1);
  const exp = new Bytes().uleb(1 + nBlocks);
  wasmName(exp, "run").u8(0x00).uleb(F_RUN);
  for (let j = 0; j < nBlocks; j++) {
    wasmName(exp, `b${j}`).u8(0x00).uleb(F_BLOCK0 + j);
  }
  const code = new Bytes().uleb(bodies.length);
  for (const b of bodies) code.uleb(b.length).append(b.b);
  return wasmModule([[1, types], [2, imp], [3, funcs], [7, exp], [10, code]]);
}

// The one function (of the blocks' type) that a page's table holds where
// no translated block starts: it returns to the interpreter at the offset
// it is given.
let exitFn: ((...args: number[]) => number) | undefined;

/**
 * A new table for a page's translations, every entry returning to the
 * interpreter.
 */
export function newPageTable(): WebAssembly.Table {
  if (exitFn === undefined) {
    const body = new Bytes().uleb(0);
    leave(body, undefined);
    body.u8(END);
    const bytes = wasmModule([
      [1, i32FuncType(new Bytes().uleb(1), 6)],
      [3, new Bytes().uleb(1).uleb(0)],
      [7, wasmName(new Bytes().uleb(1), "x").u8(0x00).uleb(0)],
      [10, new Bytes().uleb(1).uleb(body.length).append(body.b)],
    ]);
    const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    exitFn = new WebAssembly.Instance(mod, {}).exports.x as typeof exitFn;
  }
  const t = new WebAssembly.Table({
    element: "anyfunc",
    initial: TABLE_SIZE,
    maximum: TABLE_SIZE,
  });
  for (let i = 0; i < TABLE_SIZE; i++) t.set(i, exitFn!);
  return t;
}

/** A translated page's entry point. */
export type WasmRun = (
  vbLo: number,
  vbHi: number,
  off: number,
  avail: number,
  cap: number,
) => number;

/**
 * The memory of the counting loop's block-start counts (see
 * `translatePage`): shared, so that its buffer never moves.
 */
export const COUNT_PAGES = 2048;

/**
 * Compile and instantiate a translation of some of a page's blocks, and put
 * their functions in the page's table.
 *
 * @param blocks the blocks (at different starts)
 * @param ram the RAM memory
 * @param hart the hart's memory
 * @param table the page's table (see {@linkcode newPageTable})
 * @param inv a store hit a page that holds decoded code: forget what the
 *   bytes held (the page by its TLB offset, `off` and `size` in it), and
 *   return 1 if that was decoded code
 * @param counts for the counting loop: the counts memory (of
 *   {@linkcode COUNT_PAGES} pages) and the page's counts' byte offset in it
 * @returns an entry point (any module's `run` enters any of the page's
 *   blocks)
 */
export function instantiatePage(
  blocks: readonly WasmBlockPlan[],
  ram: WebAssembly.Memory,
  hart: WebAssembly.Memory,
  table: WebAssembly.Table,
  inv: (tlbOff: number, off: number, size: number) => number,
  counts?: { memory: WebAssembly.Memory; base: number },
): WasmRun {
  const bytes = translatePage(
    blocks,
    ram.buffer.byteLength / 65536,
    counts?.base,
  );
  const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const m: Record<string, WebAssembly.ImportValue> = { ram, hart, table, inv };
  if (counts !== undefined) m.counts = counts.memory;
  const ex = new WebAssembly.Instance(mod, { m }).exports;
  blocks.forEach((bl, j) =>
    table.set(bl.start >> 1, ex[`b${j}`] as (...args: number[]) => number)
  );
  return ex.run as WasmRun;
}

export { CAP as WASM_CAP };
