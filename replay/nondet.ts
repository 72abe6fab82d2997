/**
 * The nondeterministic inputs of a machine: everything that affects the
 * guest and does not come from the guest. In record mode the machine reports
 * each one, stamped with the instruction count at which it took effect; in
 * replay mode it takes them from a source instead of from the host, at the
 * same instruction counts.
 *
 * Because every device runs with the vCPU, this list is short: serial input
 * as it enters the UART FIFO, clock warps of an idle hart that followed real
 * time, the host wall-clock reading of the RTC, and how the run ended.
 * Interrupts, timer expiries and device output are consequences of these and
 * of the guest's own instructions, so they are never logged.
 *
 * @module
 */

import type { ExitStatus } from "../devices/virt.ts";

/** One nondeterministic input, at the instruction count it took effect. */
export type NondetEvent =
  | {
    /** Bytes that entered the UART receive FIFO. */
    kind: "serial";
    /** Instruction count at which they entered. */
    icount: number;
    /** The bytes. */
    bytes: Uint8Array;
  }
  | {
    /** An idle hart's clock moved by real time (`sleep=on`). */
    kind: "warp";
    /** Instruction count at which it moved. */
    icount: number;
    /** The clock's bias afterwards, in virtual ns. */
    bias: number;
  }
  | {
    /** The RTC read the host's wall clock. */
    kind: "host-clock";
    /** Instruction count of the reading. */
    icount: number;
    /** Nanoseconds since the epoch. */
    ns: bigint;
  }
  | {
    /** Host entropy the guest sees (the FDT's `rng-seed`). */
    kind: "random";
    /** Instruction count at which it was taken. */
    icount: number;
    /** The bytes. */
    bytes: Uint8Array;
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
    /**
     * A plugin's replay event (a declared kind with its codec): host data
     * that a device took at this instruction.
     */
    kind: "plugin";
    /** Instruction count at which the device took it. */
    icount: number;
    /** The event kind, as the plugin declares it in `produces`. */
    event: string;
    /** The value, encoded by the kind's codec. */
    payload: Uint8Array;
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
