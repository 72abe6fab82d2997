// Time-travel figures on a recorded OpenSBI + U-Boot session (typed
// commands, then the prompt): reverse-stepi latency near the start, in the
// middle and at the end (median and worst), reverse-continue to the last of
// ~250 breakpoint hits, replay_seek latency, and the in-memory snapshots
// against their budget; the persistent snapshot file against guest RAM.
// Then QEMU's reverse-stepi and reverse-continue on the same kind of session
// (bench/_qemu_reverse.ts: rr=record/replay with rrsnapshot=init, a qcow2
// drive for the snapshot, -gdb and -qmp), with the ratios QEMU/deja; about a
// minute or two, each QEMU step capped at 30 s.
//
//   npx -y deno@2.9.6 run -A bench/time_travel_bench.ts

import { record } from "../replay/session.ts";
import { LogReplayer } from "../replay/machine_log.ts";
import { Runner } from "../replay/runner.ts";
import { TimeTravel } from "../replay/time_travel.ts";
import { Reverser } from "../cli/reverse.ts";
import { DebugTarget } from "../cli/debug_target.ts";
import { encodeSnapshotFile } from "../replay/snapshot_file.ts";
import { qemuReverse } from "./_qemu_reverse.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const machine = {
  bios: await Deno.readFile(FW_JUMP),
  kernel: await Deno.readFile(UBOOT_S),
};

const TYPED = [
  " ",
  "version\n",
  "setexpr a 0x10 * 3; echo $a\n",
  // Over a thousand million instructions: two CRCs of 64 MiB (at 0x80200000
  // on: OpenSBI keeps 0x80000000 from S-mode).
  "crc32 0x80200000 0x4000000\n",
  "crc32 0x82200000 0x4000000\n",
  "poweroff\n",
];
const typed = [...TYPED];
let prompts = 0;
let t = performance.now();
const rec = await record({
  ...machine,
  input: ({ output }) => {
    const seen = (output.match(/=> /g)?.length ?? 0) +
      (output.includes("Hit any key") ? 1 : 0);
    if (seen <= prompts || typed.length === 0) return undefined;
    prompts = seen;
    return typed.shift();
  },
});
const ms = (x: number) => x.toFixed(1) + " ms";
console.log(
  `recording: ${(rec.icount / 1e6).toFixed(0)} M instructions in ${
    ms(performance.now() - t)
  }`,
);

const replayer = new LogReplayer(rec.log);
const runner = new Runner({
  machine,
  replay: replayer.source,
  checks: replayer,
  warpIdle: true,
});
const travel = new TimeTravel(runner);
const target = new DebugTarget({
  cpu: runner.machine.cpu,
  bus: runner.machine.bus,
  run: (n) => travel.run(n),
});
const back = new Reverser(travel);
t = performance.now();
travel.seek(rec.icount - 1);
const fwd = performance.now() - t;
console.log(
  `replay forward with snapshots: ${ms(fwd)} (${
    (rec.icount / fwd / 1e3).toFixed(0)
  } MIPS); ${travel.snapshots} snapshots, ${
    (travel.memoryBytes / 2 ** 20).toFixed(1)
  } MiB of ${
    (travel.budgetBytes / 2 ** 20).toFixed(0)
  } MiB budget; interval now ${travel.interval}`,
);

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${ms(median(s))}, worst ${ms(s.at(-1)!)}`;
};
let endStep = 0;
for (
  const [label, at] of [["start", 5_000_000], [
    "middle",
    Math.floor(rec.icount / 2),
  ], ["end", rec.icount - 10]] as const
) {
  travel.seek(at);
  const lat: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    back.step(target);
    lat.push(performance.now() - t0);
  }
  console.log(`reverse-stepi near the ${label} (icount ${at}): ${stats(lat)}`);
  if (label === "end") endStep = median(lat);
}

// The first reverse-stepi after running forward (a gdb continue): it
// replays from the last periodic snapshot, up to the interval.
{
  travel.seek(10_000_000);
  const firsts: number[] = [];
  let k = 0;
  while (runner.machine.cpu.icount < rec.icount - 10_000_000) {
    target.run(1_000_000 + ((k++ * 7_919_993) % 3_000_000));
    const t0 = performance.now();
    back.step(target);
    firsts.push(performance.now() - t0);
    target.run(12_000_000);
  }
  console.log(
    `first reverse-stepi after a forward run of 1-4 M instructions (${firsts.length} times): ${
      stats(firsts)
    }`,
  );
}

// Seeks to random counts.
const seeks: number[] = [];
let seed = 7;
for (let i = 0; i < 20; i++) {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  const to = seed % rec.icount;
  const t0 = performance.now();
  travel.seek(to);
  seeks.push(performance.now() - t0);
}
console.log(`replay_seek to 20 random counts: ${stats(seeks)}`);

// A breakpoint that hits about 250 times before the end: a pc of the
// prompt's idle loop, counted over the last stretch.
travel.seek(rec.icount - 2_000_000);
const pc = runner.machine.cpu.getPc();
target.insertBreakpoint(pc);
let hits = 0;
const from = runner.machine.cpu.icount;
while (hits < 250) {
  const s = target.run(rec.icount - 1 - runner.machine.cpu.icount);
  if (s.kind !== "breakpoint") break;
  hits++;
}
const last = runner.machine.cpu.icount;
travel.seek(rec.icount - 1);
t = performance.now();
const stop = back.continue(target);
const rc = performance.now() - t;
console.log(
  `reverse-continue from the end to the last of the hits (${hits} hits of pc 0x${
    pc.toString(16)
  } from ${from} on): ${
    ms(rc)
  }, stopped ${stop.kind} at ${runner.machine.cpu.icount}`,
);
t = performance.now();
let n = 0;
while (n < 250) {
  const s = back.continue(target);
  if (s.kind !== "breakpoint") break;
  n++;
}
console.log(
  `250 reverse-continues in a row (each to the hit before): ${
    ms(performance.now() - t)
  } for ${n}, now at ${runner.machine.cpu.icount}`,
);
void last;
target.clearAll();

const snap = runner.machine.saveSnapshot();
const file = encodeSnapshotFile(snap, {
  name: "bench",
  icount: runner.machine.cpu.icount,
  config: {},
  log: null,
});
console.log(
  `persistent snapshot: ${(file.length / 1024).toFixed(0)} KiB for ${
    (snap.ram.length / 2 ** 20).toFixed(0)
  } MiB of RAM`,
);
console.log(
  `snapshots in memory: ${travel.snapshots}, ${
    (travel.memoryBytes / 2 ** 20).toFixed(1)
  } MiB of ${(travel.budgetBytes / 2 ** 20).toFixed(0)} MiB`,
);

// QEMU on the same kind of workload (bench/_qemu_reverse.ts): the same
// typed U-Boot session recorded with rrsnapshot=init, replayed under gdb to
// the same depth as deja's "end" figures, then `bs` and `bc` there. Each
// QEMU step is capped at 30 s (QEMU's part takes a minute or two).
try {
  const q = await qemuReverse({
    bios: FW_JUMP,
    kernel: UBOOT_S,
    typed: TYPED,
    shift: 5,
    steps: 2,
    limitMs: 30_000,
    depth: rec.icount - 10,
  });
  for (const n of q.notes) console.log(`QEMU: ${n}`);
  console.log(
    `QEMU 7.2 recording: ${(q.icount / 1e6).toFixed(0)} M instructions in ${
      ms(q.recordMs)
    } (typed at the speed its serial input takes while recording)`,
  );
  if (q.reverseStepMs.length > 0) {
    const m = median(q.reverseStepMs);
    console.log(
      `QEMU reverse-stepi at icount ${q.at}: ${
        stats(q.reverseStepMs)
      }; QEMU/deja ${(m / endStep).toFixed(0)}x (deja's median near the end ${
        ms(endStep)
      })`,
    );
  }
  if (q.reverseContinueMs === undefined) {
    console.log(
      `QEMU reverse-continue at icount ${q.at}: over 30 s (capped); QEMU/deja over ${
        (30_000 / rc).toFixed(0)
      }x (deja's reverse-continue from the end: ${ms(rc)})`,
    );
  } else {
    console.log(
      `QEMU reverse-continue at icount ${q.at} to the last hit of pc 0x${
        q.pc.toString(16)
      }: ${ms(q.reverseContinueMs)}; QEMU/deja ${
        (q.reverseContinueMs / rc).toFixed(0)
      }x (deja's reverse-continue from the end: ${ms(rc)})`,
    );
  }
} catch (err) {
  console.log(
    `QEMU's reverse debugging: not measured (${(err as Error).message})`,
  );
}
