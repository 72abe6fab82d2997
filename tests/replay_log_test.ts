// The replay log byte format: every event kind round-trips, the header is
// checked, a log that real QEMU 7.2 recorded reads back, and a cut or
// corrupt log gives an error that names the byte offset.

import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import {
  dumpLog,
  encodeEvent,
  REPLAY_EVENT_ID,
  REPLAY_HEADER_SIZE,
  REPLAY_VERSION,
  replayEventName,
  ReplayLogError,
  ReplayLogReader,
  ReplayLogTruncatedError,
  ReplayLogWriter,
  toQemuLog,
} from "../replay/mod.ts";
import type { ReplayEvent, ReplayLogEntry } from "../replay/mod.ts";
import { record } from "../replay/session.ts";
import { DEMO } from "./_deja.ts";
import { concatBytes } from "../replay/bytes.ts";

function writeLog(
  events: ReplayEvent[],
  end = true,
): { bytes: Uint8Array; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  const w = new ReplayLogWriter({ write: (b) => chunks.push(b.slice()) });
  for (const e of events) w.write(e);
  if (end) w.end();
  return { bytes: concatBytes(chunks), chunks };
}

function strip(e: ReplayLogEntry): Record<string, unknown> {
  const { eventId: _id, icount, byteOffset: _o, size: _s, ...rest } = e;
  // A state hash carries its own icount, which is the log's.
  return e.kind === "state-hash" ? { ...rest, icount } : rest;
}

const h16 = (v: number) => new Uint8Array(16).fill(v);

/** One event of every kind the format has, with fields at their limits. */
const EVERY_KIND: [number, ReplayEvent][] = [
  [REPLAY_EVENT_ID.DEJA_CONFIG, {
    kind: "config",
    config: {
      board: "virt",
      ramSize: 134217728,
      firmware: { sha256: "ab".repeat(32), size: 1234 },
      kernel: null,
      devices: ["ns16550a", "clint"],
      plugins: [{ name: "x", version: "1.0.0" }],
      append: "console=ttyS0",
    },
  }],
  [REPLAY_EVENT_ID.INSTRUCTION, { kind: "instruction", count: 0xffff_ffff }],
  [REPLAY_EVENT_ID.INTERRUPT, { kind: "interrupt" }],
  [REPLAY_EVENT_ID.EXCEPTION, { kind: "exception" }],
  [REPLAY_EVENT_ID.ASYNC_BH, { kind: "async-bh", id: (1n << 64n) - 1n }],
  [REPLAY_EVENT_ID.ASYNC_BH_ONESHOT, { kind: "async-bh-oneshot", id: 7n }],
  [REPLAY_EVENT_ID.ASYNC_INPUT, {
    kind: "async-input",
    input: { type: "key", key: { kind: "qcode", qcode: 30 }, down: true },
  }],
  [REPLAY_EVENT_ID.ASYNC_INPUT, {
    kind: "async-input",
    input: { type: "key", key: { kind: "number", number: -5n }, down: false },
  }],
  [REPLAY_EVENT_ID.ASYNC_INPUT, {
    kind: "async-input",
    input: { type: "btn", button: 2, down: true },
  }],
  [REPLAY_EVENT_ID.ASYNC_INPUT, {
    kind: "async-input",
    input: { type: "rel", axis: 1, value: -(1n << 63n) },
  }],
  [REPLAY_EVENT_ID.ASYNC_INPUT, {
    kind: "async-input",
    input: { type: "abs", axis: 0, value: (1n << 63n) - 1n },
  }],
  [REPLAY_EVENT_ID.ASYNC_INPUT, {
    kind: "async-input",
    input: {
      type: "mtt",
      mttType: 1,
      slot: 3n,
      trackingId: 9n,
      axis: 0,
      value: 100n,
    },
  }],
  [REPLAY_EVENT_ID.ASYNC_INPUT_SYNC, { kind: "async-input-sync" }],
  [REPLAY_EVENT_ID.ASYNC_CHAR_READ, {
    kind: "async-char-read",
    device: 255,
    bytes: new Uint8Array([1, 2, 3]),
  }],
  [REPLAY_EVENT_ID.ASYNC_BLOCK, { kind: "async-block", id: 42n }],
  [REPLAY_EVENT_ID.ASYNC_NET, {
    kind: "async-net",
    device: 1,
    flags: 0xffff_ffff,
    bytes: new Uint8Array(60).fill(0xee),
  }],
  ...([
    "none",
    "host-error",
    "host-qmp-quit",
    "host-qmp-system-reset",
    "host-signal",
    "host-ui",
    "guest-shutdown",
    "guest-reset",
    "guest-panic",
    "subsystem-reset",
    "snapshot-load",
  ] as const).map((cause, i): [number, ReplayEvent] => [
    REPLAY_EVENT_ID.SHUTDOWN + i,
    { kind: "shutdown", cause },
  ]),
  [REPLAY_EVENT_ID.CHAR_WRITE, {
    kind: "char-write",
    result: -1,
    offset: 0x7fff_ffff,
  }],
  [REPLAY_EVENT_ID.CHAR_READ_ALL, {
    kind: "char-read-all",
    bytes: new Uint8Array(0),
  }],
  [REPLAY_EVENT_ID.CHAR_READ_ALL_ERROR, {
    kind: "char-read-all-error",
    error: -11,
  }],
  [REPLAY_EVENT_ID.AUDIO_OUT, { kind: "audio-out", played: 512n }],
  [REPLAY_EVENT_ID.AUDIO_IN, {
    kind: "audio-in",
    wpos: 3n,
    samples: [{ left: 1n, right: 2n }, { left: 3n, right: 4n }],
  }],
  [REPLAY_EVENT_ID.RANDOM, {
    kind: "random",
    result: 0,
    bytes: new Uint8Array(32).fill(0x5a),
  }],
  [REPLAY_EVENT_ID.CLOCK_HOST, {
    kind: "clock",
    clock: "host",
    value: 1_700_000_000_000_000_000n,
  }],
  [REPLAY_EVENT_ID.CLOCK_VIRTUAL_RT, {
    kind: "clock",
    clock: "virtual-rt",
    value: -1n,
  }],
  ...([
    "clock-warp-start",
    "clock-warp-account",
    "reset-requested",
    "suspend-requested",
    "clock-virtual",
    "clock-host",
    "clock-virtual-rt",
    "init",
    "reset",
  ] as const).map((checkpoint, i): [number, ReplayEvent] => [
    REPLAY_EVENT_ID.CHECKPOINT + i,
    { kind: "checkpoint", checkpoint },
  ]),
  [REPLAY_EVENT_ID.DEJA_STATE_HASH, {
    kind: "state-hash",
    icount: 0,
    hashes: [
      { part: "ram", hash: h16(1) },
      { part: "xregs", hash: h16(2) },
      { part: "fregs", hash: h16(3) },
      { part: "csrs", hash: h16(4) },
      { part: "devices", hash: h16(5) },
    ],
  }],
  [REPLAY_EVENT_ID.DEJA_STATE_HASH, {
    kind: "state-hash",
    icount: 0,
    hashes: [{ part: "fregs", hash: h16(9) }],
  }],
  [REPLAY_EVENT_ID.DEJA_EXIT_STATUS, { kind: "exit-status", code: -3 }],
  [REPLAY_EVENT_ID.DEJA_SERIAL_INPUT, {
    kind: "serial-input",
    device: 0,
    bytes: new TextEncoder().encode("version\n"),
  }],
];

Deno.test("ReplayLogWriter and ReplayLogReader round-trip every event kind", async (t) => {
  for (const [id, event] of EVERY_KIND) {
    await t.step(`${replayEventName(id)} (0x${id.toString(16)})`, () => {
      const bytes = encodeEvent(event);
      equal(bytes[0], id, "the id byte is QEMU 7.2's number");
      // The header, the event as encoded, EVENT_END.
      const log = new Uint8Array(REPLAY_HEADER_SIZE + bytes.length + 1);
      new DataView(log.buffer).setUint32(0, REPLAY_VERSION);
      log.set(bytes, REPLAY_HEADER_SIZE);
      log[log.length - 1] = REPLAY_EVENT_ID.END;
      const r = new ReplayLogReader(log);
      const got = r.next()!;
      equal(got.eventId, id);
      equal(got.byteOffset, REPLAY_HEADER_SIZE);
      equal(got.size, bytes.length);
      deepEqual(strip(got), event);
      equal(r.next()?.kind, "end");
      equal(r.next(), undefined);
      equal(r.ended, true);
    });
  }
  await t.step("all kinds in one log keep their absolute icounts", () => {
    const events = EVERY_KIND.map(([, e]) => e).filter((e) =>
      e.kind !== "config" && e.kind !== "instruction"
    ).map((e, i) =>
      e.kind === "state-hash" ? { ...e, icount: 3 * (i + 1) } : e
    );
    const withCounts: ReplayEvent[] = [EVERY_KIND[0]![1]];
    let icount = 0;
    for (const e of events) {
      withCounts.push({ kind: "instruction", count: 3 }, e);
      icount += 3;
    }
    const { bytes } = writeLog(withCounts);
    const read = [...new ReplayLogReader(bytes)];
    const kinds = read.filter((e) =>
      e.kind !== "instruction" && e.kind !== "config"
    );
    equal(read[0]!.kind, "config");
    equal(kinds.length, events.length + 1);
    equal(kinds.at(-1)!.icount, icount);
    for (let i = 0; i < events.length; i++) {
      deepEqual(strip(kinds[i]!), events[i]);
      equal(kinds[i]!.icount, (i + 1) * 3);
    }
  });
});

Deno.test("REPLAY_EVENT_ID numbers the events as QEMU 7.2 does", () => {
  // replay/replay-internal.h in QEMU 7.2: 7 async kinds after EVENT_ASYNC,
  // SHUTDOWN_CAUSE__MAX = 11, 2 clocks, 9 checkpoints.
  equal(REPLAY_VERSION, 0xe0200c);
  equal(REPLAY_EVENT_ID.ASYNC_LAST - REPLAY_EVENT_ID.ASYNC, 6);
  equal(REPLAY_EVENT_ID.SHUTDOWN, REPLAY_EVENT_ID.ASYNC_LAST + 1);
  equal(REPLAY_EVENT_ID.SHUTDOWN_LAST, REPLAY_EVENT_ID.SHUTDOWN + 11);
  equal(REPLAY_EVENT_ID.CHAR_WRITE, REPLAY_EVENT_ID.SHUTDOWN_LAST + 1);
  equal(REPLAY_EVENT_ID.RANDOM, 0x1b);
  equal(REPLAY_EVENT_ID.CLOCK_HOST, 0x1c);
  equal(REPLAY_EVENT_ID.CLOCK_VIRTUAL_RT, 0x1d);
  equal(REPLAY_EVENT_ID.CP_CLOCK_WARP_START, 0x1e);
  equal(REPLAY_EVENT_ID.CP_RESET, 0x26);
  equal(REPLAY_EVENT_ID.END, 0x27);
  ok(REPLAY_EVENT_ID.DEJA_CONFIG > REPLAY_EVENT_ID.COUNT);
});

Deno.test("ReplayLogWriter writes the header first and each event whole", () => {
  const { chunks } = writeLog([
    { kind: "instruction", count: 10 },
    { kind: "clock", clock: "host", value: 5n },
    { kind: "instruction", count: 3_000_000_000 },
    { kind: "serial-input", device: 0, bytes: new Uint8Array([0x61]) },
  ]);
  equal(chunks[0]!.length, REPLAY_HEADER_SIZE);
  deepEqual([...chunks[0]!], [0, 0xe0, 0x20, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0]);
  // The pending instructions go out with the next event, in the same write.
  equal(chunks[1]![0], REPLAY_EVENT_ID.INSTRUCTION);
  equal(chunks[1]![5], REPLAY_EVENT_ID.CLOCK_HOST);
  equal(chunks[1]!.length, 5 + 9);
  // 3e9 instructions are split below 2^31 (QEMU reads the count as an int).
  const r = new ReplayLogReader(
    chunks.slice(0, 3).reduce((a, c) => {
      const b = new Uint8Array(a.length + c.length);
      b.set(a);
      b.set(c, a.length);
      return b;
    }),
  );
  const counts: number[] = [];
  for (;;) {
    try {
      const e = r.next();
      if (e?.kind === "instruction") counts.push(e.count);
    } catch (e) {
      ok(e instanceof ReplayLogTruncatedError);
      equal(e.icount, 3_000_000_010);
      break;
    }
  }
  deepEqual(counts, [10, 0x7fff_ffff, 3_000_000_000 - 0x7fff_ffff]);
});

Deno.test("ReplayLogReader checks the header", async (t) => {
  await t.step("a log shorter than the header is truncated at 0", () => {
    throws(
      () => new ReplayLogReader(new Uint8Array([0, 0xe0, 0x20])),
      (e) =>
        e instanceof ReplayLogTruncatedError && e.offset === 0 &&
        e.icount === 0 && /12-byte header/.test(e.message),
    );
  });
  await t.step("another version names both versions", () => {
    const bytes = new Uint8Array(13);
    new DataView(bytes.buffer).setUint32(0, 0xe0200b);
    bytes[12] = REPLAY_EVENT_ID.END;
    throws(
      () => new ReplayLogReader(bytes),
      (e) =>
        e instanceof ReplayLogError && e.offset === 0 &&
        /version 0xe0200b is not supported; expected 0xe0200c/.test(
          e.message,
        ),
    );
  });
  await t.step("version 0 (a killed QEMU) is refused unless allowed", () => {
    const bytes = new Uint8Array(13);
    bytes[12] = REPLAY_EVENT_ID.END;
    throws(() => new ReplayLogReader(bytes), /only when it exits cleanly/);
    const r = new ReplayLogReader(bytes, { allowMissingVersion: true });
    equal(r.next()?.kind, "end");
  });
});

Deno.test("ReplayLogReader reports a cut log with its offset and icount", () => {
  const { bytes } = writeLog([
    { kind: "instruction", count: 100 },
    { kind: "clock", clock: "host", value: 1n },
    { kind: "instruction", count: 50 },
    { kind: "serial-input", device: 0, bytes: new Uint8Array(10) },
    { kind: "instruction", count: 25 },
    { kind: "shutdown", cause: "guest-shutdown" },
  ]);
  // Every event boundary, and every cut inside an event.
  const entries = [...new ReplayLogReader(bytes)];
  const boundaries = entries.map((e) => e.byteOffset);
  for (let cut = REPLAY_HEADER_SIZE; cut < bytes.length; cut++) {
    const r = new ReplayLogReader(bytes.subarray(0, cut));
    let n = 0;
    const err = ((): unknown => {
      try {
        while (r.next() !== undefined) n++;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    ok(err instanceof ReplayLogTruncatedError, `cut at ${cut}`);
    // The error names where the complete events end.
    const lastWhole = boundaries.filter((b) => b <= cut).at(-1)!;
    equal(err.offset, lastWhole, `cut at ${cut}`);
    const icount = entries.filter((e) => e.byteOffset < lastWhole).at(-1)
      ?.icount ?? 0;
    equal(err.icount, icount, `cut at ${cut}`);
    match(err.message, new RegExp(`byte ${lastWhole}: .*icount ${icount}`));
    // The same error again on the next call.
    throws(() => r.next(), (e) => e === err);
  }
});

Deno.test("ReplayLogReader names the offset and what it expected in a corrupt log", async (t) => {
  const { bytes } = writeLog([
    { kind: "instruction", count: 100 },
    { kind: "clock", clock: "host", value: 1n },
    { kind: "serial-input", device: 0, bytes: new Uint8Array(4) },
  ]);
  const offsets = [...new ReplayLogReader(bytes)].map((e) => e.byteOffset);
  const fail = (b: Uint8Array, offset: number, re: RegExp) =>
    throws(
      () => {
        for (const _ of new ReplayLogReader(b));
      },
      (e) =>
        e instanceof ReplayLogError &&
        !(e instanceof ReplayLogTruncatedError) && e.offset === offset &&
        re.test(e.message) && e.message.includes(`byte ${offset}:`),
    );
  await t.step("an unknown id", () => {
    const b = bytes.slice();
    b[offsets[1]!] = 0x80;
    fail(b, offsets[1]!, /unknown event id 0x80; expected one of/);
  });
  await t.step("QEMU's reserved SHUTDOWN_LAST id", () => {
    const b = bytes.slice();
    b[offsets[1]!] = REPLAY_EVENT_ID.SHUTDOWN_LAST;
    fail(b, offsets[1]!, /reserved by QEMU/);
  });
  await t.step("an instruction count of 0", () => {
    const b = bytes.slice();
    b.fill(0, offsets[0]! + 1, offsets[0]! + 5);
    fail(b, offsets[0]! + 1, /count is 0; expected 1 to 4294967295/);
  });
  await t.step("an array length over the limit", () => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(offsets[2]! + 2, 0x7fff_0000);
    fail(b, offsets[2]! + 2, /array length 2147418112 is over the limit/);
  });
  await t.step("bytes after EVENT_END", () => {
    const b = new Uint8Array(bytes.length + 2);
    b.set(bytes);
    fail(b, bytes.length, /2 bytes follow EVENT_END/);
  });
  await t.step("a config that is not JSON", () => {
    const cfg = encodeEvent({
      kind: "config",
      config: {
        board: "virt",
        ramSize: 1,
        firmware: null,
        kernel: null,
        devices: [],
        plugins: [],
      },
    });
    cfg[5] = 0x7b + 1; // "{" becomes "|"
    const b = new Uint8Array(REPLAY_HEADER_SIZE + cfg.length + 1);
    b.set(bytes.subarray(0, REPLAY_HEADER_SIZE));
    b.set(cfg, REPLAY_HEADER_SIZE);
    b[b.length - 1] = REPLAY_EVENT_ID.END;
    fail(b, REPLAY_HEADER_SIZE + 5, /not UTF-8 JSON; expected a JSON object/);
  });
  await t.step("a state hash with no parts", () => {
    const sh = encodeEvent({
      kind: "state-hash",
      icount: 0,
      hashes: [{ part: "ram", hash: h16(0) }],
    });
    sh[9] = 0;
    const b = new Uint8Array(REPLAY_HEADER_SIZE + sh.length + 1);
    b.set(bytes.subarray(0, REPLAY_HEADER_SIZE));
    b.set(sh, REPLAY_HEADER_SIZE);
    b[b.length - 1] = REPLAY_EVENT_ID.END;
    fail(b, REPLAY_HEADER_SIZE + 9, /parts 0x00 is invalid/);
  });
});

async function qemuRecord(): Promise<Uint8Array> {
  const rr = await Deno.makeTempFile({ suffix: ".rr" });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("qemu-system-riscv64", {
      args: [
        "-M",
        "virt",
        "-bios",
        "none",
        "-kernel",
        DEMO,
        "-icount",
        `shift=0,rr=record,rrfile=${rr}`,
        "-display",
        "none",
        "-serial",
        "stdio",
        "-monitor",
        "none",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch (e) {
    throw new Error(
      "Cannot run qemu-system-riscv64: install it with `apt-get install qemu-system-misc` (or run `deno task setup`)",
      { cause: e },
    );
  }
  // Wait for the demo's prompt, type a line, then stop QEMU the way a user
  // does (SIGTERM: QEMU writes the header version at a clean exit).
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  let out = "";
  const dec = new TextDecoder();
  let typed = false;
  while (!/\[tick 3\]/.test(out) || !typed) {
    const { value, done } = await reader.read();
    if (done) break;
    out += dec.decode(value, { stream: true });
    if (!typed && out.includes("> ")) {
      await writer.write(new TextEncoder().encode("hi\r"));
      typed = true;
    }
  }
  child.kill("SIGTERM");
  reader.releaseLock();
  await child.stdout.cancel();
  await writer.close().catch(() => {});
  await child.status;
  const bytes = await Deno.readFile(rr);
  await Deno.remove(rr);
  return bytes;
}

Deno.test("ReplayLogReader reads a log that QEMU 7.2 recorded", async () => {
  const bytes = await qemuRecord();
  const r = new ReplayLogReader(bytes);
  equal(r.version, REPLAY_VERSION);
  const events = [...r];
  ok(r.ended, "the log ends with EVENT_END");
  equal(r.offset, bytes.length, "every byte was read");
  const kinds = new Set(events.map((e) => replayEventName(e.eventId)));
  for (
    const k of [
      "EVENT_INSTRUCTION",
      "EVENT_CHAR_WRITE",
      "EVENT_CLOCK_VIRTUAL_RT",
      "EVENT_END",
    ]
  ) ok(kinds.has(k), `QEMU's log has ${k}: ${[...kinds].join(" ")}`);
  ok(
    events.some((e) => e.kind === "checkpoint"),
    "QEMU's log has checkpoints",
  );
  const typed = events.filter((e) => e.kind === "async-char-read");
  ok(typed.length > 0, "the typed line is an EVENT_ASYNC_CHAR_READ");
  const text = typed.map((e) =>
    e.kind === "async-char-read" ? new TextDecoder().decode(e.bytes) : ""
  ).join("");
  equal(text, "hi\r");
  ok(events.at(-1)!.icount > 1000, `icount ${events.at(-1)!.icount}`);
  // The dump reads it too, with absolute icounts.
  const lines: string[] = [];
  const res = dumpLog(bytes, (l) => lines.push(l));
  equal(res.events, events.length);
  match(lines.at(-1)!, new RegExp(`icount ${res.icount}$`));
});

Deno.test("toQemuLog keeps every standard event at its icount and only QEMU's ids", async () => {
  // A real recording: the demo guest with typed input, so the log holds the
  // configuration, a host clock read, serial input, the exit status and the
  // shutdown.
  const kernel = await Deno.readFile(
    DEMO,
  );
  let typed = 0;
  const rec = await record({
    bios: "none",
    kernel,
    input: ({ output }) => {
      if (!output.endsWith("> ")) return undefined;
      return ++typed === 1 ? "hello\n" : "quit\n";
    },
  });
  const original = [...new ReplayLogReader(rec.log)];
  const out = toQemuLog(rec.log);
  const exported = [...new ReplayLogReader(out.log)];
  for (const e of exported) {
    ok(e.eventId < 0xc0, `${replayEventName(e.eventId)} is not QEMU's`);
  }
  const standard = (entries: ReplayLogEntry[]) =>
    entries.filter((e) => e.kind !== "instruction" && e.eventId < 0xc0)
      .map((e) => `${e.kind}@${e.icount}`);
  const serial = original.filter((e) => e.kind === "serial-input");
  ok(serial.length >= 2, "the recording has serial input");
  equal(out.converted, serial.length);
  deepEqual(
    standard(exported),
    original.filter((e) => e.kind !== "instruction")
      .filter((e) => e.eventId < 0xc0 || e.kind === "serial-input")
      .map((e) =>
        `${e.kind === "serial-input" ? "async-char-read" : e.kind}@${e.icount}`
      ),
  );
  equal(out.dropped["EVENT_DEJA_CONFIG"], 1);
  equal(out.dropped["EVENT_DEJA_EXIT_STATUS"], 1);
  equal(exported.at(-1)?.kind, "end");
  equal(exported.at(-1)?.icount, original.at(-1)?.icount);
});

Deno.test("Each plugin event kind gets its own id in a log", async (t) => {
  const ev = (event: string, n: number): ReplayEvent => ({
    kind: "plugin-event",
    event,
    payload: Uint8Array.of(n),
  });
  const { bytes } = writeLog([
    ev("sensor.reading", 1),
    ev("net.packet", 2),
    ev("sensor.reading", 3),
  ]);
  const entries = [...new ReplayLogReader(bytes)];
  await t.step("declared just before first use, from 0xd0 up", () => {
    deepEqual(
      entries.map((e) =>
        e.kind === "plugin-kind"
          ? `kind 0x${e.id.toString(16)}=${e.event}`
          : e.kind === "plugin-event"
          ? `0x${e.eventId.toString(16)} ${e.event} ${e.payload[0]}`
          : e.kind
      ),
      [
        "kind 0xd0=sensor.reading",
        "0xd0 sensor.reading 1",
        "kind 0xd1=net.packet",
        "0xd1 net.packet 2",
        "0xd0 sensor.reading 3",
        "end",
      ],
    );
    equal(replayEventName(0xd5), "EVENT_DEJA_PLUGIN");
    equal(replayEventName(0xc3), "EVENT_DEJA_PLUGIN_KIND");
  });
  await t.step("a declaration and its first event are one write", () => {
    const { chunks } = writeLog([ev("a.b", 1)]);
    equal(chunks.length, 3); // header, declaration + event, end
    equal(chunks[1]![0], REPLAY_EVENT_ID.DEJA_PLUGIN_KIND);
  });
  await t.step("an undeclared id is an error that names it", () => {
    const log = bytes.slice();
    // The first event names 0xd1, which is declared only later.
    const first = entries.find((e) => e.kind === "plugin-event")!;
    log[first.byteOffset] = 0xd1;
    throws(
      () => [...new ReplayLogReader(log)],
      (err: unknown) =>
        err instanceof ReplayLogError &&
        err.offset === first.byteOffset &&
        /unknown event id 0xd1 \(a plugin event id that no EVENT_DEJA_PLUGIN_KIND declared\)/
          .test(err.message),
    );
  });
  await t.step("a declaration out of order is an error", () => {
    const log = bytes.slice();
    const decl = entries.find((e) => e.kind === "plugin-kind")!;
    log[decl.byteOffset + 1] = 0xd4;
    throws(
      () => [...new ReplayLogReader(log)],
      /declares id 0xd4; expected 0xd0, the next free plugin event id/,
    );
  });
  await t.step("a log has room for 48 kinds", () => {
    const w = new ReplayLogWriter({ write: () => {} });
    for (let i = 0; i < 48; i++) w.write(ev(`k.${i}`, i));
    throws(() => w.write(ev("k.48", 0)), /48 plugin event kinds/);
  });
  await t.step(
    "encodeEvent refuses a plugin event: its id is the log's",
    () => {
      throws(() => encodeEvent(ev("a.b", 1)), TypeError);
    },
  );
});
