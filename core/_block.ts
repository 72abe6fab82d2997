// Internal: the block compiler. A hot run of straight-line integer ALU
// instructions, optionally ended by a conditional branch whose target stays
// in the page, becomes one JavaScript function (made with `new Function`)
// that updates the register pairs exactly as the interpreter's cases do, and
// returns the page offset to continue at. None of the compiled ops can trap,
// so a block always runs to its end: the interpreter enters a block only
// when the instruction budget covers all of it, which keeps icount exact.
//
// The semantics of every template here mirror the matching `case` in
// cpu.ts; tests/block_test.ts runs guests with and without blocks and
// requires identical results.

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
  /** The first slot's original decoded word and immediate. */
  w0: number;
  imm0: number;
}

type Template = (
  d: number,
  a: number,
  b: number,
  i: number,
  off: number,
) => string;

const shl64 = (d: number, a: number, n: string) =>
  `{const lo=x[${a}],hi=x[${a + 1}],n=${n};` +
  `if(n===0){x[${d}]=lo;x[${d + 1}]=hi;}` +
  `else if(n<32){x[${d + 1}]=(hi<<n)|(lo>>>(32-n));x[${d}]=lo<<n;}` +
  `else{x[${d + 1}]=lo<<(n-32);x[${d}]=0;}}`;
const shr64 = (d: number, a: number, n: string, arith: boolean) =>
  `{const lo=x[${a}],hi=x[${a + 1}],n=${n};` +
  `if(n===0){x[${d}]=lo;x[${d + 1}]=hi;}` +
  `else if(n<32){x[${d}]=(lo>>>n)|(hi<<(32-n));x[${d + 1}]=hi${
    arith ? ">>" : ">>>"
  }n;}` +
  `else{x[${d}]=hi${arith ? ">>" : ">>>"}(n-32);x[${d + 1}]=${
    arith ? "hi>>31" : "0"
  };}}`;
const w32 = (d: number, expr: string) =>
  `{const v=${expr};x[${d}]=v;x[${d + 1}]=v>>31;}`;
const slt = (d: number, a: number, bl: string, bh: string, unsigned: boolean) =>
  `{const ah=x[${a + 1}]${unsigned ? ">>>0" : ""},bh=${bh}${
    unsigned ? ">>>0" : ""
  };` +
  `x[${d}]=ah<bh||(ah===bh&&(x[${a}]>>>0)<(${bl}>>>0))?1:0;x[${d + 1}]=0;}`;

const mdiv = (fn: string, d: number, a: number, b: number, extra = "") =>
  `H.${fn}(x[${a}],x[${a + 1}],x[${b}],x[${b + 1}]${extra});` +
  `x[${d}]=H.R[0];x[${d + 1}]=H.R[1];`;
const d32 = (d: number, a: number, b: number, fn: string, rem: boolean) =>
  w32(d, `H.${fn}(x[${a}],x[${b}],${rem})`);

const TEMPLATES: Record<number, Template> = {
  6: (d, _a, _b, i, off) =>
    // AUIPC: depends on the virtual page (vbLo, vbHi)
    `{const s=(vbLo>>>0)+${off}+${i >>> 0};x[${d}]=s|0;` +
    `x[${d + 1}]=(vbHi+${i >> 31}+Math.floor(s/4294967296))|0;}`,
  54: (d, a, b) => mdiv("mul64", d, a, b),
  55: (d, a, b) => mdiv("mulh64", d, a, b),
  56: (d, a, b) => mdiv("mulhsu64", d, a, b),
  57: (d, a, b) => mdiv("mulhu64", d, a, b),
  58: (d, a, b) => mdiv("div64", d, a, b, ",false"),
  59: (d, a, b) => mdiv("divu64", d, a, b, ",false"),
  60: (d, a, b) => mdiv("div64", d, a, b, ",true"),
  61: (d, a, b) => mdiv("divu64", d, a, b, ",true"),
  63: (d, a, b) => d32(d, a, b, "div32", false),
  64: (d, a, b) => d32(d, a, b, "divu32", false),
  65: (d, a, b) => d32(d, a, b, "div32", true),
  66: (d, a, b) => d32(d, a, b, "divu32", true),
  4: () => "",
  5: (d, _a, _b, i) => `x[${d}]=${i};x[${d + 1}]=${i >> 31};`, // LUI
  92: (d, _a, _b, i) => `x[${d}]=${i};x[${d + 1}]=${i >> 31};`, // LI
  93: (d, a) => `x[${d}]=x[${a}];x[${d + 1}]=x[${a + 1}];`, // MV
  26: (d, a, _b, i) =>
    // ADDI
    `{const s=(x[${a}]>>>0)+${i >>> 0};x[${d}]=s|0;` +
    `x[${d + 1}]=(x[${a + 1}]+${i >> 31}+(s>4294967295?1:0))|0;}`,
  27: (d, a, _b, i) => slt(d, a, `${i}`, `${i >> 31}`, false), // SLTI
  28: (d, a, _b, i) => slt(d, a, `${i}`, `${i >> 31}`, true), // SLTIU
  29: (d, a, _b, i) =>
    `x[${d}]=x[${a}]^${i};x[${d + 1}]=x[${a + 1}]^${i >> 31};`,
  30: (d, a, _b, i) =>
    `x[${d}]=x[${a}]|${i};x[${d + 1}]=x[${a + 1}]|${i >> 31};`,
  31: (d, a, _b, i) =>
    `x[${d}]=x[${a}]&${i};x[${d + 1}]=x[${a + 1}]&${i >> 31};`,
  32: (d, a, _b, i) => shl64(d, a, `${i}`), // SLLI
  33: (d, a, _b, i) => shr64(d, a, `${i}`, false), // SRLI
  34: (d, a, _b, i) => shr64(d, a, `${i}`, true), // SRAI
  35: (d, a, b) =>
    // ADD
    `{const s=(x[${a}]>>>0)+(x[${b}]>>>0);` +
    `x[${d + 1}]=(x[${a + 1}]+x[${b + 1}]+(s>4294967295?1:0))|0;x[${d}]=s|0;}`,
  36: (d, a, b) =>
    // SUB
    `{const al=x[${a}],bl=x[${b}];` +
    `x[${d + 1}]=(x[${a + 1}]-x[${b + 1}]-((al>>>0)<(bl>>>0)?1:0))|0;` +
    `x[${d}]=(al-bl)|0;}`,
  37: (d, a, b) => shl64(d, a, `x[${b}]&63`), // SLL
  41: (d, a, b) => shr64(d, a, `x[${b}]&63`, false), // SRL
  42: (d, a, b) => shr64(d, a, `x[${b}]&63`, true), // SRA
  38: (d, a, b) => slt(d, a, `x[${b}]`, `x[${b + 1}]`, false), // SLT
  39: (d, a, b) => slt(d, a, `x[${b}]`, `x[${b + 1}]`, true), // SLTU
  40: (d, a, b) =>
    `x[${d}]=x[${a}]^x[${b}];x[${d + 1}]=x[${a + 1}]^x[${b + 1}];`,
  43: (d, a, b) =>
    `x[${d}]=x[${a}]|x[${b}];x[${d + 1}]=x[${a + 1}]|x[${b + 1}];`,
  44: (d, a, b) =>
    `x[${d}]=x[${a}]&x[${b}];x[${d + 1}]=x[${a + 1}]&x[${b + 1}];`,
  45: (d, a, _b, i) => w32(d, `(x[${a}]+${i})|0`), // ADDIW
  46: (d, a, _b, i) => w32(d, `x[${a}]<<${i}`), // SLLIW
  47: (d, a, _b, i) => w32(d, `(x[${a}]>>>${i})|0`), // SRLIW
  48: (d, a, _b, i) => w32(d, `x[${a}]>>${i}`), // SRAIW
  49: (d, a, b) => w32(d, `(x[${a}]+x[${b}])|0`), // ADDW
  50: (d, a, b) => w32(d, `(x[${a}]-x[${b}])|0`), // SUBW
  51: (d, a, b) => w32(d, `x[${a}]<<(x[${b}]&31)`), // SLLW
  52: (d, a, b) => w32(d, `(x[${a}]>>>(x[${b}]&31))|0`), // SRLW
  53: (d, a, b) => w32(d, `x[${a}]>>(x[${b}]&31)`), // SRAW
  62: (d, a, b) => w32(d, `Math.imul(x[${a}],x[${b}])`), // MULW
};

// Loads and stores use the TLB fast path inline; on a miss (or a
// misaligned access, or a store to a page holding decoded code) the block
// exits before the instruction, returning how many instructions it completed
// and the instruction's offset, and the interpreter takes over there.
type MemTemplate = (
  d: number,
  a: number,
  b: number,
  i: number,
  exit: string,
) => string;

const addr = (a: number, i: number) =>
  `const s=(x[${a}]>>>0)+${i >>> 0},lo=s|0,` +
  `hi=(x[${a + 1}]+${i >> 31}+(s>4294967295?1:0))|0,` +
  `key=(hi<<20)|(lo>>>12),e=key&255;`;

const load =
  (am: number, body: (d: number) => string): MemTemplate =>
  (d, a, _b, i, exit) =>
    `{${
      addr(a, i)
    }if(rt[e]!==key||(lo&${am})!==0||hi!==((hi<<20)>>20))${exit}` +
    `const o=ro[e]+(lo&4095);${body(d)}}`;

const store =
  (am: number, body: (b: number) => string): MemTemplate =>
  (_d, a, b, i, exit) =>
    `{${addr(a, i)}const f=wo[e];` +
    `if(wt[e]!==key||(lo&${am})!==0||hi!==((hi<<20)>>20)||(f&1)!==0)${exit}` +
    `const o=f+(lo&4095);${body(b)}}`;

const MEM: Record<number, MemTemplate> = {
  15: load(0, (d) => `const v=(m8[o]<<24)>>24;x[${d}]=v;x[${d + 1}]=v>>31;`),
  16: load(
    1,
    (d) => `const v=(m16[o>>1]<<16)>>16;x[${d}]=v;x[${d + 1}]=v>>31;`,
  ),
  17: load(3, (d) => `const v=m32[o>>2];x[${d}]=v;x[${d + 1}]=v>>31;`),
  18: load(7, (d) => `x[${d}]=m32[o>>2];x[${d + 1}]=m32[(o>>2)+1];`),
  19: load(0, (d) => `x[${d}]=m8[o];x[${d + 1}]=0;`),
  20: load(1, (d) => `x[${d}]=m16[o>>1];x[${d + 1}]=0;`),
  21: load(3, (d) => `x[${d}]=m32[o>>2];x[${d + 1}]=0;`),
  22: store(0, (b) => `m8[o]=x[${b}];`),
  23: store(1, (b) => `m16[o>>1]=x[${b}];`),
  24: store(3, (b) => `m32[o>>2]=x[${b}];`),
  25: store(7, (b) => `m32[o>>2]=x[${b}];m32[(o>>2)+1]=x[${b + 1}];`),
};

const BRANCH: Record<number, (a: number, b: number) => string> = {
  9: (a, b) => `x[${a}]===x[${b}]&&x[${a + 1}]===x[${b + 1}]`,
  10: (a, b) => `x[${a}]!==x[${b}]||x[${a + 1}]!==x[${b + 1}]`,
  11: (a, b) =>
    `x[${a + 1}]<x[${b + 1}]||(x[${a + 1}]===x[${
      b + 1
    }]&&(x[${a}]>>>0)<(x[${b}]>>>0))`,
  12: (a, b) =>
    `!(x[${a + 1}]<x[${b + 1}]||(x[${a + 1}]===x[${
      b + 1
    }]&&(x[${a}]>>>0)<(x[${b}]>>>0)))`,
  13: (a, b) =>
    `(x[${a + 1}]>>>0)<(x[${b + 1}]>>>0)||(x[${a + 1}]===x[${
      b + 1
    }]&&(x[${a}]>>>0)<(x[${b}]>>>0))`,
  14: (a, b) =>
    `!((x[${a + 1}]>>>0)<(x[${b + 1}]>>>0)||(x[${a + 1}]===x[${
      b + 1
    }]&&(x[${a}]>>>0)<(x[${b}]>>>0)))`,
};

/** The fewest instructions worth a block. */
const MIN_BLOCK = 3;
/** The most instructions in one block. */
const MAX_BLOCK = 64;

/**
 * Compile the block that starts at `start`, or return undefined when the
 * code there does not make a block worth having.
 *
 * @param ops the page's decoded op words
 * @param imms the page's immediates
 * @param start page offset of the first instruction
 * @param decode decodes an undecoded slot in place
 */
export function compileBlock(
  ops: Int32Array,
  imms: Int32Array,
  start: number,
  decode: (off: number) => void,
): CompiledBlock | undefined {
  let off = start;
  let n = 0;
  let body = "";
  let tail = "";
  while (n < MAX_BLOCK && off < 4096) {
    if (ops[off >> 1] === 0) decode(off);
    const w = ops[off >> 1]!, imm = imms[off >> 1]!;
    const op = w & 0xff;
    const len = 2 + ((w >>> 26) & 2);
    const d = (w >>> 8) & 127, a = (w >>> 15) & 63, b = (w >>> 21) & 63;
    const t = TEMPLATES[op];
    if (t) {
      body += t(d, a, b, imm, off);
      n++;
      off += len;
      continue;
    }
    const m = MEM[op];
    if (m) {
      body += m(d, a, b, imm, `return ${n * 8192 + off};`);
      n++;
      off += len;
      continue;
    }
    if (op === 7) { // JAL within the page ends the block
      const target = off + imm;
      if (target >= 0 && target < 4096) {
        tail = `{const s=(vbLo>>>0)+${off + len};x[${d}]=s|0;` +
          `x[${d + 1}]=(vbHi+Math.floor(s/4294967296))|0;}` +
          `return ${(n + 1) * 8192 + target};`;
        n++;
        off += len;
      }
      break;
    }
    const br = BRANCH[op];
    if (br) {
      const target = off + imm;
      if (target >= 0 && target < 4096 && off + len <= 4096) {
        tail = `if(${br(a, b)})return ${(n + 1) * 8192 + target};return ${
          (n + 1) * 8192 + off + len
        };`;
        n++;
        off += len;
      }
    }
    break;
  }
  if (n < MIN_BLOCK) return undefined;
  if (!tail) tail = `return ${n * 8192 + off};`;
  const make = new Function(
    "H",
    `"use strict";return function(x,vbLo,vbHi,m8,m16,m32,rt,ro,wt,wo){${body}${tail}};`,
  ) as (h: typeof HELPERS) => BlockFn;
  const fn = make(HELPERS);
  return {
    fn,
    n,
    start,
    end: off,
    w0: ops[start >> 1]!,
    imm0: imms[start >> 1]!,
  };
}
