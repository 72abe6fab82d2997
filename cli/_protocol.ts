// Internal: messages between the main loop and the vCPU worker.

import type { ReplayConfig } from "../replay/log.ts";
import type { DebugStopMessage } from "./debug_link.ts";

/** Record or replay settings for the worker (`-icount rr=...`). */
export type RrStart =
  | {
    mode: "record";
    path: string;
    config: ReplayConfig;
    rrcheck: number;
    /** `rrsnapshot=NAME`: snapshot NAME as the recording starts. */
    rrsnapshot?: string;
  }
  | {
    mode: "replay";
    path: string;
    log: Uint8Array;
    /** `rrsnapshot=NAME`: start the replay from snapshot NAME. */
    rrsnapshot?: string;
  };

/** Main loop to worker. */
export type ToWorker = {
  type: "start";
  inputBuffer: SharedArrayBuffer;
  /** The replay mutex (replay/mutex.ts); the worker is owner 2. */
  mutexBuffer: SharedArrayBuffer;
  /** The vCPU's published status ({@linkcode VcpuStatus}). */
  statusBuffer: SharedArrayBuffer;
  memoryBytes: number;
  bios?: Uint8Array | "none";
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  dtb?: Uint8Array;
  append?: string;
  shift: number;
  /**
   * `-icount shift=auto`: `shift` is 0, and at each checkpoint the clock
   * catches up with the real time the machine has run, by a logged warp.
   */
  autoShift?: boolean;
  sleep: boolean;
  noReboot: boolean;
  rr?: RrStart;
  /** The debuggers' link (cli/debug_link.ts), with -gdb or -qmp. */
  debugBuffer?: SharedArrayBuffer;
  /**
   * A replay without -gdb/-qmp: time travel keeps only the start until the
   * monitor first pauses the machine (plain replays run at full speed).
   */
  lazyTimeTravel?: boolean;
  /**
   * virtio devices in command-line order; the worker opens the drives
   * (synchronous reads on its thread), with an overlay under record and
   * replay.
   */
  virtio?: WorkerVirtio[];
  /** virtio-mmio version 1 (legacy, the default) rather than 2. */
  virtioLegacy?: boolean;
  /**
   * With socket netdevs or hostfwd=: frames from their peers, framed as
   * [u8 virtio index][u32 LE length][frame] in an `InputRing` (the main
   * loop wakes the worker through the input ring); an index with bit 7 set
   * carries a forwarded connection's event instead of a frame:
   * [u8 op (0 open, 1 data, 2 close)][u32 LE conn][u16 LE guest port | data].
   */
  netBuffer?: SharedArrayBuffer;
};

/** A virtio device for the worker to create. */
export type WorkerVirtio =
  | {
    kind: "blk";
    file: string;
    format: "raw" | "qcow2";
    readonly: boolean;
    snapshot: boolean;
    /** Size and SHA-256 of the file, under record and replay. */
    identity?: { size: number; sha256: string };
  }
  | { kind: "rng" }
  | {
    kind: "net";
    /** The MAC address, if given. */
    mac?: number[];
    /** The user network's TFTP directory. */
    tftp?: string;
    /**
     * A socket netdev: the guest's frames go to the main loop as `net-tx`
     * messages, and its peer's come through `netBuffer`.
     */
    socket?: true;
    /**
     * The user network forwards host ports: the main loop's connections
     * reach it through `netBuffer` and its answers leave as `net-host`.
     */
    hostfwd?: true;
  };

/** Worker to main loop. */
export type ToMain =
  | { type: "output"; bytes: Uint8Array }
  | {
    type: "exit";
    reason: "poweroff" | "reset" | "quit" | "trap-loop" | "replay-end";
    code: number;
    icount: number;
    detail?: string;
  }
  | { type: "error"; message: string; name: string }
  | { type: "plugin-output"; lines: string[] }
  | { type: "plugins-ready" }
  /** A frame the guest sent on the socket netdev of virtio device `index`. */
  | { type: "net-tx"; index: number; frame: Uint8Array }
  /**
   * The guest sent `data` on forwarded connection `conn` of the user
   * network of virtio device `index`, or closed it (`close`: "fin" when it
   * finished sending, "reset" when it refused or aborted it).
   */
  | {
    type: "net-host";
    index: number;
    conn: number;
    data?: Uint8Array;
    close?: "fin" | "reset";
  }
  | DebugStopMessage;

/** Owner id of the main loop on the replay mutex. */
export const MAIN_LOOP_OWNER = 1;
/** Owner id of the vCPU worker on the replay mutex. */
export const VCPU_OWNER = 2;

/**
 * What the vCPU publishes at each checkpoint, for the monitor's `info`:
 * written by the worker while it holds the replay mutex, read by the main
 * loop while it holds it, so the fields agree with each other.
 */
export class VcpuStatus {
  readonly buffer: SharedArrayBuffer;
  readonly #f: Float64Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(4 * 8);
    this.#f = new Float64Array(this.buffer);
  }

  /** Instructions retired at the last checkpoint. */
  get icount(): number {
    return this.#f[0]!;
  }
  set icount(v: number) {
    this.#f[0] = v;
  }

  /** Byte offset in the replay log (written or read so far). */
  get logOffset(): number {
    return this.#f[1]!;
  }
  set logOffset(v: number) {
    this.#f[1] = v;
  }

  /** Checkpoints passed (vCPU periods ended). */
  get checkpoints(): number {
    return this.#f[2]!;
  }
  set checkpoints(v: number) {
    this.#f[2] = v;
  }

  /** 0 running, 1 idle (waiting in wfi), 2 finished. */
  get state(): number {
    return this.#f[3]!;
  }
  set state(v: number) {
    this.#f[3] = v;
  }
}
