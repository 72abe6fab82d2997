// Test helpers for the debuggers through the deja command: start deja
// allowed to listen, wait until it listens, and a small QMP client.

import { dejaCommand } from "./_deja.ts";
import { splitJson } from "../cli/qmp.ts";

/** What a deja process printed, and how it ended. */
export interface DejaOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Start deja with `args`, allowed to listen on `listen` (TCP ports on
 * 127.0.0.1, or `unix:` paths).
 */
export function startDeja(
  args: string[],
  listen: (number | string)[] = [],
): Promise<DejaOutput> {
  const hosts = listen.map((p) => typeof p === "number" ? `127.0.0.1:${p}` : p);
  const flags = [
    "--allow-read",
    "--allow-write=/tmp",
    ...(hosts.length ? [`--allow-net=${hosts.join(",")}`] : []),
  ];
  const child = dejaCommand(flags, args, "null").spawn();
  const dec = new TextDecoder();
  return child.output().then((o) => ({
    code: o.code,
    stdout: dec.decode(o.stdout),
    stderr: dec.decode(o.stderr),
  }));
}

/**
 * Wait until deja listens on `port` (it starts in a moment). Without
 * connecting (a connection would be a client: gdb's attaches), and without
 * binding the port to probe it (deja's own bind could then fail): Linux's
 * table of TCP sockets says when one listens there.
 */
export async function listening(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  const local = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  for (;;) {
    // (Through cat: Deno lets only --allow-all read /proc/net.)
    const out = await new Deno.Command("cat", { args: ["/proc/net/tcp"] })
      .output();
    const table = new TextDecoder().decode(out.stdout);
    // sl local_address rem_address st ...: st 0A is LISTEN.
    const found = table.split("\n").some((line) => {
      const f = line.trim().split(/\s+/);
      return f.length > 3 && `${f[1]} `.endsWith(local) && f[3] === "0A";
    });
    if (found) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A QMP connection: messages in order, commands, and events. */
export interface QmpClient {
  /** Events seen while waiting for replies, oldest first. */
  readonly events: string[];
  /** The next message (the greeting first). */
  next(): Promise<Record<string, unknown>>;
  /** Send a command and return its reply; events met on the way are kept. */
  cmd(
    execute: string,
    args?: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  /** Wait for an event (it may have come already). */
  event(name: string): Promise<void>;
  /** Close the connection (again is fine). */
  close(): void;
}

/**
 * Connect to deja's QMP server on a TCP port of 127.0.0.1 or a unix path.
 * A message that takes longer than `timeoutMs` fails the wait.
 */
export async function qmpClient(
  where: number | string,
  timeoutMs: number,
): Promise<QmpClient> {
  const events: string[] = [];
  const conn = typeof where === "number"
    ? await Deno.connect({ hostname: "127.0.0.1", port: where })
    : await Deno.connect({ transport: "unix", path: where });
  const dec = new TextDecoder();
  const queue: Record<string, unknown>[] = [];
  let text = "", closed = false;
  (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += dec.decode(buf.subarray(0, n), { stream: true });
        const s = splitJson(text);
        text = s.rest;
        for (const v of s.values) queue.push(JSON.parse(v));
      }
    } catch { /* closed */ }
    closed = true;
  })();
  const next = async (): Promise<Record<string, unknown>> => {
    const end = Date.now() + timeoutMs;
    while (queue.length === 0) {
      if (closed) throw new Error("QMP closed");
      if (Date.now() > end) throw new Error("no QMP message");
      await new Promise((r) => setTimeout(r, 5));
    }
    return queue.shift()!;
  };
  return {
    events,
    next,
    async cmd(execute, args) {
      await conn.write(
        new TextEncoder().encode(
          JSON.stringify(args ? { execute, arguments: args } : { execute }),
        ),
      );
      for (;;) {
        const m = await next();
        if ("event" in m) {
          events.push(m.event as string);
          continue;
        }
        return m;
      }
    },
    async event(name) {
      for (;;) {
        const i = events.indexOf(name);
        if (i >= 0) {
          events.splice(i, 1);
          return;
        }
        const m = await next();
        if ("event" in m) events.push(m.event as string);
      }
    },
    close() {
      try {
        conn.close();
      } catch { /* already */ }
    },
  };
}
