/**
 * The virtual clock: guest time derived from the instruction count.
 *
 * Guest time in nanoseconds is `icount * 2^shift + bias`, where `bias` only
 * grows when an idle CPU warps the clock forward (QEMU's
 * `qemu_icount_bias`). Timers that change guest state run on this clock, so
 * they fire at the same instruction on every run.
 *
 * @module
 */

/** Version of the layout that {@linkcode VirtualClock.saveState} writes. */
export const CLOCK_STATE_VERSION = 1;
const CLOCK_MAGIC = 0x4b434a44; // "DJCK" little-endian
const CLOCK_HEADER = 12;

/** A timer on the virtual clock, in the style of QEMU's `QEMUTimer`. */
export class VirtualTimer {
  /** A name, for debugging and snapshots. */
  readonly name: string;
  /** @internal creation order, for a stable firing order */
  readonly id: number;
  /** Deadline in virtual nanoseconds, or `Infinity` when not armed. */
  deadline: number = Infinity;
  #clock: VirtualClock;
  #callback: () => void;

  /**
   * Use {@linkcode VirtualClock.newTimer} instead.
   *
   * @param clock the owning clock
   * @param name a name
   * @param id creation order
   * @param callback what runs when it expires
   */
  constructor(
    clock: VirtualClock,
    name: string,
    id: number,
    callback: () => void,
  ) {
    this.#clock = clock;
    this.name = name;
    this.id = id;
    this.#callback = callback;
  }

  /**
   * Arm the timer for `deadlineNs` (virtual nanoseconds).
   *
   * @param deadlineNs absolute virtual time
   */
  mod(deadlineNs: number): void {
    this.deadline = deadlineNs;
    this.#clock.changed();
  }

  /** Disarm the timer. */
  del(): void {
    this.deadline = Infinity;
    this.#clock.changed();
  }

  /** @internal run the callback */
  fire(): void {
    this.deadline = Infinity;
    this.#callback();
  }
}

/**
 * A deterministic bottom half: deferred device work that runs at the next
 * checkpoint of the vCPU, at the same instruction count on every run (the
 * role of QEMU's `qemu_bh_schedule` under record/replay, where
 * `replay_bh_schedule_event` logs when each bottom half ran). deja's devices
 * run with the vCPU, so nothing needs logging: a bottom half is a timer due
 * at once, and it runs as soon as the slice ends, which the scheduling ends
 * right after the current instruction when that instruction is an MMIO
 * store (the CPU ends the slice after every MMIO store) or when it is
 * scheduled from a timer or another bottom half (it runs in the same
 * round). Scheduling it again before it ran does nothing, as in QEMU.
 *
 * Make one with {@linkcode VirtualClock.newBottomHalf}.
 */
export class BottomHalf {
  /** A name, for debugging. */
  readonly name: string;
  readonly #timer: VirtualTimer;
  readonly #clock: VirtualClock;

  /**
   * Use {@linkcode VirtualClock.newBottomHalf} instead.
   *
   * @param clock the owning clock
   * @param timer the timer that carries it
   */
  constructor(clock: VirtualClock, timer: VirtualTimer) {
    this.#clock = clock;
    this.#timer = timer;
    this.name = timer.name;
  }

  /** Run the callback at the next checkpoint, once. */
  schedule(): void {
    if (this.#timer.deadline === Infinity) {
      this.#timer.mod(this.#clock.nowNs());
    }
  }

  /** Do not run it after all. */
  cancel(): void {
    this.#timer.del();
  }

  /**
   * Whether it waits to run.
   *
   * @returns true between {@linkcode BottomHalf.schedule} and the run
   */
  get scheduled(): boolean {
    return this.#timer.deadline !== Infinity;
  }
}

/**
 * The virtual clock of one machine.
 *
 * @example Fire a timer after 1000 virtual nanoseconds
 * ```ts
 * import { VirtualClock } from "./clock.ts";
 * let icount = 0;
 * const clock = new VirtualClock(() => icount, { shift: 0 });
 * let fired = false;
 * clock.newTimer("t", () => (fired = true)).mod(1000);
 * icount = 1000;
 * clock.runExpired();
 * if (!fired) throw new Error("unreachable");
 * ```
 */
export class VirtualClock {
  /** `icount` is multiplied by `2^shift` to give nanoseconds. */
  readonly shift: number;
  /** Nanoseconds per instruction: `2^shift`. */
  readonly nsPerInsn: number;
  /** Nanoseconds added by idle warps. */
  bias = 0;
  /** Bumped whenever a timer changes, so that a run loop can re-plan. */
  generation = 0;
  #icount: () => number;
  #timers: VirtualTimer[] = [];

  /**
   * Make a clock.
   *
   * @param icount reads the current instruction count
   * @param options the shift
   */
  constructor(icount: () => number, options: { shift?: number } = {}) {
    this.#icount = icount;
    this.shift = options.shift ?? 3;
    this.nsPerInsn = 2 ** this.shift;
  }

  /**
   * Replace the function that reads the instruction count (for a machine
   * that makes its clock before its hart, or hands time to another hart).
   *
   * @param icount reads the current instruction count
   */
  setIcountSource(icount: () => number): void {
    this.#icount = icount;
  }

  /**
   * Read the clock.
   *
   * @returns the virtual time in nanoseconds
   */
  nowNs(): number {
    return this.#icount() * this.nsPerInsn + this.bias;
  }

  /**
   * Make a timer.
   *
   * @param name a name
   * @param callback runs on expiry, with the clock at or past the deadline
   * @returns the timer, not armed
   */
  newTimer(name: string, callback: () => void): VirtualTimer {
    const t = new VirtualTimer(this, name, this.#timers.length, callback);
    this.#timers.push(t);
    return t;
  }

  /**
   * Make a bottom half: a callback that a device defers to the next
   * checkpoint with {@linkcode BottomHalf.schedule}.
   *
   * @param name a name
   * @param callback the deferred work
   * @returns the bottom half, not scheduled
   * @example Defer work past the current instruction
   * ```ts
   * import { VirtualClock } from "./clock.ts";
   * const clock = new VirtualClock(() => 0);
   * let runs = 0;
   * const bh = clock.newBottomHalf("dma-done", () => runs++);
   * bh.schedule();
   * bh.schedule(); // already scheduled: still one run
   * clock.runExpired();
   * console.log(runs, bh.scheduled); // 1 false
   * ```
   */
  newBottomHalf(name: string, callback: () => void): BottomHalf {
    return new BottomHalf(this, this.newTimer(`bh:${name}`, callback));
  }

  /**
   * Called whenever a timer is armed or disarmed, so that a run loop that
   * planned its slice around the old deadline can cut the slice short.
   */
  onChange: (() => void) | undefined = undefined;

  /** @internal a timer moved */
  changed(): void {
    this.generation++;
    this.onChange?.();
  }

  /**
   * Find the next timer to fire.
   *
   * @returns the earliest armed deadline, or `Infinity`
   */
  nextDeadline(): number {
    let d = Infinity;
    for (const t of this.#timers) if (t.deadline < d) d = t.deadline;
    return d;
  }

  /**
   * How many instructions may run before the next deadline.
   *
   * @returns a count of at least 1, or `Infinity`
   */
  insnsToDeadline(): number {
    const d = this.nextDeadline();
    if (d === Infinity) return Infinity;
    const n = Math.ceil((d - this.nowNs()) / this.nsPerInsn);
    return n < 1 ? 1 : n;
  }

  /**
   * Run every expired timer, earliest first (ties by creation order).
   *
   * @returns how many fired
   */
  runExpired(): number {
    let fired = 0;
    for (;;) {
      const now = this.nowNs();
      let best: VirtualTimer | undefined;
      for (const t of this.#timers) {
        if (t.deadline <= now && (!best || t.deadline < best.deadline)) {
          best = t;
        }
      }
      if (!best) return fired;
      best.fire();
      fired++;
    }
  }

  /**
   * Save the clock: its shift, the warp bias, and every timer's armed
   * deadline (bottom halves are timers, so a scheduled one is included),
   * each timer named and in creation order. Deterministic and versioned.
   *
   * @returns the snapshot bytes
   * @example Save a clock with an armed timer and restore it
   * ```ts
   * import { VirtualClock } from "./clock.ts";
   * let icount = 0;
   * const clock = new VirtualClock(() => icount, { shift: 0 });
   * const t = clock.newTimer("tick", () => {});
   * t.mod(500);
   * const snap = clock.saveState();
   * t.del();
   * clock.warpTo(100);
   * clock.loadState(snap);
   * if (t.deadline !== 500 || clock.bias !== 0) throw new Error("unreachable");
   * ```
   */
  saveState(): Uint8Array {
    const enc = new TextEncoder();
    const names = this.#timers.map((t) => enc.encode(t.name));
    let size = CLOCK_HEADER + 8 + 4;
    for (const n of names) size += 2 + n.length + 8;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setUint32(0, CLOCK_MAGIC, true);
    v.setUint32(4, CLOCK_STATE_VERSION, true);
    v.setUint32(8, this.shift, true);
    v.setFloat64(CLOCK_HEADER, this.bias, true);
    v.setUint32(CLOCK_HEADER + 8, names.length, true);
    let p = CLOCK_HEADER + 12;
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      v.setUint16(p, n.length, true);
      out.set(n, p + 2);
      p += 2 + n.length;
      v.setFloat64(p, this.#timers[i]!.deadline, true);
      p += 8;
    }
    return out;
  }

  /**
   * Restore a snapshot from {@linkcode VirtualClock.saveState}. The clock
   * must have the same shift and the same timers (names, creation order),
   * which is the case for the same machine configuration. The instruction
   * count is the hart's, restored with it.
   *
   * @param bytes the snapshot
   * @throws {SyntaxError} when the bytes are not a clock snapshot
   * @throws {RangeError} when the version, shift or timers do not match
   */
  loadState(bytes: Uint8Array): void {
    const fail = (detail: string): never => {
      throw new RangeError(`Cannot load clock state: ${detail}`);
    };
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (
      bytes.length < CLOCK_HEADER + 12 || v.getUint32(0, true) !== CLOCK_MAGIC
    ) {
      throw new SyntaxError(
        "Cannot load clock state: not a deja clock snapshot (bad magic or too short; expected what VirtualClock.saveState writes)",
      );
    }
    const version = v.getUint32(4, true);
    if (version !== CLOCK_STATE_VERSION) {
      fail(
        `version ${version} is not supported (this build reads version ${CLOCK_STATE_VERSION})`,
      );
    }
    const shift = v.getUint32(8, true);
    if (shift !== this.shift) {
      fail(`the snapshot has shift ${shift}, this clock has ${this.shift}`);
    }
    const bias = v.getFloat64(CLOCK_HEADER, true);
    const count = v.getUint32(CLOCK_HEADER + 8, true);
    if (count !== this.#timers.length) {
      fail(
        `the snapshot has ${count} timers, this clock has ${this.#timers.length} (a different machine configuration?)`,
      );
    }
    const dec = new TextDecoder();
    const deadlines = new Float64Array(count);
    let p = CLOCK_HEADER + 12;
    for (let i = 0; i < count; i++) {
      if (p + 2 > bytes.length) fail("the snapshot is truncated");
      const len = v.getUint16(p, true);
      if (p + 2 + len + 8 > bytes.length) fail("the snapshot is truncated");
      const name = dec.decode(bytes.subarray(p + 2, p + 2 + len));
      const want = this.#timers[i]!.name;
      if (name !== want) {
        fail(`timer ${i} is "${name}" in the snapshot but "${want}" here`);
      }
      p += 2 + len;
      deadlines[i] = v.getFloat64(p, true);
      p += 8;
    }
    if (p !== bytes.length) {
      fail(`${bytes.length - p} bytes follow the last timer`);
    }
    this.bias = bias;
    for (let i = 0; i < count; i++) this.#timers[i]!.deadline = deadlines[i]!;
    this.changed();
  }

  /**
   * Warp the clock forward to `ns` while the CPU is idle.
   *
   * @param ns target virtual time; ignored when not in the future
   */
  warpTo(ns: number): void {
    const now = this.nowNs();
    if (ns > now) this.bias += ns - now;
  }
}
