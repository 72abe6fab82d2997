/**
 * One RV64GC hart: the interpreter loop, CSRs, traps and interrupts, Sv39
 * and PMP.
 *
 * Reference: RISC-V Unprivileged ISA 20191213 and Privileged Architecture
 * 1.12 (machine and supervisor levels, Sv39, PMP, Sstc). Behaviour left to the
 * implementation follows QEMU 7.2's `target/riscv`: misaligned loads and stores
 * succeed, A/D bits are set by hardware, `mtval` holds the instruction bits on
 * an illegal instruction, and SC succeeds only if the reserved location still
 * holds the value that LR read. Not modelled: the hypervisor extension, debug
 * triggers, PMA attributes, and hardware performance counters other than
 * cycle and instret.
 *
 * Design for speed (see docs/architecture.md): registers are (lo, hi) int32
 * pairs in one `Int32Array`; instructions are decoded once per physical page
 * into packed `Int32Array`s that the loop dispatches on; a software TLB maps
 * virtual pages straight to RAM offsets; guest faults are values that the
 * loop turns into traps, never host exceptions. The instructions themselves
 * are defined in core/isa/, and the loop (core/interp.ts) and the block
 * compiler (core/_block.ts) are generated from those definitions; this file
 * keeps the machinery they call: traps, translation, PMP, slow memory
 * paths, atomics, system and CSR instructions.
 *
 * @module
 */

import type { Bus } from "./bus.ts";
import type { VirtualClock, VirtualTimer } from "./clock.ts";
import type { InterruptTarget } from "./irq.ts";
import { decode16, decode32, isControl, OP } from "./isa/mod.ts";
import { Fpu } from "./fpu.ts";
import {
  CSR64,
  decodeHartState,
  encodeHartState,
  HART,
  HART64,
  HartState,
  TLB_ENTRIES,
  TLB_OFF,
} from "./hart_state.ts";
import { CSR, CSR_DEFS } from "./csr.ts";
import { compileBlock, measureBlock, NO_WASM } from "./_block.ts";
import {
  COUNT_PAGES,
  instantiatePage,
  newPageTable,
  planWasmBlock,
  type WasmBlockPlan,
  wasmRegions,
  type WasmRun,
} from "./_wasm.ts";
import { makeRun, type RunFn } from "./interp.ts";
import type { BlockExtent, BlockFn, CompiledBlock } from "./_block.ts";

/** User privilege level. */
export const PRIV_U = 0;
/** Supervisor privilege level. */
export const PRIV_S = 1;
/** Machine privilege level. */
export const PRIV_M = 3;

/** Why {@linkcode Cpu.run} returned. */
export const StopReason = {
  /** The instruction budget ran out. */
  Budget: 0,
  /** The hart executed `wfi` and nothing is pending. */
  Idle: 1,
  /** Someone called {@linkcode Cpu.requestStop}. */
  Requested: 2,
  /**
   * The hart took 100,000 traps in a row without retiring an instruction
   * (for example `mtvec` points at unmapped memory).
   */
  TrapLoop: 3,
} as const;

/** A value of {@linkcode StopReason}. */
export type StopReason = typeof StopReason[keyof typeof StopReason];

/** Exception cause codes (`mcause` with the interrupt bit clear). */
export const Cause = {
  InsnMisaligned: 0,
  InsnAccessFault: 1,
  IllegalInsn: 2,
  Breakpoint: 3,
  LoadMisaligned: 4,
  LoadAccessFault: 5,
  StoreMisaligned: 6,
  StoreAccessFault: 7,
  EcallU: 8,
  EcallS: 9,
  EcallM: 11,
  InsnPageFault: 12,
  LoadPageFault: 13,
  StorePageFault: 15,
} as const;

/** Where the hart reads `mtime` from (the CLINT). */
export interface TimeSource {
  /**
   * Read the timer.
   *
   * @returns the current `mtime` value
   */
  readMtime(): number;
  /**
   * Convert a timer value to virtual time.
   *
   * @param ticks an `mtime` value
   * @returns the virtual time in ns at which `mtime` reaches `ticks`
   */
  mtimeToNs(ticks: number): number;
}

/** Options for {@linkcode Cpu}. */
export interface CpuOptions {
  /** The physical bus. */
  bus: Bus;
  /** The virtual clock, for Sstc's `stimecmp` timer. */
  clock: VirtualClock;
  /** Where `time` comes from; without one, `time` reads as 0. */
  time?: TimeSource;
  /**
   * Hart id (`mhartid`).
   *
   * @default {0}
   */
  hartId?: number;
}

/** A page of decoded instructions: one slot per 2-byte offset. */
class DecodedPage {
  /** Packed op words; slots 2048 and 2049 are page-end sentinels. */
  readonly ops: Int32Array = new Int32Array(2050);
  /** Immediates. */
  readonly imm: Int32Array = new Int32Array(2050);
  /** Physical address of the page. */
  readonly paddr: number;
  /** RAM byte offset of the page, or -1 for ROM. */
  readonly ramOff: number;
  /** Whether any slot is decoded. */
  hot = false;
  /** Taken-branch counts per slot, to find hot block starts. */
  readonly heat: Uint8Array = new Uint8Array(2048);
  /** Compiled blocks; a BLOCK op's immediate indexes this array. */
  readonly blocks: CompiledBlock[] = [];
  /** Slots that some compiled block covers. */
  covered: Uint8Array | undefined;
  /** The blocks translated to WebAssembly, and their plans. */
  wasmBlocks: CompiledBlock[] = [];
  wasmPlans: WasmBlockPlan[] = [];
  /** The translated blocks' functions by start slot (core/_wasm.ts). */
  table: WebAssembly.Table | undefined;
  /**
   * Hot block starts too short for a JavaScript block, to translate with
   * the page's next WebAssembly translation.
   */
  pending: Set<number> | undefined;
  /**
   * Block starts per slot, counted by `Cpu.runCounted` (until drained);
   * slot 2048 absorbs counts for the next page.
   */
  counts: Uint32Array | undefined;
  /** Byte offset of `counts` in the hart's count memory, if it is there. */
  countsBase: number | undefined;
  /** The virtual page the counting loop last entered this page through. */
  vbLo = 0;
  vbHi = 0;
  constructor(paddr: number, ramOff: number) {
    this.paddr = paddr;
    this.ramOff = ramOff;
    this.ops[2048] = this.ops[2049] = 1; // PAGE_END
  }
  /**
   * Forget the decoded slots that bytes [off, off + len) may belong to.
   * Returns whether any was decoded (or in a compiled block).
   */
  invalidate(off: number, len: number): boolean {
    const first = off > 0 ? (off - 2) >> 1 : 0; // a 32-bit insn may start 2 before
    const last = Math.min(2047, (off + len - 1) >> 1);
    const cov = this.covered;
    let hit = false;
    if (cov !== undefined) {
      for (let i = first; i <= last; i++) {
        if (cov[i] !== 0) {
          this.dropBlocks();
          hit = true;
          break;
        }
      }
    }
    for (let i = first; i <= last; i++) {
      if (this.ops[i] !== 0) {
        this.ops[i] = 0;
        hit = true;
      }
    }
    return hit;
  }
  /** Put back the interpreted ops where blocks started. */
  dropBlocks(): void {
    for (const b of this.blocks) {
      if (this.ops[b.start >> 1] === 94) {
        this.ops[b.start >> 1] = b.w0;
        this.imm[b.start >> 1] = b.imm0;
      }
    }
    this.blocks.length = 0;
    this.covered = undefined;
    this.wasmBlocks = [];
    this.wasmPlans = [];
    this.table = undefined;
    this.pending = undefined;
    // Rewritten code starts cold.
    this.heat.fill(0);
  }
}

const TLB_SIZE = TLB_ENTRIES;
/** Runs of a block start that make it join its page's translation. */
const WARM = 4;
/** `fn` of a block made for WebAssembly only (never called). */
const NO_JS: BlockFn = () => 0;
const OP_ILLEGAL = OP.ILLEGAL!;
const TLB_MASK = TLB_SIZE - 1;
const ACC_FETCH = 0;
const ACC_LOAD = 1;
const ACC_STORE = 2;

// mstatus bits (low word).
const MS_SIE = 1 << 1;
const MS_MIE = 1 << 3;
const MS_SPIE = 1 << 5;
const MS_MPIE = 1 << 7;
const MS_SPP = 1 << 8;
const MS_MPP = 3 << 11;
const MS_FS = 3 << 13;
const MS_MPRV = 1 << 17;
const MS_SUM = 1 << 18;
const MS_MXR = 1 << 19;
const MS_TVM = 1 << 20;
const MS_TW = 1 << 21;
const MS_TSR = 1 << 22;
const MSTATUS_WMASK = MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP |
  MS_FS | MS_MPRV | MS_SUM | MS_MXR | MS_TVM | MS_TW | MS_TSR;
const SSTATUS_MASK = MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR;

// Interrupts that S-mode can see and delegate.
const S_INTS = (1 << 1) | (1 << 5) | (1 << 9);
const M_INTS = S_INTS | (1 << 3) | (1 << 7) | (1 << 11);
// Exceptions that medeleg can delegate (QEMU's DELEGABLE_EXCPS minus H ones).
const DELEGABLE_EXC = 0xb3ff;
const IRQ_PRIORITY = [11, 3, 7, 9, 1, 5];

const MISA_LO = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) |
  (1 << 12) | (1 << 18) | (1 << 20);

const TWO32 = 4294967296;

// Debug triggers (Sdtrig): two address-match triggers, as QEMU 7.2's virt.
const TRIGGERS = 2;
// tdata1 bits shared by mcontrol (type 2) and mcontrol6 (type 6).
const TRIG_LOAD = 1 << 0;
const TRIG_STORE = 1 << 1;
const TRIG_EXEC = 1 << 2;
const TRIG_U = 1 << 3;
const TRIG_S = 1 << 4;
const TRIG_M = 1 << 6;
const TRIG_MSU = TRIG_M | TRIG_S | TRIG_U;
// What a tdata1 write keeps in the low word: the mode and access bits and
// the access size (mcontrol sizelo 17..16 and sizehi 22..21, mcontrol6 size
// 19..16), which matching ignores (any size). As in
// QEMU 7.2, match, chain, action, timing, select and hit are always zero
// (an equality match that raises a breakpoint exception before the access).
const TRIG_KEEP = TRIG_MSU | TRIG_EXEC | TRIG_STORE | TRIG_LOAD;
const TRIG_KEEP2 = TRIG_KEEP | (3 << 16) | (3 << 21); // sizelo, sizehi
const TRIG_KEEP6 = TRIG_KEEP | (0xf << 16); // size
// tdata1's type field is stored XOR 2 (see CSR64.tdata1): reset reads type 2.
const TDATA1_TYPE_XOR = 2 << 28;
// tinfo: types 2 (mcontrol) and 6 (mcontrol6).
const TINFO = (1 << 2) | (1 << 6);

/**
 * A RISC-V RV64GC hart.
 *
 * @example Run three instructions from RAM
 * ```ts
 * import { Bus } from "./bus.ts";
 * import { VirtualClock } from "./clock.ts";
 * import { Cpu } from "./cpu.ts";
 * const bus = new Bus(1 << 20);
 * let cpu: Cpu | undefined;
 * const clock = new VirtualClock(() => cpu?.icount ?? 0);
 * cpu = new Cpu({ bus, clock });
 * // li a0, 42 ; addi a0, a0, 1 ; wfi
 * bus.load(0x8000_0000, new Uint8Array([0x13, 0x05, 0xa0, 0x02, 0x13, 0x05, 0x15, 0x00, 0x73, 0x00, 0x50, 0x10]));
 * cpu.reset(0x8000_0000);
 * cpu.run(100);
 * if (cpu.getX(10) !== 43n || cpu.icount !== 3) throw new Error("unreachable");
 * ```
 */
export class Cpu implements InterruptTarget {
  /**
   * The hart's architectural state: one buffer with named indices
   * ({@linkcode HART}, {@linkcode HART64}, {@linkcode CSR64}), so that a
   * snapshot is a copy. The
   * accessors below (`pcLo`, `mstatus`, ...) read and write it.
   */
  readonly state: HartState = new HartState();
  /** Integer registers as (lo, hi) pairs; slots 64-65 absorb writes to x0. */
  readonly x: Int32Array = this.state.x;
  /** FP registers as (lo, hi) pairs of raw bits. */
  readonly f: Int32Array = this.state.f;
  /** 64-bit CSRs kept as pairs, indexed by {@linkcode CSR64}. */
  readonly csr64: Int32Array = this.state.csr64;
  /** `pmpcfg` bytes, one per entry. */
  readonly pmpcfg: Uint8Array = this.state.pmpcfg;
  /** `pmpaddr` registers as (lo, hi) pairs. */
  readonly pmpaddr: Int32Array = this.state.pmpaddr;
  readonly #s: Float64Array = this.state.scalars;
  readonly #w: Int32Array = this.state.words;
  // The FPU, which keeps `fflags` and `frm` in the state above.
  readonly #fpu: Fpu;

  /** Low word of the pc (valid between calls to `run`). */
  get pcLo(): number {
    return this.#w[HART.pcLo]!;
  }
  set pcLo(v: number) {
    this.#w[HART.pcLo] = v;
  }
  /** High word of the pc. */
  get pcHi(): number {
    return this.#w[HART.pcHi]!;
  }
  set pcHi(v: number) {
    this.#w[HART.pcHi] = v;
  }
  /** Current privilege level. */
  get priv(): number {
    return this.#w[HART.priv]!;
  }
  set priv(v: number) {
    this.#w[HART.priv] = v;
  }
  /** Instructions retired since reset. */
  get icount(): number {
    return this.#s[HART64.icount]!;
  }
  set icount(v: number) {
    this.#s[HART64.icount] = v;
  }
  /** Whether the hart sleeps in `wfi`. */
  get waiting(): boolean {
    return this.#w[HART.waiting] === 1;
  }
  set waiting(v: boolean) {
    this.#w[HART.waiting] = v ? 1 : 0;
  }
  /** `mstatus`, low word (the high word is derived). */
  get mstatus(): number {
    return this.#w[HART.mstatus]!;
  }
  set mstatus(v: number) {
    this.#w[HART.mstatus] = v;
  }
  /** `mie`. */
  get mie(): number {
    return this.#w[HART.mie]!;
  }
  set mie(v: number) {
    this.#w[HART.mie] = v;
  }
  /** Effective `mip`: hardware lines OR software-written bits. */
  get mip(): number {
    return this.#w[HART.mip]!;
  }
  /** `mideleg`. */
  get mideleg(): number {
    return this.#w[HART.mideleg]!;
  }
  set mideleg(v: number) {
    this.#w[HART.mideleg] = v;
  }
  /** `medeleg`. */
  get medeleg(): number {
    return this.#w[HART.medeleg]!;
  }
  set medeleg(v: number) {
    this.#w[HART.medeleg] = v;
  }
  /** `mcounteren`. */
  get mcounteren(): number {
    return this.#w[HART.mcounteren]!;
  }
  set mcounteren(v: number) {
    this.#w[HART.mcounteren] = v;
  }
  /** `scounteren`. */
  get scounteren(): number {
    return this.#w[HART.scounteren]!;
  }
  set scounteren(v: number) {
    this.#w[HART.scounteren] = v;
  }
  /** `mcountinhibit`. */
  get mcountinhibit(): number {
    return this.#w[HART.mcountinhibit]!;
  }
  /** `satp` mode (0 or 8). */
  get satpMode(): number {
    return this.#w[HART.satpMode]!;
  }
  /** `satp` PPN (up to 44 bits). */
  get satpPpn(): number {
    return this.#s[HART64.satpPpn]!;
  }
  /** `satp` ASID. */
  get satpAsid(): number {
    return this.#w[HART.satpAsid]!;
  }
  /** `stimecmp` (Sstc). */
  get stimecmp(): number {
    return this.#s[HART64.stimecmp]!;
  }

  #pmpStart = new Float64Array(16);
  #pmpEnd = new Float64Array(16);
  #pmpActive = 0;

  // ----- machinery -----
  readonly #bus: Bus;
  readonly #time: TimeSource | undefined;
  readonly #hartId: number;
  readonly #stimer: VirtualTimer;
  #stop = false;
  /** Decoded RAM pages by RAM page index. */
  #codePages: (DecodedPage | undefined)[] = [];
  #codePagesMade = 0;
  #romPages = new Map<number, DecodedPage>();
  #scratch = new DecodedPage(0, -1);
  #tmp = new Int32Array(2);
  /** Debug triggers armed for execute (bit i: trigger i), from tdata1. */
  #trigExec = 0;
  /** The one-instruction page of #single, and the slot it last filled. */
  #one = new DecodedPage(0, -1);
  #oneSlot = 0;
  /** Debug triggers armed for loads or stores (bit i: trigger i). */
  #trigData = 0;
  // TLBs: tag per entry; RAM offset of the page for loads and stores.
  // (In the hart's memory, where translated code reads them.)
  readonly #tlbRTag = this.#tlbView(0);
  readonly #tlbROff = this.#tlbView(1);
  readonly #tlbWTag = this.#tlbView(2);
  readonly #tlbWOff = this.#tlbView(3);
  readonly #tlbXTag = new Int32Array(TLB_SIZE);
  readonly #tlbXPage: (DecodedPage | undefined)[] = new Array(TLB_SIZE);
  // Exception being raised by a slow path.
  #exCause = 0;
  #exTvalLo = 0;
  #exTvalHi = 0;
  // Slow-path results.
  #tLo = 0;
  #tHi = 0;
  /**
   * Set by a slow-path access that must end the slice right after its
   * instruction: an MMIO store, or an MMIO load whose device armed a timer,
   * scheduled a bottom half or raised an interrupt line.
   */
  #endAfterAccess = false;
  #ramPages: number;
  /** What the generated loop reads once per run. */
  readonly #ctx: {
    ram8: Uint8Array;
    ram16: Uint16Array;
    ram32: Int32Array;
    tlbRTag: Int32Array;
    tlbROff: Int32Array;
    tlbWTag: Int32Array;
    tlbWOff: Int32Array;
  };

  /**
   * Make a hart in its reset state.
   *
   * @param options the bus, clock and time source
   */
  constructor(options: CpuOptions) {
    this.#bus = options.bus;
    this.#time = options.time;
    this.#hartId = options.hartId ?? 0;
    this.#fpu = new Fpu(this.f, this.x, this.#w);
    this.#scratch.ops.fill(1);
    this.#one.ops.fill(1);
    this.#ramPages = this.#bus.ramSize >>> 12;
    this.#ctx = {
      ram8: this.#bus.ram8,
      ram16: this.#bus.ram16,
      ram32: this.#bus.ram32,
      tlbRTag: this.#tlbRTag,
      tlbROff: this.#tlbROff,
      tlbWTag: this.#tlbWTag,
      tlbWOff: this.#tlbWOff,
    };
    this.#stimer = options.clock.newTimer("stimecmp", () => this.#updateStip());
    this.#bus.addRamWriteListener((off, len) => this.#invalidateRam(off, len));
    // A new dirty period (bus.dirty): stores take the slow path, which
    // marks their page, until they fill the write TLB again.
    this.#bus.addDirtyClearListener(() => {
      for (let i = 0; i < TLB_SIZE; i++) this.#tlbWTag[i] = (i + 1) & TLB_MASK;
    });
    this.flushTlb();
    this.reset(0x1000);
  }

  /**
   * Reset the hart (registers, CSRs, privilege) and set the pc.
   *
   * @param pc the reset vector
   */
  reset(pc: number): void {
    // Everything but the interrupt lines, which the devices drive.
    const w = this.#w, s = this.#s;
    const mipHw = w[HART.mipHw]!;
    this.state.bytes.fill(0);
    w[HART.mipHw] = mipHw;
    w[HART.mip] = mipHw;
    this.setPc(pc);
    this.priv = PRIV_M;
    s[HART64.stimecmp] = Number.MAX_SAFE_INTEGER;
    s[HART64.stimerDeadline] = Infinity;
    this.#pmpUpdate();
    this.#trigUpdate();
    this.#stimer.del();
    this.flushTlb();
  }

  /**
   * Set the pc.
   *
   * @param pc a 64-bit address as a number (exact below 2^53) or bigint
   */
  setPc(pc: number | bigint): void {
    const v = BigInt.asUintN(64, BigInt(pc));
    this.pcLo = Number(BigInt.asIntN(32, v));
    this.pcHi = Number(BigInt.asIntN(32, v >> 32n));
  }

  /**
   * Read the pc.
   *
   * @returns the pc as an unsigned bigint
   */
  getPc(): bigint {
    return (BigInt(this.pcHi >>> 0) << 32n) | BigInt(this.pcLo >>> 0);
  }

  /**
   * Read an integer register.
   *
   * @param i register number
   * @returns its value as an unsigned bigint
   */
  getX(i: number): bigint {
    return (BigInt(this.x[i * 2 + 1]! >>> 0) << 32n) |
      BigInt(this.x[i * 2]! >>> 0);
  }

  /**
   * Write an integer register.
   *
   * @param i register number (writes to x0 are ignored)
   * @param v the value
   */
  setX(i: number, v: bigint | number): void {
    if (i === 0) return;
    const b = BigInt.asUintN(64, BigInt(v));
    this.x[i * 2] = Number(BigInt.asIntN(32, b));
    this.x[i * 2 + 1] = Number(BigInt.asIntN(32, b >> 32n));
  }

  /** `fcsr`: the rounding mode in bits 7..5 and the flags in bits 4..0. */
  get fcsr(): number {
    return (this.#fpu.frm << 5) | this.#fpu.fflags;
  }

  /**
   * Whether hot straight-line code is compiled into JavaScript functions.
   * Results are identical either way; turn it off to compare.
   */
  blocks = true;

  /**
   * Whether compiled blocks are translated to WebAssembly (core/_wasm.ts)
   * rather than JavaScript, where the translator covers all of a block's
   * instructions. Results are identical either way.
   */
  wasm = true;

  /**
   * Why the WebAssembly translator was turned off for this hart, if it
   * failed to compile a page (a bug: blocks then fall back to JavaScript).
   */
  wasmError: string | undefined;

  /**
   * How many compiled blocks the hart holds now, in JavaScript and in
   * WebAssembly, how many pages have a WebAssembly translation now, and
   * how many page translations it has made since it was made (a page is
   * translated again when it gains blocks, or after the guest rewrote it).
   *
   * @returns the counts
   * @example A hot loop ends up in WebAssembly
   * ```ts
   * import { Bus, Cpu, VirtualClock } from "./mod.ts";
   * const bus = new Bus(1 << 20);
   * let cpu: Cpu | undefined;
   * const clock = new VirtualClock(() => cpu?.icount ?? 0);
   * cpu = new Cpu({ bus, clock });
   * // addi a0, a0, 1 ; j .-4
   * bus.load(0x8000_0000, new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]));
   * cpu.reset(0x8000_0000);
   * if (cpu.blockStats().translations !== 0) throw new Error("unreachable");
   * cpu.run(10_000);
   * const stats = cpu.blockStats();
   * if (stats.translations === 0 || stats.wasm === 0) throw new Error("unreachable");
   * ```
   */
  blockStats(): {
    js: number;
    wasm: number;
    wasmPages: number;
    translations: number;
  } {
    let js = 0, wasm = 0, wasmPages = 0;
    for (const p of [...this.#codePages, ...this.#romPages.values()]) {
      if (p === undefined) continue;
      wasm += p.wasmBlocks.length;
      js += p.blocks.length - p.wasmBlocks.length;
      if (p.wasmBlocks.length > 0) wasmPages++;
    }
    return { js, wasm, wasmPages, translations: this.#translations };
  }

  #translations = 0;

  /** Ask `run` to return at the next instruction boundary. */
  requestStop(): void {
    this.#stop = true;
  }

  /**
   * Ask `run` to end its slice at the next instruction boundary (with
   * {@linkcode StopReason.Budget}), for example because a timer moved.
   */
  endSlice(): void {
    this.#endSlice = true;
  }
  #endSlice = false;

  /**
   * What the last `run` was asked and did not act on yet: 2 for a stop
   * request, 1 for a slice end, 0 for neither. The instrumentation path
   * (one-instruction runs) reads it to end its slice where `run` would.
   */
  get pendingStop(): number {
    return this.#stop ? 2 : this.#endSlice ? 1 : 0;
  }

  /**
   * Set or clear hardware-driven `mip` bits (CLINT and PLIC lines).
   *
   * @param mask one or more `MIP_*` bits
   * @param level true to raise, false to lower
   */
  setPending(mask: number, level: boolean): void {
    if (level) {
      // A line that rises in the middle of a slice (from an MMIO access)
      // must be seen at the next instruction boundary, not at the slice's
      // end, whose icount depends on how the run is sliced.
      if ((mask & ~this.#w[HART.mipHw]!) !== 0) this.#endSlice = true;
      this.#w[HART.mipHw] = this.#w[HART.mipHw]! | mask;
    } else this.#w[HART.mipHw] = this.#w[HART.mipHw]! & ~mask;
    this.#w[HART.mip] = this.#w[HART.mipHw]! | this.#w[HART.mipSw]!;
  }

  /** Whether an interrupt would wake the hart from `wfi`. */
  get wakeable(): boolean {
    return (this.mip & this.mie) !== 0;
  }

  /** Drop every cached translation. */
  flushTlb(): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      const bad = (i + 1) & TLB_MASK; // a tag that can never match slot i
      this.#tlbRTag[i] = bad;
      this.#tlbWTag[i] = bad;
      this.#tlbXTag[i] = bad;
      this.#tlbXPage[i] = undefined;
    }
  }

  /**
   * Save all of the hart's architectural state: registers, pc, privilege,
   * icount, `wfi` sleep, every CSR (`fflags` and `frm` included), PMP, the
   * LR/SC reservation, counter offsets and inhibits, the `mip` bits written
   * by software and driven by lines, `stimecmp` and its timer's deadline.
   * The encoding is deterministic and versioned ({@linkcode HART_STATE_VERSION};
   * layout in {@linkcode HartState}); caches (TLBs, decoded pages, compiled
   * blocks) are not part of it.
   *
   * @returns the snapshot bytes
   * @example Save, run on, and go back
   * ```ts
   * import { Bus } from "./bus.ts";
   * import { VirtualClock } from "./clock.ts";
   * import { Cpu } from "./cpu.ts";
   * const bus = new Bus(1 << 20);
   * let cpu: Cpu | undefined;
   * const clock = new VirtualClock(() => cpu?.icount ?? 0);
   * cpu = new Cpu({ bus, clock });
   * // addi a0, a0, 1 ; j .-4
   * bus.load(0x8000_0000, new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]));
   * cpu.reset(0x8000_0000);
   * cpu.run(10);
   * const snap = cpu.saveState();
   * cpu.run(10);
   * cpu.loadState(snap);
   * if (cpu.icount !== 10 || cpu.getX(10) !== 5n) throw new Error("unreachable");
   * ```
   */
  saveState(): Uint8Array {
    this.#s[HART64.stimerDeadline] = this.#stimer.deadline;
    return encodeHartState(this.state);
  }

  /**
   * Restore a snapshot from {@linkcode Cpu.saveState} (of this hart or
   * another one with the same configuration). Drops every cached
   * translation and decoded page, re-derives the PMP ranges, and re-arms the
   * `stimecmp` timer at its saved deadline. Guest RAM, devices and the clock
   * are restored by their owners.
   *
   * @param bytes the snapshot
   * @throws {SyntaxError} when the bytes are not a hart snapshot
   * @throws {RangeError} when its version or size is not this build's
   */
  loadState(bytes: Uint8Array): void {
    decodeHartState(bytes, this.state);
    this.#pmpUpdate(); // also flushes the TLBs
    this.#trigUpdate();
    this.#codePages = [];
    this.#romPages.clear();
    this.#scratch = new DecodedPage(0, -1);
    this.#scratch.ops.fill(1);
    this.#stop = false;
    this.#endSlice = false;
    const d = this.#s[HART64.stimerDeadline]!;
    if (d === Infinity) this.#stimer.del();
    else this.#stimer.mod(d);
  }

  /**
   * Read a CSR as an M-mode CSR instruction would, without side effects
   * (for debuggers and monitors).
   *
   * @param csr the CSR's number or name (see {@linkcode CSR})
   * @returns its value, or undefined if the hart does not implement it
   * @example
   * ```ts
   * import { Bus } from "./bus.ts";
   * import { VirtualClock } from "./clock.ts";
   * import { Cpu } from "./cpu.ts";
   * const cpu = new Cpu({ bus: new Bus(4096), clock: new VirtualClock(() => 0) });
   * if (cpu.readCsr("misa")! >> 62n !== 2n) throw new Error("unreachable");
   * ```
   */
  readCsr(csr: number | string): bigint | undefined {
    const num = typeof csr === "number"
      ? csr
      : (CSR_DEFS.find((d) => d.name === csr)?.num ?? -1);
    if (num < 0) return undefined;
    // The FP CSRs read even while mstatus.FS is off.
    if (num === CSR.fflags) return BigInt(this.#fpu.fflags);
    if (num === CSR.frm) return BigInt(this.#fpu.frm);
    if (num === CSR.fcsr) return BigInt(this.fcsr);
    const priv = this.#w[HART.priv]!;
    const tLo = this.#tLo, tHi = this.#tHi;
    this.#w[HART.priv] = PRIV_M;
    const ok = this.#csrRead(num);
    this.#w[HART.priv] = priv;
    const v = (BigInt(this.#tHi >>> 0) << 32n) | BigInt(this.#tLo >>> 0);
    this.#tLo = tLo;
    this.#tHi = tHi;
    return ok ? v : undefined;
  }

  // =====================================================================
  // The interpreter loop
  // =====================================================================

  /**
   * How many times this hart has started decoding code from a RAM page: a
   * measure of how much code the guest runs (a page decoded again after a
   * snapshot restore or a rewrite of all its code counts again).
   *
   * @example A hart that has run nothing yet
   * ```ts
   * import { Bus } from "./bus.ts";
   * import { VirtualClock } from "./clock.ts";
   * import { Cpu } from "./cpu.ts";
   * const cpu = new Cpu({ bus: new Bus(4096), clock: new VirtualClock(() => 0) });
   * console.log(cpu.codePagesDecoded); // 0
   * ```
   */
  get codePagesDecoded(): number {
    return this.#codePagesMade;
  }

  /**
   * Execute up to `maxInsns` instructions.
   *
   * @param maxInsns instruction budget
   * @returns why it stopped
   */
  run(maxInsns: number): StopReason {
    return Cpu.#run(this, maxInsns) as StopReason;
  }

  /**
   * Execute up to `maxInsns` instructions as {@linkcode Cpu.run} does (same
   * instructions, same slices, same state), counting where blocks start:
   * after a branch, a jump or a CSR instruction, and wherever execution
   * enters a page (a trap or interrupt, a page crossing, a new slice).
   * Compiled blocks run too, so counting costs little;
   * {@linkcode Cpu.drainBlockCounts} hands the counts over. For
   * instrumentation plugins that only count.
   *
   * @param maxInsns instruction budget
   * @returns why it stopped
   */
  runCounted(maxInsns: number): StopReason {
    const run = Cpu.#countedRun ??= makeRun(Cpu.#P, true);
    return run(this, maxInsns) as StopReason;
  }

  /**
   * Hand over the block starts counted by {@linkcode Cpu.runCounted} since
   * the last call, and forget them. A block is listed with its raw
   * instructions as memory holds them now: from its start up to and
   * including the first that may transfer control, or to the end of its
   * page, or to an illegal instruction (not included). A physical page entered through several virtual pages is listed
   * under the last one.
   *
   * @param visit called once per block start with its virtual address, its
   *   raw instructions and how often it started
   */
  drainBlockCounts(
    visit: (pc: bigint, insns: readonly number[], execs: number) => void,
  ): void {
    for (const page of this.#counted) {
      const counts = page.counts!;
      const vb = (BigInt(page.vbHi >>> 0) << 32n) | BigInt(page.vbLo >>> 0);
      for (let slot = 0; slot < 2048; slot++) {
        const execs = counts[slot]!;
        if (execs === 0) continue;
        counts[slot] = 0;
        visit(vb + BigInt(slot * 2), this.#blockAt(page, slot * 2), execs);
      }
    }
    this.#counted.clear();
  }

  /** The raw instructions of the block at `off` of `page` (see above). */
  #blockAt(page: DecodedPage, off: number): number[] {
    const insns: number[] = [];
    while (off < 4096) {
      const lo = this.#fetch16(page, off);
      let insn = lo;
      if ((lo & 3) === 3) {
        // The upper half of an instruction that crosses the page: through
        // the virtual page after this one.
        const up = off < 4094 ? this.#fetch16(page, off + 2) : this.#peekHalf(
          (page.vbLo + 4096) | 0,
          page.vbHi + (page.vbLo === -4096 ? 1 : 0),
        );
        if (up < 0) break;
        insn = (lo | (up << 16)) >>> 0;
        decode32(insn | 0, this.#tmp);
      } else decode16(lo, this.#tmp);
      // An illegal instruction never retires: the block ends before it.
      if ((this.#tmp[0]! & 0xff) === OP_ILLEGAL) break;
      insns.push(insn);
      off += (lo & 3) === 3 ? 4 : 2;
      if (isControl(insn)) break;
    }
    return insns;
  }

  static #countedRun: RunFn | undefined;
  /** Pages the counting loop entered since the last drain. */
  #counted = new Set<DecodedPage>();
  /** Where the counting loop counts on pages it does not report. */
  #noCounts = new Uint32Array(2050);

  /** The block-start counts of `page`, entered through (vbLo, vbHi). */
  #countsOf(page: DecodedPage, vbLo: number, vbHi: number): Uint32Array {
    if (page === this.#scratch || page === this.#one) return this.#noCounts;
    page.vbLo = vbLo;
    page.vbHi = vbHi;
    this.#counted.add(page);
    return page.counts ??= this.#newCounts(page);
  }

  /**
   * Memory for block-start counts that WebAssembly translations for the
   * counting loop increment (core/_wasm.ts), allocated 8 KiB per RAM page
   * as pages are first counted; pages past its end (or outside RAM) count
   * in a plain array, and their blocks run in the interpreter there.
   */
  #countMemory: WebAssembly.Memory | undefined;
  #countTop = 0;

  #newCounts(page: DecodedPage): Uint32Array {
    const bytes = 2050 * 4;
    if (page.ramOff < 0 || this.#countTop + bytes > COUNT_PAGES * 65536) {
      return new Uint32Array(2050);
    }
    const mem = this.#countMemory ??= new WebAssembly.Memory({
      initial: 1,
      maximum: COUNT_PAGES,
      shared: true,
    });
    const base = this.#countTop;
    this.#countTop += 8256; // 2050 words, rounded up to 64 bytes
    const need = Math.ceil(this.#countTop / 65536);
    const have = mem.buffer.byteLength / 65536;
    if (need > have) mem.grow(need - have);
    page.countsBase = base;
    return new Uint32Array(mem.buffer, base, 2050);
  }

  /**
   * `crun` of a page's blocks: the counting translation of all of them, in
   * one module, made when the counting loop first runs one (and again
   * after the page gained blocks).
   */
  #countingTranslation(page: DecodedPage): WasmRun {
    const base = page.countsBase;
    if (base === undefined || this.#countMemory === undefined) return NO_WASM;
    const plans = page.wasmPlans;
    const regions = wasmRegions(plans).map((g) => g.map((i) => plans[i]!));
    return this.#instantiate(regions, newPageTable(), {
      memory: this.#countMemory,
      base,
    }) ?? NO_WASM;
  }

  /** For translated stores to a page that holds decoded code (`inv`). */
  readonly #invalidateFromWasm = (o: number, off: number, len: number) =>
    this.#codePages[o >>> 12]!.invalidate(off, len) ? 1 : 0;

  /**
   * {@linkcode instantiatePage}; if it fails (a translator bug), turn the
   * translator off for this hart and say why in `wasmError`.
   */
  #instantiate(
    regions: readonly (readonly WasmBlockPlan[])[],
    table: WebAssembly.Table,
    counts?: { memory: WebAssembly.Memory; base: number },
  ): WasmRun | undefined {
    try {
      return instantiatePage(
        regions,
        this.#bus.ramMemory,
        this.state.memory,
        table,
        this.#invalidateFromWasm,
        counts,
      );
    } catch (e) {
      this.wasm = false;
      this.wasmError = `WebAssembly translation failed: ${
        (e as Error).message
      }`;
      return undefined;
    }
  }

  /**
   * The hart's machinery, for the generated loop (core/interp.ts), which
   * is made outside this class body and so cannot name private members.
   */
  static readonly #P = {
    ctx: (c: Cpu) => c.#ctx,
    begin: (c: Cpu) => {
      c.#stop = false;
      c.#endSlice = false;
      c.#reason = StopReason.Budget;
      c.#lastBudget = -1;
      c.#spins = 0;
    },
    // The exit's arithmetic lives here, not in the loop: the loop runs
    // optimized from its first exit on, where a site without type feedback
    // would deoptimize it on every return.
    exit: (c: Cpu, base: number, maxInsns: number, budget: number) => {
      c.icount = base + (maxInsns - budget);
      return c.#reason;
    },
    enter: (c: Cpu, budget: number) => c.#enter(budget),
    counts: (c: Cpu, page: DecodedPage, vbLo: number, vbHi: number) =>
      c.#countsOf(page, vbLo, vbHi),
    decodeInto: (c: Cpu, page: DecodedPage, off: number) =>
      c.#decodeInto(page, off),
    fetchCross: (c: Cpu, vbLo: number, vbHi: number, off: number) =>
      c.#fetchCross(vbLo, vbHi, off),
    takeException: (c: Cpu) => c.#takeException(),
    raise: (c: Cpu, cause: number, lo: number, hi: number) =>
      c.#raise(cause, lo, hi),
    compile: (c: Cpu, page: DecodedPage, off: number) => c.#compile(page, off),
    load: (c: Cpu, w: number, lo: number, hi: number, size: number) =>
      c.#load(w, lo, hi, size),
    storeSlow: (
      c: Cpu,
      lo: number,
      hi: number,
      size: number,
      vLo: number,
      vHi: number,
    ) => c.#storeSlow(lo, hi, size, vLo, vHi),
    endAfter: (c: Cpu) => c.#endAfterAccess,
    invalidate: (c: Cpu, o: number, off: number, len: number) =>
      c.#codePages[o >>> 12]!.invalidate(off, len),
    scratch: (c: Cpu) => c.#scratch,
    atomic: (c: Cpu, w: number, imm: number) => c.#atomic(w, imm),
    fpMem: (c: Cpu, w: number, imm: number) => c.#fpMem(w, imm),
    insnBits: (c: Cpu, w: number, imm: number) => c.#insnBits(w, imm),
    fpExec: (c: Cpu, insn: number) => c.#fpu.exec(insn),
    system: (c: Cpu, w: number, imm: number) => c.#system(w, imm),
    csrInsn: (c: Cpu, w: number, imm: number) => c.#csrInsn(w, imm),
  };

  /** The interpreter loop, generated from the instruction table. */
  static readonly #run: RunFn = makeRun(Cpu.#P);

  #reason: StopReason = StopReason.Budget;
  #lastBudget = -1;
  #spins = 0;

  /**
   * Prepare to execute at the pc: stop requests, interrupts, `wfi`, and the
   * decoded page. Returns undefined when `run` must return.
   */
  #enter(budget: number): DecodedPage | undefined {
    for (;;) {
      if (budget === this.#lastBudget) {
        if (++this.#spins > 100_000) {
          this.#reason = StopReason.TrapLoop;
          return undefined;
        }
      } else {
        this.#lastBudget = budget;
        this.#spins = 0;
      }
      if (this.#stop) {
        this.#reason = StopReason.Requested;
        return undefined;
      }
      if (this.#endSlice) {
        this.#endSlice = false;
        return undefined;
      }
      if ((this.mip & this.mie) !== 0) {
        this.waiting = false;
        this.#checkInterrupts();
      }
      if (this.waiting) {
        this.#reason = StopReason.Idle;
        return undefined;
      }
      const pLo = this.pcLo, pHi = this.pcHi;
      // An execute trigger: a breakpoint exception before the instruction
      // (before its fetch can fault), with the pc in tval. On a page that
      // holds an armed trigger's address the loop runs one instruction at a
      // time (see #single); elsewhere the whole page runs as usual, since
      // leaving the page, a trap, an xRET or a CSR write comes back here.
      let trigExec = this.#trigExec;
      if (trigExec !== 0) {
        if (this.#trigHit(trigExec, TRIG_EXEC, pLo, pHi, 1)) {
          this.#raise(Cause.Breakpoint, pLo, pHi);
          continue;
        }
        if (!this.#trigHit(trigExec, TRIG_EXEC, pLo & ~4095, pHi, 4096)) {
          trigExec = 0;
        }
      }
      const key = (pHi << 20) | (pLo >>> 12);
      const e = key & TLB_MASK;
      const page = this.#tlbXPage[e];
      if (
        this.#tlbXTag[e] === key && pHi === ((pHi << 20) >> 20) &&
        page !== undefined
      ) return trigExec === 0 ? page : this.#single(page, pLo);
      const filled = this.#fillExec(pLo, pHi);
      if (filled !== undefined) {
        return trigExec === 0 ? filled : this.#single(filled, pLo);
      }
      // A fetch fault: the trap was taken; look again at the handler.
    }
  }

  /**
   * The instruction at `pLo` alone on the scratch page, so that the loop
   * comes back to {@linkcode Cpu.#enter} after it (and checks the execute
   * triggers again): the path on a page that holds an armed execute
   * trigger's address. No block runs then.
   */
  #single(page: DecodedPage, pLo: number): DecodedPage {
    const off = pLo & 4095, slot = off >> 1;
    if (page.ops[slot] === 0) this.#decodeInto(page, off);
    let w = page.ops[slot]!, imm = page.imm[slot]!;
    if ((w & 0xff) === 94) { // a compiled block: its first instruction
      const b = page.blocks[imm]!;
      w = b.w0;
      imm = b.imm0;
    }
    if ((w & 0xff) === 0) return page;
    // PAGE_END everywhere but the one slot (a page of its own, so that no
    // other user of a scratch page leaves an instruction in it)
    const one = this.#one;
    one.ops[this.#oneSlot] = 1;
    one.ops[slot] = w;
    one.imm[slot] = imm;
    this.#oneSlot = slot;
    return one;
  }

  /**
   * Re-derive which debug triggers are armed from their `tdata1`, and drop
   * the TLBs, so that while a load or store trigger is armed every access
   * takes the slow path (see {@linkcode Cpu.#translate}).
   */
  #trigUpdate(): void {
    let exec = 0, data = 0;
    for (let i = 0; i < TRIGGERS; i++) {
      const ctl = this.csr64[CSR64.tdata1 + 2 * i]!;
      if ((ctl & TRIG_MSU) === 0) continue;
      if (ctl & TRIG_EXEC) exec |= 1 << i;
      if (ctl & (TRIG_LOAD | TRIG_STORE)) data |= 1 << i;
    }
    this.#trigExec = exec;
    this.#trigData = data;
    this.flushTlb();
  }

  /**
   * Whether a trigger of `mask` armed for `kind` (execute, load or store)
   * in the current privilege mode matches an access of `size` bytes at
   * (lo, hi): its `tdata2` is one of the bytes accessed.
   */
  #trigHit(
    mask: number,
    kind: number,
    lo: number,
    hi: number,
    size: number,
  ): boolean {
    const mode = this.priv === PRIV_M
      ? TRIG_M
      : this.priv === PRIV_S
      ? TRIG_S
      : TRIG_U;
    const c = this.csr64;
    for (let i = 0; i < TRIGGERS; i++) {
      if (((mask >>> i) & 1) === 0) continue;
      const ctl = c[CSR64.tdata1 + 2 * i]!;
      if ((ctl & mode) === 0 || (ctl & kind) === 0) continue;
      const tLo = c[CSR64.tdata2 + 2 * i]!, tHi = c[CSR64.tdata2 + 2 * i + 1]!;
      const d = ((tHi - hi) | 0) * TWO32 + ((tLo >>> 0) - (lo >>> 0));
      if (d >= 0 && d < size) return true;
    }
    return false;
  }

  // =====================================================================
  // pc and trap helpers
  // =====================================================================

  #setPcOff(vbLo: number, vbHi: number, off: number): void {
    const s = (vbLo >>> 0) + off;
    this.pcLo = s | 0;
    this.pcHi = (vbHi + Math.floor(s / TWO32)) | 0;
  }

  #raise(cause: number, tvalLo: number, tvalHi: number): void {
    this.#exCause = cause;
    this.#exTvalLo = tvalLo;
    this.#exTvalHi = tvalHi;
    this.#takeException();
  }

  #takeException(): void {
    this.#trap(this.#exCause, false, this.#exTvalLo, this.#exTvalHi);
  }

  #fault(cause: number, lo: number, hi: number): false {
    this.#exCause = cause;
    this.#exTvalLo = lo;
    this.#exTvalHi = hi;
    return false;
  }

  /** Enter the trap handler for `cause`, with the pc at the faulting insn. */
  #trap(cause: number, interrupt: boolean, tvalLo: number, tvalHi: number) {
    const prev = this.priv;
    const deleg = prev <= PRIV_S &&
      (((interrupt ? this.mideleg : this.medeleg) >>> cause) & 1) === 1;
    const c = this.csr64;
    this.#w[HART.resValid] = 0;
    if (deleg) {
      c[CSR64.scause] = cause;
      c[CSR64.scause + 1] = interrupt ? 0x80000000 | 0 : 0;
      c[CSR64.sepc] = this.pcLo;
      c[CSR64.sepc + 1] = this.pcHi;
      c[CSR64.stval] = tvalLo;
      c[CSR64.stval + 1] = tvalHi;
      let ms = this.mstatus;
      ms = (ms & ~MS_SPIE) | ((ms & MS_SIE) ? MS_SPIE : 0);
      ms = (ms & ~MS_SPP) | (prev === PRIV_S ? MS_SPP : 0);
      ms &= ~MS_SIE;
      this.mstatus = ms;
      this.priv = PRIV_S;
      this.#vector(c[CSR64.stvec]!, c[CSR64.stvec + 1]!, cause, interrupt);
    } else {
      c[CSR64.mcause] = cause;
      c[CSR64.mcause + 1] = interrupt ? 0x80000000 | 0 : 0;
      c[CSR64.mepc] = this.pcLo;
      c[CSR64.mepc + 1] = this.pcHi;
      c[CSR64.mtval] = tvalLo;
      c[CSR64.mtval + 1] = tvalHi;
      let ms = this.mstatus;
      ms = (ms & ~MS_MPIE) | ((ms & MS_MIE) ? MS_MPIE : 0);
      ms = (ms & ~MS_MPP) | (prev << 11);
      ms &= ~MS_MIE;
      this.mstatus = ms;
      this.priv = PRIV_M;
      this.#vector(c[CSR64.mtvec]!, c[CSR64.mtvec + 1]!, cause, interrupt);
    }
    if (prev !== this.priv) this.flushTlb();
    this.onTrap?.(cause, interrupt);
  }

  /**
   * Called on every trap and interrupt, after the hart has entered the
   * handler (instrumentation hook; unset costs nothing on the fast path).
   */
  onTrap: ((cause: number, interrupt: boolean) => void) | undefined = undefined;

  /**
   * The raw instruction at the pc, read without side effects (no A/D
   * updates, no traps, no TLB fill), for instrumentation.
   *
   * @returns the 16- or 32-bit instruction, or 0 if it cannot be read
   */
  peekInsn(): number {
    const lo = this.pcLo, hi = this.pcHi;
    const a = this.#peekHalf(lo, hi);
    if (a < 0) return 0;
    if ((a & 3) !== 3) return a;
    const s = (lo >>> 0) + 2;
    const b = this.#peekHalf(s | 0, (hi + Math.floor(s / TWO32)) | 0);
    return b < 0 ? 0 : (a | (b << 16)) >>> 0;
  }

  /** 16 instruction bits at virtual (lo, hi), read as peekInsn does, or -1. */
  #peekHalf(lo: number, hi: number): number {
    const pa = this.#peekTranslate(lo, hi);
    if (pa < 0) return -1;
    if (this.#bus.inRam(pa, 2)) return this.#bus.read(pa, 2);
    const r = this.#bus.find(pa);
    return r?.executable ? r.read(pa - r.base, 2) & 0xffff : -1;
  }

  /** Sv39 walk for {@linkcode Cpu.peekInsn}: reads only, -1 on failure. */
  #peekTranslate(lo: number, hi: number): number {
    if (this.priv === PRIV_M || this.satpMode === 0) {
      return hi * TWO32 + (lo >>> 0);
    }
    const t = this.#tmp;
    let a = this.satpPpn * 4096;
    const vpn = [
      (lo >>> 12) & 0x1ff,
      (lo >>> 21) & 0x1ff,
      ((lo >>> 30) | (hi << 2)) & 0x1ff,
    ];
    for (let level = 2; level >= 0; level--) {
      const pteAddr = a + vpn[level]! * 8;
      if (!this.#bus.inRam(pteAddr, 8) || !this.#bus.read64(pteAddr, t)) {
        return -1;
      }
      const pLo = t[0]!, pHi = t[1]!;
      if (!(pLo & 1)) return -1;
      const ppn = (pLo >>> 10) + (pHi & 0x3fffff) * 4194304;
      if ((pLo & 0xa) === 0) {
        a = ppn * 4096;
        continue;
      }
      const vOff = level === 2
        ? ((lo >>> 12) & 0x3ffff) * 4096
        : level === 1
        ? ((lo >>> 12) & 0x1ff) * 4096
        : 0;
      return ppn * 4096 + vOff + (lo & 0xfff);
    }
    return -1;
  }

  #vector(lo: number, hi: number, cause: number, interrupt: boolean): void {
    const baseLo = lo & ~3;
    const off = interrupt && (lo & 3) === 1 ? cause * 4 : 0;
    const s = (baseLo >>> 0) + off;
    this.pcLo = s | 0;
    this.pcHi = (hi + Math.floor(s / TWO32)) | 0;
  }

  #checkInterrupts(): void {
    const pending = this.mip & this.mie;
    if (pending === 0) return;
    const mEnabled = this.priv < PRIV_M || (this.mstatus & MS_MIE) !== 0;
    const sEnabled = this.priv < PRIV_S ||
      (this.priv === PRIV_S && (this.mstatus & MS_SIE) !== 0);
    const m = mEnabled ? pending & ~this.mideleg : 0;
    const s = sEnabled ? pending & this.mideleg : 0;
    const take = m !== 0 ? m : s;
    if (take === 0) return;
    for (const irq of IRQ_PRIORITY) {
      if ((take >>> irq) & 1) {
        this.waiting = false;
        this.#trap(irq, true, 0, 0);
        return;
      }
    }
  }

  // =====================================================================
  // Instruction fetch and decode
  // =====================================================================

  #fillExec(pLo: number, pHi: number): DecodedPage | undefined {
    const pa = this.#translate(pLo, pHi, ACC_FETCH, 2);
    if (pa < 0) {
      this.#takeException();
      return undefined;
    }
    const ppage = pa - (pa % 4096);
    const bus = this.#bus;
    let page: DecodedPage | undefined;
    if (bus.inRam(ppage, 4096)) {
      const idx = (ppage - bus.ramBase) / 4096;
      page = this.#codePages[idx];
      if (!page) {
        page = new DecodedPage(ppage, ppage - bus.ramBase);
        this.#codePages[idx] = page;
        this.#codePagesMade++;
      }
    } else {
      const region = bus.find(ppage);
      if (!region || !region.executable) {
        this.#raise(Cause.InsnAccessFault, pLo, pHi);
        return undefined;
      }
      page = this.#romPages.get(ppage);
      if (!page) {
        page = new DecodedPage(ppage, -1);
        this.#romPages.set(ppage, page);
      }
    }
    if (this.#cacheable) {
      const key = (pHi << 20) | (pLo >>> 12);
      this.#tlbXTag[key & TLB_MASK] = key;
      this.#tlbXPage[key & TLB_MASK] = page;
    }
    return page;
  }

  #fetch16(page: DecodedPage, off: number): number {
    if (page.ramOff >= 0) return this.#bus.ram16[(page.ramOff + off) >> 1]!;
    const v = this.#bus.read(page.paddr + off, 2);
    return v < 0 ? 0 : v;
  }

  /**
   * The block at `off` of `page` came round hot (its start's heat counter,
   * reset here): compile it to JavaScript, or (with WebAssembly on) mark it
   * for its page's next translation, made when it comes round hot again.
   * A JavaScript block that comes round hot again makes that translation
   * too.
   */
  #compile(page: DecodedPage, off: number): void {
    if (page.ramOff < 0 || page === this.#scratch) return;
    if ((page.ops[off >> 1]! & 0xff) === 94) {
      if (this.wasm && !page.blocks[page.imm[off >> 1]!]!.wasm) {
        this.#translatePage(page);
      }
      return;
    }
    const decode = (o: number) => this.#decodeInto(page, o);
    page.heat[off >> 1] = 0; // counts to the next time it comes round hot
    if (this.wasm) {
      // A block that WebAssembly can take goes there, with no JavaScript
      // stage (whose compile a short-lived hot block would not pay back):
      // it joins the page's next translation, which its coming round hot
      // a second time makes.
      const w = measureBlock(page.ops, page.imm, off, decode, true, 1);
      if (w && planWasmBlock(page.ops, page.imm, off, w.end, w.tailAt >= 0)) {
        const pending = page.pending ??= new Set();
        if (pending.has(off)) this.#translatePage(page);
        else pending.add(off);
        return;
      }
    }
    // Else JavaScript (a block with an op that WebAssembly does not take
    // yet, FP or atomics, or with WebAssembly off).
    const ext = measureBlock(page.ops, page.imm, off, decode);
    if (ext) this.#install(page, compileBlock(page.ops, page.imm, off, ext));
  }

  /** Make `b` the block that starts at its start. */
  #install(page: DecodedPage, b: CompiledBlock): void {
    const idx = page.blocks.push(b) - 1;
    page.ops[b.start >> 1] = 94;
    page.imm[b.start >> 1] = idx;
    const cov = page.covered ??= new Uint8Array(2048);
    for (let o = b.start; o < b.end; o += 2) cov[o >> 1] = 1;
  }

  /**
   * Translate the page's JavaScript blocks, its pending short blocks and
   * its warm block starts to WebAssembly, as one more module for the page
   * (core/_wasm.ts): blocks translated before stay as they are, and the
   * page's table links them all. As WebAssembly a block may also end with a
   * `jalr` or a `jal` that leaves the page.
   */
  #translatePage(page: DecodedPage): void {
    const decode = (o: number) => this.#decodeInto(page, o);
    const plans: WasmBlockPlan[] = [];
    const fresh: [CompiledBlock, BlockExtent][] = [];
    for (const b of page.blocks) {
      if (b.wasm) continue;
      // Measure from the block's own first instruction (its slot holds
      // the BLOCK op); other blocks' starts still end it.
      const s = b.start >> 1, imm = page.imm[s]!;
      page.ops[s] = b.w0;
      page.imm[s] = b.imm0;
      const ext = measureBlock(page.ops, page.imm, b.start, decode, true);
      const plan = ext &&
        planWasmBlock(page.ops, page.imm, b.start, ext.end, ext.tailAt >= 0);
      page.ops[s] = 94;
      page.imm[s] = imm;
      if (plan) {
        plans.push(plan);
        fresh.push([b, ext]);
      }
    }
    const short: [CompiledBlock, BlockExtent][] = [];
    // Besides the pending short blocks, every start that has run a few
    // times (the heat counts block starts only) joins now, so that a page
    // is translated a few times, not once per block that gets hot.
    const warm = [...(page.pending ?? [])];
    for (let s = 0; s < 2048; s++) {
      if (page.heat[s]! >= WARM && page.ops[s] !== 94) warm.push(s * 2);
    }
    const planned = new Set(
      [...page.wasmPlans, ...plans].map((p) => p.start),
    );
    for (const off of warm) {
      if (planned.has(off) || page.ops[off >> 1] === 94) continue;
      planned.add(off);
      const ext = measureBlock(page.ops, page.imm, off, decode, true, 1);
      const plan = ext &&
        planWasmBlock(page.ops, page.imm, off, ext.end, ext.tailAt >= 0);
      if (!plan) continue;
      plans.push(plan);
      short.push([{
        fn: NO_JS,
        n: ext.n,
        start: off,
        end: ext.end,
        branch: ext.tailAt >= 0,
        w0: page.ops[off >> 1]!,
        imm0: page.imm[off >> 1]!,
        wasm: false,
        run: NO_WASM,
        crun: NO_WASM,
      }, ext]);
    }
    page.pending = undefined;
    if (fresh.length === 0 && short.length === 0) return;
    // Regions (wasmRegions): those that gain a new block are translated
    // again, with their old blocks; the others stay as they are.
    const all = [...page.wasmPlans, ...plans];
    const old = page.wasmPlans.length;
    const regions = wasmRegions(all)
      .filter((g) => g.some((i) => i >= old))
      .map((g) => g.map((i) => all[i]!));
    const run = this.#instantiate(regions, page.table ??= newPageTable());
    if (run === undefined) return;
    this.#translations++;
    const cov = page.covered ??= new Uint8Array(2048);
    for (const [b] of short) this.#install(page, b);
    for (const [b, ext] of [...fresh, ...short]) {
      b.wasm = true;
      b.n = ext.n;
      b.end = ext.end;
      b.branch = ext.tailAt >= 0;
      for (let o = b.start; o < b.end; o += 2) cov[o >> 1] = 1;
      page.wasmBlocks.push(b);
    }
    page.wasmPlans.push(...plans);
    // Any module's run enters any block of the page (through its table);
    // the counting loop's translation is made when it first runs one.
    const blocks = page.wasmBlocks;
    const crun: WasmRun = (vbLo, vbHi, off, avail, cap) => {
      const r = this.#countingTranslation(page);
      for (const wb of blocks) wb.crun = r;
      return r(vbLo, vbHi, off, avail, cap);
    };
    for (const wb of blocks) {
      wb.run = run;
      wb.crun = crun;
    }
  }

  #tlbView(i: number): Int32Array {
    return new Int32Array(
      this.state.memory.buffer,
      TLB_OFF + i * TLB_SIZE * 4,
      TLB_SIZE,
    );
  }

  #decodeInto(page: DecodedPage, off: number): void {
    const lo = this.#fetch16(page, off);
    const t = this.#tmp;
    if ((lo & 3) !== 3) decode16(lo, t);
    else if (off === 4094) {
      t[0] = 2; // CROSS
      t[1] = 0;
    } else decode32(lo | (this.#fetch16(page, off + 2) << 16), t);
    page.ops[off >> 1] = t[0]!;
    page.imm[off >> 1] = t[1]!;
    if (!page.hot) {
      page.hot = true;
      // Fast-path stores to this page must now invalidate what they hit.
      if (page.ramOff >= 0) {
        for (let i = 0; i < TLB_SIZE; i++) {
          if (this.#tlbWOff[i] === page.ramOff) {
            this.#tlbWOff[i] = page.ramOff | 1;
          }
        }
      }
    }
  }

  #fetchCross(vbLo: number, vbHi: number, off: number): boolean {
    // A 32-bit instruction whose upper half lies on the next page.
    const s = this.#scratch;
    const pa1 = this.#translate(vbLo | off, vbHi, ACC_FETCH, 2);
    if (pa1 < 0) return false;
    const lo = this.#bus.read(pa1, 2);
    const n = (vbLo >>> 0) + 4096;
    const nLo = n | 0, nHi = (vbHi + Math.floor(n / TWO32)) | 0;
    const pa2 = this.#translate(nLo, nHi, ACC_FETCH, 2);
    if (pa2 < 0) return false;
    const hi = this.#bus.read(pa2, 2);
    if (lo < 0 || hi < 0) {
      return this.#fault(Cause.InsnAccessFault, vbLo | off, vbHi);
    }
    s.ops.fill(1); // PAGE_END everywhere but the one slot
    decode32(lo | (hi << 16), this.#tmp);
    s.ops[off >> 1] = this.#tmp[0]!;
    s.imm[off >> 1] = this.#tmp[1]!;
    return true;
  }

  #invalidateRam(off: number, len: number): void {
    const first = off >>> 12, last = (off + len - 1) >>> 12;
    for (let p = first; p <= last && p < this.#ramPages; p++) {
      const page = this.#codePages[p];
      if (page?.hot) {
        const from = Math.max(off, p * 4096),
          to = Math.min(off + len, p * 4096 + 4096);
        page.invalidate(from - p * 4096, to - from);
      }
    }
  }

  // =====================================================================
  // Address translation and PMP
  // =====================================================================

  #cacheable = false;

  /**
   * Translate a virtual address. Returns the physical address, or -1 with
   * the exception recorded. Sets `#cacheable` when the whole page may be put
   * in the TLB.
   */
  #translate(lo: number, hi: number, acc: number, size: number): number {
    let priv = this.priv;
    if (acc !== ACC_FETCH && (this.mstatus & MS_MPRV) && priv === PRIV_M) {
      priv = (this.mstatus >>> 11) & 3;
    }
    let pa: number;
    if (this.#trigData !== 0 && acc !== ACC_FETCH) {
      // A load or store trigger: a breakpoint exception before the access
      // (before translation can fault), with the address in tval; no data
      // TLB entry while one is armed, so every access comes here.
      const kind = acc === ACC_LOAD ? TRIG_LOAD : TRIG_STORE;
      if (this.#trigHit(this.#trigData, kind, lo, hi, size)) {
        this.#fault(Cause.Breakpoint, lo, hi);
        return -1;
      }
      this.#cacheable = false;
    } else this.#cacheable = true;
    if (priv === PRIV_M || this.satpMode === 0) {
      if (hi < 0 || hi >= 0x1000000) {
        this.#fault(accessFault(acc), lo, hi);
        return -1;
      }
      pa = hi * TWO32 + (lo >>> 0);
    } else {
      pa = this.#walk(lo, hi, acc, priv);
      if (pa < 0) return -1;
    }
    // With no active entry, QEMU (like the spec) lets only M-mode through.
    if (this.#pmpActive !== 0 || priv !== PRIV_M) {
      const page = pa - (pa % 4096);
      const whole = this.#pmpCheck(page, 4096, acc, priv);
      if (whole !== 1) {
        this.#cacheable = false;
        if (this.#pmpCheck(pa, size, acc, priv) !== 1) {
          this.#fault(accessFault(acc), lo, hi);
          return -1;
        }
      }
    }
    return pa;
  }

  #walk(lo: number, hi: number, acc: number, priv: number): number {
    // Canonical: bits 63..39 equal bit 38.
    if (((hi << 25) >> 25) !== hi) {
      this.#fault(pageFault(acc), lo, hi);
      return -1;
    }
    const bus = this.#bus;
    const vpn = [
      (lo >>> 12) & 0x1ff,
      (lo >>> 21) & 0x1ff,
      ((lo >>> 30) | (hi << 2)) & 0x1ff,
    ];
    let a = this.satpPpn * 4096;
    const t = this.#tmp;
    for (let level = 2; level >= 0; level--) {
      const pteAddr = a + vpn[level]! * 8;
      if (this.#pmpCheck(pteAddr, 8, ACC_LOAD, PRIV_S) !== 1) {
        this.#fault(accessFault(acc), lo, hi);
        return -1;
      }
      if (!bus.read64(pteAddr, t)) {
        this.#fault(accessFault(acc), lo, hi);
        return -1;
      }
      let pLo = t[0]!;
      const pHi = t[1]!;
      if (!(pLo & 1) || ((pLo & 6) === 4) || (pHi >>> 22) !== 0) break;
      const ppn = (pLo >>> 10) + (pHi & 0x3fffff) * 4194304;
      if ((pLo & 0xa) === 0) { // pointer to the next level
        if (pLo & 0xd0) break; // D, A, U reserved on non-leaf PTEs
        a = ppn * 4096;
        continue;
      }
      // Leaf: permissions.
      const u = (pLo & 0x10) !== 0;
      if (priv === PRIV_U && !u) break;
      if (
        priv === PRIV_S && u && (acc === ACC_FETCH || !(this.mstatus & MS_SUM))
      ) {
        break;
      }
      if (acc === ACC_FETCH && !(pLo & 8)) break;
      if (
        acc === ACC_LOAD &&
        !((pLo & 2) || ((pLo & 8) && (this.mstatus & MS_MXR)))
      ) break;
      if (acc === ACC_STORE && !(pLo & 4)) break;
      // Superpage alignment.
      const span = level === 2 ? 262144 : level === 1 ? 512 : 1;
      if (ppn % span !== 0) break;
      // Hardware A/D update, as QEMU does.
      const need = 0x40 | (acc === ACC_STORE ? 0x80 : 0);
      if ((pLo & need) !== need) {
        if (
          this.#pmpCheck(pteAddr, 8, ACC_STORE, PRIV_S) !== 1 ||
          !bus.inRam(pteAddr, 8)
        ) {
          this.#fault(accessFault(acc), lo, hi);
          return -1;
        }
        pLo |= need;
        bus.write(pteAddr, 4, pLo);
      }
      // Loads through a clean page must not let stores skip setting D.
      if (acc === ACC_LOAD && !(pLo & 0x80)) this.#cacheable = false;
      const vOff = span === 1
        ? 0
        : (level === 2
          ? (((lo >>> 12) & 0x3ffff) * 4096)
          : (((lo >>> 12) & 0x1ff) * 4096));
      return ppn * 4096 + vOff + (lo & 0xfff);
    }
    this.#fault(pageFault(acc), lo, hi);
    return -1;
  }

  /**
   * PMP check: 1 = allowed for the whole range, 0 = denied, 2 = the range
   * straddles an entry boundary (denied, and never cacheable).
   */
  #pmpCheck(addr: number, size: number, acc: number, priv: number): number {
    const end = addr + size;
    for (let i = 0; i < 16; i++) {
      const cfg = this.pmpcfg[i]!;
      if ((cfg & 0x18) === 0) continue;
      const s = this.#pmpStart[i]!, e = this.#pmpEnd[i]!;
      if (end <= s || addr >= e) continue;
      if (addr < s || end > e) return 2;
      if (priv === PRIV_M && !(cfg & 0x80)) return 1;
      const bit = acc === ACC_FETCH ? 4 : acc === ACC_LOAD ? 1 : 2;
      return (cfg & bit) ? 1 : 0;
    }
    return priv === PRIV_M ? 1 : 0;
  }

  #pmpUpdate(): void {
    let active = 0;
    for (let i = 0; i < 16; i++) {
      const cfg = this.pmpcfg[i]!;
      const a = (cfg >>> 3) & 3;
      const pa = this.pmpaddr;
      const addr = (pa[2 * i + 1]! >>> 0) * TWO32 + (pa[2 * i]! >>> 0);
      let s = 0, e = 0;
      if (a === 1) { // TOR
        s = i === 0
          ? 0
          : ((pa[2 * i - 1]! >>> 0) * TWO32 + (pa[2 * i - 2]! >>> 0)) * 4;
        e = addr * 4;
      } else if (a === 2) { // NA4
        s = addr * 4;
        e = s + 4;
      } else if (a === 3) { // NAPOT: trailing ones give the size
        const lo = pa[2 * i]!, hi = pa[2 * i + 1]!;
        let t = 0;
        while (t < 32 && ((lo >>> t) & 1)) t++;
        if (t === 32) { while (t < 54 && ((hi >>> (t - 32)) & 1)) t++; }
        const sz = 2 ** (t + 3);
        // Clear the t trailing ones, then scale to bytes.
        const cLo = t >= 32 ? 0 : (lo >>> t) * 2 ** t;
        const cHi = t <= 32
          ? hi >>> 0
          : ((hi >>> (t - 32)) * 2 ** (t - 32)) >>> 0;
        s = (cHi * TWO32 + cLo) * 4;
        e = s + sz;
      }
      this.#pmpStart[i] = s;
      this.#pmpEnd[i] = e;
      if (a !== 0 && e > s) active++;
    }
    this.#pmpActive = active;
    this.flushTlb();
  }

  // =====================================================================
  // Memory slow paths
  // =====================================================================

  /** Slow path of a load instruction: fills rd, or returns false. */
  #load(w: number, lo: number, hi: number, size: number): boolean {
    if (!this.#loadSlow(lo, hi, size)) return false;
    const op = w & 0xff;
    const rd = (w >>> 8) & 127;
    let vLo = this.#tLo, vHi = this.#tHi;
    if (op === 15) vHi = (vLo = (vLo << 24) >> 24) >> 31;
    else if (op === 16) vHi = (vLo = (vLo << 16) >> 16) >> 31;
    else if (op === 17) vHi = vLo >> 31;
    else if (op !== 18) vHi = 0;
    this.x[rd] = vLo;
    this.x[rd + 1] = vHi;
    return true;
  }

  /** Load `size` bytes (1, 2, 4, 8) into #tLo/#tHi; false on a fault. */
  #loadSlow(lo: number, hi: number, size: number): boolean {
    this.#endAfterAccess = false;
    const pageOff = lo & 0xfff;
    if (pageOff + size > 4096) return this.#loadSplit(lo, hi, size);
    const pa = this.#translate(lo, hi, ACC_LOAD, size);
    if (pa < 0) return false;
    const bus = this.#bus;
    const cacheable = this.#cacheable;
    if (bus.inRam(pa, size)) {
      const off = pa - bus.ramBase;
      if (cacheable) {
        const key = (hi << 20) | (lo >>> 12);
        if (((hi << 20) >> 20) === hi) {
          this.#tlbRTag[key & TLB_MASK] = key;
          this.#tlbROff[key & TLB_MASK] = off - pageOff;
        }
      }
      const m = bus.ram8;
      let v = 0;
      for (let i = Math.min(size, 4) - 1; i >= 0; i--) {
        v = (v << 8) | m[off + i]!;
      }
      this.#tLo = v | 0;
      if (size === 8) {
        this.#tHi = m[off + 4]! | (m[off + 5]! << 8) | (m[off + 6]! << 16) |
          (m[off + 7]! << 24);
      } else this.#tHi = 0;
      return true;
    }
    // MMIO (natural alignment required).
    if (pa % size !== 0) return this.#fault(Cause.LoadAccessFault, lo, hi);
    if (size === 8) {
      if (!bus.read64(pa, this.#tmp)) {
        return this.#fault(Cause.LoadAccessFault, lo, hi);
      }
      this.#tLo = this.#tmp[0]!;
      this.#tHi = this.#tmp[1]!;
      // A device that armed a timer or raised an interrupt line ends the
      // slice after this instruction (see the load cases in `run`), so that
      // the effect lands at the same icount however the run is sliced.
      this.#endAfterAccess = this.#endSlice;
      return true;
    }
    const v = bus.read(pa, size as 1 | 2 | 4);
    if (v < 0) return this.#fault(Cause.LoadAccessFault, lo, hi);
    this.#tLo = v | 0;
    this.#tHi = 0;
    this.#endAfterAccess = this.#endSlice;
    return true;
  }

  #loadSplit(lo: number, hi: number, size: number): boolean {
    // A misaligned access that crosses a page: byte by byte, all pages
    // translated first so that a fault leaves no partial effect.
    let vLo = 0, vHi = 0;
    for (let i = 0; i < size; i++) {
      const s = (lo >>> 0) + i;
      const bLo = s | 0, bHi = (hi + Math.floor(s / TWO32)) | 0;
      const pa = this.#translate(bLo, bHi, ACC_LOAD, 1);
      if (pa < 0) return false;
      const b = this.#bus.read(pa, 1);
      if (b < 0) return this.#fault(Cause.LoadAccessFault, bLo, bHi);
      if (i < 4) vLo |= b << (8 * i);
      else vHi |= b << (8 * (i - 4));
    }
    this.#tLo = vLo;
    this.#tHi = vHi;
    this.#endAfterAccess = this.#endSlice;
    return true;
  }

  /** Store `size` bytes; false on a fault. Sets #endAfterAccess. */
  #storeSlow(
    lo: number,
    hi: number,
    size: number,
    vLo: number,
    vHi: number,
  ): boolean {
    this.#endAfterAccess = false;
    const pageOff = lo & 0xfff;
    const bus = this.#bus;
    if (pageOff + size > 4096) {
      // Translate every byte first, then write.
      const pas: number[] = [];
      for (let i = 0; i < size; i++) {
        const s = (lo >>> 0) + i;
        const bLo = s | 0, bHi = (hi + Math.floor(s / TWO32)) | 0;
        const pa = this.#translate(bLo, bHi, ACC_STORE, 1);
        if (pa < 0) return false;
        if (!bus.inRam(pa, 1) && !bus.find(pa)) {
          return this.#fault(Cause.StoreAccessFault, bLo, bHi);
        }
        pas.push(pa);
      }
      for (let i = 0; i < size; i++) {
        const b = i < 4 ? vLo >>> (8 * i) : vHi >>> (8 * (i - 4));
        if (!bus.write(pas[i]!, 1, b & 0xff)) {
          return this.#fault(Cause.StoreAccessFault, lo, hi);
        }
      }
      return true;
    }
    const pa = this.#translate(lo, hi, ACC_STORE, size);
    if (pa < 0) return false;
    if (bus.inRam(pa, size)) {
      const off = pa - bus.ramBase;
      const pageIdx = off >>> 12;
      const code = this.#codePages[pageIdx];
      if (code?.hot) code.invalidate(pageOff, size);
      bus.dirty[pageIdx] = 1; // before the fast path may write it unseen
      if (this.#cacheable && ((hi << 20) >> 20) === hi) {
        const key = (hi << 20) | (lo >>> 12);
        this.#tlbWTag[key & TLB_MASK] = key;
        this.#tlbWOff[key & TLB_MASK] = (off - pageOff) | (code?.hot ? 1 : 0);
      }
      const m = bus.ram8;
      for (let i = 0; i < size; i++) {
        m[off + i] = i < 4 ? vLo >>> (8 * i) : vHi >>> (8 * (i - 4));
      }
      // The new reservation rule: a store to the reserved location counts.
      return true;
    }
    if (pa % size !== 0) return this.#fault(Cause.StoreAccessFault, lo, hi);
    this.#endAfterAccess = true;
    const ok = size === 8
      ? bus.write64(pa, vLo, vHi)
      : bus.write(pa, size as 1 | 2 | 4, vLo);
    return ok ? true : this.#fault(Cause.StoreAccessFault, lo, hi);
  }

  #atomic(w: number, f5: number): boolean {
    const x = this.x;
    const op = w & 0xff;
    const rd = (w >>> 8) & 127, rs1 = (w >>> 15) & 63, rs2 = (w >>> 21) & 63;
    const lo = x[rs1]!, hi = x[rs1 + 1]!;
    const d = op === 68 || op === 70 || op === 72;
    const size = d ? 8 : 4;
    this.#endAfterAccess = false;
    if ((lo & (size - 1)) !== 0) {
      return this.#fault(
        op === 67 || op === 68 ? Cause.LoadMisaligned : Cause.StoreMisaligned,
        lo,
        hi,
      );
    }
    if (op === 67 || op === 68) { // LR
      if (!this.#loadSlow(lo, hi, size)) return false;
      const vLo = this.#tLo;
      const vHi = d ? this.#tHi : vLo >> 31;
      this.#w[HART.resValid] = 1;
      this.#s[HART64.resAddr] = this.#translate(lo, hi, ACC_LOAD, size);
      this.#w[HART.resLo] = this.#tLo;
      this.#w[HART.resHi] = this.#tHi;
      x[rd] = vLo;
      x[rd + 1] = vHi;
      x[64] = x[65] = 0;
      return true;
    }
    // An AMO reads as well: a load trigger on it fires too (as on QEMU).
    if (
      this.#trigData !== 0 && op !== 69 && op !== 70 &&
      this.#trigHit(this.#trigData, TRIG_LOAD, lo, hi, size)
    ) return this.#fault(Cause.Breakpoint, lo, hi);
    // SC and AMOs need write permission: translate as a store.
    const pa = this.#translate(lo, hi, ACC_STORE, size);
    if (pa < 0) return false;
    const bus = this.#bus;
    const t = this.#tmp;
    let okRead: boolean;
    if (d) okRead = bus.read64(pa, t);
    else {
      const v = bus.read(pa, 4);
      okRead = v >= 0 || (bus.inRam(pa, 4));
      t[0] = v;
      t[1] = 0;
    }
    if (!okRead) return this.#fault(Cause.StoreAccessFault, lo, hi);
    const oLo = t[0]!, oHi = d ? t[1]! : 0;
    if (op === 69 || op === 70) { // SC
      const ok = this.#w[HART.resValid] === 1 &&
        this.#s[HART64.resAddr] === pa &&
        oLo === this.#w[HART.resLo]! &&
        (!d || oHi === this.#w[HART.resHi]!);
      this.#w[HART.resValid] = 0;
      if (ok) {
        if (!this.#storeSlow(lo, hi, size, x[rs2]!, x[rs2 + 1]!)) return false;
      }
      x[rd] = ok ? 0 : 1;
      x[rd + 1] = 0;
      x[64] = x[65] = 0;
      return true;
    }
    const bLo = x[rs2]!, bHi = d ? x[rs2 + 1]! : x[rs2]! >> 31;
    const aLo = oLo, aHi = d ? oHi : oLo >> 31;
    let rLo = 0, rHi = 0;
    switch (f5) {
      case 1: // swap
        rLo = bLo;
        rHi = bHi;
        break;
      case 0: { // add
        const s = (aLo >>> 0) + (bLo >>> 0);
        rLo = s | 0;
        rHi = (aHi + bHi + (s > 4294967295 ? 1 : 0)) | 0;
        break;
      }
      case 4:
        rLo = aLo ^ bLo;
        rHi = aHi ^ bHi;
        break;
      case 12:
        rLo = aLo & bLo;
        rHi = aHi & bHi;
        break;
      case 8:
        rLo = aLo | bLo;
        rHi = aHi | bHi;
        break;
      default: {
        const lt = f5 === 16 || f5 === 20
          ? aHi < bHi || (aHi === bHi && (aLo >>> 0) < (bLo >>> 0))
          : (aHi >>> 0) < (bHi >>> 0) ||
            (aHi === bHi && (aLo >>> 0) < (bLo >>> 0));
        const takeA = (f5 === 16 || f5 === 24) ? lt : !lt;
        rLo = takeA ? aLo : bLo;
        rHi = takeA ? aHi : bHi;
      }
    }
    if (!this.#storeSlow(lo, hi, size, rLo, rHi)) return false;
    x[rd] = aLo;
    x[rd + 1] = aHi;
    x[64] = x[65] = 0;
    return true;
  }

  #fpMem(w: number, imm: number): boolean {
    if ((this.mstatus & MS_FS) === 0) {
      return this.#fault(Cause.IllegalInsn, this.#insnBits(w, imm), 0);
    }
    const x = this.x, f = this.f;
    const op = w & 0xff;
    const rd = (w >>> 8) & 127, rs1 = (w >>> 15) & 63, rs2 = (w >>> 21) & 63;
    const s = (x[rs1]! >>> 0) + (imm >>> 0);
    const lo = s | 0;
    const hi = (x[rs1 + 1]! + (imm >> 31) + (s > 4294967295 ? 1 : 0)) | 0;
    this.#endAfterAccess = false;
    if (op === 73 || op === 74) {
      if (!this.#loadSlow(lo, hi, op === 73 ? 4 : 8)) return false;
      f[rd] = this.#tLo;
      f[rd + 1] = op === 73 ? -1 : this.#tHi;
      this.mstatus |= MS_FS;
      return true;
    }
    return this.#storeSlow(lo, hi, op === 75 ? 4 : 8, f[rs2]!, f[rs2 + 1]!);
  }

  #insnBits(_w: number, _imm: number): number {
    // Re-read the instruction at the pc for mtval.
    const pa = this.#translate(this.pcLo, this.pcHi, ACC_FETCH, 2);
    if (pa < 0) return 0;
    const lo = this.#bus.read(pa, 2);
    if ((lo & 3) !== 3) return lo;
    const s = (this.pcLo >>> 0) + 2;
    const pa2 = this.#translate(s | 0, this.pcHi, ACC_FETCH, 2);
    return pa2 < 0 ? lo : (lo | (this.#bus.read(pa2, 2) << 16));
  }

  // =====================================================================
  // SYSTEM instructions
  // =====================================================================

  /** mret/sret/wfi/sfence.vma with the pc at the instruction. */
  #system(w: number, _imm: number): boolean {
    const op = w & 0xff;
    const len = 2 + ((w >>> 26) & 2);
    const illegal = () =>
      this.#fault(Cause.IllegalInsn, this.#insnBits(w, 0), 0);
    const c = this.csr64;
    switch (op) {
      case 82: { // MRET
        if (this.priv !== PRIV_M) return illegal();
        let ms = this.mstatus;
        const mpp = (ms >>> 11) & 3;
        ms = (ms & ~MS_MIE) | ((ms & MS_MPIE) ? MS_MIE : 0);
        ms |= MS_MPIE;
        ms &= ~MS_MPP;
        if (mpp !== PRIV_M) ms &= ~MS_MPRV;
        this.mstatus = ms;
        this.priv = mpp;
        this.pcLo = c[CSR64.mepc]!;
        this.pcHi = c[CSR64.mepc + 1]!;
        this.flushTlb();
        return true;
      }
      case 83: { // SRET
        if (this.priv < PRIV_S) return illegal();
        if (this.priv === PRIV_S && (this.mstatus & MS_TSR)) return illegal();
        let ms = this.mstatus;
        const spp = (ms & MS_SPP) ? PRIV_S : PRIV_U;
        ms = (ms & ~MS_SIE) | ((ms & MS_SPIE) ? MS_SIE : 0);
        ms |= MS_SPIE;
        ms &= ~MS_SPP;
        ms &= ~MS_MPRV;
        this.mstatus = ms;
        this.priv = spp;
        this.pcLo = c[CSR64.sepc]!;
        this.pcHi = c[CSR64.sepc + 1]!;
        this.flushTlb();
        return true;
      }
      case 84: { // WFI
        if (this.priv === PRIV_U) return illegal();
        if (this.priv === PRIV_S && (this.mstatus & MS_TW)) return illegal();
        this.#setPcOff(
          this.pcLo & ~0xfff,
          this.pcHi,
          (this.pcLo & 0xfff) + len,
        );
        if ((this.mip & this.mie) === 0) this.waiting = true;
        return true;
      }
      default: { // SFENCE_VMA
        if (this.priv === PRIV_U) return illegal();
        if (this.priv === PRIV_S && (this.mstatus & MS_TVM)) return illegal();
        this.flushTlb();
        this.#setPcOff(
          this.pcLo & ~0xfff,
          this.pcHi,
          (this.pcLo & 0xfff) + len,
        );
        return true;
      }
    }
  }

  /** A Zicsr instruction with the pc at the instruction; advances the pc. */
  #csrInsn(w: number, csr: number): boolean {
    const x = this.x;
    const op = w & 0xff;
    const rd = (w >>> 8) & 127, rs1 = (w >>> 15) & 63;
    const len = 2 + ((w >>> 26) & 2);
    const imm = op >= 89;
    const srcLo = imm ? rs1 >>> 1 : x[rs1]!;
    const srcHi = imm ? 0 : x[rs1 + 1]!;
    const kind = op >= 89 ? op - 3 : op; // 86 write, 87 set, 88 clear
    const writes = kind === 86 || rs1 !== 0;
    const reads = kind !== 86 || rd !== 64;
    this.#endAfterAccess = false;
    // Privilege and read-only checks.
    const minPriv = (csr >>> 8) & 3;
    if (this.priv < minPriv || (writes && (csr >>> 10) === 3)) {
      return this.#fault(Cause.IllegalInsn, this.#insnBits(w, csr), 0);
    }
    let oLo = 0, oHi = 0;
    if (reads || kind !== 86) {
      if (!this.#csrRead(csr)) {
        return this.#fault(Cause.IllegalInsn, this.#insnBits(w, csr), 0);
      }
      oLo = this.#tLo;
      oHi = this.#tHi;
    } else if (!this.#csrExists(csr)) {
      return this.#fault(Cause.IllegalInsn, this.#insnBits(w, csr), 0);
    }
    if (writes) {
      let nLo = srcLo, nHi = srcHi;
      if (kind === 87) {
        nLo = oLo | srcLo;
        nHi = oHi | srcHi;
      } else if (kind === 88) {
        nLo = oLo & ~srcLo;
        nHi = oHi & ~srcHi;
      }
      if (!this.#csrWrite(csr, nLo, nHi)) {
        return this.#fault(Cause.IllegalInsn, this.#insnBits(w, csr), 0);
      }
      this.#endAfterAccess = true; // re-check interrupts and translation
    }
    x[rd] = oLo;
    x[rd + 1] = oHi;
    x[64] = x[65] = 0;
    this.#setPcOff(this.pcLo & ~0xfff, this.pcHi, (this.pcLo & 0xfff) + len);
    return true;
  }

  #csrExists(csr: number): boolean {
    const lo = this.#tLo, hi = this.#tHi;
    const ok = this.#csrRead(csr);
    this.#tLo = lo;
    this.#tHi = hi;
    return ok;
  }

  #counterAllowed(bit: number): boolean {
    if (this.priv === PRIV_M) return true;
    if (!((this.mcounteren >>> bit) & 1)) return false;
    if (this.priv === PRIV_U && !((this.scounteren >>> bit) & 1)) return false;
    return true;
  }

  #setT(v: number): true {
    this.#tLo = v | 0;
    this.#tHi = Math.floor(v / TWO32) | 0;
    return true;
  }

  /** `mcycle`: one cycle per retired instruction, as QEMU's icount. */
  #cycles(): number {
    return (this.mcountinhibit & 1)
      ? this.#s[HART64.cycleFrozen]!
      : this.icount + this.#s[HART64.cycleOffset]!;
  }

  #instret(): number {
    return (this.mcountinhibit & 4)
      ? this.#s[HART64.instretFrozen]!
      : this.icount + this.#s[HART64.instretOffset]!;
  }

  #mtime(): number {
    return this.#time ? this.#time.readMtime() : 0;
  }

  /** Read a CSR into #tLo/#tHi; false if it does not exist. */
  #csrRead(csr: number): boolean {
    const c = this.csr64;
    const slot = CSR_SLOT[csr];
    if (slot !== undefined) {
      this.#tLo = c[slot]!;
      this.#tHi = c[slot + 1]!;
      return true;
    }
    const fsHi = (this.mstatus & MS_FS) === MS_FS ? 0x80000000 | 0 : 0;
    switch (csr) {
      case CSR.fflags:
        if ((this.mstatus & MS_FS) === 0) return false;
        return this.#setT(this.#fpu.fflags);
      case CSR.frm:
        if ((this.mstatus & MS_FS) === 0) return false;
        return this.#setT(this.#fpu.frm);
      case CSR.fcsr:
        if ((this.mstatus & MS_FS) === 0) return false;
        return this.#setT((this.#fpu.frm << 5) | this.#fpu.fflags);
      case CSR.cycle:
        return this.#counterAllowed(0) &&
          this.#setT(this.#cycles());
      case CSR.time:
        return this.#counterAllowed(1) && this.#setT(this.#mtime());
      case CSR.instret:
        return this.#counterAllowed(2) &&
          this.#setT(this.#instret());
      case CSR.mcycle:
        return this.#setT(this.#cycles());
      case CSR.minstret:
        return this.#setT(this.#instret());
      case CSR.sstatus:
        this.#tLo = this.mstatus & SSTATUS_MASK;
        this.#tHi = 0x2 | fsHi;
        return true;
      case CSR.sie:
        return this.#setT(this.mie & this.mideleg & S_INTS);
      case CSR.sip:
        return this.#setT(this.mip & this.mideleg & S_INTS);
      case CSR.scounteren:
        return this.#setT(this.scounteren);
      case CSR.stimecmp: {
        if (
          this.priv === PRIV_S && !(this.csr64[CSR64.menvcfg + 1]! & 0x80000000)
        ) {
          return false;
        }
        return this.#setT(this.stimecmp);
      }
      case CSR.satp:
        if (this.priv === PRIV_S && (this.mstatus & MS_TVM)) return false;
        this.#tLo = (this.satpPpn % TWO32) | 0;
        this.#tHi = (Math.floor(this.satpPpn / TWO32) & 0xfff) |
          (this.satpAsid << 12) | (this.satpMode << 28);
        return true;
      case CSR.mstatus:
        this.#tLo = this.mstatus;
        this.#tHi = 0xa | fsHi;
        return true;
      case CSR.misa:
        this.#tLo = MISA_LO;
        this.#tHi = 0x80000000 | 0;
        return true;
      case CSR.medeleg:
        return this.#setT(this.medeleg);
      case CSR.mideleg:
        return this.#setT(this.mideleg);
      case CSR.mie:
        return this.#setT(this.mie);
      case CSR.mcounteren:
        return this.#setT(this.mcounteren);
      case CSR.mcountinhibit:
        return this.#setT(this.mcountinhibit);
      case CSR.mip:
        return this.#setT(this.mip);
      case CSR.mvendorid:
      case CSR.marchid:
      case CSR.mimpid:
      case CSR.mconfigptr:
        return this.#setT(0);
      case CSR.mhartid:
        return this.#setT(this.#hartId);
      case CSR.tselect:
        return this.#setT(this.#w[HART.tselect]! & 1);
      case CSR.tdata1: {
        const i = CSR64.tdata1 + 2 * (this.#w[HART.tselect]! & 1);
        this.#tLo = c[i]!;
        this.#tHi = c[i + 1]! ^ TDATA1_TYPE_XOR;
        return true;
      }
      case CSR.tdata2: {
        const i = CSR64.tdata2 + 2 * (this.#w[HART.tselect]! & 1);
        this.#tLo = c[i]!;
        this.#tHi = c[i + 1]!;
        return true;
      }
      case CSR.tdata3:
        return this.#setT(0);
      case CSR.tinfo:
        return this.#setT(TINFO);
    }
    if (csr >= CSR.pmpcfg0 && csr <= CSR.pmpcfg0 + 15) {
      if (csr & 1) return false; // odd pmpcfg do not exist on RV64
      const b = (csr - CSR.pmpcfg0) * 4;
      if (b >= 16) return this.#setT(0);
      const p = this.pmpcfg;
      this.#tLo = p[b]! | (p[b + 1]! << 8) | (p[b + 2]! << 16) |
        (p[b + 3]! << 24);
      this.#tHi = p[b + 4]! | (p[b + 5]! << 8) | (p[b + 6]! << 16) |
        (p[b + 7]! << 24);
      return true;
    }
    if (csr >= CSR.pmpaddr0 && csr <= CSR.pmpaddr0 + 15) {
      // With a 4-byte grain, pmpaddr reads back as written.
      const i = csr - CSR.pmpaddr0;
      this.#tLo = this.pmpaddr[2 * i]!;
      this.#tHi = this.pmpaddr[2 * i + 1]!;
      return true;
    }
    if (
      (csr >= CSR.hpmcounter3 && csr <= CSR.cycle + 31) ||
      (csr >= CSR.mhpmcounter3 && csr <= CSR.mcycle + 31) ||
      (csr >= CSR.mhpmevent3 && csr <= CSR.mhpmevent3 + 28)
    ) {
      if (
        csr >= CSR.hpmcounter3 && csr <= CSR.cycle + 31 &&
        !this.#counterAllowed(csr - CSR.cycle)
      ) {
        return false;
      }
      return this.#setT(0);
    }
    return false;
  }

  /** Write a CSR (already checked for privilege); false if it doesn't exist. */
  #csrWrite(csr: number, lo: number, hi: number): boolean {
    const c = this.csr64;
    switch (csr) {
      case CSR.fflags:
        if ((this.mstatus & MS_FS) === 0) return false;
        this.#fpu.fflags = lo & 31;
        this.mstatus |= MS_FS;
        return true;
      case CSR.frm:
        if ((this.mstatus & MS_FS) === 0) return false;
        this.#fpu.frm = lo & 7;
        this.mstatus |= MS_FS;
        return true;
      case CSR.fcsr:
        if ((this.mstatus & MS_FS) === 0) return false;
        this.#fpu.fflags = lo & 31;
        this.#fpu.frm = (lo >>> 5) & 7;
        this.mstatus |= MS_FS;
        return true;
      case CSR.sstatus:
        this.#writeMstatus(
          (this.mstatus & ~SSTATUS_MASK) | (lo & SSTATUS_MASK),
        );
        return true;
      case CSR.sie: {
        const m = this.mideleg & S_INTS;
        this.mie = (this.mie & ~m) | (lo & m);
        return true;
      }
      case CSR.sip: {
        const m = this.mideleg & (1 << 1); // only SSIP is writable from S
        this.#w[HART.mipSw] = (this.#w[HART.mipSw]! & ~m) | (lo & m);
        this.#w[HART.mip] = this.#w[HART.mipHw]! | this.#w[HART.mipSw]!;
        return true;
      }
      case CSR.stvec:
      case CSR.mtvec: {
        if ((lo & 3) >= 2) return true; // reserved modes are ignored (QEMU)
        const s = csr === CSR.stvec ? CSR64.stvec : CSR64.mtvec;
        c[s] = lo;
        c[s + 1] = hi;
        return true;
      }
      case CSR.scounteren:
        this.scounteren = lo & 7;
        return true;
      case CSR.senvcfg:
        c[CSR64.senvcfg] = lo & 0xf1;
        c[CSR64.senvcfg + 1] = 0;
        return true;
      case CSR.sscratch:
      case CSR.mscratch:
      case CSR.scause:
      case CSR.mcause:
      case CSR.stval:
      case CSR.mtval: {
        const s = CSR_SLOT[csr]!;
        c[s] = lo;
        c[s + 1] = hi;
        return true;
      }
      case CSR.sepc:
      case CSR.mepc: {
        const s = CSR_SLOT[csr]!;
        c[s] = lo & ~1;
        c[s + 1] = hi;
        return true;
      }
      case CSR.stimecmp:
        if (this.priv === PRIV_S && !(c[CSR64.menvcfg + 1]! & 0x80000000)) {
          return false;
        }
        this.#s[HART64.stimecmp] = (hi >>> 0) * TWO32 + (lo >>> 0);
        this.#updateStip();
        return true;
      case CSR.satp: {
        if (this.priv === PRIV_S && (this.mstatus & MS_TVM)) return false;
        const mode = hi >>> 28;
        if (mode !== 0 && mode !== 8) return true; // WARL: unsupported mode ignored
        this.#w[HART.satpMode] = mode;
        this.#w[HART.satpAsid] = (hi >>> 12) & 0xffff;
        this.#s[HART64.satpPpn] = (hi & 0xfff) * TWO32 + (lo >>> 0);
        this.flushTlb();
        return true;
      }
      case CSR.mstatus:
        this.#writeMstatus(lo);
        return true;
      case CSR.misa:
        return true; // misa is read-only here
      case CSR.medeleg:
        this.medeleg = lo & DELEGABLE_EXC;
        return true;
      case CSR.mideleg:
        this.mideleg = lo & S_INTS;
        return true;
      case CSR.mie:
        this.mie = lo & M_INTS;
        return true;
      case CSR.mcounteren:
        this.mcounteren = lo & 7;
        return true;
      case CSR.menvcfg:
        c[CSR64.menvcfg] = lo & 0xf1;
        c[CSR64.menvcfg + 1] = hi & (0x80000000 | 0);
        this.#updateStip();
        return true;
      case CSR.mcountinhibit: {
        const next = lo & 5;
        const changed = this.mcountinhibit ^ next;
        // Values as of the end of this instruction.
        if (changed & 1) {
          if (next & 1) this.#s[HART64.cycleFrozen] = this.#cycles() + 1;
          else {this.#s[HART64.cycleOffset] = this.#s[HART64.cycleFrozen]! -
              this.icount - 1;}
        }
        if (changed & 4) {
          if (next & 4) this.#s[HART64.instretFrozen] = this.#instret() + 1;
          else {this.#s[HART64.instretOffset] = this.#s[HART64.instretFrozen]! -
              this.icount - 1;}
        }
        this.#w[HART.mcountinhibit] = next;
        return true;
      }
      case CSR.mip: {
        // M can write SSIP, STIP (without Sstc) and SEIP.
        const stce = (c[CSR64.menvcfg + 1]! & 0x80000000) !== 0;
        const m = (1 << 1) | (1 << 9) | (stce ? 0 : 1 << 5);
        this.#w[HART.mipSw] = (this.#w[HART.mipSw]! & ~m) | (lo & m);
        this.#w[HART.mip] = this.#w[HART.mipHw]! | this.#w[HART.mipSw]!;
        return true;
      }
      case CSR.mcycle: {
        const v = (hi >>> 0) * TWO32 + (lo >>> 0);
        this.#s[HART64.cycleOffset] = v - this.icount - 1;
        this.#s[HART64.cycleFrozen] = v;
        return true;
      }
      case CSR.minstret: {
        const v = (hi >>> 0) * TWO32 + (lo >>> 0);
        this.#s[HART64.instretOffset] = v - this.icount - 1;
        this.#s[HART64.instretFrozen] = v;
        return true;
      }
      case CSR.tselect: // WARL: an index past the last trigger is ignored
        if (hi === 0 && (lo >>> 0) < TRIGGERS) this.#w[HART.tselect] = lo;
        return true;
      case CSR.tdata1: {
        // mcontrol or mcontrol6; a write of another type is ignored, and
        // dmode stays 0 (no debug mode), as QEMU 7.2 does.
        const type = hi >>> 28;
        if (type !== 2 && type !== 6) return true;
        const i = CSR64.tdata1 + 2 * (this.#w[HART.tselect]! & 1);
        c[i] = lo & (type === 2 ? TRIG_KEEP2 : TRIG_KEEP6);
        c[i + 1] = (type << 28) ^ TDATA1_TYPE_XOR;
        this.#trigUpdate();
        return true;
      }
      case CSR.tdata2: {
        const i = CSR64.tdata2 + 2 * (this.#w[HART.tselect]! & 1);
        c[i] = lo;
        c[i + 1] = hi;
        return true;
      }
      case CSR.tdata3: // no textra: reads 0
        return true;
    }
    if (csr >= CSR.pmpcfg0 && csr <= CSR.pmpcfg0 + 15) {
      if (csr & 1) return false;
      const b = (csr - CSR.pmpcfg0) * 4;
      if (b >= 16) return true;
      for (let i = 0; i < 8; i++) {
        if (this.pmpcfg[b + i]! & 0x80) continue; // locked
        // QEMU 7.2 keeps the reserved R=0/W=1 combination as written.
        this.pmpcfg[b + i] = (i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4))) &
          0x9f;
      }
      this.#pmpUpdate();
      return true;
    }
    if (csr >= CSR.pmpaddr0 && csr <= CSR.pmpaddr0 + 15) {
      const i = csr - CSR.pmpaddr0;
      const locked = (this.pmpcfg[i]! & 0x80) !== 0 ||
        (i < 15 && (this.pmpcfg[i + 1]! & 0x98) === 0x88);
      if (!locked) {
        this.pmpaddr[2 * i] = lo;
        this.pmpaddr[2 * i + 1] = hi & 0x3fffff;
        this.#pmpUpdate();
      }
      return true;
    }
    if (
      (csr >= CSR.mhpmcounter3 && csr <= CSR.mcycle + 31) ||
      (csr >= CSR.mhpmevent3 && csr <= CSR.mhpmevent3 + 28)
    ) return true;
    return this.#csrRead(csr);
  }

  #writeMstatus(v: number): void {
    const old = this.mstatus;
    let n = (old & ~MSTATUS_WMASK) | (v & MSTATUS_WMASK);
    if (((n >>> 11) & 3) === 2) n = (n & ~MS_MPP) | (old & MS_MPP);
    this.mstatus = n;
    if ((old ^ n) & (MS_MPRV | MS_MPP | MS_SUM | MS_MXR)) this.flushTlb();
  }

  #updateStip(): void {
    const stce = (this.csr64[CSR64.menvcfg + 1]! & 0x80000000) !== 0;
    if (!stce || !this.#time) {
      this.#stimer.del();
      this.setPending(1 << 5, false);
      return;
    }
    const now = this.#mtime();
    if (now >= this.stimecmp) {
      this.#stimer.del();
      this.setPending(1 << 5, true);
    } else {
      this.setPending(1 << 5, false);
      if (this.stimecmp < Number.MAX_SAFE_INTEGER) {
        this.#stimer.mod(this.#time.mtimeToNs(this.stimecmp));
      } else this.#stimer.del();
    }
  }
}

// CSRs that are plain 64-bit storage, from the CSR table: number -> slot.
const CSR_SLOT: Record<number, number> = Object.fromEntries(
  CSR_DEFS.filter((d) => d.storage.kind === "csr64").map((
    d,
  ) => [d.num, (d.storage as { index: number }).index]),
);

function accessFault(acc: number): number {
  return acc === ACC_FETCH
    ? Cause.InsnAccessFault
    : acc === ACC_LOAD
    ? Cause.LoadAccessFault
    : Cause.StoreAccessFault;
}

function pageFault(acc: number): number {
  return acc === ACC_FETCH
    ? Cause.InsnPageFault
    : acc === ACC_LOAD
    ? Cause.LoadPageFault
    : Cause.StorePageFault;
}
