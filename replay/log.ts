/**
 * The replay log: QEMU 7.2's record/replay byte format, a crash-safe writer
 * and a strict reader.
 *
 * ## Layout
 *
 * A log is a 12-byte header, then events. The header is the format version
 * (u32, {@linkcode REPLAY_VERSION}) and a reserved u64 that is 0. Each event
 * is a one-byte id (see {@linkcode REPLAY_EVENT_ID}) and the fields of that
 * kind. Integers are big-endian; an array is a u32 length and that many bytes.
 * These are the layouts of QEMU 7.2 (`replay/replay-internal.h`, format
 * version 0xe0200c), so a log that QEMU recorded reads here unchanged.
 *
 * Instructions are not logged one by one. `EVENT_INSTRUCTION` holds how many
 * were executed since the previous instruction event, and every other event
 * takes effect at the running total: its absolute instruction count (icount).
 * The reader annotates each event with that total.
 *
 * ## How deja differs from QEMU
 *
 * - **Header first.** QEMU seeks past the header when it starts recording and
 *   writes the version only in its exit handler, so a QEMU that is killed
 *   leaves a log whose version is 0, which QEMU then refuses to replay.
 *   {@linkcode ReplayLogWriter} writes the header before anything else and
 *   never seeks, so a log is readable however the recorder stopped.
 * - **Whole events.** QEMU writes an event byte by byte through stdio, so a
 *   killed QEMU leaves half an event at the end. The writer encodes each event
 *   (with the instruction count that positions it) into one buffer and hands
 *   it to the sink in one call, so a log ends on an event boundary.
 * - **No end marker needed.** A log without `EVENT_END` is a recording that
 *   was cut short. The reader returns every complete event and then throws
 *   {@linkcode ReplayLogTruncatedError}, which tells where it was cut and at
 *   what icount, so a replay can run up to that point.
 * - **deja's own events** use ids from 0xc0 up, far from QEMU's range (0x00 to
 *   0x27 in 7.2), so new QEMU ids cannot collide with them. QEMU and its
 *   `scripts/replay-dump.py` stop at the first of these ids.
 *   - `EVENT_DEJA_CONFIG`: the machine the log was recorded on, as UTF-8 JSON
 *     ({@linkcode ReplayConfig}). If present it is the first event.
 *   - `EVENT_DEJA_STATE_HASH`: a SHA-256 of the machine state at an icount,
 *     so that a replay can tell where it diverged.
 *   - `EVENT_DEJA_SERIAL_INPUT`: bytes that entered a UART's receive FIFO.
 *     QEMU's `EVENT_ASYNC_CHAR_READ` has the same fields (a device index and
 *     an array) but another meaning: QEMU's character backends run in the
 *     main loop, queue the input, and deliver it at the next checkpoint,
 *     so the event is bound to that checkpoint. deja's devices run with the
 *     vCPU and take input between two instructions, so the event is bound to
 *     its icount alone. A separate id keeps the two from being confused;
 *     `EVENT_ASYNC_CHAR_READ` still reads, for QEMU's logs.
 *   - Plugin events: a replay event of a kind that a plugin declares
 *     (`produces`) and brings a codec for. The log gives each kind an id of
 *     its own, from 0xd0 up in order of first use: an
 *     `EVENT_DEJA_PLUGIN_KIND` event binds the id to the kind's name (UTF-8)
 *     just before the kind's first event, and each event is then that id
 *     and the codec's bytes (an array). The binding travels with the log, so
 *     the same plugin may get another id in another log; a replay refuses a
 *     log whose kinds no loaded plugin brings.
 *
 * @module
 */

/** Format version in the header: QEMU 7.2's `REPLAY_VERSION`. */
export const REPLAY_VERSION = 0xe0200c;

/** Size of the header in bytes: the version (u32) and a reserved u64. */
export const REPLAY_HEADER_SIZE = 12;

/**
 * Event ids. Those up to `END` are QEMU 7.2's `enum ReplayEvents`; a group
 * (async events, shutdown causes, clocks, checkpoints) is a first id plus the
 * kind, and the `*_LAST` entries close each group as QEMU does. The `DEJA_*`
 * ids are deja's own.
 *
 * @example Look up an id
 * ```ts
 * import { REPLAY_EVENT_ID } from "./log.ts";
 * console.log(REPLAY_EVENT_ID.CLOCK_HOST.toString(16)); // "1c"
 * ```
 */
export const REPLAY_EVENT_ID = {
  /** Instructions executed since the previous one: u32 count. */
  INSTRUCTION: 0x00,
  /** The hart took an interrupt. */
  INTERRUPT: 0x01,
  /** The hart took an exception. */
  EXCEPTION: 0x02,
  /** First async event id: `ASYNC + kind`. */
  ASYNC: 0x03,
  /** Bottom half ran: u64 id. */
  ASYNC_BH: 0x03,
  /** One-shot bottom half ran: u64 id. */
  ASYNC_BH_ONESHOT: 0x04,
  /** Keyboard or mouse input: u32 kind, then 9 to 32 bytes by kind. */
  ASYNC_INPUT: 0x05,
  /** Input synchronization. */
  ASYNC_INPUT_SYNC: 0x06,
  /** Character device input: u8 device, array. */
  ASYNC_CHAR_READ: 0x07,
  /** Block request completed: u64 id. */
  ASYNC_BLOCK: 0x08,
  /** Network packet: u8 device, u32 flags, array. */
  ASYNC_NET: 0x09,
  /** Last async event id. */
  ASYNC_LAST: 0x09,
  /** Shutdown request; also the first shutdown id: `SHUTDOWN + cause`. */
  SHUTDOWN: 0x0a,
  /** Shutdown: host error. */
  SHUTDOWN_HOST_ERROR: 0x0b,
  /** Shutdown: QMP `quit`. */
  SHUTDOWN_HOST_QMP_QUIT: 0x0c,
  /** Shutdown: QMP `system_reset`. */
  SHUTDOWN_HOST_QMP_SYSTEM_RESET: 0x0d,
  /** Shutdown: host signal (QEMU writes this at exit). */
  SHUTDOWN_HOST_SIGNAL: 0x0e,
  /** Shutdown: user interface. */
  SHUTDOWN_HOST_UI: 0x0f,
  /** Shutdown: the guest powered off. */
  SHUTDOWN_GUEST_SHUTDOWN: 0x10,
  /** Shutdown: the guest reset. */
  SHUTDOWN_GUEST_RESET: 0x11,
  /** Shutdown: the guest panicked. */
  SHUTDOWN_GUEST_PANIC: 0x12,
  /** Shutdown: subsystem reset. */
  SHUTDOWN_SUBSYSTEM_RESET: 0x13,
  /** Shutdown: snapshot load. */
  SHUTDOWN_SNAPSHOT_LOAD: 0x14,
  /** `SHUTDOWN + SHUTDOWN_CAUSE__MAX`: reserved by QEMU, never written. */
  SHUTDOWN_LAST: 0x15,
  /** Character device write: i32 result, i32 offset. */
  CHAR_WRITE: 0x16,
  /** Character device read initiated by QEMU: array. */
  CHAR_READ_ALL: 0x17,
  /** That read failed: i32 error. */
  CHAR_READ_ALL_ERROR: 0x18,
  /** Audio output: u64 samples played. */
  AUDIO_OUT: 0x19,
  /** Audio input: u64 recorded, u64 wpos, recorded × (u64 left, u64 right). */
  AUDIO_IN: 0x1a,
  /** Host random bytes: i32 result, array. */
  RANDOM: 0x1b,
  /** First clock id: `CLOCK + clock`. */
  CLOCK: 0x1c,
  /** Host clock read: i64 ns. */
  CLOCK_HOST: 0x1c,
  /** Virtual real-time clock read: i64 ns. */
  CLOCK_VIRTUAL_RT: 0x1d,
  /** Last clock id. */
  CLOCK_LAST: 0x1d,
  /** First checkpoint id: `CHECKPOINT + checkpoint`. */
  CHECKPOINT: 0x1e,
  /** Checkpoint: clock warp start. */
  CP_CLOCK_WARP_START: 0x1e,
  /** Checkpoint: clock warp account. */
  CP_CLOCK_WARP_ACCOUNT: 0x1f,
  /** Checkpoint: reset requested. */
  CP_RESET_REQUESTED: 0x20,
  /** Checkpoint: suspend requested. */
  CP_SUSPEND_REQUESTED: 0x21,
  /** Checkpoint: virtual clock timers. */
  CP_CLOCK_VIRTUAL: 0x22,
  /** Checkpoint: host clock timers. */
  CP_CLOCK_HOST: 0x23,
  /** Checkpoint: virtual real-time clock timers. */
  CP_CLOCK_VIRTUAL_RT: 0x24,
  /** Checkpoint: machine initialized. */
  CP_INIT: 0x25,
  /** Checkpoint: machine reset. */
  CP_RESET: 0x26,
  /** Last checkpoint id. */
  CHECKPOINT_LAST: 0x26,
  /** End of the log. */
  END: 0x27,
  /** Number of QEMU event ids (`EVENT_COUNT`). */
  COUNT: 0x28,
  /** deja: the machine configuration, an array of UTF-8 JSON. */
  DEJA_CONFIG: 0xc0,
  /**
   * deja: a hash of the machine state: u64 icount, u8 parts (bits of
   * {@linkcode STATE_HASH_PART}), then a 16-byte hash per part, in bit order.
   */
  DEJA_STATE_HASH: 0xc1,
  /** deja: bytes into a UART's receive FIFO: u8 device, array. */
  DEJA_SERIAL_INPUT: 0xc2,
  /**
   * deja: gives a plugin's replay event kind its id in this log: u8 id
   * (`DEJA_PLUGIN_FIRST` to `DEJA_PLUGIN_LAST`), array kind name (UTF-8).
   * The writer puts it just before the kind's first event.
   */
  DEJA_PLUGIN_KIND: 0xc3,
  /**
   * deja: the guest's exit code (i32), written just before the
   * `EVENT_SHUTDOWN_GUEST_*` event it belongs to.
   */
  DEJA_EXIT_STATUS: 0xc4,
  /**
   * deja: first id for plugin replay events, each with an array payload
   * (the kind's codec's bytes). An id means the kind that an earlier
   * `EVENT_DEJA_PLUGIN_KIND` bound to it.
   */
  DEJA_PLUGIN_FIRST: 0xd0,
  /** deja: last id for plugin replay events: a log holds up to 48 kinds. */
  DEJA_PLUGIN_LAST: 0xff,
} as const;

/**
 * Bits of a state hash's `parts`: which parts of the machine it covers. The
 * hashes follow in this order.
 *
 * @example A hash of the integer registers and RAM
 * ```ts
 * import { STATE_HASH_PART } from "./log.ts";
 * const parts = STATE_HASH_PART.XREGS | STATE_HASH_PART.RAM;
 * console.log(parts); // 3
 * ```
 */
export const STATE_HASH_PART = {
  /** Guest RAM. */
  RAM: 1,
  /** The integer registers and the pc. */
  XREGS: 2,
  /** The floating-point registers and `fcsr`. */
  FREGS: 4,
  /** The privilege level, the CSRs and the icount. */
  CSRS: 8,
  /** Device state (UART, CLINT, PLIC, RTC, virtual clock). */
  DEVICES: 16,
  /** All of them. */
  ALL: 31,
} as const;

/** The name of each state hash part, by bit number. */
export const STATE_HASH_PART_NAMES: readonly StateHashPart[] = [
  "ram",
  "xregs",
  "fregs",
  "csrs",
  "devices",
];

/** A part of the machine state that a state hash covers. */
export type StateHashPart = "ram" | "xregs" | "fregs" | "csrs" | "devices";

/** Size in bytes of the hash of one part. */
export const STATE_HASH_SIZE = 16;

/** Why the machine shut down: QEMU's `ShutdownCause`, in its order. */
export type ShutdownCause =
  | "none"
  | "host-error"
  | "host-qmp-quit"
  | "host-qmp-system-reset"
  | "host-signal"
  | "host-ui"
  | "guest-shutdown"
  | "guest-reset"
  | "guest-panic"
  | "subsystem-reset"
  | "snapshot-load";

/** A logged clock: QEMU's `ReplayClockKind`. */
export type ReplayClock = "host" | "virtual-rt";

/** A synchronization point: QEMU's `ReplayCheckpoint`. */
export type ReplayCheckpoint =
  | "clock-warp-start"
  | "clock-warp-account"
  | "reset-requested"
  | "suspend-requested"
  | "clock-virtual"
  | "clock-host"
  | "clock-virtual-rt"
  | "init"
  | "reset";

const SHUTDOWN_CAUSES: readonly ShutdownCause[] = [
  "none",
  "host-error",
  "host-qmp-quit",
  "host-qmp-system-reset",
  "host-signal",
  "host-ui",
  "guest-shutdown",
  "guest-reset",
  "guest-panic",
  "subsystem-reset",
  "snapshot-load",
];
const CLOCKS: readonly ReplayClock[] = ["host", "virtual-rt"];
const CHECKPOINTS: readonly ReplayCheckpoint[] = [
  "clock-warp-start",
  "clock-warp-account",
  "reset-requested",
  "suspend-requested",
  "clock-virtual",
  "clock-host",
  "clock-virtual-rt",
  "init",
  "reset",
];

/**
 * A keyboard or mouse event (QEMU's `InputEvent`), as `EVENT_ASYNC_INPUT`
 * stores it. `mtt` (multi-touch) came after QEMU 7.2 without a format version
 * change, so it is read too.
 */
export type ReplayInputEvent =
  | {
    /** A key, by number or by QEMU key code. */
    type: "key";
    /** The key. */
    key: { kind: "number"; number: bigint } | { kind: "qcode"; qcode: number };
    /** Pressed (true) or released. */
    down: boolean;
  }
  | {
    /** A mouse button. */
    type: "btn";
    /** QEMU's `InputButton`. */
    button: number;
    /** Pressed (true) or released. */
    down: boolean;
  }
  | {
    /** Relative or absolute pointer motion. */
    type: "rel" | "abs";
    /** QEMU's `InputAxis`. */
    axis: number;
    /** The motion. */
    value: bigint;
  }
  | {
    /** A multi-touch event. */
    type: "mtt";
    /** QEMU's `InputMultiTouchType`. */
    mttType: number;
    /** Touch slot. */
    slot: bigint;
    /** Tracking id. */
    trackingId: bigint;
    /** QEMU's `InputAxis`. */
    axis: number;
    /** The value. */
    value: bigint;
  };

/** One audio sample pair of `EVENT_AUDIO_IN`. */
export interface ReplayAudioSample {
  /** Left channel. */
  left: bigint;
  /** Right channel. */
  right: bigint;
}

/** An image the machine was started with. */
export interface ReplayImage {
  /** SHA-256 of the image, 64 lowercase hex digits. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/** A plugin the machine was built with. */
export interface ReplayPluginRef {
  /** The plugin's unique name. */
  name: string;
  /** The plugin's version. */
  version: string;
}

/**
 * The machine a log was recorded on (`EVENT_DEJA_CONFIG`). A replay checks it
 * against its own machine before it starts. Other keys are kept as they are.
 */
export interface ReplayConfig {
  /** Board name, such as `"virt"`. */
  board: string;
  /** RAM size in bytes. */
  ramSize: number;
  /** The firmware (`-bios`), or null for none. */
  firmware: ReplayImage | null;
  /** The kernel (`-kernel`), or null for none. */
  kernel: ReplayImage | null;
  /** Names of the devices on the board, in creation order. */
  devices: string[];
  /** Plugins, in registration order. */
  plugins: ReplayPluginRef[];
  /** Anything else the recorder keeps. */
  [key: string]: unknown;
}

/** A reader's position ({@linkcode ReplayLogReader.mark}); opaque. */
export interface ReplayLogMark {
  /** Byte offset of the next event. */
  readonly pos: number;
  /** Byte offset where the event being read started. */
  readonly start: number;
  /** Instruction count so far. */
  readonly icount: number;
  /** Events read so far. */
  readonly count: number;
  /** Whether `EVENT_END` was read. */
  readonly ended: boolean;
  /** The error the reader stopped at, if any. */
  readonly error: ReplayLogError | undefined;
  /** Plugin event kinds declared so far, by id. */
  readonly kinds: ReadonlyMap<number, string>;
}

/**
 * One event of a replay log, without its position. Integers that QEMU stores
 * as 64 bits are bigints; instruction counts are numbers.
 */
export type ReplayEvent =
  | {
    /** Instructions executed since the previous instruction event. */
    kind: "instruction";
    /** How many: 1 to 2^32 - 1. */
    count: number;
  }
  | {
    /** The hart took an interrupt. */
    kind: "interrupt";
  }
  | {
    /** The hart took an exception. */
    kind: "exception";
  }
  | {
    /** A bottom half (QEMU) ran. */
    kind: "async-bh" | "async-bh-oneshot";
    /** Its id: the icount at which it was scheduled. */
    id: bigint;
  }
  | {
    /** Keyboard or mouse input. */
    kind: "async-input";
    /** The input. */
    input: ReplayInputEvent;
  }
  | {
    /** Input synchronization. */
    kind: "async-input-sync";
  }
  | {
    /** Character device input delivered at a checkpoint (QEMU). */
    kind: "async-char-read";
    /** Index of the character device. */
    device: number;
    /** The bytes. */
    bytes: Uint8Array;
  }
  | {
    /** A block request completed. */
    kind: "async-block";
    /** Its id. */
    id: bigint;
  }
  | {
    /** A network packet arrived. */
    kind: "async-net";
    /** Index of the network filter. */
    device: number;
    /** Packet flags. */
    flags: number;
    /** The packet. */
    bytes: Uint8Array;
  }
  | {
    /** A shutdown request. */
    kind: "shutdown";
    /** Why. */
    cause: ShutdownCause;
  }
  | {
    /** A character device write. */
    kind: "char-write";
    /** What the write returned. */
    result: number;
    /** Offset in the output buffer. */
    offset: number;
  }
  | {
    /** A character device read that QEMU initiated. */
    kind: "char-read-all";
    /** The bytes. */
    bytes: Uint8Array;
  }
  | {
    /** That read failed. */
    kind: "char-read-all-error";
    /** The error code, negative. */
    error: number;
  }
  | {
    /** Audio output. */
    kind: "audio-out";
    /** Samples played. */
    played: bigint;
  }
  | {
    /** Audio input. */
    kind: "audio-in";
    /** Write position in the ring after the input. */
    wpos: bigint;
    /** The samples recorded. */
    samples: ReplayAudioSample[];
  }
  | {
    /** Random bytes from the host. */
    kind: "random";
    /** What the host call returned (0 for success). */
    result: number;
    /** The bytes. */
    bytes: Uint8Array;
  }
  | {
    /** A clock read. */
    kind: "clock";
    /** Which clock. */
    clock: ReplayClock;
    /** Its value in ns. */
    value: bigint;
  }
  | {
    /** A synchronization point. */
    kind: "checkpoint";
    /** Which one. */
    checkpoint: ReplayCheckpoint;
  }
  | {
    /** End of the log. */
    kind: "end";
  }
  | {
    /** deja: the machine configuration. */
    kind: "config";
    /** The configuration. */
    config: ReplayConfig;
  }
  | {
    /** deja: a hash of the machine state. */
    kind: "state-hash";
    /** The icount it was taken at; equals the log's icount there. */
    icount: number;
    /**
     * The hash of each part it covers ({@linkcode STATE_HASH_SIZE} bytes
     * each), in the order of {@linkcode STATE_HASH_PART_NAMES}.
     */
    hashes: { part: StateHashPart; hash: Uint8Array }[];
  }
  | {
    /** deja: bytes that entered a UART's receive FIFO at this icount. */
    kind: "serial-input";
    /** Index of the UART. */
    device: number;
    /** The bytes. */
    bytes: Uint8Array;
  }
  | {
    /**
     * deja: the id that this log gives a plugin event kind. A writer puts it
     * before the kind's first event by itself.
     */
    kind: "plugin-kind";
    /** The id, 0xd0 to 0xff. */
    id: number;
    /** The event kind, as the plugin declares it. */
    event: string;
  }
  | {
    /** deja: a plugin's replay event, taken by a device at this icount. */
    kind: "plugin-event";
    /** The event kind, as the plugin declares it. */
    event: string;
    /** The value, encoded by the kind's codec. */
    payload: Uint8Array;
  }
  | {
    /** deja: the exit code of the guest shutdown that follows. */
    kind: "exit-status";
    /** The code the guest gave (sifive_test or HTIF). */
    code: number;
  };

/** Where an event is in its log. */
export interface ReplayLogPosition {
  /** The event id byte. */
  readonly eventId: number;
  /**
   * Absolute instruction count at which the event takes effect. For an
   * instruction event, the count after adding its instructions.
   */
  readonly icount: number;
  /** Byte offset of the event id in the log. */
  readonly byteOffset: number;
  /** Size of the event in bytes, id included. */
  readonly size: number;
}

/** An event as the reader returns it: the event and its position. */
export type ReplayLogEntry = ReplayEvent & ReplayLogPosition;

/**
 * The replay log is malformed. The message names the byte offset and what
 * was expected there.
 *
 * @example Catch a bad log
 * ```ts
 * import { ReplayLogError, ReplayLogReader } from "./log.ts";
 * try {
 *   new ReplayLogReader(new Uint8Array(12).fill(0xff));
 * } catch (e) {
 *   if (!(e instanceof ReplayLogError) || e.offset !== 0) throw e;
 *   console.log(e.message);
 *   // Cannot read replay log: byte 0: version 0xffffffff is not supported; expected 0xe0200c
 * }
 * ```
 */
export class ReplayLogError extends SyntaxError {
  /** Byte offset in the log where the problem is. */
  readonly offset: number;

  /**
   * Create the error.
   *
   * @param offset the byte offset of the problem
   * @param detail what is wrong there, and what was expected
   * @param options the cause, if any
   */
  constructor(offset: number, detail: string, options?: ErrorOptions) {
    super(`Cannot read replay log: byte ${offset}: ${detail}`, options);
    this.name = "ReplayLogError";
    this.offset = offset;
  }
}

/**
 * The replay log ends early: the recorder stopped before it wrote
 * `EVENT_END`, or the log was cut. Every event before {@linkcode offset} was
 * complete, and they bring the instruction count to {@linkcode icount}, so a
 * replay can run up to there.
 *
 * @example Replay up to where the recording was cut
 * ```ts
 * import {
 *   ReplayLogReader,
 *   ReplayLogTruncatedError,
 *   ReplayLogWriter,
 * } from "./log.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new ReplayLogWriter({ write: (b) => chunks.push(b.slice()) });
 * w.instruction(500);
 * w.write({ kind: "clock", clock: "host", value: 1n });
 * // ... and the recorder is killed here.
 * const r = new ReplayLogReader(new Uint8Array(chunks.flatMap((c) => [...c])));
 * try {
 *   while (r.next() !== undefined);
 * } catch (e) {
 *   if (!(e instanceof ReplayLogTruncatedError)) throw e;
 *   console.log(e.icount); // 500
 * }
 * ```
 */
export class ReplayLogTruncatedError extends ReplayLogError {
  /** Instruction count reached by the complete events. */
  readonly icount: number;

  /**
   * Create the error.
   *
   * @param offset where the complete events end
   * @param icount the instruction count they reach
   * @param detail how the log ends
   */
  constructor(offset: number, icount: number, detail: string) {
    super(offset, detail);
    this.name = "ReplayLogTruncatedError";
    this.icount = icount;
  }
}

// ---------------------------------------------------------------------------
// Names

/**
 * The name of an event id, in the style of QEMU's `replay-dump.py`.
 *
 * @param id an event id byte
 * @returns the name, such as `"EVENT_CLOCK_HOST"`, or undefined if no event
 *   has that id
 *
 * @example Name two ids
 * ```ts
 * import { replayEventName } from "./log.ts";
 * console.log(replayEventName(0x25)); // "EVENT_CP_INIT"
 * console.log(replayEventName(0xc1)); // "EVENT_DEJA_STATE_HASH"
 * ```
 */
export function replayEventName(id: number): string | undefined {
  return NAMES.get(id);
}

const NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  const skip = new Set([
    "ASYNC",
    "ASYNC_LAST",
    "SHUTDOWN_LAST",
    "CLOCK",
    "CLOCK_LAST",
    "CHECKPOINT",
    "CHECKPOINT_LAST",
    "COUNT",
    "DEJA_PLUGIN_FIRST",
    "DEJA_PLUGIN_LAST",
  ]);
  for (const [key, id] of Object.entries(REPLAY_EVENT_ID)) {
    if (!skip.has(key)) names.set(id, `EVENT_${key}`);
  }
  for (
    let id = REPLAY_EVENT_ID.DEJA_PLUGIN_FIRST;
    id <= REPLAY_EVENT_ID.DEJA_PLUGIN_LAST;
    id++
  ) names.set(id, "EVENT_DEJA_PLUGIN");
  return names;
})();

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

const KNOWN_IDS = `${hex(0)}-${hex(REPLAY_EVENT_ID.SHUTDOWN_SNAPSHOT_LOAD)}, ` +
  `${hex(REPLAY_EVENT_ID.CHAR_WRITE)}-${hex(REPLAY_EVENT_ID.END)}, ` +
  `${hex(REPLAY_EVENT_ID.DEJA_CONFIG)}-${
    hex(REPLAY_EVENT_ID.DEJA_EXIT_STATUS)
  }, or a plugin event id (${hex(REPLAY_EVENT_ID.DEJA_PLUGIN_FIRST)}-${
    hex(REPLAY_EVENT_ID.DEJA_PLUGIN_LAST)
  }) that an EVENT_DEJA_PLUGIN_KIND declared`;

// ---------------------------------------------------------------------------
// Config validation, shared by the encoder and the reader

const SHA256_HEX = /^[0-9a-f]{64}$/;

function isSafeSize(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function imageProblem(name: string, v: unknown): string | undefined {
  if (v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    return `config field ${name}: expected an object or null`;
  }
  const image = v as Record<string, unknown>;
  if (typeof image.sha256 !== "string" || !SHA256_HEX.test(image.sha256)) {
    return `config field ${name}.sha256: expected 64 lowercase hex digits`;
  }
  if (!isSafeSize(image.size)) {
    return `config field ${name}.size: expected a non-negative integer`;
  }
  return undefined;
}

/** What is wrong with a configuration, or undefined if nothing. */
function configProblem(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return "config: expected a JSON object";
  }
  const c = v as Record<string, unknown>;
  if (typeof c.board !== "string" || c.board === "") {
    return "config field board: expected a non-empty string";
  }
  if (!isSafeSize(c.ramSize)) {
    return "config field ramSize: expected a non-negative integer";
  }
  const image = imageProblem("firmware", c.firmware) ??
    imageProblem("kernel", c.kernel);
  if (image !== undefined) return image;
  if (
    !Array.isArray(c.devices) ||
    !c.devices.every((d) => typeof d === "string")
  ) {
    return "config field devices: expected an array of strings";
  }
  if (
    !Array.isArray(c.plugins) ||
    !c.plugins.every((p: unknown) =>
      typeof p === "object" && p !== null &&
      typeof (p as Record<string, unknown>).name === "string" &&
      typeof (p as Record<string, unknown>).version === "string"
    )
  ) {
    return "config field plugins: expected an array of { name, version } strings";
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Encoding

const U32_MAX = 0xffff_ffff;
const I32_MIN = -0x8000_0000;
const I32_MAX = 0x7fff_ffff;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/**
 * The largest count one instruction event gets from the writer. QEMU reads
 * the count into an `int`, so the writer keeps it below 2^31.
 */
const WRITER_MAX_INSTRUCTIONS = I32_MAX;

class Encoder {
  #buf = new Uint8Array(64);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  #room(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      const bigger = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      bigger.set(this.#buf.subarray(0, at));
      this.#buf = bigger;
      this.#view = new DataView(bigger.buffer);
    }
    this.#len = at + n;
    return at;
  }

  u8(v: number): void {
    this.#view.setUint8(this.#room(1), v);
  }
  u32(v: number): void {
    this.#view.setUint32(this.#room(4), v);
  }
  i32(v: number): void {
    this.#view.setInt32(this.#room(4), v);
  }
  u64(v: bigint): void {
    this.#view.setBigUint64(this.#room(8), v);
  }
  i64(v: bigint): void {
    this.#view.setBigInt64(this.#room(8), v);
  }
  raw(bytes: Uint8Array): void {
    const at = this.#room(bytes.length);
    this.#buf.set(bytes, at);
  }
  array(bytes: Uint8Array): void {
    this.u32(bytes.length);
    this.raw(bytes);
  }
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function encodeFail(detail: string): never {
  throw new RangeError(`Cannot encode replay event: ${detail}`);
}

function typeFail(detail: string): never {
  throw new TypeError(`Cannot encode replay event: ${detail}`);
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    typeFail(`${name}: expected an integer, got ${typeof v}`);
  }
  if (v < min || v > max) {
    encodeFail(`${name} ${v} is out of range; expected ${min} to ${max}`);
  }
  return v;
}

function checkBig(name: string, v: unknown, min: bigint, max: bigint): bigint {
  if (typeof v !== "bigint") {
    typeFail(`${name}: expected a bigint, got ${typeof v}`);
  }
  if (v < min || v > max) {
    encodeFail(`${name} ${v} is out of range; expected ${min} to ${max}`);
  }
  return v;
}

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) typeFail(`${name}: expected a Uint8Array`);
  if (v.length > U32_MAX) encodeFail(`${name} is longer than 2^32 - 1 bytes`);
  return v;
}

function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== "boolean") typeFail(`${name}: expected a boolean`);
  return v;
}

function indexOf<T>(name: string, list: readonly T[], v: T): number {
  const i = list.indexOf(v);
  if (i < 0) typeFail(`${name} ${String(v)} is not one of ${list.join(", ")}`);
  return i;
}

const INPUT_TYPES = ["key", "btn", "rel", "abs", "mtt"] as const;

function encodeInput(enc: Encoder, input: ReplayInputEvent): void {
  if (typeof input !== "object" || input === null) {
    typeFail("input: expected an object");
  }
  enc.u32(indexOf("input type", INPUT_TYPES, input.type));
  switch (input.type) {
    case "key":
      if (input.key?.kind === "number") {
        enc.u32(0);
        enc.i64(checkBig("key number", input.key.number, I64_MIN, I64_MAX));
      } else if (input.key?.kind === "qcode") {
        enc.u32(1);
        enc.u32(checkInt("key qcode", input.key.qcode, 0, U32_MAX));
      } else {
        typeFail('key: expected kind "number" or "qcode"');
      }
      enc.u8(checkBool("key down", input.down) ? 1 : 0);
      return;
    case "btn":
      enc.u32(checkInt("button", input.button, 0, U32_MAX));
      enc.u8(checkBool("button down", input.down) ? 1 : 0);
      return;
    case "rel":
    case "abs":
      enc.u32(checkInt("axis", input.axis, 0, U32_MAX));
      enc.i64(checkBig("value", input.value, I64_MIN, I64_MAX));
      return;
    case "mtt":
      enc.u32(checkInt("mtt type", input.mttType, 0, U32_MAX));
      enc.i64(checkBig("slot", input.slot, I64_MIN, I64_MAX));
      enc.i64(checkBig("tracking id", input.trackingId, I64_MIN, I64_MAX));
      enc.u32(checkInt("axis", input.axis, 0, U32_MAX));
      enc.i64(checkBig("value", input.value, I64_MIN, I64_MAX));
      return;
  }
}

const utf8 = new TextEncoder();

function encodeInto(enc: Encoder, e: ReplayEvent): void {
  const ID = REPLAY_EVENT_ID;
  switch (e.kind) {
    case "instruction":
      enc.u8(ID.INSTRUCTION);
      enc.u32(checkInt("instruction count", e.count, 1, U32_MAX));
      return;
    case "interrupt":
      enc.u8(ID.INTERRUPT);
      return;
    case "exception":
      enc.u8(ID.EXCEPTION);
      return;
    case "async-bh":
    case "async-bh-oneshot":
    case "async-block":
      enc.u8(
        e.kind === "async-bh"
          ? ID.ASYNC_BH
          : e.kind === "async-bh-oneshot"
          ? ID.ASYNC_BH_ONESHOT
          : ID.ASYNC_BLOCK,
      );
      enc.u64(checkBig("id", e.id, 0n, U64_MAX));
      return;
    case "async-input":
      enc.u8(ID.ASYNC_INPUT);
      encodeInput(enc, e.input);
      return;
    case "async-input-sync":
      enc.u8(ID.ASYNC_INPUT_SYNC);
      return;
    case "async-char-read":
    case "serial-input":
      enc.u8(
        e.kind === "serial-input" ? ID.DEJA_SERIAL_INPUT : ID.ASYNC_CHAR_READ,
      );
      enc.u8(checkInt("device", e.device, 0, 0xff));
      enc.array(checkBytes("bytes", e.bytes));
      return;
    case "exit-status":
      enc.u8(ID.DEJA_EXIT_STATUS);
      enc.i32(checkInt("code", e.code, I32_MIN, I32_MAX));
      return;
    case "plugin-kind":
      enc.u8(ID.DEJA_PLUGIN_KIND);
      enc.u8(
        checkInt("id", e.id, ID.DEJA_PLUGIN_FIRST, ID.DEJA_PLUGIN_LAST),
      );
      enc.array(utf8.encode(checkKindName(e.event)));
      return;
    case "plugin-event":
      return typeFail(
        "a plugin event's id depends on the log: write it with a ReplayLogWriter, which declares its kind",
      );
    case "async-net":
      enc.u8(ID.ASYNC_NET);
      enc.u8(checkInt("device", e.device, 0, 0xff));
      enc.u32(checkInt("flags", e.flags, 0, U32_MAX));
      enc.array(checkBytes("bytes", e.bytes));
      return;
    case "shutdown":
      enc.u8(ID.SHUTDOWN + indexOf("cause", SHUTDOWN_CAUSES, e.cause));
      return;
    case "char-write":
      enc.u8(ID.CHAR_WRITE);
      enc.i32(checkInt("result", e.result, I32_MIN, I32_MAX));
      enc.i32(checkInt("offset", e.offset, I32_MIN, I32_MAX));
      return;
    case "char-read-all":
      enc.u8(ID.CHAR_READ_ALL);
      enc.array(checkBytes("bytes", e.bytes));
      return;
    case "char-read-all-error":
      enc.u8(ID.CHAR_READ_ALL_ERROR);
      enc.i32(checkInt("error", e.error, I32_MIN, I32_MAX));
      return;
    case "audio-out":
      enc.u8(ID.AUDIO_OUT);
      enc.u64(checkBig("played", e.played, 0n, U64_MAX));
      return;
    case "audio-in": {
      enc.u8(ID.AUDIO_IN);
      if (!Array.isArray(e.samples)) typeFail("samples: expected an array");
      enc.u64(BigInt(e.samples.length));
      enc.u64(checkBig("wpos", e.wpos, 0n, U64_MAX));
      for (const s of e.samples) {
        enc.u64(checkBig("left", s.left, 0n, U64_MAX));
        enc.u64(checkBig("right", s.right, 0n, U64_MAX));
      }
      return;
    }
    case "random":
      enc.u8(ID.RANDOM);
      enc.i32(checkInt("result", e.result, I32_MIN, I32_MAX));
      enc.array(checkBytes("bytes", e.bytes));
      return;
    case "clock":
      enc.u8(ID.CLOCK + indexOf("clock", CLOCKS, e.clock));
      enc.i64(checkBig("value", e.value, I64_MIN, I64_MAX));
      return;
    case "checkpoint":
      enc.u8(ID.CHECKPOINT + indexOf("checkpoint", CHECKPOINTS, e.checkpoint));
      return;
    case "end":
      enc.u8(ID.END);
      return;
    case "config": {
      const problem = configProblem(e.config);
      if (problem !== undefined) typeFail(problem);
      enc.u8(ID.DEJA_CONFIG);
      enc.array(utf8.encode(JSON.stringify(e.config)));
      return;
    }
    case "state-hash": {
      enc.u8(ID.DEJA_STATE_HASH);
      const icount = checkInt("icount", e.icount, 0, Number.MAX_SAFE_INTEGER);
      enc.u64(BigInt(icount));
      if (!Array.isArray(e.hashes) || e.hashes.length === 0) {
        typeFail("hashes: expected a non-empty array");
      }
      let mask = 0, last = -1;
      for (const h of e.hashes) {
        const bit = STATE_HASH_PART_NAMES.indexOf(h?.part);
        if (bit < 0) typeFail(`hash part ${String(h?.part)} is unknown`);
        if (bit <= last) typeFail("hashes: expected parts in order, once each");
        if (
          !(h.hash instanceof Uint8Array) || h.hash.length !== STATE_HASH_SIZE
        ) {
          typeFail(`hash of ${h.part}: expected ${STATE_HASH_SIZE} bytes`);
        }
        mask |= 1 << bit;
        last = bit;
      }
      enc.u8(mask);
      for (const h of e.hashes) enc.raw(h.hash);
      return;
    }
    default: {
      const kind: unknown = (e as { kind?: unknown }).kind;
      typeFail(`unknown event kind ${JSON.stringify(kind)}`);
    }
  }
}

function checkKindName(event: unknown): string {
  if (typeof event !== "string" || event === "") {
    typeFail("event: expected a non-empty kind name");
  }
  return event;
}

/**
 * Encode one event as it is stored in the log: the id byte and its fields.
 * A plugin event has no fixed id (its log gives its kind one), so only a
 * {@linkcode ReplayLogWriter} writes it.
 *
 * @param event the event
 * @returns the bytes
 * @throws {TypeError} if a field has the wrong type or the kind is unknown
 * @throws {RangeError} if a number does not fit its field
 *
 * @example A host clock read
 * ```ts
 * import { encodeEvent } from "./log.ts";
 * const bytes = encodeEvent({ kind: "clock", clock: "host", value: 0x1234n });
 * console.log(bytes); // Uint8Array(9) [ 28, 0, 0, 0, 0, 0, 0, 18, 52 ]
 * ```
 */
export function encodeEvent(event: ReplayEvent): Uint8Array {
  const enc = new Encoder();
  encodeInto(enc, event);
  return enc.finish();
}

// ---------------------------------------------------------------------------
// Writer

/**
 * Where a writer puts the log. Both calls are synchronous, so that the
 * recorder can write from the vCPU worker.
 */
export interface ReplayLogSink {
  /**
   * Store all of `bytes`, in order after what came before. The writer does
   * not touch `bytes` afterwards.
   */
  write(bytes: Uint8Array): void;
  /** Make what was written durable (fsync). */
  sync?(): void;
}

/** Options for {@linkcode ReplayLogWriter}. */
export interface ReplayLogWriterOptions {
  /**
   * Call the sink's `sync` after every event, not only at the end. Slower,
   * but then a power cut loses nothing that was written.
   *
   * @default {false}
   */
  syncEachEvent?: boolean;
  /**
   * Called at every entry point (each event, instruction count, sync and
   * end) before the log is touched; it throws when the caller may not
   * write now. The CLI passes the replay mutex's `assertHeld`, so that the
   * log is only ever written under the mutex (see `replay/mutex.ts`).
   *
   * @default {undefined}
   */
  assertHeld?: () => void;
}

/**
 * Writes a replay log to a sink, one complete event per `write` call.
 *
 * The header goes out in the constructor. Instruction counts are coalesced:
 * {@linkcode ReplayLogWriter.prototype.instruction} only adds to a pending
 * count, which goes out as an `EVENT_INSTRUCTION` in the same `write` call as
 * the next event, so a log cut between two calls still ends with a whole
 * event. If the sink throws, the writer stops: every later call throws.
 *
 * @example Record a clock read after 1000 instructions
 * ```ts
 * import { ReplayLogReader, ReplayLogWriter } from "./log.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new ReplayLogWriter({ write: (b) => chunks.push(b) });
 * w.instruction(600);
 * w.instruction(400);
 * w.write({ kind: "clock", clock: "host", value: 1_700_000_000_000_000_000n });
 * w.end();
 * console.log(chunks.length); // 3: the header, the clock read, the end
 * const r = new ReplayLogReader(new Uint8Array(chunks.flatMap((c) => [...c])));
 * console.log(r.next()); // { kind: "instruction", count: 1000, icount: 1000, ... }
 * console.log(r.next()?.kind); // "clock"
 * ```
 */
export class ReplayLogWriter {
  #sink: ReplayLogSink;
  #syncEachEvent: boolean;
  #assertHeld: (() => void) | undefined;
  #icount = 0;
  #pending = 0;
  #offset = 0;
  #ended = false;
  #failure: Error | undefined;
  /** Plugin event kinds declared in this log, and their ids. */
  #kindIds = new Map<string, number>();

  /**
   * Create a writer and write the header.
   *
   * @param sink where the bytes go
   * @param options when to sync
   * @throws {Error} if the sink fails, with the sink's error as its cause
   */
  constructor(sink: ReplayLogSink, options: ReplayLogWriterOptions = {}) {
    this.#sink = sink;
    this.#syncEachEvent = options.syncEachEvent ?? false;
    this.#assertHeld = options.assertHeld;
    const header = new Uint8Array(REPLAY_HEADER_SIZE);
    new DataView(header.buffer).setUint32(0, REPLAY_VERSION);
    this.#emit(header);
  }

  /** The absolute instruction count, including instructions not yet written. */
  get icount(): number {
    return this.#icount + this.#pending;
  }

  /** Bytes handed to the sink so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Whether `EVENT_END` was written, or the sink failed. */
  get closed(): boolean {
    return this.#ended || this.#failure !== undefined;
  }

  /**
   * Count instructions executed since the last call.
   *
   * @param count how many; 0 does nothing
   * @throws {RangeError} if `count` is negative or not an integer
   */
  instruction(count: number): void {
    this.#checkOpen();
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(
        `Cannot count instructions: ${count} is not a non-negative integer`,
      );
    }
    if (this.icount + count > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(
        "Cannot count instructions: the icount would pass 2^53 - 1",
      );
    }
    this.#pending += count;
  }

  /**
   * Move the instruction count forward to an absolute value.
   *
   * @param icount the new instruction count
   * @throws {RangeError} if it is below the current count
   */
  advanceTo(icount: number): void {
    if (!Number.isSafeInteger(icount) || icount < this.icount) {
      throw new RangeError(
        `Cannot advance the icount to ${icount}: it is at ${this.icount} and can only grow`,
      );
    }
    this.instruction(icount - this.icount);
  }

  /**
   * Write one event at the current instruction count. An `instruction` event
   * counts like {@linkcode ReplayLogWriter.prototype.instruction}; `end` ends
   * the log like {@linkcode ReplayLogWriter.prototype.end}; a `state-hash`
   * first advances the count to its `icount`.
   *
   * @param event the event
   * @throws {TypeError} if the event is malformed
   * @throws {RangeError} if a field is out of range, or a state hash is
   *   behind the current count
   * @throws {Error} if the log has ended or the sink failed
   */
  write(event: ReplayEvent): void {
    this.#checkOpen();
    if (event.kind === "instruction") {
      checkInt("instruction count", event.count, 1, Number.MAX_SAFE_INTEGER);
      this.instruction(event.count);
      return;
    }
    if (event.kind === "state-hash") {
      if (typeof event.icount === "number") this.advanceTo(event.icount);
    }
    const enc = new Encoder();
    this.#encodePending(enc);
    if (event.kind === "plugin-event") {
      // The kind's id in this log, declared in the same write as its first
      // use, so that a cut log never holds an undeclared id.
      const name = checkKindName(event.event);
      const payload = checkBytes("payload", event.payload);
      let id = this.#kindIds.get(name);
      if (id === undefined) {
        id = this.#newKindId(name);
        encodeInto(enc, { kind: "plugin-kind", id, event: name });
      }
      enc.u8(id);
      enc.array(payload);
    } else {
      if (event.kind === "plugin-kind") this.#declareKind(event);
      encodeInto(enc, event);
    }
    this.#emit(enc.finish());
    this.#icount += this.#pending;
    this.#pending = 0;
    if (event.kind === "end") {
      this.#ended = true;
      this.sync();
    } else if (this.#syncEachEvent) {
      this.sync();
    }
  }

  #newKindId(name: string): number {
    const id = REPLAY_EVENT_ID.DEJA_PLUGIN_FIRST + this.#kindIds.size;
    if (id > REPLAY_EVENT_ID.DEJA_PLUGIN_LAST) {
      throw new RangeError(
        `Cannot log plugin event kind ${name}: a log has ids for ${
          REPLAY_EVENT_ID.DEJA_PLUGIN_LAST - REPLAY_EVENT_ID.DEJA_PLUGIN_FIRST +
          1
        } plugin event kinds, and they are all taken`,
      );
    }
    this.#kindIds.set(name, id);
    return id;
  }

  #declareKind(e: { id: number; event: string }): void {
    const name = checkKindName(e.event);
    for (const [n, id] of this.#kindIds) {
      if (n === name || id === e.id) {
        throw new RangeError(
          `Cannot declare plugin event kind ${name} as ${
            hex(e.id)
          }: ${n} is already ${hex(id)} in this log`,
        );
      }
    }
    if (e.id !== REPLAY_EVENT_ID.DEJA_PLUGIN_FIRST + this.#kindIds.size) {
      throw new RangeError(
        `Cannot declare plugin event kind ${name} as ${
          hex(e.id)
        }: the next free id is ${
          hex(REPLAY_EVENT_ID.DEJA_PLUGIN_FIRST + this.#kindIds.size)
        }`,
      );
    }
    this.#kindIds.set(name, e.id);
  }

  /**
   * Write `EVENT_END` after any pending instructions, then sync. The writer
   * takes no more events.
   */
  end(): void {
    this.write({ kind: "end" });
  }

  /** Ask the sink to make what was written durable. */
  sync(): void {
    this.#assertHeld?.();
    if (this.#failure !== undefined) throw this.#failed();
    try {
      this.#sink.sync?.();
    } catch (cause) {
      this.#failure = new Error(
        `Cannot write replay log: byte ${this.#offset}: the sink failed to sync`,
        { cause },
      );
      throw this.#failure;
    }
  }

  #encodePending(enc: Encoder): void {
    let left = this.#pending;
    while (left > 0) {
      const n = Math.min(left, WRITER_MAX_INSTRUCTIONS);
      enc.u8(REPLAY_EVENT_ID.INSTRUCTION);
      enc.u32(n);
      left -= n;
    }
  }

  #emit(bytes: Uint8Array): void {
    this.#assertHeld?.();
    try {
      this.#sink.write(bytes);
    } catch (cause) {
      this.#failure = new Error(
        `Cannot write replay log: byte ${this.#offset}: the sink failed`,
        { cause },
      );
      throw this.#failure;
    }
    this.#offset += bytes.length;
  }

  #failed(): Error {
    return new Error(
      "Cannot write replay log: an earlier write failed; the log ends before it",
      { cause: this.#failure },
    );
  }

  #checkOpen(): void {
    this.#assertHeld?.();
    if (this.#failure !== undefined) throw this.#failed();
    if (this.#ended) {
      throw new Error("Cannot write replay log: the log has ended");
    }
  }
}

/**
 * A sink over a file opened for writing, such as a `Deno.FsFile`. It loops
 * until the whole buffer is written, and syncs with `syncSync`.
 *
 * @param file the file
 * @returns a sink for {@linkcode ReplayLogWriter}
 *
 * @example Record to a file
 * ```ts ignore
 * import { fileSink, ReplayLogWriter } from "./log.ts";
 * using file = Deno.openSync("run.rr", { write: true, create: true, truncate: true });
 * const w = new ReplayLogWriter(fileSink(file));
 * w.end();
 * ```
 */
export function fileSink(
  file: { writeSync(p: Uint8Array): number; syncSync(): void },
): ReplayLogSink {
  return {
    write(bytes: Uint8Array): void {
      let done = 0;
      while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
    },
    sync(): void {
      file.syncSync();
    },
  };
}

// ---------------------------------------------------------------------------
// Reader

/** Options for {@linkcode ReplayLogReader}. */
export interface ReplayLogReaderOptions {
  /**
   * The largest array the reader accepts, in bytes. A longer array length is
   * taken as corruption rather than as a log that was cut.
   *
   * @default {16777216}
   */
  maxArrayLength?: number;
  /**
   * Accept a header whose version is 0, as QEMU leaves it when it is killed
   * (it writes the version only when it exits cleanly).
   *
   * @default {false}
   */
  allowMissingVersion?: boolean;
  /**
   * Called before each event is read; it throws when the caller may not
   * read now. The CLI passes the replay mutex's `assertHeld`.
   *
   * @default {undefined}
   */
  assertHeld?: () => void;
}

/** Thrown inside the reader when the bytes run out mid-event. */
class NeedMore {
  constructor(readonly need: number) {}
}

/**
 * Reads a replay log from bytes, one event at a time, checking everything.
 *
 * Each event comes back with its id, absolute instruction count, byte offset
 * and size. `next()` returns undefined after `EVENT_END`. If the log ends
 * before that it throws {@linkcode ReplayLogTruncatedError}; if it is corrupt
 * (bad header, unknown id, a field out of range, an array length over the
 * limit, bytes after the end) it throws {@linkcode ReplayLogError}. It never
 * throws anything else, never reads out of bounds, and never allocates more
 * than what the log holds. Once it has thrown, it throws the same error
 * again.
 *
 * @example Read a log
 * ```ts
 * import { ReplayLogReader, ReplayLogWriter } from "./log.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new ReplayLogWriter({ write: (b) => chunks.push(b) });
 * w.write({ kind: "checkpoint", checkpoint: "init" });
 * w.instruction(42);
 * w.write({ kind: "serial-input", device: 0, bytes: new TextEncoder().encode("hi") });
 * w.end();
 * const log = new Uint8Array(chunks.flatMap((c) => [...c]));
 * for (const e of new ReplayLogReader(log)) {
 *   console.log(e.byteOffset, e.icount, e.kind);
 * }
 * // 12 0 checkpoint
 * // 13 42 instruction
 * // 18 42 serial-input
 * // 25 42 end
 * ```
 */
export class ReplayLogReader {
  /** Version from the header. */
  readonly version: number;
  /** The header's reserved u64 (0 from QEMU and deja; not checked). */
  readonly reserved: bigint;

  #bytes: Uint8Array;
  #view: DataView;
  #maxArray: number;
  #assertHeld: (() => void) | undefined;
  #pos = REPLAY_HEADER_SIZE;
  #start = REPLAY_HEADER_SIZE;
  #icount = 0;
  #count = 0;
  #ended = false;
  #error: ReplayLogError | undefined;
  /** Plugin event kinds that the log declared so far, by id. */
  #kinds = new Map<number, string>();

  /**
   * Open a log and check its header.
   *
   * @param bytes the whole log, or as much of it as exists
   * @param options limits
   * @throws {ReplayLogTruncatedError} if the log is shorter than the header
   * @throws {ReplayLogError} if the version is not {@linkcode REPLAY_VERSION}
   */
  constructor(bytes: Uint8Array, options: ReplayLogReaderOptions = {}) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.#maxArray = options.maxArrayLength ?? 16 * 1024 * 1024;
    this.#assertHeld = options.assertHeld;
    if (bytes.length < REPLAY_HEADER_SIZE) {
      throw new ReplayLogTruncatedError(
        0,
        0,
        `the log ends inside the ${REPLAY_HEADER_SIZE}-byte header (${bytes.length} bytes)`,
      );
    }
    this.version = this.#view.getUint32(0);
    this.reserved = this.#view.getBigUint64(4);
    const missing = this.version === 0 && options.allowMissingVersion === true;
    if (this.version !== REPLAY_VERSION && !missing) {
      const hint = this.version === 0
        ? " (QEMU writes the version only when it exits cleanly)"
        : "";
      throw new ReplayLogError(
        0,
        `version ${hex(this.version)} is not supported; expected ${
          hex(REPLAY_VERSION)
        }${hint}`,
      );
    }
  }

  /**
   * Open a log from a stream, reading it to the end first.
   *
   * @param stream the log's bytes
   * @param options limits
   * @returns a reader over the whole stream
   * @throws {ReplayLogError} as the constructor does
   *
   * @example Read a log file
   * ```ts ignore
   * import { ReplayLogReader } from "./log.ts";
   * using file = await Deno.open("run.rr");
   * const reader = await ReplayLogReader.fromStream(file.readable);
   * ```
   */
  static async fromStream(
    stream: ReadableStream<Uint8Array>,
    options: ReplayLogReaderOptions = {},
  ): Promise<ReplayLogReader> {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of stream) {
      chunks.push(chunk);
      length += chunk.length;
    }
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return new ReplayLogReader(bytes, options);
  }

  /** Byte offset of the next event. */
  get offset(): number {
    return this.#pos;
  }

  /**
   * Where the reader is, to come back to with
   * {@linkcode ReplayLogReader.seek} (a machine snapshot keeps it).
   *
   * @returns the position (opaque)
   * @example Read on, then go back
   * ```ts
   * import { ReplayLogReader, ReplayLogWriter } from "./log.ts";
   * const chunks: Uint8Array[] = [];
   * const w = new ReplayLogWriter({ write: (b) => chunks.push(b) });
   * w.advanceTo(5);
   * w.write({ kind: "clock", clock: "host", value: 1n });
   * w.end();
   * const r = new ReplayLogReader(new Uint8Array(chunks.flatMap((c) => [...c])));
   * const at = r.mark();
   * const first = [...r].length;
   * r.seek(at);
   * console.log([...r].length === first); // true
   * ```
   */
  mark(): ReplayLogMark {
    return {
      pos: this.#pos,
      start: this.#start,
      icount: this.#icount,
      count: this.#count,
      ended: this.#ended,
      error: this.#error,
      kinds: new Map(this.#kinds),
    };
  }

  /**
   * Go back (or forward) to a position from {@linkcode ReplayLogReader.mark}
   * of this reader.
   *
   * @param at the position
   */
  seek(at: ReplayLogMark): void {
    this.#pos = at.pos;
    this.#start = at.start;
    this.#icount = at.icount;
    this.#count = at.count;
    this.#ended = at.ended;
    this.#error = at.error;
    this.#kinds = new Map(at.kinds);
  }

  /** Instruction count reached by the events read so far. */
  get icount(): number {
    return this.#icount;
  }

  /** Number of events read so far. */
  get events(): number {
    return this.#count;
  }

  /** Whether `EVENT_END` has been read. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Read the next event.
   *
   * @returns the event with its position, or undefined after `EVENT_END`
   * @throws {ReplayLogTruncatedError} if the log ends before `EVENT_END`
   * @throws {ReplayLogError} if the log is corrupt
   */
  next(): ReplayLogEntry | undefined {
    this.#assertHeld?.();
    if (this.#error !== undefined) throw this.#error;
    if (this.#ended) return undefined;
    try {
      return this.#read();
    } catch (e) {
      if (e instanceof NeedMore) {
        const left = this.#bytes.length - this.#start;
        const name = replayEventName(this.#bytes[this.#start] ?? -1) ??
          "event";
        this.#error = new ReplayLogTruncatedError(
          this.#start,
          this.#icount,
          `the log ends inside an ${name} (${left} of at least ${
            this.#pos - this.#start + e.need
          } bytes) at icount ${this.#icount}`,
        );
      } else if (e instanceof ReplayLogError) {
        this.#error = e;
      } else {
        throw e;
      }
      throw this.#error;
    }
  }

  /**
   * Iterate over the remaining events.
   *
   * @returns an iterator that calls {@linkcode ReplayLogReader.prototype.next}
   */
  *[Symbol.iterator](): Generator<ReplayLogEntry, void, undefined> {
    for (let e = this.next(); e !== undefined; e = this.next()) yield e;
  }

  #read(): ReplayLogEntry | undefined {
    const start = this.#pos;
    this.#start = start;
    if (start >= this.#bytes.length) {
      throw new ReplayLogTruncatedError(
        start,
        this.#icount,
        `the log ends without an EVENT_END at icount ${this.#icount}`,
      );
    }
    const id = this.#u8();
    const event = this.#body(id, start);
    let icount = this.#icount;
    if (event.kind === "instruction") {
      icount += event.count;
      if (icount > Number.MAX_SAFE_INTEGER) {
        throw new ReplayLogError(start, "the icount passes 2^53 - 1");
      }
    } else if (event.kind === "state-hash" && event.icount !== icount) {
      throw new ReplayLogError(
        start + 1,
        `EVENT_DEJA_STATE_HASH icount ${event.icount} does not match the log's icount; expected ${icount}`,
      );
    } else if (event.kind === "config" && this.#count !== 0) {
      throw new ReplayLogError(
        start,
        "EVENT_DEJA_CONFIG after other events; expected it first or not at all",
      );
    }
    this.#icount = icount;
    this.#count++;
    const size = this.#pos - start;
    if (event.kind === "end") {
      this.#ended = true;
      if (this.#pos < this.#bytes.length) {
        throw new ReplayLogError(
          this.#pos,
          `${
            this.#bytes.length - this.#pos
          } bytes follow EVENT_END; expected the log to end there`,
        );
      }
    }
    return Object.assign(event, {
      eventId: id,
      icount,
      byteOffset: start,
      size,
    });
  }

  #need(n: number): number {
    const at = this.#pos;
    if (this.#bytes.length - at < n) {
      throw new NeedMore(n - (this.#bytes.length - at));
    }
    this.#pos = at + n;
    return at;
  }

  #u8(): number {
    return this.#view.getUint8(this.#need(1));
  }
  #u32(): number {
    return this.#view.getUint32(this.#need(4));
  }
  #i32(): number {
    return this.#view.getInt32(this.#need(4));
  }
  #u64(): bigint {
    return this.#view.getBigUint64(this.#need(8));
  }
  #i64(): bigint {
    return this.#view.getBigInt64(this.#need(8));
  }
  #fixed(n: number): Uint8Array {
    const at = this.#need(n);
    return this.#bytes.slice(at, at + n);
  }
  #array(what: string): Uint8Array {
    const at = this.#pos;
    const length = this.#u32();
    if (length > this.#maxArray) {
      throw new ReplayLogError(
        at,
        `${what} array length ${length} is over the limit; expected at most ${this.#maxArray} bytes`,
      );
    }
    return this.#fixed(length);
  }
  #bool(what: string): boolean {
    const at = this.#pos;
    const v = this.#u8();
    if (v > 1) {
      throw new ReplayLogError(at, `${what} is ${v}; expected 0 or 1`);
    }
    return v === 1;
  }

  #input(): ReplayInputEvent {
    const at = this.#pos;
    const type = this.#u32();
    switch (type) {
      case 0: {
        const keyAt = this.#pos;
        const keyKind = this.#u32();
        if (keyKind === 0) {
          const number = this.#i64();
          const down = this.#bool("EVENT_ASYNC_INPUT key down");
          return { type: "key", key: { kind: "number", number }, down };
        }
        if (keyKind === 1) {
          const qcode = this.#u32();
          const down = this.#bool("EVENT_ASYNC_INPUT key down");
          return { type: "key", key: { kind: "qcode", qcode }, down };
        }
        throw new ReplayLogError(
          keyAt,
          `EVENT_ASYNC_INPUT key kind ${keyKind} is unknown; expected 0 (number) or 1 (qcode)`,
        );
      }
      case 1: {
        const button = this.#u32();
        const down = this.#bool("EVENT_ASYNC_INPUT button down");
        return { type: "btn", button, down };
      }
      case 2:
      case 3: {
        const axis = this.#u32();
        const value = this.#i64();
        return { type: type === 2 ? "rel" : "abs", axis, value };
      }
      case 4: {
        const mttType = this.#u32();
        const slot = this.#i64();
        const trackingId = this.#i64();
        const axis = this.#u32();
        const value = this.#i64();
        return { type: "mtt", mttType, slot, trackingId, axis, value };
      }
      default:
        throw new ReplayLogError(
          at,
          `EVENT_ASYNC_INPUT input kind ${type} is unknown; expected 0 to 4 (key, btn, rel, abs, mtt)`,
        );
    }
  }

  #body(id: number, start: number): ReplayEvent {
    const ID = REPLAY_EVENT_ID;
    switch (id) {
      case ID.INSTRUCTION: {
        const count = this.#u32();
        if (count === 0) {
          throw new ReplayLogError(
            start + 1,
            "EVENT_INSTRUCTION count is 0; expected 1 to 4294967295",
          );
        }
        return { kind: "instruction", count };
      }
      case ID.INTERRUPT:
        return { kind: "interrupt" };
      case ID.EXCEPTION:
        return { kind: "exception" };
      case ID.ASYNC_BH:
        return { kind: "async-bh", id: this.#u64() };
      case ID.ASYNC_BH_ONESHOT:
        return { kind: "async-bh-oneshot", id: this.#u64() };
      case ID.ASYNC_INPUT:
        return { kind: "async-input", input: this.#input() };
      case ID.ASYNC_INPUT_SYNC:
        return { kind: "async-input-sync" };
      case ID.ASYNC_CHAR_READ:
      case ID.DEJA_SERIAL_INPUT: {
        const device = this.#u8();
        const what = id === ID.ASYNC_CHAR_READ
          ? "EVENT_ASYNC_CHAR_READ"
          : "EVENT_DEJA_SERIAL_INPUT";
        const bytes = this.#array(what);
        return id === ID.ASYNC_CHAR_READ
          ? { kind: "async-char-read", device, bytes }
          : { kind: "serial-input", device, bytes };
      }
      case ID.DEJA_EXIT_STATUS:
        return { kind: "exit-status", code: this.#i32() };
      case ID.DEJA_PLUGIN_KIND: {
        const idAt = this.#pos;
        const kindId = this.#u8();
        if (kindId !== ID.DEJA_PLUGIN_FIRST + this.#kinds.size) {
          throw new ReplayLogError(
            idAt,
            `EVENT_DEJA_PLUGIN_KIND declares id ${hex(kindId)}; expected ${
              hex(ID.DEJA_PLUGIN_FIRST + this.#kinds.size)
            }, the next free plugin event id`,
          );
        }
        const at = this.#pos;
        const name = this.#array("EVENT_DEJA_PLUGIN_KIND name");
        let event: string;
        try {
          event = new TextDecoder("utf-8", { fatal: true }).decode(name);
        } catch {
          throw new ReplayLogError(
            at + 4,
            "EVENT_DEJA_PLUGIN_KIND name is not UTF-8; expected a kind name",
          );
        }
        if (event === "") {
          throw new ReplayLogError(
            at,
            "EVENT_DEJA_PLUGIN_KIND name is empty; expected a kind name",
          );
        }
        for (const [id, n] of this.#kinds) {
          if (n === event) {
            throw new ReplayLogError(
              at,
              `EVENT_DEJA_PLUGIN_KIND declares ${event} again; it is already ${
                hex(id)
              }`,
            );
          }
        }
        this.#kinds.set(kindId, event);
        return { kind: "plugin-kind", id: kindId, event };
      }
      case ID.ASYNC_BLOCK:
        return { kind: "async-block", id: this.#u64() };
      case ID.ASYNC_NET: {
        const device = this.#u8();
        const flags = this.#u32();
        const bytes = this.#array("EVENT_ASYNC_NET");
        return { kind: "async-net", device, flags, bytes };
      }
      case ID.CHAR_WRITE: {
        const result = this.#i32();
        const offset = this.#i32();
        return { kind: "char-write", result, offset };
      }
      case ID.CHAR_READ_ALL:
        return {
          kind: "char-read-all",
          bytes: this.#array("EVENT_CHAR_READ_ALL"),
        };
      case ID.CHAR_READ_ALL_ERROR:
        return { kind: "char-read-all-error", error: this.#i32() };
      case ID.AUDIO_OUT:
        return { kind: "audio-out", played: this.#u64() };
      case ID.AUDIO_IN: {
        const at = this.#pos;
        const recorded = this.#u64();
        const wpos = this.#u64();
        const left = this.#bytes.length - this.#pos;
        if (recorded * 16n > BigInt(this.#maxArray)) {
          throw new ReplayLogError(
            at,
            `EVENT_AUDIO_IN sample count ${recorded} is over the limit; expected at most ${
              Math.floor(this.#maxArray / 16)
            }`,
          );
        }
        const count = Number(recorded);
        if (count * 16 > left) throw new NeedMore(count * 16 - left);
        const samples: ReplayAudioSample[] = [];
        for (let i = 0; i < count; i++) {
          samples.push({ left: this.#u64(), right: this.#u64() });
        }
        return { kind: "audio-in", wpos, samples };
      }
      case ID.RANDOM: {
        const result = this.#i32();
        const bytes = this.#array("EVENT_RANDOM");
        return { kind: "random", result, bytes };
      }
      case ID.END:
        return { kind: "end" };
      case ID.DEJA_CONFIG:
        return { kind: "config", config: this.#config() };
      case ID.DEJA_STATE_HASH: {
        const icountAt = this.#pos;
        const icount = this.#u64();
        const partsAt = this.#pos;
        const parts = this.#u8();
        if (icount > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new ReplayLogError(
            icountAt,
            `EVENT_DEJA_STATE_HASH icount ${icount} is over 2^53 - 1`,
          );
        }
        if (parts === 0 || (parts & ~STATE_HASH_PART.ALL) !== 0) {
          throw new ReplayLogError(
            partsAt,
            `EVENT_DEJA_STATE_HASH parts ${
              hex(parts)
            } is invalid; expected a non-empty mask of 0x01 (ram), 0x02 (xregs), 0x04 (fregs), 0x08 (csrs), 0x10 (devices)`,
          );
        }
        const hashes: { part: StateHashPart; hash: Uint8Array }[] = [];
        for (let bit = 0; bit < STATE_HASH_PART_NAMES.length; bit++) {
          if ((parts & (1 << bit)) === 0) continue;
          const hash = this.#fixed(STATE_HASH_SIZE);
          hashes.push({ part: STATE_HASH_PART_NAMES[bit]!, hash });
        }
        return { kind: "state-hash", icount: Number(icount), hashes };
      }
    }
    if (id >= ID.SHUTDOWN && id < ID.SHUTDOWN_LAST) {
      return { kind: "shutdown", cause: SHUTDOWN_CAUSES[id - ID.SHUTDOWN]! };
    }
    if (id >= ID.CLOCK && id <= ID.CLOCK_LAST) {
      return {
        kind: "clock",
        clock: CLOCKS[id - ID.CLOCK]!,
        value: this.#i64(),
      };
    }
    if (id >= ID.CHECKPOINT && id <= ID.CHECKPOINT_LAST) {
      return {
        kind: "checkpoint",
        checkpoint: CHECKPOINTS[id - ID.CHECKPOINT]!,
      };
    }
    if (id >= ID.DEJA_PLUGIN_FIRST && id <= ID.DEJA_PLUGIN_LAST) {
      const event = this.#kinds.get(id);
      if (event !== undefined) {
        return {
          kind: "plugin-event",
          event,
          payload: this.#array(`EVENT_DEJA_PLUGIN ${event}`),
        };
      }
    }
    const reserved = id === ID.SHUTDOWN_LAST
      ? " (reserved by QEMU for SHUTDOWN_CAUSE__MAX)"
      : id >= ID.DEJA_PLUGIN_FIRST
      ? " (a plugin event id that no EVENT_DEJA_PLUGIN_KIND declared)"
      : "";
    throw new ReplayLogError(
      start,
      `unknown event id ${hex(id)}${reserved}; expected one of ${KNOWN_IDS}`,
    );
  }

  #config(): ReplayConfig {
    const at = this.#pos;
    const bytes = this.#array("EVENT_DEJA_CONFIG");
    let value: unknown;
    try {
      value = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      );
    } catch (cause) {
      throw new ReplayLogError(
        at + 4,
        "EVENT_DEJA_CONFIG is not UTF-8 JSON; expected a JSON object",
        { cause },
      );
    }
    const problem = configProblem(value);
    if (problem !== undefined) {
      throw new ReplayLogError(at + 4, `EVENT_DEJA_CONFIG ${problem}`);
    }
    return value as ReplayConfig;
  }
}
