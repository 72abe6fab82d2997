// RV64I: the base integer instruction set (Unprivileged ISA 20191213,
// chapters 2 and 5), with `ecall` and `ebreak`.
//
// Each op's `exec` is its semantics over the interpreter's locals (see
// OpDef in _format.ts): `x` holds (lo, hi) int32 pairs, `d`/`a`/`b` index
// rd/rs1/rs2, `i` is the immediate.

import {
  BRANCH,
  F3,
  f3,
  F7,
  f7,
  FENCE,
  I,
  type InsnDef,
  JAL,
  JALR,
  LOAD,
  NONE,
  OPC,
  type OpDef,
  R,
  SH5,
  SH6,
  STORE,
  U,
} from "./_format.ts";
import type { Extension } from "./_format.ts";

// Semantics shared by several ops.
const shl64 = (n: string) =>
  `{const lo=x[a],hi=x[a+1],n=${n};` +
  `if(n===0){x[d]=lo;x[d+1]=hi;}` +
  `else if(n<32){x[d+1]=(hi<<n)|(lo>>>(32-n));x[d]=lo<<n;}` +
  `else{x[d+1]=lo<<(n-32);x[d]=0;}}`;
const shr64 = (n: string, arith: boolean) => {
  const sh = arith ? ">>" : ">>>";
  return `{const lo=x[a],hi=x[a+1],n=${n};` +
    `if(n===0){x[d]=lo;x[d+1]=hi;}` +
    `else if(n<32){x[d]=(lo>>>n)|(hi<<(32-n));x[d+1]=hi${sh}n;}` +
    `else{x[d]=hi${sh}(n-32);x[d+1]=${arith ? "hi>>31" : "0"};}}`;
};
/** Write a 32-bit result sign-extended to rd. */
export const w32 = (expr: string): string =>
  `{const v=${expr};x[d]=v;x[d+1]=v>>31;}`;
const slt = (bl: string, bh: string, unsigned: boolean) =>
  `{const ah=x[a+1]${unsigned ? ">>>0" : ""},bh=${bh}${
    unsigned ? ">>>0" : ""
  };` +
  `x[d]=ah<bh||(ah===bh&&(x[a]>>>0)<(${bl}>>>0))?1:0;x[d+1]=0;}`;

const LT = "x[a+1]<x[b+1]||(x[a+1]===x[b+1]&&(x[a]>>>0)<(x[b]>>>0))";
const LTU =
  "(x[a+1]>>>0)<(x[b+1]>>>0)||(x[a+1]===x[b+1]&&(x[a]>>>0)<(x[b]>>>0))";

const ops: OpDef[] = [
  { name: "LUI", code: 5, wasm: "i", exec: "x[d]=i;x[d+1]=i>>31;" },
  {
    name: "AUIPC",
    wasm: "pc i i64.add",
    code: 6,
    // `off` is the page offset of the instruction, (vbLo, vbHi) its page.
    exec: "{const s=(vbLo>>>0)+off+(i>>>0);x[d]=s|0;" +
      "x[d+1]=(vbHi+(i>>31)+Math.floor(s/4294967296))|0;}",
  },
  { name: "JAL", code: 7, kind: "jal" },
  { name: "JALR", code: 8, kind: "jalr" },
  {
    name: "BEQ",
    code: 9,
    wasm: "a b i64.eq",
    cond: "x[a]===x[b]&&x[a+1]===x[b+1]",
  },
  {
    name: "BNE",
    code: 10,
    wasm: "a b i64.ne",
    cond: "x[a]!==x[b]||x[a+1]!==x[b+1]",
  },
  { name: "BLT", code: 11, wasm: "a b i64.lt_s", cond: LT },
  { name: "BGE", code: 12, wasm: "a b i64.ge_s", cond: `!(${LT})` },
  { name: "BLTU", code: 13, wasm: "a b i64.lt_u", cond: LTU },
  { name: "BGEU", code: 14, wasm: "a b i64.ge_u", cond: `!(${LTU})` },
  { name: "LB", code: 15, mem: { size: 1, load: true, signed: true } },
  { name: "LH", code: 16, mem: { size: 2, load: true, signed: true } },
  { name: "LW", code: 17, mem: { size: 4, load: true, signed: true } },
  { name: "LD", code: 18, mem: { size: 8, load: true, signed: true } },
  { name: "LBU", code: 19, mem: { size: 1, load: true } },
  { name: "LHU", code: 20, mem: { size: 2, load: true } },
  { name: "LWU", code: 21, mem: { size: 4, load: true } },
  { name: "SB", code: 22, mem: { size: 1, store: true } },
  { name: "SH", code: 23, mem: { size: 2, store: true } },
  { name: "SW", code: 24, mem: { size: 4, store: true } },
  { name: "SD", code: 25, mem: { size: 8, store: true } },
  {
    name: "ADDI",
    wasm: "a i i64.add",
    code: 26,
    exec: "{const s=(x[a]>>>0)+(i>>>0);x[d]=s|0;" +
      "x[d+1]=(x[a+1]+(i>>31)+(s>4294967295?1:0))|0;}",
  },
  {
    name: "SLTI",
    code: 27,
    wasm: "a i i64.lt_s i64.extend_i32_u",
    exec: slt("i", "(i>>31)", false),
  },
  {
    name: "SLTIU",
    code: 28,
    wasm: "a i i64.lt_u i64.extend_i32_u",
    exec: slt("i", "(i>>31)", true),
  },
  {
    name: "XORI",
    code: 29,
    wasm: "a i i64.xor",
    exec: "x[d]=x[a]^i;x[d+1]=x[a+1]^(i>>31);",
  },
  {
    name: "ORI",
    code: 30,
    wasm: "a i i64.or",
    exec: "x[d]=x[a]|i;x[d+1]=x[a+1]|(i>>31);",
  },
  {
    name: "ANDI",
    code: 31,
    wasm: "a i i64.and",
    exec: "x[d]=x[a]&i;x[d+1]=x[a+1]&(i>>31);",
  },
  { name: "SLLI", code: 32, wasm: "a i i64.shl", exec: shl64("i") },
  { name: "SRLI", code: 33, wasm: "a i i64.shr_u", exec: shr64("i", false) },
  { name: "SRAI", code: 34, wasm: "a i i64.shr_s", exec: shr64("i", true) },
  {
    name: "ADD",
    wasm: "a b i64.add",
    code: 35,
    exec: "{const s=(x[a]>>>0)+(x[b]>>>0);" +
      "x[d+1]=(x[a+1]+x[b+1]+(s>4294967295?1:0))|0;x[d]=s|0;}",
  },
  {
    name: "SUB",
    wasm: "a b i64.sub",
    code: 36,
    exec: "{const al=x[a],bl=x[b];" +
      "x[d+1]=(x[a+1]-x[b+1]-((al>>>0)<(bl>>>0)?1:0))|0;x[d]=(al-bl)|0;}",
  },
  { name: "SLL", code: 37, wasm: "a b i64.shl", exec: shl64("x[b]&63") },
  {
    name: "SLT",
    code: 38,
    wasm: "a b i64.lt_s i64.extend_i32_u",
    exec: slt("x[b]", "x[b+1]", false),
  },
  {
    name: "SLTU",
    code: 39,
    wasm: "a b i64.lt_u i64.extend_i32_u",
    exec: slt("x[b]", "x[b+1]", true),
  },
  {
    name: "XOR",
    code: 40,
    wasm: "a b i64.xor",
    exec: "x[d]=x[a]^x[b];x[d+1]=x[a+1]^x[b+1];",
  },
  {
    name: "SRL",
    code: 41,
    wasm: "a b i64.shr_u",
    exec: shr64("x[b]&63", false),
  },
  {
    name: "SRA",
    code: 42,
    wasm: "a b i64.shr_s",
    exec: shr64("x[b]&63", true),
  },
  {
    name: "OR",
    code: 43,
    wasm: "a b i64.or",
    exec: "x[d]=x[a]|x[b];x[d+1]=x[a+1]|x[b+1];",
  },
  {
    name: "AND",
    code: 44,
    wasm: "a b i64.and",
    exec: "x[d]=x[a]&x[b];x[d+1]=x[a+1]&x[b+1];",
  },
  {
    name: "ADDIW",
    code: 45,
    wasm: "a i i64.add sext.w",
    exec: w32("(x[a]+i)|0"),
  },
  { name: "SLLIW", code: 46, wasm: "a i i64.shl sext.w", exec: w32("x[a]<<i") },
  {
    name: "SRLIW",
    code: 47,
    wasm: "a i32.wrap_i64 i32 i32.shr_u i64.extend_i32_s",
    exec: w32("(x[a]>>>i)|0"),
  },
  {
    name: "SRAIW",
    code: 48,
    wasm: "a i32.wrap_i64 i32 i32.shr_s i64.extend_i32_s",
    exec: w32("x[a]>>i"),
  },
  {
    name: "ADDW",
    code: 49,
    wasm: "a b i64.add sext.w",
    exec: w32("(x[a]+x[b])|0"),
  },
  {
    name: "SUBW",
    code: 50,
    wasm: "a b i64.sub sext.w",
    exec: w32("(x[a]-x[b])|0"),
  },
  {
    name: "SLLW",
    code: 51,
    wasm: "a i32.wrap_i64 b i32.wrap_i64 i32.shl i64.extend_i32_s",
    exec: w32("x[a]<<(x[b]&31)"),
  },
  {
    name: "SRLW",
    code: 52,
    wasm: "a i32.wrap_i64 b i32.wrap_i64 i32.shr_u i64.extend_i32_s",
    exec: w32("(x[a]>>>(x[b]&31))|0"),
  },
  {
    name: "SRAW",
    code: 53,
    wasm: "a i32.wrap_i64 b i32.wrap_i64 i32.shr_s i64.extend_i32_s",
    exec: w32("x[a]>>(x[b]&31)"),
  },
  { name: "FENCE", code: 78, kind: "nop" },
  { name: "ECALL", code: 80, kind: "ecall" },
  { name: "EBREAK", code: 81, kind: "ebreak" },
];

const def = (
  name: string,
  mask: number,
  match: number,
  format: InsnDef["format"],
  extra: Partial<InsnDef> = {},
): InsnDef => ({
  name,
  mask: mask | 0,
  match: match | 0,
  format,
  op: name.toUpperCase(),
  ...extra,
});
const pure = { pure: true };

const insns: InsnDef[] = [
  def("lui", OPC, 0x37, U),
  def("auipc", OPC, 0x17, U),
  def("jal", OPC, 0x6f, JAL, { control: true }),
  def("jalr", OPC | F3, 0x67, JALR, { control: true }),
  ...(["beq", "bne", "", "", "blt", "bge", "bltu", "bgeu"] as const).flatMap((
    n,
    k,
  ) => n ? [def(n, OPC | F3, 0x63 | f3(k), BRANCH, { control: true })] : []),
  ...["lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"].map((n, k) =>
    def(n, OPC | F3, 0x03 | f3(k), LOAD)
  ),
  ...["sb", "sh", "sw", "sd"].map((n, k) =>
    def(n, OPC | F3, 0x23 | f3(k), STORE)
  ),
  def("addi", OPC | F3, 0x13, I, {
    pure: true,
    // `li rd, imm` and `mv rd, rs1` skip the 64-bit add.
    alias: (rd, rs1, imm) =>
      rd === 0 ? undefined : rs1 === 0 ? "LI" : imm === 0 ? "MV" : undefined,
  }),
  def("slli", OPC | F3 | 0xfc000000, 0x13 | f3(1), SH6, pure),
  def("slti", OPC | F3, 0x13 | f3(2), I, pure),
  def("sltiu", OPC | F3, 0x13 | f3(3), I, pure),
  def("xori", OPC | F3, 0x13 | f3(4), I, pure),
  def("srli", OPC | F3 | 0xfc000000, 0x13 | f3(5), SH6, pure),
  def("srai", OPC | F3 | 0xfc000000, 0x13 | f3(5) | 0x40000000, SH6, pure),
  def("ori", OPC | F3, 0x13 | f3(6), I, pure),
  def("andi", OPC | F3, 0x13 | f3(7), I, pure),
  def("addiw", OPC | F3, 0x1b, I, pure),
  def("slliw", OPC | F3 | F7, 0x1b | f3(1), SH5, pure),
  def("srliw", OPC | F3 | F7, 0x1b | f3(5), SH5, pure),
  def("sraiw", OPC | F3 | F7, 0x1b | f3(5) | f7(0x20), SH5, pure),
  ...([
    ["add", 0, 0],
    ["sub", 0, 0x20],
    ["sll", 1, 0],
    ["slt", 2, 0],
    ["sltu", 3, 0],
    ["xor", 4, 0],
    ["srl", 5, 0],
    ["sra", 5, 0x20],
    ["or", 6, 0],
    ["and", 7, 0],
  ] as const).map(([n, a, b]) =>
    def(n, OPC | F3 | F7, 0x33 | f3(a) | f7(b), R, pure)
  ),
  ...([
    ["addw", 0, 0],
    ["subw", 0, 0x20],
    ["sllw", 1, 0],
    ["srlw", 5, 0],
    ["sraw", 5, 0x20],
  ] as const).map(([n, a, b]) =>
    def(n, OPC | F3 | F7, 0x3b | f3(a) | f7(b), R, pure)
  ),
  // fence.tso is a fence with fm = 1000 (pred = succ = rw).
  def("fence.tso", OPC | F3 | 0xfff00000, 0x8330000f, NONE, { op: "FENCE" }),
  def("fence", OPC | F3, 0x0f, FENCE),
  def("ecall", -1, 0x00000073, NONE, { control: true }),
  def("ebreak", -1, 0x00100073, NONE, { control: true }),
];

/** RV64I. */
export const RV64I: Extension = { name: "RV64I", ops, insns };
