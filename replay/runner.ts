/**
 * The one run loop: {@linkcode Runner} owns a {@linkcode VirtMachine} and
 * runs it in slices, with record and replay as a sink and a source around
 * it. The CLI's vCPU worker, the library's {@linkcode record} and
 * {@linkcode replay} (`session.ts`) and the plugin test kit all run
 * machines through it.
 *
 * - **Slicing.** {@linkcode Runner.run} runs up to N instructions; inside,
 *   the board cuts slices at timer deadlines (`VirtMachine.run`), and the
 *   runner cuts them at the next logged input (replay) and at the next
 *   state hash (`rrcheck`), which it stores or compares.
 * - **Recording.** The machine reports every input (`devices/events.ts`) to
 *   the runner's backend, which hands it to the `record` sink as a
 *   {@linkcode NondetEvent}, with how the run ended.
 * - **Replaying.** The runner applies each logged input at its instruction
 *   count, answers the devices' reads of the host clock and entropy from
 *   the log, checks that the guest ends the way it did, and stops at the
 *   log's end (`replay-end`).
 * - **Idling and warps.** An idle hart either jumps to the next deadline
 *   (`warpIdle`, QEMU's `sleep=off`), or the run returns `idle` and the
 *   caller sleeps, then reports the real time that passed with
 *   {@linkcode Runner.idleFor} (a logged warp); {@linkcode Runner.catchUp}
 *   keeps a `shift=auto` clock near real time the same way. A live run
 *   (not a replay) under `warpIdle` returns early, before a jump, when the
 *   guest sent the host output or a frame and then idles: the host's turn
 *   to answer before guest time jumps on (the warps themselves do not
 *   change, so logs replay as before).
 *
 * Stopping and stepping (for a debugger or a monitor): the runner only runs
 * inside {@linkcode Runner.run}, between two instructions on both ends, so
 * the machine is paused whenever no call is running. `run(1)` steps one
 * instruction; {@linkcode Runner.runUntil} runs to an instruction count;
 * `machine.cpu.requestStop()` (from a callback inside the run, such as a
 * device or an instrumentation hook) ends the current call at the next
 * instruction boundary with `{ kind: "stopped" }`.
 *
 * @module
 */

import { VirtMachine } from "../devices/virt.ts";
import type { RunResult, VirtMachineOptions } from "../devices/virt.ts";
import {
  CORE_INPUT_KINDS,
  type EventBackend,
  type ExitStatus,
} from "../devices/events.ts";
import type { MachineSnapshot } from "../devices/snapshot.ts";
import type { NondetEvent, NondetSource } from "./nondet.ts";
import { ReplayDivergenceError } from "./nondet.ts";

/** State hash checks (`rrcheck`) between slices. */
export interface StateChecks {
  /**
   * How many instructions to run next so as not to pass a check.
   *
   * @param icount the machine's instruction count
   * @param slice the most the caller wants to run
   * @returns the budget (at least 1)
   */
  budget(icount: number, slice: number): number;
  /**
   * Called after each slice: store or compare a hash when one is due.
   *
   * @param machine the machine
   */
  afterRun(machine: VirtMachine): void;
}

/** A run's state: the machine's, and where the replay is in its log. */
export interface RunSnapshot {
  /** The machine. */
  readonly machine: MachineSnapshot;
  /** The instruction count. */
  readonly icount: number;
  /** The replay source's position (`NondetSource.mark`), when replaying. */
  readonly log: unknown;
}

/** Options for {@linkcode Runner}. */
export interface RunnerOptions {
  /** The machine to build (its `events` backend is the runner's). */
  machine: Omit<VirtMachineOptions, "events">;
  /** Record: every input and the run's end go here. */
  record?: (event: NondetEvent) => void;
  /** Replay: the inputs come from here, and host input is ignored. */
  replay?: NondetSource;
  /** State hashes to store or compare (a `LogRecorder` or `LogReplayer`). */
  checks?: StateChecks;
  /**
   * Jump an idle hart's clock to the next timer deadline instead of
   * returning `idle` (QEMU's `sleep=off`). Live, a run that made the guest
   * send output (serial bytes, network frames) returns `budget` early when
   * the hart then idles, before the jump, so the host answers first.
   *
   * @default {false}
   */
  warpIdle?: boolean;
}

const CORE_KINDS = new Set(CORE_INPUT_KINDS.map((k) => k.name));

function describe(e: NondetEvent | undefined): string {
  if (!e) return "no event";
  return e.kind === "input" ? `a ${e.event} input` : `a ${e.kind}`;
}

/**
 * Runs a machine, recording or replaying its inputs.
 *
 * @example Record a guest that powers off at once, and replay it
 * ```ts
 * import { Runner } from "./runner.ts";
 * import { arraySource, type NondetEvent } from "./nondet.ts";
 * // li t0, 0x100000 ; li t1, 0x5555 ; sw t1, 0(t0)   (power off)
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const machine = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
 * const log: NondetEvent[] = [];
 * const rec = new Runner({ machine, record: (e) => log.push(e) });
 * console.log(rec.run(1000).kind); // "exit"
 * const rep = new Runner({ machine, replay: arraySource(log) });
 * console.log(rep.run(1000).kind); // "exit"
 * console.log(rep.machine.cpu.icount === rec.machine.cpu.icount); // true
 * ```
 */
export class Runner {
  /** The machine. */
  readonly machine: VirtMachine;
  #record: ((event: NondetEvent) => void) | undefined;
  #source: NondetSource | undefined;
  #checks: StateChecks | undefined;
  #warpIdle: boolean;
  #ended = false;

  /**
   * Build the machine with the runner's event backend.
   *
   * @param options the machine, and what to record to or replay from
   * @throws {ReplayDivergenceError} if the board reads host entropy and the
   *   log does not have it first
   */
  constructor(options: RunnerOptions) {
    this.#record = options.record;
    this.#source = options.replay;
    this.#checks = options.checks;
    this.#warpIdle = options.warpIdle ?? false;
    // deno-lint-ignore no-this-alias
    const self = this;
    // One backend whose mode follows the runner's: a replay can leave its
    // log and go on live ({@linkcode Runner.goLive}).
    const backend: EventBackend = {
      get replaying() {
        return self.#source !== undefined;
      },
      take: (kind, icount) => this.#take(kind, icount),
      input: (e) => {
        if (this.#source) return;
        this.#record?.({
          kind: "input",
          icount: e.icount,
          event: e.kind,
          payload: e.payload,
        });
      },
      shutdown: (status, icount) => {
        if (this.#source) void this.#applyDue();
        else this.#record?.({ kind: "shutdown", icount, status });
      },
    };
    // The machine is not assigned while its constructor reads the host
    // clock or entropy; #take does not need it.
    this.machine = new VirtMachine({ ...options.machine, events: backend });
  }

  /** Whether the inputs come from a log. */
  get replaying(): boolean {
    return this.#source !== undefined;
  }

  /**
   * Run up to `maxInsns` instructions: slices cut at timer deadlines, at
   * logged inputs and at state hashes, which are stored or compared.
   *
   * @param maxInsns the most instructions to run
   * @returns why it returned: `budget` when they ran, or (live, under
   *   `warpIdle`) when the guest sent output and then idled; `idle` (the hart
   *   waits in `wfi` and `warpIdle` is off, or there is no deadline);
   *   `exit`; `stopped` (a stop request); `replay-end`
   * @throws {ReplayDivergenceError} if a replay leaves its recording
   */
  run(maxInsns: number): RunResult {
    const m = this.machine;
    const end = m.cpu.icount + maxInsns;
    for (;;) {
      const left = end - m.cpu.icount;
      if (left <= 0) return { kind: "budget" };
      const budget = this.#checks
        ? this.#checks.budget(m.cpu.icount, left)
        : left;
      const before = m.cpu.icount;
      const r = this.#segment(budget);
      if (r.kind === "exit") return r;
      this.#checks?.afterRun(m);
      if (r.kind !== "budget") return r;
      // The host's turn (output, then idle): see warpIdle.
      if (m.cpu.icount - before < budget) return r;
    }
  }

  /**
   * Run to instruction count `icount` (or until something else ends the
   * run first).
   *
   * @param icount the instruction count to reach
   * @returns as {@linkcode Runner.run}
   */
  runUntil(icount: number): RunResult {
    return this.run(Math.max(0, icount - this.machine.cpu.icount));
  }

  /**
   * Let an idle hart's clock move by `elapsedNs` of real time, up to the
   * next deadline (`sleep=on`); recorded, and a no-op in a replay.
   *
   * @param elapsedNs real ns that passed
   */
  idleFor(elapsedNs: number): void {
    this.machine.idleFor(elapsedNs);
  }

  /**
   * `shift=auto`: bring the clock up to `realNs` of real run time when it
   * lags by a millisecond or more (a recorded warp, like `sleep=on`'s).
   *
   * @param realNs real ns the machine has run (stopped time excluded)
   */
  catchUp(realNs: number): void {
    if (this.replaying) return;
    const lag = realNs - this.machine.clock.nowNs();
    if (lag >= 1e6) this.machine.idleFor(lag);
  }

  /**
   * Save the run: the machine snapshot and, in a replay, the position in
   * the log, so that {@linkcode Runner.restoreSnapshot} can go back and
   * replay on from there.
   *
   * @returns the snapshot
   */
  saveSnapshot(): RunSnapshot {
    return {
      machine: this.machine.saveSnapshot(),
      icount: this.machine.cpu.icount,
      log: this.#source?.mark?.(),
    };
  }

  /**
   * The replay source's position in its log (`NondetSource.mark`), for a
   * snapshot kept by parts (`time_travel.ts`); undefined when not replaying.
   *
   * @returns the position
   */
  logMark(): unknown {
    return this.#source?.mark?.();
  }

  /**
   * Go back to a snapshot of this run (a replay, or a run that records
   * nothing): the machine, and the replay's position in the log.
   *
   * @param s what {@linkcode Runner.saveSnapshot} returned
   * @param options `ramInPlace`: RAM is in place already
   *   (`VirtMachine.restoreSnapshot`)
   * @throws {Error} while recording (a log cannot go back), or when the
   *   replay source cannot seek
   */
  restoreSnapshot(
    s: RunSnapshot,
    options: { ramInPlace?: boolean } = {},
  ): void {
    if (this.#record) {
      throw new Error(
        "Cannot restore a snapshot while recording: the log cannot go back; restore into a replay of it",
      );
    }
    const src = this.#source;
    if (src && (!src.seek || s.log === undefined)) {
      throw new Error(
        "Cannot restore a snapshot of this replay: its source cannot go back (use a LogReplayer or arraySource)",
      );
    }
    this.machine.restoreSnapshot(s.machine, options);
    if (src) src.seek!(s.log);
    this.#ended = false;
  }

  /**
   * Leave the replay here and go on live: from now on the machine takes its
   * inputs from the host (serial input, the host clock, entropy, network
   * frames, idle warps) and reports them to `record`, if given (a new log
   * that starts here). The log's remaining events are dropped.
   *
   * @param options where the inputs go from now on, and the state hashes
   *   to store (a `LogRecorder`)
   * @throws {Error} if the runner is not replaying
   * @example Replay 500 instructions, then run on live
   * ```ts
   * import { Runner } from "./runner.ts";
   * import type { NondetEvent } from "./nondet.ts";
   * import { arraySource } from "./nondet.ts";
   * // addi a0, a0, 1 ; j .-4
   * const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);
   * const machine = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
   * const log: NondetEvent[] = [];
   * const rec = new Runner({ machine, record: (e) => log.push(e) });
   * rec.run(1000);
   * rec.endRecording();
   * const rep = new Runner({ machine, replay: arraySource(log) });
   * rep.run(500);
   * rep.goLive();
   * console.log(rep.replaying, rep.run(2000).kind); // false budget
   * ```
   */
  goLive(options: {
    record?: (event: NondetEvent) => void;
    checks?: StateChecks;
  } = {}): void {
    if (!this.#source) {
      throw new Error("Cannot go live: this run does not replay a log");
    }
    this.#source = undefined;
    this.#record = options.record;
    this.#checks = options.checks;
    this.#ended = false;
  }

  /**
   * End a recording here (the user quit): records an `end` at the current
   * instruction count, once.
   */
  endRecording(): void {
    if (this.#ended || this.replaying) return;
    this.#ended = true;
    this.#record?.({ kind: "end", icount: this.machine.cpu.icount });
  }

  /** One stretch up to the budget: the board's run between log events. */
  #segment(maxInsns: number): RunResult {
    const m = this.machine, cpu = m.cpu, src = this.#source;
    let left = maxInsns;
    while (left > 0) {
      let toEvent = Infinity;
      if (src) {
        const r = this.#applyDue();
        if (r) return r;
        // 0 only for a logged trap loop that is yet to come.
        toEvent = src.peek()!.icount - cpu.icount || 10_000;
      }
      const before = cpu.icount;
      const n = Math.min(left, toEvent);
      const r = m.run(n, { warpIdle: this.#warpIdle, hostTurn: !src });
      left -= cpu.icount - before;
      if (r.kind === "budget") {
        if (cpu.icount - before < n) return r; // the host's turn
        continue;
      }
      if (r.kind === "exit") this.#ended = true;
      if (r.kind === "idle" && src) {
        if (src.peek()?.icount === cpu.icount) continue; // a logged input wakes it
        if (!this.#warpIdle) {
          throw new ReplayDivergenceError(
            cpu.icount,
            "the hart is idle here, but the log has no clock warp or input for it",
          );
        }
      }
      return r;
    }
    return { kind: "budget" };
  }

  /** A device reads an input now: the log's next event must be it. */
  #take(kind: string, icount: number): Uint8Array {
    const e = this.#source!.take();
    if (e?.kind !== "input" || e.event !== kind || e.icount !== icount) {
      throw new ReplayDivergenceError(
        icount,
        `the machine read a ${kind} input, but the log has ${describe(e)}${
          e && e.icount !== icount ? ` at instruction ${e.icount}` : ""
        } next`,
      );
    }
    return e.payload;
  }

  /** Apply the logged inputs due at the current instruction count. */
  #applyDue(): RunResult | undefined {
    const m = this.machine, src = this.#source!;
    const icount = m.cpu.icount;
    const exit: ExitStatus | undefined = m.exitStatus;
    for (;;) {
      const e = src.peek();
      if (!e) return { kind: "replay-end", icount };
      if (e.icount > icount) return undefined;
      if (e.icount < icount) {
        throw new ReplayDivergenceError(
          icount,
          `the log has ${
            describe(e)
          } at instruction ${e.icount}, which the replay ran past`,
        );
      }
      if (e.kind === "shutdown" && e.status.kind === "trap-loop" && !exit) {
        return undefined; // expected: the run loop finds the trap loop
      }
      if (e.kind === "input" && this.#pulled(e.event)) {
        return undefined; // read by a device in the next instruction (#take)
      }
      src.take();
      switch (e.kind) {
        case "input":
          this.#applyInput(e.event, e.payload);
          break;
        case "shutdown":
          checkShutdown(icount, exit, e.status);
          break;
        case "end":
          return { kind: "replay-end", icount };
      }
    }
  }

  /**
   * Apply the next logged input if it is due at this instruction count (a
   * replay stopped at an instruction count stands before the inputs logged
   * there; several can share one count, such as the warps of an idle hart).
   * Used to find the point among them where a snapshot was taken.
   *
   * @returns whether an input was applied
   * @throws {ReplayDivergenceError} if the machine cannot take it
   */
  applyNextInput(): boolean {
    const src = this.#source;
    const e = src?.peek();
    if (!src || e?.kind !== "input" || e.icount !== this.machine.cpu.icount) {
      return false;
    }
    src.take();
    this.#applyInput(e.event, e.payload);
    return true;
  }

  /** Whether a device reads inputs of this kind (the host clock, entropy). */
  #pulled(event: string): boolean {
    return !this.machine.router.has(event) && CORE_KINDS.has(event);
  }

  #applyInput(event: string, payload: Uint8Array): void {
    const m = this.machine, icount = m.cpu.icount;
    if (this.#pulled(event)) {
      // A kind that a device reads (pulls): it comes with the read.
      throw new ReplayDivergenceError(
        icount,
        `the log has a ${event} input that the replay did not ask for`,
      );
    }
    if (!m.applyInput({ kind: event, icount, payload })) {
      throw new ReplayDivergenceError(
        icount,
        `the machine could not take the logged ${event} input (the UART receive FIFO had no room)`,
      );
    }
  }
}

function checkShutdown(
  icount: number,
  got: ExitStatus | undefined,
  want: ExitStatus,
): void {
  if (!got || got.kind !== want.kind) {
    throw new ReplayDivergenceError(
      icount,
      `the recording ended with ${want.kind} here, the replay did not`,
    );
  }
  if (
    got.kind !== "trap-loop" && want.kind !== "trap-loop" &&
    want.code !== -1 && got.code !== want.code
  ) {
    throw new ReplayDivergenceError(
      icount,
      `the guest's ${got.kind} has exit code ${got.code}; the recording had ${want.code}`,
    );
  }
}
