// F: single-precision floating point (Unprivileged ISA 20191213, chapter
// 11). Loads and stores run on the interpreter's FP memory path; everything
// else is one op, `FP`, whose semantics are the FP unit's (core/fpu.ts).

import {
  F3,
  f3,
  FLOAD,
  FSTORE,
  type InsnDef,
  OPC,
  type OpDef,
} from "./_format.ts";
import type { Extension } from "./_format.ts";
import { fpArith } from "./_fp.ts";

const ops: OpDef[] = [
  { name: "FLW", code: 73, mem: { size: 4, load: true, fp: true } },
  { name: "FSW", code: 75, mem: { size: 4, store: true, fp: true } },
  { name: "FP", code: 77, kind: "fp" },
];

const insns: InsnDef[] = [
  {
    name: "flw",
    mask: OPC | F3,
    match: 0x07 | f3(2),
    format: FLOAD,
    op: "FLW",
  },
  {
    name: "fsw",
    mask: OPC | F3,
    match: 0x27 | f3(2),
    format: FSTORE,
    op: "FSW",
  },
  ...fpArith("s"),
];

/** F. */
export const F: Extension = { name: "F", ops, insns };
