/**
 * The monitor's named snapshots in a replay or a recording (`savevm`,
 * `loadvm`, `delvm`, `info snapshots`), as files beside the log
 * (`replay/snapshot_file.ts`).
 * They run in the vCPU worker while the machine is paused, synchronously.
 *
 * In a replay, `loadvm NAME` goes to that snapshot's instruction count (the
 * replay's time travel: the nearest in-memory snapshot, then replay) and
 * checks that the machine there is the one the file holds, byte for byte:
 * a replay is deterministic, so a difference means the file does not
 * belong to this replay. While recording, `savevm` writes the machine as
 * it is; a later replay of the log reaches it with `loadvm`.
 *
 * @module
 */

import type { MachineSnapshot } from "../devices/snapshot.ts";
import type { ReplayConfig } from "../replay/log.ts";
import type { TimeTravel } from "../replay/time_travel.ts";
import {
  decodeSnapshotFile,
  encodeSnapshotFile,
  logIdentity,
  SnapshotFileError,
  snapshotPath,
} from "../replay/snapshot_file.ts";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The first section where two machine snapshots differ, or undefined. */
function difference(
  a: MachineSnapshot,
  b: MachineSnapshot,
): string | undefined {
  for (const k of ["hart", "clock", "board", "ram"] as const) {
    if (!sameBytes(a[k], b[k])) return k === "ram" ? "RAM" : `the ${k}`;
  }
  if (a.devices.length !== b.devices.length) return "the device list";
  for (let i = 0; i < a.devices.length; i++) {
    const x = a.devices[i]!, y = b.devices[i]!;
    if (x.name !== y.name || !sameBytes(x.state, y.state)) {
      return `device ${x.name}`;
    }
  }
  return undefined;
}

/**
 * After replaying to a snapshot's instruction count: check that the replay
 * got there and that the machine is the file's, byte for byte (a replay is
 * deterministic, so a difference means the file belongs to another replay).
 */
function checkArrival(
  name: string,
  icount: number,
  snapshot: MachineSnapshot,
  stopped: string,
  m: { cpu: { icount: number }; snapshotParts(): MachineSnapshot },
  nextInput?: () => boolean,
): number {
  if (m.cpu.icount !== icount) {
    throw new SnapshotFileError(
      `Cannot load snapshot ${name}: the replay stops (${stopped}) at instruction ${m.cpu.icount}, before its instruction ${icount}`,
    );
  }
  let d = difference(snapshot, m.snapshotParts());
  // Several inputs can share an instruction count (the warps of an idle
  // hart, taken while recording): the snapshot may stand among them.
  while (d && nextInput?.()) d = difference(snapshot, m.snapshotParts());
  if (d) {
    throw new SnapshotFileError(
      `Cannot load snapshot ${name}: at instruction ${icount} this replay's ${d} differs from the file's; the file does not belong to this replay`,
    );
  }
  return icount;
}

/** What {@linkcode NamedSnapshots} needs of the machine. */
export interface SnapshotMachine {
  /** The hart's instruction count. */
  readonly cpu: { readonly icount: number };
  /** A snapshot of the whole machine. */
  saveSnapshot(): MachineSnapshot;
  /** Its sections, RAM as a view (to compare). */
  snapshotParts(): MachineSnapshot;
}

/**
 * Named snapshots of a replay or a recording, on disk. In a recording,
 * `savevm` writes the machine as it is (nothing goes into the log), and a
 * later replay of the log reaches it with `loadvm`.
 *
 * @example Where the files go
 * ```ts
 * import { snapshotPath } from "../replay/snapshot_file.ts";
 * console.log(snapshotPath("run.rr", "init")); // run.rr.snapshots/init.djsnap
 * ```
 */
export class NamedSnapshots {
  readonly #machine: SnapshotMachine;
  readonly #travel: TimeTravel | undefined;
  readonly #logPath: string;
  readonly #config: ReplayConfig;
  #log: string | (() => string);

  /**
   * Named snapshots for a replay or a recording.
   *
   * @param machine the machine
   * @param logPath the log's path (the files go beside it)
   * @param options the log's identity (`logIdentity` of its bytes, or of a
   *   recording's first bytes; or a function that computes it, called when
   *   a snapshot is first saved or loaded), the machine configuration the
   *   log records, and in a replay its time travel (`loadvm` needs it)
   */
  constructor(
    machine: SnapshotMachine,
    logPath: string,
    options: {
      identity: string | (() => string);
      config: ReplayConfig;
      travel?: TimeTravel;
    },
  ) {
    this.#machine = machine;
    this.#travel = options.travel;
    this.#logPath = logPath;
    this.#config = options.config;
    this.#log = options.identity;
  }

  /** The log's identity, computed once. */
  #identity(): string {
    if (typeof this.#log === "function") this.#log = this.#log();
    return this.#log;
  }

  /**
   * `savevm NAME`: write the machine here to `LOG.snapshots/NAME.djsnap`.
   *
   * @param name the snapshot's name
   * @returns what to print
   */
  save(name: string): string {
    const path = snapshotPath(this.#logPath, name);
    const m = this.#machine;
    const bytes = encodeSnapshotFile(m.saveSnapshot(), {
      name,
      icount: m.cpu.icount,
      config: this.#config,
      log: this.#identity(),
    });
    Deno.mkdirSync(`${this.#logPath}.snapshots`, { recursive: true });
    Deno.writeFileSync(path, bytes);
    return `Saved snapshot ${name} at instruction ${m.cpu.icount} (${bytes.length} bytes, ${path})`;
  }

  /**
   * `loadvm NAME`: go to the snapshot's instruction count and check the
   * machine there against the file.
   *
   * @param name the snapshot's name
   * @returns the instruction count
   * @throws {SnapshotFileError} if the file is missing, bad, of another
   *   configuration or log, or does not match this replay
   */
  load(name: string): number {
    const path = snapshotPath(this.#logPath, name);
    const travel = this.#travel;
    if (!travel) {
      throw new SnapshotFileError(
        `Cannot load snapshot ${name} while recording: the log cannot go back; loadvm ${name} works in a replay of this log (-icount rr=replay,rrfile=${this.#logPath})`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (err) {
      throw new SnapshotFileError(
        err instanceof Deno.errors.NotFound
          ? `Cannot load snapshot ${name}: there is no ${path} (info snapshots lists them)`
          : `Cannot load snapshot ${name}: ${(err as Error).message}`,
      );
    }
    const { info, snapshot } = decodeSnapshotFile(bytes, {
      config: this.#config,
      log: this.#identity(),
      path,
    });
    const r = travel.seek(info.icount);
    return checkArrival(
      name,
      info.icount,
      snapshot,
      r.kind,
      this.#machine,
      () => travel.runner.applyNextInput(),
    );
  }

  /**
   * `delvm NAME`: delete the file.
   *
   * @param name the snapshot's name
   */
  delete(name: string): void {
    const path = snapshotPath(this.#logPath, name);
    try {
      Deno.removeSync(path);
    } catch (err) {
      throw new SnapshotFileError(
        err instanceof Deno.errors.NotFound
          ? `Cannot delete snapshot ${name}: there is no ${path}`
          : `Cannot delete snapshot ${name}: ${(err as Error).message}`,
      );
    }
  }

  /**
   * `info snapshots`: the snapshots beside the log.
   *
   * @returns the table
   */
  list(): string {
    const rows: string[] = [];
    let names: string[] = [];
    try {
      names = [...Deno.readDirSync(`${this.#logPath}.snapshots`)]
        .filter((e) => e.isFile && e.name.endsWith(".djsnap"))
        .map((e) => e.name.slice(0, -".djsnap".length)).sort();
    } catch { /* no folder: none */ }
    for (const n of names) {
      const path = snapshotPath(this.#logPath, n);
      let icount = "?", note = "";
      const bytes = Deno.readFileSync(path);
      try {
        const { info } = decodeSnapshotFile(bytes, { log: this.#identity() });
        icount = String(info.icount);
      } catch (err) {
        note = ` (${
          (err as Error).message.replace(/^Cannot load [^:]*: /, "")
        })`;
      }
      rows.push(
        `${n.padEnd(16)} ${icount.padStart(14)} ${
          String(bytes.length).padStart(12)
        }${note}`,
      );
    }
    if (rows.length === 0) return "There is no snapshot available.\n";
    return [
      `${"Name".padEnd(16)} ${"Instruction".padStart(14)} ${
        "Bytes".padStart(12)
      }`,
      ...rows,
    ]
      .join("\n") + "\n";
  }
}

/**
 * `-icount rr=record,rrsnapshot=NAME`: write the machine as the recording
 * starts (before its first instruction) to `LOG.snapshots/NAME.djsnap`.
 *
 * @param machine the machine, at its start
 * @param logPath the log's path (the file goes beside it)
 * @param name the snapshot's name
 * @param config the machine configuration the log records
 * @param logHead the log's first bytes: its header and configuration event
 * @returns the file's path
 * @throws {SnapshotFileError} for a bad name, or a file that cannot be written
 */
export function saveStartSnapshot(
  machine: {
    readonly cpu: { readonly icount: number };
    saveSnapshot(): MachineSnapshot;
  },
  logPath: string,
  name: string,
  config: ReplayConfig,
  logHead: Uint8Array,
): string {
  const path = snapshotPath(logPath, name);
  const bytes = encodeSnapshotFile(machine.saveSnapshot(), {
    name,
    icount: machine.cpu.icount,
    config,
    log: logIdentity(logHead),
  });
  try {
    Deno.mkdirSync(`${logPath}.snapshots`, { recursive: true });
    Deno.writeFileSync(path, bytes);
  } catch (err) {
    throw new SnapshotFileError(
      `Cannot save snapshot ${name}: ${path}: ${(err as Error).message}`,
    );
  }
  return path;
}

/**
 * `-icount rr=replay,rrsnapshot=NAME`: start the replay from snapshot NAME.
 * The file is checked (format, checksums, configuration, log). At the
 * machine's instruction count (a snapshot taken as the recording started)
 * the machine is loaded from it; a later one (a `savevm` in a replay) is
 * reached by replaying to it, and the machine there must match the file
 * byte for byte.
 *
 * @param runner the replay's runner, at its start
 * @param logPath the log's path
 * @param name the snapshot's name
 * @param config the machine configuration the log records
 * @param log the log's bytes
 * @returns the instruction count the replay goes on from
 * @throws {SnapshotFileError} if the file is missing, bad, of another
 *   configuration or log, or does not match this replay
 */
export function loadStartSnapshot(
  runner: {
    readonly machine: {
      readonly cpu: { readonly icount: number };
      restoreSnapshot(s: MachineSnapshot): void;
      snapshotParts(): MachineSnapshot;
    };
    runUntil(icount: number): { kind: string };
    applyNextInput?(): boolean;
  },
  logPath: string,
  name: string,
  config: ReplayConfig,
  log: Uint8Array,
): number {
  const path = snapshotPath(logPath, name);
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    throw new SnapshotFileError(
      err instanceof Deno.errors.NotFound
        ? `Cannot load snapshot ${name}: there is no ${path} (record with -icount rr=record,rrsnapshot=${name} to make it)`
        : `Cannot load snapshot ${name}: ${path}: ${(err as Error).message}`,
    );
  }
  const { info, snapshot } = decodeSnapshotFile(bytes, {
    config,
    log: logIdentity(log),
    path,
  });
  const m = runner.machine;
  if (info.icount === m.cpu.icount) {
    m.restoreSnapshot(snapshot);
    return info.icount;
  }
  if (info.icount < m.cpu.icount) {
    throw new SnapshotFileError(
      `Cannot load snapshot ${name}: it was taken at instruction ${info.icount}, before the replay's start at ${m.cpu.icount}`,
    );
  }
  const r = runner.runUntil(info.icount);
  return checkArrival(
    name,
    info.icount,
    snapshot,
    r.kind,
    m,
    runner.applyNextInput ? () => runner.applyNextInput!() : undefined,
  );
}
