/**
 * Debug triggers (Sdtrig): the guest tests/guest/sdtrig.c programs
 * execute, store and load triggers through tselect/tdata1/tdata2 and
 * catches their breakpoint exceptions in M, S and U mode. It must print the
 * same report on deja (blocks on and off) as on QEMU 7.2, which runs live
 * here. mtval on a hit is the pc or address on deja and 0 on QEMU 7.2 (the
 * privileged spec allows both); the guest counts them on a `#` line.
 *
 * @module
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Bus } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import { Cpu } from "../core/cpu.ts";
import { Console } from "./_console.ts";

const ELF = new URL("./guest/build/sdtrig.elf", import.meta.url);

function runDeja(blocks: boolean): string {
  const con = new Console({ bios: "none", kernel: Deno.readFileSync(ELF) });
  con.machine.cpu.blocks = blocks;
  const r = con.runToExit(3e9);
  deepEqual(
    r.kind === "exit" ? r.status : r,
    { kind: "poweroff", code: 0 },
    con.text,
  );
  return con.text.replaceAll("\r", "");
}

/** The report's test lines (ok / not ok, the plan, PASS/FAIL). */
function report(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

Deno.test("sdtrig guest passes on deja, blocks on and off", () => {
  const on = runDeja(true);
  const off = runDeja(false);
  deepEqual(report(on).filter((l) => l.startsWith("not ok")), [], on);
  match(on, /^1\.\.61$/m);
  match(on, /^PASS sdtrig$/m);
  match(on, /^# tinfo = 0x44$/m);
  // deja writes the pc (execute) or the address (load/store) to mtval
  match(on, /^# mtval on trigger hits: 13 the address, 0 zero$/m);
  equal(off, on);
});

Deno.test("sdtrig guest prints the same report on QEMU 7.2", () => {
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command("qemu-system-riscv64", {
      args: [
        ..."-M virt -m 128M -bios none -nographic -no-reboot".split(" "),
        "-kernel",
        ELF.pathname,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
  } catch (e) {
    throw new Error(
      "Cannot run qemu-system-riscv64: not installed; run deno task setup (it installs the Debian package qemu-system-misc)",
      { cause: e },
    );
  }
  const qemu = new TextDecoder().decode(out.stdout).replaceAll("\r", "");
  ok(out.success, `QEMU exited with ${out.code}:\n${qemu}`);
  match(qemu, /^# mtval on trigger hits: 0 the address, 13 zero$/m);
  deepEqual(report(runDeja(true)), report(qemu));
});

// A hand-assembled M-mode program: arm trigger 0 as a store watch (M) on
// 0x80001000, then store there; the trap handler spins.
//   0x00 auipc t0,0; addi t0,t0,0x38; csrw mtvec,t0
//   0x0c li t1,0x80001000 (lui, addiw, slli); csrw tdata2,t1
//   0x1c li t2,(2<<60)|0x42 (addiw, slli, addi); csrw tdata1,t2
//   0x2c li a0,5; 0x30 sd a0,0(t1); 0x34 j .; 0x38 trap: j trap
const PROGRAM = [
  0x00000297,
  0x03828293,
  0x30529073,
  0x00080337,
  0x0013031b,
  0x00c31313,
  0x7a231073,
  0x0010039b,
  0x03d39393,
  0x04238393,
  0x7a139073,
  0x00500513,
  0x00a33023,
  0x0000006f,
  0x0000006f,
];

function hart(): { bus: Bus; cpu: Cpu } {
  const bus = new Bus(1 << 20);
  const box: { cpu?: Cpu } = {};
  const clock = new VirtualClock(() => box.cpu?.icount ?? 0);
  const cpu = box.cpu = new Cpu({ bus, clock });
  bus.load(0x8000_0000, new Uint8Array(new Uint32Array(PROGRAM).buffer));
  cpu.reset(0x8000_0000);
  return { bus, cpu };
}

Deno.test("a store trigger fires before the store, also after a snapshot restore", () => {
  const a = hart();
  equal(a.cpu.readCsr("tinfo"), 0x44n);
  equal(a.cpu.readCsr("tdata1"), 2n << 60n); // mcontrol, matching nothing
  a.cpu.run(12); // up to the sd
  equal(a.cpu.getPc(), 0x8000_0030n);
  equal(a.cpu.readCsr("tdata1"), (2n << 60n) | 0x42n);
  equal(a.cpu.readCsr("tdata2"), 0x8000_1000n);
  const snap = a.cpu.saveState();
  for (const [name, h] of [["same hart", a], ["fresh hart", hart()]] as const) {
    for (const blocks of [true, false]) {
      const what = `${name}, blocks ${blocks}`;
      h.cpu.loadState(snap);
      h.cpu.blocks = blocks;
      h.cpu.run(1);
      equal(h.cpu.getPc(), 0x8000_0038n, what);
      equal(h.cpu.readCsr("mcause"), 3n, what);
      equal(h.cpu.readCsr("mepc"), 0x8000_0030n, what);
      equal(h.cpu.readCsr("mtval"), 0x8000_1000n, what);
      // the store trapped without retiring; the one instruction run is the
      // handler's jump
      equal(h.cpu.icount, 13, `${what}: the store did not retire`);
      equal(h.bus.read(0x8000_1000, 4), 0, `${what}: memory unchanged`);
    }
  }
});
