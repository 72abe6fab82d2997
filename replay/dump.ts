/**
 * Print a replay log one event per line, with the absolute instruction count
 * of each, in the manner of QEMU's `scripts/replay-dump.py`.
 *
 * As a command:
 *
 * ```sh
 * deno run --allow-read replay/dump.ts FILE [--offsets]
 * ```
 *
 * It exits with 1 and prints the reader's message (no stack trace) when the
 * log is malformed or cut short, after printing the events before the fault.
 *
 * @module
 */

import {
  type ReplayEvent,
  replayEventName,
  type ReplayInputEvent,
  type ReplayLogEntry,
  ReplayLogReader,
  type ReplayLogReaderOptions,
  ReplayLogWriter,
} from "./log.ts";
import { concatBytes } from "./bytes.ts";

/** Options for {@linkcode dumpLog}. */
export interface DumpLogOptions extends ReplayLogReaderOptions {
  /**
   * Print the byte offset of each event too.
   *
   * @default {false}
   */
  offsets?: boolean;
}

/** How much of a log {@linkcode dumpLog} printed. */
export interface DumpLogResult {
  /** Number of events printed. */
  events: number;
  /** Instruction count at the end of the log. */
  icount: number;
}

const SHOWN_BYTES = 48;

function hexBytes(bytes: Uint8Array, limit = bytes.length): string {
  let s = "";
  for (const b of bytes.subarray(0, limit)) {
    s += b.toString(16).padStart(2, "0");
  }
  return s;
}

/** Bytes as a quoted string with escapes, cut after {@linkcode SHOWN_BYTES}. */
function quoted(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes.subarray(0, SHOWN_BYTES)) {
    if (b === 0x5c) s += "\\\\";
    else if (b === 0x22) s += '\\"';
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x0d) s += "\\r";
    else if (b === 0x09) s += "\\t";
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  const more = bytes.length > SHOWN_BYTES ? "..." : "";
  return `"${s}"${more} (${bytes.length} bytes)`;
}

function signedHex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function inputText(input: ReplayInputEvent): string {
  switch (input.type) {
    case "key": {
      const key = input.key.kind === "number"
        ? `number ${input.key.number}`
        : `qcode ${input.key.qcode}`;
      return `key ${key} ${input.down ? "down" : "up"}`;
    }
    case "btn":
      return `button ${input.button} ${input.down ? "down" : "up"}`;
    case "rel":
    case "abs":
      return `${input.type} axis ${input.axis} value ${input.value}`;
    case "mtt":
      return `mtt type ${input.mttType} slot ${input.slot} tracking ${input.trackingId} axis ${input.axis} value ${input.value}`;
  }
}

function detail(e: ReplayLogEntry): string {
  switch (e.kind) {
    case "instruction":
      return `+${e.count}`;
    case "async-bh":
    case "async-bh-oneshot":
    case "async-block":
      return `id ${e.id}`;
    case "async-input":
      return inputText(e.input);
    case "async-char-read":
    case "serial-input":
      return `device ${e.device} ${quoted(e.bytes)}`;
    case "plugin-kind":
      return `0x${e.id.toString(16)} is ${e.event}`;
    case "plugin-event":
      return `${e.event} ${e.payload.length} bytes`;
    case "exit-status":
      return `code ${e.code}`;
    case "async-net":
      return `device ${e.device} flags 0x${
        e.flags.toString(16)
      } ${e.bytes.length} bytes`;
    case "char-write":
      return `result ${e.result} offset ${e.offset}`;
    case "char-read-all":
      return quoted(e.bytes);
    case "char-read-all-error":
      return `error ${e.error}`;
    case "audio-out":
      return `played ${e.played}`;
    case "audio-in":
      return `wpos ${e.wpos} ${e.samples.length} samples`;
    case "random": {
      const head = hexBytes(e.bytes, SHOWN_BYTES);
      const more = e.bytes.length > SHOWN_BYTES ? "..." : "";
      const failed = e.result === 0 ? "" : ` (host call failed: ${e.result})`;
      return `${e.bytes.length} bytes ${head}${more}${failed}`;
    }
    case "clock":
      return signedHex(e.value);
    case "config":
      return JSON.stringify(e.config);
    case "state-hash": {
      return e.hashes.map((h) => `${h.part} ${hexBytes(h.hash)}`).join(" ");
    }
    default:
      // interrupt, exception, shutdown, checkpoint, end: the name says it all
      return "";
  }
}

/**
 * Print every event of a log, one per line: its number (from 1), name, id,
 * absolute instruction count and fields. The first line gives the header,
 * the last how far the log went.
 *
 * @param bytes the log
 * @param write receives each line, without a newline
 * @param options reader limits, and whether to print byte offsets
 * @returns the number of events and the final instruction count
 * @throws {ReplayLogError} if the log is malformed, after the lines before
 *   the fault
 * @throws {ReplayLogTruncatedError} if it ends before `EVENT_END`, likewise
 *
 * @example Dump a short log
 * ```ts
 * import { dumpLog } from "./dump.ts";
 * import { ReplayLogWriter } from "./log.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new ReplayLogWriter({ write: (b) => chunks.push(b) });
 * w.instruction(7);
 * w.write({ kind: "clock", clock: "host", value: 255n });
 * w.end();
 * const log = new Uint8Array(chunks.flatMap((c) => [...c]));
 * const result = dumpLog(log, (line) => console.log(line));
 * // HEADER: version 0xe0200c
 * // 1:EVENT_INSTRUCTION(0) icount 7 +7
 * // 2:EVENT_CLOCK_HOST(28) icount 7 0xff
 * // 3:EVENT_END(39) icount 7
 * // Reached 36 of 36 bytes: 3 events, icount 7
 * console.log(result); // { events: 3, icount: 7 }
 * ```
 */
export function dumpLog(
  bytes: Uint8Array,
  write: (line: string) => void,
  options: DumpLogOptions = {},
): DumpLogResult {
  const reader = new ReplayLogReader(bytes, options);
  write(`HEADER: version 0x${reader.version.toString(16)}`);
  let n = 0;
  for (const e of reader) {
    n++;
    const name = replayEventName(e.eventId) ?? "EVENT_UNKNOWN";
    const at = options.offsets === true ? ` byte ${e.byteOffset}` : "";
    const text = detail(e);
    write(
      `${n}:${name}(${e.eventId}) icount ${e.icount}${at}${
        text === "" ? "" : ` ${text}`
      }`,
    );
  }
  write(
    `Reached ${reader.offset} of ${bytes.length} bytes: ${n} events, icount ${reader.icount}`,
  );
  return { events: n, icount: reader.icount };
}

/** What {@linkcode toQemuLog} made. */
export interface QemuLogExport {
  /** The log, with only QEMU 7.2's event ids. */
  log: Uint8Array;
  /** deja's serial input events, rewritten as `EVENT_ASYNC_CHAR_READ`. */
  converted: number;
  /**
   * deja-only events left out, by name: the configuration, state hashes,
   * the exit status and plugin events, which QEMU has no id for.
   */
  dropped: Record<string, number>;
}

/**
 * A copy of a deja log that QEMU's own tools (`scripts/replay-dump.py`) read
 * to the end: every event of a standard kind at the same instruction count,
 * deja's serial input as `EVENT_ASYNC_CHAR_READ` (same fields), and deja's
 * own events left out. It is for inspection with QEMU's tooling; deja replays
 * the original, which keeps the configuration check and the state hashes.
 *
 * @param bytes a deja (or QEMU) log
 * @param options reader limits
 * @returns the QEMU-only log and what was changed
 * @throws {ReplayLogError} if the log is malformed or cut short
 *
 * @example Keep the standard events, convert the serial input
 * ```ts
 * import { ReplayLogWriter } from "./log.ts";
 * import { dumpLog, toQemuLog } from "./dump.ts";
 * const chunks: Uint8Array[] = [];
 * const w = new ReplayLogWriter({ write: (b) => chunks.push(b) });
 * w.instruction(5);
 * w.write({ kind: "serial-input", device: 0, bytes: Uint8Array.of(0x61) });
 * w.write({ kind: "exit-status", code: 0 });
 * w.write({ kind: "shutdown", cause: "guest-shutdown" });
 * w.end();
 * const out = toQemuLog(new Uint8Array(chunks.flatMap((c) => [...c])));
 * console.log(out.dropped, out.converted); // { EVENT_DEJA_EXIT_STATUS: 1 } 1
 * dumpLog(out.log, (line) => console.log(line));
 * // 2:EVENT_ASYNC_CHAR_READ(7) icount 5 device 0 "a" (1 bytes)
 * // 3:EVENT_SHUTDOWN_GUEST_SHUTDOWN(16) icount 5
 * ```
 */
export function toQemuLog(
  bytes: Uint8Array,
  options: ReplayLogReaderOptions = {},
): QemuLogExport {
  const chunks: Uint8Array[] = [];
  const writer = new ReplayLogWriter({ write: (b) => chunks.push(b) });
  const dropped: Record<string, number> = {};
  let converted = 0;
  for (const e of new ReplayLogReader(bytes, options)) {
    if (e.kind === "instruction") continue; // positions come from icount
    let event: ReplayEvent;
    if (e.kind === "serial-input") {
      event = { kind: "async-char-read", device: e.device, bytes: e.bytes };
      converted++;
    } else if (e.eventId >= 0xc0) {
      const name = replayEventName(e.eventId) ?? `0x${e.eventId.toString(16)}`;
      dropped[name] = (dropped[name] ?? 0) + 1;
      continue;
    } else {
      const { eventId: _id, byteOffset: _at, icount: _n, size: _s, ...rest } =
        e;
      event = rest as ReplayEvent;
    }
    writer.advanceTo(e.icount);
    writer.write(event);
  }
  return { log: concatBytes(chunks), converted, dropped };
}

function usage(): string {
  return "Usage: deno run --allow-read replay/dump.ts FILE [--offsets]";
}

/** Buffers lines and writes them to stdout in large chunks. */
function stdoutLines(): { line(s: string): void; flush(): void } {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let size = 0;
  const flush = (): void => {
    const bytes = encoder.encode(pending.join(""));
    pending = [];
    size = 0;
    let done = 0;
    while (done < bytes.length) {
      done += Deno.stdout.writeSync(bytes.subarray(done));
    }
  };
  return {
    line(s: string): void {
      pending.push(s, "\n");
      size += s.length + 1;
      if (size >= 1 << 16) flush();
    },
    flush,
  };
}

function main(args: string[]): number {
  const offsets = args.includes("--offsets");
  const files = args.filter((a) => a !== "--offsets");
  if (files.length !== 1 || files[0]!.startsWith("-")) {
    console.error(usage());
    return 2;
  }
  const out = stdoutLines();
  try {
    const bytes = Deno.readFileSync(files[0]!);
    dumpLog(bytes, out.line, { offsets });
    out.flush();
    return 0;
  } catch (err) {
    try {
      out.flush();
    } catch (flushErr) {
      if (flushErr instanceof Deno.errors.BrokenPipe) return 0;
      throw flushErr;
    }
    if (err instanceof Deno.errors.BrokenPipe) return 0;
    // One line, no stack trace (the replay layer does not use the CLI's
    // error printer: it sits below it).
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(main(Deno.args));
}
