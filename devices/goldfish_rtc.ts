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
import * as fields from "./_state_fields.ts";
import type { SavedFields } from "./_state_fields.ts";

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
  /** Version of the layout that {@linkcode GoldfishRtc.saveState} returns. */
  static readonly stateVersion = 1;
  /** The register window. */
  readonly regions: MmioRegion[];

  #clock: Pick<VirtualClock, "nowNs" | "newTimer">;
  #irq: IrqLine;
  #timer: VirtualTimer;
  /** RTC time minus virtual time, modulo 2^64, right after reset. */
  #resetOffset: bigint;
  #tickOffset = 0n;
  #alarmNext = 0n;
  #alarmRunning = 0;
  #irqPending = 0;
  #irqEnabled = 0;
  #timeHigh = 0;

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
    this.#resetOffset = BigInt.asUintN(
      64,
      hostSecondsNs - BigInt(this.#clock.nowNs()),
    );
    this.#timer = this.#clock.newTimer("goldfish-rtc.alarm", () => {
      this.#alarmRunning = 0;
      this.#irqPending = 1;
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
    return BigInt.asUintN(64, this.#tickOffset + BigInt(this.#clock.nowNs()));
  }

  /** Return to the host base time, cancel the alarm, clear the interrupt. */
  reset(): void {
    this.#timer.del();
    this.#tickOffset = this.#resetOffset;
    this.#alarmNext = 0n;
    this.#alarmRunning = 0;
    this.#irqPending = 0;
    this.#irqEnabled = 0;
    this.#update();
  }

  /**
   * Capture the device state.
   *
   * @returns named fields; 64-bit values are decimal strings and
   * `alarmDeadlineNs` is -1 when the alarm timer is idle
   */
  saveState(): Record<string, number | string | number[]> {
    const d = this.#timer.deadline;
    return {
      resetOffset: this.#resetOffset.toString(),
      tickOffset: this.#tickOffset.toString(),
      alarmNext: this.#alarmNext.toString(),
      alarmRunning: this.#alarmRunning,
      irqPending: this.#irqPending,
      irqEnabled: this.#irqEnabled,
      timeHigh: this.#timeHigh,
      alarmDeadlineNs: d === Infinity ? -1 : d,
    };
  }

  /**
   * Restore a state from {@linkcode GoldfishRtc.saveState}. The interrupt
   * line is not driven: its receiver restores its own view.
   *
   * @param s the saved fields
   * @throws {TypeError} if a field is missing or has the wrong type
   */
  loadState(s: Record<string, number | string | number[]>): void {
    this.#resetOffset = u64Field(s, "resetOffset");
    this.#tickOffset = u64Field(s, "tickOffset");
    this.#alarmNext = u64Field(s, "alarmNext");
    this.#alarmRunning = numField(s, "alarmRunning") ? 1 : 0;
    this.#irqPending = numField(s, "irqPending") ? 1 : 0;
    this.#irqEnabled = numField(s, "irqEnabled") & 1;
    this.#timeHigh = numField(s, "timeHigh") >>> 0;
    const d = numField(s, "alarmDeadlineNs");
    if (d < 0) this.#timer.del();
    else this.#timer.mod(d);
  }

  #update(): void {
    this.#irq.set((this.#irqPending & this.#irqEnabled) !== 0);
  }

  #setAlarm(): void {
    const ticks = this.nowNs();
    if (this.#alarmNext <= ticks) {
      this.#timer.del();
      this.#alarmRunning = 0;
      this.#irqPending = 1;
      this.#update();
    } else {
      // The virtual time at which the RTC reaches the alarm.
      const at = BigInt.asUintN(64, this.#alarmNext - this.#tickOffset);
      this.#timer.mod(Number(at));
      this.#alarmRunning = 1;
    }
  }

  #read(offset: number): number {
    switch (offset) {
      case TIME_LOW: {
        const t = this.nowNs();
        this.#timeHigh = Number(t >> 32n);
        return Number(t & LOW32);
      }
      case TIME_HIGH:
        return this.#timeHigh;
      case ALARM_LOW:
        return Number(this.#alarmNext & LOW32);
      case ALARM_HIGH:
        return Number(this.#alarmNext >> 32n);
      case IRQ_ENABLED:
        return this.#irqEnabled;
      case ALARM_STATUS:
        return this.#alarmRunning;
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
        this.#tickOffset = BigInt.asUintN(64, this.#tickOffset + next - now);
        return;
      }
      case ALARM_LOW:
        this.#alarmNext = (this.#alarmNext & ~LOW32) | v;
        this.#setAlarm();
        return;
      case ALARM_HIGH:
        this.#alarmNext = (v << 32n) | (this.#alarmNext & LOW32);
        return;
      case IRQ_ENABLED:
        this.#irqEnabled = value & 1;
        this.#update();
        return;
      case CLEAR_ALARM:
        this.#timer.del();
        this.#alarmRunning = 0;
        return;
      case CLEAR_INTERRUPT:
        this.#irqPending = 0;
        this.#update();
        return;
      default:
        return;
    }
  }
}

const numField = (s: SavedFields, key: string): number =>
  fields.numField("rtc", s, key);

const u64Field = (s: SavedFields, key: string): bigint =>
  fields.u64Field("rtc", s, key);
