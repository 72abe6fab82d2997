// Internal: the WebAssembly translator. Hot blocks of a guest page (found
// and shaped as for core/_block.ts) become a WebAssembly module, with one
// function per region: the blocks of a loop (a strongly connected component
// of the page's blocks, see `wasmRegions`), or a single block. A region
// loads the registers its blocks name from the hart into i64 locals once,
// dispatches on the page offset to the block there, and runs from block to
// block inside the function (a jump to a later block of the region is a
// `br`, to an earlier one a `br` round the dispatch loop) while the budget
// lasts; a jump anywhere else stores the registers it wrote and goes on
// with a tail call: straight (`return_call`) to the region of the same
// module that has the block there, or through the page's table
// (`return_call_indirect` on the slot) to the region of another module, or
// back to the interpreter (an offset with no block, where the table's entry
// returns; a jump out of the page; a TLB miss; a budget too small for the
// next whole block). A page that gains hot blocks gets one more module,
// with the new blocks and the old ones whose region they join.
//
// A module imports guest RAM (memory 0, the bus's shared
// `WebAssembly.Memory`), the hart's memory (memory 1: the state of
// core/hart_state.ts, with the integer registers as little-endian i64 at
// `OFF_X`, the pc at `OFF_WORDS`, and the load and store TLBs at
// `TLB_OFF`), for the counting loop's translation the count memory (memory
// 2), the page's table, and `inv`, the hart's function that a translated
// store to a page holding decoded code calls (see `access`).
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
  "i32.le_s": 0x4c,
  "i32.ge_s": 0x4e,
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

const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0b;
const UNREACHABLE = 0x00;
const BR = 0x0c;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_CONST = 0x41, I64_CONST = 0x42;
const VOID = 0x40, T_I32 = 0x7f, T_I64 = 0x7e;
const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_STORE = 0x36, I64_STORE = 0x37;

// Locals of a region's function: the parameters, then i32 scratch, then i64
// scratch, then the registers its blocks name (see `REGS`).
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
  /** Make room for `k` more bytes. */
  #room(k: number): void {
    if (this.#n + k <= this.#buf.length) return;
    const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#n + k));
    bigger.set(this.#buf);
    this.#buf = bigger;
  }
  push(x: number): void {
    if (this.#n === this.#buf.length) this.#room(1);
    this.#buf[this.#n++] = x;
  }
  /** Append one to four bytes (no rest array: this runs per opcode). */
  u8(a: number, b = -1, c = -1, d = -1): this {
    this.push(a);
    if (b >= 0) this.push(b);
    if (c >= 0) this.push(c);
    if (d >= 0) this.push(d);
    return this;
  }
  /** Append `v`'s bytes. */
  append(v: Uint8Array): this {
    this.#room(v.length);
    this.#buf.set(v, this.#n);
    this.#n += v.length;
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
const I64_MIN = new Uint8Array([
  0x80,
  0x80,
  0x80,
  0x80,
  0x80,
  0x80,
  0x80,
  0x80,
  0x80,
  0x7f,
]);

// ---- macros: RISC-V arithmetic that WebAssembly lacks or traps on -------

const T0 = L_T, T1 = L_T + 1, T2 = L_T + 2, T3 = L_T + 3, T4 = L_T + 4;
const T5 = L_T + 5;

/** mulhu of the two values on the stack (T0..T4 are free). */
function mulhu(e: Bytes): void {
  // a = T0, b = T1; 32-bit halves; partial products.
  e.set(T1).set(T0);
  // ll = aL*bL (T2), lh = aL*bH (T3), hl = aH*bL (T4)
  const low = (l: number) => e.get(l).op("i32.wrap_i64").op("i64.extend_i32_u"); // zero-extended
  const aL = () => low(T0);
  const bL = () => low(T1);
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
  low(T3).op("i64.add");
  low(T4).op("i64.add");
  e.i64(32).op("i64.shr_u").op("i64.add");
}

/**
 * RISC-V's division or remainder of the two values on the stack, a and b,
 * by `op`: an i64 op, or with `w` an i32 op on their low halves, the result
 * sign-extended. By zero it gives `zero` (-1 or a); with `overflow` (a
 * signed division), MIN / -1 gives a (MIN), where WebAssembly traps.
 */
function divide(
  e: Bytes,
  w: boolean,
  op: string,
  zero: -1 | "a",
  overflow = false,
): void {
  const [A, B, T] = w ? [L_W0, L_W1, T_I32] : [T0, T1, T_I64];
  const minus1 = () => w ? e.i32(-1) : e.i64(-1);
  const eq = w ? "i32.eq" : "i64.eq";
  if (w) e.op("i32.wrap_i64").set(B).op("i32.wrap_i64").set(A);
  else e.set(B).set(A);
  e.get(B).op(w ? "i32.eqz" : "i64.eqz").u8(IF, T);
  if (zero === "a") e.get(A);
  else minus1();
  e.u8(ELSE);
  if (overflow) {
    e.get(A);
    if (w) e.i32(-0x80000000);
    else e.u8(I64_CONST).append(I64_MIN);
    e.op(eq).get(B);
    minus1().op(eq).op("i32.and").u8(IF, T).get(A).u8(ELSE);
  }
  e.get(A).get(B).op(op).u8(END);
  if (overflow) e.u8(END);
  if (w) e.op("i64.extend_i32_s");
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
  "rv.div": (e) => divide(e, false, "i64.div_s", -1, true),
  "rv.divu": (e) => divide(e, false, "i64.div_u", -1),
  // (rem_s gives 0 for MIN % -1, as RISC-V does: no overflow case)
  "rv.rem": (e) => divide(e, false, "i64.rem_s", "a"),
  "rv.remu": (e) => divide(e, false, "i64.rem_u", "a"),
  "rv.divw": (e) => divide(e, true, "i32.div_s", -1, true),
  "rv.divuw": (e) => divide(e, true, "i32.div_u", -1),
  "rv.remw": (e) => divide(e, true, "i32.rem_s", "a"),
  "rv.remuw": (e) => divide(e, true, "i32.rem_u", "a"),
};

/** Emit op `def`'s `wasm` program for instruction `n`. */
function semantics(e: Bytes, program: string, n: Insn): void {
  for (const tok of tokens(program)) {
    if (typeof tok === "number") e.i64(tok);
    else if (tok === "a") e.get(reg(n.a));
    else if (tok === "b") e.get(reg(n.b));
    else if (tok === "i") e.i64(n.imm);
    else if (tok === "i32") e.i32(n.imm);
    else if (tok === "pc") e.get(L_VB).i64(n.off).op("i64.add");
    else if (MACROS[tok] !== undefined) MACROS[tok]!(e);
    else e.op(tok);
  }
}

// Programs split into words (numbers parsed), once each.
const TOKENS = new Map<string, (string | number)[]>();
function tokens(program: string): (string | number)[] {
  let t = TOKENS.get(program);
  if (t === undefined) {
    t = program.split(" ").filter((w) => w !== "")
      .map((w) => /^-?\d+$/.test(w) ? Number(w) : w);
    TOKENS.set(program, t);
  }
  return t;
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

/**
 * Leave with `k` more instructions done, at page offset `off`, from inside
 * `ifs` nested ifs of the case being emitted.
 */
function exitAt(e: Bytes, k: number, off: number, ifs: number): void {
  if (k > 0) e.get(P_DONE).i32(k).op("i32.add").set(P_DONE);
  e.i32(off).set(P_OFF).u8(BR).uleb(ifs + EXIT_DEPTH);
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

/** Add the registers block `bl` reads and writes to `used` and `written`. */
function registersOf(
  bl: WasmBlockPlan,
  used: Set<number>,
  written: Set<number>,
): void {
  for (const n of bl.insns) {
    const def = OP_DEFS[n.op]!;
    const w = tokens(def.wasm ?? "");
    if (w.includes("a") || def.mem !== undefined || n.op === JALR) {
      used.add(n.a);
    }
    if (w.includes("b") || def.mem?.store) used.add(n.b);
    const writes = def.mem?.load || n.op === JAL || n.op === JALR ||
      (def.cond === undefined && def.wasm !== undefined && def.wasm !== "");
    if (writes) {
      used.add(n.d);
      written.add(n.d);
    }
  }
}

// Functions of a module: 0 the imported `inv(tlbOffset, pageOffset, size)`
// (a store hit a page with decoded code: 1 if the bytes held some), 1 `run`
// (exported), then one per region (exported as r0, r1, ...). Type 0 is
// run's (vbLo, vbHi, off, avail, cap) -> i32; type 1 is the regions', with
// `done` (instructions completed so far) added; type 2 is inv's. The page's
// table (imported) holds, at each slot where a translated block starts, the
// region that has it, and elsewhere a function that returns to the
// interpreter.
const F_INV = 0, F_RUN = 1, F_REGION0 = 2;
const RETURN_CALL_INDIRECT = 0x13, BR_TABLE = 0x0e;
/** Entries of a page's table: one per slot, and the page end's. */
export const TABLE_SIZE = 2049;

/**
 * Push a region's arguments for a tail call that goes on at page offset
 * `off`, or P_OFF's value.
 */
function regionArgs(e: Bytes, off: number | undefined): void {
  e.get(P_VBLO).get(P_VBHI);
  if (off === undefined) e.get(P_OFF);
  else e.i32(off);
  e.get(P_AVAIL).get(P_CAP).get(P_DONE);
}

/**
 * Pass the caller's arguments, with `done`, to the table's function at the
 * offset: `off`, or P_OFF's value (which must be below 4098).
 */
function tailCallAt(e: Bytes, off: number | undefined): void {
  regionArgs(e, off);
  if (off === undefined) e.get(P_OFF).i32(1).op("i32.shr_u");
  else e.i32(off >> 1);
  e.u8(RETURN_CALL_INDIRECT).uleb(1).uleb(0);
}

// The region being emitted: its blocks' cases by start offset, the case
// being emitted, and the depth from that case's own level to $exit (the
// cases after it, then $other); $top is one further.
let CASES = new Map<number, number>();
let CASE = 0;
let EXIT_DEPTH = 0;
// The module's other regions: the function index of each block start.
let REGION_OF = new Map<number, number>();
// Whether the region being emitted has $top (a loop of blocks, or several).
let HAS_TOP = true;

/**
 * Go on at page offset `off` (a constant), from inside `ifs` nested ifs of
 * the case being emitted: within the region, to the case of the block that
 * starts there (straight on to a later case, else round $top); elsewhere,
 * with the registers stored, by a tail call: to the region of the module
 * that has it, or through the page's table (whose entry may return to the
 * interpreter). With `count` (a block start, in a
 * translation for the counting loop) count a start there first.
 */
function goTo(
  e: Bytes,
  off: number,
  ifs: number,
  store: () => void,
  count = false,
): void {
  if (count) countAt(e, off);
  const j = CASES.get(off);
  if (j !== undefined && j > CASE) {
    e.u8(BR).uleb(ifs + j - CASE - 1);
  } else if (j !== undefined) {
    e.i32(off).set(P_OFF).u8(BR).uleb(ifs + EXIT_DEPTH + 1);
  } else {
    store();
    const fn = REGION_OF.get(off);
    if (fn !== undefined) {
      regionArgs(e, off);
      e.u8(RETURN_CALL).uleb(fn);
    } else if (off <= 4096) tailCallAt(e, off);
    else leave(e, off);
  }
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

/**
 * The code of block `bl`, case `CASE` of the region, which `store` leaves
 * by (storing the registers the region writes).
 */
function blockCase(f: Bytes, bl: WasmBlockPlan, store: () => void): void {
  const n = bl.insns.length;
  // Room for the whole block, and not past the cap? Else back to the
  // interpreter, here.
  f.get(P_AVAIL).get(P_DONE).op("i32.sub").i32(n).op("i32.lt_s");
  f.get(P_DONE).get(P_CAP).op("i32.gt_s").op("i32.or");
  f.u8(IF, VOID);
  store();
  leave(f, bl.start);
  f.u8(END);
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
      if (ins.op === JAL && t >= 0 && t < 4096) goTo(f, t, 0, store, true);
      else {
        // Within the page: the block there, through $top; elsewhere: set
        // pc and return.
        f.get(L_AD).i64(-4096).op("i64.and").get(L_VB).op("i64.eq");
        f.u8(IF, VOID).get(L_AD).op("i32.wrap_i64").i32(4095).op("i32.and")
          .set(P_OFF);
        countAt(f, undefined);
        if (HAS_TOP) f.u8(BR).uleb(1 + EXIT_DEPTH + 1);
        else {
          store();
          tailCallAt(f, undefined);
        }
        f.u8(END);
        store();
        f.i32(0).get(L_AD).mem(I64_STORE, 3, 1, OFF_WORDS);
        leave(f, JUMPED_OFF);
      }
    } else if (last) {
      semantics(f, def.wasm!, ins);
      f.set(L_C);
      f.get(P_DONE).i32(n).op("i32.add").set(P_DONE);
      f.get(L_C).u8(IF, VOID);
      goTo(f, ins.off + ins.imm, 1, store, true);
      f.u8(END);
      goTo(f, ins.off + ins.len, 0, store, true);
    } else if (def.mem !== undefined) {
      access(f, def.mem, ins, idx);
    } else if (def.wasm !== "") {
      semantics(f, def.wasm!, ins);
      f.set(reg(ins.d));
    }
  });
  if (!bl.branch) {
    f.get(P_DONE).i32(n).op("i32.add").set(P_DONE);
    goTo(f, bl.end, 0, store);
  }
}

/** Whether block `bl` may go straight back to its own start. */
function loops(bl: WasmBlockPlan): boolean {
  const last = bl.insns[bl.insns.length - 1]!;
  return bl.branch && last.op !== JALR && last.off + last.imm === bl.start;
}

/**
 * A region's function (see {@linkcode wasmRegions}). It loads the
 * registers they name, then dispatches on the offset to the block there;
 * a jump to a block of the region goes on to it with the registers still in
 * locals; anything else stores the registers it writes and leaves, through
 * the page's table or back to the interpreter.
 *
 *     loop $top
 *       block $exit
 *         block $other
 *           block $case[K-1] ... block $case[0]
 *             br_table (off / 2) -> $case[j] of the block there, or $other
 *           end  ;; block 0's code
 *           ...
 *         end    ;; block K-1's code
 *         end    ;; another offset: the table's function there
 *       end      ;; leave at P_OFF
 *     end
 *
 * A region of one block that does not loop is just `block $exit`, the
 * block's code, and the leaving.
 */
function regionFunction(blocks: readonly WasmBlockPlan[]): Bytes {
  const used = new Set<number>();
  const written = new Set<number>();
  for (const bl of blocks) registersOf(bl, used, written);
  const regs = [...used].sort((a, b) => a - b);
  REGS = [];
  regs.forEach((r, k) => (REGS[r] = L_REG + k));
  const f = new Bytes();
  f.uleb(2).uleb(N_I32).u8(T_I32).uleb(L_REG - L_VB + regs.length).u8(T_I64);
  // vb = vbLo | vbHi << 32
  f.get(P_VBLO).op("i64.extend_i32_u").get(P_VBHI).op("i64.extend_i32_u");
  f.i64(32).op("i64.shl").op("i64.or").set(L_VB);
  for (const r of regs) {
    f.i32(0).mem(I64_LOAD, 3, 1, OFF_X + 8 * r).set(reg(r));
  }
  const store = () => {
    for (const r of written) {
      f.i32(0).get(reg(r)).mem(I64_STORE, 3, 1, OFF_X + 8 * r);
    }
  };
  const K = blocks.length;
  CASES = new Map(blocks.map((bl, j) => [bl.start, j]));
  if (K === 1 && !loops(blocks[0]!)) {
    // One block that does not loop: no $top, no dispatch.
    HAS_TOP = false;
    CASE = 0;
    EXIT_DEPTH = 0;
    f.u8(BLOCK, VOID); // $exit
    blockCase(f, blocks[0]!, store);
    f.u8(END);
    store();
    leave(f, undefined);
    f.u8(END);
    return f;
  }
  HAS_TOP = true;
  f.u8(LOOP, VOID, BLOCK, VOID).u8(BLOCK, VOID); // $top, $exit, $other
  for (let j = 0; j < K; j++) f.u8(BLOCK, VOID);
  // The dispatch: slots from the first block's to the last's.
  const slots = blocks.map((bl) => bl.start >> 1);
  const lo = Math.min(...slots), hi = Math.max(...slots);
  f.get(P_OFF).i32(1).op("i32.shr_u").i32(lo).op("i32.sub");
  f.u8(BR_TABLE).uleb(hi - lo + 1);
  for (let s = lo; s <= hi; s++) f.uleb(CASES.get(s * 2) ?? K);
  f.uleb(K);
  blocks.forEach((bl, j) => {
    f.u8(END); // $case[j]
    CASE = j;
    EXIT_DEPTH = K - j;
    blockCase(f, bl, store);
  });
  f.u8(END); // $other
  store();
  tailCallAt(f, undefined);
  f.u8(END); // $exit
  store();
  leave(f, undefined);
  f.u8(END, UNREACHABLE); // $top, which no path leaves by its end
  f.u8(END);
  return f;
}

/**
 * Translate blocks of one page into a module, a function per region;
 * returns its bytes. The blocks must start at different offsets.
 *
 * @param regions the blocks, by region
 * @param ramPages pages (64 KiB) of the RAM memory
 * @param counts for the counting loop: the byte offset of the page's
 *   block-start counts in the counts memory (imported as memory 2)
 */
export function translatePage(
  regions: readonly (readonly WasmBlockPlan[])[],
  ramPages: number,
  counts?: number,
): Uint8Array {
  COUNTS = counts;
  REGION_OF = new Map();
  regions.forEach((blocks, k) => {
    for (const bl of blocks) REGION_OF.set(bl.start, F_REGION0 + k);
  });
  // run: the table's function at the offset, with nothing done yet.
  const run = new Bytes().uleb(0);
  run.get(P_VBLO).get(P_VBHI).get(P_OFF).get(P_AVAIL).get(P_CAP).i32(0);
  run.get(P_OFF).i32(1).op("i32.shr_u");
  run.u8(RETURN_CALL_INDIRECT).uleb(1).uleb(0).u8(END);
  return moduleBytes(
    [run, ...regions.map(regionFunction)],
    ramPages,
    counts !== undefined,
  );
}

/**
 * Group a page's translated blocks into regions, each one function: the
 * blocks of a loop belong together, so that the loop runs with its
 * registers in locals; code that runs once on its way through gets a
 * region per block, which loads and stores only its own registers. The
 * regions are the strongly connected components of the graph whose edges
 * are a block's constant successors in the page (branch targets, the
 * fall-through, a `jump` target, the next block), and for a call (`jal` or
 * `jalr` that links in ra or t0) the instruction after it, not the callee:
 * a loop that calls a function stays one region, without the function. A
 * return (`jalr` through ra or t0 that does not link) has no edges; an
 * other `jalr` (a switch's jump table) may go to each block that nothing
 * else leads to.
 *
 * @param blocks the page's translated blocks (at different starts)
 * @returns the regions, as lists of indices into `blocks`
 * @example A two-block loop and a block after it
 * ```ts
 * import { planWasmBlock, wasmRegions } from "./_wasm.ts";
 * import { decode32 } from "./isa/mod.ts";
 * const ops = new Int32Array(2050), imm = new Int32Array(2050);
 * const t = new Int32Array(2);
 * // 0: addi a0, a0, 1 ; 4: bnez a1, 12 ; 8: j 0 ; 12: addi a0, a0, 2
 * // 16: bnez a0, 20 (a block that ends at a branch, then the next)
 * [0x00150513, 0x00059463, 0xff9ff06f, 0x00250513, 0x00051263]
 *   .forEach((w, k) => {
 *     decode32(w, t);
 *     ops[k * 2] = t[0]!;
 *     imm[k * 2] = t[1]!;
 *   });
 * const blocks = [
 *   planWasmBlock(ops, imm, 0, 8, true)!,
 *   planWasmBlock(ops, imm, 8, 12, true)!,
 *   planWasmBlock(ops, imm, 12, 20, true)!,
 * ];
 * console.log(wasmRegions(blocks)); // [ [ 2 ], [ 1, 0 ] ]
 * ```
 */
export function wasmRegions(blocks: readonly WasmBlockPlan[]): number[][] {
  const at = new Map(blocks.map((bl, i) => [bl.start, i]));
  const succ: number[][] = blocks.map(() => []);
  const reached = new Set<number>(); // starts that some edge or call reaches
  const switches: number[] = []; // blocks that end with a switch's jalr
  const edge = (i: number, off: number) => {
    reached.add(off);
    const j = at.get(off);
    if (j !== undefined) succ[i]!.push(j);
  };
  blocks.forEach((bl, i) => {
    const last = bl.insns[bl.insns.length - 1]!;
    const links = last.d === 1 || last.d === 5;
    if (!bl.branch) edge(i, bl.end);
    else if (last.op === JAL) {
      if (links) {
        reached.add(last.off + last.imm);
        edge(i, bl.end);
      } else edge(i, last.off + last.imm);
    } else if (last.op === JALR) {
      if (links) edge(i, bl.end);
      else if (last.a !== 1 && last.a !== 5) switches.push(i);
    } else {
      edge(i, last.off + last.imm);
      edge(i, bl.end);
    }
  });
  for (const i of switches) {
    blocks.forEach((bl, j) => {
      if (!reached.has(bl.start)) succ[i]!.push(j);
    });
  }
  // Tarjan's algorithm.
  const index = new Array<number>(blocks.length).fill(-1);
  const low = new Array<number>(blocks.length).fill(0);
  const stack: number[] = [];
  const onStack = new Array<boolean>(blocks.length).fill(false);
  const out: number[][] = [];
  let next = 0;
  const visit = (v: number) => {
    index[v] = low[v] = next++;
    stack.push(v);
    onStack[v] = true;
    for (const w of succ[v]!) {
      if (index[w] === -1) {
        visit(w);
        low[v] = Math.min(low[v]!, low[w]!);
      } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
    }
    if (low[v] === index[v]) {
      const scc: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = false;
        scc.push(w);
      } while (w !== v);
      out.push(scc);
    }
  };
  for (let v = 0; v < blocks.length; v++) if (index[v] === -1) visit(v);
  return out;
}

/** A module's bytes from its sections, as (id, contents), in order. */
function wasmModule(sections: readonly [number, Bytes][]): Uint8Array {
  const m = new Bytes().u8(0x00, 0x61, 0x73, 0x6d).u8(0x01, 0x00, 0x00, 0x00);
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

/** The module around `bodies` (run, then the regions). */
function moduleBytes(
  bodies: readonly Bytes[],
  ramPages: number,
  counted: boolean,
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
  const exp = new Bytes().uleb(bodies.length);
  wasmName(exp, "run").u8(0x00).uleb(F_RUN);
  for (let k = 0; k + 1 < bodies.length; k++) {
    wasmName(exp, `r${k}`).u8(0x00).uleb(F_REGION0 + k);
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
  // Every entry the exit function, filled by the constructor (its second
  // argument, which the bundled type definitions do not declare).
  const Table = WebAssembly.Table as unknown as new (
    d: WebAssembly.TableDescriptor,
    value: unknown,
  ) => WebAssembly.Table;
  return new Table(
    { element: "anyfunc", initial: TABLE_SIZE, maximum: TABLE_SIZE },
    exitFn,
  );
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
 * their regions' functions in the page's table.
 *
 * @param regions the blocks (at different starts), by region
 *   ({@linkcode wasmRegions})
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
  regions: readonly (readonly WasmBlockPlan[])[],
  ram: WebAssembly.Memory,
  hart: WebAssembly.Memory,
  table: WebAssembly.Table,
  inv: (tlbOff: number, off: number, size: number) => number,
  counts?: { memory: WebAssembly.Memory; base: number },
): WasmRun {
  const bytes = translatePage(
    regions,
    ram.buffer.byteLength / 65536,
    counts?.base,
  );
  const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const m: Record<string, WebAssembly.ImportValue> = { ram, hart, table, inv };
  if (counts !== undefined) m.counts = counts.memory;
  const ex = new WebAssembly.Instance(mod, { m }).exports;
  regions.forEach((blocks, k) => {
    const region = ex[`r${k}`] as (...args: number[]) => number;
    for (const bl of blocks) table.set(bl.start >> 1, region);
  });
  return ex.run as WasmRun;
}

export { CAP as WASM_CAP };
