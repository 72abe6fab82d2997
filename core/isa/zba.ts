// Zba: address generation (RISC-V Bit-Manipulation ISA-extensions 1.0.0,
// chapter 2.1): `sh1add` and `sh2add` so far (docs/architecture.md shows
// how `sh2add` was added, in this file alone).

import { F3, f3, F7, f7, OPC, R } from "./_format.ts";
import type { Extension } from "./_format.ts";

/** Zba. */
export const ZBA: Extension = {
  name: "Zba",
  ops: [{
    name: "SH1ADD",
    wasm: "a 1 i64.shl b i64.add",
    // rd = (rs1 << 1) + rs2
    exec: "{const l=x[a]<<1,h=(x[a+1]<<1)|(x[a]>>>31);" +
      "const s=(l>>>0)+(x[b]>>>0);" +
      "x[d+1]=(h+x[b+1]+(s>4294967295?1:0))|0;x[d]=s|0;}",
  }, {
    name: "SH2ADD",
    wasm: "a 2 i64.shl b i64.add",
    // rd = (rs1 << 2) + rs2
    exec: "{const l=x[a]<<2,h=(x[a+1]<<2)|(x[a]>>>30);" +
      "const s=(l>>>0)+(x[b]>>>0);" +
      "x[d+1]=(h+x[b+1]+(s>4294967295?1:0))|0;x[d]=s|0;}",
  }],
  insns: [{
    name: "sh1add",
    mask: OPC | F3 | F7,
    match: 0x33 | f3(2) | f7(0x10),
    format: R,
    op: "SH1ADD",
    pure: true,
  }, {
    name: "sh2add",
    mask: OPC | F3 | F7,
    match: 0x33 | f3(4) | f7(0x10),
    format: R,
    op: "SH2ADD",
    pure: true,
  }],
};
