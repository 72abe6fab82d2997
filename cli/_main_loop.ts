// Internal: the main loop's side of the replay mutex.
//
// Host input (stdin bytes, the quit request) arrives here whenever the host
// likes and is queued. It reaches the vCPU only at a checkpoint: the main
// loop takes the replay mutex (the vCPU gives it up at the end of each run
// slice, and the ticket lock serves the main loop before the vCPU's next
// period), moves the queue into the input ring, and lets go. The vCPU takes
// the ring's contents when it next holds the mutex, at an exact instruction
// count, which the log records. Stopping the machine is holding the mutex:
// the vCPU then waits at its next checkpoint.

import { ReplayMutex } from "../replay/mutex.ts";
import type { MonitorTarget } from "./monitor.ts";
import type { InputRing } from "./_input_ring.ts";
import { MAIN_LOOP_OWNER, VcpuStatus } from "./_protocol.ts";

/** Settings that `info replay` shows. */
export interface MainLoopInfo {
  /** Record/replay mode, if any. */
  rr: "record" | "replay" | undefined;
  /** The log file. */
  rrfile: string | undefined;
}

/** The main loop's checkpoints, and the monitor's target. */
export class MainLoop implements MonitorTarget {
  readonly mutex: ReplayMutex;
  readonly status: VcpuStatus;
  readonly #ring: InputRing;
  #info: MainLoopInfo;
  #queue: Uint8Array[] = [];
  #stopped = false;
  #quit = false;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();
  #flushScheduled = false;

  constructor(ring: InputRing, info: MainLoopInfo) {
    this.mutex = new ReplayMutex(undefined, { owner: MAIN_LOOP_OWNER });
    this.status = new VcpuStatus();
    this.#ring = ring;
    this.#info = info;
  }

  /** Whether the machine is stopped (the main loop holds the mutex). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Run `op` after the main loop's earlier operations, one at a time. */
  #serial<T>(op: () => Promise<T> | T): Promise<T> {
    const next = this.#chain.then(op);
    this.#chain = next.then(() => {}, () => {});
    return next;
  }

  /** Run `op` at a checkpoint: with the mutex held. */
  #atCheckpoint<T>(op: () => T): Promise<T> {
    return this.#serial(async () => {
      if (this.#stopped || this.#closed) return op();
      await this.mutex.lockAsync();
      try {
        return op();
      } finally {
        this.mutex.unlock();
      }
    });
  }

  /** Queue host input for the guest; it goes in at the next checkpoint. */
  input(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.#quit) return;
    this.#queue.push(bytes.slice());
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#stopped || this.#closed) return;
    this.#flushScheduled = true;
    this.#atCheckpoint(() => {
      this.#flushScheduled = false;
      this.#deliver();
    }).then(() => {
      // The ring was full: offer the rest a little later.
      if (this.#queue.length > 0 && !this.#flushScheduled) {
        this.#flushScheduled = true;
        setTimeout(() => {
          this.#flushScheduled = false;
          this.#scheduleFlush();
        }, 5);
      }
    });
  }

  /** Move queued input into the ring; the caller holds the mutex. */
  #deliver(): void {
    this.mutex.assertHeld("deliver host input");
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = this.#ring.put(head);
      if (n < head.length) {
        this.#queue[0] = head.subarray(n);
        return;
      }
      this.#queue.shift();
    }
  }

  /** Take the mutex and keep it: the vCPU stops at its next checkpoint. */
  stop(): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped || this.#closed) return;
      await this.mutex.lockAsync();
      this.#stopped = true;
    });
  }

  /** Deliver what was typed meanwhile, and let the vCPU go on. */
  cont(): Promise<void> {
    return this.#serial(() => {
      if (!this.#stopped) return;
      this.#deliver();
      this.#stopped = false;
      this.mutex.unlock();
      this.#scheduleFlush();
    });
  }

  /** Ask the vCPU to end the run at its next checkpoint. */
  quit(): Promise<void> {
    this.#quit = true;
    this.#queue = [];
    return this.#atCheckpoint(() => this.#ring.requestQuit()).then(() =>
      this.cont()
    );
  }

  /**
   * The text of `info replay`, read under the mutex.
   *
   * @param stopped whether the machine is stopped otherwise (a debugger's
   *   pause)
   */
  infoReplay(stopped = false): Promise<string> {
    return this.#atCheckpoint(() => {
      const s = this.status;
      const { rr, rrfile } = this.#info;
      const state = this.#stopped || stopped
        ? "stopped"
        : s.state === 2
        ? "finished"
        : s.state === 1
        ? "idle"
        : "running";
      if (rr === undefined) {
        return `Record/replay is not active; instruction ${s.icount}, ${state}`;
      }
      const what = rr === "record" ? "Recording to" : "Replaying from";
      return `${what} ${rrfile}: instruction ${s.icount}, log byte ${s.logOffset}, ${state}`;
    });
  }

  /**
   * The run's record/replay mode changed (a replay went live).
   *
   * @param info the new mode and log
   */
  setInfo(info: MainLoopInfo): void {
    this.#info = info;
  }

  /** The worker is gone: never wait for the mutex again. */
  close(): void {
    this.#closed = true;
  }
}
