// The privileged instructions: `mret`, `sret`, `wfi` and `sfence.vma`
// (Privileged Architecture 1.12, sections 3.3 and 4.2), run on the
// interpreter's slow path (`Cpu.#system`).

import { F3, F7, NONE, OPC, RD, SFENCE } from "./_format.ts";
import type { Extension, InsnDef } from "./_format.ts";

const exact = (name: string, match: number): InsnDef => ({
  name,
  mask: -1,
  match,
  format: NONE,
  op: name.toUpperCase(),
  control: true,
});

/** The privileged instructions. */
export const PRIV: Extension = {
  name: "Privileged",
  ops: [
    { name: "MRET", code: 82, kind: "system" },
    { name: "SRET", code: 83, kind: "system" },
    { name: "WFI", code: 84, kind: "system" },
    { name: "SFENCE_VMA", code: 85, kind: "system" },
  ],
  insns: [
    exact("sret", 0x10200073),
    exact("mret", 0x30200073),
    exact("wfi", 0x10500073),
    {
      name: "sfence.vma",
      mask: F7 | RD | F3 | OPC,
      match: 0x12000073,
      format: SFENCE,
      op: "SFENCE_VMA",
      control: true,
    },
  ],
};
