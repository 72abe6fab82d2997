// Zifencei: `fence.i` (Unprivileged ISA 20191213, chapter 3). Stores keep
// decoded code coherent on their own, so it does nothing more.

import { F3, f3, NONE, OPC } from "./_format.ts";
import type { Extension } from "./_format.ts";

/** Zifencei. */
export const ZIFENCEI: Extension = {
  name: "Zifencei",
  ops: [{ name: "FENCE_I", code: 79, kind: "nop" }],
  insns: [{
    name: "fence.i",
    mask: OPC | F3,
    match: 0x0f | f3(1),
    format: NONE,
    op: "FENCE_I",
  }],
};
