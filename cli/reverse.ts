/**
 * Reverse execution for the debuggers, in a replay: {@linkcode Reverser}
 * answers GDB's `bs` (reverse-stepi) and `bc` (reverse-continue) with a
 * replay's {@linkcode TimeTravel}: it goes back to a snapshot and replays
 * forward, exactly, to where the step or the last breakpoint or watchpoint
 * hit was.
 *
 * - Reverse-stepi goes to the instruction count one less than now.
 * - Reverse-continue looks for the last breakpoint or watchpoint hit before
 *   the current instruction count: it replays the stretch from the nearest
 *   snapshot before now with the debugger's breakpoints on, remembering the
 *   last hit; with none, the stretch before that, and so on back to the
 *   start of the time travel. A breakpoint stops before its instruction;
 *   a watchpoint just after the access, which gdb then steps back over (as
 *   it steps over it going forwards), so that it shows the accessing
 *   instruction with the value from before it.
 * - Going back past the start stops there, with `history-begin` (GDB's
 *   `replaylog:begin` stop reply: "No more reverse-execution history").
 *
 * @module
 */

import type { TimeTravel } from "../replay/time_travel.ts";
import type { DebugStop, DebugTarget } from "./debug_target.ts";

/**
 * Reverse-stepi and reverse-continue over a replay.
 *
 * @example Step back one instruction
 * ```ts
 * import { Reverser } from "./reverse.ts";
 * import { DebugTarget } from "./debug_target.ts";
 * import { Runner } from "../replay/runner.ts";
 * import { TimeTravel } from "../replay/time_travel.ts";
 * // addi a0, a0, 1 ; j .-4
 * const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);
 * const runner = new Runner({ machine: { bios: "none", kernel, memoryBytes: 1 << 20 } });
 * const travel = new TimeTravel(runner, { interval: 1000 });
 * const target = new DebugTarget({
 *   cpu: runner.machine.cpu, bus: runner.machine.bus, run: (n) => travel.run(n),
 * });
 * target.run(5000);
 * const back = new Reverser(travel);
 * console.log(back.step(target).kind, target.icount); // step 4999
 * ```
 */
export class Reverser {
  /** The replay's snapshots and seeking. */
  readonly travel: TimeTravel;
  // The hits found in each stretch (by its first instruction count), for
  // the breakpoints and watchpoints of #key: a replay is deterministic, so
  // they stay true; a later reverse-continue in the same stretch needs no
  // new scan.
  #key = "";
  readonly #stretches = new Map<
    number,
    { end: number; hits: { icount: number; stop: DebugStop }[] }
  >();

  /**
   * Reverse over a time travel.
   *
   * @param travel the replay's {@linkcode TimeTravel}
   */
  constructor(travel: TimeTravel) {
    this.travel = travel;
  }

  /**
   * Reverse-stepi: go back one instruction.
   *
   * @param target the debugger's target (on the time travel's machine)
   * @returns `step`, or `history-begin` at the start
   */
  step(target: DebugTarget): DebugStop {
    const now = target.icount;
    if (now <= this.travel.start) return { kind: "history-begin" };
    this.travel.seek(now - 1);
    return { kind: "step" };
  }

  /**
   * Reverse-continue: go back to the last breakpoint or watchpoint hit
   * before now.
   *
   * @param target the debugger's target, with its breakpoints and
   *   watchpoints
   * @returns the hit, or `history-begin` when there is none
   */
  continue(target: DebugTarget): DebugStop {
    const tt = this.travel;
    const key = JSON.stringify([
      target.breakpoints.map(String),
      target.watchpoints.map((w) => [String(w.addr), w.length, w.kind]),
    ]);
    if (key !== this.#key) {
      this.#key = key;
      this.#stretches.clear();
    }
    let end = target.icount;
    while (end > tt.start) {
      const from = tt.snapshotBefore(end - 1);
      let stretch = this.#stretches.get(from);
      if (!stretch || stretch.end < end) {
        stretch = this.#scan(target, end);
        this.#stretches.set(from, stretch);
      }
      let last: { icount: number; stop: DebugStop } | undefined;
      for (const h of stretch.hits) if (h.icount < end) last = h;
      if (last) {
        // A watchpoint stops before the access going forwards, and gdb
        // steps over that instruction; going backwards it steps back over
        // it, so the stop is reported just after the access: gdb lands on
        // the storing instruction, with the value from before it.
        tt.seek(last.icount + (last.stop.kind === "watchpoint" ? 1 : 0));
        return last.stop;
      }
      end = from;
    }
    tt.seek(tt.start);
    return { kind: "history-begin" };
  }

  /** Replay from the snapshot before `end` to `end`, noting every hit. */
  #scan(
    target: DebugTarget,
    end: number,
  ): { end: number; hits: { icount: number; stop: DebugStop }[] } {
    const from = this.travel.restoreBefore(end - 1);
    const hits: { icount: number; stop: DebugStop }[] = [];
    // The run below lets its first instruction go (so that continuing from
    // a breakpoint moves on): check a breakpoint there first.
    const bps = target.breakpoints;
    if (bps.length > 0 && bps.includes(target.pc)) {
      hits.push({ icount: from, stop: { kind: "breakpoint", pc: target.pc } });
    }
    while (target.icount < end) {
      const stop = target.run(end - target.icount);
      if (stop.kind === "breakpoint" || stop.kind === "watchpoint") {
        hits.push({ icount: target.icount, stop });
        continue;
      }
      break; // the stretch ran out, or the machine ended it
    }
    return { end, hits };
  }
}
