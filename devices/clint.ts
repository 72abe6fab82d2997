/**
 * The core-local interruptor (CLINT) of the `virt` board, for one hart.
 *
 * Reference: the RISC-V ACLINT specification v1.0 (MSWI device, section 3;
 * MTIMER device, section 2) in the SiFive CLINT layout that QEMU's
 * `hw/intc/riscv_aclint.c` builds for `virt`: MSIP at +0x0 (an MSWI window of
 * 0x4000 bytes, 4-byte accesses), MTIMECMP at +0x4000 and MTIME at +0xbff8 (an
 * MTIMER window of 0x8000 bytes, 4- and 8-byte accesses). MTIME counts at
 * 10 MHz of virtual time: one tick per 100 virtual nanoseconds.
 *
 * As in QEMU, writing MTIME stores an offset from the virtual clock, MTIMECMP
 * is 0 at power-on and keeps its value across reset (the specification leaves
 * it unknown), and reset sets MTIME to 0, so MTIP is pending after reset until
 * firmware writes MTIMECMP. MTIP is the level `mtime >= mtimecmp`; a virtual
 * timer raises it at exactly the first nanosecond at which that holds (QEMU's
 * timer can be up to one tick late).
 *
 * Left out: more than one hart, the SSWI device, and the Sstc `stimecmp`
 * re-check that QEMU does when MTIME is written (the CPU owns `stimecmp`).
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import type { VirtualClock, VirtualTimer } from "../core/clock.ts";
import { type InterruptTarget, MIP_MSIP, MIP_MTIP } from "../core/irq.ts";
import {
  defineState,
  newState,
  rearmTimer,
  type StateDescription,
  type StateValues,
  timerDeadline,
} from "../plugins/state.ts";

const TWO32 = 2 ** 32;
const NS_PER_TICK = 100;
const MSWI_SIZE = 0x4000;
const MTIMER_SIZE = 0x8000;
const MTIMECMP = 0x0;
const MTIME = 0x7ff8;

/** The fields of {@linkcode clintState}. */
export const clintFields = {
  msip: "u8",
  mtimecmpLo: "u32",
  mtimecmpHi: "u32",
  mtimeDeltaLo: "u32",
  mtimeDeltaHi: "u32",
  timerDeadlineNs: "f64",
} as const;

/**
 * The CLINT's state, version 1: `msip`, `mtimecmp` and the offset of
 * `mtime` from the virtual clock as 32-bit halves, and the timer's
 * deadline in virtual ns (-1 when disarmed).
 */
export const clintState: StateDescription<typeof clintFields> = defineState({
  name: "clint",
  version: 1,
  fields: clintFields,
});

/** Options for {@linkcode Clint}. */
export interface ClintOptions {
  /** Physical base address (`CLINT_BASE` on `virt`). */
  base: number;
  /** The virtual clock that MTIME follows. */
  clock: Pick<VirtualClock, "nowNs" | "newTimer">;
  /** The hart whose MSIP and MTIP bits the CLINT drives. */
  hart: InterruptTarget;
}

/**
 * A SiFive CLINT (ACLINT MSWI plus MTIMER) for one hart.
 *
 * @example Raise MTIP when mtime reaches mtimecmp
 * ```ts
 * import { Clint } from "./clint.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * import { MIP_MTIP } from "../core/irq.ts";
 * let icount = 0;
 * const clock = new VirtualClock(() => icount, { shift: 0 });
 * let mip = 0;
 * const hart = {
 *   setPending(mask: number, level: boolean) {
 *     mip = level ? mip | mask : mip & ~mask;
 *   },
 * };
 * const clint = new Clint({ base: 0x200_0000, clock, hart });
 * const mtimer = clint.regions[1]!;
 * mtimer.write(0x0, 4, 10); // mtimecmp = 10 ticks = 1000 ns
 * icount = 1000;
 * clock.runExpired();
 * if (!(mip & MIP_MTIP) || clint.readMtime() !== 10) throw new Error("unreachable");
 * ```
 */
export class Clint {
  /** The live state, declared by {@linkcode clintState}. */
  readonly state: StateValues<typeof clintFields> = newState(
    clintState,
    { timerDeadlineNs: -1 },
  );
  /** The MSWI window (at `base`) and the MTIMER window (at `base + 0x4000`). */
  readonly regions: MmioRegion[];

  #clock: Pick<VirtualClock, "nowNs" | "newTimer">;
  #hart: InterruptTarget;
  #timer: VirtualTimer;
  /** MTIME minus the clock's tick count, modulo 2^64, as two words. */
  /** Scratch: MTIME as computed by #compute. */
  #mLo = 0;
  #mHi = 0;
  #ticks = 0;

  /**
   * Make a CLINT in its power-on state (MTIMECMP = 0, MTIME = 0).
   *
   * @param options where it sits and what it drives
   */
  constructor(options: ClintOptions) {
    this.#clock = options.clock;
    this.#hart = options.hart;
    this.#timer = this.#clock.newTimer("clint.mtimer", () => this.#update());
    this.regions = [{
      name: "clint.mswi",
      base: options.base,
      size: MSWI_SIZE,
      accessSizes: [4],
      read: (offset) => offset === 0 ? this.state.msip : 0,
      write: (offset, _size, value) => {
        if (offset !== 0) return;
        this.state.msip = value & 1;
        this.#hart.setPending(MIP_MSIP, this.state.msip === 1);
      },
    }, {
      name: "clint.mtimer",
      base: options.base + MSWI_SIZE,
      size: MTIMER_SIZE,
      accessSizes: [4, 8],
      read: (offset) => this.#readMtimer(offset),
      write: (offset, _size, value) => this.#writeMtimer(offset, value >>> 0),
    }];
    this.reset();
  }

  /**
   * The current MTIME as a double, for the CPU's `time` CSR. Exact while
   * MTIME is below 2^53 (28 years at 10 MHz); allocation-free.
   *
   * @returns ticks of the 10 MHz timebase
   */
  readMtime(): number {
    this.#compute();
    return this.#mHi * TWO32 + this.#mLo;
  }

  /**
   * The current MTIME, exact to 64 bits.
   *
   * @returns ticks of the 10 MHz timebase
   */
  mtime(): bigint {
    this.#compute();
    return (BigInt(this.#mHi) << 32n) | BigInt(this.#mLo);
  }

  /** Reset as QEMU does: clear MSIP, set MTIME to 0, keep MTIMECMP. */
  reset(): void {
    this.state.msip = 0;
    this.#hart.setPending(MIP_MSIP, false);
    this.#setMtime(0, 0);
    this.#update();
  }

  /** Put the timer's deadline into the state (QEMU's `pre_save`). */
  beforeSave(): void {
    this.state.timerDeadlineNs = timerDeadline(this.#timer);
  }

  /**
   * Re-arm the timer from the restored deadline. The hart's `mip` is not
   * touched: the hart restores its own.
   */
  afterLoad(): void {
    const s = this.state;
    s.msip &= 1;
    rearmTimer(this.#timer, s.timerDeadlineNs);
  }

  #compute(): void {
    const ticks = Math.floor(this.#clock.nowNs() / NS_PER_TICK);
    const tHi = Math.floor(ticks / TWO32);
    const lo = ticks - tHi * TWO32 + this.state.mtimeDeltaLo;
    this.#ticks = ticks;
    this.#mLo = lo >>> 0;
    this.#mHi = (tHi + this.state.mtimeDeltaHi + (lo >= TWO32 ? 1 : 0)) >>> 0;
  }

  #setMtime(hi: number, lo: number): void {
    const ticks = Math.floor(this.#clock.nowNs() / NS_PER_TICK);
    const tHi = Math.floor(ticks / TWO32);
    let dLo = lo - (ticks - tHi * TWO32);
    let borrow = 0;
    if (dLo < 0) {
      dLo += TWO32;
      borrow = 1;
    }
    this.state.mtimeDeltaLo = dLo;
    this.state.mtimeDeltaHi = (hi - tHi - borrow) >>> 0;
  }

  /** Drive MTIP from `mtime >= mtimecmp` and arm the timer for the edge. */
  #update(): void {
    this.#compute();
    const level = this.state.mtimecmpHi < this.#mHi ||
      (this.state.mtimecmpHi === this.#mHi &&
        this.state.mtimecmpLo <= this.#mLo);
    if (level) {
      this.#timer.del();
    } else {
      const diffHi = this.state.mtimecmpHi - this.#mHi;
      // Beyond 2^52 ticks (14 years) the timer would never fire in practice.
      if (diffHi >= 2 ** 20) {
        this.#timer.del();
      } else {
        const diff = diffHi * TWO32 + (this.state.mtimecmpLo - this.#mLo);
        this.#timer.mod((this.#ticks + diff) * NS_PER_TICK);
      }
    }
    this.#hart.setPending(MIP_MTIP, level);
  }

  #readMtimer(offset: number): number {
    switch (offset) {
      case MTIMECMP:
        return this.state.mtimecmpLo;
      case MTIMECMP + 4:
        return this.state.mtimecmpHi;
      case MTIME:
        this.#compute();
        return this.#mLo;
      case MTIME + 4:
        this.#compute();
        return this.#mHi;
      default:
        return 0;
    }
  }

  #writeMtimer(offset: number, value: number): void {
    switch (offset) {
      case MTIMECMP:
        this.state.mtimecmpLo = value;
        break;
      case MTIMECMP + 4:
        this.state.mtimecmpHi = value;
        break;
      case MTIME:
        this.#compute();
        this.#setMtime(this.#mHi, value);
        break;
      case MTIME + 4:
        this.#compute();
        this.#setMtime(value, this.#mLo);
        break;
      default:
        return;
    }
    this.#update();
  }
}
