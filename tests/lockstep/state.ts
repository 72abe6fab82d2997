/**
 * The architectural state that the lockstep tester compares, read from
 * deja's hart, and the comparison and its report.
 *
 * A state is a flat `BigUint64Array` in the order of {@linkcode REG_NAMES}:
 * the pc, the privilege level, x1..x31, f0..f31 (raw 64-bit patterns, so a
 * NaN-boxed single and its payload compare bit for bit), `fcsr`, then the
 * CSRs in {@linkcode CSR_NAMES}. The names are those of QEMU's GDB target
 * description, so the QEMU side can look each one up.
 *
 * @module
 */

import { CSR64 } from "../../core/hart_state.ts";
import type { Cpu } from "../../core/cpu.ts";
import { F_NAMES, X_NAMES } from "../../core/disasm.ts";

/**
 * The CSRs compared after every step, by their names in QEMU's target
 * description (and in the privileged spec).
 */
export const CSR_NAMES: readonly string[] = [
  "mstatus",
  "mepc",
  "mcause",
  "mtval",
  "mtvec",
  "mscratch",
  "mie",
  "mip",
  "medeleg",
  "mideleg",
  "mcounteren",
  "sepc",
  "scause",
  "stval",
  "stvec",
  "sscratch",
  "scounteren",
  "satp",
];

/** Every compared register, in state order. */
export const REG_NAMES: readonly string[] = [
  "pc",
  "priv",
  ...X_NAMES.slice(1).map((n, i) => `x${i + 1}/${n}`),
  ...F_NAMES.map((n, i) => `f${i}/${n}`),
  "fcsr",
  ...CSR_NAMES,
];

/** Index of the pc in a state. */
export const PC = 0;
/** Index of the privilege level. */
export const PRIV = 1;
/** Index of x1 (x_i is at X1 + i - 1). */
export const X1 = 2;
/** Index of f0. */
export const F0: number = X1 + 31;
/** Index of fcsr. */
export const FCSR: number = F0 + 32;
/** Index of the first CSR of {@linkcode CSR_NAMES}. */
export const CSR0: number = FCSR + 1;

/** A state: one 64-bit value per entry of {@linkcode REG_NAMES}. */
export type ArchState = BigUint64Array;

/**
 * A fresh all-zero state.
 *
 * @returns the state
 */
export function newState(): ArchState {
  return new BigUint64Array(REG_NAMES.length);
}

function pair(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

const MS_FS = 3 << 13;

/**
 * Read deja's hart into `out`, with CSR values as the CSR instructions
 * would read them.
 *
 * @param cpu the hart
 * @param out where to put the state
 * @returns `out`
 */
export function readDejaState(cpu: Cpu, out: ArchState): ArchState {
  out[PC] = cpu.getPc();
  out[PRIV] = BigInt(cpu.priv);
  const x = cpu.x, f = cpu.f;
  for (let i = 1; i < 32; i++) out[X1 + i - 1] = pair(x[2 * i]!, x[2 * i + 1]!);
  for (let i = 0; i < 32; i++) out[F0 + i] = pair(f[2 * i]!, f[2 * i + 1]!);
  out[FCSR] = BigInt(cpu.fcsr);
  const c = cpu.csr64;
  const slot = (s: number) => pair(c[s]!, c[s + 1]!);
  const sd = (cpu.mstatus & MS_FS) === MS_FS ? 0x80000000 : 0;
  const values: Record<string, bigint> = {
    mstatus: pair(cpu.mstatus, 0xa | sd),
    mtvec: slot(CSR64.mtvec),
    mepc: slot(CSR64.mepc),
    mcause: slot(CSR64.mcause),
    mtval: slot(CSR64.mtval),
    mscratch: slot(CSR64.mscratch),
    stvec: slot(CSR64.stvec),
    sepc: slot(CSR64.sepc),
    scause: slot(CSR64.scause),
    stval: slot(CSR64.stval),
    sscratch: slot(CSR64.sscratch),
    mie: BigInt(cpu.mie >>> 0),
    mip: BigInt(cpu.mip >>> 0),
    medeleg: BigInt(cpu.medeleg >>> 0),
    mideleg: BigInt(cpu.mideleg >>> 0),
    mcounteren: BigInt(cpu.mcounteren >>> 0),
    scounteren: BigInt(cpu.scounteren >>> 0),
    satp: (BigInt(cpu.satpMode) << 60n) | (BigInt(cpu.satpAsid) << 44n) |
      BigInt(cpu.satpPpn),
  };
  for (let i = 0; i < CSR_NAMES.length; i++) {
    out[CSR0 + i] = values[CSR_NAMES[i]!]!;
  }
  return out;
}

/**
 * The indexes where two states differ.
 *
 * @param a one state
 * @param b the other
 * @returns the differing indexes (empty when equal)
 * @example
 * ```ts
 * import { diffStates, newState, REG_NAMES, X1 } from "./state.ts";
 * const a = newState(), b = newState();
 * b[X1 + 9] = 1n; // x10
 * const d = diffStates(a, b);
 * if (REG_NAMES[d[0]!] !== "x10/a0") throw new Error("unreachable");
 * ```
 */
export function diffStates(a: ArchState, b: ArchState): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

function hex(v: bigint): string {
  return "0x" + v.toString(16).padStart(16, "0");
}

/**
 * Both states side by side, one register per line; differing lines are
 * marked with `!!` (and shown in red when `color` is set).
 *
 * @param deja deja's state
 * @param qemu QEMU's state
 * @param color whether to use ANSI colours
 * @returns the table
 */
export function formatStates(
  deja: ArchState,
  qemu: ArchState,
  color = false,
): string {
  const lines = [`   ${"register".padEnd(12)} ${"deja".padEnd(18)} qemu`];
  for (let i = 0; i < REG_NAMES.length; i++) {
    const differs = deja[i] !== qemu[i];
    let line = `${differs ? "!!" : "  "} ${REG_NAMES[i]!.padEnd(12)} ${
      hex(deja[i]!)
    }   ${hex(qemu[i]!)}`;
    if (differs && color) line = `\x1b[1;31m${line}\x1b[0m`;
    lines.push(line);
  }
  return lines.join("\n");
}
