// Random mutations of a real replay log: each replay must end with a clear
// error (a corrupt log, a divergence, another machine) or cleanly (the log's
// end, a cut, the instruction bound), and never with any other exception.

import { equal, ok } from "node:assert/strict";
import { record, replay } from "../replay/session.ts";
import type { ReplayResult } from "../replay/session.ts";
import { ReplayDivergenceError } from "../replay/nondet.ts";
import { ReplayLogError, ReplayLogReader } from "../replay/log.ts";
import { ReplayConfigError } from "../replay/config.ts";
import { DEMO } from "./_deja.ts";
import { concatBytes } from "../replay/bytes.ts";

// A guest that reads the RTC, echoes 6 bytes from the UART by polling, and
// powers off (assembled from the listing in the comments):
//   lui s0,0x10000; lui s1,0x101; lw t0,0(s1); li s2,6
//   loop: lbu t1,5(s0); andi t1,t1,1; beqz t1,loop; lbu t2,0(s0)
//         sb t2,0(s0); addi s2,s2,-1; bnez s2,loop
//   lui t0,0x100; lui t1,5; addi t1,t1,0x555; sw t1,0(t0); j .
const kernel = new Uint8Array([
  0x37,
  0x04,
  0x00,
  0x10,
  0xb7,
  0x14,
  0x10,
  0x00,
  0x83,
  0xa2,
  0x04,
  0x00,
  0x13,
  0x09,
  0x60,
  0x00,
  0x03,
  0x43,
  0x54,
  0x00,
  0x13,
  0x73,
  0x13,
  0x00,
  0xe3,
  0x0c,
  0x03,
  0xfe,
  0x83,
  0x43,
  0x04,
  0x00,
  0x23,
  0x00,
  0x74,
  0x00,
  0x13,
  0x09,
  0xf9,
  0xff,
  0xe3,
  0x14,
  0x09,
  0xfe,
  0xb7,
  0x02,
  0x10,
  0x00,
  0x37,
  0x53,
  0x00,
  0x00,
  0x13,
  0x03,
  0x53,
  0x55,
  0x23,
  0xa0,
  0x62,
  0x00,
  0x6f,
  0x00,
  0x00,
  0x00,
]);
const machine = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const MUTATIONS = 10_000;

Deno.test(`${MUTATIONS} random mutations of a real log each end in a clear error or cleanly`, async () => {
  // Type one byte every 400 instructions; hash the state every 300.
  let typed = 0;
  const rec = await record({
    ...machine,
    sliceInsns: 400,
    rrcheck: 300,
    input: () => typed < 6 ? "deja!\n"[typed++] : undefined,
  });
  equal(rec.exit?.kind, "poweroff");
  equal(rec.output, "deja!\n");
  const events = [...new ReplayLogReader(rec.log)];
  const kinds = new Set(events.map((e) => e.kind));
  for (const k of ["config", "clock", "serial-input", "state-hash", "end"]) {
    ok(kinds.has(k as "end"), `the log has ${k}: ${[...kinds].join(" ")}`);
  }
  // The unmutated log replays exactly.
  const clean = await replay(rec.log, machine);
  equal(clean.output, rec.output);
  equal(clean.stateHash, rec.stateHash);

  const bound = rec.icount * 20;
  const rand = xorshift(0xdec0de);
  const pick = (n: number) => Math.floor(rand() * n);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  let done = 0;
  for (let i = 0; i < MUTATIONS; i++) {
    const log = rec.log;
    let bytes: Uint8Array;
    const kind = i % 3;
    if (kind === 0) {
      bytes = log.slice(0, pick(log.length)); // truncation
    } else if (kind === 1) {
      bytes = log.slice(); // one to three byte flips
      for (let n = 1 + pick(3); n > 0; n--) {
        const at = pick(bytes.length);
        bytes[at] = rand() < 0.5 ? bytes[at]! ^ (1 << pick(8)) : pick(256);
      }
    } else {
      const at = pick(log.length + 1); // 1 to 8 inserted bytes
      const extra = Uint8Array.from({ length: 1 + pick(8) }, () => pick(256));
      bytes = new Uint8Array(log.length + extra.length);
      bytes.set(log.subarray(0, at));
      bytes.set(extra, at);
      bytes.set(log.subarray(at), at + extra.length);
    }
    let result: ReplayResult | undefined;
    try {
      result = await replay(bytes, { ...machine, maxInsns: bound });
    } catch (err) {
      if (err instanceof ReplayLogError) count("ReplayLogError");
      else if (err instanceof ReplayDivergenceError) {
        count("ReplayDivergenceError");
      } else if (err instanceof ReplayConfigError) count("ReplayConfigError");
      else {
        throw new Error(
          `Mutation ${i} (${
            ["cut", "flip", "insert"][kind]
          }) threw something else: ${err}`,
          { cause: err },
        );
      }
    }
    if (result) {
      ok(result.icount <= bound, `mutation ${i} ran past the bound`);
      count(`end: ${result.end}`);
    }
    done++;
  }
  equal(done, MUTATIONS);
  console.log(Object.fromEntries(outcomes));
  for (
    const k of [
      "ReplayLogError",
      "ReplayDivergenceError",
      "ReplayConfigError",
      "end: truncated",
      "end: exit",
    ]
  ) {
    ok((outcomes.get(k) ?? 0) > 0, `no mutation gave ${k}`);
  }
});

Deno.test("The FDT rng-seed is host entropy, recorded as EVENT_RANDOM and replayed from the log", async () => {
  let typed = 0;
  const input = () => typed < 6 ? "seeds\n"[typed++] : undefined;
  const rec = await record({
    ...machine,
    rngSeed: "host",
    sliceInsns: 400,
    input,
  });
  const events = [...new ReplayLogReader(rec.log)];
  const random = events.filter((e) => e.kind === "random");
  equal(random.length, 1);
  const seed = random[0]!.kind === "random" ? random[0]!.bytes : undefined;
  equal(seed?.length, 32);
  equal(random[0]!.icount, 0);
  // The replay's device tree (in RAM) has the logged seed: the state hash
  // matches, three times.
  for (let i = 0; i < 3; i++) {
    const rep = await replay(rec.log, { ...machine, rngSeed: "host" });
    equal(rep.stateHash, rec.stateHash);
  }
  // Another seed in the log gives another machine state.
  const log = rec.log.slice();
  log[random[0]!.byteOffset + 1 + 4 + 4]! ^= 0xff;
  const other = await replay(log, { ...machine, rngSeed: "host" });
  equal(other.output, rec.output);
  ok(other.stateHash !== rec.stateHash);
});

Deno.test("2,000 random mutations of a log with clock warps (sleep=on) each end in a clear error or cleanly", async () => {
  const { Runner } = await import("../replay/runner.ts");
  const { LogRecorder, LogReplayer } = await import("../replay/machine_log.ts");
  const demo = await Deno.readFile(
    DEMO,
  );
  const opts = { bios: "none" as const, kernel: demo, memoryBytes: 1 << 20 };
  const config = {
    board: "virt",
    ramSize: 1 << 20,
    firmware: null,
    kernel: null,
    devices: [],
    plugins: [],
  };
  // Record: the demo guest idles in wfi between ticks; each idle moves the
  // clock by 30 ms of "real time" (a logged warp); then "quit" powers off.
  const chunks: Uint8Array[] = [];
  const rec = new LogRecorder({ write: (b) => chunks.push(b) }, config);
  let out = "";
  const runner = new Runner({
    machine: { ...opts, output: (b) => (out += new TextDecoder().decode(b)) },
    record: rec.hook,
  });
  const m = runner.machine;
  let idles = 0;
  for (let i = 0; i < 200; i++) {
    if (idles === 12) m.sendInput(new TextEncoder().encode("quit\n"));
    const r = runner.run(100_000);
    if (r.kind === "exit") break;
    if (r.kind === "idle") {
      idles++;
      runner.idleFor(30e6);
    }
  }
  rec.finish("guest", m.cpu.icount);
  ok(out.includes("goodbye"), out);
  ok(out.includes("[tick 3]"), out);
  const log = concatBytes(chunks);
  const warps = [...new ReplayLogReader(log)].filter((e) =>
    e.kind === "clock" && e.clock === "virtual-rt"
  );
  ok(warps.length >= 12, `${warps.length} warps`);

  const replayOnce = (bytes: Uint8Array): string => {
    const rep = new LogReplayer(bytes);
    const r = new Runner({ machine: opts, replay: rep.source });
    for (let n = 0; n < 100 && r.machine.cpu.icount < m.cpu.icount * 20; n++) {
      const res = r.run(100_000);
      if (res.kind === "exit" || res.kind === "replay-end") return res.kind;
      if (res.kind === "idle") return "idle";
    }
    return "bound";
  };
  equal(replayOnce(log), "exit");

  const rand = xorshift(77);
  const pick = (n: number) => Math.floor(rand() * n);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const N = 2_000;
  for (let i = 0; i < N; i++) {
    const bytes = log.slice();
    // Mostly flips inside the warp events, where the clock values are.
    const w = warps[pick(warps.length)]!;
    const where = rand() < 0.7
      ? w.byteOffset + 1 + pick(8)
      : pick(bytes.length);
    bytes[where] = pick(256);
    try {
      count(replayOnce(bytes));
    } catch (err) {
      if (err instanceof ReplayLogError) count("ReplayLogError");
      else if (err instanceof ReplayDivergenceError) {
        count("ReplayDivergenceError");
      } else {
        throw new Error(`Mutation ${i} threw something else: ${err}`, {
          cause: err,
        });
      }
    }
  }
  equal([...outcomes.values()].reduce((a, b) => a + b, 0), N);
  console.log(Object.fromEntries(outcomes));
});
