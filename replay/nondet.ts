/**
 * The nondeterministic inputs of a machine, as the replay layer sees them:
 * every input the machine reported (`devices/events.ts`: serial input, the
 * host clock, entropy, clock warps, plugin events, each a registered kind
 * with a codec), and how the run ended. In record mode the machine reports
 * each one, stamped with the instruction count at which it took effect; in
 * replay mode it takes them from a source instead of from the host, at the
 * same instruction counts.
 *
 * Because every device runs with the vCPU, this list is short. Interrupts,
 * timer expiries and device output are consequences of these and of the
 * guest's own instructions, so they are never logged.
 *
 * @module
 */

import type { ExitStatus } from "../devices/events.ts";

/** One nondeterministic input or end of a run, at its instruction count. */
export type NondetEvent =
  | {
    /**
     * An input of a registered kind (`devices/events.ts`): the core's own
     * (`serial`, `host-clock`, `random`, `warp`) or a plugin's.
     */
    kind: "input";
    /** Instruction count at which it took effect. */
    icount: number;
    /** The kind's name. */
    event: string;
    /** The value, encoded by the kind's codec. */
    payload: Uint8Array;
  }
  | {
    /** The guest powered off or reset, or got stuck. */
    kind: "shutdown";
    /** Instruction count at which it happened. */
    icount: number;
    /** How. */
    status: ExitStatus;
  }
  | {
    /** The recording stopped here (the user quit). */
    kind: "end";
    /** Instruction count at which it stopped. */
    icount: number;
  };

/** Where a replaying machine takes its inputs from. */
export interface NondetSource {
  /**
   * Look at the next event.
   *
   * @returns the next event without taking it, or undefined at the end
   */
  peek(): NondetEvent | undefined;
  /**
   * Take the next event.
   *
   * @returns the next event, or undefined at the end
   */
  take(): NondetEvent | undefined;
  /**
   * Where the source is, for a machine snapshot to come back to (optional:
   * a source without it cannot go back).
   *
   * @returns the position (opaque)
   */
  mark?(): unknown;
  /**
   * Go back to a position from {@linkcode NondetSource.mark}.
   *
   * @param at the position
   */
  seek?(at: unknown): void;
}

/**
 * A source over an array of events.
 *
 * @param events the events, in order
 * @returns a source that hands them out one by one
 * @example Replay two events
 * ```ts
 * import { arraySource } from "./nondet.ts";
 * const src = arraySource([{ kind: "end", icount: 10 }]);
 * if (src.peek()?.kind !== "end" || src.take()?.icount !== 10) throw new Error("unreachable");
 * ```
 */
export function arraySource(events: readonly NondetEvent[]): NondetSource {
  let i = 0;
  return {
    peek: () => events[i],
    take: () => events[i++],
    mark: () => i,
    seek: (at) => void (i = at as number),
  };
}

/**
 * The replay left the recording: the guest did not do what it did when it
 * was recorded. Carries the instruction count where that showed.
 */
export class ReplayDivergenceError extends Error {
  /** Instruction count at which the divergence was detected. */
  readonly icount: number;

  /**
   * Create the error.
   *
   * @param icount where the divergence showed
   * @param detail what differed
   */
  constructor(icount: number, detail: string) {
    super(`Replay diverged at instruction ${icount}: ${detail}`);
    this.name = "ReplayDivergenceError";
    this.icount = icount;
  }
}
