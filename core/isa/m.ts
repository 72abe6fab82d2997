// M: integer multiplication and division (Unprivileged ISA 20191213,
// chapter 7). 64-bit products and quotients go through core/_alu64.ts
// (`H` in the semantics), which leaves its result in `H.R`.

import { F3, f3, F7, f7, type InsnDef, OPC, type OpDef, R } from "./_format.ts";
import type { Extension } from "./_format.ts";
import { w32 } from "./rv64i.ts";

const mdiv = (fn: string, extra = "") =>
  `H.${fn}(x[a],x[a+1],x[b],x[b+1]${extra});x[d]=H.R[0];x[d+1]=H.R[1];`;
const d32 = (fn: string, rem: boolean) => w32(`H.${fn}(x[a],x[b],${rem})`);

const ops: OpDef[] = [
  { name: "MUL", code: 54, wasm: "a b i64.mul", exec: mdiv("mul64") },
  { name: "MULH", code: 55, wasm: "a b rv.mulh", exec: mdiv("mulh64") },
  { name: "MULHSU", code: 56, wasm: "a b rv.mulhsu", exec: mdiv("mulhsu64") },
  { name: "MULHU", code: 57, wasm: "a b rv.mulhu", exec: mdiv("mulhu64") },
  { name: "DIV", code: 58, wasm: "a b rv.div", exec: mdiv("div64", ",false") },
  {
    name: "DIVU",
    code: 59,
    wasm: "a b rv.divu",
    exec: mdiv("divu64", ",false"),
  },
  { name: "REM", code: 60, wasm: "a b rv.rem", exec: mdiv("div64", ",true") },
  {
    name: "REMU",
    code: 61,
    wasm: "a b rv.remu",
    exec: mdiv("divu64", ",true"),
  },
  {
    name: "MULW",
    code: 62,
    wasm: "a b i64.mul sext.w",
    exec: w32("Math.imul(x[a],x[b])"),
  },
  { name: "DIVW", code: 63, wasm: "a b rv.divw", exec: d32("div32", false) },
  { name: "DIVUW", code: 64, wasm: "a b rv.divuw", exec: d32("divu32", false) },
  { name: "REMW", code: 65, wasm: "a b rv.remw", exec: d32("div32", true) },
  { name: "REMUW", code: 66, wasm: "a b rv.remuw", exec: d32("divu32", true) },
];

const def = (name: string, opcode: number, funct3: number): InsnDef => ({
  name,
  mask: OPC | F3 | F7,
  match: opcode | f3(funct3) | f7(1),
  format: R,
  op: name.toUpperCase(),
  pure: true,
});

const insns: InsnDef[] = [
  ...["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"].map((
    n,
    k,
  ) => def(n, 0x33, k)),
  def("mulw", 0x3b, 0),
  def("divw", 0x3b, 4),
  def("divuw", 0x3b, 5),
  def("remw", 0x3b, 6),
  def("remuw", 0x3b, 7),
];

/** M. */
export const M: Extension = { name: "M", ops, insns };
