// Internal: the block compiler. A hot run of straight-line integer ALU
// instructions, optionally ended by a conditional branch whose target stays
// in the page, becomes one JavaScript function (made with `new Function`)
// that updates the register pairs exactly as the interpreter's cases do, and
// returns the page offset to continue at. None of the compiled ops can trap,
// so a block always runs to its end: the interpreter enters a block only
// when the instruction budget covers all of it, which keeps icount exact.
//
// The code comes from the instruction table (core/isa/): each op's `exec`
// semantics with its operands as constants, its `mem` access as an inline
// TLB fast path, and a branch's `cond`. tests/block_test.ts runs guests
// with and without blocks and requires identical results.

import {
  div32,
  div64,
  divu32,
  divu64,
  mul64,
  mulh64,
  mulhsu64,
  mulhu64,
  R,
} from "./_alu64.ts";
import { OP, OP_DEFS, type OpDef } from "./isa/mod.ts";
import type { WasmRun } from "./_wasm.ts";

const JAL = OP.JAL!;
const JALR = OP.JALR!;

const HELPERS = {
  R,
  mul64,
  mulh64,
  mulhsu64,
  mulhu64,
  div64,
  divu64,
  div32,
  divu32,
};

/** What a block function needs besides the registers. */
export type BlockFn = (
  x: Int32Array,
  vbLo: number,
  vbHi: number,
  m8: Uint8Array,
  m16: Uint16Array,
  m32: Int32Array,
  rt: Int32Array,
  ro: Int32Array,
  wt: Int32Array,
  wo: Int32Array,
) => number;

/**
 * A compiled block. Its function returns `done * 8192 + offset`: how many
 * instructions it completed and the page offset to continue at.
 */
export interface CompiledBlock {
  /** Runs the block. */
  fn: BlockFn;
  /** Instructions in the block. */
  n: number;
  /** Page offset of the first instruction. */
  start: number;
  /** Page offset just past the last instruction. */
  end: number;
  /** Whether its last instruction is a branch or a jump. */
  branch: boolean;
  /** The first slot's original decoded word and immediate. */
  w0: number;
  imm0: number;
  /**
   * Whether the block is translated to WebAssembly (core/_wasm.ts): then
   * `run`, its page's translation, runs it and `fn` is not used.
   */
  wasm: boolean;
  /** The page's translation, entered at the block's start. */
  run: WasmRun;
  /**
   * The same for the counting loop: the translation with the block-start
   * counts compiled in (made when the counting loop first needs it).
   */
  crun: WasmRun;
}

/** `run` of a block that is not translated. */
export const NO_WASM: WasmRun = (): number => 0;

/** Where a block ends: see {@linkcode measureBlock}. */
export interface BlockExtent {
  /** Instructions in the block. */
  n: number;
  /** Page offset just past the last instruction. */
  end: number;
  /** Page offset of the ending branch or jump, or -1. */
  tailAt: number;
}

// Loads and stores use the TLB fast path inline; on a miss (or a
// misaligned access, or a store to a page holding decoded code) the block
// exits before the instruction, returning how many instructions it completed
// and the instruction's offset, and the interpreter takes over there.
const addr =
  "const s=(x[a]>>>0)+(i>>>0),lo=s|0,hi=(x[a+1]+(i>>31)+(s>4294967295?1:0))|0," +
  "key=(hi<<20)|(lo>>>12),e=key&255;";

const LOAD_BODY: Record<string, string> = {
  "1s": "const v=(m8[o]<<24)>>24;x[d]=v;x[d+1]=v>>31;",
  "2s": "const v=(m16[o>>1]<<16)>>16;x[d]=v;x[d+1]=v>>31;",
  "4s": "const v=m32[o>>2];x[d]=v;x[d+1]=v>>31;",
  "8s": "x[d]=m32[o>>2];x[d+1]=m32[(o>>2)+1];",
  "1u": "x[d]=m8[o];x[d+1]=0;",
  "2u": "x[d]=m16[o>>1];x[d+1]=0;",
  "4u": "x[d]=m32[o>>2];x[d+1]=0;",
};
const STORE_BODY: Record<number, string> = {
  1: "m8[o]=x[b];",
  2: "m16[o>>1]=x[b];",
  4: "m32[o>>2]=x[b];",
  8: "m32[o>>2]=x[b];m32[(o>>2)+1]=x[b+1];",
};

/** Code for op `code` with `exit` as the way out, or undefined. */
function memCode(op: OpDef, exit: string): string | undefined {
  const m = op.mem;
  if (m === undefined || m.fp || m.noOffset) return undefined;
  // Byte accesses are always aligned: no alignment test for them.
  const am = m.size === 1 ? "" : `||(lo&${m.size - 1})!==0`;
  if (m.load) {
    return `${addr}if(rt[e]!==key${am}||hi!==((hi<<20)>>20))${exit}` +
      `const o=ro[e]+(lo&4095);${
        LOAD_BODY[`${m.size}${m.signed ? "s" : "u"}`]
      }`;
  }
  return `${addr}const f=wo[e];` +
    `if(wt[e]!==key${am}||hi!==((hi<<20)>>20)||(f&1)!==0)${exit}` +
    `const o=f+(lo&4095);${STORE_BODY[m.size]}`;
}

/**
 * Specialise semantics to one instruction: its operands `d`, `a`, `b`, `i`
 * and `off` become literals in the code, so that each block is as if written
 * by hand for those registers. The operand arithmetic the table spells out
 * (`x[a+1]`, `(i>>>0)`, `(i>>31)`) is folded here too: V8 would fold it in
 * optimized code, but a block's source is what its bytecode, its tier-up
 * budget and its first runs are made of.
 */
function specialise(
  code: string,
  d: number,
  a: number,
  b: number,
  i: number,
  off: number,
): string {
  const lit = (v: number) => (v < 0 ? `(${v})` : `${v}`);
  const reg = (n: string) => (n === "d" ? d : n === "a" ? a : b);
  return code
    .replace(/\[([dab])\+1\]/g, (_, n) => `[${reg(n) + 1}]`)
    .replace(/\(i>>>0\)/g, `${i >>> 0}`)
    .replace(/\(i>>31\)/g, lit(i >> 31))
    .replace(/=i>>31;/g, `=${i >> 31};`)
    .replace(
      /\b(d|a|b|i|off)\b/g,
      (n) => lit(n === "i" ? i : n === "off" ? off : reg(n)),
    );
}

/** The fewest instructions worth a block. */
const MIN_BLOCK = 3;
/** The most instructions in one block. */
const MAX_BLOCK = 64;

/** Whether op `def` can run inside a block (it cannot trap or jump). */
function inBody(def: OpDef | undefined): boolean {
  if (def === undefined) return false;
  if (def.exec !== undefined) return true;
  const m = def.mem;
  return m !== undefined && !m.fp && !m.noOffset;
}

/**
 * Whether op `op` at page offset `off` can end a block: a `jal` or a
 * conditional branch whose target stays in the page, or with `jumps` (the
 * WebAssembly translator) also a `jalr` or a `jal` that leaves it.
 */
function endsBlock(
  op: number,
  def: OpDef | undefined,
  off: number,
  imm: number,
  len: number,
  jumps: boolean,
): boolean {
  if (jumps && (op === JAL || op === JALR)) return true;
  const target = off + imm;
  if (target < 0 || target >= 4096) return false;
  return op === JAL || (def?.cond !== undefined && off + len <= 4096);
}

/**
 * How far the block that starts at `start` goes, or undefined when the code
 * there does not make a block worth having. This only reads the decoded
 * slots, so that a start that makes no block (the interpreter asks again
 * each time its heat counter wraps) costs a few table lookups and no
 * strings.
 *
 * @param ops the page's decoded op words
 * @param imms the page's immediates
 * @param start page offset of the first instruction
 * @param decode decodes an undecoded slot in place
 * @param jumps whether a `jalr` or a `jal` out of the page may end it
 * @param min the fewest instructions worth a block
 */
export function measureBlock(
  ops: Int32Array,
  imms: Int32Array,
  start: number,
  decode: (off: number) => void,
  jumps = false,
  min: number = MIN_BLOCK,
): BlockExtent | undefined {
  let end = start;
  let n = 0;
  let tailAt = -1;
  while (n < MAX_BLOCK && end < 4096) {
    if (ops[end >> 1] === 0) decode(end);
    const w = ops[end >> 1]!;
    const op = w & 0xff;
    const len = 2 + ((w >>> 26) & 2);
    const def = OP_DEFS[op];
    if (inBody(def)) {
      n++;
      end += len;
      continue;
    }
    if (endsBlock(op, def, end, imms[end >> 1]!, len, jumps)) {
      tailAt = end;
      n++;
      end += len;
    }
    break;
  }
  return n < min ? undefined : { n, end, tailAt };
}

/**
 * Compile the block that {@linkcode measureBlock} found at `start` to
 * JavaScript.
 *
 * @param ops the page's decoded op words
 * @param imms the page's immediates
 * @param start page offset of the first instruction
 * @param extent where it ends
 */
export function compileBlock(
  ops: Int32Array,
  imms: Int32Array,
  start: number,
  extent: BlockExtent,
): CompiledBlock {
  const { n, end, tailAt } = extent;
  // Pass 2: the code.
  let body = "";
  let tail = `return ${n * 8192 + end};`;
  let k = 0;
  for (let off = start; off < end; k++) {
    const w = ops[off >> 1]!, imm = imms[off >> 1]!;
    const op = w & 0xff;
    const len = 2 + ((w >>> 26) & 2);
    const d = (w >>> 8) & 127, a = (w >>> 15) & 63, b = (w >>> 21) & 63;
    const def = OP_DEFS[op]!;
    if (off === tailAt) {
      const target = off + imm;
      tail = op === JAL
        ? `{const s=(vbLo>>>0)+${off + len};x[${d}]=s|0;` +
          `x[${d + 1}]=(vbHi+Math.floor(s/4294967296))|0;}` +
          `return ${(k + 1) * 8192 + target};`
        : `if(${specialise(def.cond!, d, a, b, imm, off)})return ${
          (k + 1) * 8192 + target
        };return ${(k + 1) * 8192 + off + len};`;
    } else {
      const code = def.exec ?? memCode(def, `return ${k * 8192 + off};`)!;
      body += `{${specialise(code, d, a, b, imm, off)}}`;
    }
    off += len;
  }
  const make = new Function(
    "H",
    `"use strict";return function(x,vbLo,vbHi,m8,m16,m32,rt,ro,wt,wo){${body}${tail}};`,
  ) as (h: typeof HELPERS) => BlockFn;
  const fn = make(HELPERS);
  return {
    fn,
    n,
    start,
    end,
    branch: tailAt >= 0,
    w0: ops[start >> 1]!,
    imm0: imms[start >> 1]!,
    wasm: false,
    run: NO_WASM,
    crun: NO_WASM,
  };
}
