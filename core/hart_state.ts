/**
 * The architectural state of one hart, in one `ArrayBuffer` with named
 * indices, so that a snapshot of the hart is a copy of its bytes.
 *
 * The buffer holds, in this order:
 *
 * - `scalars`, a `Float64Array` of {@linkcode HART_SCALARS} numbers indexed
 *   by {@linkcode HART}: the pc as (lo, hi) int32 words, the privilege level,
 *   icount, `wfi` sleep, the 32-bit CSRs, the CSRs wider than 32 bits that are
 *   kept as exact doubles (`satp.PPN`, `stimecmp`), the counter offsets, the
 *   FP flags and rounding mode, the LR/SC reservation and the armed deadline
 *   of the hart's `stimecmp` timer;
 * - `x`, the integer registers as (lo, hi) int32 pairs (slots 64 to 67 absorb
 *   writes to x0);
 * - `f`, the FP registers as (lo, hi) pairs of raw bits;
 * - `csr64`, the CSRs that are plain 64-bit storage, as (lo, hi) pairs at the
 *   indices of {@linkcode CSR64};
 * - `pmpaddr`, the 16 `pmpaddr` registers as (lo, hi) pairs;
 * - `pmpcfg`, the 16 `pmpcfg` bytes.
 *
 * Every value is an integer (doubles only hold integers below 2^53, or
 * `Infinity` for a disarmed timer), so the bytes are deterministic on every
 * little-endian host, which is every host that Deno runs on.
 *
 * @module
 */

/**
 * Indices into {@linkcode HartState.scalars}.
 *
 * 64-bit quantities that fit a double exactly (`icount`, `stimecmp`,
 * `satpPpn`, counter offsets) are one slot; the pc is two int32 words, as in
 * the interpreter.
 */
export const HART = {
  /** Low word of the pc (int32). */
  pcLo: 0,
  /** High word of the pc (int32). */
  pcHi: 1,
  /** Privilege level: 0 U, 1 S, 3 M. */
  priv: 2,
  /** Instructions retired since reset. */
  icount: 3,
  /** 1 while the hart sleeps in `wfi`. */
  waiting: 4,
  /** `mstatus`, low word (the high word is derived). */
  mstatus: 5,
  /** `mie`. */
  mie: 6,
  /** Effective `mip`: `mipHw | mipSw`. */
  mip: 7,
  /** `mip` bits driven by interrupt lines (CLINT, PLIC, Sstc). */
  mipHw: 8,
  /** `mip` bits written by software. */
  mipSw: 9,
  /** `mideleg`. */
  mideleg: 10,
  /** `medeleg`. */
  medeleg: 11,
  /** `mcounteren`. */
  mcounteren: 12,
  /** `scounteren`. */
  scounteren: 13,
  /** `mcountinhibit`. */
  mcountinhibit: 14,
  /** `satp.MODE` (0 or 8). */
  satpMode: 15,
  /** `satp.PPN` (up to 44 bits). */
  satpPpn: 16,
  /** `satp.ASID`. */
  satpAsid: 17,
  /** `stimecmp` (Sstc), `Number.MAX_SAFE_INTEGER` after reset. */
  stimecmp: 18,
  /** Virtual-time deadline of the `stimecmp` timer, `Infinity` when disarmed. */
  stimerDeadline: 19,
  /** `mcycle - icount` while counting. */
  cycleOffset: 20,
  /** `minstret - icount` while counting. */
  instretOffset: 21,
  /** `mcycle` while inhibited. */
  cycleFrozen: 22,
  /** `minstret` while inhibited. */
  instretFrozen: 23,
  /** `fflags`. */
  fflags: 24,
  /** `frm`. */
  frm: 25,
  /** 1 while an LR reservation is held. */
  resValid: 26,
  /** Physical address of the reservation. */
  resAddr: 27,
  /** Low word of the value that LR read. */
  resLo: 28,
  /** High word of the value that LR read. */
  resHi: 29,
} as const;

/** Number of slots in {@linkcode HartState.scalars}. */
export const HART_SCALARS = 32;

/**
 * Indices into {@linkcode HartState.csr64} of the CSRs kept as plain 64-bit
 * (lo, hi) pairs: the low word is at the index, the high word after it.
 */
export const CSR64 = {
  /** `mtvec`. */
  mtvec: 0,
  /** `mepc`. */
  mepc: 2,
  /** `mcause`. */
  mcause: 4,
  /** `mtval`. */
  mtval: 6,
  /** `mscratch`. */
  mscratch: 8,
  /** `stvec`. */
  stvec: 10,
  /** `sepc`. */
  sepc: 12,
  /** `scause`. */
  scause: 14,
  /** `stval`. */
  stval: 16,
  /** `sscratch`. */
  sscratch: 18,
  /** `menvcfg`. */
  menvcfg: 20,
  /** `senvcfg`. */
  senvcfg: 22,
} as const;

/** Version of the layout that {@linkcode encodeHartState} writes. */
export const HART_STATE_VERSION = 1;

const MAGIC = 0x53484a44; // "DJHS" little-endian
const HEADER = 12;

// Byte offsets of the views.
const OFF_SCALARS = 0;
const OFF_X = OFF_SCALARS + HART_SCALARS * 8;
const OFF_F = OFF_X + 68 * 4;
const OFF_CSR64 = OFF_F + 64 * 4;
const OFF_PMPADDR = OFF_CSR64 + 32 * 4;
const OFF_PMPCFG = OFF_PMPADDR + 32 * 4;

/** Size in bytes of a hart's state (without the snapshot header). */
export const HART_STATE_BYTES: number = OFF_PMPCFG + 16;

/**
 * The architectural state of one hart, as typed-array views over one buffer.
 *
 * @example Copy one hart's state into another
 * ```ts
 * import { HART, HartState } from "./hart_state.ts";
 * const a = new HartState();
 * a.scalars[HART.icount] = 42;
 * a.x[2] = 7; // x1, low word
 * const b = new HartState();
 * b.bytes.set(a.bytes);
 * if (b.scalars[HART.icount] !== 42 || b.x[2] !== 7) throw new Error("unreachable");
 * ```
 */
export class HartState {
  /** The whole state as bytes. */
  readonly bytes: Uint8Array;
  /** Scalars, indexed by {@linkcode HART}. */
  readonly scalars: Float64Array;
  /** Integer registers as (lo, hi) pairs; slots 64 to 67 absorb x0 writes. */
  readonly x: Int32Array;
  /** FP registers as (lo, hi) pairs of raw bits. */
  readonly f: Int32Array;
  /** 64-bit CSRs as (lo, hi) pairs, indexed by {@linkcode CSR64}. */
  readonly csr64: Int32Array;
  /** `pmpaddr0..15` as (lo, hi) pairs. */
  readonly pmpaddr: Int32Array;
  /** `pmpcfg` bytes, one per entry. */
  readonly pmpcfg: Uint8Array;

  /** Make a zeroed state. */
  constructor() {
    const buf = new ArrayBuffer(HART_STATE_BYTES);
    this.bytes = new Uint8Array(buf);
    this.scalars = new Float64Array(buf, OFF_SCALARS, HART_SCALARS);
    this.x = new Int32Array(buf, OFF_X, 68);
    this.f = new Int32Array(buf, OFF_F, 64);
    this.csr64 = new Int32Array(buf, OFF_CSR64, 32);
    this.pmpaddr = new Int32Array(buf, OFF_PMPADDR, 32);
    this.pmpcfg = new Uint8Array(buf, OFF_PMPCFG, 16);
  }
}

/**
 * Encode a hart's state as a versioned snapshot: a 12-byte header (magic
 * `DJHS`, version, payload length, all little-endian) and the state's bytes.
 *
 * @param state the state to encode
 * @returns a new byte array
 * @example Encode and decode
 * ```ts
 * import { decodeHartState, encodeHartState, HART, HartState } from "./hart_state.ts";
 * const s = new HartState();
 * s.scalars[HART.priv] = 3;
 * const t = new HartState();
 * decodeHartState(encodeHartState(s), t);
 * if (t.scalars[HART.priv] !== 3) throw new Error("unreachable");
 * ```
 */
export function encodeHartState(state: HartState): Uint8Array {
  const out = new Uint8Array(HEADER + HART_STATE_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, HART_STATE_VERSION, true);
  v.setUint32(8, HART_STATE_BYTES, true);
  out.set(state.bytes, HEADER);
  return out;
}

/**
 * Decode a snapshot made by {@linkcode encodeHartState} into `into`. Nothing
 * is written unless the whole snapshot is valid.
 *
 * @param bytes the snapshot
 * @param into where to put the state
 * @throws {SyntaxError} when the bytes are not a hart snapshot
 * @throws {RangeError} when the version or size is not this build's
 * @example Refuse bytes that are not a snapshot
 * ```ts
 * import { decodeHartState, HartState } from "./hart_state.ts";
 * let message = "";
 * try {
 *   decodeHartState(new Uint8Array(4), new HartState());
 * } catch (e) {
 *   message = (e as Error).message;
 * }
 * if (!message.startsWith("Cannot load hart state")) throw new Error("unreachable");
 * ```
 */
export function decodeHartState(bytes: Uint8Array, into: HartState): void {
  if (bytes.length < HEADER) {
    throw new SyntaxError(
      `Cannot load hart state: ${bytes.length} bytes is too short for a snapshot header (${HEADER} bytes)`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (v.getUint32(0, true) !== MAGIC) {
    throw new SyntaxError(
      "Cannot load hart state: not a deja hart snapshot (bad magic; expected DJHS, as Cpu.saveState writes)",
    );
  }
  const version = v.getUint32(4, true);
  if (version !== HART_STATE_VERSION) {
    throw new RangeError(
      `Cannot load hart state: version ${version} is not supported (this build reads version ${HART_STATE_VERSION})`,
    );
  }
  const size = v.getUint32(8, true);
  if (size !== HART_STATE_BYTES || bytes.length !== HEADER + size) {
    throw new RangeError(
      `Cannot load hart state: payload is ${
        bytes.length - HEADER
      } bytes (header says ${size}), expected ${HART_STATE_BYTES}`,
    );
  }
  into.bytes.set(bytes.subarray(HEADER));
}
