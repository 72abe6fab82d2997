/**
 * The CSRs that deja's hart implements, in one table: number, name, the
 * lowest privilege that may access it and whether it is read-only (both
 * encoded in the number, as the privileged spec defines), and where its value
 * lives in {@linkcode HartState} when it is plain storage.
 *
 * `Cpu`'s CSR read and write paths switch on the names of {@linkcode CSR};
 * the disassembler and debuggers name CSRs from {@linkcode CSR_DEFS}.
 *
 * Reference: RISC-V Privileged Architecture 1.12, section 2.2 (CSR listing);
 * the trigger CSRs (`tselect`, `tdata1`-`tdata3`, `tinfo`): RISC-V Debug
 * Specification 1.0, chapter 5 (Sdtrig).
 *
 * @module
 */

import { CSR64, HART, HART64 } from "./hart_state.ts";

/** Numbers of the CSRs that deja implements, by name. */
export const CSR = {
  fflags: 0x001,
  frm: 0x002,
  fcsr: 0x003,
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  stimecmp: 0x14d,
  satp: 0x180,
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  pmpcfg0: 0x3a0,
  pmpcfg2: 0x3a2,
  pmpaddr0: 0x3b0,
  tselect: 0x7a0,
  tdata1: 0x7a1,
  tdata2: 0x7a2,
  tdata3: 0x7a3,
  tinfo: 0x7a4,
  mcycle: 0xb00,
  minstret: 0xb02,
  hpmcounter3: 0xc03,
  mhpmcounter3: 0xb03,
  mhpmevent3: 0x323,
} as const;

/** Where a CSR's value lives. */
export type CsrStorage =
  /** A (lo, hi) pair of {@linkcode HartState.csr64} at this index. */
  | { readonly kind: "csr64"; readonly index: number }
  /** A word of {@linkcode HartState.words}. */
  | { readonly kind: "word"; readonly index: number }
  /** A slot of {@linkcode HartState.scalars}. */
  | { readonly kind: "scalar"; readonly index: number }
  /** Computed from other state (a view, a counter, a constant). */
  | { readonly kind: "derived"; readonly from: string };

/** One CSR. */
export interface CsrDef {
  /** The 12-bit CSR number. */
  readonly num: number;
  /** The assembler name. */
  readonly name: string;
  /** Lowest privilege that may access it: bits 9..8 of the number. */
  readonly priv: number;
  /** Whether writes are illegal: bits 11..10 of the number are 3. */
  readonly readOnly: boolean;
  /** Where its value lives. */
  readonly storage: CsrStorage;
}

const pair = (index: number): CsrStorage => ({ kind: "csr64", index });
const word = (index: number): CsrStorage => ({ kind: "word", index });
const scalar = (index: number): CsrStorage => ({ kind: "scalar", index });
const derived = (from: string): CsrStorage => ({ kind: "derived", from });

const STORAGE: Record<string, CsrStorage> = {
  fflags: word(HART.fflags),
  frm: word(HART.frm),
  fcsr: derived("frm << 5 | fflags"),
  cycle: derived("mcycle"),
  time: derived("the time source's mtime"),
  instret: derived("minstret"),
  sstatus: derived("mstatus, masked"),
  sie: derived("mie & mideleg"),
  stvec: pair(CSR64.stvec),
  scounteren: word(HART.scounteren),
  senvcfg: pair(CSR64.senvcfg),
  sscratch: pair(CSR64.sscratch),
  sepc: pair(CSR64.sepc),
  scause: pair(CSR64.scause),
  stval: pair(CSR64.stval),
  sip: derived("mip & mideleg"),
  stimecmp: scalar(HART64.stimecmp),
  satp: derived("satpMode, satpAsid, satpPpn"),
  mvendorid: derived("0"),
  marchid: derived("0"),
  mimpid: derived("0"),
  mhartid: derived("the hart id"),
  mconfigptr: derived("0"),
  mstatus: word(HART.mstatus),
  misa: derived("RV64 ACDFIMSU"),
  medeleg: word(HART.medeleg),
  mideleg: word(HART.mideleg),
  mie: word(HART.mie),
  mtvec: pair(CSR64.mtvec),
  mcounteren: word(HART.mcounteren),
  menvcfg: pair(CSR64.menvcfg),
  mcountinhibit: word(HART.mcountinhibit),
  mscratch: pair(CSR64.mscratch),
  mepc: pair(CSR64.mepc),
  mcause: pair(CSR64.mcause),
  mtval: pair(CSR64.mtval),
  mip: derived("mipHw | mipSw"),
  tselect: word(HART.tselect),
  tdata1: derived("the selected trigger's csr64 tdata1 pair, type XOR 2"),
  tdata2: derived("the selected trigger's csr64 tdata2 pair"),
  tdata3: derived("0"),
  tinfo: derived("types 2 and 6 (mcontrol, mcontrol6)"),
  mcycle: derived("icount + cycleOffset, or cycleFrozen"),
  minstret: derived("icount + instretOffset, or instretFrozen"),
};

function def(num: number, name: string, storage: CsrStorage): CsrDef {
  return {
    num,
    name,
    priv: (num >>> 8) & 3,
    readOnly: (num >>> 10) === 3,
    storage,
  };
}

/**
 * Every CSR that deja implements, with its number, name, privilege and
 * storage (pmp and hpm registers included, one entry each).
 *
 * @example Look up a CSR
 * ```ts
 * import { CSR_DEFS } from "./csr.ts";
 * const mepc = CSR_DEFS.find((d) => d.name === "mepc")!;
 * if (mepc.num !== 0x341 || mepc.priv !== 3 || mepc.readOnly) throw new Error("unreachable");
 * ```
 */
export const CSR_DEFS: readonly CsrDef[] = [
  ...Object.entries(CSR)
    .filter(([name]) => STORAGE[name] !== undefined)
    .map(([name, num]) => def(num, name, STORAGE[name]!)),
  ...[0, 2].map((i) => def(0x3a0 + i, `pmpcfg${i}`, derived("pmpcfg bytes"))),
  ...Array.from(
    { length: 16 },
    (_, i) => def(0x3b0 + i, `pmpaddr${i}`, derived(`pmpaddr[${i}]`)),
  ),
  ...Array.from(
    { length: 29 },
    (_, i) => def(0xc03 + i, `hpmcounter${i + 3}`, derived("0")),
  ),
  ...Array.from(
    { length: 29 },
    (_, i) => def(0xb03 + i, `mhpmcounter${i + 3}`, derived("0")),
  ),
  ...Array.from(
    { length: 29 },
    (_, i) => def(0x323 + i, `mhpmevent${i + 3}`, derived("0")),
  ),
];

const BY_NUM = new Map(CSR_DEFS.map((d) => [d.num, d]));
const BY_NAME = new Map(CSR_DEFS.map((d) => [d.name, d]));

/**
 * Find a CSR by number or name.
 *
 * @param csr a 12-bit number or an assembler name
 * @returns its definition, or undefined if deja does not implement it
 * @example
 * ```ts
 * import { findCsr } from "./csr.ts";
 * if (findCsr("satp")?.num !== 0x180 || findCsr(0x180)?.name !== "satp") {
 *   throw new Error("unreachable");
 * }
 * ```
 */
export function findCsr(csr: number | string): CsrDef | undefined {
  return typeof csr === "number" ? BY_NUM.get(csr) : BY_NAME.get(csr);
}
