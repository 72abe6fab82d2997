// Time travel in a replay (replay/time_travel.ts): seeking to random
// instruction counts of a recorded U-Boot session, in random order, lands on
// the same machine state as a replay run forward to each, with the snapshots
// kept within their memory budget.

import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { Runner } from "../replay/runner.ts";
import { record } from "../replay/session.ts";
import { crc32, typist } from "./_console.ts";
import { LogReplayer } from "../replay/machine_log.ts";
import { TimeTravel } from "../replay/time_travel.ts";
import { quickHash } from "./_state.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const machine = {
  bios: await Deno.readFile(FW_JUMP),
  kernel: await Deno.readFile(UBOOT_S),
};

/** A small seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function recordSession() {
  const typed = [
    " ",
    "version\n",
    "setexpr a 0x10 * 3; echo $a\n",
    // U-Boot's image as OpenSBI loaded it (S-mode may not read OpenSBI's
    // own 0x80000000: PMP denies it, and U-Boot would reset).
    "crc32 0x80200000 0x1000\n",
    "poweroff\n",
  ];
  const rec = await record({
    ...machine,
    input: typist(typed),
  });
  equal(rec.exit?.kind, "poweroff");
  // The session is the one typed: one boot, each command's answer.
  equal(rec.output.match(/Hit any key to stop autoboot/g)?.length, 1);
  match(rec.output, /=> setexpr a 0x10 \* 3; echo \$a\r?\n30\r?\n/);
  const crc = crc32(machine.kernel.subarray(0, 0x1000));
  match(
    rec.output,
    new RegExp(`80200fff ==> ${crc.toString(16).padStart(8, "0")}\r?\n`),
  );
  return rec;
}

function replayRunner(log: Uint8Array) {
  const replayer = new LogReplayer(log);
  return new Runner({
    machine,
    replay: replayer.source,
    checks: replayer,
    warpIdle: true,
  });
}

Deno.test("seeking to 100 random instruction counts of a U-Boot replay, in random order, gives each time the state of a forward replay stopped there", async () => {
  const rec = await recordSession();
  const rand = prng(11);
  // The first 100M instructions: boot, the typed commands (the recording
  // then idles in U-Boot's prompt to its end), to keep the test short.
  const span = Math.min(rec.icount, 100_000_000);
  const targets = Array.from(
    { length: 100 },
    () => Math.floor(rand() * span),
  );
  // A few exact spots: the start, neighbours (one step back).
  targets.push(0, 5_000_000, 5_000_001, 4_999_999);

  // Forward: one replay, stopped at each target in order.
  const want = new Map<number, string>();
  const sha = new Map<number, string>();
  const forward = replayRunner(rec.log);
  const sorted = [...new Set(targets)].sort((a, b) => a - b);
  for (const t of sorted) {
    const r = forward.runUntil(t);
    equal(r.kind, "budget");
    equal(forward.machine.cpu.icount, t);
    want.set(t, quickHash(forward.machine));
    if (t % 7 === 0 || t === 5_000_000) {
      sha.set(t, await forward.machine.stateHash());
    }
  }

  // Time travel: the same targets shuffled, with a budget that forces
  // thinning (about 30 KiB of pages a snapshot here, plus its page table:
  // 256 KiB for 128 MiB of RAM).
  const runner = replayRunner(rec.log);
  const budget = 6 * 1024 * 1024;
  const interval = 2_000_000;
  const tt = new TimeTravel(runner, { interval, budgetBytes: budget });
  const t0 = performance.now();
  const order = [...targets];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let backwards = 0, peak = 0;
  for (const t of order) {
    if (t < runner.machine.cpu.icount) backwards++;
    tt.seek(t);
    equal(runner.machine.cpu.icount, t);
    equal(quickHash(runner.machine), want.get(t), `state at ${t}`);
    if (sha.has(t)) equal(await runner.machine.stateHash(), sha.get(t));
    peak = Math.max(peak, tt.memoryBytes);
  }
  console.log(
    `${order.length} seeks in ${
      Math.round(performance.now() - t0)
    } ms over ${rec.icount} instructions; ${tt.snapshots} snapshots, ${tt.memoryBytes} bytes`,
  );
  ok(backwards > 30, `${backwards} of the seeks went backwards`);
  ok(peak <= budget, `snapshot memory ${peak} within the budget ${budget}`);
  ok(tt.snapshots > 5, `${tt.snapshots} snapshots kept`);
  ok(
    tt.snapshots < Math.ceil(span / interval),
    `thinned: ${tt.snapshots} of ${Math.ceil(span / interval)}`,
  );
  equal(tt.start, 0);
  throws(() => tt.seek(-1), /^RangeError: Cannot seek to instruction -1/);
});

Deno.test("unchanged RAM pages are shared between snapshots: a snapshot costs the pages written since the one before", () => {
  // sd a0, 0(a1) at a page that moves by 4 KiB each loop: a1 += 4096
  // 0x80000000: auipc a1, 0x10 ; addi a0, a0, 1 ; sd a0, 0(a1) ;
  //             lui t0, 1 ; add a1, a1, t0 ; j .-16
  const kernel = new Uint8Array([
    0x97,
    0x05,
    0x01,
    0x00, // auipc a1, 0x10
    0x13,
    0x05,
    0x15,
    0x00, // addi a0, a0, 1
    0x23,
    0xb0,
    0xa5,
    0x00, // sd a0, 0(a1)
    0xb7,
    0x12,
    0x00,
    0x00, // lui t0, 1
    0xb3,
    0x85,
    0x55,
    0x00, // add a1, a1, t0
    0x6f,
    0xf0,
    0x1f,
    0xff, // j .-16
  ]);
  const runner = new Runner({
    machine: { bios: "none", kernel, memoryBytes: 4 << 20 },
  });
  const tt = new TimeTravel(runner, { interval: 50 }); // 50 insns: 10 loops
  const first = tt.memoryBytes;
  ok(
    first < 64 * 1024,
    `the first snapshot holds the non-zero pages: ${first}`,
  );
  tt.seek(500); // 10 snapshots, 10 new pages each
  equal(tt.snapshots, 11);
  // Each snapshot's page table counts too: a reference per 4 KiB page.
  const table = ((4 << 20) / 4096) * 8;
  const perSnap = (tt.memoryBytes - first) / 10 - table;
  ok(
    perSnap >= 10 * 4096 && perSnap < 12 * 4096,
    `each snapshot holds about 10 pages: ${perSnap} bytes`,
  );
  const a0 = runner.machine.cpu.getX(10);
  tt.seek(251);
  equal(runner.machine.cpu.icount, 251);
  tt.seek(500);
  equal(runner.machine.cpu.getX(10), a0);
  deepEqual(tt.snapshotIcounts, Array.from({ length: 11 }, (_, i) => i * 50));
});
