// Dirty-page tracking (core/bus.ts `dirty`, core/cpu.ts's slow store path,
// replay/time_travel.ts): a snapshot copies only the pages written since the
// one before, and the fast store path costs nothing because the write TLB
// is dropped at each snapshot. Proven against full RAM: every snapshot the
// time travel kept, restored, holds exactly the RAM (and machine) that a
// plain run without time travel has at that instruction count, over runs
// that write RAM every way: integer stores (interpreter and compiled
// blocks), FP stores, AMOs, LR/SC, virtio-blk reads into RAM (DMA), the
// debugger's memory writes, and restores.

import { deepEqual, equal, ok } from "node:assert/strict";
import { Bus } from "../core/bus.ts";
import { Runner } from "../replay/runner.ts";
import { record } from "../replay/session.ts";
import { LogReplayer } from "../replay/machine_log.ts";
import { TimeTravel } from "../replay/time_travel.ts";
import { DebugTarget } from "../cli/debug_target.ts";
import { openDrive } from "../plugins/block_backends.ts";
import type { VirtioDeviceConfig } from "../devices/virt.ts";
import { typist } from "./_console.ts";
import { quickHash } from "./_state.ts";

const HOST_CLOCK = () => 1_700_000_000_000_000_000n;

// A loop that writes RAM every way a hart does, 64 pages in turn, again
// and again (so pages clean at a snapshot are written again after it):
//   lui t0, 6 ; csrs mstatus, t0        FS on
//   auipc a1, 0x10 ; li a2, 0
// loop:
//   fmv.d.x f0, a0
//   fsd f0, 0(a1)                        FP store
//   sd a0, 8(a1) ; sb a0, 40(a1)         integer stores
//   fsw f0, 16(a1)
//   addi t5, a1, 24 ; amoadd.d zero, a0, (t5)            AMO
//   addi t2, a1, 32 ; lr.d t3, (t2) ; sc.d t4, a0, (t2)  LR/SC
//   lui t6, 0x40 ; add t6, a1, t6        a page 256 KiB on that only
//   sd a0, 0(t6) ; sw a0, 12(t6)         integer stores write (fast path,
//                                        interpreter then compiled block)
//   addi a0, a0, 1 ; lui t1, 1 ; add a1, a1, t1          next page
//   addi a2, a2, 1 ; andi a2, a2, 63 ; bnez a2, loop
//   auipc a1, 0x10 ; j loop
const STORES = new Uint8Array([
  0xb7,
  0x62,
  0x00,
  0x00,
  0x73,
  0xa0,
  0x02,
  0x30,
  0x97,
  0x05,
  0x01,
  0x00,
  0x13,
  0x06,
  0x00,
  0x00,
  0x53,
  0x00,
  0x05,
  0xf2,
  0x27,
  0xb0,
  0x05,
  0x00,
  0x23,
  0xb4,
  0xa5,
  0x00,
  0x23,
  0x84,
  0xa5,
  0x02,
  0x27,
  0xa8,
  0x05,
  0x00,
  0x13,
  0x8f,
  0x85,
  0x01,
  0x2f,
  0x30,
  0xaf,
  0x00,
  0x93,
  0x83,
  0x05,
  0x02,
  0x2f,
  0xbe,
  0x03,
  0x10,
  0xaf,
  0xbe,
  0xa3,
  0x18,
  0xb7,
  0x0f,
  0x04,
  0x00,
  0xb3,
  0x8f,
  0xf5,
  0x01,
  0x23,
  0xb0,
  0xaf,
  0x00,
  0x23,
  0xa6,
  0xaf,
  0x00,
  0x13,
  0x05,
  0x15,
  0x00,
  0x37,
  0x13,
  0x00,
  0x00,
  0xb3,
  0x85,
  0x65,
  0x00,
  0x13,
  0x06,
  0x16,
  0x00,
  0x13,
  0x76,
  0xf6,
  0x03,
  0xe3,
  0x1a,
  0x06,
  0xfa,
  0x97,
  0x05,
  0x01,
  0x00,
  0x6f,
  0xf0,
  0xdf,
  0xfa,
]);
/** The pages (RAM page numbers) only integer stores write. */
const INT_ONLY = { from: 0x50008 >>> 12, to: (0x50008 >>> 12) + 64 };

/**
 * Run `tt` forward to `end`, with the debugger's memory writes `pokes`
 * (icount, physical address, bytes) on the way; then a plain run `ref` to
 * each kept snapshot's count with the same writes; then restore every
 * snapshot, newest first, and compare it with the plain run's state there.
 */
function checkSnapshots(
  tt: TimeTravel,
  ref: Runner,
  end: number,
  pokes: [number, number, number[]][],
): number {
  const machine = tt.runner.machine;
  const target = new DebugTarget({
    cpu: machine.cpu,
    bus: machine.bus,
    run: (n) => tt.run(n),
  });
  for (const [at, addr, bytes] of pokes) {
    equal(tt.runUntil(at).kind, "budget");
    ok(target.writeMemory(BigInt(addr), Uint8Array.from(bytes)));
  }
  equal(tt.runUntil(end).kind, "budget");
  const counts = tt.snapshotIcounts;
  const want = new Map<number, string>();
  const todo = [...pokes];
  for (const c of counts) {
    // The writes before this snapshot, each at its instruction count.
    while (todo.length > 0 && todo[0]![0] < c) {
      const [at, addr, bytes] = todo.shift()!;
      equal(ref.runUntil(at).kind, "budget");
      ref.machine.bus.load(addr, Uint8Array.from(bytes));
    }
    equal(ref.runUntil(c).kind, "budget");
    want.set(c, quickHash(ref.machine));
  }
  for (const c of [...counts].reverse()) {
    tt.seek(c);
    equal(machine.cpu.icount, c);
    equal(quickHash(machine), want.get(c), `the snapshot at ${c}`);
  }
  return counts.length;
}

Deno.test("Bus.dirty: writes that do not go through a hart mark their pages; clearDirty clears them", () => {
  const bus = new Bus(4 * 4096);
  deepEqual([...bus.dirty], [0, 0, 0, 0], "all zero, as made");
  equal(bus.dirtyFromZero, true);
  bus.write(0x8000_2000, 1, 7);
  deepEqual([...bus.dirty], [0, 0, 1, 0]);
  let dropped = 0;
  bus.addDirtyClearListener(() => dropped++);
  bus.clearDirty();
  equal(dropped, 1);
  equal(bus.dirtyFromZero, false);
  deepEqual([...bus.dirty], [0, 0, 0, 0]);
  bus.write(0x8000_0ffe, 4, 1); // two pages
  bus.load(0x8000_3000, new Uint8Array(10));
  deepEqual([...bus.dirty], [1, 1, 0, 1]);
  bus.clearDirty();
  bus.ramWritten(0x2000, 0);
  deepEqual([...bus.dirty], [0, 0, 0, 0]);
});

Deno.test("A hart marks the pages it stores to, fast path included, after every clear", () => {
  const m = new Runner({
    machine: {
      bios: "none",
      kernel: STORES,
      memoryBytes: 1 << 20,
      hostClock: HOST_CLOCK,
    },
  }).machine;
  m.run(20_000); // warm: the loop runs from the write TLB (and as a block)
  for (let round = 0; round < 3; round++) {
    m.bus.clearDirty();
    equal(m.bus.dirty.reduce((a, b) => a + b, 0), 0);
    m.run(1000); // about 40 iterations: pages written again
    const marked = [...m.bus.dirty.keys()].filter((p) => m.bus.dirty[p]);
    const intOnly = marked.filter((p) => p >= INT_ONLY.from && p < INT_ONLY.to);
    ok(
      intOnly.length >= 30,
      `pages only the fast path wrote are marked: ${intOnly.length}`,
    );
    ok(marked.length <= 2 * 65, `${marked.length} marked`);
    for (const p of marked) ok(p >= 16 && p < INT_ONLY.to, `page ${p}`);
  }
});

Deno.test("Snapshots from dirty pages equal full RAM: FP and integer stores, AMOs, LR/SC, debugger writes, restores", () => {
  const machine = {
    bios: "none" as const,
    kernel: STORES,
    memoryBytes: 4 << 20,
    hostClock: HOST_CLOCK,
  };
  const tt = new TimeTravel(new Runner({ machine }), { interval: 9_973 });
  const ref = new Runner({ machine });
  // The debugger writes into a page the loop writes and into one it never
  // touches, between snapshots.
  const n = checkSnapshots(tt, ref, 600_000, [
    [123_457, 0x8001_1010, [1, 2, 3, 4, 5]],
    [300_001, 0x8030_0000, [9, 9]],
  ]);
  ok(n > 50, `${n} snapshots checked`);
  // Back and forth (restores, then runs forward again taking snapshots on
  // top of restored RAM): still exact.
  tt.seek(50_000);
  tt.seek(400_000);
  tt.seek(7);
  equal(
    checkSnapshots(tt, new Runner({ machine }), 650_000, [
      [123_457, 0x8001_1010, [1, 2, 3, 4, 5]],
      [300_001, 0x8030_0000, [9, 9]],
    ]) > 50,
    true,
  );
});

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

Deno.test("Snapshots from dirty pages equal full RAM over a U-Boot replay that reads a virtio-blk disk into RAM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/disk.img`;
    const data = new Uint8Array(1 << 20);
    let s = 99;
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      data[i] = s >>> 24;
    }
    await Deno.writeFile(file, data);
    const disk = (): VirtioDeviceConfig[] => [{
      kind: "blk",
      image: openDrive({ file, format: "raw" }, true).image,
    }];
    const machine = {
      bios: await Deno.readFile(FW_JUMP),
      kernel: await Deno.readFile(UBOOT_S),
    };
    const rec = await record({
      ...machine,
      virtio: disk(),
      input: typist([
        " ",
        "virtio scan\n",
        "virtio read 0x84000000 0 0x800\n", // 1 MiB by DMA into RAM
        "crc32 0x84000000 0x100000\n",
        "mw.b 0x85000000 0xa5 0x2000\n",
        "poweroff\n",
      ]),
    });
    equal(rec.exit?.kind, "poweroff");
    ok(/2048 blocks read: OK/.test(rec.output), rec.output.slice(-500));
    const runner = (): Runner => {
      const replayer = new LogReplayer(rec.log);
      return new Runner({
        machine: { ...machine, virtio: disk() },
        replay: replayer.source,
        checks: replayer,
        warpIdle: true,
      });
    };
    const tt = new TimeTravel(runner(), { interval: 2_000_000 });
    const n = checkSnapshots(tt, runner(), rec.icount - 1, []);
    ok(n > 10, `${n} snapshots checked`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
