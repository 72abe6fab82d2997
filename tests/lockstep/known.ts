/**
 * Known, documented differences between deja and QEMU 7.2 that the
 * lockstep tester lets through: counters, which count in
 * implementation-defined ways, and QEMU deviations from the spec (each
 * rule names its clause; docs/lockstep.md lists them). When a rule
 * explains every differing register, deja's copies take QEMU's values so
 * that the two runs stay comparable, and the run goes on.
 *
 * @module
 */

import { CSR64 } from "../../core/hart_state.ts";
import type { Cpu } from "../../core/cpu.ts";
import { CSR0, CSR_NAMES, F0, PC, PRIV, X1 } from "./state.ts";
import type { ArchState } from "./state.ts";

const csr = (name: string) => CSR0 + CSR_NAMES.indexOf(name);
const MSTATUS = csr("mstatus");
const MEPC = csr("mepc");
const SEPC = csr("sepc");
const MCAUSE = csr("mcause");
const MTVAL = csr("mtval");
const SCAUSE = csr("scause");
const MEDELEG = csr("medeleg");
const MIDELEG = csr("mideleg");
const MIE = csr("mie");
const MCOUNTEREN = csr("mcounteren");
const SCOUNTEREN = csr("scounteren");

const COUNTER_CSRS = new Set([0xc00, 0xc01, 0xc02, 0xb00, 0xb02]);

/** What a rule sees: the instruction just stepped and both states. */
export interface StepContext {
  /** The instruction bits, if readable. */
  insn: number | undefined;
  /** Its address. */
  prevPc: bigint;
  /** deja's state before the step (equal to QEMU's). */
  before: ArchState;
  /** deja's state after the step. */
  deja: ArchState;
  /** QEMU's state after the step. */
  qemu: ArchState;
}

/** A known difference. */
export interface KnownDifference {
  /** Short name, for the counts in the report. */
  name: string;
  /** Whether the rule explains a difference in register `i`. */
  explains(i: number, c: StepContext): boolean;
}

/** The CSR that a CSR instruction reads (rd != 0), or -1. */
function csrRead(insn: number | undefined): number {
  if (insn === undefined || (insn & 0x7f) !== 0x73) return -1;
  const f3 = (insn >>> 12) & 7;
  if (f3 === 0 || f3 === 4 || ((insn >>> 7) & 31) === 0) return -1;
  return insn >>> 20;
}

function isRd(i: number, insn: number | undefined): boolean {
  return insn !== undefined && i === X1 + ((insn >>> 7) & 31) - 1;
}

const bitOnly = (i: number, c: StepContext, mask: bigint) =>
  (c.deja[i]! ^ c.qemu[i]!) === mask;

/** The rules. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    // Unprivileged spec 20191213, 10.1: the counters' values are
    // implementation-defined beyond counting up.
    name: "counter read",
    explains: (i, c) => isRd(i, c.insn) && COUNTER_CSRS.has(csrRead(c.insn)),
  },
  {
    // The CLINT's mtime (0x200bff8) counts at a platform-defined rate from
    // a platform-defined start; QEMU 7.2's differs from deja's even with
    // the same icount shift. A load of it gets QEMU's value.
    name: "mtime read",
    explains: (i, c) => {
      if (!isRd(i, c.insn) || (c.insn! & 0x7f) !== 0x03) return false;
      const rs1 = (c.insn! >>> 15) & 31;
      const base = rs1 === 0 ? 0n : c.before[X1 + rs1 - 1]!;
      const addr = BigInt.asUintN(64, base + BigInt(c.insn! >> 20));
      return addr >= 0x200bff8n && addr < 0x200c000n;
    },
  },
  {
    // Privileged spec 1.12, 3.1.14 and 4.1.7: "mepc[0]/sepc[0] is always
    // zero". QEMU 7.2 keeps bit 0 as written (and reads it back).
    name: "QEMU: mepc/sepc bit 0",
    explains: (i, c) =>
      bitOnly(i, c, 1n) &&
      (i === MEPC || i === SEPC ||
        (isRd(i, c.insn) &&
          (csrRead(c.insn) === 0x341 || csrRead(c.insn) === 0x141))),
  },
  {
    // Privileged spec 1.12, 3.1.8: medeleg[11] (ecall from M) is
    // read-only zero. QEMU 7.2 lets it be set, and also the bits of the
    // hypervisor's causes (10, 20-23) with the H extension off; those are
    // WARL, and deja keeps them zero.
    name: "QEMU: medeleg bits 10, 11, 20-23",
    explains: (i, c) =>
      ((c.deja[i]! ^ c.qemu[i]!) & ~0xf00c00n) === 0n &&
      (i === MEDELEG || (isRd(i, c.insn) && csrRead(c.insn) === 0x302)),
  },
  {
    // Privileged spec 1.12, 3.1.9: mideleg and mie bits of interrupts
    // that do not exist are WARL. QEMU 7.2 keeps the VS-level bits (2, 6,
    // 10) and LCOFI (13) writable with the H extension off; deja keeps
    // them zero.
    name: "QEMU: mideleg/mie bits 2, 6, 10, 13",
    explains: (i, c) =>
      ((c.deja[i]! ^ c.qemu[i]!) & ~0x2444n) === 0n &&
      (i === MIDELEG || i === MIE ||
        (isRd(i, c.insn) &&
          (csrRead(c.insn) === 0x303 || csrRead(c.insn) === 0x304))),
  },
  {
    // Privileged spec 1.12, 3.1.11: any bit of mcounteren/scounteren "may
    // contain a hardwired value of zero". deja hardwires HPM3-31 (its
    // hpmcounters read as zero and are not offered to S/U); QEMU 7.2 keeps
    // all 32 bits writable.
    name: "mcounteren/scounteren HPM bits",
    explains: (i, c) =>
      ((c.deja[i]! ^ c.qemu[i]!) & ~0xfffffff8n) === 0n &&
      (i === MCOUNTEREN || i === SCOUNTEREN ||
        (isRd(i, c.insn) &&
          (csrRead(c.insn) === 0x306 || csrRead(c.insn) === 0x106))),
  },
  {
    // Unprivileged spec 20191213, 8.2: a misaligned LR/SC raises an
    // address-misaligned (or access-fault) exception. QEMU 7.2 checks the
    // reservation first and, finding none, fails the SC (rd = 1) without
    // trapping. deja trapped (cause 6); it takes QEMU's whole state (an SC
    // that fails writes no memory, and the trap wrote none).
    name: "QEMU: misaligned SC fails without a trap",
    explains: (i, c) =>
      c.insn !== undefined && (c.insn & 0x7f) === 0x2f &&
      (c.insn >>> 27) === 3 && c.deja[MCAUSE] === 6n &&
      c.qemu[PC] === c.prevPc + 4n &&
      c.qemu[X1 + ((c.insn >>> 7) & 31) - 1] === 1n &&
      ([PC, PRIV, MSTATUS, MEPC, MCAUSE, MTVAL].includes(i) ||
        isRd(i, c.insn)),
  },
  {
    // Privileged spec 1.12, table 3.6: a misaligned AMO raises cause 6,
    // "Store/AMO address misaligned", and a faulting one cause 7,
    // "Store/AMO access fault". QEMU 7.2 raises the load causes, 4 and 5.
    name: "QEMU: AMO fault cause",
    explains: (i, c) =>
      (i === MCAUSE || i === SCAUSE) &&
      ((c.deja[i] === 6n && c.qemu[i] === 4n) ||
        (c.deja[i] === 7n && c.qemu[i] === 5n)) &&
      c.insn !== undefined && (c.insn & 0x7f) === 0x2f &&
      (c.insn >>> 27) !== 2,
  },
  {
    // Privileged spec 1.12, 3.1.6.6: FS may be set to Dirty "even if the
    // state has not changed" (a conservative implementation); deja marks
    // Dirty on every FP instruction, QEMU 7.2 only on FP register writes.
    // Both are allowed, so a difference in FS (and SD) alone passes.
    name: "FS Dirty vs Clean",
    explains: (i, c) =>
      i === MSTATUS &&
      ((c.deja[i]! ^ c.qemu[i]!) & ~(0x6000n | (1n << 63n))) === 0n,
  },
];

/**
 * Check whether known rules explain every difference; if so, copy QEMU's
 * values into deja's hart and state.
 *
 * @param diff the differing register indexes
 * @param c the step
 * @param cpu deja's hart
 * @returns the name of each rule used (once per rule), or undefined when some difference is
 * unexplained
 */
export function explainDifferences(
  diff: readonly number[],
  c: StepContext,
  cpu: Cpu,
): string[] | undefined {
  const used: string[] = [];
  for (const i of diff) {
    const rule = KNOWN_DIFFERENCES.find((k) => k.explains(i, c));
    if (!rule) return undefined;
    used.push(rule.name);
  }
  for (const i of diff) {
    adopt(cpu, i, c.qemu[i]!);
    c.deja[i] = c.qemu[i]!;
  }
  return [...new Set(used)];
}

/**
 * Set deja's register `i` (a state index) to `v`, as a rule's adoption
 * does.
 *
 * @param cpu deja's hart
 * @param i the state index
 * @param v the value
 */
export function adopt(cpu: Cpu, i: number, v: bigint): void {
  const lo = Number(BigInt.asIntN(32, v));
  const hi = Number(BigInt.asIntN(32, v >> 32n));
  if (i >= X1 && i < F0) {
    cpu.setX(i - X1 + 1, v);
    return;
  }
  const slots: Record<number, number> = {
    [MEPC]: CSR64.mepc,
    [MCAUSE]: CSR64.mcause,
    [MTVAL]: CSR64.mtval,
    [SEPC]: CSR64.sepc,
    [SCAUSE]: CSR64.scause,
  };
  if (slots[i] !== undefined) {
    cpu.csr64[slots[i]!] = lo;
    cpu.csr64[slots[i]! + 1] = hi;
  } else if (i === MEDELEG) cpu.medeleg = lo;
  else if (i === MIDELEG) cpu.mideleg = lo;
  else if (i === MIE) cpu.mie = lo;
  else if (i === MCOUNTEREN) cpu.mcounteren = lo;
  else if (i === SCOUNTEREN) cpu.scounteren = lo;
  else if (i === MSTATUS) {
    cpu.mstatus = lo;
    cpu.flushTlb();
  } else if (i === PC) cpu.setPc(v);
  else if (i === PRIV) {
    cpu.priv = lo;
    cpu.flushTlb();
  } else throw new Error(`cannot adopt register ${i}`);
}
