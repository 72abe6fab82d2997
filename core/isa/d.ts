// D: double-precision floating point (Unprivileged ISA 20191213, chapter
// 12), run like F (see f.ts).

import {
  F1,
  F1_RM,
  F3,
  f3,
  F7,
  f7,
  FLOAD,
  FSTORE,
  type InsnDef,
  OPC,
  type OpDef,
  RS2,
} from "./_format.ts";
import type { Extension } from "./_format.ts";
import { fpArith } from "./_fp.ts";

const ops: OpDef[] = [
  { name: "FLD", code: 74, mem: { size: 8, load: true, fp: true } },
  { name: "FSD", code: 76, mem: { size: 8, store: true, fp: true } },
];

const insns: InsnDef[] = [
  {
    name: "fld",
    mask: OPC | F3,
    match: 0x07 | f3(3),
    format: FLOAD,
    op: "FLD",
  },
  {
    name: "fsd",
    mask: OPC | F3,
    match: 0x27 | f3(3),
    format: FSTORE,
    op: "FSD",
  },
  ...fpArith("d"),
  {
    name: "fcvt.s.d",
    mask: OPC | F7 | RS2,
    match: 0x53 | f7(0x20) | (1 << 20),
    format: F1_RM,
    op: "FP",
  },
  {
    name: "fcvt.d.s",
    mask: OPC | F7 | RS2,
    match: 0x53 | f7(0x21),
    format: F1, // exact
    op: "FP",
  },
];

/** D. */
export const D: Extension = { name: "D", ops, insns };
