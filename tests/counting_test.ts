// Instrumentation at speed: plugins that only count (insn, hotblocks) run on
// the counting path (the fast loop's counting variant, compiled blocks
// included) and report what the observed one-instruction-at-a-time path
// reports, and change nothing in the machine's state (replay with them:
// tests/instrumentation_test.ts).

import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import { hotblocksPlugin, insnPlugin } from "../plugins/instrumentation.ts";
import type { InstrumentationHooks } from "../plugins/instrumentation.ts";
import { load, words } from "./_instrumentation.ts";

const LOOPS = 100_000;

// A loop hot enough for the block compiler, then a power-off store.
function program(): Uint8Array {
  const insns = [
    0x000182b7, // lui t0, 0x18
    0x6a02829b, // addiw t0, t0, 1696 (t0 = 100000 = LOOPS)
    0x00000313, // addi t1, zero, 0
    0x00330313, // loop: addi t1, t1, 3
    0x00534393, // xori t2, t1, 5
    0x00730333, // add t1, t1, t2
    0xfff28293, // addi t0, t0, -1
    0xfe0298e3, // bne t0, zero, loop
    0x001002b7, // lui t0, 0x100
    0x00005337, // lui t1, 0x5
    0x5553031b, // addiw t1, t1, 0x555
    0x0062a023, // sw t1, 0(t0)   power off
  ];
  return words(insns);
}

/** Run the loop program with `extra` hooks besides insn and hotblocks. */
function runLoop(extra: InstrumentationHooks[]) {
  const insn = load(insnPlugin);
  const hot = load(hotblocksPlugin, "limit=10");
  const blocks = new Map<bigint, { n: number; execs: number }>();
  const m = new VirtMachine({
    bios: "none",
    kernel: program(),
    memoryBytes: 1 << 20,
    instrumentation: [
      insn.hooks,
      hot.hooks,
      {
        blockCount: (pc, insns, execs) => {
          const e = blocks.get(pc);
          if (e) e.execs += execs;
          else blocks.set(pc, { n: insns.length, execs });
        },
      },
      ...extra,
    ],
  });
  const r = m.run(10_000_000);
  equal(r.kind, "exit");
  m.finishInstrumentation("poweroff");
  return { m, insn: insn.lines, hot: hot.lines, blocks };
}

Deno.test("insn and hotblocks count on the counting path what the observed path sees", () => {
  const counted = runLoop([]);
  // A trap hook needs every instruction: the observed path.
  const observed = runLoop([{ trap: () => {} }]);
  equal(counted.m.cpu.icount, observed.m.cpu.icount);
  ok(counted.m.cpu.icount > 5 * LOOPS, `icount ${counted.m.cpu.icount}`);
  deepEqual(counted.insn, [`insns: ${counted.m.cpu.icount}`]);
  deepEqual(observed.insn, counted.insn);
  deepEqual(counted.hot, observed.hot);
  deepEqual([...counted.blocks].filter(([pc]) => pc >= 0x80000000n), [
    [0x80000000n, { n: 8, execs: 1 }], // through the first bne
    [0x8000000cn, { n: 5, execs: LOOPS - 1 }], // the loop, taken branches
    [0x80000020n, { n: 4, execs: 1 }], // up to the power-off store
  ]);
  deepEqual(counted.blocks, observed.blocks); // the reset ROM's too
  equal(counted.hot[0], "pc, insns, execs");
  equal(counted.hot[1], `0x000000008000000c, 5, ${LOOPS - 1}`);
});

Deno.test("the counting path leaves the same state as a plain run", async () => {
  const plain = new VirtMachine({
    bios: "none",
    kernel: program(),
    memoryBytes: 1 << 20,
  });
  equal(plain.run(10_000_000).kind, "exit");
  const counted = runLoop([]).m;
  equal(counted.cpu.icount, plain.cpu.icount);
  // The whole machine: hart, clock, board, RAM.
  equal(await counted.stateHash(), await plain.stateHash());
  notEqual(await counted.stateHash(), await runLoopShort().stateHash());
});

// Different state (stopped inside the loop), so that the hash comparison
// above can tell states apart.
function runLoopShort(): VirtMachine {
  const m = new VirtMachine({
    bios: "none",
    kernel: program(),
    memoryBytes: 1 << 20,
  });
  m.run(1000);
  return m;
}

Deno.test("on the bench guest, with its pages translated to WebAssembly, the counting path finds the observed path's hot blocks", () => {
  const run = (extra: InstrumentationHooks[]) => {
    const blocks = new Map<bigint, number>();
    const insn = load(insnPlugin);
    const m = new VirtMachine({
      bios: "none",
      kernel: Deno.readFileSync(
        new URL("../bench/guest/bench.elf", import.meta.url),
      ),
      memoryBytes: 32 << 20,
      instrumentation: [insn.hooks, {
        blockCount: (pc, _insns, execs) =>
          blocks.set(pc, (blocks.get(pc) ?? 0) + execs),
      }, ...extra],
    });
    equal(m.run(20_000_000).kind, "budget");
    m.finishInstrumentation("poweroff");
    const top = [...blocks].sort((a, b) => b[1] - a[1]).slice(0, 10);
    return { m, insn: insn.lines, top };
  };
  const counted = run([]);
  const stats = counted.m.cpu.blockStats();
  ok(stats.translations > 3 && stats.wasm > 5, JSON.stringify(stats));
  const observed = run([{ trap: () => {} }]);
  equal(counted.m.cpu.icount, observed.m.cpu.icount);
  deepEqual(counted.insn, [`insns: ${counted.m.cpu.icount}`]);
  deepEqual(observed.insn, counted.insn);
  // The same ten hottest blocks, in the same order. Their counts may
  // differ by a few (a block start counted or not where compiled code
  // first takes over), as with JavaScript blocks.
  deepEqual(counted.top.map(([pc]) => pc), observed.top.map(([pc]) => pc));
  counted.top.forEach(([pc, execs], k) => {
    const want = observed.top[k]![1];
    ok(Math.abs(execs - want) <= 2, `${pc.toString(16)}: ${execs} vs ${want}`);
  });
});
