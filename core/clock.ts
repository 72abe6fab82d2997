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
   * Warp the clock forward to `ns` while the CPU is idle.
   *
   * @param ns target virtual time; ignored when not in the future
   */
  warpTo(ns: number): void {
    const now = this.nowNs();
    if (ns > now) this.bias += ns - now;
  }
}
