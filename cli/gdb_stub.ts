/**
 * A GDB remote serial protocol stub, so that `gdb-multiarch` (with
 * `set architecture riscv:rv64` and `target remote HOST:PORT`) debugs a deja
 * machine as it debugs QEMU's.
 *
 * {@linkcode GdbStub} is the protocol: packets with checksums and acks,
 * no-ack mode, `qSupported`, the target description, `?`, `g`/`G`, `p`/`P`,
 * `m`/`M`/`X`, `c`/`s`/`vCont`, `Z0`-`Z4`, Ctrl-C, `k`, `D`, the thread
 * queries and `qRcmd` (`monitor ...`). It works on a {@linkcode GdbTarget}
 * and never throws on what a client sends: a malformed or oversized packet
 * gets an error reply (or a `-` when its checksum is wrong).
 *
 * {@linkcode serveGdb} runs a machine in this thread with a stub on a TCP
 * port (one client at a time; a second is refused), which is what the CLI's
 * `-gdb` and the tests use.
 *
 * Reference: the GDB manual, appendix E "GDB Remote Serial Protocol"
 * (Overview, Packets, Stop Reply Packets, General Query Packets, Target
 * Description Format, Interrupts), and QEMU's `gdbstub` for the behaviour
 * gdb users expect (the machine stops when a client attaches and resumes
 * when it detaches or goes away).
 *
 * @module
 */

import { DebugTarget, leHex, REG_PC, targetXml } from "./debug_target.ts";
import type { DebugMachine, DebugStop, WatchKind } from "./debug_target.ts";
import type { ExitStatus, RunResult } from "../devices/virt.ts";

/** The largest packet the stub accepts (`PacketSize`), in bytes. */
export const PACKET_SIZE = 0x4000;

type MaybePromise<T> = T | Promise<T>;

/** What the stub acts on. Methods may return promises. */
export interface GdbTarget {
  /** Read a register by GDB number; undefined if there is none. */
  readRegister(n: number): MaybePromise<bigint | undefined>;
  /** Read several registers at once (optional; else one by one). */
  readRegisters?(nums: number[]): MaybePromise<(bigint | undefined)[]>;
  /** Write a register; false if it cannot be written. */
  writeRegister(n: number, v: bigint): MaybePromise<boolean>;
  /** Read memory; undefined if some byte cannot be read. */
  readMemory(
    addr: bigint,
    length: number,
  ): MaybePromise<Uint8Array | undefined>;
  /** Write memory; false if some byte cannot be written. */
  writeMemory(addr: bigint, bytes: Uint8Array): MaybePromise<boolean>;
  /** Insert a breakpoint. */
  insertBreakpoint(pc: bigint): MaybePromise<void>;
  /** Remove a breakpoint. */
  removeBreakpoint(pc: bigint): MaybePromise<boolean>;
  /** Insert a watchpoint; false if the range does not translate. */
  insertWatchpoint(
    addr: bigint,
    length: number,
    kind: WatchKind,
  ): MaybePromise<boolean>;
  /** Remove a watchpoint. */
  removeWatchpoint(
    addr: bigint,
    length: number,
    kind: WatchKind,
  ): MaybePromise<boolean>;
  /** Remove every breakpoint and watchpoint. */
  clearAll(): MaybePromise<void>;
}

/** What the stub asks of whoever runs the machine. */
export interface GdbControl {
  /** Run (`step`: one instruction); report the stop with `stub.stopped`. */
  resume(step: boolean): void;
  /**
   * `bs`/`bc` (reverse-stepi, reverse-continue); report the stop with
   * `stub.stopped`. Only in a replay: without it, `qSupported` does not
   * offer reverse execution and `bs`/`bc` get `E22`. Returning false
   * refuses too (the replay went live).
   */
  reverse?(direction: "step" | "continue"): void | false;
  /** Stop a running machine soon; report the stop with `stub.stopped`. */
  interrupt(): void;
  /** `k`: end the run. */
  kill(): void;
  /** `D` or the client went away: resume, with no breakpoints. */
  detach(): void;
  /**
   * `monitor LINE`: run a monitor command.
   *
   * @returns its output
   */
  monitor(line: string): Promise<string> | string;
}

/** How the machine stopped, for a stop reply. */
export type GdbStopEvent =
  | DebugStop
  | { kind: "exited"; status: ExitStatus | { kind: "quit"; code: number } };

const SIGINT = 2;
const SIGTRAP = 5;
const sig = (n: number) => n.toString(16).padStart(2, "0");

function hexOf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function bytesOfHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

function leOfHex(hex: string): bigint | undefined {
  const b = bytesOfHex(hex);
  if (!b || b.length === 0 || b.length > 8) return undefined;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function num(hex: string | undefined): bigint | undefined {
  if (hex === undefined || !/^[0-9a-fA-F]{1,16}$/.test(hex)) return undefined;
  return BigInt("0x" + hex);
}

/** Escape `#`, `$`, `}` and `*` in binary data as the protocol asks. */
function escapeBinary(s: string): string {
  return s.replace(
    /[#$}*]/g,
    (c) => "}" + String.fromCharCode(c.charCodeAt(0) ^ 0x20),
  );
}

function checksum(s: string): string {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum = (sum + s.charCodeAt(i)) & 0xff;
  return sum.toString(16).padStart(2, "0");
}

/**
 * The protocol side of a GDB connection. Feed it what the client sends with
 * {@linkcode GdbStub.receive}; it answers through `send`, asks `control` to
 * run or stop the machine, and reports stops given to
 * {@linkcode GdbStub.stopped}.
 *
 * @example Answer a register read
 * ```ts
 * import { GdbStub } from "./gdb_stub.ts";
 * import { DebugTarget } from "./debug_target.ts";
 * import { VirtMachine } from "../devices/virt.ts";
 * const m = new VirtMachine({ bios: "none", kernel: new Uint8Array(8), memoryBytes: 1 << 20 });
 * let out = "";
 * const stub = new GdbStub(new DebugTarget(m), {
 *   resume() {}, interrupt() {}, kill() {}, detach() {}, monitor: () => "",
 * }, (s) => (out += s));
 * await stub.receive(new TextEncoder().encode("$p20#d2"));
 * console.log(out); // +$0010000000000000#..  (pc = 0x1000, the reset vector)
 * ```
 */
export class GdbStub {
  readonly #target: GdbTarget;
  readonly #control: GdbControl;
  readonly #send: (s: string) => void;
  #buf = "";
  #noAck = false;
  #running = false;
  #lastStop = `T${sig(SIGTRAP)}thread:01;`;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * Make a stub.
   *
   * @param target registers, memory, breakpoints
   * @param control runs and stops the machine
   * @param send writes to the client (a binary string: one char per byte)
   */
  constructor(
    target: GdbTarget,
    control: GdbControl,
    send: (s: string) => void,
  ) {
    this.#target = target;
    this.#control = control;
    this.#send = send;
  }

  /** Whether the client has the machine running. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Take bytes from the client.
   *
   * @param bytes what arrived
   * @returns a promise that settles when the complete packets are handled
   */
  receive(bytes: Uint8Array): Promise<void> {
    for (const b of bytes) {
      if (this.#buf.length === 0 && b === 0x03) {
        // Ctrl-C: stop a running machine (outside any packet).
        if (this.#running) this.#control.interrupt();
        continue;
      }
      this.#buf += String.fromCharCode(b);
    }
    this.#parse();
    return this.#chain;
  }

  /** The connection is gone: drop what is buffered, answer nothing more. */
  close(): void {
    this.#closed = true;
  }

  #parse(): void {
    for (;;) {
      // Acks and noise before a packet.
      const start = this.#buf.indexOf("$");
      if (start < 0) {
        this.#buf = "";
        return;
      }
      if (start > 0) this.#buf = this.#buf.slice(start);
      const hash = this.#buf.indexOf("#");
      if (hash < 0) {
        if (this.#buf.length > PACKET_SIZE + 4) {
          // No end in sight: drop it and ask for a resend.
          this.#buf = "";
          if (!this.#noAck) this.#write("-");
        }
        return;
      }
      if (this.#buf.length < hash + 3) return; // checksum not here yet
      const body = this.#buf.slice(1, hash);
      const sum = this.#buf.slice(hash + 1, hash + 3).toLowerCase();
      this.#buf = this.#buf.slice(hash + 3);
      if (sum !== checksum(body)) {
        if (!this.#noAck) this.#write("-");
        continue;
      }
      if (!this.#noAck) this.#write("+");
      this.#chain = this.#chain.then(() => this.#handle(body)).catch((err) => {
        // A bug here must not take the machine down: answer an error.
        this.#reply("E01");
        console.error(
          `deja gdbstub: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    }
  }

  #write(s: string): void {
    if (!this.#closed) this.#send(s);
  }

  #reply(body: string): void {
    this.#write(`$${body}#${checksum(body)}`);
  }

  /**
   * Report that the machine stopped (or ended) while the client had it
   * running; with `attached`, that it stopped because a client attached.
   *
   * @param stop why it stopped
   */
  stopped(stop: GdbStopEvent): void {
    const wasRunning = this.#running;
    this.#running = false;
    let reply: string;
    switch (stop.kind) {
      case "breakpoint":
        reply = `T${sig(SIGTRAP)}swbreak:;thread:01;`;
        break;
      case "watchpoint":
        reply = `T${sig(SIGTRAP)}${stop.watch}:${
          stop.addr.toString(16)
        };thread:01;`;
        break;
      case "interrupted":
        reply = `T${sig(SIGINT)}thread:01;`;
        break;
      case "history-begin":
        // As QEMU: reverse execution reached the start of the replay log.
        reply = `T${sig(SIGTRAP)}replaylog:begin;thread:01;`;
        break;
      case "exited": {
        const s = stop.status;
        reply = s.kind === "trap-loop"
          ? "X0b" // SIGSEGV: the hart was stuck taking traps
          : `W${(s.code & 0xff).toString(16).padStart(2, "0")}`;
        break;
      }
      default:
        reply = `T${sig(SIGTRAP)}thread:01;`;
    }
    this.#lastStop = reply;
    if (wasRunning || stop.kind === "exited") this.#reply(reply);
  }

  async #handle(p: string): Promise<void> {
    if (this.#closed) return;
    const t = this.#target;
    const c = p[0];
    if (this.#running && c !== "?" && !p.startsWith("vCont;t")) {
      // All-stop: a client only talks to a stopped machine.
      return this.#reply("E0f");
    }
    switch (c) {
      case "?":
        return this.#reply(this.#lastStop);
      case "g": {
        const nums = Array.from({ length: REG_PC + 1 }, (_, i) => i);
        const vals = t.readRegisters
          ? await t.readRegisters(nums)
          : await Promise.all(nums.map((n) => t.readRegister(n)));
        return this.#reply(vals.map((v) => leHex(v ?? 0n)).join(""));
      }
      case "G": {
        const hex = p.slice(1);
        if (hex.length !== (REG_PC + 1) * 16 || !/^[0-9a-fA-F]*$/.test(hex)) {
          return this.#reply("E16"); // EINVAL: not 33 64-bit registers
        }
        for (let i = 0; i <= REG_PC; i++) {
          await t.writeRegister(i, leOfHex(hex.slice(16 * i, 16 * i + 16))!);
        }
        return this.#reply("OK");
      }
      case "p": {
        const n = num(p.slice(1));
        const v = n === undefined ? undefined : await t.readRegister(Number(n));
        return this.#reply(v === undefined ? "E0e" : leHex(v));
      }
      case "P": {
        const [ns, vs] = p.slice(1).split("=");
        const n = num(ns);
        const v = vs === undefined ? undefined : leOfHex(vs);
        if (n === undefined || v === undefined) return this.#reply("E16");
        return this.#reply(
          (await t.writeRegister(Number(n), v)) ? "OK" : "E0e",
        );
      }
      case "m": {
        const [as, ls] = p.slice(1).split(",");
        const a = num(as), l = num(ls);
        if (a === undefined || l === undefined) return this.#reply("E16");
        const len = Math.min(Number(l), PACKET_SIZE / 2);
        const bytes = await t.readMemory(a, len);
        return this.#reply(bytes ? hexOf(bytes) : "E14"); // EFAULT
      }
      case "M":
      case "X": {
        const colon = p.indexOf(":");
        const [as, ls] = p.slice(1, colon < 0 ? undefined : colon).split(",");
        const a = num(as), l = num(ls);
        if (colon < 0 || a === undefined || l === undefined) {
          return this.#reply("E16");
        }
        const data = p.slice(colon + 1);
        let bytes: Uint8Array | undefined;
        if (c === "M") bytes = bytesOfHex(data);
        else {
          const raw: number[] = [];
          for (let i = 0; i < data.length; i++) {
            const ch = data.charCodeAt(i);
            if (ch === 0x7d && i + 1 < data.length) {
              raw.push(data.charCodeAt(++i) ^ 0x20);
            } else raw.push(ch);
          }
          bytes = Uint8Array.from(raw);
        }
        if (!bytes || bytes.length !== Number(l)) return this.#reply("E16");
        if (bytes.length === 0) return this.#reply("OK"); // X probe
        return this.#reply((await t.writeMemory(a, bytes)) ? "OK" : "E14");
      }
      case "c":
      case "s":
      case "C":
      case "S": {
        // c [addr], C sig[;addr]: resume (the signal is ignored).
        const arg = c === "c" || c === "s" ? p.slice(1) : p.split(";")[1];
        if (arg) {
          const a = num(arg);
          if (a === undefined) return this.#reply("E16");
          await t.writeRegister(REG_PC, a);
        }
        return this.#resume(c === "s" || c === "S");
      }
      case "b":
        return this.#reverse(p);
      case "v":
        return this.#handleV(p);
      case "Z":
      case "z":
        return await this.#handleZ(p);
      case "k":
        this.#control.kill();
        return; // no reply to k
      case "D":
        await t.clearAll();
        this.#reply("OK");
        this.#control.detach();
        return;
      case "H":
        return this.#reply("OK"); // one thread
      case "T":
        return this.#reply(/^T(0*1|-1)$/.test(p) ? "OK" : "E16");
      case "q":
      case "Q":
        return await this.#handleQuery(p);
      default:
        return this.#reply(""); // not supported
    }
  }

  #resume(step: boolean): void {
    this.#running = true;
    this.#control.resume(step);
  }

  #reverse(p: string): void {
    if (!this.#control.reverse) return this.#reply("E22"); // not replaying
    if (p !== "bs" && p !== "bc") return this.#reply("");
    this.#running = true;
    if (this.#control.reverse(p === "bs" ? "step" : "continue") === false) {
      this.#running = false;
      return this.#reply("E22"); // the replay went live
    }
  }

  #handleV(p: string): void {
    if (p === "vCont?") return this.#reply("vCont;c;C;s;S;t");
    if (p.startsWith("vCont;")) {
      // One thread: the first action that applies to it wins.
      const action = p.slice(6).split(";")[0]!.split(":")[0]!;
      const k = action[0];
      if (k === "c" || k === "C") return this.#resume(false);
      if (k === "s" || k === "S") return this.#resume(true);
      if (k === "t") {
        if (this.#running) this.#control.interrupt();
        else this.#reply("OK");
        return;
      }
      return this.#reply("E16");
    }
    if (p.startsWith("vKill")) {
      this.#reply("OK");
      this.#control.kill();
      return;
    }
    return this.#reply(""); // vMustReplyEmpty, vFile, ...
  }

  async #handleZ(p: string): Promise<void> {
    const t = this.#target;
    const insert = p[0] === "Z";
    const [type, as, ks] = p.slice(1).split(",");
    const a = num(as), k = num(ks);
    if (a === undefined || k === undefined) return this.#reply("E16");
    switch (type) {
      case "0":
      case "1":
        if (insert) await t.insertBreakpoint(a);
        else await t.removeBreakpoint(a);
        return this.#reply("OK");
      case "2":
      case "3":
      case "4": {
        const kind: WatchKind = type === "2"
          ? "watch"
          : type === "3"
          ? "rwatch"
          : "awatch";
        const len = Number(k);
        if (len <= 0 || len > 4096) return this.#reply("E16");
        if (insert) {
          return this.#reply(
            (await t.insertWatchpoint(a, len, kind)) ? "OK" : "E14",
          );
        }
        await t.removeWatchpoint(a, len, kind);
        return this.#reply("OK");
      }
      default:
        return this.#reply("");
    }
  }

  async #handleQuery(p: string): Promise<void> {
    if (p.startsWith("qSupported")) {
      return this.#reply(
        `PacketSize=${
          PACKET_SIZE.toString(16)
        };qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+${
          this.#control.reverse ? ";ReverseStep+;ReverseContinue+" : ""
        }`,
      );
    }
    if (p === "QStartNoAckMode") {
      this.#reply("OK");
      this.#noAck = true;
      return;
    }
    if (p.startsWith("qXfer:features:read:")) {
      const [annex, range] = p.slice(20).split(":");
      const [os, ls] = (range ?? "").split(",");
      const off = num(os), len = num(ls);
      if (off === undefined || len === undefined) return this.#reply("E16");
      if (annex !== "target.xml") return this.#reply("E00");
      const xml = targetXml();
      const part = xml.slice(Number(off), Number(off) + Number(len));
      const more = Number(off) + Number(len) < xml.length;
      return this.#reply((more ? "m" : "l") + escapeBinary(part));
    }
    if (p === "qAttached" || p.startsWith("qAttached:")) {
      return this.#reply("1");
    }
    if (p === "qfThreadInfo") return this.#reply("m01");
    if (p === "qsThreadInfo") return this.#reply("l");
    if (p === "qC") return this.#reply("QC01");
    if (p.startsWith("qThreadExtraInfo")) {
      return this.#reply(hexOf(new TextEncoder().encode("hart 0")));
    }
    if (p.startsWith("qRcmd,")) {
      const cmd = bytesOfHex(p.slice(6));
      if (!cmd) return this.#reply("E16");
      const line = new TextDecoder().decode(cmd);
      let text: string;
      try {
        text = await this.#control.monitor(line);
      } catch (err) {
        text = err instanceof Error ? err.message : String(err);
      }
      if (text !== "" && !text.endsWith("\n")) text += "\n";
      const out = new TextEncoder().encode(text);
      for (let i = 0; i < out.length; i += 1024) {
        this.#reply("O" + hexOf(out.subarray(i, i + 1024)));
      }
      return this.#reply("OK");
    }
    return this.#reply("");
  }
}

/** Options for {@linkcode GdbServer}. */
export interface GdbServerOptions {
  /**
   * Address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** TCP port (0 picks a free one: see {@linkcode GdbServer.port}). */
  port: number;
  /** Called when a client connects, is refused, or goes away. */
  onClient?: (event: "connected" | "refused" | "disconnected") => void;
}

/** What a {@linkcode GdbServer} asks when a client comes and goes. */
export interface GdbSessionControl extends GdbControl {
  /** A client connected: stop the machine (as QEMU does). */
  attach(): Promise<void> | void;
}

/**
 * A TCP listener for GDB clients, one at a time (a second connection is
 * closed at once), each with its own {@linkcode GdbStub}. When the client
 * goes away, the machine is detached and runs on.
 */
export class GdbServer {
  /** The port it listens on. */
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #target: GdbTarget;
  readonly #control: GdbSessionControl;
  readonly #options: GdbServerOptions;
  #conn: Deno.TcpConn | undefined;
  #stub: GdbStub | undefined;
  #queue: Uint8Array[] = [];
  #writing: Promise<void> | undefined;
  #accepting: Promise<void>;
  #killed = false;

  /**
   * Listen. Needs `--allow-net` for the address.
   *
   * @param target registers, memory, breakpoints
   * @param control runs and stops the machine
   * @param options where to listen
   */
  constructor(
    target: GdbTarget,
    control: GdbSessionControl,
    options: GdbServerOptions,
  ) {
    this.#target = target;
    this.#control = control;
    this.#options = options;
    this.#listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port,
      transport: "tcp",
    });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  /** Whether a client is attached. */
  get attached(): boolean {
    return this.#stub !== undefined;
  }

  /**
   * Report a stop (or the end) to the client, if one is attached.
   *
   * @param stop why the machine stopped
   */
  stopped(stop: GdbStopEvent): void {
    this.#stub?.stopped(stop);
  }

  /** Whether the client has the machine running. */
  get running(): boolean {
    return this.#stub?.running ?? false;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let c: Deno.TcpConn;
      try {
        c = await this.#listener.accept();
      } catch {
        return; // closed
      }
      if (this.#conn) {
        this.#options.onClient?.("refused");
        try {
          c.close();
        } catch { /* ignore */ }
        continue;
      }
      this.#serve(c);
    }
  }

  #write(c: Deno.TcpConn, text: string): void {
    const b = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
    this.#queue.push(b);
    if (this.#writing) return;
    this.#writing = (async () => {
      try {
        while (this.#queue.length > 0) {
          const chunk = this.#queue.shift()!;
          let off = 0;
          while (off < chunk.length) {
            off += await c.write(chunk.subarray(off));
          }
        }
      } catch {
        this.#queue = []; // the client went away; the reader notices
      } finally {
        this.#writing = undefined;
      }
    })();
  }

  async #serve(c: Deno.TcpConn): Promise<void> {
    this.#conn = c;
    c.setNoDelay(true);
    const control: GdbControl = {
      resume: (step) => this.#control.resume(step),
      interrupt: () => this.#control.interrupt(),
      kill: () => {
        this.#killed = true;
        this.#control.kill();
      },
      detach: () => this.#control.detach(),
      monitor: (line) => this.#control.monitor(line),
    };
    const reverse = this.#control.reverse;
    if (reverse) control.reverse = (d) => reverse.call(this.#control, d);
    const stub = new GdbStub(this.#target, control, (t) => this.#write(c, t));
    this.#stub = stub;
    this.#options.onClient?.("connected");
    try {
      await this.#control.attach();
      const buf = new Uint8Array(65536);
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        await stub.receive(buf.subarray(0, n));
      }
    } catch {
      // reset by peer: same as a close
    }
    stub.close();
    this.#stub = undefined;
    this.#conn = undefined;
    try {
      c.close();
    } catch { /* already closed */ }
    if (!this.#killed) {
      // Gone without D: the guest carries on, with no breakpoints.
      try {
        await this.#target.clearAll();
      } catch { /* the machine ended */ }
      this.#control.detach();
    }
    this.#options.onClient?.("disconnected");
  }

  /** Let queued replies go out (before the process ends). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Stop listening and drop the client (after queued replies). */
  async close(): Promise<void> {
    await this.flush();
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
    await this.#accepting;
  }
}

/** Options for {@linkcode serveGdb}. */
export interface ServeGdbOptions {
  /**
   * Address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** TCP port (0 picks a free one; see `onListen`). */
  port: number;
  /**
   * Wait for a client, stopped at the first instruction (`-S`).
   *
   * @default {false}
   */
  waitForClient?: boolean;
  /** Called once listening, with the port. */
  onListen?: (port: number) => void;
  /** `monitor LINE` from the client. */
  monitor?: (line: string) => Promise<string> | string;
  /**
   * Machine instructions per run between looks at the socket.
   *
   * @default {200000}
   */
  chunk?: number;
  /** Called when a client connects or goes away (for logs). */
  onClient?: (event: "connected" | "refused" | "disconnected") => void;
  /** Stop the run: the promise resolves with `{ kind: "quit" }`. */
  signal?: AbortSignal;
}

/** How {@linkcode serveGdb} ended. */
export type ServeGdbResult =
  | { kind: "exit"; status: ExitStatus }
  | { kind: "killed" }
  | { kind: "quit" }
  | { kind: "machine"; result: RunResult };

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * Run a machine in this thread with a GDB stub on a TCP port, until the
 * guest ends, a client kills it (`k`), or `signal` aborts. One client at a
 * time: a second connection is closed at once. When a client attaches the
 * machine stops; when it detaches or disconnects the machine runs on.
 * Needs `--allow-net` for the address.
 *
 * @param machine the board
 * @param options where to listen, and what `monitor` runs
 * @returns how the run ended
 * @example Serve a machine on a free port
 * ```ts ignore
 * import { serveGdb } from "./gdb_stub.ts";
 * import { VirtMachine } from "../devices/virt.ts";
 * const m = new VirtMachine({ bios: "none", kernel: Deno.readFileSync("guest.elf") });
 * await serveGdb(m, { port: 1234, waitForClient: true });
 * ```
 */
export async function serveGdb(
  machine: DebugMachine,
  options: ServeGdbOptions,
): Promise<ServeGdbResult> {
  const target = new DebugTarget(machine);
  const chunk = options.chunk ?? 200_000;
  // The machine's state as the run loop sees it (it runs in this thread, so
  // the socket's callbacks always find it between two runs).
  let running = !(options.waitForClient ?? false);
  let step = false;
  let killed = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const server = new GdbServer(target, {
    attach() {
      running = false;
      poke();
    },
    resume(s) {
      step = s;
      running = true;
      poke();
    },
    interrupt() {
      target.interrupt();
      poke();
    },
    kill() {
      killed = true;
      running = false;
      poke();
    },
    detach() {
      target.clearAll();
      step = false;
      running = true;
      poke();
    },
    monitor: options.monitor ?? ((line) => `unknown command: '${line}'`),
  }, {
    port: options.port,
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
    ...(options.onClient ? { onClient: options.onClient } : {}),
  });
  options.onListen?.(server.port);
  const abort = () => {
    killed = true;
    poke();
  };
  options.signal?.addEventListener("abort", abort);
  let result: ServeGdbResult = { kind: "quit" };
  try {
    for (;;) {
      if (killed) {
        result = options.signal?.aborted ? { kind: "quit" } : {
          kind: "killed",
        };
        break;
      }
      if (!running) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const stop = target.run(step ? 1 : chunk, { step, warpIdle: true });
      if (stop.kind === "budget") {
        await yieldToEvents();
        continue;
      }
      if (stop.kind === "machine") {
        const r = stop.result;
        if (r.kind === "exit") {
          server.stopped({ kind: "exited", status: r.status });
          result = { kind: "exit", status: r.status };
          break;
        }
        if (r.kind === "idle") {
          // Nothing due, ever (warpIdle jumps to deadlines): wait for input.
          await new Promise((res) => setTimeout(res, 1));
          continue;
        }
        server.stopped({
          kind: "exited",
          status: { kind: "quit", code: 0 },
        });
        result = { kind: "machine", result: r };
        break;
      }
      running = false;
      server.stopped(stop);
    }
  } finally {
    options.signal?.removeEventListener("abort", abort);
    await server.close();
  }
  return result;
}
