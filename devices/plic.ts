/**
 * The platform-level interrupt controller (PLIC) of the `virt` board, with
 * one hart.
 *
 * Reference: the RISC-V PLIC specification v1.0.0 (memory map, section 3;
 * priorities, pending bits, enables, thresholds and the claim/complete
 * protocol, sections 4 to 9), laid out as QEMU's `hw/intc/sifive_plic.c` is
 * for `virt`: priorities at +0x0, pending bits at +0x1000, enables at +0x2000
 * with a stride of 0x80 per context, thresholds and claim/complete at
 * +0x200000 with a stride of 0x1000. Context 0 is hart 0 in M-mode (drives
 * `MIP_MEIP`), context 1 is hart 0 in S-mode (drives `MIP_SEIP`). Priorities
 * and thresholds are 3 bits (0 to 7) and write-any-read-legal, as in QEMU.
 * Only 4-byte accesses are allowed; unknown registers read 0 and ignore
 * writes.
 *
 * Sources are level-triggered: a line's level sets or clears its pending bit
 * (as QEMU does). Several devices may share a source: each gets its own
 * input ({@linkcode Plic.connect}), and the source's level is the OR of its
 * inputs, as for real level-triggered lines, so one device lowering its
 * input never clears another's request. Further, a claim clears the pending bit of the source it returns, and
 * a completion re-pends the source if its line is still high. That last step
 * is the specification's gateway; QEMU instead relies on devices raising the
 * line again. Like QEMU, a completion is accepted from either context without
 * checking that the source is enabled there.
 *
 * Left out: more harts and contexts, edge-triggered sources, and MSI.
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import { PLIC_NUM_SOURCES, PLIC_SIZE } from "../core/memory_map.ts";
import {
  type InterruptTarget,
  type IrqLine,
  MIP_MEIP,
  MIP_SEIP,
} from "../core/irq.ts";
import {
  defineState,
  newState,
  type StateDescription,
  type StateValues,
} from "../plugins/state.ts";

const PRIORITY_BASE = 0x0;
const PENDING_BASE = 0x1000;
const ENABLE_BASE = 0x2000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x200000;
const CONTEXT_STRIDE = 0x1000;
const NUM_CONTEXTS = 2;
/** 7 levels plus "never": the register keeps the low 3 bits. */
const PRIORITY_MASK = 7;
const CONTEXT_MIP = [MIP_MEIP, MIP_SEIP] as const;

/** The fields of {@linkcode plicState}. */
export const plicFields = {
  numSources: "u32",
  priority: "u32[]",
  pending: "u32[]",
  claimed: "u32[]",
  levels: "u32[]",
  enableM: "u32[]",
  enableS: "u32[]",
  thresholdM: "u32",
  thresholdS: "u32",
  inputs: "u32[]",
} as const;
/** The values of the PLIC's state. */
export type PlicValues = StateValues<typeof plicFields>;

/**
 * The PLIC's state, version 2: bitmaps are arrays of 32-bit words (source 0
 * in bit 0 of the first word); `levels` is the level of each source and
 * `inputs` the inputs that hold it high, one word of input bits per source.
 * Version 1 had no `inputs` (one input per source).
 */
export const plicState: StateDescription<typeof plicFields> = defineState({
  name: "plic",
  version: 2,
  fields: plicFields,
  upgrade: (from, old): PlicValues => {
    if (from !== 1) {
      throw new RangeError(`Cannot upgrade plic state from version ${from}`);
    }
    const v = old as Omit<PlicValues, "inputs">;
    // Version 1 had one input per source: input 0 held the level.
    const inputs = v.priority.map((_, i) =>
      (v.levels[i >> 5]! >>> (i & 31)) & 1
    );
    return { ...v, inputs };
  },
});

/** Options for {@linkcode Plic}. */
export interface PlicOptions {
  /** Physical base address (`PLIC_BASE` on `virt`). */
  base: number;
  /** Hart 0, whose MEIP (context 0) and SEIP (context 1) the PLIC drives. */
  hart: InterruptTarget;
  /**
   * Number of sources including the reserved source 0.
   *
   * @default {96}
   */
  numSources?: number;
  /**
   * Size of the register window.
   *
   * @default {0x600000}
   */
  size?: number;
}

/**
 * A SiFive PLIC with two contexts (hart 0 M-mode and S-mode).
 *
 * @example Claim and complete a source
 * ```ts
 * import { Plic } from "./plic.ts";
 * let mip = 0;
 * const hart = {
 *   setPending(mask: number, level: boolean) {
 *     mip = level ? mip | mask : mip & ~mask;
 *   },
 * };
 * const plic = new Plic({ base: 0xc00_0000, hart });
 * const r = plic.regions[0]!;
 * r.write(10 * 4, 4, 1); // priority of source 10
 * r.write(0x2000 + 0x80, 4, 1 << 10); // enable it for context 1 (S-mode)
 * plic.irq(10).set(true);
 * if (r.read(0x201004, 4) !== 10) throw new Error("unreachable"); // claim
 * plic.irq(10).set(false);
 * r.write(0x201004, 4, 10); // complete
 * if (mip !== 0) throw new Error("unreachable");
 * ```
 */
export class Plic {
  /** The register window. */
  readonly regions: MmioRegion[];
  /** Number of sources including the reserved source 0. */
  readonly numSources: number;
  /** The live state, declared by {@linkcode plicState}. */
  readonly state: PlicValues;

  #hart: InterruptTarget;
  #words: number;
  #out = [false, false];
  #lines: IrqLine[] = [];
  #connected: number[];

  /**
   * Make a PLIC in its reset state.
   *
   * @param options where it sits and what it drives
   * @throws {RangeError} if `numSources` is not between 2 and 1024
   */
  constructor(options: PlicOptions) {
    const n = options.numSources ?? PLIC_NUM_SOURCES;
    if (!Number.isInteger(n) || n < 2 || n > 1024) {
      throw new RangeError(
        `Cannot create plic: numSources ${n} is not between 2 and 1024`,
      );
    }
    this.numSources = n;
    this.#hart = options.hart;
    const w = (n + 31) >> 5;
    this.#words = w;
    const words = () => new Array<number>(w).fill(0);
    this.state = newState(plicState, {
      numSources: n,
      priority: new Array<number>(n).fill(0),
      pending: words(),
      claimed: words(),
      levels: words(),
      enableM: words(),
      enableS: words(),
      inputs: new Array<number>(n).fill(0),
    });
    this.#connected = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      this.#lines.push({ set: (level) => this.#setInput(i, 1, level) });
    }
    this.regions = [{
      name: "plic",
      base: options.base,
      size: options.size ?? PLIC_SIZE,
      accessSizes: [4],
      read: (offset) => this.#read(offset),
      write: (offset, _size, value) => this.#write(offset, value >>> 0),
    }];
    this.reset();
  }

  /**
   * The first input of source `n` (the same object on every call), for a
   * device wired directly to the PLIC.
   *
   * @param n source number, 1 to `numSources - 1`
   * @returns the line
   * @throws {RangeError} for source 0 or a source that does not exist
   */
  irq(n: number): IrqLine {
    this.#check(n);
    return this.#lines[n]!;
  }

  /**
   * A new input of source `n`, for one more device on that source: the
   * source is high while any of its inputs is (wire-OR).
   *
   * @param n source number, 1 to `numSources - 1`
   * @returns a line of its own
   * @throws {RangeError} for a source that does not exist, or one with 31
   * inputs already
   * @example Two devices share source 5
   * ```ts
   * import { Plic } from "./plic.ts";
   * const plic = new Plic({ base: 0, hart: { setPending() {} } });
   * const a = plic.connect(5), b = plic.connect(5);
   * a.set(true);
   * b.set(false); // does not clear a's request
   * console.log(plic.regions[0]!.read(0x1000, 4) === 1 << 5); // true
   * ```
   */
  connect(n: number): IrqLine {
    this.#check(n);
    const k = ++this.#connected[n]!;
    if (k > 31) {
      throw new RangeError(
        `Cannot connect plic source ${n}: it has 31 inputs already`,
      );
    }
    const bit = (1 << k) >>> 0;
    return { set: (level) => this.#setInput(n, bit, level) };
  }

  #check(n: number): void {
    if (!(Number.isInteger(n) && n >= 1 && n < this.numSources)) {
      throw new RangeError(
        `Cannot connect plic source ${n}: sources are 1 to ${
          this.numSources - 1
        }`,
      );
    }
  }

  /** Clear every register and lower MEIP and SEIP. */
  reset(): void {
    const s = this.state;
    s.priority.fill(0);
    s.pending.fill(0);
    s.claimed.fill(0);
    s.enableM.fill(0);
    s.enableS.fill(0);
    s.thresholdM = 0;
    s.thresholdS = 0;
    // Line levels belong to the devices; keep them so a device that is
    // still asserting its line is pending again after the next edge.
    for (let ctx = 0; ctx < NUM_CONTEXTS; ctx++) {
      this.#out[ctx] = false;
      this.#hart.setPending(CONTEXT_MIP[ctx]!, false);
    }
  }

  /**
   * Check a restored state and re-derive the outputs from it. MEIP and SEIP
   * are not driven: the hart restores its own `mip`.
   *
   * @throws {RangeError} if the state is for a different number of sources
   * or its arrays have the wrong length
   */
  afterLoad(): void {
    const s = this.state, n = this.numSources, w = this.#words;
    if (s.numSources !== n) {
      throw new RangeError(
        `Cannot load plic state: it has ${s.numSources} sources, this plic ${n}`,
      );
    }
    const lengths: [string, number[], number][] = [
      ["priority", s.priority, n],
      ["inputs", s.inputs, n],
      ["pending", s.pending, w],
      ["claimed", s.claimed, w],
      ["levels", s.levels, w],
      ["enableM", s.enableM, w],
      ["enableS", s.enableS, w],
    ];
    for (const [name, a, len] of lengths) {
      if (a.length !== len) {
        throw new RangeError(
          `Cannot load plic state: ${name} has ${a.length} words, expected ${len}`,
        );
      }
    }
    for (let ctx = 0; ctx < NUM_CONTEXTS; ctx++) {
      this.#out[ctx] = this.#best(ctx) !== 0;
    }
  }

  #setInput(irq: number, bit: number, level: boolean): void {
    const inputs = this.state.inputs;
    inputs[irq] = (level ? inputs[irq]! | bit : inputs[irq]! & ~bit) >>> 0;
    // A raise always (re)sets the pending bit, as a single line did; a
    // lowering clears the source only when no other input holds it high.
    if (level) this.#setLevel(irq, true);
    else if (inputs[irq] === 0) this.#setLevel(irq, false);
  }

  #setLevel(irq: number, level: boolean): void {
    const s = this.state;
    const w = irq >> 5;
    const bit = 1 << (irq & 31);
    if (level) {
      s.levels[w] = (s.levels[w]! | bit) >>> 0;
      s.pending[w] = (s.pending[w]! | bit) >>> 0;
    } else {
      s.levels[w] = (s.levels[w]! & ~bit) >>> 0;
      s.pending[w] = (s.pending[w]! & ~bit) >>> 0;
    }
    this.#update();
  }

  #enable(ctx: number): number[] {
    return ctx === 0 ? this.state.enableM : this.state.enableS;
  }

  /**
   * The highest-priority source that is pending, enabled for `ctx`, not
   * claimed and above its threshold; ties go to the lowest number.
   */
  #best(ctx: number): number {
    const s = this.state;
    let maxIrq = 0;
    let maxPrio = ctx === 0 ? s.thresholdM : s.thresholdS;
    const enable = this.#enable(ctx);
    for (let w = 0; w < this.#words; w++) {
      let bits = s.pending[w]! & ~s.claimed[w]! & enable[w]!;
      while (bits !== 0) {
        const j = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const irq = (w << 5) + j;
        if (irq >= this.numSources) break;
        const prio = s.priority[irq]!;
        if (prio > maxPrio) {
          maxIrq = irq;
          maxPrio = prio;
        }
      }
    }
    return maxIrq;
  }

  #update(): void {
    for (let ctx = 0; ctx < NUM_CONTEXTS; ctx++) {
      const level = this.#best(ctx) !== 0;
      if (level !== this.#out[ctx]) {
        this.#out[ctx] = level;
        this.#hart.setPending(CONTEXT_MIP[ctx]!, level);
      }
    }
  }

  #read(offset: number): number {
    const s = this.state;
    if (offset - PRIORITY_BASE < this.numSources * 4) {
      return s.priority[(offset - PRIORITY_BASE) >> 2]!;
    }
    if (
      offset >= PENDING_BASE &&
      offset - PENDING_BASE < (this.numSources + 31) >> 3
    ) {
      return s.pending[(offset - PENDING_BASE) >> 2]!;
    }
    if (
      offset >= ENABLE_BASE &&
      offset - ENABLE_BASE < NUM_CONTEXTS * ENABLE_STRIDE
    ) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset & (ENABLE_STRIDE - 1)) >> 2;
      return word < this.#words ? this.#enable(ctx)[word]! : 0;
    }
    if (
      offset >= CONTEXT_BASE &&
      offset - CONTEXT_BASE < NUM_CONTEXTS * CONTEXT_STRIDE
    ) {
      const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
      const reg = offset & (CONTEXT_STRIDE - 1);
      if (reg === 0) return ctx === 0 ? s.thresholdM : s.thresholdS;
      if (reg === 4) return this.#claim(ctx);
    }
    return 0;
  }

  #claim(ctx: number): number {
    const irq = this.#best(ctx);
    if (irq !== 0) {
      const s = this.state;
      const bit = 1 << (irq & 31);
      const w = irq >> 5;
      s.pending[w] = (s.pending[w]! & ~bit) >>> 0;
      s.claimed[w] = (s.claimed[w]! | bit) >>> 0;
    }
    this.#update();
    return irq;
  }

  #write(offset: number, value: number): void {
    const s = this.state;
    if (offset - PRIORITY_BASE < this.numSources * 4) {
      s.priority[(offset - PRIORITY_BASE) >> 2] = value & PRIORITY_MASK;
      this.#update();
      return;
    }
    if (
      offset >= ENABLE_BASE &&
      offset - ENABLE_BASE < NUM_CONTEXTS * ENABLE_STRIDE
    ) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset & (ENABLE_STRIDE - 1)) >> 2;
      // QEMU stores the enables without re-evaluating the outputs; the next
      // event does. Re-evaluating at once is what the specification implies.
      if (word < this.#words) {
        this.#enable(ctx)[word] = value >>> 0;
        this.#update();
      }
      return;
    }
    if (
      offset >= CONTEXT_BASE &&
      offset - CONTEXT_BASE < NUM_CONTEXTS * CONTEXT_STRIDE
    ) {
      const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
      const reg = offset & (CONTEXT_STRIDE - 1);
      if (reg === 0) {
        if (ctx === 0) s.thresholdM = value & PRIORITY_MASK;
        else s.thresholdS = value & PRIORITY_MASK;
        this.#update();
      } else if (reg === 4 && value < this.numSources) {
        const w = value >> 5;
        const bit = 1 << (value & 31);
        s.claimed[w] = (s.claimed[w]! & ~bit) >>> 0;
        if (s.levels[w]! & bit) s.pending[w] = (s.pending[w]! | bit) >>> 0;
        this.#update();
      }
    }
    // Pending bits are read-only; other offsets are reserved.
  }
}
