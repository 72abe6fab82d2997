/**
 * New timelines: a replay stopped at any instruction count leaves its log
 * and goes on live (the monitor's `replay_go_live [rrfile=NEW]`, QMP's
 * `x-replay-go-live`). With `rrfile=NEW` the run from there is recorded to
 * a new log that starts from a snapshot of that point, so that the branch
 * is itself replayable.
 *
 * A branch log is an ordinary log whose configuration has one more field,
 * `start`: the name of the snapshot it starts from (a snapshot file in
 * `NEW.snapshots/`, `replay/snapshot_file.ts`), its instruction count, the
 * SHA-256 of the machine it holds ({@linkcode snapshotDigest}) and the
 * identity of the log it branched from. The snapshot file names the new
 * log's identity in turn. The log's first events are the inputs the board
 * read as it was built (the host clock, the FDT's entropy), copied from the
 * original log, so that a replay of the branch builds the same board before
 * it loads the snapshot; every later event is at or after `start.icount`.
 *
 * Replaying a branch log (`-icount rr=replay,rrfile=NEW` with the machine
 * options of the original) loads the start snapshot, checks it against the
 * log (format, checksums, configuration, log identity, digest) and replays
 * on from there.
 *
 * @module
 */

import type { MachineSnapshot } from "../devices/snapshot.ts";
import type { ReplayConfig } from "../replay/log.ts";
import { LogRecorder } from "../replay/machine_log.ts";
import type { NondetEvent } from "../replay/nondet.ts";
import {
  decodeSnapshotFile,
  encodeSnapshotFile,
  logIdentity,
  snapshotDigest,
  SnapshotFileError,
  snapshotPath,
} from "../replay/snapshot_file.ts";

/** The name of the snapshot a branch log starts from. */
export const BRANCH_SNAPSHOT = "start";

/** Where a branch log starts: its configuration's `start` field. */
export interface BranchStart {
  /** The snapshot's name (`LOG.snapshots/NAME.djsnap`). */
  readonly snapshot: string;
  /** The instruction count it was taken at. */
  readonly icount: number;
  /** SHA-256 of the machine it holds ({@linkcode snapshotDigest}). */
  readonly sha256: string;
  /** The identity of the log the branch left (`logIdentity`). */
  readonly from: string;
}

/** A recording's log file. */
export interface OpenedRecording {
  /** The recorder (the runner's `record` and `checks`). */
  readonly recorder: LogRecorder;
  /** The log's first bytes: its header and configuration event. */
  readonly head: Uint8Array;
  /** Close the file. */
  close(): void;
}

/**
 * Start a log file: every event goes to the file in one write as it
 * happens, so a recorder killed at any moment leaves a log that replays up
 * to its last event.
 *
 * @param path the log's path (created, or truncated)
 * @param config the machine configuration to log
 * @param options state hashes, and the check that the caller may write
 * @returns the recorder, the log's first bytes, and how to close the file
 * @example Record nothing, then end the log
 * ```ts
 * import { openRecording } from "./go_live.ts";
 * const path = Deno.makeTempFileSync();
 * const config = { board: "virt", ramSize: 1 << 20, firmware: null, kernel: null, devices: [], plugins: [] };
 * const rec = openRecording(path, config, { rrcheck: 0 });
 * rec.recorder.finish("host-signal", 0);
 * rec.close();
 * console.log(Deno.readFileSync(path).length > rec.head.length); // true
 * ```
 */
export function openRecording(
  path: string,
  config: ReplayConfig,
  options: { rrcheck: number; assertHeld?: () => void },
): OpenedRecording {
  const file = Deno.openSync(path, {
    write: true,
    create: true,
    truncate: true,
  });
  // The recorder writes the header and the configuration as it is made:
  // kept, for the log's identity in a snapshot.
  const head: Uint8Array[] = [];
  let keep = true;
  let recorder: LogRecorder;
  try {
    recorder = new LogRecorder(
      {
        write: (b) => {
          if (keep) head.push(b.slice());
          let off = 0;
          while (off < b.length) off += file.writeSync(b.subarray(off));
        },
        sync: () => file.syncSync(),
      },
      config,
      {
        rrcheck: options.rrcheck,
        ...(options.assertHeld ? { assertHeld: options.assertHeld } : {}),
      },
    );
  } catch (err) {
    file.close();
    throw err;
  }
  keep = false;
  const bytes = new Uint8Array(head.reduce((n, b) => n + b.length, 0));
  head.reduce((at, b) => (bytes.set(b, at), at + b.length), 0);
  return { recorder, head: bytes, close: () => file.close() };
}

/**
 * The `start` of a log's configuration, if the log is a branch.
 *
 * @param config the log's configuration
 * @returns where it starts, or undefined for a log that starts at the
 *   board's reset
 * @throws {SnapshotFileError} if the field is there but malformed
 * @example
 * ```ts
 * import { branchStart } from "./go_live.ts";
 * const config = { board: "virt", ramSize: 1 << 20, firmware: null, kernel: null, devices: [], plugins: [] };
 * console.log(branchStart(config)); // undefined
 * ```
 */
export function branchStart(config: ReplayConfig): BranchStart | undefined {
  const s = config.start as Partial<BranchStart> | undefined;
  if (s === undefined) return undefined;
  if (
    !s || typeof s.snapshot !== "string" || typeof s.sha256 !== "string" ||
    typeof s.from !== "string" || !Number.isSafeInteger(s.icount)
  ) {
    throw new SnapshotFileError(
      "Cannot replay this log: its configuration's start (the snapshot a branched timeline starts from) is malformed",
    );
  }
  return s as BranchStart;
}

/** What {@linkcode startBranch} needs of the machine. */
export interface BranchMachine {
  readonly cpu: { readonly icount: number };
  saveSnapshot(): MachineSnapshot;
}

/**
 * Start a branch log at the machine's current point: snapshot the machine,
 * open the log `path` with the original's configuration plus `start`, copy
 * the board's creation inputs into it, and write the start snapshot beside
 * it (`path.snapshots/start.djsnap`).
 *
 * @param machine the machine, paused where the branch starts
 * @param path the new log's path
 * @param parent the original log's configuration and bytes, and the inputs
 *   the board read as it was built (taken from the original log)
 * @param options the check that the caller may write the log
 * @returns the recording, the snapshot file's path and the new log's
 *   configuration
 * @throws {SnapshotFileError} if a file cannot be written
 */
export function startBranch(
  machine: BranchMachine,
  path: string,
  parent: {
    config: ReplayConfig;
    log: Uint8Array;
    creation: readonly NondetEvent[];
  },
  options: { assertHeld?: () => void } = {},
): OpenedRecording & { snapshotPath: string; config: ReplayConfig } {
  const snap = machine.saveSnapshot();
  const icount = machine.cpu.icount;
  const start: BranchStart = {
    snapshot: BRANCH_SNAPSHOT,
    icount,
    sha256: snapshotDigest(snap),
    from: logIdentity(parent.log),
  };
  const { start: _old, ...base } = parent.config;
  const config: ReplayConfig = { ...base, start: { ...start } };
  const rrcheck = typeof base.rrcheck === "number" ? base.rrcheck : 0;
  const file = snapshotPath(path, BRANCH_SNAPSHOT);
  let rec: OpenedRecording;
  try {
    rec = openRecording(path, config, {
      rrcheck,
      ...(options.assertHeld ? { assertHeld: options.assertHeld } : {}),
    });
  } catch (err) {
    throw new SnapshotFileError(
      `Cannot record the new timeline to ${path}: ${(err as Error).message}`,
    );
  }
  try {
    for (const e of parent.creation) rec.recorder.hook(e);
    const bytes = encodeSnapshotFile(snap, {
      name: BRANCH_SNAPSHOT,
      icount,
      config,
      log: logIdentity(rec.head),
    });
    Deno.mkdirSync(`${path}.snapshots`, { recursive: true });
    Deno.writeFileSync(file, bytes);
  } catch (err) {
    rec.close();
    throw new SnapshotFileError(
      `Cannot save the new timeline's start snapshot ${file}: ${
        (err as Error).message
      }`,
    );
  }
  return { ...rec, snapshotPath: file, config };
}

/**
 * Replaying a branch log: load the snapshot it starts from into the
 * machine (just built, at instruction 0), after checking the file against
 * the log.
 *
 * @param machine the replay's machine
 * @param logPath the log's path
 * @param config the log's configuration (with `start`)
 * @param log the log's bytes
 * @returns the instruction count the replay goes on from
 * @throws {SnapshotFileError} if the file is missing, cut short, corrupt, or
 *   not the one the log names
 */
export function loadBranchStart(
  machine: { restoreSnapshot(s: MachineSnapshot): void },
  logPath: string,
  config: ReplayConfig,
  log: Uint8Array,
): number {
  const start = branchStart(config);
  if (!start) return 0;
  const path = snapshotPath(logPath, start.snapshot);
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    throw new SnapshotFileError(
      err instanceof Deno.errors.NotFound
        ? `Cannot replay ${logPath}: it is a branched timeline that starts from snapshot ${start.snapshot} at instruction ${start.icount}, and there is no ${path}; keep the log's .snapshots folder beside it`
        : `Cannot replay ${logPath}: its start snapshot ${path}: ${
          (err as Error).message
        }`,
    );
  }
  const { info, snapshot } = decodeSnapshotFile(bytes, {
    config,
    log: logIdentity(log),
    path,
  });
  if (
    info.icount !== start.icount || snapshotDigest(snapshot) !== start.sha256
  ) {
    throw new SnapshotFileError(
      `Cannot replay ${logPath}: ${path} is not the snapshot the log starts from (its instruction count or contents differ); the log needs the snapshot it was recorded with`,
    );
  }
  machine.restoreSnapshot(snapshot);
  return start.icount;
}
