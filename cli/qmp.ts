/**
 * QMP, the QEMU Machine Protocol: the JSON protocol that QEMU's own test
 * framework, libvirt and scripts drive the emulator with, for deja's
 * `-qmp tcp:HOST:PORT,server,wait=off` (and `-qmp unix:PATH,server`).
 *
 * A client gets the greeting, sends `qmp_capabilities`, then commands:
 *
 * | command                  | effect                                         |
 * | ------------------------ | ---------------------------------------------- |
 * | `query-status`           | `running`, `paused` or `shutdown`              |
 * | `stop`, `cont`           | stop or resume the machine (`STOP`, `RESUME`)  |
 * | `system_reset`           | reset the board, when the target can           |
 * | `quit`                   | end the run (`SHUTDOWN`)                       |
 * | `query-replay`           | `{mode, filename, icount}` as QEMU reports     |
 * | `replay-break`           | stop the replay when it reaches `icount`       |
 * | `replay-delete-break`    | forget that breakpoint                         |
 * | `replay-seek`            | go to `icount`, back or forth, and stop there  |
 * | `x-replay-go-live`       | leave the replay there and run on live; with `rrfile`, record the new timeline to it |
 * | `human-monitor-command`  | run a monitor line, return its text            |
 * | `query-version`, `query-commands` | as QEMU                               |
 *
 * An unknown command gets QEMU's `CommandNotFound` error; a failing one a
 * `GenericError` whose `desc` says why. Events go to every negotiated client
 * as `{"event", "data", "timestamp": {"seconds", "microseconds"}}`.
 *
 * Reference: QEMU's `docs/interop/qmp-spec.rst`, `qapi/control.json`,
 * `qapi/run-state.json` (`query-status`, `STOP`, `RESUME`, `SHUTDOWN`) and
 * `qapi/replay.json` (`query-replay`, `replay-break`).
 *
 * @module
 */

/** QEMU's record/replay mode names (`ReplayMode`). */
export type QmpReplayMode = "none" | "record" | "play";

/** The reply of `query-replay` (QEMU's `ReplayInfo`). */
export interface QmpReplayInfo {
  /** The mode. */
  mode: QmpReplayMode;
  /** The log file, when recording or replaying. */
  filename?: string;
  /** Instructions executed. */
  icount: number;
}

/** What QMP commands act on. Methods may return promises. */
export interface QmpTarget {
  /** `running`, `paused` or `shutdown`. */
  readonly status: "running" | "paused" | "shutdown";
  /** Stop the machine at an instruction boundary. */
  stop(): Promise<void> | void;
  /** Resume it. */
  cont(): Promise<void> | void;
  /** End the run. */
  quit(): Promise<void> | void;
  /** Reset the board; throw (with the reason) where it cannot. */
  systemReset(): Promise<void> | void;
  /** The record/replay state. */
  queryReplay(): Promise<QmpReplayInfo> | QmpReplayInfo;
  /** Stop the replay when it reaches `icount`; throw to refuse. */
  replayBreak(icount: number): Promise<void> | void;
  /** Forget the replay breakpoint; throw to refuse. */
  replayDeleteBreak(): Promise<void> | void;
  /** Go to `icount` in the replay and stop there; throw to refuse. */
  replaySeek?(icount: number): Promise<void> | void;
  /**
   * Leave the replay where it stopped and go on live, recording to
   * `rrfile` if given (`x-replay-go-live`); throw to refuse.
   */
  replayGoLive?(rrfile?: string): Promise<void> | void;
  /** Run a human monitor command; its output. */
  hmp(line: string): Promise<string> | string;
}

/** A QMP error reply's `class`. */
export type QmpErrorClass = "GenericError" | "CommandNotFound";

/** A command failed with a QMP error class. */
export class QmpError extends Error {
  /** The error class QMP reports. */
  readonly errorClass: QmpErrorClass;

  /**
   * Make the error.
   *
   * @param errorClass the QMP class
   * @param message the `desc`
   */
  constructor(errorClass: QmpErrorClass, message: string) {
    super(message);
    this.name = "QmpError";
    this.errorClass = errorClass;
  }
}

const COMMANDS = [
  "qmp_capabilities",
  "query-status",
  "query-version",
  "query-commands",
  "stop",
  "cont",
  "quit",
  "system_reset",
  "query-replay",
  "replay-break",
  "replay-delete-break",
  "replay-seek",
  "x-replay-go-live",
  "human-monitor-command",
] as const;

/**
 * Split complete JSON values off the front of a stream of text (QMP input
 * need not be one value per line).
 *
 * @param text what has arrived
 * @returns the complete values' texts, and what is left over
 * @example
 * ```ts
 * import { splitJson } from "./qmp.ts";
 * const { values, rest } = splitJson('{"a": "}"} {"b"');
 * if (values.length !== 1 || rest !== ' {"b"') throw new Error("unreachable");
 * ```
 */
export function splitJson(text: string): { values: string[]; rest: string } {
  const values: string[] = [];
  let depth = 0, inString = false, escaped = false, start = -1;
  let consumed = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      if (depth === 0 && start < 0) start = i;
    } else if (ch === "{" || ch === "[") {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === "}" || ch === "]") {
      depth--;
      if (depth <= 0) {
        values.push(text.slice(start < 0 ? consumed : start, i + 1));
        depth = 0;
        start = -1;
        consumed = i + 1;
      }
    } else if (depth === 0 && !/\s/.test(ch)) {
      // A bare scalar at top level: hand it on as it is (a parse error).
      let j = i;
      while (j < text.length && !/[\s{[]/.test(text[j]!)) j++;
      if (j === text.length) break;
      values.push(text.slice(i, j));
      consumed = j;
      i = j - 1;
    }
  }
  return { values, rest: text.slice(consumed) };
}

/** A JSON value, as QMP carries it. */
export type Json = null | boolean | number | string | Json[] | {
  [k: string]: Json;
};

/** One QMP client connection: whether it negotiated, where its text goes. */
export class QmpSession {
  /** Whether the client sent `qmp_capabilities`. */
  negotiated = false;
  /** Where the session's text goes. */
  readonly write: (text: string) => void;

  /**
   * Make a session; {@linkcode QmpServer.attach} does.
   *
   * @param write where its replies and events go
   */
  constructor(write: (text: string) => void) {
    this.write = write;
  }
}

/** Options for {@linkcode QmpServer.listen}. */
export type QmpListenOptions =
  | { transport: "tcp"; hostname: string; port: number }
  | { transport: "unix"; path: string };

/**
 * The QMP protocol over any number of connections, on a {@linkcode QmpTarget}.
 *
 * @example Negotiate and query the status
 * ```ts
 * import { QmpServer } from "./qmp.ts";
 * const server = new QmpServer({
 *   status: "running",
 *   stop() {}, cont() {}, quit() {},
 *   systemReset() { throw new Error("Cannot reset: not supported"); },
 *   queryReplay: () => ({ mode: "none", icount: 0 }),
 *   replayBreak() {}, replayDeleteBreak() {},
 *   hmp: () => "",
 * });
 * const out: string[] = [];
 * const s = server.attach((t) => out.push(t));
 * await server.input(s, '{"execute": "qmp_capabilities"}');
 * await server.input(s, '{"execute": "query-status", "id": 1}');
 * console.log(out[2]); // {"return":{"status":"running","singlestep":false,"running":true},"id":1}
 * ```
 */
export class QmpServer {
  readonly #target: QmpTarget;
  readonly #sessions = new Set<QmpSession>();
  readonly #buffers = new Map<QmpSession, string>();
  #listeners: Deno.Listener[] = [];
  // Each connection, and a function giving its pending writes.
  #conns = new Map<Deno.Conn, () => Promise<void>>();
  #version: { major: number; minor: number; micro: number };

  /**
   * Make a server.
   *
   * @param target what the commands act on
   * @param version the QEMU version to report (deja's QMP follows QEMU 7.2)
   */
  constructor(
    target: QmpTarget,
    version: { major: number; minor: number; micro: number } = {
      major: 7,
      minor: 2,
      micro: 0,
    },
  ) {
    this.#target = target;
    this.#version = version;
  }

  /**
   * Start a session: sends the greeting.
   *
   * @param write where the session's replies and events go (one JSON text
   *   per call, without the line end)
   * @returns the session, for {@linkcode QmpServer.input}
   */
  attach(write: (text: string) => void): QmpSession {
    const s = new QmpSession(write);
    this.#sessions.add(s);
    this.#buffers.set(s, "");
    s.write(JSON.stringify({
      QMP: {
        version: { qemu: this.#version, package: "deja" },
        capabilities: ["oob"],
      },
    }));
    return s;
  }

  /**
   * End a session.
   *
   * @param s the session
   */
  detach(s: QmpSession): void {
    this.#sessions.delete(s);
    this.#buffers.delete(s);
  }

  /**
   * Send an event to every negotiated session.
   *
   * @param event its name (`STOP`, `RESUME`, `SHUTDOWN`, ...)
   * @param data its data
   */
  emit(event: string, data: Record<string, Json> = {}): void {
    const ms = Date.now();
    const text = JSON.stringify({
      event,
      data,
      timestamp: {
        seconds: Math.floor(ms / 1000),
        microseconds: (ms % 1000) * 1000,
      },
    });
    for (const s of this.#sessions) if (s.negotiated) s.write(text);
  }

  /**
   * Take text a client sent; runs each complete command in order.
   *
   * @param s the session
   * @param text what arrived
   * @returns a promise that settles when the commands have run
   */
  async input(s: QmpSession, text: string): Promise<void> {
    const { values, rest } = splitJson((this.#buffers.get(s) ?? "") + text);
    this.#buffers.set(s, rest);
    if (rest.length > 1 << 20) {
      this.#buffers.set(s, "");
      s.write(JSON.stringify({
        error: { class: "GenericError", desc: "JSON value too long" },
      }));
    }
    for (const v of values) {
      const reply = await this.#command(s, v);
      if (reply !== undefined) s.write(JSON.stringify(reply));
    }
  }

  async #command(
    s: QmpSession,
    text: string,
  ): Promise<Record<string, Json> | undefined> {
    let msg: Json;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      return {
        error: {
          class: "GenericError",
          desc: `JSON parse error, ${
            err instanceof Error ? err.message : String(err)
          }`,
        },
      };
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      return {
        error: {
          class: "GenericError",
          desc: "QMP input must be a JSON object",
        },
      };
    }
    const id = msg["id"];
    const withId = (r: Record<string, Json>) =>
      id === undefined ? r : { ...r, id };
    const exec = msg["execute"] ?? msg["exec-oob"];
    if (typeof exec !== "string") {
      return withId({
        error: {
          class: "GenericError",
          desc: "QMP input lacks member 'execute'",
        },
      });
    }
    const args = msg["arguments"] ?? {};
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      return withId({
        error: {
          class: "GenericError",
          desc: "QMP input member 'arguments' must be an object",
        },
      });
    }
    if (!s.negotiated && exec !== "qmp_capabilities") {
      return withId({
        error: {
          class: "CommandNotFound",
          desc: "Expecting capabilities negotiation with 'qmp_capabilities'",
        },
      });
    }
    try {
      const ret = await this.#run(s, exec, args);
      return withId({ return: ret });
    } catch (err) {
      const cls = err instanceof QmpError ? err.errorClass : "GenericError";
      return withId({
        error: {
          class: cls,
          desc: err instanceof Error ? err.message : String(err),
        },
      });
    }
  }

  async #run(
    s: QmpSession,
    exec: string,
    args: { [k: string]: Json },
  ): Promise<Json> {
    const t = this.#target;
    switch (exec) {
      case "qmp_capabilities":
        if (s.negotiated) {
          throw new QmpError(
            "CommandNotFound",
            "Capabilities negotiation is already complete, command ignored",
          );
        }
        s.negotiated = true;
        return {};
      case "query-status": {
        const status = t.status;
        return { status, singlestep: false, running: status === "running" };
      }
      case "query-version":
        return { qemu: this.#version, package: "deja" };
      case "query-commands":
        return COMMANDS.map((name) => ({ name }));
      case "stop":
        await t.stop();
        return {};
      case "cont":
        await t.cont();
        return {};
      case "quit":
        await t.quit();
        return {};
      case "system_reset":
        await t.systemReset();
        return {};
      case "query-replay": {
        const r = await t.queryReplay();
        return r.filename === undefined
          ? { mode: r.mode, icount: r.icount }
          : { mode: r.mode, filename: r.filename, icount: r.icount };
      }
      case "replay-break": {
        const icount = icountArgument(args);
        await t.replayBreak(icount);
        return {};
      }
      case "replay-delete-break":
        await t.replayDeleteBreak();
        return {};
      case "replay-seek": {
        const icount = icountArgument(args);
        if (!t.replaySeek) {
          throw new QmpError(
            "GenericError",
            "Cannot seek: this machine cannot go back in time",
          );
        }
        await t.replaySeek(icount);
        return {};
      }
      case "x-replay-go-live": {
        const rrfile = args["rrfile"];
        if (rrfile !== undefined && typeof rrfile !== "string") {
          throw new QmpError(
            "GenericError",
            "Parameter 'rrfile' must be a string (the new log's path)",
          );
        }
        if (!t.replayGoLive) {
          throw new QmpError(
            "GenericError",
            "Cannot go live: this machine does not replay",
          );
        }
        await t.replayGoLive(rrfile);
        return {};
      }
      case "human-monitor-command": {
        const line = args["command-line"];
        if (typeof line !== "string") {
          throw new QmpError(
            "GenericError",
            "Parameter 'command-line' is missing or not a string",
          );
        }
        return await t.hmp(line);
      }
      default:
        throw new QmpError(
          "CommandNotFound",
          `The command ${exec} has not been found`,
        );
    }
  }

  /**
   * Listen for clients (each gets a session). Needs `--allow-net` for a TCP
   * address, or read and write access for a Unix socket path.
   *
   * @param options where to listen
   * @returns the TCP port (0 for a Unix socket)
   */
  listen(options: QmpListenOptions): number {
    const listener = options.transport === "tcp"
      ? Deno.listen({
        hostname: options.hostname,
        port: options.port,
        transport: "tcp",
      })
      : Deno.listen({ path: options.path, transport: "unix" });
    this.#listeners.push(listener);
    (async () => {
      for (;;) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch {
          return;
        }
        this.#serve(conn);
      }
    })();
    return options.transport === "tcp"
      ? (listener.addr as Deno.NetAddr).port
      : 0;
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const enc = new TextEncoder(), dec = new TextDecoder();
    let chain = Promise.resolve();
    const s = this.attach((text) => {
      const bytes = enc.encode(text + "\r\n");
      chain = chain.then(async () => {
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      }).catch(() => {});
    });
    this.#conns.set(conn, () => chain);
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        await this.input(s, dec.decode(buf.subarray(0, n), { stream: true }));
      }
    } catch {
      // reset by peer
    }
    this.detach(s);
    await chain;
    this.#conns.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  /** Stop listening and close every connection (after queued replies). */
  async close(): Promise<void> {
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch { /* already closed */ }
    }
    this.#listeners = [];
    for (const [c, pending] of [...this.#conns]) {
      await pending();
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
  }
}

/** The `icount` argument of `replay-break` and `replay-seek`, checked. */
function icountArgument(args: Record<string, unknown>): number {
  const icount = args["icount"];
  if (
    typeof icount !== "number" || !Number.isSafeInteger(icount) || icount < 0
  ) {
    throw new QmpError(
      "GenericError",
      "Parameter 'icount' is missing or not a non-negative integer",
    );
  }
  return icount;
}

/**
 * Parse a `-qmp` address: `tcp:[HOST]:PORT,server[,wait=off|nowait]` (HOST
 * defaults to 127.0.0.1) or `unix:PATH,server[,wait=off|nowait]`. deja does
 * not hold the machine until a client connects (QEMU's `wait=on`), so the
 * address must say `wait=off`; use `-S` to start stopped.
 *
 * @param spec the address
 * @returns where to listen
 * @throws {RangeError} naming what is wrong and the fix
 * @example
 * ```ts
 * import { parseQmpAddress } from "./qmp.ts";
 * const a = parseQmpAddress("tcp::4444,server,wait=off");
 * if (a.transport !== "tcp" || a.hostname !== "127.0.0.1" || a.port !== 4444) {
 *   throw new Error("unreachable");
 * }
 * ```
 */
export function parseQmpAddress(spec: string): QmpListenOptions {
  const [addr = "", ...flags] = spec.split(",");
  let server = false, noWait = false;
  for (const f of flags) {
    if (f === "server" || f === "server=on") server = true;
    else if (f === "nowait" || f === "wait=off") noWait = true;
    else if (f === "wait=on" || f === "wait") noWait = false;
    else {
      throw new RangeError(
        `unknown flag '${f}'; expected tcp:HOST:PORT,server,wait=off or unix:PATH,server,wait=off`,
      );
    }
  }
  if (!server) {
    throw new RangeError(
      "deja's QMP only listens: add ,server (as in tcp::4444,server,wait=off)",
    );
  }
  if (!noWait) {
    throw new RangeError(
      "deja does not wait for a QMP client before it starts: add ,wait=off (and -S to start stopped)",
    );
  }
  if (addr.startsWith("unix:")) {
    const path = addr.slice(5);
    if (path === "") throw new RangeError("unix: needs a PATH");
    return { transport: "unix", path };
  }
  const m = /^tcp:(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new RangeError(
      "expected tcp:[HOST]:PORT,server,wait=off (such as tcp::4444,server,wait=off) or unix:PATH,server,wait=off",
    );
  }
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return { transport: "tcp", hostname: host === "" ? "127.0.0.1" : host, port };
}
