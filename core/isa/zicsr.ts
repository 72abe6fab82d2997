// Zicsr: the CSR instructions (Unprivileged ISA 20191213, chapter 9). The
// interpreter runs them on its slow path (`Cpu.#csrInsn`) with the CSR
// number as the immediate; the CSRs themselves are in core/csr.ts.

import {
  CSR_I,
  CSR_R,
  F3,
  f3,
  type InsnDef,
  OPC,
  type OpDef,
} from "./_format.ts";
import type { Extension } from "./_format.ts";

const NAMES = ["csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"];

const ops: OpDef[] = NAMES.map((n, k) => ({
  name: n.toUpperCase(),
  code: 86 + k,
  kind: "csr",
}));

const insns: InsnDef[] = NAMES.map((n, k) => ({
  name: n,
  mask: OPC | F3,
  match: 0x73 | f3(k < 3 ? k + 1 : k + 2),
  format: k < 3 ? CSR_R : CSR_I,
  op: n.toUpperCase(),
  control: true, // a CSR write may change translation or interrupts
}));

/** Zicsr. */
export const ZICSR: Extension = { name: "Zicsr", ops, insns };
