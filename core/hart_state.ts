/**
 * The architectural state of one hart, in one `ArrayBuffer` with named
 * indices, so that a snapshot of the hart is a copy of its bytes.
 *
 * The buffer holds, in this order:
 *
 * - `scalars`, a `Float64Array` of {@linkcode HART_SCALARS} numbers indexed
 *   by {@linkcode HART64}: icount, the CSRs wider than 32 bits that are kept
 *   as exact doubles (`satp.PPN`, `stimecmp`), the counter offsets, the LR/SC
 *   reservation's address and the armed deadline of the hart's `stimecmp`
 *   timer;
 * - `words`, an `Int32Array` of {@linkcode HART_WORDS} words indexed by
 *   {@linkcode HART}: the pc as (lo, hi), the privilege level, `wfi` sleep,
 *   the 32-bit CSRs, the FP flags and rounding mode, the rest of the
 *   reservation, `tselect`;
 * - `x`, the integer registers as (lo, hi) int32 pairs (slots 64 to 67 absorb
 *   writes to x0);
 * - `f`, the FP registers as (lo, hi) pairs of raw bits;
 * - `csr64`, the CSRs that are plain 64-bit storage, as (lo, hi) pairs at the
 *   indices of {@linkcode CSR64}, and the two debug triggers' `tdata1` and
 *   `tdata2`;
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
 * Indices into {@linkcode HartState.words}: the state that fits 32 bits,
 * kept as int32 so that the interpreter reads and writes it without
 * conversions.
 */
export const HART = {
  /** Low word of the pc. */
  pcLo: 0,
  /** High word of the pc. */
  pcHi: 1,
  /** Privilege level: 0 U, 1 S, 3 M. */
  priv: 2,
  /** 1 while the hart sleeps in `wfi`. */
  waiting: 3,
  /** `mstatus`, low word (the high word is derived). */
  mstatus: 4,
  /** `mie`. */
  mie: 5,
  /** Effective `mip`: `mipHw | mipSw`. */
  mip: 6,
  /** `mip` bits driven by interrupt lines (CLINT, PLIC, Sstc). */
  mipHw: 7,
  /** `mip` bits written by software. */
  mipSw: 8,
  /** `mideleg`. */
  mideleg: 9,
  /** `medeleg`. */
  medeleg: 10,
  /** `mcounteren`. */
  mcounteren: 11,
  /** `scounteren`. */
  scounteren: 12,
  /** `mcountinhibit`. */
  mcountinhibit: 13,
  /** `satp.MODE` (0 or 8). */
  satpMode: 14,
  /** `satp.ASID`. */
  satpAsid: 15,
  /** `fflags`. */
  fflags: 16,
  /** `frm`. */
  frm: 17,
  /** 1 while an LR reservation is held. */
  resValid: 18,
  /** Low word of the value that LR read. */
  resLo: 19,
  /** High word of the value that LR read. */
  resHi: 20,
  /** `tselect`: the debug trigger that `tdata1`/`tdata2` address (0 or 1). */
  tselect: 21,
} as const;

/** Number of slots in {@linkcode HartState.words}. */
export const HART_WORDS = 32;

/**
 * Indices into {@linkcode HartState.scalars}: the state wider than 32 bits,
 * kept as exact doubles (integers below 2^53, or `Infinity`).
 */
export const HART64 = {
  /** Instructions retired since reset. */
  icount: 0,
  /** `satp.PPN` (up to 44 bits). */
  satpPpn: 1,
  /** `stimecmp` (Sstc), `Number.MAX_SAFE_INTEGER` after reset. */
  stimecmp: 2,
  /** Virtual-time deadline of the `stimecmp` timer, `Infinity` when disarmed. */
  stimerDeadline: 3,
  /** `mcycle - icount` while counting. */
  cycleOffset: 4,
  /** `minstret - icount` while counting. */
  instretOffset: 5,
  /** `mcycle` while inhibited. */
  cycleFrozen: 6,
  /** `minstret` while inhibited. */
  instretFrozen: 7,
  /** Physical address of the LR reservation. */
  resAddr: 8,
} as const;

/** Number of slots in {@linkcode HartState.scalars}. */
export const HART_SCALARS = 16;

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
  /**
   * `tdata1` of debug triggers 0 and 1 (at 24 and 26), with the type field
   * (bits 63..60) stored XOR 2, so that the all-zero reset state reads as an
   * mcontrol (type 2) trigger that matches nothing.
   */
  tdata1: 24,
  /** `tdata2` of debug triggers 0 and 1 (at 28 and 30). */
  tdata2: 28,
} as const;

/** Version of the layout that {@linkcode encodeHartState} writes. */
export const HART_STATE_VERSION = 2;

const MAGIC = 0x53484a44; // "DJHS" little-endian
const HEADER = 12;

// Byte offsets of the views.
const OFF_SCALARS = 0;
/** Byte offset of the 32-bit state (the pc first, as lo and hi words). */
export const OFF_WORDS: number = OFF_SCALARS + HART_SCALARS * 8;
/** Byte offset of the integer registers (little-endian 64-bit values). */
export const OFF_X: number = OFF_WORDS + HART_WORDS * 4;
const OFF_F = OFF_X + 68 * 4;
const OFF_CSR64 = OFF_F + 64 * 4;
const OFF_PMPADDR = OFF_CSR64 + 32 * 4;
const OFF_PMPCFG = OFF_PMPADDR + 32 * 4;

/** Size in bytes of a hart's state (without the snapshot header). */
export const HART_STATE_BYTES: number = OFF_PMPCFG + 16;

/**
 * Byte offset, in the hart's {@linkcode HartState.memory}, of the TLBs that
 * compiled code reads (after the state; not part of it).
 */
export const TLB_OFF = 8192;

/**
 * Entries of each TLB there: load tags, load offsets, store tags, store
 * offsets, as int32 arrays in that order.
 */
export const TLB_ENTRIES = 256;

/**
 * The architectural state of one hart, as typed-array views over one buffer.
 *
 * @example Copy one hart's state into another
 * ```ts
 * import { HART64, HartState } from "./hart_state.ts";
 * const a = new HartState();
 * a.scalars[HART64.icount] = 42;
 * a.x[2] = 7; // x1, low word
 * const b = new HartState();
 * b.bytes.set(a.bytes);
 * if (b.scalars[HART64.icount] !== 42 || b.x[2] !== 7) throw new Error("unreachable");
 * ```
 */
export class HartState {
  /**
   * The memory that holds the state (at 0) and the TLBs (at
   * {@linkcode TLB_OFF}), which WebAssembly translations import.
   */
  readonly memory: WebAssembly.Memory;
  /** The whole state as bytes. */
  readonly bytes: Uint8Array;
  /** State wider than 32 bits, indexed by {@linkcode HART64}. */
  readonly scalars: Float64Array;
  /** 32-bit state, indexed by {@linkcode HART}. */
  readonly words: Int32Array;
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
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const buf = this.memory.buffer;
    this.bytes = new Uint8Array(buf, 0, HART_STATE_BYTES);
    this.scalars = new Float64Array(buf, OFF_SCALARS, HART_SCALARS);
    this.words = new Int32Array(buf, OFF_WORDS, HART_WORDS);
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
 * s.words[HART.priv] = 3;
 * const t = new HartState();
 * decodeHartState(encodeHartState(s), t);
 * if (t.words[HART.priv] !== 3) throw new Error("unreachable");
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
