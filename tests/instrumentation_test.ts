// Instrumentation plugins: they see every instruction (the insn count equals
// the icount on a real firmware boot), memory accesses with their values,
// traps and blocks, and they change nothing (a log replays the same with any
// set of them loaded).

import { deepEqual, equal, ok } from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import {
  hotblocksPlugin,
  insnPlugin,
  memPlugin,
} from "../plugins/instrumentation.ts";
import { execlogPlugin } from "../plugins/execlog.ts";
import type { MemAccess, TrapInfo } from "../plugins/instrumentation.ts";
import { assertReplayMatches, record, replay } from "../replay/session.ts";
import { Console, readFirmware } from "./_console.ts";
import { DEMO } from "./_deja.ts";
import { load, words } from "./_instrumentation.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

Deno.test("insn counts every instruction of an OpenSBI + U-Boot boot: the count equals the icount", () => {
  const insn = load(insnPlugin);
  const con = new Console({
    bios: readFirmware(FW_JUMP, "opensbi"),
    kernel: readFirmware(UBOOT_S, "u-boot-qemu"),
    instrumentation: [insn.hooks],
  });
  con.expect("Hit any key");
  con.send(" ");
  con.expect("=> ");
  con.send("poweroff\n");
  const r = con.runToExit();
  equal(r.kind, "exit");
  const m = con.machine;
  m.finishInstrumentation("poweroff");
  ok(m.cpu.icount > 10_000_000, `icount ${m.cpu.icount}`);
  deepEqual(insn.lines, [`insns: ${m.cpu.icount}`]);
});

// Loads, stores and an atomic at 0x80002000, then an ecall into a handler
// that powers off through sifive_test.
function program(): Uint8Array {
  const insns = [
    0x800022b7, // lui t0, 0x80002
    0x02029293, // slli t0, t0, 32
    0x0202d293, // srli t0, t0, 32 (t0 = 0x80002000)
    0x00001337, // lui t1, 0x1
    0x2343031b, // addiw t1, t1, 0x234
    0x0062b023, // sd t1, 0(t0)
    0x0042a383, // lw t2, 4(t0)
    0x0002be03, // ld t3, 0(t0)
    0x0062aeaf, // amoadd.w t4, t1, (t0)
    0x00000f17, // auipc t5, 0
    0x018f0f13, // addi t5, t5, 24  (the handler below)
    0x305f1073, // csrw mtvec, t5
    0x00000073, // ecall
    0x00000013, // nop (never reached)
    0x00000013, // nop (never reached)
    0x001002b7, // handler: lui t0, 0x100
    0x00005337, // lui t1, 0x5
    0x5553031b, // addiw t1, t1, 0x555
    0x0062a023, // sw t1, 0(t0)   power off
  ];
  return words(insns);
}

Deno.test("mem reports addresses, sizes and values; traps and blocks are seen", () => {
  const accesses: MemAccess[] = [];
  const traps: TrapInfo[] = [];
  const blocks: [bigint, number][] = [];
  const mem = load(memPlugin);
  const hot = load(hotblocksPlugin, "limit=2");
  const log = load(execlogPlugin);
  const m = new VirtMachine({
    bios: "none",
    kernel: program(),
    memoryBytes: 1 << 20,
    instrumentation: [
      {
        mem: (a) => void accesses.push(a),
        trap: (t) => void traps.push(t),
        block: (pc, insns) => void blocks.push([pc, insns.length]),
      },
      mem.hooks,
      hot.hooks,
      log.hooks,
    ],
  });
  const r = m.run(1000);
  equal(r.kind, "exit");
  m.finishInstrumentation("poweroff");
  deepEqual(
    accesses.filter((a) => a.pc >= 0x80000000n) // not the reset ROM's
      .map((a) => [a.access, a.addr, a.size, a.value]),
    [
      ["write", 0x80002000n, 8, 0x1234n],
      ["read", 0x80002004n, 4, 0n],
      ["read", 0x80002000n, 8, 0x1234n],
      ["read", 0x80002000n, 4, 0x1234n], // amoadd.w reads the old value
      ["write", 0x80002000n, 4, 0x1234n], // and reports rs2 as the write
      ["write", 0x100000n, 4, 0x5555n], // the power-off store
    ],
  );
  deepEqual(traps.map((t) => [t.cause, t.interrupt]), [[11, false]]);
  equal(traps[0]!.handler, 0x8000003cn);
  // Blocks end at the csrw/ecall (system instructions) and at the trap.
  const mine = blocks.filter(([pc]) => pc >= 0x80000000n);
  deepEqual(mine, [
    [0x80000000n, 12], // up to the csrw mtvec (the ecall traps: not retired)
    [0x8000003cn, 4], // the handler, up to the power-off store
  ]);
  ok(mem.lines.at(-1)!.startsWith("mem: 5 reads, 3 writes"), mem.lines.at(-1));
  equal(hot.lines[0], "pc, insns, execs");
  deepEqual(
    log.lines.filter((l) => l.startsWith("0x000000008")).slice(0, 6),
    [
      "0x0000000080000000, 0x800022b7, lui t0, 0x80002",
      "0x0000000080000004, 0x02029293, slli t0, t0, 0x20",
      "0x0000000080000008, 0x0202d293, srli t0, t0, 0x20",
      "0x000000008000000c, 0x00001337, lui t1, 0x1",
      "0x0000000080000010, 0x2343031b, addiw t1, t1, 564",
      "0x0000000080000014, 0x0062b023, sd t1, 0(t0)",
    ],
  );
});

Deno.test("a recording replays the same with any set of instrumentation plugins loaded", async () => {
  const machine = {
    bios: "none" as const,
    kernel: await Deno.readFile(
      DEMO,
    ),
  };
  let typed = 0;
  const rec = await record({
    ...machine,
    input: ({ icount }) => {
      // Type at host-chosen moments: the log carries them.
      if (typed === 0 && icount > 200_000) return typed++, "hello\n";
      if (typed === 1 && icount > 2_000_000) return typed++, "quit\n";
      return undefined;
    },
  });
  ok(rec.output.includes("goodbye"), rec.output);
  ok(rec.output.length > 0);
  for (
    const set of [
      [],
      [insnPlugin],
      [insnPlugin, hotblocksPlugin], // the counting path
      [insnPlugin, memPlugin, hotblocksPlugin],
    ]
  ) {
    const loaded = set.map((p) => load(p));
    const rep = await replay(rec.log, {
      ...machine,
      instrumentation: loaded.map((l) => l.hooks),
    });
    assertReplayMatches(rec, rep);
  }
});
