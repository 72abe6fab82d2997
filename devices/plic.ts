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
 * (as QEMU does), a claim clears the pending bit of the source it returns, and
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
import * as fields from "./_state_fields.ts";
import type { SavedFields } from "./_state_fields.ts";

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
  /** Version of the layout that {@linkcode Plic.saveState} returns. */
  static readonly stateVersion = 1;
  /** The register window. */
  readonly regions: MmioRegion[];
  /** Number of sources including the reserved source 0. */
  readonly numSources: number;

  #hart: InterruptTarget;
  #words: number;
  #priority: Uint32Array;
  #pending: Uint32Array;
  #claimed: Uint32Array;
  #levels: Uint32Array;
  #enable: Uint32Array;
  #threshold = new Uint32Array(NUM_CONTEXTS);
  #out = [false, false];
  #lines: IrqLine[] = [];

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
    this.#words = (n + 31) >> 5;
    this.#priority = new Uint32Array(n);
    this.#pending = new Uint32Array(this.#words);
    this.#claimed = new Uint32Array(this.#words);
    this.#levels = new Uint32Array(this.#words);
    this.#enable = new Uint32Array(this.#words * NUM_CONTEXTS);
    for (let i = 0; i < n; i++) {
      this.#lines.push({ set: (level) => this.#setLevel(i, level) });
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
   * The interrupt line of source `n`, for a device to drive.
   *
   * @param n source number, 1 to `numSources - 1`
   * @returns the line (the same object on every call)
   * @throws {RangeError} for source 0 or a source that does not exist
   */
  irq(n: number): IrqLine {
    const line = n >= 1 ? this.#lines[n] : undefined;
    if (!line) {
      throw new RangeError(
        `Cannot connect plic source ${n}: sources are 1 to ${
          this.numSources - 1
        }`,
      );
    }
    return line;
  }

  /** Clear every register and lower MEIP and SEIP. */
  reset(): void {
    this.#priority.fill(0);
    this.#pending.fill(0);
    this.#claimed.fill(0);
    this.#enable.fill(0);
    this.#threshold.fill(0);
    // Line levels belong to the devices; keep them so a device that is
    // still asserting its line is pending again after the next edge.
    for (let ctx = 0; ctx < NUM_CONTEXTS; ctx++) {
      this.#out[ctx] = false;
      this.#hart.setPending(CONTEXT_MIP[ctx]!, false);
    }
  }

  /**
   * Capture the device state.
   *
   * @returns named fields; bitmaps are arrays of 32-bit words, source 0 in
   * bit 0 of the first word
   */
  saveState(): Record<string, number | string | number[]> {
    const w = this.#words;
    return {
      numSources: this.numSources,
      priority: Array.from(this.#priority),
      pending: Array.from(this.#pending),
      claimed: Array.from(this.#claimed),
      levels: Array.from(this.#levels),
      enableM: Array.from(this.#enable.subarray(0, w)),
      enableS: Array.from(this.#enable.subarray(w, 2 * w)),
      thresholdM: this.#threshold[0]!,
      thresholdS: this.#threshold[1]!,
    };
  }

  /**
   * Restore a state from {@linkcode Plic.saveState}. MEIP and SEIP are not
   * driven: the hart restores its own `mip`.
   *
   * @param s the saved fields
   * @throws {TypeError} if a field is missing or has the wrong type
   * @throws {RangeError} if the state is for a different number of sources
   */
  loadState(s: Record<string, number | string | number[]>): void {
    const n = numField(s, "numSources");
    if (n !== this.numSources) {
      throw new RangeError(
        `Cannot load plic state: it has ${n} sources, this plic ${this.numSources}`,
      );
    }
    const w = this.#words;
    this.#priority.set(wordsField(s, "priority", n));
    this.#pending.set(wordsField(s, "pending", w));
    this.#claimed.set(wordsField(s, "claimed", w));
    this.#levels.set(wordsField(s, "levels", w));
    this.#enable.set(wordsField(s, "enableM", w), 0);
    this.#enable.set(wordsField(s, "enableS", w), w);
    this.#threshold[0] = numField(s, "thresholdM");
    this.#threshold[1] = numField(s, "thresholdS");
    for (let ctx = 0; ctx < NUM_CONTEXTS; ctx++) {
      this.#out[ctx] = this.#best(ctx) !== 0;
    }
  }

  #setLevel(irq: number, level: boolean): void {
    const w = irq >> 5;
    const bit = 1 << (irq & 31);
    if (level) {
      this.#levels[w]! |= bit;
      this.#pending[w]! |= bit;
    } else {
      this.#levels[w]! &= ~bit;
      this.#pending[w]! &= ~bit;
    }
    this.#update();
  }

  /**
   * The highest-priority source that is pending, enabled for `ctx`, not
   * claimed and above its threshold; ties go to the lowest number.
   */
  #best(ctx: number): number {
    let maxIrq = 0;
    let maxPrio = this.#threshold[ctx]!;
    const base = ctx * this.#words;
    for (let w = 0; w < this.#words; w++) {
      let bits = this.#pending[w]! & ~this.#claimed[w]! &
        this.#enable[base + w]!;
      while (bits !== 0) {
        const j = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const irq = (w << 5) + j;
        if (irq >= this.numSources) break;
        const prio = this.#priority[irq]!;
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
    if (offset - PRIORITY_BASE < this.numSources * 4) {
      return this.#priority[(offset - PRIORITY_BASE) >> 2]!;
    }
    if (
      offset >= PENDING_BASE &&
      offset - PENDING_BASE < (this.numSources + 31) >> 3
    ) {
      return this.#pending[(offset - PENDING_BASE) >> 2]!;
    }
    if (
      offset >= ENABLE_BASE &&
      offset - ENABLE_BASE < NUM_CONTEXTS * ENABLE_STRIDE
    ) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const word = (offset & (ENABLE_STRIDE - 1)) >> 2;
      return word < this.#words ? this.#enable[ctx * this.#words + word]! : 0;
    }
    if (
      offset >= CONTEXT_BASE &&
      offset - CONTEXT_BASE < NUM_CONTEXTS * CONTEXT_STRIDE
    ) {
      const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
      const reg = offset & (CONTEXT_STRIDE - 1);
      if (reg === 0) return this.#threshold[ctx]!;
      if (reg === 4) return this.#claim(ctx);
    }
    return 0;
  }

  #claim(ctx: number): number {
    const irq = this.#best(ctx);
    if (irq !== 0) {
      const bit = 1 << (irq & 31);
      this.#pending[irq >> 5]! &= ~bit;
      this.#claimed[irq >> 5]! |= bit;
    }
    this.#update();
    return irq;
  }

  #write(offset: number, value: number): void {
    if (offset - PRIORITY_BASE < this.numSources * 4) {
      this.#priority[(offset - PRIORITY_BASE) >> 2] = value & PRIORITY_MASK;
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
        this.#enable[ctx * this.#words + word] = value;
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
        this.#threshold[ctx] = value & PRIORITY_MASK;
        this.#update();
      } else if (reg === 4 && value < this.numSources) {
        const w = value >> 5;
        const bit = 1 << (value & 31);
        this.#claimed[w]! &= ~bit;
        if (this.#levels[w]! & bit) this.#pending[w]! |= bit;
        this.#update();
      }
    }
    // Pending bits are read-only; other offsets are reserved.
  }
}

const numField = (s: SavedFields, key: string): number =>
  fields.numField("plic", s, key);

const wordsField = (s: SavedFields, key: string, length: number): number[] =>
  fields.wordsField("plic", s, key, length);
