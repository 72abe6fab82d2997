/**
 * deja's replay log: QEMU 7.2's record/replay format (version 0xe0200c) with
 * a few events of deja's own, a writer that leaves a readable log however the
 * recorder stops, a strict reader, and a dump in the manner of QEMU's
 * `scripts/replay-dump.py`.
 *
 * - {@linkcode ReplayLogWriter} writes the header first and each event whole,
 *   coalescing instruction counts into `EVENT_INSTRUCTION` as QEMU does.
 * - {@linkcode ReplayLogReader} annotates each event with its absolute
 *   instruction count and byte offset; it throws
 *   {@linkcode ReplayLogTruncatedError} for a log that was cut short and
 *   {@linkcode ReplayLogError} for one that is corrupt, and nothing else.
 * - {@linkcode dumpLog} prints a log one event per line; `replay/dump.ts` is
 *   also a command.
 *
 * See `log.ts` for the byte layout and how it differs from QEMU's.
 *
 * @example Write a log, read it back and dump it
 * ```ts
 * import { dumpLog, ReplayLogReader, ReplayLogWriter } from "./mod.ts";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new ReplayLogWriter({ write: (b) => chunks.push(b) });
 * writer.write({
 *   kind: "config",
 *   config: {
 *     board: "virt",
 *     ramSize: 128 * 1024 * 1024,
 *     firmware: null,
 *     kernel: null,
 *     devices: ["ns16550a"],
 *     plugins: [],
 *   },
 * });
 * writer.instruction(1_000);
 * writer.write({ kind: "serial-input", device: 0, bytes: new Uint8Array([0x61]) });
 * writer.instruction(250);
 * writer.write({ kind: "shutdown", cause: "guest-shutdown" });
 * writer.end();
 * const log = new Uint8Array(chunks.flatMap((c) => [...c]));
 *
 * const kinds = [...new ReplayLogReader(log)].map((e) => `${e.icount} ${e.kind}`);
 * console.log(kinds);
 * // [ "0 config", "1000 instruction", "1000 serial-input", "1250 instruction",
 * //   "1250 shutdown", "1250 end" ]
 *
 * dumpLog(log, (line) => console.log(line));
 * ```
 *
 * @module
 */

export * from "./log.ts";
export * from "./dump.ts";
export * from "./config.ts";
export * from "./machine_log.ts";
export * from "./state_hash.ts";
export * from "./session.ts";
export * from "./runner.ts";
export * from "./nondet.ts";
export * from "./mutex.ts";
export * from "./bytes.ts";
export * from "./time_travel.ts";
export * from "./snapshot_file.ts";
