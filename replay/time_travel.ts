/**
 * Time travel in a replay: {@linkcode TimeTravel} takes snapshots of the
 * run as it goes (every `interval` instructions), so that any earlier
 * instruction count is reachable by restoring the nearest snapshot at or
 * before it and replaying forward at most `interval` instructions.
 *
 * - **Pages.** RAM is kept as 4 KiB pages. A new snapshot shares the
 *   previous snapshot's buffer for every page that did not change, so a
 *   snapshot costs the pages written since the one before (plus the hart,
 *   clock and devices, a few KiB, and its page table, 8 bytes a page).
 *   Pages that are all zero share one buffer and cost nothing.
 * - **Dirty pages.** Only the pages the bus marks as written
 *   (`Bus.dirty`, cleared at each snapshot and restore) are compared: the
 *   harts mark a page on their slow store path, and a cleared map drops
 *   their write TLB entries, so the fast path costs nothing. A restore
 *   copies only the pages that may differ and tells the hart which.
 * - **Budget.** When the snapshots' memory passes the budget, older ones are
 *   thinned: the snapshot whose removal leaves the smallest gap, measured
 *   against its distance from the newest, goes first, so the spacing grows
 *   with age (roughly logarithmic). The first snapshot (the start of the
 *   replay) is always kept, so every point stays reachable, only slower.
 * - **Seeking.** {@linkcode TimeTravel.seek} goes to an exact instruction
 *   count, forwards or backwards; the state there is the same as a replay
 *   run forward to it without stopping. A seek that replays 100 000
 *   instructions or more leaves snapshots 256 Ki, 16 Ki, 1 Ki and 64
 *   instructions before its target, so that stepping back from there, one
 *   instruction at a time (reverse-stepi), replays a short stretch.
 *
 * It works on a {@linkcode Runner} that replays (or that neither records nor
 * replays); a recording cannot go back.
 *
 * @module
 */

import type { MachineSnapshot } from "../devices/snapshot.ts";
import type { RunResult } from "../devices/virt.ts";
import type { Runner } from "./runner.ts";

/** Bytes in a snapshot page. */
export const PAGE_BYTES = 4096;

/** The default memory budget of a {@linkcode TimeTravel}'s snapshots. */
export const DEFAULT_BUDGET_BYTES: number = 256 * 1024 * 1024;

/** The default number of instructions between two snapshots. */
export const DEFAULT_INTERVAL = 1_000_000;

/**
 * The most an adaptive interval grows to: it bounds how far a seek replays
 * forward (a few tens of milliseconds at replay speed).
 */
export const MAX_INTERVAL = 4_000_000;

/** Options for {@linkcode TimeTravel}. */
export interface TimeTravelOptions {
  /**
   * Instructions between two automatic snapshots: the most a seek replays
   * forward before the budget thins them. Without it the interval adapts:
   * it starts at {@linkcode DEFAULT_INTERVAL} and doubles (up to
   * {@linkcode MAX_INTERVAL})
   * while taking a snapshot costs more than a tenth of the time the run
   * between two took, and halves again (down to 250 000) when it costs
   * under a fiftieth.
   */
  interval?: number;
  /**
   * The most bytes the snapshots may hold (pages and the rest); older
   * snapshots are thinned past it.
   *
   * @default {268435456} (256 MiB)
   */
  budgetBytes?: number;
  /**
   * Told how a run forward goes ({@linkcode TimeTravel.runUntil}, and so
   * every seek): at least every {@linkcode PROGRESS_STEP} instructions, and
   * once with `done` when it stops. For a progress display.
   */
  onProgress?: (progress: TimeTravelProgress) => void;
}

/** What {@linkcode TimeTravelOptions.onProgress} is told. */
export interface TimeTravelProgress {
  /** Where the run forward started. */
  readonly from: number;
  /** Where it is. */
  readonly at: number;
  /** Where it goes. */
  readonly target: number;
  /** Whether it has stopped (there, or where the replay ends). */
  readonly done: boolean;
}

/** The most instructions between two progress reports. */
export const PROGRESS_STEP = 4_000_000;

/**
 * Distances before a seek's target at which a seek that replays at least
 * {@linkcode NEAR_FROM} instructions leaves extra snapshots (far to near).
 */
const NEAR = [1 << 18, 1 << 14, 1 << 10, 1 << 6];
const NEAR_FROM = 100_000;

/** One snapshot: shared RAM pages and the machine's other sections. */
interface Checkpoint {
  readonly icount: number;
  /** RAM page by page; a page buffer may be shared with neighbours. */
  readonly pages: Int32Array[];
  /** Bytes of pages not shared with the previous snapshot. */
  owned: number;
  /** Bytes of the other sections. */
  readonly extra: number;
  readonly machine: Omit<MachineSnapshot, "ram">;
  readonly log: unknown;
}

const ZERO = new Int32Array(PAGE_BYTES / 4);

function samePage(a: Int32Array, ram: Int32Array, base: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== ram[base + i]) return false;
  return true;
}

function zeroPage(ram: Int32Array, base: number): boolean {
  const end = base + PAGE_BYTES / 4;
  for (let i = base; i < end; i++) if (ram[i] !== 0) return false;
  return true;
}

/**
 * Snapshots and seeking for a replay.
 *
 * @example Go back 10 instructions and forward again
 * ```ts
 * import { Runner } from "./runner.ts";
 * import { TimeTravel } from "./time_travel.ts";
 * // addi a0, a0, 1 ; j .-4
 * const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);
 * const runner = new Runner({ machine: { bios: "none", kernel, memoryBytes: 1 << 20 } });
 * const tt = new TimeTravel(runner, { interval: 100 });
 * tt.seek(1000);
 * const a0 = runner.machine.cpu.getX(10);
 * tt.seek(990);
 * console.log(runner.machine.cpu.icount, a0 - runner.machine.cpu.getX(10)); // 990 5n
 * ```
 */
export class TimeTravel {
  /** The runner whose run this goes back and forth in. */
  readonly runner: Runner;
  #adaptive: boolean;
  /** The snapshots' memory budget in bytes. */
  readonly budgetBytes: number;
  #points: Checkpoint[] = [];
  /**
   * The snapshot whose RAM the machine's RAM equalled when the bus's dirty
   * map was last cleared (it may since have been thinned away).
   */
  #base: Checkpoint | undefined;
  #bytes = 0;
  #interval: number;
  #lastCheckpointEnd = performance.now();
  /** Where the current run forward last reported its progress. */
  #reported = -Infinity;
  readonly #onProgress: ((p: TimeTravelProgress) => void) | undefined;

  /**
   * Start at the runner's current point, which is snapshotted first (the
   * earliest point a seek can reach).
   *
   * @param runner a runner that replays a log, or records nothing
   * @param options the interval and the memory budget
   * @throws {RangeError} on an interval or budget that is not a positive
   *   integer
   */
  constructor(runner: Runner, options: TimeTravelOptions = {}) {
    this.runner = runner;
    this.#onProgress = options.onProgress;
    this.#adaptive = options.interval === undefined;
    this.#interval = options.interval ?? DEFAULT_INTERVAL;
    this.budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES;
    this.#checkInterval(this.#interval);
    if (!(this.budgetBytes > 0)) {
      throw new RangeError(
        `Cannot keep snapshots within ${this.budgetBytes} bytes: give a positive budget`,
      );
    }
    this.checkpoint();
  }

  #checkInterval(n: number): void {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(
        `Cannot keep snapshots every ${n} instructions: give a positive whole number`,
      );
    }
  }

  /** Whether the interval adapts to what snapshots cost. */
  get adaptive(): boolean {
    return this.#adaptive;
  }

  /**
   * Change the interval from now on: every `interval` instructions, or
   * adaptive without it (as the constructor's option). A replay that may
   * never go back can start with a huge interval (only its start is kept)
   * and switch when time travel is first asked for.
   *
   * @param interval instructions between two snapshots, or undefined
   * @throws {RangeError} on an interval that is not a positive integer
   * @example Keep only the start, then every 100 instructions
   * ```ts
   * import { Runner } from "./runner.ts";
   * import { TimeTravel } from "./time_travel.ts";
   * // addi a0, a0, 1 ; j .-4
   * const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);
   * const runner = new Runner({ machine: { bios: "none", kernel, memoryBytes: 1 << 20 } });
   * const tt = new TimeTravel(runner, { interval: Number.MAX_SAFE_INTEGER });
   * tt.seek(500);
   * tt.setInterval(100);
   * tt.seek(1000);
   * console.log(tt.snapshotIcounts); // [0, 600, 700, 800, 900, 1000]
   * ```
   */
  setInterval(interval?: number): void {
    if (interval !== undefined) this.#checkInterval(interval);
    this.#adaptive = interval === undefined;
    this.#interval = interval ?? DEFAULT_INTERVAL;
    this.#lastCheckpointEnd = performance.now();
  }

  /** Instructions between two automatic snapshots (now). */
  get interval(): number {
    return this.#interval;
  }

  /** How many snapshots are kept. */
  get snapshots(): number {
    return this.#points.length;
  }

  /** The instruction counts of the kept snapshots, in order. */
  get snapshotIcounts(): number[] {
    return this.#points.map((p) => p.icount);
  }

  /** Bytes the snapshots hold (pages not shared, plus the other sections). */
  get memoryBytes(): number {
    return this.#bytes;
  }

  /** The earliest instruction count a seek can reach. */
  get start(): number {
    return this.#points[0]!.icount;
  }

  /**
   * Snapshot the run here (if there is no snapshot here yet), then thin
   * older snapshots to stay within the budget.
   */
  checkpoint(): void {
    this.#snap(true);
  }

  /**
   * Snapshot here; `adapt`: a periodic snapshot, whose cost steers the
   * adaptive interval (the extra ones a seek leaves near its target do
   * not).
   */
  #snap(adapt: boolean): void {
    const t0 = performance.now();
    const m = this.runner.machine;
    const icount = m.cpu.icount;
    const i = this.#find(icount);
    if (i >= 0 && this.#points[i]!.icount === icount) {
      // A replay is deterministic: RAM is that snapshot's again.
      this.#clean(this.#points[i]!);
      return;
    }
    const prev = i >= 0 ? this.#points[i]! : undefined;
    const log = this.runner.logMark();
    // snapshotParts() holds RAM as a view: the pages below copy it.
    const { ram: _ram, ...rest } = m.snapshotParts();
    const ram = new Int32Array(
      m.bus.ram8.buffer,
      m.bus.ram8.byteOffset,
      m.bus.ram8.length >> 2,
    );
    const n = Math.ceil(m.bus.ram8.length / PAGE_BYTES);
    const words = PAGE_BYTES / 4;
    // Dirty pages (bus.dirty): a page not written since the snapshot RAM
    // last equalled (at or before prev, on this run forward) holds what
    // prev holds; only the others are compared.
    // Or, for a first snapshot, a page never written since the bus was
    // made holds zeros.
    const base = this.#base;
    const dirty = prev
      ? base && base.icount <= prev.icount ? m.bus.dirty : undefined
      : m.bus.dirtyFromZero
      ? m.bus.dirty
      : undefined;
    let pages: Int32Array[];
    let owned = 0;
    if (dirty) {
      pages = prev ? prev.pages.slice() : new Array<Int32Array>(n).fill(ZERO);
      for (
        let p = dirty.indexOf(1);
        p >= 0 && p < n;
        p = dirty.indexOf(1, p + 1)
      ) {
        const at = p * words;
        if (prev && samePage(prev.pages[p]!, ram, at)) continue;
        if (zeroPage(ram, at)) pages[p] = ZERO;
        else {
          pages[p] = ram.slice(at, at + words);
          owned += PAGE_BYTES;
        }
      }
    } else {
      pages = new Array<Int32Array>(n);
      for (let p = 0; p < n; p++) {
        const base = p * words;
        const old = prev?.pages[p];
        if (old && samePage(old, ram, base)) {
          pages[p] = old;
        } else if (zeroPage(ram, base)) {
          pages[p] = ZERO;
        } else {
          pages[p] = ram.slice(base, base + words);
          owned += PAGE_BYTES;
        }
      }
    }
    // The page table itself counts too (a reference per page).
    let extra = rest.hart.length + rest.clock.length + rest.board.length +
      rest.pendingInput.length + n * 8;
    for (const d of rest.devices) extra += d.state.length + d.name.length;
    const point: Checkpoint = {
      icount,
      pages,
      owned,
      extra,
      machine: rest,
      log,
    };
    this.#points.splice(i + 1, 0, point);
    this.#bytes += owned + extra;
    // The next one now shares with this one, not with prev.
    const next = this.#points[i + 2];
    if (next) this.#recount(next, point);
    this.#thin(icount);
    this.#clean(point);
    const t1 = performance.now();
    if (adapt && this.adaptive) {
      const cost = t1 - t0, ran = t0 - this.#lastCheckpointEnd;
      if (cost > ran / 10 && this.#interval < MAX_INTERVAL) this.#interval *= 2;
      else if (cost < ran / 50 && this.#interval > 250_000) {
        this.#interval = Math.max(250_000, this.#interval / 2);
      }
    }
    if (adapt) this.#lastCheckpointEnd = t1;
  }

  /** RAM equals `point`'s: start a new dirty period there. */
  #clean(point: Checkpoint): void {
    this.runner.machine.bus.clearDirty();
    this.#base = point;
  }

  /**
   * Run forward from where the machine is to `icount`, taking snapshots on
   * the way at every multiple of the interval.
   *
   * @param icount where to stop
   * @returns the runner's result: `budget` when it got there
   */
  runUntil(icount: number): RunResult {
    this.#reported = -Infinity;
    const from = this.runner.machine.cpu.icount;
    return this.#runTo(icount, from, icount, true);
  }

  /**
   * Run to `stop`, reporting progress towards `target` from `from` (a seek
   * runs in stretches, one report series); `last`: the stretch that ends
   * at the target reports `done`.
   */
  #runTo(stop: number, from: number, target: number, last: boolean): RunResult {
    const m = this.runner.machine;
    const report = this.#onProgress;
    for (;;) {
      const now = m.cpu.icount;
      if (now >= stop) {
        if (last) report?.({ from, at: now, target, done: true });
        return { kind: "budget" };
      }
      const next = (Math.floor(now / this.interval) + 1) * this.interval;
      let end = Math.min(stop, next);
      if (report) {
        if (now - this.#reported >= PROGRESS_STEP) {
          report({ from, at: now, target, done: false });
          this.#reported = now;
        }
        end = Math.min(end, this.#reported + PROGRESS_STEP);
      }
      const r = this.runner.runUntil(end);
      if (m.cpu.icount === next) this.checkpoint();
      if (r.kind !== "budget") {
        report?.({ from, at: m.cpu.icount, target, done: true });
        return r;
      }
    }
  }

  /**
   * Run up to `maxInsns` instructions forward, taking snapshots on the way
   * (the runner's `run`, for a debugger's loop).
   *
   * @param maxInsns the most instructions to run
   * @returns the runner's result
   */
  run(maxInsns: number): RunResult {
    return this.runUntil(this.runner.machine.cpu.icount + maxInsns);
  }

  /**
   * Go to instruction count `icount`, forwards or backwards: restore the
   * nearest snapshot at or before it (unless the machine is already between
   * that snapshot and the target) and replay forward.
   *
   * @param icount the instruction count to reach
   * @returns the runner's result: `budget` when it got there exactly;
   *   `replay-end` or `exit` if the run ends first
   * @throws {RangeError} if `icount` is before the first snapshot
   */
  seek(icount: number): RunResult {
    if (!Number.isSafeInteger(icount) || icount < this.start) {
      throw new RangeError(
        `Cannot seek to instruction ${icount}: the replay's time travel starts at instruction ${this.start}`,
      );
    }
    const m = this.runner.machine;
    const point = this.#points[this.#find(icount)]!;
    const now = m.cpu.icount;
    if (!(now <= icount && now >= point.icount)) this.#restore(point);
    // On the way, snapshots at shrinking distances before the target, so
    // that stepping back from there (reverse-stepi, one instruction at a
    // time) replays a short stretch, not the whole interval.
    const from = m.cpu.icount;
    this.#reported = -Infinity;
    const far = icount - from >= NEAR_FROM;
    for (const d of far ? NEAR : []) {
      const at = icount - d;
      if (at <= m.cpu.icount) continue;
      const r = this.#runTo(at, from, icount, false);
      if (r.kind !== "budget") return r;
      this.#snap(false);
    }
    return this.#runTo(icount, from, icount, true);
  }

  /**
   * The instruction count of the last snapshot at or before `icount`.
   *
   * @param icount an instruction count at or after the first snapshot
   * @returns the snapshot's instruction count
   */
  snapshotBefore(icount: number): number {
    const i = this.#find(icount);
    return this.#points[Math.max(0, i)]!.icount;
  }

  /**
   * Go back to the last snapshot at or before `icount` (without running).
   *
   * @param icount an instruction count at or after the first snapshot
   * @returns the snapshot's instruction count
   */
  restoreBefore(icount: number): number {
    const i = this.#find(icount);
    if (i < 0) {
      throw new RangeError(
        `Cannot go back to instruction ${icount}: the replay's time travel starts at instruction ${this.start}`,
      );
    }
    this.#restore(this.#points[i]!);
    return this.#points[i]!.icount;
  }

  /**
   * Restore a kept snapshot: only the RAM pages that may differ are copied
   * (those written since the dirty map was cleared, and those the two
   * snapshots do not share), and only they are reported to the harts.
   */
  #restore(point: Checkpoint): void {
    const m = this.runner.machine;
    const bus = m.bus;
    const ram8 = bus.ram8;
    const ram = new Int32Array(ram8.buffer, ram8.byteOffset, ram8.length >> 2);
    const words = PAGE_BYTES / 4;
    const base = this.#base, dirty = bus.dirty;
    let run = -1; // first page of a run of copied pages
    const n = point.pages.length;
    for (let p = 0; p <= n; p++) {
      const want = point.pages[p];
      const copy = p < n &&
        (!base || dirty[p] !== 0 || base.pages[p] !== want);
      if (copy) {
        ram.set(want!, p * words);
        if (run < 0) run = p;
      } else if (run >= 0) {
        bus.ramWritten(run * PAGE_BYTES, (p - run) * PAGE_BYTES);
        run = -1;
      }
    }
    this.runner.restoreSnapshot({
      machine: { ...point.machine, ram: ram8 },
      icount: point.icount,
      log: point.log,
    }, { ramInPlace: true });
    this.#clean(point);
  }

  /** Index of the last snapshot at or before `icount` (-1: none). */
  #find(icount: number): number {
    const pts = this.#points;
    let lo = 0, hi = pts.length - 1, ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (pts[mid]!.icount <= icount) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** Recount a snapshot's own pages against its new predecessor. */
  #recount(point: Checkpoint, prev: Checkpoint | undefined): void {
    let owned = 0;
    for (let p = 0; p < point.pages.length; p++) {
      const pg = point.pages[p]!;
      if (pg !== ZERO && pg !== prev?.pages[p]) owned += PAGE_BYTES;
    }
    this.#bytes += owned - point.owned;
    point.owned = owned;
  }

  /** Drop snapshots until within the budget; the newest `keep` stays. */
  #thin(keep: number): void {
    const pts = this.#points;
    while (this.#bytes > this.budgetBytes && pts.length > 1) {
      const head = Math.max(keep, pts[pts.length - 1]!.icount);
      let best = -1, bestScore = Infinity;
      for (let k = 1; k < pts.length; k++) {
        if (pts[k]!.icount === keep) continue;
        const gap = (pts[k + 1]?.icount ?? head) - pts[k - 1]!.icount;
        const score = gap / (head - pts[k]!.icount + 1);
        if (score < bestScore) {
          bestScore = score;
          best = k;
        }
      }
      if (best < 0) break;
      const [gone] = pts.splice(best, 1);
      this.#bytes -= gone!.owned + gone!.extra;
      if (best < pts.length) this.#recount(pts[best]!, pts[best - 1]);
    }
  }
}
