/**
 * The link between the debuggers on the CLI's main thread (the GDB stub,
 * QMP's `replay-break`, the monitor's `info registers` and `x`) and the
 * machine in the vCPU worker.
 *
 * The worker runs its slices synchronously and never returns to its event
 * loop, so the main thread reaches it through shared memory: a flag asking
 * it to pause, the replay breakpoint's instruction count, and a mailbox for
 * requests (read registers, read memory, set breakpoints, resume) that the
 * worker serves while it is paused. The worker pauses at a checkpoint,
 * between two instructions, with everything it did logged; it lets go of
 * the replay mutex while paused (so the monitor keeps working) and takes it
 * back before it runs again, so pausing changes nothing in a recording.
 *
 * - Worker side: {@linkcode DebugAgent}. The worker's loop asks it for the
 *   budget of each slice ({@linkcode DebugAgent.budget}), runs through it
 *   ({@linkcode DebugAgent.run}: breakpoints, watchpoints and steps), and
 *   calls {@linkcode DebugAgent.checkpoint} at each checkpoint, where it
 *   pauses when asked to.
 * - Main side: {@linkcode DebugLink}: requests, the pause flag, and the
 *   stops the worker reports (messages of type `debug-stop`).
 *
 * @module
 */

import { DebugTarget } from "./debug_target.ts";
import type { Reverser } from "./reverse.ts";
import type { NamedSnapshots } from "./snapshots.ts";
import type { DebugMachine, DebugStop, WatchKind } from "./debug_target.ts";
import type { RunResult } from "../devices/virt.ts";

// Control words (Int32Array over the first 64 bytes).
const REQ_SEQ = 0; // main: bumped after writing a request
const REP_SEQ = 1; // worker: set to REQ_SEQ after writing the reply
const REQ_LEN = 2;
const REP_LEN = 3;
const PAUSE = 4; // main: 1 = pause at the next checkpoint (or instruction)
const PAUSED = 5; // worker: 1 while paused and serving requests
const CTL_BYTES = 64;
// The replay breakpoint (Float64 at byte 64): -1 when none.
const BREAK_AT = 64;
const DATA = 128;
const DATA_BYTES = 1 << 20;
const HALF = DATA_BYTES / 2;

/** Bytes of the shared buffer a {@linkcode DebugLink} needs. */
export const DEBUG_LINK_BYTES: number = DATA + DATA_BYTES;

/** Why the worker paused, as it reports it. */
export type PauseReason =
  | DebugStop
  | { kind: "pause" }
  | { kind: "replay-break"; icount: number };

/** The worker's message to the main thread when it pauses. */
export interface DebugStopMessage {
  /** Message type. */
  type: "debug-stop";
  /** Why. */
  reason: PauseReason;
  /** Instructions retired. */
  icount: number;
}

/** Requests the worker serves while paused. */
export type DebugRequest =
  | { op: "regs"; nums: number[] }
  | { op: "set-reg"; num: number; value: string }
  | { op: "read"; addr: string; length: number; physical?: boolean }
  | { op: "write"; addr: string; bytes: number[] }
  | { op: "break"; insert: boolean; addr: string }
  | {
    op: "watch";
    insert: boolean;
    addr: string;
    length: number;
    kind: WatchKind;
  }
  | { op: "clear" }
  | { op: "list" }
  | { op: "reset" }
  | { op: "resume"; step: boolean }
  | { op: "reverse"; direction: "step" | "continue" }
  | { op: "seek"; icount: number }
  | { op: "go-live"; rrfile?: string }
  | {
    op: "snapshot";
    action: "save" | "load" | "delete" | "list";
    name: string;
  }
  | { op: "quit" };

const enc = new TextEncoder(), dec = new TextDecoder();

/**
 * The worker's side: runs the machine under the debuggers' breakpoints and
 * pauses when asked.
 */
export class DebugAgent {
  /** The debugger's view of the machine. */
  readonly target: DebugTarget;
  readonly #ctl: Int32Array;
  readonly #breakAt: Float64Array;
  readonly #data: Uint8Array;
  readonly #post: (m: DebugStopMessage) => void;
  #pending: PauseReason | undefined;
  #step = false;
  #reset: (() => void) | undefined;
  #reverser: Reverser | undefined;
  #snapshots: NamedSnapshots | undefined;
  #reverse: "step" | "continue" | undefined;
  #locked: <T>(f: () => T) => T = (f) => f();
  /**
   * Leaves the replay and goes on live (`replay_go_live`), recording to
   * `rrfile` if given; set by the worker in a replay. Its result is the
   * request's reply.
   */
  goLive: ((rrfile: string | undefined) => unknown) | undefined;

  /**
   * Make the agent.
   *
   * @param machine the machine (the worker's runner)
   * @param buffer the link's shared buffer ({@linkcode DebugLink.buffer})
   * @param post sends a message to the main thread
   * @param reset resets the board (QMP's `system_reset`), where allowed
   * @param reverser reverse execution (`bs`/`bc`), in a replay
   * @param snapshots named snapshots (`savevm`, `loadvm`), in a replay
   */
  constructor(
    machine: DebugMachine,
    buffer: SharedArrayBuffer,
    post: (m: DebugStopMessage) => void,
    reset?: () => void,
    reverser?: Reverser,
    snapshots?: NamedSnapshots,
  ) {
    this.#reset = reset;
    this.#reverser = reverser;
    this.#snapshots = snapshots;
    this.target = new DebugTarget(machine);
    this.#ctl = new Int32Array(buffer, 0, CTL_BYTES / 4);
    this.#breakAt = new Float64Array(buffer, BREAK_AT, 1);
    this.#data = new Uint8Array(buffer, DATA, DATA_BYTES);
    this.#post = post;
  }

  /**
   * Change what time travel the agent offers (after `replay_go_live`: no
   * reverse execution; named snapshots of the new recording, if any).
   *
   * @param reverser reverse execution, or undefined
   * @param snapshots named snapshots, or undefined
   */
  setTimeTravel(reverser?: Reverser, snapshots?: NamedSnapshots): void {
    this.#reverser = reverser;
    this.#snapshots = snapshots;
  }

  /**
   * The budget of the next slice: no further than the replay breakpoint.
   *
   * @param icount the machine's instruction count
   * @param budget what the loop would run
   * @returns the budget to run (0 at the breakpoint: pause first)
   */
  budget(icount: number, budget: number): number {
    const at = this.#breakAt[0]!;
    if (at >= 0 && at >= icount) return Math.min(budget, at - icount);
    return budget;
  }

  /** Whether the next checkpoint pauses (asked, stopped, or at the break). */
  wantsPause(icount: number): boolean {
    return this.#pending !== undefined ||
      Atomics.load(this.#ctl, PAUSE) === 1 || this.#breakAt[0] === icount;
  }

  /**
   * Run a slice: the machine's own run, or one instruction at a time while
   * breakpoints, watchpoints or a step are on. A debug stop ends the slice
   * early (as `{ kind: "budget" }`); the next checkpoint reports it.
   *
   * @param budget instructions
   * @param warpIdle as the machine's run (`sleep=off`)
   * @returns the machine's result
   */
  run(budget: number, warpIdle = false): RunResult {
    if (budget <= 0) return { kind: "budget" };
    const step = this.#step;
    this.#step = false;
    const stop = this.target.run(budget, {
      step,
      warpIdle,
      interrupted: () => Atomics.load(this.#ctl, PAUSE) === 1,
    });
    switch (stop.kind) {
      case "machine":
        return stop.result;
      case "budget":
        return { kind: "budget" };
      case "interrupted":
        return { kind: "budget" }; // the checkpoint pauses (PAUSE is set)
      default:
        this.#pending = stop;
        return { kind: "budget" };
    }
  }

  /**
   * At a checkpoint: pause if a debugger asked, a breakpoint or step
   * stopped, or the replay reached its breakpoint. While paused the worker
   * serves requests, without the replay mutex.
   *
   * @param icount the machine's instruction count
   * @param unlock lets go of the replay mutex
   * @param lock takes it back
   * @param quitRequested polled while paused: true ends the run (the main
   *   loop's quit, which the input ring carries)
   * @returns `quit` if a debugger or the main loop ended the run, else `run`
   */
  checkpoint(
    icount: number,
    unlock: () => void,
    lock: () => void,
    quitRequested: () => boolean = () => false,
  ): "run" | "quit" {
    if (!this.wantsPause(icount)) return "run";
    let reason: PauseReason = this.#pending ?? { kind: "pause" };
    this.#pending = undefined;
    if (this.#breakAt[0] === icount) {
      this.#breakAt[0] = -1;
      reason = { kind: "replay-break", icount };
    }
    Atomics.store(this.#ctl, PAUSE, 0);
    Atomics.store(this.#ctl, PAUSED, 1);
    this.#post({ type: "debug-stop", reason, icount });
    unlock();
    // A seek runs the machine while paused: with the mutex, as a run.
    this.#locked = (f) => {
      lock();
      try {
        return f();
      } finally {
        unlock();
      }
    };
    let result: "run" | "quit" = "run";
    try {
      result = this.#serve(quitRequested);
    } finally {
      Atomics.store(this.#ctl, PAUSED, 0);
      lock();
    }
    const reverse = this.#reverse;
    this.#reverse = undefined;
    if (result === "run" && reverse && this.#reverser) {
      // Back in time (with the mutex): the stop is reported at the next
      // checkpoint, which comes at once.
      this.#pending = reverse === "step"
        ? this.#reverser.step(this.target)
        : this.#reverser.continue(this.target);
    }
    return result;
  }

  #serve(quitRequested: () => boolean): "run" | "quit" {
    const ctl = this.#ctl;
    for (;;) {
      const seen = Atomics.load(ctl, REP_SEQ);
      Atomics.wait(ctl, REQ_SEQ, seen, 50);
      const seq = Atomics.load(ctl, REQ_SEQ);
      if (seq === seen) {
        if (quitRequested()) return "quit";
        continue;
      }
      const len = Atomics.load(ctl, REQ_LEN);
      const req = JSON.parse(
        dec.decode(this.#data.slice(0, len)),
      ) as DebugRequest;
      let reply: unknown;
      let leave: "run" | "quit" | undefined;
      try {
        reply = this.#handle(req);
        if (req.op === "resume") {
          this.#step = req.step;
          leave = "run";
        } else if (req.op === "reverse") {
          this.#reverse = req.direction;
          leave = "run";
        } else if (req.op === "quit") leave = "quit";
      } catch (err) {
        reply = { error: err instanceof Error ? err.message : String(err) };
      }
      const bytes = enc.encode(JSON.stringify(reply ?? null));
      if (bytes.length > HALF) {
        const e = enc.encode(JSON.stringify({ error: "reply too large" }));
        this.#data.set(e, HALF);
        Atomics.store(ctl, REP_LEN, e.length);
      } else {
        this.#data.set(bytes, HALF);
        Atomics.store(ctl, REP_LEN, bytes.length);
      }
      Atomics.store(ctl, REP_SEQ, seq);
      Atomics.notify(ctl, REP_SEQ);
      if (leave) return leave;
    }
  }

  #handle(req: DebugRequest): unknown {
    const t = this.target;
    switch (req.op) {
      case "regs":
        return req.nums.map((n) => t.readRegister(n)?.toString() ?? null);
      case "set-reg":
        return t.writeRegister(req.num, BigInt(req.value));
      case "read": {
        const b = req.physical
          ? t.readPhysical(BigInt(req.addr), req.length)
          : t.readMemory(BigInt(req.addr), req.length);
        return b ? [...b] : null;
      }
      case "write":
        return t.writeMemory(BigInt(req.addr), Uint8Array.from(req.bytes));
      case "break":
        if (req.insert) t.insertBreakpoint(BigInt(req.addr));
        else t.removeBreakpoint(BigInt(req.addr));
        return true;
      case "watch":
        return req.insert
          ? t.insertWatchpoint(BigInt(req.addr), req.length, req.kind)
          : t.removeWatchpoint(BigInt(req.addr), req.length, req.kind);
      case "clear":
        t.clearAll();
        return true;
      case "list":
        return {
          breakpoints: t.breakpoints.map((b) => b.toString()),
          watchpoints: t.watchpoints.map((w) => ({
            addr: w.addr.toString(),
            length: w.length,
            kind: w.kind,
          })),
        };
      case "reset":
        if (!this.#reset) throw new Error("Cannot reset this machine");
        this.#reset();
        return true;
      case "seek": {
        if (!this.#reverser) {
          throw new Error(
            "Cannot seek: deja is not replaying (use -icount rr=replay)",
          );
        }
        const travel = this.#reverser.travel;
        const r = this.#locked(() => travel.seek(req.icount));
        const now = this.target.icount;
        if (now !== req.icount) {
          throw new Error(
            `Cannot seek to instruction ${req.icount}: the ${
              r.kind === "replay-end"
                ? "replay ends"
                : r.kind === "exit"
                ? "guest powers off"
                : "replay stops (" + r.kind + ")"
            } at instruction ${now}, where it is now`,
          );
        }
        return { icount: now };
      }
      case "go-live": {
        const go = this.goLive;
        if (!go) {
          throw new Error(
            "Cannot go live: deja is not replaying (replay_go_live leaves a replay: -icount rr=replay)",
          );
        }
        return this.#locked(() => go(req.rrfile));
      }
      case "snapshot": {
        const s = this.#snapshots;
        if (!s) {
          throw new Error(
            "Cannot use named snapshots here: deja is neither recording nor replaying (savevm, loadvm, delvm need -icount rr=record or rr=replay)",
          );
        }
        switch (req.action) {
          case "save":
            return this.#locked(() => s.save(req.name));
          case "load":
            return { icount: this.#locked(() => s.load(req.name)) };
          case "delete":
            s.delete(req.name);
            return "";
          case "list":
            return s.list();
        }
        return null;
      }
      case "reverse":
        if (!this.#reverser) {
          throw new Error(
            "Cannot run backwards: deja is not replaying (reverse execution needs -icount rr=replay)",
          );
        }
        return true;
      case "resume":
      case "quit":
        return true;
    }
  }
}

/**
 * The main thread's side: asks the worker to pause, sends requests while it
 * is paused, and sets the replay breakpoint.
 */
export class DebugLink {
  /** The shared buffer, for the worker's {@linkcode DebugAgent}. */
  readonly buffer: SharedArrayBuffer;
  readonly #ctl: Int32Array;
  readonly #breakAt: Float64Array;
  readonly #data: Uint8Array;
  #chain: Promise<unknown> = Promise.resolve();
  #paused = false;
  #waiters: {
    resolve: (m: DebugStopMessage) => void;
    reject: (err: Error) => void;
  }[] = [];
  /** Called with every pause the worker reports. */
  onStop: ((m: DebugStopMessage) => void) | undefined;
  /** The worker is gone: requests fail instead of waiting. */
  #closed = false;

  /** Make a link with a fresh shared buffer. */
  constructor() {
    this.buffer = new SharedArrayBuffer(DEBUG_LINK_BYTES);
    this.#ctl = new Int32Array(this.buffer, 0, CTL_BYTES / 4);
    this.#breakAt = new Float64Array(this.buffer, BREAK_AT, 1);
    this.#breakAt[0] = -1;
    this.#data = new Uint8Array(this.buffer, DATA, DATA_BYTES);
  }

  /** Whether the worker is paused (serving requests). */
  get paused(): boolean {
    return this.#paused;
  }

  /** The replay breakpoint's instruction count, or -1. */
  get breakAt(): number {
    return this.#breakAt[0]!;
  }
  set breakAt(icount: number) {
    this.#breakAt[0] = icount;
  }

  /**
   * Take a message from the worker; true if it was the link's.
   *
   * @param m the message
   * @returns whether it was a `debug-stop`
   */
  message(m: { type: string }): boolean {
    if (m.type !== "debug-stop") return false;
    const s = m as DebugStopMessage;
    this.#paused = true;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f.resolve(s);
    this.onStop?.(s);
    return true;
  }

  /**
   * Ask the worker to pause at its next checkpoint (or, while it single
   * steps, at the next instruction).
   *
   * @returns the pause, once the worker reports it
   */
  pause(): Promise<DebugStopMessage> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot pause the machine: it ended"));
    }
    const p = new Promise<DebugStopMessage>((resolve, reject) =>
      this.#waiters.push({ resolve, reject })
    );
    Atomics.store(this.#ctl, PAUSE, 1);
    return p;
  }

  /** The worker ended: fail what waits. */
  close(): void {
    this.#closed = true;
    this.#paused = false;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) {
      f.reject(new Error("Cannot pause the machine: it ended"));
    }
  }

  /**
   * Send a request to the paused worker.
   *
   * @param req the request
   * @returns its reply
   * @throws {Error} if the worker is not paused or ended
   */
  request(req: DebugRequest): Promise<unknown> {
    const next = this.#chain.then(() => this.#request(req));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #request(req: DebugRequest): Promise<unknown> {
    if (this.#closed) throw new Error("Cannot reach the machine: it ended");
    if (!this.#paused) {
      throw new Error("Cannot reach the machine: it is running");
    }
    const bytes = enc.encode(JSON.stringify(req));
    if (bytes.length > HALF) throw new Error("Cannot send: request too large");
    const ctl = this.#ctl;
    this.#data.set(bytes, 0);
    Atomics.store(ctl, REQ_LEN, bytes.length);
    const seq = (Atomics.load(ctl, REQ_SEQ) + 1) | 0;
    if (req.op === "resume" || req.op === "quit") this.#paused = false;
    Atomics.store(ctl, REQ_SEQ, seq);
    Atomics.notify(ctl, REQ_SEQ);
    while (Atomics.load(ctl, REP_SEQ) !== seq) {
      const r = Atomics.waitAsync(
        ctl,
        REP_SEQ,
        Atomics.load(ctl, REP_SEQ),
        200,
      );
      if (r.async) await r.value;
      if (this.#closed) throw new Error("Cannot reach the machine: it ended");
    }
    const len = Atomics.load(ctl, REP_LEN);
    const reply = JSON.parse(
      dec.decode(this.#data.slice(HALF, HALF + len)),
    ) as unknown;
    if (reply && typeof reply === "object" && "error" in reply) {
      throw new Error(String((reply as { error: unknown }).error));
    }
    return reply;
  }
}
