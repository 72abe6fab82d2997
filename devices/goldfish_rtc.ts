/**
 * The Goldfish real-time clock of the `virt` board.
 *
 * Reference: Android's GOLDFISH-VIRTUAL-HARDWARE.TXT ("Goldfish real-time
 * clock"), as QEMU's `hw/rtc/goldfish_rtc.c` implements it: a 64-bit count of
 * nanoseconds since the Unix epoch read as TIME_LOW then TIME_HIGH (reading
 * TIME_LOW latches TIME_HIGH), a one-shot alarm set by ALARM_HIGH then
 * ALARM_LOW, IRQ_ENABLED, CLEAR_ALARM, ALARM_STATUS and CLEAR_INTERRUPT.
 * The window is 0x24 bytes of 4-byte registers.
 *
 * The time is a host wall-clock base, read once through the injected
 * `hostClock` when the device is made and cut to whole seconds as QEMU's
 * reset does, plus the VIRTUAL time elapsed since then, and the alarm runs on
 * the virtual clock. QEMU's default `-rtc clock=host` follows the host clock
 * instead; this is its `-rtc clock=vm`, which keeps replay deterministic.
 * Reset returns to that base (QEMU re-reads the host clock).
 *
 * Left out: the big-endian variant.
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import type { VirtualClock, VirtualTimer } from "../core/clock.ts";
import type { IrqLine } from "../core/irq.ts";
import {
  defineState,
  newState,
  rearmTimer,
  type StateDescription,
  type StateValues,
  timerDeadline,
} from "../plugins/state.ts";

const TIME_LOW = 0x00;
const TIME_HIGH = 0x04;
const ALARM_LOW = 0x08;
const ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14;
const ALARM_STATUS = 0x18;
const CLEAR_INTERRUPT = 0x1c;

const NS_PER_SEC = 1_000_000_000n;
const LOW32 = 0xffff_ffffn;

/** The fields of {@linkcode rtcState}. */
export const rtcFields = {
  resetOffset: "u64",
  tickOffset: "u64",
  alarmNext: "u64",
  alarmRunning: "u8",
  irqPending: "u8",
  irqEnabled: "u8",
  timeHigh: "u32",
  alarmDeadlineNs: "f64",
} as const;

/**
 * The Goldfish RTC's state, version 1: the offsets of the RTC from the
 * virtual clock (at reset, and now), the alarm, its flags, the latched
 * `TIME_HIGH`, and the alarm timer's deadline in virtual ns (-1 when
 * disarmed).
 */
export const rtcState: StateDescription<typeof rtcFields> = defineState({
  name: "goldfish_rtc",
  version: 1,
  fields: rtcFields,
});

/** Options for {@linkcode GoldfishRtc}. */
export interface GoldfishRtcOptions {
  /** Physical base address (`RTC_BASE` on `virt`). */
  base: number;
  /** The virtual clock that the time advances with. */
  clock: Pick<VirtualClock, "nowNs" | "newTimer">;
  /** The interrupt line, usually a PLIC source. */
  irq: IrqLine;
  /**
   * Reads the host's wall clock in nanoseconds since the Unix epoch. It is
   * called once, by the constructor: the one nondeterministic input of the
   * device, for record/replay to log.
   */
  hostClock: () => bigint | number;
}

/**
 * A Goldfish RTC.
 *
 * @example Read the time
 * ```ts
 * import { GoldfishRtc } from "./goldfish_rtc.ts";
 * import { VirtualClock } from "../core/clock.ts";
 * let icount = 0;
 * const clock = new VirtualClock(() => icount, { shift: 0 });
 * const rtc = new GoldfishRtc({
 *   base: 0x10_1000,
 *   clock,
 *   irq: { set() {} },
 *   hostClock: () => 5_000_000_000n,
 * });
 * icount = 7;
 * const r = rtc.regions[0]!;
 * const lo = r.read(0x00, 4);
 * const hi = r.read(0x04, 4);
 * if (hi !== 1 || lo !== 5_000_000_007 - 2 ** 32) throw new Error("unreachable");
 * ```
 */
export class GoldfishRtc {
  /** The live state, declared by {@linkcode rtcState}. */
  readonly state: StateValues<typeof rtcFields> = newState(rtcState, {
    alarmDeadlineNs: -1,
  });
  /** The register window. */
  readonly regions: MmioRegion[];

  #clock: Pick<VirtualClock, "nowNs" | "newTimer">;
  #irq: IrqLine;
  #timer: VirtualTimer;
  /** RTC time minus virtual time, modulo 2^64, right after reset. */

  /**
   * Make an RTC in its reset state, reading the host clock once.
   *
   * @param options where it sits, its clocks and its interrupt
   */
  constructor(options: GoldfishRtcOptions) {
    this.#clock = options.clock;
    this.#irq = options.irq;
    const host = options.hostClock();
    const hostNs = typeof host === "bigint" ? host : BigInt(Math.trunc(host));
    const hostSecondsNs = hostNs / NS_PER_SEC * NS_PER_SEC;
    this.state.resetOffset = BigInt.asUintN(
      64,
      hostSecondsNs - BigInt(this.#clock.nowNs()),
    );
    this.#timer = this.#clock.newTimer("goldfish-rtc.alarm", () => {
      this.state.alarmRunning = 0;
      this.state.irqPending = 1;
      this.#update();
    });
    this.regions = [{
      name: "rtc",
      base: options.base,
      size: 0x24,
      accessSizes: [4],
      read: (offset) => this.#read(offset),
      write: (offset, _size, value) => this.#write(offset, value >>> 0),
    }];
    this.reset();
  }

  /**
   * The current RTC time.
   *
   * @returns nanoseconds since the Unix epoch
   */
  nowNs(): bigint {
    return BigInt.asUintN(
      64,
      this.state.tickOffset + BigInt(this.#clock.nowNs()),
    );
  }

  /** Return to the host base time, cancel the alarm, clear the interrupt. */
  reset(): void {
    this.#timer.del();
    this.state.tickOffset = this.state.resetOffset;
    this.state.alarmNext = 0n;
    this.state.alarmRunning = 0;
    this.state.irqPending = 0;
    this.state.irqEnabled = 0;
    this.#update();
  }

  /** Put the alarm timer's deadline into the state (QEMU's `pre_save`). */
  beforeSave(): void {
    this.state.alarmDeadlineNs = timerDeadline(this.#timer);
  }

  /** Re-arm the alarm timer from the restored deadline. */
  afterLoad(): void {
    rearmTimer(this.#timer, this.state.alarmDeadlineNs);
  }

  #update(): void {
    this.#irq.set((this.state.irqPending & this.state.irqEnabled) !== 0);
  }

  #setAlarm(): void {
    const ticks = this.nowNs();
    if (this.state.alarmNext <= ticks) {
      this.#timer.del();
      this.state.alarmRunning = 0;
      this.state.irqPending = 1;
      this.#update();
    } else {
      // The virtual time at which the RTC reaches the alarm.
      const at = BigInt.asUintN(
        64,
        this.state.alarmNext - this.state.tickOffset,
      );
      this.#timer.mod(Number(at));
      this.state.alarmRunning = 1;
    }
  }

  #read(offset: number): number {
    switch (offset) {
      case TIME_LOW: {
        const t = this.nowNs();
        this.state.timeHigh = Number(t >> 32n);
        return Number(t & LOW32);
      }
      case TIME_HIGH:
        return this.state.timeHigh;
      case ALARM_LOW:
        return Number(this.state.alarmNext & LOW32);
      case ALARM_HIGH:
        return Number(this.state.alarmNext >> 32n);
      case IRQ_ENABLED:
        return this.state.irqEnabled;
      case ALARM_STATUS:
        return this.state.alarmRunning;
      default:
        return 0;
    }
  }

  #write(offset: number, value: number): void {
    const v = BigInt(value);
    switch (offset) {
      case TIME_LOW:
      case TIME_HIGH: {
        const now = this.nowNs();
        const next = offset === TIME_LOW
          ? (now & ~LOW32) | v
          : (v << 32n) | (now & LOW32);
        this.state.tickOffset = BigInt.asUintN(
          64,
          this.state.tickOffset + next - now,
        );
        return;
      }
      case ALARM_LOW:
        this.state.alarmNext = (this.state.alarmNext & ~LOW32) | v;
        this.#setAlarm();
        return;
      case ALARM_HIGH:
        this.state.alarmNext = (v << 32n) | (this.state.alarmNext & LOW32);
        return;
      case IRQ_ENABLED:
        this.state.irqEnabled = value & 1;
        this.#update();
        return;
      case CLEAR_ALARM:
        this.#timer.del();
        this.state.alarmRunning = 0;
        return;
      case CLEAR_INTERRUPT:
        this.state.irqPending = 0;
        this.#update();
        return;
      default:
        return;
    }
  }
}
