// C: compressed instructions (Unprivileged ISA 20191213, chapter 16, tables
// 16.5-16.7). Each one expands to the op of its 32-bit twin, so the
// interpreter, the block compiler and instrumentation never see a
// compressed form; `expand` returns undefined for a reserved encoding, and
// HINTs (a write to x0) expand to `NOP`.

import {
  cB,
  cImm6,
  type CInsnDef,
  cJ,
  cLdsp,
  cLwsp,
  cOffD,
  cOffW,
  cRd,
  cRd3,
  cRs1_3,
  cRs2,
  cSdsp,
  cShamt,
  cSwsp,
  ex,
  exF,
  type Expanded,
  type PrintContext,
  sext,
} from "./_format.ts";
import type { Extension } from "./_format.ts";

const NOP: Expanded = exF("NOP", 0, 0, 0, 0);

// The masks: quadrant (bits 1..0) and funct3 (bits 15..13), plus what else
// tells the instruction apart.
const Q = 0xe003;
const q = (quadrant: number, funct3: number) => (funct3 << 13) | quadrant;

const c = (
  name: string,
  mask: number,
  match: number,
  expand: (i: number) => Expanded | undefined,
  print: (i: number, p: PrintContext) => string,
  control = false,
): CInsnDef => ({ name, mask, match, expand, print, control });

/** `c.addi16sp`'s immediate. */
const imm16sp = (i: number) =>
  ((((i >>> 12) & 1) << 31) >> 22) | (((i >>> 6) & 1) << 4) |
  (((i >>> 5) & 1) << 6) | (((i >>> 3) & 3) << 7) | (((i >>> 2) & 1) << 5);
/** `c.addi4spn`'s immediate. */
const imm4spn = (i: number) =>
  (((i >>> 7) & 0xf) << 6) | (((i >>> 11) & 3) << 4) |
  (((i >>> 5) & 1) << 3) | (((i >>> 6) & 1) << 2);

const X = (p: PrintContext, r: number) => p.x(r);
const ILL = "illegal";

const ARITH = [
  ["c.sub", "SUB", 0],
  ["c.xor", "XOR", 1],
  ["c.or", "OR", 2],
  ["c.and", "AND", 3],
  ["c.subw", "SUBW", 4],
  ["c.addw", "ADDW", 5],
] as const;

const cinsns: CInsnDef[] = [
  // Quadrant 0
  c("c.addi4spn", Q, q(0, 0), (i) => {
    const imm = imm4spn(i);
    return imm === 0 ? undefined : ex("ADDI", cRd3(i), 2, 0, imm);
  }, (i, p) => {
    const imm = imm4spn(i);
    return imm === 0 ? ILL : `c.addi4spn ${X(p, cRd3(i))}, sp, ${imm}`;
  }),
  c(
    "c.fld",
    Q,
    q(0, 1),
    (i) => exF("FLD", cRd3(i), cRs1_3(i), 0, cOffD(i)),
    (i, p) => `c.fld ${p.f(cRd3(i))}, ${cOffD(i)}(${X(p, cRs1_3(i))})`,
  ),
  c(
    "c.lw",
    Q,
    q(0, 2),
    (i) => ex("LW", cRd3(i), cRs1_3(i), 0, cOffW(i)),
    (i, p) => `c.lw ${X(p, cRd3(i))}, ${cOffW(i)}(${X(p, cRs1_3(i))})`,
  ),
  c(
    "c.ld",
    Q,
    q(0, 3),
    (i) => ex("LD", cRd3(i), cRs1_3(i), 0, cOffD(i)),
    (i, p) => `c.ld ${X(p, cRd3(i))}, ${cOffD(i)}(${X(p, cRs1_3(i))})`,
  ),
  c(
    "c.fsd",
    Q,
    q(0, 5),
    (i) => exF("FSD", 0, cRs1_3(i), cRd3(i), cOffD(i)),
    (i, p) => `c.fsd ${p.f(cRd3(i))}, ${cOffD(i)}(${X(p, cRs1_3(i))})`,
  ),
  c(
    "c.sw",
    Q,
    q(0, 6),
    (i) => exF("SW", 0, cRs1_3(i), cRd3(i), cOffW(i)),
    (i, p) => `c.sw ${X(p, cRd3(i))}, ${cOffW(i)}(${X(p, cRs1_3(i))})`,
  ),
  c(
    "c.sd",
    Q,
    q(0, 7),
    (i) => exF("SD", 0, cRs1_3(i), cRd3(i), cOffD(i)),
    (i, p) => `c.sd ${X(p, cRd3(i))}, ${cOffD(i)}(${X(p, cRs1_3(i))})`,
  ),
  // Quadrant 1
  c(
    "c.addi",
    Q,
    q(1, 0),
    (i) => {
      const rd = cRd(i), imm = cImm6(i);
      return rd === 0 ? NOP : ex(imm === 0 ? "MV" : "ADDI", rd, rd, 0, imm);
    },
    (i, p) =>
      cRd(i) === 0 && cImm6(i) === 0
        ? "c.nop"
        : `c.addi ${X(p, cRd(i))}, ${cImm6(i)}`,
  ),
  c(
    "c.addiw",
    Q,
    q(1, 1),
    (i) => cRd(i) === 0 ? undefined : ex("ADDIW", cRd(i), cRd(i), 0, cImm6(i)),
    (i, p) => cRd(i) === 0 ? ILL : `c.addiw ${X(p, cRd(i))}, ${cImm6(i)}`,
  ),
  c(
    "c.li",
    Q,
    q(1, 2),
    (i) => cRd(i) === 0 ? NOP : ex("LI", cRd(i), 0, 0, cImm6(i)),
    (i, p) => `c.li ${X(p, cRd(i))}, ${cImm6(i)}`,
  ),
  c("c.addi16sp", Q | (31 << 7), q(1, 3) | (2 << 7), (i) => {
    const imm = imm16sp(i);
    return imm === 0 ? undefined : ex("ADDI", 2, 2, 0, imm);
  }, (i) => {
    const imm = sext(imm16sp(i), 10);
    return imm === 0 ? ILL : `c.addi16sp sp, ${imm}`;
  }),
  c(
    "c.lui",
    Q,
    q(1, 3),
    (i) => {
      const imm = cImm6(i) << 12;
      if (imm === 0) return undefined;
      return cRd(i) === 0 ? NOP : ex("LUI", cRd(i), 0, 0, imm);
    },
    (i, p) =>
      cImm6(i) === 0
        ? ILL
        : `c.lui ${X(p, cRd(i))}, ${p.hex(cImm6(i) & 0xfffff)}`,
  ),
  c(
    "c.srli",
    Q | (3 << 10),
    q(1, 4),
    (i) => ex("SRLI", cRs1_3(i), cRs1_3(i), 0, cShamt(i)),
    (i, p) => `c.srli ${X(p, cRs1_3(i))}, ${p.hex(cShamt(i))}`,
  ),
  c(
    "c.srai",
    Q | (3 << 10),
    q(1, 4) | (1 << 10),
    (i) => ex("SRAI", cRs1_3(i), cRs1_3(i), 0, cShamt(i)),
    (i, p) => `c.srai ${X(p, cRs1_3(i))}, ${p.hex(cShamt(i))}`,
  ),
  c(
    "c.andi",
    Q | (3 << 10),
    q(1, 4) | (2 << 10),
    (i) => ex("ANDI", cRs1_3(i), cRs1_3(i), 0, cImm6(i)),
    (i, p) => `c.andi ${X(p, cRs1_3(i))}, ${cImm6(i)}`,
  ),
  ...ARITH.map(([name, op, k]) =>
    c(
      name,
      Q | (7 << 10) | (3 << 5),
      q(1, 4) | (3 << 10) | ((k >> 2) << 12) | ((k & 3) << 5),
      (i) => ex(op, cRs1_3(i), cRs1_3(i), cRd3(i), 0),
      (i, p) => `${name} ${X(p, cRs1_3(i))}, ${X(p, cRd3(i))}`,
    )
  ),
  c(
    "c.j",
    Q,
    q(1, 5),
    (i) => ex("JAL", 0, 0, 0, cJ(i)),
    (i, p) => `c.j ${p.target(cJ(i))}`,
    true,
  ),
  c(
    "c.beqz",
    Q,
    q(1, 6),
    (i) => exF("BEQ", 0, cRs1_3(i), 0, cB(i)),
    (i, p) => `c.beqz ${X(p, cRs1_3(i))}, ${p.target(cB(i))}`,
    true,
  ),
  c(
    "c.bnez",
    Q,
    q(1, 7),
    (i) => exF("BNE", 0, cRs1_3(i), 0, cB(i)),
    (i, p) => `c.bnez ${X(p, cRs1_3(i))}, ${p.target(cB(i))}`,
    true,
  ),
  // Quadrant 2
  c(
    "c.slli",
    Q,
    q(2, 0),
    (i) => cRd(i) === 0 ? NOP : ex("SLLI", cRd(i), cRd(i), 0, cShamt(i)),
    (i, p) => `c.slli ${X(p, cRd(i))}, ${p.hex(cShamt(i))}`,
  ),
  c(
    "c.fldsp",
    Q,
    q(2, 1),
    (i) => exF("FLD", cRd(i), 2, 0, cLdsp(i)),
    (i, p) => `c.fldsp ${p.f(cRd(i))}, ${cLdsp(i)}(sp)`,
  ),
  c(
    "c.lwsp",
    Q,
    q(2, 2),
    (i) => cRd(i) === 0 ? undefined : ex("LW", cRd(i), 2, 0, cLwsp(i)),
    (i, p) => cRd(i) === 0 ? ILL : `c.lwsp ${X(p, cRd(i))}, ${cLwsp(i)}(sp)`,
  ),
  c(
    "c.ldsp",
    Q,
    q(2, 3),
    (i) => cRd(i) === 0 ? undefined : ex("LD", cRd(i), 2, 0, cLdsp(i)),
    (i, p) => cRd(i) === 0 ? ILL : `c.ldsp ${X(p, cRd(i))}, ${cLdsp(i)}(sp)`,
  ),
  c(
    "c.jr",
    Q | (1 << 12) | (31 << 2),
    q(2, 4),
    (i) => cRd(i) === 0 ? undefined : ex("JALR", 0, cRd(i), 0, 0),
    (i, p) => cRd(i) === 0 ? ILL : `c.jr ${X(p, cRd(i))}`,
    true,
  ),
  c(
    "c.mv",
    Q | (1 << 12),
    q(2, 4),
    (i) => cRd(i) === 0 ? NOP : ex("MV", cRd(i), cRs2(i), 0, 0),
    (i, p) => `c.mv ${X(p, cRd(i))}, ${X(p, cRs2(i))}`,
  ),
  c(
    "c.ebreak",
    0xffff,
    q(2, 4) | (1 << 12),
    () => exF("EBREAK", 0, 0, 0, 0),
    () => "c.ebreak",
    true,
  ),
  c(
    "c.jalr",
    Q | (1 << 12) | (31 << 2),
    q(2, 4) | (1 << 12),
    (i) => ex("JALR", 1, cRd(i), 0, 0),
    (i, p) => `c.jalr ${X(p, cRd(i))}`,
    true,
  ),
  c(
    "c.add",
    Q | (1 << 12),
    q(2, 4) | (1 << 12),
    (i) => cRd(i) === 0 ? NOP : ex("ADD", cRd(i), cRd(i), cRs2(i), 0),
    (i, p) => `c.add ${X(p, cRd(i))}, ${X(p, cRs2(i))}`,
  ),
  c(
    "c.fsdsp",
    Q,
    q(2, 5),
    (i) => exF("FSD", 0, 2, cRs2(i), cSdsp(i)),
    (i, p) => `c.fsdsp ${p.f(cRs2(i))}, ${cSdsp(i)}(sp)`,
  ),
  c(
    "c.swsp",
    Q,
    q(2, 6),
    (i) => exF("SW", 0, 2, cRs2(i), cSwsp(i)),
    (i, p) => `c.swsp ${X(p, cRs2(i))}, ${cSwsp(i)}(sp)`,
  ),
  c(
    "c.sdsp",
    Q,
    q(2, 7),
    (i) => exF("SD", 0, 2, cRs2(i), cSdsp(i)),
    (i, p) => `c.sdsp ${X(p, cRs2(i))}, ${cSdsp(i)}(sp)`,
  ),
];

/** C. */
export const C: Extension = { name: "C", ops: [], insns: [], cinsns };
