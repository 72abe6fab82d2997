/**
 * The CLI's debugging front ends on the main thread: the GDB stub (`-gdb`,
 * `-s`), QMP (`-qmp`), and the monitor's debugging commands
 * (`replay_break`, `replay_delete_break`, `info registers`, `x`, `xp`,
 * `info breakpoints`, `gdbserver`). They reach the machine in the vCPU
 * worker through a {@linkcode DebugLink}, and stop and resume it through
 * the main loop (the replay mutex) or the link (a pause at a checkpoint);
 * neither changes the guest's timeline, so a run stays replayable.
 *
 * @module
 */

import { DebugLink } from "./debug_link.ts";
import type { DebugStopMessage, PauseReason } from "./debug_link.ts";
import { GdbServer } from "./gdb_stub.ts";
import type { GdbStopEvent, GdbTarget } from "./gdb_stub.ts";
import { F_NAMES, REG_CSR0, REG_PC, X_NAMES } from "./debug_target.ts";
import type { WatchKind } from "./debug_target.ts";
import { QmpServer } from "./qmp.ts";
import type { QmpListenOptions, QmpReplayInfo, QmpTarget } from "./qmp.ts";

/** The main loop's side of stopping, as the monitor uses it. */
export interface LoopControl {
  /** Whether the main loop holds the machine stopped. */
  readonly stopped: boolean;
  /** Hold the machine at its next checkpoint. */
  stop(): Promise<void> | void;
  /** Let it go. */
  cont(): Promise<void> | void;
  /** End the run. */
  quit(): Promise<void> | void;
}

/** Options for {@linkcode DebugServers}. */
export interface DebugServersOptions {
  /** The main loop. */
  loop: LoopControl;
  /** Record/replay mode and file, for `query-replay`. */
  rr: RrMode | undefined;
  /** Instructions retired at the last checkpoint. */
  icount: () => number;
  /** Runs a human monitor line (the CLI's monitor); its output. */
  monitor: (line: string) => Promise<string> | string;
  /** `-gdb`: where the stub listens. */
  gdb?: { hostname: string; port: number };
  /** `-qmp`: where QMP listens. */
  qmp?: QmpListenOptions;
  /** Where notes for the user go (stderr). */
  log?: (line: string) => void;
  /** Wakes the worker if it sleeps in an idle wait (after a pause request). */
  wake?: () => void;
  /**
   * The replay went live (`replay_go_live`): recording to a new log, or
   * not recording.
   */
  onLive?: (rr: RrMode | undefined) => void;
}

/** A run's record/replay mode and log. */
export interface RrMode {
  /** Recording or replaying. */
  readonly mode: "record" | "replay";
  /** The log's path. */
  readonly path: string;
}

const hex16 = (v: bigint) => v.toString(16).padStart(16, "0");

function listenError(option: string, where: string, err: unknown): Error {
  const denied = err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotCapable;
  const why = err instanceof Deno.errors.AddrInUse
    ? "the address is in use (another deja or QEMU?); pick another port"
    : denied
    ? `no permission; add --allow-net=${where} to the deno run command`
    : err instanceof Error
    ? err.message
    : String(err);
  return new Error(`Cannot listen for ${option} on ${where}: ${why}`, {
    cause: err,
  });
}

function stopEvent(reason: PauseReason): GdbStopEvent {
  if (reason.kind === "pause") return { kind: "interrupted" };
  if (reason.kind === "replay-break") return { kind: "step" };
  return reason;
}

/**
 * The debugging front ends of one run.
 *
 * The worker's messages of type `debug-stop` go to
 * {@linkcode DebugServers.message}; the run's end to
 * {@linkcode DebugServers.exited}.
 */
export class DebugServers {
  /** The link to the worker (its buffer goes in the start message). */
  readonly link: DebugLink = new DebugLink();
  readonly #o: DebugServersOptions;
  #gdb: GdbServer | undefined;
  #qmp: QmpServer | undefined;
  #ended = false;
  #pausedAt = -1;
  #quiet = false;
  #rr: RrMode | undefined;

  /**
   * Make the front ends; call {@linkcode DebugServers.start} to listen.
   *
   * @param options the main loop, the run's settings and the addresses
   */
  constructor(options: DebugServersOptions) {
    this.#o = options;
    this.#rr = options.rr;
    this.link.onStop = (m) => this.#onStop(m);
  }

  /** The GDB stub's port, when it listens. */
  get gdbPort(): number | undefined {
    return this.#gdb?.port;
  }

  /** QMP's server, when it listens. */
  get qmpPort(): number | undefined {
    return this.#qmpPort;
  }
  #qmpPort: number | undefined;

  /**
   * Listen on the addresses the options give.
   *
   * @throws {Error} naming the address when it cannot listen there
   */
  start(): void {
    if (this.#o.gdb) {
      const { hostname, port } = this.#o.gdb;
      try {
        this.startGdb(hostname, port);
      } catch (err) {
        throw listenError("-gdb", `${hostname}:${port}`, err);
      }
    }
    if (this.#o.qmp) {
      const q = this.#o.qmp;
      this.#qmp = new QmpServer(this.#qmpTarget());
      try {
        this.#qmpPort = this.#qmp.listen(q);
      } catch (err) {
        throw listenError(
          "-qmp",
          q.transport === "tcp" ? `${q.hostname}:${q.port}` : `unix:${q.path}`,
          err,
        );
      }
    }
  }

  /**
   * Start the GDB stub (`-gdb`, or the monitor's `gdbserver`).
   *
   * @param hostname the address
   * @param port the port
   * @returns the port it listens on
   */
  startGdb(hostname: string, port: number): number {
    if (this.#gdb) {
      throw new Error(
        `Cannot start a second gdbserver: one listens on port ${this.#gdb.port}`,
      );
    }
    const link = this.link, loop = this.#o.loop;
    this.#gdb = new GdbServer(this.#gdbTarget(), {
      attach: async () => {
        if (link.paused) return;
        const paused = this.#pause();
        if (loop.stopped) await loop.cont();
        await paused;
        this.#qmp?.emit("STOP");
      },
      resume: (step) => {
        link.request({ op: "resume", step }).catch(() => {});
        if (!step) this.#qmp?.emit("RESUME");
      },
      // Reverse execution: in a replay (cli/reverse.ts, in the worker).
      ...(this.#rr?.mode === "replay"
        ? {
          reverse: (direction: "step" | "continue"): false | undefined => {
            // After replay_go_live: refused (E22).
            if (this.#rr?.mode !== "replay") return false;
            link.request({ op: "reverse", direction }).catch(() => {});
            return undefined;
          },
        }
        : {}),
      interrupt: () => {
        if (!link.paused) this.#pause();
      },
      kill: () => {
        this.#quit("host-qmp-quit");
      },
      detach: () => {
        if (link.paused) {
          link.request({ op: "clear" })
            .then(() => link.request({ op: "resume", step: false }))
            .catch(() => {});
          this.#qmp?.emit("RESUME");
        }
      },
      monitor: (line) => this.#o.monitor(line),
    }, {
      hostname,
      port,
      onClient: (e) => {
        if (e === "refused") {
          this.#o.log?.(
            "deja: gdbstub: refused a second client (one at a time)",
          );
        }
      },
    });
    return this.#gdb.port;
  }

  /** Ask the worker to pause, waking it if it idles. */
  #pause(): Promise<DebugStopMessage> {
    const p = this.link.pause();
    this.#o.wake?.();
    return p;
  }

  #onStop(m: DebugStopMessage): void {
    this.#pausedAt = m.icount;
    // A pause for a monitor command is nobody else's business.
    if (this.#quiet && m.reason.kind === "pause") return;
    if (this.#gdb?.running) this.#gdb.stopped(stopEvent(m.reason));
    if (m.reason.kind === "replay-break" || !this.#gdb?.attached) {
      this.#qmp?.emit("STOP");
    }
  }

  /**
   * Take a message from the worker.
   *
   * @param m the message
   * @returns whether it was the debug link's
   */
  message(m: { type: string }): boolean {
    return this.link.message(m);
  }

  /**
   * The run ended: tell the GDB client (`W`) and QMP (`SHUTDOWN`), let the
   * replies go out, and stop listening.
   *
   * @param how the guest's exit (`code`), or the reason it was ended
   */
  async exited(
    how: { reason: string; code: number },
  ): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.link.close();
    if (how.reason === "trap-loop") {
      this.#gdb?.stopped({
        kind: "exited",
        status: { kind: "trap-loop", pc: 0n, cause: 0n },
      });
    } else {
      this.#gdb?.stopped({
        kind: "exited",
        status: { kind: "quit", code: how.code },
      });
    }
    const guest = how.reason === "poweroff" || how.reason === "reset" ||
      how.reason === "trap-loop";
    this.#qmp?.emit("SHUTDOWN", {
      guest,
      reason: guest
        ? (how.reason === "reset" ? "guest-reset" : "guest-shutdown")
        : this.#quitReason ?? "host-signal",
    });
    await this.close();
  }

  #quitReason: string | undefined;

  /**
   * End the run (the monitor's `quit`, gdb's `k`, QMP's `quit`), paused or
   * not.
   *
   * @param reason QMP's `SHUTDOWN` reason
   */
  quit(reason = "host-qmp-quit"): Promise<void> {
    return this.#quit(reason);
  }

  async #quit(reason: string): Promise<void> {
    this.#quitReason = reason;
    if (this.link.paused) await this.link.request({ op: "quit" });
    else await this.#o.loop.quit();
  }

  /** Stop listening (after queued replies). */
  async close(): Promise<void> {
    await this.#gdb?.close();
    await this.#qmp?.close();
  }

  #gdbTarget(): GdbTarget {
    const link = this.link;
    const big = (v: unknown) =>
      v === null || v === undefined ? undefined : BigInt(v as string);
    return {
      readRegister: async (n) =>
        big(((await link.request({ op: "regs", nums: [n] })) as unknown[])[0]),
      readRegisters: async (nums) =>
        ((await link.request({ op: "regs", nums })) as unknown[]).map(big),
      writeRegister: async (num, v) =>
        (await link.request({
          op: "set-reg",
          num,
          value: v.toString(),
        })) === true,
      readMemory: async (addr, length) => {
        const r = await link.request({
          op: "read",
          addr: addr.toString(),
          length,
        });
        return r ? Uint8Array.from(r as number[]) : undefined;
      },
      writeMemory: async (addr, bytes) =>
        (await link.request({
          op: "write",
          addr: addr.toString(),
          bytes: [...bytes],
        })) === true,
      insertBreakpoint: async (pc) => {
        await link.request({ op: "break", insert: true, addr: pc.toString() });
      },
      removeBreakpoint: async (pc) =>
        (await link.request({
          op: "break",
          insert: false,
          addr: pc.toString(),
        })) === true,
      insertWatchpoint: async (addr, length, kind: WatchKind) =>
        (await link.request({
          op: "watch",
          insert: true,
          addr: addr.toString(),
          length,
          kind,
        })) === true,
      removeWatchpoint: async (addr, length, kind: WatchKind) =>
        (await link.request({
          op: "watch",
          insert: false,
          addr: addr.toString(),
          length,
          kind,
        })) === true,
      clearAll: async () => {
        await link.request({ op: "clear" });
      },
    };
  }

  #status(): QmpTarget["status"] {
    if (this.#ended) return "shutdown";
    return this.#o.loop.stopped || this.link.paused ? "paused" : "running";
  }

  #icount(): number {
    return this.link.paused ? this.#pausedAt : this.#o.icount();
  }

  #qmpTarget(): QmpTarget {
    const o = this.#o, link = this.link;
    const status = () => this.#status();
    return {
      get status() {
        return status();
      },
      stop: async () => {
        if (this.#status() !== "running") return;
        await o.loop.stop();
        this.#qmp?.emit("STOP");
      },
      cont: async () => {
        if (this.#status() !== "paused") return;
        if (link.paused && !this.#gdb?.attached) {
          await link.request({ op: "resume", step: false });
        }
        if (o.loop.stopped) await o.loop.cont();
        this.#qmp?.emit("RESUME");
      },
      quit: () => {
        this.#quit("host-qmp-quit");
      },
      systemReset: async () => {
        if (this.#rr) {
          throw new Error(
            `Cannot reset a machine that is ${
              this.#rr.mode === "record" ? "recording" : "replaying"
            }: a reset from the host is not in the log`,
          );
        }
        // A stopped machine (-S, stop) stays stopped after the reset, as in
        // QEMU: the main loop lets the vCPU go only as far as the debug
        // link's pause, and it stays paused there.
        const wasRunning = this.#status() === "running";
        if (!link.paused) {
          // Already stopped: no STOP event for this pause.
          this.#quiet = !wasRunning;
          const p = this.#pause();
          try {
            if (o.loop.stopped) await o.loop.cont();
            await p;
          } finally {
            this.#quiet = false;
          }
        }
        await link.request({ op: "reset" });
        this.#qmp?.emit("RESET", {
          guest: false,
          reason: "host-qmp-system-reset",
        });
        if (wasRunning) await link.request({ op: "resume", step: false });
      },
      queryReplay: (): QmpReplayInfo => {
        const icount = this.#icount();
        if (!this.#rr) return { mode: "none", icount };
        return {
          mode: this.#rr.mode === "replay" ? "play" : "record",
          filename: this.#rr.path,
          icount,
        };
      },
      replayBreak: (icount) => this.replayBreak(icount),
      replayDeleteBreak: () => this.replayDeleteBreak(),
      replaySeek: (icount) => this.replaySeek(icount),
      replayGoLive: async (rrfile) => {
        await this.replayGoLive(rrfile);
      },
      hmp: (line) => o.monitor(line),
    };
  }

  /**
   * Resume a machine that the main loop or a pause holds (the monitor's and
   * QMP's `cont`); a GDB client's stop is the client's to resume.
   */
  async cont(): Promise<void> {
    await this.#qmpTarget().cont();
  }

  /**
   * Stop the replay when it reaches `icount` (QMP's `replay-break`, the
   * monitor's `replay_break`).
   *
   * @param icount the instruction count
   * @throws {Error} outside a replay, or for a count already passed
   */
  async replayBreak(icount: number): Promise<void> {
    const o = this.#o;
    if (this.#rr?.mode !== "replay") {
      throw new Error(
        "Cannot set a replay breakpoint: deja is not replaying (use -icount rr=replay)",
      );
    }
    // Set it at a checkpoint, so that the slice that runs next sees it.
    const wasStopped = o.loop.stopped;
    if (!wasStopped && !this.link.paused) await o.loop.stop();
    try {
      const now = this.#icount();
      if (icount < now) {
        throw new Error(
          `Cannot set a replay breakpoint at instruction ${icount}: the replay is already at ${now}`,
        );
      }
      this.link.breakAt = icount;
    } finally {
      if (!wasStopped && o.loop.stopped) await o.loop.cont();
    }
  }

  /**
   * Go to instruction count `icount` of the replay, backwards or forwards,
   * and stay stopped there (QEMU's `replay_seek`, QMP's `replay-seek`).
   *
   * @param icount the instruction count
   * @throws {Error} outside a replay, or past the replay's end
   */
  async replaySeek(icount: number): Promise<void> {
    const link = this.link;
    if (this.#rr?.mode !== "replay") {
      throw new Error(
        "Cannot seek: deja is not replaying (use -icount rr=replay)",
      );
    }
    await this.#stopped();
    const r = (await link.request({ op: "seek", icount })) as {
      icount: number;
    };
    this.#pausedAt = r.icount;
  }

  /**
   * Leave the replay where it is and go on live (the monitor's
   * `replay_go_live`, QMP's `x-replay-go-live`): the devices take their
   * input from the host from now on. With `rrfile`, the run from here is
   * recorded to that new log, which starts from a snapshot of this point
   * (`cli/go_live.ts`). The machine stays stopped there.
   *
   * @param rrfile the new log's path, or undefined not to record
   * @returns what to print
   * @throws {Error} outside a replay, or when the log cannot be written
   */
  async replayGoLive(rrfile?: string): Promise<string> {
    const link = this.link;
    if (this.#rr?.mode !== "replay") {
      throw new Error(
        "Cannot go live: deja is not replaying (replay_go_live leaves a replay: -icount rr=replay)",
      );
    }
    if (rrfile !== undefined) {
      if (rrfile === "" || rrfile === this.#rr.path) {
        throw new Error(
          `Cannot record the new timeline to ${
            JSON.stringify(rrfile)
          }: give another file than the log being replayed, such as rrfile=branch.rr`,
        );
      }
      for (const path of [rrfile, `${rrfile}.snapshots`]) {
        const p = Deno.permissions.querySync({ name: "write", path });
        if (p.state !== "granted") {
          throw new Error(
            `Cannot record the new timeline to ${rrfile}: no permission to write ${path}; add --allow-write=${rrfile},${rrfile}.snapshots to the deno run command`,
          );
        }
      }
    }
    await this.#stopped();
    const r = (await link.request({
      op: "go-live",
      ...(rrfile !== undefined ? { rrfile } : {}),
    })) as { icount: number; snapshot?: string };
    this.#pausedAt = r.icount;
    link.breakAt = -1;
    this.#rr = rrfile !== undefined
      ? { mode: "record", path: rrfile }
      : undefined;
    this.#o.onLive?.(this.#rr);
    return rrfile !== undefined
      ? `Live from instruction ${r.icount}, recording to ${rrfile} (it starts from ${r.snapshot}); cont runs on`
      : `Live from instruction ${r.icount}, not recording; cont runs on`;
  }

  /** Pause the machine at a checkpoint (if it runs) and keep it there. */
  async #stopped(): Promise<void> {
    const o = this.#o;
    if (this.link.paused) return;
    this.#quiet = true;
    const p = this.#pause();
    try {
      if (o.loop.stopped) await o.loop.cont();
      await p;
    } finally {
      this.#quiet = false;
    }
    this.#qmp?.emit("STOP");
  }

  /** Forget the replay breakpoint. */
  replayDeleteBreak(): void {
    if (this.#rr?.mode !== "replay") {
      throw new Error(
        "Cannot delete a replay breakpoint: deja is not replaying",
      );
    }
    this.link.breakAt = -1;
  }

  /**
   * Run `op` with the machine paused at a checkpoint (pausing it if it
   * runs, and resuming it after).
   */
  async #paused<T>(op: () => Promise<T>): Promise<T> {
    const link = this.link, loop = this.#o.loop;
    if (link.paused) return await op();
    this.#quiet = true;
    const p = this.#pause();
    const held = loop.stopped;
    try {
      if (held) await loop.cont();
      await p;
    } finally {
      this.#quiet = false;
    }
    try {
      return await op();
    } finally {
      // A machine that was stopped stays paused here (status, cont, quit
      // and gdb treat the two alike): resuming it to stop the main loop
      // again would let the guest run on until the loop's next checkpoint.
      if (!held) await link.request({ op: "resume", step: false });
    }
  }

  /**
   * The monitor's debugging commands. Returns undefined for a line that is
   * not one of them.
   *
   * @param line the command line
   * @returns the output, or undefined
   */
  async monitorCommand(line: string): Promise<string | undefined> {
    const words = line.trim().split(/\s+/);
    const [cmd, arg] = words;
    if (cmd === "replay_break") {
      const n = Number(arg);
      if (arg === undefined || !Number.isSafeInteger(n) || n < 0) {
        return "replay_break: give an instruction count, such as replay_break 100000";
      }
      await this.replayBreak(n);
      return "";
    }
    if (cmd === "replay_delete_break") {
      this.replayDeleteBreak();
      return "";
    }
    if (
      cmd === "savevm" || cmd === "loadvm" || cmd === "delvm" ||
      (cmd === "info" && arg === "snapshots")
    ) {
      if (!this.#rr) {
        return `${cmd}: named snapshots go beside a log: record or replay one (-icount rr=record|replay,rrfile=LOG)\n`;
      }
      const name = cmd === "info" ? "" : arg;
      if (name === undefined) {
        return `${cmd}: give a snapshot name, such as ${cmd} init\n`;
      }
      const action = cmd === "savevm"
        ? "save"
        : cmd === "loadvm"
        ? "load"
        : cmd === "delvm"
        ? "delete"
        : "list";
      try {
        if (action === "load") {
          // As replay_seek: the machine stays stopped there.
          await this.#stopped();
          const r = (await this.link.request({
            op: "snapshot",
            action,
            name,
          })) as { icount: number };
          this.#pausedAt = r.icount;
          return "";
        }
        const r = await this.#paused(() =>
          this.link.request({ op: "snapshot", action, name })
        );
        if (action === "list") return r as string;
        if (action === "save") return `${r as string}\n`;
        return "";
      } catch (err) {
        return `${(err as Error).message}\n`;
      }
    }
    if (cmd === "replay_go_live") {
      const rest = words.slice(1);
      let rrfile: string | undefined;
      for (const w of rest) {
        if (w.startsWith("rrfile=")) rrfile = w.slice("rrfile=".length);
        else {
          return "replay_go_live: the one option is rrfile=NEW, such as replay_go_live rrfile=branch.rr\n";
        }
      }
      try {
        return `${await this.replayGoLive(rrfile)}\n`;
      } catch (err) {
        return `${(err as Error).message}\n`;
      }
    }
    if (cmd === "replay_seek") {
      const n = Number(arg);
      if (arg === undefined || !Number.isSafeInteger(n) || n < 0) {
        return "replay_seek: give an instruction count, such as replay_seek 100000";
      }
      await this.replaySeek(n);
      return "";
    }
    if (cmd === "info" && arg === "registers") {
      return await this.#paused(() => this.#infoRegisters());
    }
    if (cmd === "info" && arg === "breakpoints") {
      return await this.#paused(async () => {
        const l = (await this.link.request({ op: "list" })) as {
          breakpoints: string[];
          watchpoints: { addr: string; length: number; kind: string }[];
        };
        const out: string[] = [];
        const at = this.link.breakAt;
        if (at >= 0) out.push(`replay breakpoint at instruction ${at}`);
        for (const b of l.breakpoints) {
          out.push(`breakpoint at 0x${BigInt(b).toString(16)}`);
        }
        for (const w of l.watchpoints) {
          out.push(
            `${w.kind}point at 0x${
              BigInt(w.addr).toString(16)
            }, ${w.length} bytes`,
          );
        }
        return out.length ? out.join("\n") : "No breakpoints.";
      });
    }
    if (cmd === "x" || cmd === "xp") {
      return await this.#paused(() =>
        this.#examine(cmd === "xp", words.slice(1))
      );
    }
    if (cmd === "gdbserver") {
      const spec = arg ?? "tcp::1234";
      const m = /^(?:tcp:)?([^:]*):(\d+)$/.exec(spec);
      if (!m) return `gdbserver: expected tcp::PORT, got '${spec}'`;
      const host = m[1] || "127.0.0.1";
      let port: number;
      try {
        port = this.startGdb(host, Number(m[2]));
      } catch (err) {
        return listenError("gdbserver", `${host}:${m[2]}`, err).message;
      }
      return `Waiting for gdb connection on device 'tcp:${host}:${port}'`;
    }
    return undefined;
  }

  async #infoRegisters(): Promise<string> {
    const nums = [
      REG_PC,
      ...Array.from({ length: 32 }, (_, i) => i),
      ...Array.from({ length: 32 }, (_, i) => 33 + i),
    ];
    const csrs: [string, number][] = [
      ["mhartid", 0xf14],
      ["mstatus", 0x300],
      ["mip", 0x344],
      ["mie", 0x304],
      ["mideleg", 0x303],
      ["medeleg", 0x302],
      ["mtvec", 0x305],
      ["stvec", 0x105],
      ["mepc", 0x341],
      ["sepc", 0x141],
      ["mcause", 0x342],
      ["scause", 0x142],
      ["mtval", 0x343],
      ["stval", 0x143],
      ["mscratch", 0x340],
      ["sscratch", 0x140],
      ["satp", 0x180],
    ];
    const all = [...nums, ...csrs.map(([, n]) => REG_CSR0 + n), REG_CSR0 + 3];
    const vals = ((await this.link.request({ op: "regs", nums: all })) as (
      | string
      | null
    )[]).map((v) => (v === null ? 0n : BigInt(v)));
    const out: string[] = [];
    out.push(` pc       ${hex16(vals[0]!)}`);
    csrs.forEach(([name], i) =>
      out.push(` ${name.padEnd(8)} ${hex16(vals[65 + i]!)}`)
    );
    for (let i = 0; i < 32; i += 4) {
      out.push(
        [0, 1, 2, 3].map((k) =>
          ` x${i + k}/${X_NAMES[i + k]}`.padEnd(9) + " " +
          hex16(vals[1 + i + k]!)
        ).join(""),
      );
    }
    for (let i = 0; i < 32; i += 4) {
      out.push(
        [0, 1, 2, 3].map((k) =>
          ` f${i + k}/${F_NAMES[i + k]}`.padEnd(10) + " " +
          hex16(vals[33 + i + k]!)
        ).join(""),
      );
    }
    out.push(` fcsr     ${hex16(vals[vals.length - 1]!)}`);
    return out.join("\n");
  }

  async #examine(physical: boolean, args: string[]): Promise<string> {
    const cmd = physical ? "xp" : "x";
    let fmt = "";
    let rest = args;
    if (rest[0]?.startsWith("/")) {
      fmt = rest[0].slice(1);
      rest = rest.slice(1);
    }
    const m = /^(\d*)([xdu]?)([bhwg]?)$/.exec(fmt);
    const addrText = rest[0];
    if (
      !m || addrText === undefined || !/^(0x[0-9a-fA-F]+|\d+)$/.test(addrText)
    ) {
      return `${cmd}: usage: ${cmd} /NFU ADDR (N count, F x|d|u, U b|h|w|g), such as ${cmd} /4x 0x80000000`;
    }
    const count = Math.min(Number(m[1] || "1"), 4096);
    const f = m[2] || "x";
    const size = { b: 1, h: 2, w: 4, g: 8 }[m[3] || "w"]!;
    const addr = BigInt(addrText);
    const r = await this.link.request({
      op: "read",
      addr: addr.toString(),
      length: count * size,
      physical,
    });
    if (!r) {
      return `Cannot access memory at ${physical ? "physical " : ""}address 0x${
        addr.toString(16)
      }`;
    }
    const bytes = r as number[];
    const perLine = Math.max(1, 16 / size);
    const out: string[] = [];
    for (let i = 0; i < count; i += perLine) {
      const items: string[] = [];
      for (let k = i; k < Math.min(count, i + perLine); k++) {
        let v = 0n;
        for (let b = size - 1; b >= 0; b--) {
          v = (v << 8n) | BigInt(bytes[k * size + b]!);
        }
        if (f === "d") v = BigInt.asIntN(size * 8, v);
        items.push(
          f === "x" ? "0x" + v.toString(16).padStart(size * 2, "0") : String(v),
        );
      }
      out.push(`${hex16(addr + BigInt(i * size))}: ${items.join(" ")}`);
    }
    return out.join("\n");
  }
}
