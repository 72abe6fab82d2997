/**
 * Record and replay whole sessions in process, for `deno test` suites:
 * {@linkcode record} runs a machine with scripted input and returns its
 * replay log (the bytes of an `-icount rr=record` file); {@linkcode replay}
 * runs the same machine from that log alone; {@linkcode assertReplayMatches} checks that the two
 * runs agree on output, instruction count, state hash and exit status.
 *
 * @module
 */

import { VIRT_DEVICES, type VirtMachine } from "../devices/virt.ts";
import type { ExitStatus, VirtMachineOptions } from "../devices/virt.ts";
import { machineConfig, recordedVirtioLegacy } from "./config.ts";
import type { ReplayConfig } from "./log.ts";
import { checkLogEventKinds, LogRecorder, LogReplayer } from "./machine_log.ts";
import { Runner } from "./runner.ts";
import { concatBytes } from "./bytes.ts";

/** The machine to run: everything but the I/O and replay hooks. */
export type SessionMachineOptions = Omit<
  VirtMachineOptions,
  "output" | "events"
>;

export { VIRT_DEVICES } from "../devices/virt.ts";

/**
 * The configuration a session logs for a machine.
 *
 * @param options the machine
 * @param rrcheck the state hash interval
 * @returns the configuration
 */
export function sessionConfig(
  options: SessionMachineOptions,
  rrcheck = 0,
): Promise<ReplayConfig> {
  return machineConfig({
    memoryBytes: options.memoryBytes ?? 128 * 1024 * 1024,
    bios: options.bios ?? "none",
    kernel: options.kernel,
    initrd: options.initrd,
    dtb: options.dtb,
    append: options.append,
    icountShift: options.icountShift ?? 3,
    sleep: false,
    noReboot: options.noReboot ?? false,
    devices: [...VIRT_DEVICES],
    plugins: [],
    rrcheck,
    virtioLegacy: options.virtioLegacy ?? true,
    virtio: options.virtio?.map((v) =>
      v.kind === "blk" && v.identity
        ? { kind: v.kind, image: v.identity }
        : { kind: v.kind }
    ),
  });
}

/** What the input script sees between slices. */
export interface InputContext {
  /** All serial output so far. */
  readonly output: string;
  /** Instructions retired so far. */
  readonly icount: number;
  /** Whether the guest is idle (waiting in `wfi`). */
  readonly idle: boolean;
}

/** Options for {@linkcode record}. */
export interface RecordOptions extends SessionMachineOptions {
  /**
   * Called between slices; returns text to type on the serial console, or
   * nothing. This is where host timing enters: the call happens whenever
   * the host gets to it, and the recording notes the instruction count.
   */
  input?: (ctx: InputContext) => string | Uint8Array | undefined;
  /**
   * Instructions per slice between input checks.
   *
   * @default {100000}
   */
  sliceInsns?: number;
  /**
   * Stop after this many instructions even if the guest has not exited.
   *
   * @default {2e9}
   */
  maxInsns?: number;
  /**
   * Store a hash of the machine state every this many instructions
   * (`-icount rrcheck=N`), so that a replay can tell where it diverged; 0
   * for none.
   *
   * @default {0}
   */
  rrcheck?: number;
}

/** Options for {@linkcode replay}. */
export interface ReplayOptions extends SessionMachineOptions {
  /**
   * Stop after this many instructions even if the log goes on.
   *
   * @default {2e9}
   */
  maxInsns?: number;
  /**
   * Run `fn` on the machine when the replay reaches instruction `icount`,
   * before it goes on: for tests that change the guest state on purpose.
   */
  at?: { icount: number; fn: (machine: VirtMachine) => void };
}

/** What a recorded or replayed session produced. */
export interface SessionResult {
  /** Instructions retired. */
  icount: number;
  /** {@linkcode VirtMachine.stateHash} at the end. */
  stateHash: string;
  /** All serial output, as text. */
  output: string;
  /** How the guest exited, if it did. */
  exit: ExitStatus | undefined;
}

/** A recording: the session's result and its log. */
export interface Recording extends SessionResult {
  /** The replay log, in QEMU's format with deja's events (`replay/log.ts`). */
  log: Uint8Array;
}

/** What a replay produced, and how its log ended. */
export interface ReplayResult extends SessionResult {
  /**
   * Why the replay stopped: the guest exited, the log's `EVENT_END`, the
   * log was cut short (`truncated` says where), or `maxInsns`.
   */
  end: "exit" | "end" | "truncated" | "max-insns";
  /** For a log that was cut short: what the reader said, with the icount. */
  truncated?: string;
  /** State hashes (`rrcheck`) compared on the way. */
  checks: number;
}

function collect(): { text: () => string; sink: (b: Uint8Array) => void } {
  const dec = new TextDecoder();
  let out = "";
  return {
    text: () => out,
    sink: (b) => (out += dec.decode(b, { stream: true })),
  };
}

/**
 * Record a session.
 *
 * @param options the machine and the input script
 * @returns the result and the log
 * @example Record a guest that powers off at once
 * ```ts
 * import { record } from "./session.ts";
 * // li t0, 0x100000 ; li t1, 0x5555 ; sw t1, 0(t0)
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const rec = await record({ bios: "none", kernel, memoryBytes: 1 << 20 });
 * if (rec.exit?.kind !== "poweroff") throw new Error("unreachable");
 * ```
 */
export async function record(options: RecordOptions): Promise<Recording> {
  const {
    input,
    sliceInsns = 100_000,
    maxInsns = 2e9,
    rrcheck = 0,
    ...machine
  } = options;
  const chunks: Uint8Array[] = [];
  const recorder = new LogRecorder(
    { write: (b) => chunks.push(b) },
    await sessionConfig(machine, rrcheck),
    { rrcheck },
  );
  const out = collect();
  // Idle time passes deterministically (to the next timer deadline).
  const runner = new Runner({
    machine: { ...machine, output: out.sink },
    record: recorder.hook,
    checks: recorder,
    warpIdle: true,
  });
  const m = runner.machine;
  let exit: ExitStatus | undefined;
  let idle = false;
  while (m.cpu.icount < maxInsns) {
    const typed = input?.({ output: out.text(), icount: m.cpu.icount, idle });
    if (typed !== undefined) {
      m.sendInput(
        typeof typed === "string" ? new TextEncoder().encode(typed) : typed,
      );
    }
    const r = runner.run(Math.min(sliceInsns, maxInsns - m.cpu.icount));
    idle = r.kind === "idle";
    if (r.kind === "exit") {
      exit = r.status;
      break;
    }
    // Idle with no timer and nothing typed: nothing more will happen.
    if (idle && typed === undefined && m.pendingInput === 0) break;
  }
  if (!exit) runner.endRecording();
  recorder.finish(exit ? "guest" : "host-ui", m.cpu.icount);
  return {
    icount: m.cpu.icount,
    stateHash: await m.stateHash(),
    output: out.text(),
    exit,
    log: concatBytes(chunks),
  };
}

/**
 * Replay a session from its log alone.
 *
 * @param log the recording's log
 * @param options the same machine as recorded
 * @returns what the replay produced, and how the log ended
 * @throws {UnknownEventKindError} if the log holds plugin event kinds that
 *   none of `options.devices` brings
 * @throws {ReplayConfigError} if the machine is not the one recorded
 * @throws {ReplayLogError} if the log is corrupt (not if it is cut short)
 * @throws {ReplayDivergenceError} if the replay leaves the recording,
 *   including a {@linkcode StateHashMismatchError} under `rrcheck`
 * @example Replay a recording
 * ```ts
 * import { record, replay, assertReplayMatches } from "./session.ts";
 * const kernel = new Uint8Array([
 *   0xb7, 0x02, 0x10, 0x00, 0x37, 0x53, 0x00, 0x00, 0x1b, 0x03, 0x53, 0x55,
 *   0x23, 0xa0, 0x62, 0x00,
 * ]);
 * const rec = await record({ bios: "none", kernel, memoryBytes: 1 << 20 });
 * const rep = await replay(rec.log, { bios: "none", kernel, memoryBytes: 1 << 20 });
 * assertReplayMatches(rec, rep);
 * ```
 */
export async function replay(
  log: Uint8Array,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const { maxInsns = 2e9, at, ...machine } = options;
  // Plugin event kinds that no device here brings: refused before anything.
  checkLogEventKinds(log, machine.devices ?? []);
  const replayer = new LogReplayer(log);
  // Older logs had version-2 virtio-mmio slots (config.ts).
  machine.virtioLegacy ??= recordedVirtioLegacy(replayer.config);
  replayer.checkConfig(await sessionConfig(machine, replayer.rrcheck));
  const out = collect();
  const runner = new Runner({
    machine: { ...machine, output: out.sink },
    replay: replayer.source,
    checks: replayer,
    warpIdle: true,
  });
  const m = runner.machine;
  let exit: ExitStatus | undefined;
  let end: ReplayResult["end"] = "max-insns";
  let pending = at;
  while (m.cpu.icount < maxInsns) {
    if (pending && m.cpu.icount >= pending.icount) {
      pending.fn(m);
      pending = undefined;
    }
    let budget = Math.min(1_000_000, maxInsns - m.cpu.icount);
    if (pending) budget = Math.min(budget, pending.icount - m.cpu.icount);
    const r = runner.run(budget);
    if (r.kind === "exit") {
      exit = r.status;
      end = "exit";
      break;
    }
    if (r.kind === "replay-end" || r.kind === "idle") {
      end = replayer.truncated ? "truncated" : "end";
      break;
    }
  }
  return {
    icount: m.cpu.icount,
    stateHash: await m.stateHash(),
    output: out.text(),
    exit,
    end,
    ...(replayer.truncated ? { truncated: replayer.truncated.message } : {}),
    checks: replayer.checks,
  };
}

/**
 * Check that a replay reproduced its recording: the same serial output, the
 * same final instruction count and state hash, and the same exit status.
 *
 * @param recorded the recording
 * @param replayed the replay
 * @throws {Error} naming the first thing that differs
 * @example See {@linkcode replay}
 * ```ts
 * import { assertReplayMatches } from "./session.ts";
 * const r = { icount: 1, stateHash: "ab", output: "x", exit: undefined };
 * assertReplayMatches(r, { ...r });
 * ```
 */
export function assertReplayMatches(
  recorded: SessionResult,
  replayed: SessionResult,
): void {
  if (recorded.output !== replayed.output) {
    let i = 0;
    while (recorded.output[i] === replayed.output[i]) i++;
    throw new Error(
      `Replay does not match: serial output differs at character ${i}: recorded ${
        JSON.stringify(recorded.output.slice(i, i + 40))
      }, replayed ${JSON.stringify(replayed.output.slice(i, i + 40))}`,
    );
  }
  if (recorded.icount !== replayed.icount) {
    throw new Error(
      `Replay does not match: recorded ${recorded.icount} instructions, replayed ${replayed.icount}`,
    );
  }
  if (
    JSON.stringify(recorded.exit, big) !== JSON.stringify(replayed.exit, big)
  ) {
    throw new Error(
      `Replay does not match: recorded exit ${
        JSON.stringify(recorded.exit, big)
      }, replayed ${JSON.stringify(replayed.exit, big)}`,
    );
  }
  if (recorded.stateHash !== replayed.stateHash) {
    throw new Error(
      `Replay does not match: the state hash differs at instruction ${recorded.icount}`,
    );
  }
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
