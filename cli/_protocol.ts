// Internal: messages between the main loop and the vCPU worker.

import type { ReplayConfig } from "../replay/log.ts";

/** Record or replay settings for the worker (`-icount rr=...`). */
export type RrStart =
  | { mode: "record"; path: string; config: ReplayConfig; rrcheck: number }
  | { mode: "replay"; path: string; log: Uint8Array };

/** Main loop to worker. */
export type ToWorker = {
  type: "start";
  inputBuffer: SharedArrayBuffer;
  memoryBytes: number;
  bios?: Uint8Array | "none";
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  dtb?: Uint8Array;
  append?: string;
  shift: number;
  sleep: boolean;
  noReboot: boolean;
  rr?: RrStart;
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
  | { type: "error"; message: string; name: string };
