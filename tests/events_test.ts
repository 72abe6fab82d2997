// The machine's inputs are one event system: a new nondeterministic source
// is one event kind (name + codec) and one registration, and the replay
// layer logs it (as a named deja plugin event) and replays it at the same
// instruction count with no change anywhere else.

import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { defineEventKind, EventRouter } from "../devices/events.ts";
import { ReplayLogReader } from "../replay/log.ts";
import { LogRecorder, LogReplayer } from "../replay/machine_log.ts";
import { Runner } from "../replay/runner.ts";
import { concatBytes } from "../replay/bytes.ts";

// addi a0, a0, 1 ; j .-4  (counts forever)
const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);
const machine = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
const config = {
  board: "virt",
  ramSize: 1 << 20,
  firmware: null,
  kernel: null,
  devices: [],
  plugins: [],
};

/** A new source, say a disk's completed reads: a block number. */
const diskRead = defineEventKind<number>("disk.read", {
  encode: (v) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    return b;
  },
  decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0),
});

Deno.test("a new input kind is one registration: recorded, logged and replayed at the same icount", () => {
  // Record: the host delivers two reads at host-chosen moments.
  const chunks: Uint8Array[] = [];
  const rec = new LogRecorder({ write: (b) => chunks.push(b) }, config);
  const a = new Runner({ machine, record: rec.hook });
  const seen: [number, number][] = [];
  a.machine.router.register(diskRead, (block) => {
    seen.push([a.machine.cpu.icount, block]);
  });
  a.run(1234);
  a.machine.injectEvent(diskRead.name, diskRead.encode(7));
  a.run(4000);
  a.machine.injectEvent(diskRead.name, diskRead.encode(9));
  a.run(100);
  a.endRecording();
  rec.finish("host-ui", a.machine.cpu.icount);
  deepEqual(seen, [[1234, 7], [5234, 9]]);
  const log = concatBytes(chunks);
  // In the log: a named plugin event, its name bound once.
  const events = [...new ReplayLogReader(log)];
  const kinds = events.filter((e) => e.kind === "plugin-event");
  deepEqual(kinds.map((e) => e.icount), [1234, 5234]);
  equal(events.filter((e) => e.kind === "plugin-kind").length, 1);

  // Replay: the same registration; the values come from the log alone.
  const rep = new LogReplayer(log);
  const b = new Runner({ machine, replay: rep.source });
  const replayed: [number, number][] = [];
  b.machine.router.register(diskRead, (block) => {
    replayed.push([b.machine.cpu.icount, block]);
  });
  b.machine.injectEvent(diskRead.name, diskRead.encode(99)); // ignored
  equal(b.run(1e6).kind, "replay-end");
  deepEqual(replayed, seen);
  equal(b.machine.cpu.icount, a.machine.cpu.icount);
  equal(b.machine.cpu.getX(10), a.machine.cpu.getX(10));
});

Deno.test("the event router names what is wrong", () => {
  const r = new EventRouter();
  r.register(diskRead, () => {});
  throws(
    () => r.register(diskRead, () => {}),
    /^Error: Cannot register event kind disk\.read: it is registered already/,
  );
  throws(
    () => r.apply("net.packet", new Uint8Array()),
    /^Error: Cannot apply event kind net\.packet: nothing takes it/,
  );
  ok(r.has("disk.read"));
  ok(!r.has("net.packet"));
});
