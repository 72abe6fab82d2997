/**
 * The bridge between a machine and its replay log.
 *
 * {@linkcode LogRecorder} turns the machine's nondeterministic inputs
 * ({@linkcode NondetEvent}) into log events as they happen, each written
 * whole, and adds state hashes every `rrcheck` instructions.
 * {@linkcode LogReplayer} reads a log back: it checks the configuration,
 * hands the inputs to the machine as a {@linkcode NondetSource}, compares
 * the state hashes, and says how the log ended (`EVENT_END`, or cut short).
 *
 * | machine input           | log events                                       |
 * | ----------------------- | ------------------------------------------------ |
 * | serial input            | `EVENT_DEJA_SERIAL_INPUT` (device 0, the bytes)  |
 * | idle warp (`sleep=on`)  | `EVENT_CP_CLOCK_WARP_ACCOUNT`, `EVENT_CLOCK_VIRTUAL_RT` (the clock bias) |
 * | RTC host clock read     | `EVENT_CLOCK_HOST` (ns since the epoch)          |
 * | FDT `rng-seed`          | `EVENT_RANDOM` (the bytes)                       |
 * | plugin event            | `EVENT_DEJA_PLUGIN` (the kind's id, the codec's bytes) |
 * | guest power-off         | `EVENT_DEJA_EXIT_STATUS`, `EVENT_SHUTDOWN_GUEST_SHUTDOWN` |
 * | guest reset             | `EVENT_DEJA_EXIT_STATUS`, `EVENT_SHUTDOWN_GUEST_RESET` |
 * | guest stuck (trap loop) | `EVENT_SHUTDOWN_GUEST_PANIC`                     |
 * | host quit               | `EVENT_SHUTDOWN_HOST_SIGNAL` or `_HOST_UI`, then `EVENT_END` |
 *
 * @module
 */

import type { VirtMachine } from "../devices/virt.ts";
import type { AnyDevicePlugin } from "../plugins/registry.ts";
import { checkEventKinds } from "../plugins/host.ts";
import {
  CLOCK_WARP,
  CORE_INPUT_KINDS,
  type ExitStatus,
  HOST_CLOCK,
  HOST_ENTROPY,
  SERIAL_INPUT,
} from "../devices/events.ts";
import { checkConfig } from "./config.ts";
import {
  type ReplayConfig,
  replayEventName,
  ReplayLogError,
  type ReplayLogMark,
  ReplayLogReader,
  type ReplayLogReaderOptions,
  type ReplayLogSink,
  ReplayLogTruncatedError,
  ReplayLogWriter,
  type ShutdownCause,
  type StateHashPart,
} from "./log.ts";
import type { NondetEvent, NondetSource } from "./nondet.ts";
import { ReplayDivergenceError } from "./nondet.ts";
import { stateHashes, stateHashVersion } from "./state_hash.ts";

/** Options for {@linkcode LogRecorder}. */
export interface LogRecorderOptions {
  /**
   * Store a state hash every this many instructions; 0 for none.
   *
   * @default {0}
   */
  rrcheck?: number;
  /**
   * Sync the sink after every event (fsync), for power-loss safety.
   *
   * @default {false}
   */
  syncEachEvent?: boolean;
  /**
   * Called before every write to the log; throws when the caller may not
   * write now (the CLI passes the replay mutex's `assertHeld`).
   *
   * @default {undefined}
   */
  assertHeld?: () => void;
}

/** How a recording ended, for {@linkcode LogRecorder.finish}. */
export type RecordingEnd = "guest" | "host-signal" | "host-ui" | "host-error";

/**
 * Records a machine's inputs into a replay log.
 *
 * @example Record a guest that powers off at once
 * ```ts
 * import { LogRecorder } from "./machine_log.ts";
 * import { Runner } from "./runner.ts";
 * const chunks: Uint8Array[] = [];
 * const config = {
 *   board: "virt", ramSize: 1 << 20, firmware: null, kernel: null,
 *   devices: [], plugins: [],
 * };
 * const rec = new LogRecorder({ write: (b) => chunks.push(b) }, config);
 * // li t0, 0x100000 ; li t1, 0x5555 ; sw t1, 0(t0)
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const machine = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
 * new Runner({ machine, record: rec.hook, checks: rec }).run(100);
 * rec.finish("guest");
 * console.log(chunks.length); // 4: header, config, shutdown, end
 * ```
 */
export class LogRecorder {
  /** The writer. */
  readonly writer: ReplayLogWriter;
  /** Pass this as the runner's `record` option. */
  readonly hook: (event: NondetEvent) => void;
  /** State hash interval, 0 for none. */
  readonly rrcheck: number;
  #nextCheck: number;
  #hashVersion: 1 | 2;

  /**
   * Start a log: the header and the configuration.
   *
   * @param sink where the log goes
   * @param config the machine's configuration
   * @param options state hashes and syncing
   */
  constructor(
    sink: ReplayLogSink,
    config: ReplayConfig,
    options: LogRecorderOptions = {},
  ) {
    this.writer = new ReplayLogWriter(sink, {
      syncEachEvent: options.syncEachEvent ?? false,
      ...(options.assertHeld ? { assertHeld: options.assertHeld } : {}),
    });
    this.rrcheck = options.rrcheck ?? 0;
    this.#nextCheck = this.rrcheck > 0 ? this.rrcheck : Infinity;
    this.#hashVersion = stateHashVersion(config);
    this.writer.write({ kind: "config", config });
    this.hook = (e) => this.#record(e);
  }

  #record(e: NondetEvent): void {
    const w = this.writer;
    if (w.closed) return;
    w.advanceTo(e.icount);
    switch (e.kind) {
      case "input": {
        // The core kinds keep their QEMU-format events; every other kind
        // (a plugin's, or a new core source) is a named deja plugin event.
        const form = LOG_FORMS.get(e.event);
        if (form) form(w, e.payload);
        else {w.write({
            kind: "plugin-event",
            event: e.event,
            payload: e.payload,
          });}
        return;
      }
      case "shutdown":
        if (e.status.kind !== "trap-loop") {
          w.write({ kind: "exit-status", code: e.status.code });
        }
        w.write({ kind: "shutdown", cause: causeOf(e.status) });
        return;
      case "end":
        return; // finish() writes the end, with its cause
    }
  }

  /**
   * How many instructions to run next so as not to pass a state hash.
   *
   * @param icount the machine's instruction count
   * @param slice the most the caller wants to run
   * @returns the budget
   */
  budget(icount: number, slice: number): number {
    return Math.max(1, Math.min(slice, this.#nextCheck - icount));
  }

  /**
   * Call after each run of the machine: stores a state hash when the
   * instruction count reached the next multiple of `rrcheck`.
   *
   * @param machine the machine
   */
  afterRun(machine: VirtMachine): void {
    const icount = machine.cpu.icount;
    if (icount < this.#nextCheck || this.writer.closed) return;
    this.writer.write({
      kind: "state-hash",
      icount,
      hashes: stateHashes(machine, this.#hashVersion),
    });
    this.#nextCheck = (Math.floor(icount / this.rrcheck) + 1) * this.rrcheck;
  }

  /**
   * End the log at the machine's instruction count: a host shutdown cause
   * (unless the guest ended the run, which is logged already), then
   * `EVENT_END`.
   *
   * @param end who ended the run
   * @param icount the instruction count at the end
   */
  finish(end: RecordingEnd, icount?: number): void {
    if (this.writer.closed) return;
    if (icount !== undefined) this.writer.advanceTo(icount);
    if (end !== "guest") this.writer.write({ kind: "shutdown", cause: end });
    this.writer.end();
  }
}

/**
 * The log events of the core input kinds that predate the generic plugin
 * event (`EVENT_DEJA_PLUGIN`): their byte layout is QEMU's (or deja's own
 * `EVENT_DEJA_SERIAL_INPUT`) and stays so, so that logs keep their format.
 * {@linkcode LogReplayer} maps the same events back.
 */
const LOG_FORMS: ReadonlyMap<
  string,
  (w: ReplayLogWriter, payload: Uint8Array) => void
> = new Map([
  [SERIAL_INPUT.name, (w, p) => {
    w.write({ kind: "serial-input", device: 0, bytes: p });
  }],
  [CLOCK_WARP.name, (w, p) => {
    w.write({ kind: "checkpoint", checkpoint: "clock-warp-account" });
    w.write({
      kind: "clock",
      clock: "virtual-rt",
      value: BigInt(CLOCK_WARP.decode(p)),
    });
  }],
  [HOST_CLOCK.name, (w, p) => {
    w.write({ kind: "clock", clock: "host", value: HOST_CLOCK.decode(p) });
  }],
  [HOST_ENTROPY.name, (w, p) => {
    w.write({ kind: "random", result: 0, bytes: p });
  }],
]);

function input(
  icount: number,
  event: string,
  payload: Uint8Array,
): NondetEvent {
  return { kind: "input", icount, event, payload };
}

function causeOf(status: ExitStatus): ShutdownCause {
  switch (status.kind) {
    case "poweroff":
      return "guest-shutdown";
    case "reset":
      return "guest-reset";
    case "trap-loop":
      return "guest-panic";
  }
}

/**
 * The replay's state differs from the recording's at a state hash
 * (`rrcheck`). The divergence happened after {@linkcode lastMatch} and at or
 * before {@linkcode icount}.
 */
export class StateHashMismatchError extends ReplayDivergenceError {
  /** The last icount at which the state hashes matched (0: the start). */
  readonly lastMatch: number;
  /** The parts whose hashes differ. */
  readonly parts: StateHashPart[];

  /**
   * Create the error.
   *
   * @param lastMatch the last icount that matched
   * @param icount the first that did not
   * @param parts which parts differ
   */
  constructor(lastMatch: number, icount: number, parts: StateHashPart[]) {
    super(
      icount,
      `the state hash differs (${
        parts.join(", ")
      }): the replay left the recording after instruction ${lastMatch} and by instruction ${icount}`,
    );
    this.name = "StateHashMismatchError";
    this.lastMatch = lastMatch;
    this.parts = parts;
  }
}

/** A QEMU event kind that a deja replay cannot act on. */
function foreign(e: { kind: string; eventId: number; byteOffset: number }) {
  return new ReplayLogError(
    e.byteOffset,
    `${
      replayEventName(e.eventId)
    } is a QEMU event that deja does not replay; expected a log recorded by deja`,
  );
}

/** A {@linkcode LogReplayer}'s position in its log; opaque. */
export interface ReplayerMark {
  /** The reader's position. */
  readonly reader: ReplayLogMark;
  /** Inputs read ahead. */
  readonly queue: readonly NondetEvent[];
  /** State hashes read ahead. */
  readonly hashes: readonly {
    icount: number;
    hashes: { part: StateHashPart; hash: Uint8Array }[];
  }[];
  /** The error the reader stopped at. */
  readonly error: ReplayLogError | undefined;
  /** The cut the reader stopped at. */
  readonly truncated: ReplayLogTruncatedError | undefined;
  /** Whether `EVENT_END` was read. */
  readonly ended: boolean;
  /** The icount read up to. */
  readonly readIcount: number;
  /** The last icount whose hashes matched. */
  readonly lastMatch: number;
  /** The next rrcheck icount. */
  readonly nextCheck: number;
  /** Hashes compared. */
  readonly checks: number;
  /** A warp account waiting for its clock value. */
  readonly pendingWarp: { icount: number } | undefined;
  /** An exit code waiting for its shutdown. */
  readonly exitCode: number | undefined;
  /** The last logged clock bias. */
  readonly bias: bigint;
}

/**
 * Reads a log back for a replay.
 *
 * @example Replay a recording
 * ```ts
 * import { LogRecorder, LogReplayer } from "./machine_log.ts";
 * import { Runner } from "./runner.ts";
 * const chunks: Uint8Array[] = [];
 * const config = {
 *   board: "virt", ramSize: 1 << 20, firmware: null, kernel: null,
 *   devices: [], plugins: [],
 * };
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const rec = new LogRecorder({ write: (b) => chunks.push(b) }, config);
 * const machine = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
 * new Runner({ machine, record: rec.hook }).run(100);
 * rec.finish("guest");
 * const log = new Uint8Array(chunks.flatMap((c) => [...c]));
 *
 * const rep = new LogReplayer(log);
 * rep.checkConfig(config);
 * const runner = new Runner({ machine, replay: rep.source, checks: rep });
 * console.log(runner.run(100).kind); // "exit"
 * ```
 */
export class LogReplayer {
  /** The recorded configuration. */
  readonly config: ReplayConfig;
  /** Pass this as the runner's `replay` option. */
  readonly source: NondetSource;
  /** State hash interval of the recording (from its configuration). */
  readonly rrcheck: number;
  #reader: ReplayLogReader;
  #queue: NondetEvent[] = [];
  #hashes: {
    icount: number;
    hashes: { part: StateHashPart; hash: Uint8Array }[];
  }[] = [];
  #error: ReplayLogError | undefined;
  #truncated: ReplayLogTruncatedError | undefined;
  #ended = false;
  #readIcount = 0;
  #lastMatch = 0;
  #nextCheck: number;
  #checks = 0;
  #pendingWarp: { icount: number } | undefined;
  #exitCode: number | undefined;
  #bias = 0n;
  #hashVersion: 1 | 2;

  /**
   * Open a log: read the header and the configuration.
   *
   * @param bytes the log
   * @param options reader limits
   * @throws {ReplayLogError} if the header is bad or the log does not start
   *   with a configuration
   */
  constructor(bytes: Uint8Array, options: ReplayLogReaderOptions = {}) {
    this.#reader = new ReplayLogReader(bytes, options);
    const first = this.#reader.next();
    if (first?.kind !== "config") {
      throw new ReplayLogError(
        first?.byteOffset ?? 12,
        `${
          first ? replayEventName(first.eventId) : "the end of the log"
        } comes first; expected EVENT_DEJA_CONFIG (a log recorded by QEMU cannot be replayed by deja)`,
      );
    }
    this.config = first.config;
    this.#hashVersion = stateHashVersion(first.config);
    const rr = first.config.rrcheck;
    this.rrcheck = typeof rr === "number" && Number.isSafeInteger(rr) && rr > 0
      ? rr
      : 0;
    this.#nextCheck = this.rrcheck > 0 ? this.rrcheck : Infinity;
    this.source = {
      peek: () => this.#peek(),
      take: () => {
        const e = this.#peek();
        if (e) this.#queue.shift();
        return e;
      },
      mark: () => this.mark(),
      seek: (at) => this.seek(at as ReplayerMark),
    };
  }

  /**
   * Where the replay is in the log (the reader's position, the inputs and
   * state hashes read ahead, the rrcheck progress), for a machine snapshot
   * to come back to.
   *
   * @returns the position
   */
  mark(): ReplayerMark {
    return {
      reader: this.#reader.mark(),
      queue: [...this.#queue],
      hashes: [...this.#hashes],
      error: this.#error,
      truncated: this.#truncated,
      ended: this.#ended,
      readIcount: this.#readIcount,
      lastMatch: this.#lastMatch,
      nextCheck: this.#nextCheck,
      checks: this.#checks,
      pendingWarp: this.#pendingWarp,
      exitCode: this.#exitCode,
      bias: this.#bias,
    };
  }

  /**
   * Go back to a position from {@linkcode LogReplayer.mark}.
   *
   * @param at the position
   */
  seek(at: ReplayerMark): void {
    this.#reader.seek(at.reader);
    this.#queue = [...at.queue];
    this.#hashes = [...at.hashes];
    this.#error = at.error;
    this.#truncated = at.truncated;
    this.#ended = at.ended;
    this.#readIcount = at.readIcount;
    this.#lastMatch = at.lastMatch;
    this.#nextCheck = at.nextCheck;
    this.#checks = at.checks;
    this.#pendingWarp = at.pendingWarp;
    this.#exitCode = at.exitCode;
    this.#bias = at.bias;
  }

  /**
   * Compare the recorded configuration with the replaying machine's.
   *
   * @param given the replaying machine's configuration
   * @throws {ReplayConfigError} naming the first difference
   */
  checkConfig(given: ReplayConfig): void {
    checkConfig(this.config, given);
  }

  /**
   * Byte offset in the log of the next event to read.
   *
   * @returns the offset
   */
  get offset(): number {
    return this.#reader.offset;
  }

  /** Set when the log was cut short; the replay ends where it was cut. */
  get truncated(): ReplayLogTruncatedError | undefined {
    return this.#truncated;
  }

  /** Whether the replay has consumed every input of the log. */
  get done(): boolean {
    return this.#queue.length === 0 &&
      (this.#ended || this.#error !== undefined);
  }

  /** State hashes compared so far. */
  get checks(): number {
    return this.#checks;
  }

  #peek(): NondetEvent | undefined {
    while (this.#queue.length === 0 && this.#readOne());
    if (this.#queue.length === 0 && this.#error && !this.#truncated) {
      throw this.#error;
    }
    return this.#queue[0];
  }

  /** Read one log event into the queues; false at the end or on error. */
  #readOne(): boolean {
    if (this.#ended || this.#error) return false;
    let e;
    try {
      e = this.#reader.next();
    } catch (err) {
      if (!(err instanceof ReplayLogError)) throw err;
      this.#error = err;
      if (err instanceof ReplayLogTruncatedError) {
        // A recording that was cut short (killed) replays up to its last
        // complete event: the log's icount there, which may be well past
        // the last event that the replay consumes (state hashes,
        // instruction counts).
        this.#truncated = err;
        this.#queue.push({ kind: "end", icount: err.icount });
      }
      return false;
    }
    if (e === undefined) {
      this.#ended = true;
      return false;
    }
    const icount = e.icount;
    this.#readIcount = icount;
    if (this.#pendingWarp && e.kind !== "clock") {
      this.#error = new ReplayLogError(
        e.byteOffset,
        `${
          replayEventName(e.eventId)
        } follows EVENT_CP_CLOCK_WARP_ACCOUNT; expected EVENT_CLOCK_VIRTUAL_RT`,
      );
      return false;
    }
    const q = this.#queue;
    switch (e.kind) {
      case "instruction":
        return true;
      case "serial-input":
        q.push(input(icount, SERIAL_INPUT.name, e.bytes));
        return true;
      case "checkpoint":
        if (e.checkpoint === "clock-warp-account") {
          this.#pendingWarp = { icount };
        }
        return true;
      case "clock":
        this.#pendingWarp = undefined;
        if (e.clock === "host") {
          q.push(input(icount, HOST_CLOCK.name, HOST_CLOCK.encode(e.value)));
          return true;
        }
        // A warp only moves the clock forward.
        if (e.value < this.#bias || e.value > BigInt(Number.MAX_SAFE_INTEGER)) {
          this.#error = new ReplayLogError(
            e.byteOffset + 1,
            `EVENT_CLOCK_VIRTUAL_RT clock bias ${e.value} is out of range; expected ${this.#bias} to 2^53 - 1 (a warp only moves the clock forward)`,
          );
          return false;
        }
        this.#bias = e.value;
        q.push(
          input(icount, CLOCK_WARP.name, CLOCK_WARP.encode(Number(e.value))),
        );
        return true;
      case "random":
        q.push(input(icount, HOST_ENTROPY.name, e.bytes));
        return true;
      case "plugin-kind":
        return true; // the reader resolves the ids
      case "plugin-event":
        q.push(input(icount, e.event, e.payload));
        return true;
      case "exit-status":
        this.#exitCode = e.code;
        return true;
      case "shutdown": {
        const status = statusOf(e.cause, this.#exitCode);
        this.#exitCode = undefined;
        if (status) q.push({ kind: "shutdown", icount, status });
        else q.push({ kind: "end", icount });
        return true;
      }
      case "end":
        q.push({ kind: "end", icount });
        return true;
      case "state-hash":
        this.#hashes.push({ icount, hashes: e.hashes });
        return true;
      default:
        this.#error = foreign(e);
        return false;
    }
  }

  /**
   * How many instructions to run next so as not to pass a state hash.
   *
   * @param icount the machine's instruction count
   * @param slice the most the caller wants to run
   * @returns the budget
   */
  budget(icount: number, slice: number): number {
    return Math.max(1, Math.min(slice, this.#nextCheck - icount));
  }

  /**
   * Call after each run of the machine: at a multiple of `rrcheck`, compare
   * the machine's state with the hash the recording stored there.
   *
   * @param machine the machine
   * @throws {StateHashMismatchError} at the first mismatch
   */
  afterRun(machine: VirtMachine): void {
    const icount = machine.cpu.icount;
    if (icount < this.#nextCheck) return;
    this.#nextCheck = (Math.floor(icount / this.rrcheck) + 1) * this.rrcheck;
    // Read ahead until the hash at this icount, or past it.
    while (this.#readIcount <= icount && this.#readOne());
    while (this.#hashes.length > 0 && this.#hashes[0]!.icount < icount) {
      this.#hashes.shift();
    }
    const want = this.#hashes[0];
    if (!want || want.icount !== icount) return; // the recording stopped first
    this.#hashes.shift();
    const got = stateHashes(machine, this.#hashVersion);
    const differ: StateHashPart[] = [];
    for (const w of want.hashes) {
      const g = got.find((h) => h.part === w.part)!;
      if (!g.hash.every((b, i) => b === w.hash[i])) differ.push(w.part);
    }
    this.#checks++;
    if (differ.length > 0) {
      throw new StateHashMismatchError(this.#lastMatch, icount, differ);
    }
    this.#lastMatch = icount;
  }
}

/** A code of -1 stands for "not logged": the replay does not check it. */
function statusOf(
  cause: ShutdownCause,
  code = -1,
): ExitStatus | undefined {
  switch (cause) {
    case "guest-shutdown":
      return { kind: "poweroff", code };
    case "guest-reset":
      return { kind: "reset", code };
    case "guest-panic":
      return { kind: "trap-loop", pc: 0n, cause: 0n };
    default:
      return undefined; // a host cause: the recording ended there
  }
}

/**
 * The plugin event kinds of a log: those a log in QEMU's format binds with
 * `EVENT_DEJA_PLUGIN_KIND`, or the inputs of an in-process list that are
 * not the core's own. A corrupt or cut log gives the kinds before the
 * damage (the replayer reports the damage).
 *
 * @param log the log
 * @returns the kinds, each once
 * @example The kinds of an in-process log
 * ```ts
 * import { logEventKinds } from "./machine_log.ts";
 * const payload = new Uint8Array(4);
 * console.log(logEventKinds([
 *   { kind: "input", icount: 1, event: "serial", payload },
 *   { kind: "input", icount: 2, event: "sensor.reading", payload },
 * ])); // ["sensor.reading"]
 * ```
 */
export function logEventKinds(
  log: Uint8Array | readonly NondetEvent[],
): string[] {
  const found = new Set<string>();
  const core = new Set(CORE_INPUT_KINDS.map((k) => k.name));
  if (log instanceof Uint8Array) {
    try {
      for (const e of new ReplayLogReader(log)) {
        if (
          (e.kind === "plugin-event" || e.kind === "plugin-kind") &&
          !core.has(e.event) // newer core kinds (net-rx) log this way too
        ) found.add(e.event);
      }
    } catch {
      // A corrupt or cut log: the replayer reports it.
    }
  } else {
    for (const e of log) {
      if (e.kind === "input" && !core.has(e.event)) found.add(e.event);
    }
  }
  return [...found];
}

/**
 * Refuse a replay log that holds plugin event kinds that none of the given
 * plugin devices brings, before a machine is built.
 *
 * @param log the log, as bytes or in-process events
 * @param devices the plugin devices of the replaying machine
 * @throws {UnknownEventKindError} listing the kinds no device brings
 * @example Refuse a sensor log without the sensor plugin
 * ```ts
 * import { checkLogEventKinds } from "./machine_log.ts";
 * try {
 *   checkLogEventKinds([{ kind: "input", icount: 1, event: "sensor.reading", payload: new Uint8Array(4) }], []);
 * } catch (e) {
 *   console.log((e as Error).name); // UnknownEventKindError
 * }
 * ```
 */
export function checkLogEventKinds(
  log: Uint8Array | readonly NondetEvent[],
  devices: readonly { plugin: AnyDevicePlugin; name?: string }[],
): void {
  // Kinds are per instance (`kind@instance`); a device given without its
  // instance name accepts its kinds for any instance.
  checkEventKinds(logEventKinds(log), devices);
}
