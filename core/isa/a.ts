// A: atomic memory operations (Unprivileged ISA 20191213, chapter 8). The
// interpreter runs them on its slow path (`Cpu.#atomic`), which reads the
// AMO's funct5 from the immediate.

import {
  AMO,
  F3,
  f3,
  F5,
  type InsnDef,
  LR,
  OPC,
  type OpDef,
  RS2,
} from "./_format.ts";
import type { Extension } from "./_format.ts";

const ops: OpDef[] = [
  { name: "LR_W", code: 67, mem: { size: 4, load: true, noOffset: true } },
  { name: "LR_D", code: 68, mem: { size: 8, load: true, noOffset: true } },
  { name: "SC_W", code: 69, mem: { size: 4, store: true, noOffset: true } },
  { name: "SC_D", code: 70, mem: { size: 8, store: true, noOffset: true } },
  {
    name: "AMO_W",
    code: 71,
    mem: { size: 4, load: true, store: true, noOffset: true },
  },
  {
    name: "AMO_D",
    code: 72,
    mem: { size: 8, load: true, store: true, noOffset: true },
  },
];

const AMOS = [
  ["amoswap", 0x01],
  ["amoadd", 0x00],
  ["amoxor", 0x04],
  ["amoand", 0x0c],
  ["amoor", 0x08],
  ["amomin", 0x10],
  ["amomax", 0x14],
  ["amominu", 0x18],
  ["amomaxu", 0x1c],
] as const;

const insns: InsnDef[] = ["w", "d"].flatMap((s, k) => {
  const base = 0x2f | f3(2 + k);
  const S = s.toUpperCase();
  return [
    {
      name: `lr.${s}`,
      mask: OPC | F3 | F5 | RS2,
      match: base | (0x02 << 27),
      format: LR,
      op: `LR_${S}`,
    },
    {
      name: `sc.${s}`,
      mask: OPC | F3 | F5,
      match: base | (0x03 << 27),
      format: AMO,
      op: `SC_${S}`,
    },
    ...AMOS.map(([n, f5]): InsnDef => ({
      name: `${n}.${s}`,
      mask: OPC | F3 | F5,
      match: base | (f5 << 27),
      format: AMO,
      op: `AMO_${S}`,
    })),
  ];
});

/** A. */
export const A: Extension = { name: "A", ops, insns };
