// QMP: raw JSON over a TCP socket. The protocol against a target that
// records what it is asked; the end-to-end checks through the deja command
// (replay-break at an exact icount, STOP/RESUME/SHUTDOWN) are in
// tests/debug_cli_test.ts.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { QmpServer, splitJson } from "../cli/qmp.ts";
import type { QmpTarget } from "../cli/qmp.ts";

/** A QMP connection: send JSON, read replies and events one by one. */
async function qmpConnect(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const dec = new TextDecoder();
  let text = "";
  const queue: Record<string, unknown>[] = [];
  let closed = false;
  const reader = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += dec.decode(buf.subarray(0, n), { stream: true });
        const { values, rest } = splitJson(text);
        text = rest;
        for (const v of values) queue.push(JSON.parse(v));
      }
    } catch { /* reset */ }
    closed = true;
  })();
  return {
    async send(v: unknown | string) {
      const s = typeof v === "string" ? v : JSON.stringify(v);
      await conn.write(new TextEncoder().encode(s));
    },
    /** The next message (reply or event), within `ms`. */
    async next(ms = 10000): Promise<Record<string, unknown>> {
      const end = Date.now() + ms;
      while (queue.length === 0) {
        if (closed) throw new Error("The QMP connection closed");
        if (Date.now() > end) throw new Error("No QMP message came");
        await new Promise((r) => setTimeout(r, 5));
      }
      return queue.shift()!;
    },
    /** The next message that is not an event. */
    async reply(ms = 10000): Promise<Record<string, unknown>> {
      for (;;) {
        const m = await this.next(ms);
        if (!("event" in m)) return m;
      }
    },
    async close() {
      try {
        conn.close();
      } catch { /* already */ }
      await reader;
    },
    get closed() {
      return closed;
    },
  };
}

function fakeTarget() {
  const calls: string[] = [];
  let status: QmpTarget["status"] = "running";
  const t: QmpTarget = {
    get status() {
      return status;
    },
    stop() {
      calls.push("stop");
      status = "paused";
    },
    cont() {
      calls.push("cont");
      status = "running";
    },
    quit() {
      calls.push("quit");
      status = "shutdown";
    },
    systemReset() {
      throw new Error("Cannot reset the machine: it is replaying a recording");
    },
    queryReplay: () => ({ mode: "play", filename: "/tmp/x.log", icount: 42 }),
    replayBreak(icount) {
      if (icount < 42) {
        throw new Error(
          "Cannot set a replay breakpoint at instruction 1: the replay is at 42",
        );
      }
      calls.push(`break ${icount}`);
    },
    replayDeleteBreak() {
      calls.push("delete-break");
    },
    hmp: (line) => `you typed ${line}\r\n`,
  };
  return { t, calls };
}

Deno.test("qmp: greeting, negotiation, commands, errors and events over TCP", async () => {
  const { t, calls } = fakeTarget();
  const server = new QmpServer(t);
  const port = server.listen({
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const c = await qmpConnect(port);
  try {
    const greeting = await c.next();
    deepEqual(greeting, {
      QMP: {
        version: { qemu: { major: 7, minor: 2, micro: 0 }, package: "deja" },
        capabilities: ["oob"],
      },
    });
    // Before negotiation: refused, with QEMU's class.
    await c.send({ execute: "query-status", id: "early" });
    deepEqual(await c.next(), {
      error: {
        class: "CommandNotFound",
        desc: "Expecting capabilities negotiation with 'qmp_capabilities'",
      },
      id: "early",
    });
    // No event reaches a client that has not negotiated.
    server.emit("STOP");
    await c.send({ execute: "qmp_capabilities" });
    deepEqual(await c.next(), { return: {} });
    // A command split over two writes, and two in one write.
    await c.send('{"execute": "query-');
    await new Promise((r) => setTimeout(r, 20));
    await c.send('status", "id": 1}{"execute":"stop","id":2}');
    deepEqual(await c.next(), {
      return: { status: "running", singlestep: false, running: true },
      id: 1,
    });
    deepEqual(await c.next(), { return: {}, id: 2 });
    await c.send({ execute: "query-status" });
    deepEqual(await c.next(), {
      return: { status: "paused", singlestep: false, running: false },
    });
    await c.send({ execute: "cont" });
    deepEqual(await c.next(), { return: {} });
    await c.send({ execute: "query-replay" });
    deepEqual(await c.next(), {
      return: { mode: "play", filename: "/tmp/x.log", icount: 42 },
    });
    await c.send({ execute: "replay-break", arguments: { icount: 1000 } });
    deepEqual(await c.next(), { return: {} });
    await c.send({ execute: "replay-break", arguments: { icount: 1 } });
    const past = await c.next();
    equal((past.error as { class: string }).class, "GenericError");
    match((past.error as { desc: string }).desc, /the replay is at 42/);
    await c.send({ execute: "replay-break", arguments: { icount: "x" } });
    match(
      ((await c.next()).error as { desc: string }).desc,
      /Parameter 'icount'/,
    );
    await c.send({ execute: "replay-delete-break" });
    deepEqual(await c.next(), { return: {} });
    await c.send({
      execute: "human-monitor-command",
      arguments: { "command-line": "info replay" },
    });
    deepEqual(await c.next(), { return: "you typed info replay\r\n" });
    await c.send({ execute: "system_reset" });
    deepEqual(await c.next(), {
      error: {
        class: "GenericError",
        desc: "Cannot reset the machine: it is replaying a recording",
      },
    });
    // Unknown command: QEMU's CommandNotFound shape, with the id.
    await c.send({ execute: "no-such-command", id: { any: ["json"] } });
    deepEqual(await c.next(), {
      error: {
        class: "CommandNotFound",
        desc: "The command no-such-command has not been found",
      },
      id: { any: ["json"] },
    });
    // Bad input: not JSON, not an object, no execute.
    await c.send("{nonsense}");
    match(
      ((await c.next()).error as { desc: string }).desc,
      /^JSON parse error/,
    );
    await c.send("[1, 2]");
    match(((await c.next()).error as { desc: string }).desc, /JSON object/);
    await c.send({ id: 5 });
    deepEqual(await c.next(), {
      error: {
        class: "GenericError",
        desc: "QMP input lacks member 'execute'",
      },
      id: 5,
    });
    // Events, with QEMU's timestamp shape.
    server.emit("SHUTDOWN", { guest: false, reason: "host-qmp-quit" });
    const ev = await c.next();
    equal(ev.event, "SHUTDOWN");
    deepEqual(ev.data, { guest: false, reason: "host-qmp-quit" });
    const ts = ev.timestamp as { seconds: number; microseconds: number };
    ok(Number.isInteger(ts.seconds) && ts.seconds > 1.6e9);
    ok(Number.isInteger(ts.microseconds) && ts.microseconds < 1e6);
    await c.send({ execute: "quit" });
    deepEqual(await c.next(), { return: {} });
    deepEqual(calls, [
      "stop",
      "cont",
      "break 1000",
      "delete-break",
      "quit",
    ]);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("qmp: splitJson keeps braces inside strings and escapes", () => {
  const { values, rest } = splitJson(
    '{"a":"}\\"{"} {"b":[1,{"c":2}]}{"d"',
  );
  deepEqual(values, ['{"a":"}\\"{"}', '{"b":[1,{"c":2}]}']);
  equal(rest, '{"d"');
});
