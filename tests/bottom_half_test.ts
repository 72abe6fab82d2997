// Device bottom halves (`ctx.clock.newBottomHalf`): deferred work that runs
// at the same instruction however the run is sliced, so that a recording
// and its replay agree.

import { deepEqual, equal } from "node:assert/strict";
import { VirtualClock } from "../core/clock.ts";
import { VirtMachine } from "../devices/virt.ts";
import { defineDevicePlugin, PLUGIN_API_VERSION } from "../plugins/mod.ts";
import { assertReplayMatches, record, replay } from "../replay/session.ts";

Deno.test("BottomHalf runs once per schedule, and cancel drops it", () => {
  let icount = 0;
  const clock = new VirtualClock(() => icount, { shift: 0 });
  const runs: number[] = [];
  const bh = clock.newBottomHalf("x", () => runs.push(clock.nowNs()));
  bh.schedule();
  bh.schedule();
  equal(bh.scheduled, true);
  icount = 5;
  equal(clock.runExpired(), 1);
  deepEqual(runs, [5]);
  equal(bh.scheduled, false);
  bh.schedule();
  bh.cancel();
  icount = 9;
  equal(clock.runExpired(), 0);
  // Scheduled from a timer: runs in the same round.
  clock.newTimer("t", () => bh.schedule()).mod(10);
  icount = 10;
  equal(clock.runExpired(), 2);
  deepEqual(runs, [5, 10]);
});

const BASE = 0x1001_0000;

/** Whether the device schedules its bottom half on a store or on a load. */
type Trigger = "store" | "load";

/**
 * A device whose register access defers "DMA" to a bottom half: the bottom
 * half stores the register's value + 1 to guest RAM at 0x80001000. A store
 * sets the value; with the `load` trigger each load adds one to it and
 * schedules the bottom half instead. `log` collects the virtual time of each
 * run.
 */
function bhDevice(log: number[], on: Trigger = "store") {
  return defineDevicePlugin({
    kind: "device",
    name: "bh-dma",
    version: "1.0.0",
    apiVersion: PLUGIN_API_VERSION,
    compatible: "deja,bh-dma",
    mmioSize: 0x10,
    create: (ctx) => {
      let value = 0;
      const bh = ctx.clock.newBottomHalf("dma", () => {
        log.push(ctx.clock.nowNs());
        ctx.memory.write(0x8000_1000, 4, value + 1);
      });
      return {
        regions: [{
          name: "bh-dma",
          base: ctx.addr,
          size: 0x10,
          accessSizes: [4] as const,
          read: () => {
            if (on === "load") {
              value++;
              bh.schedule();
            }
            return value;
          },
          write: (_o: number, _s: number, v: number) => {
            value = v;
            if (on === "store") bh.schedule();
          },
        }],
        reset: () => (value = 0),
      };
    },
  });
}

// RV64 encodings for a tiny guest.
const lui = (rd: number, imm20: number) =>
  ((imm20 << 12) | (rd << 7) | 0x37) >>> 0;
const addi = (rd: number, rs1: number, imm: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0;
const sw = (rs2: number, rs1: number, imm: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (2 << 12) |
    ((imm & 0x1f) << 7) | 0x23) >>> 0;
const auipc = (rd: number, imm20: number) =>
  ((imm20 << 12) | (rd << 7) | 0x17) >>> 0;
const lw = (rd: number, rs1: number, imm: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (2 << 12) | (rd << 7) | 0x03) >>> 0;
function bne(rs1: number, rs2: number, off: number): number {
  const i = off & 0x1fff;
  return ((((i >> 12) & 1) << 31) | (((i >> 5) & 0x3f) << 25) | (rs2 << 20) |
    (rs1 << 15) | (1 << 12) | (((i >> 1) & 0xf) << 8) | (((i >> 11) & 1) << 7) |
    0x63) >>> 0;
}

/**
 * t0 = device, t1 = 40; loop: store t1 to the device, read RAM word at
 * 0x80001000 into t2 right after (sees the bottom half's store iff it ran
 * before the load), add t2 into s1, count t1 down; then power off with s1
 * in the low bits of the exit code.
 */
function guest(on: Trigger = "store"): Uint8Array {
  const T0 = 5, T1 = 6, T2 = 7, T3 = 28, S1 = 9, A0 = 10;
  const words = [
    lui(T0, BASE >>> 12), // 0
    addi(T1, 0, 40), // 1
    auipc(A0, 1), // 2: a0 = 0x80000008 + 0x1000
    addi(S1, 0, 0), // 3
    sw(T1, T0, 0), // 4: loop
    lw(T2, A0, -8), // 5: the word at 0x80001000
    addi(S1, S1, 0), // 6 (placeholder, patched below: add)
    addi(T1, T1, -1), // 7
    bne(T1, 0, -16), // 8: back to 4
    lui(T0, 0x100), // 9: sifive_test
    lui(T1, 0x5), // 10
    addi(T1, T1, 0x555), // 11: 0x5555 = pass
    sw(T1, T0, 0), // 12
  ];
  // add s1, s1, t2
  words[6] = ((T2 << 20) | (S1 << 15) | (S1 << 7) | 0x33) >>> 0;
  // The load trigger: the loop reads the device (its value counts 1..40).
  if (on === "load") words[4] = lw(T3, T0, 0);
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w, true));
  return bytes;
}

function runSliced(
  slice: number,
  on: Trigger = "store",
): { log: number[]; s1: bigint; icount: number } {
  const log: number[] = [];
  const m = new VirtMachine({
    bios: "none",
    kernel: guest(on),
    memoryBytes: 1 << 20,
    devices: [{ plugin: bhDevice(log, on), addr: BASE }],
  });
  for (let i = 0; i < 10_000; i++) {
    const r = m.run(slice, { warpIdle: true });
    if (r.kind === "exit") break;
  }
  return { log, s1: m.cpu.getX(9), icount: m.cpu.icount };
}

Deno.test("A device's bottom half runs right after the store that scheduled it, however the run is sliced", () => {
  const a = runSliced(1);
  const b = runSliced(3);
  const c = runSliced(1_000_000);
  equal(a.log.length, 40);
  deepEqual(b, a);
  deepEqual(c, a);
  // The stores are instructions 4 + 5k (the boot ROM runs first: take the
  // first one as the origin); each bottom half runs one instruction (8 ns
  // at shift 3) after its store retires, so the load that follows sees it.
  const step = a.log[1]! - a.log[0]!;
  equal(step, 5 * 8);
  // The load right after the store saw value + 1: the sum of 41..2.
  let want = 0n;
  for (let v = 40; v >= 1; v--) want += BigInt(v + 1);
  equal(a.s1, want);
});

Deno.test("A bottom half scheduled by a load runs right after that load, however the run is sliced", () => {
  // Loads that reach a device do not end a slice unless the device armed a
  // timer or raised a line; this one did, so the slice ends there.
  const a = runSliced(1, "load");
  const b = runSliced(3, "load");
  const c = runSliced(1_000_000, "load");
  equal(a.log.length, 40);
  deepEqual(b, a);
  deepEqual(c, a);
  equal(a.log[1]! - a.log[0]!, 5 * 8);
  let want = 0n;
  for (let v = 1; v <= 40; v++) want += BigInt(v + 1);
  equal(a.s1, want);
});

Deno.test("A recording with bottom halves replays to the same state", async () => {
  const machine = {
    bios: "none" as const,
    kernel: guest(),
    memoryBytes: 1 << 20,
  };
  const recLog: number[] = [];
  const rec = await record({
    ...machine,
    devices: [{ plugin: bhDevice(recLog), addr: BASE }],
  });
  const repLog: number[] = [];
  const rep = await replay(rec.log, {
    ...machine,
    devices: [{ plugin: bhDevice(repLog), addr: BASE }],
  });
  assertReplayMatches(rec, rep);
  deepEqual(repLog, recLog);
  equal(recLog.length, 40);
});
