// Cpu.saveState/loadState and VirtualClock.saveState/loadState: a run that
// is saved, continued, restored and continued again repeats itself exactly,
// in the same hart and in a fresh one. The harness is core-only (no devices
// beyond a power-off register and a console sink), so the tests run with no
// permissions once the ELF files are read.

import { deepEqual, equal, notEqual, ok, throws } from "node:assert/strict";
import { Bus } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import { Cpu, StopReason } from "../core/cpu.ts";
import { parseElf } from "../core/elf.ts";
import {
  CSR64,
  HART,
  HART64,
  HART_STATE_BYTES,
  HART_STATE_VERSION,
} from "../core/hart_state.ts";

const ROOT = new URL("../", import.meta.url);
const ELF_PATHS = [
  "tests/isa/build/rv64ui.elf",
  "tests/isa/build/rv64ua.elf",
  "tests/isa/build/rv64ud.elf",
  "tests/isa/build/rv64uf.elf",
  "tests/isa/build/rv64mi.elf",
  "tests/isa/build/rv64si.elf",
  "tests/isa/build/zicsr.elf",
  "tests/guest/build/interrupts.elf",
  "tests/guest/build/counters.elf",
  "tests/guest/build/pmp.elf",
  "tests/guest/build/sv39.elf",
];
// Read before the tests, which run without permissions.
const ELFS = ELF_PATHS.map((p) => ({
  name: p.split("/").pop()!,
  image: parseElf(Deno.readFileSync(new URL(p, ROOT))),
}));

/** A bus, clock and hart with a power-off register and a console sink. */
class Rig {
  readonly bus = new Bus(16 << 20);
  readonly clock: VirtualClock;
  readonly cpu: Cpu;
  poweredOff = false;
  constructor() {
    this.clock = new VirtualClock(() => 0, { shift: 0 });
    const clock = this.clock;
    this.cpu = new Cpu({
      bus: this.bus,
      clock,
      // A 10 MHz mtime on the virtual clock, for `time` and Sstc.
      time: {
        readMtime: () => Math.floor(clock.nowNs() / 100),
        mtimeToNs: (ticks) => ticks * 100,
      },
    });
    clock.setIcountSource(() => this.cpu.icount);
    this.bus.register({
      name: "test",
      base: 0x10_0000,
      size: 4,
      accessSizes: [4],
      read: () => 0,
      write: () => {
        this.poweredOff = true;
        this.cpu.requestStop();
      },
    });
    this.bus.register({
      name: "uart",
      base: 0x1000_0000,
      size: 8,
      accessSizes: [1],
      read: (o) => (o === 5 ? 0x60 : 0),
      write: () => {},
    });
  }

  /** Run to instruction `target` (or power-off, idle with nothing due). */
  runTo(target: number): void {
    const { cpu, clock } = this;
    while (cpu.icount < target && !this.poweredOff) {
      const n = Math.min(target - cpu.icount, clock.insnsToDeadline());
      const r = cpu.run(n);
      clock.runExpired();
      if (r === StopReason.TrapLoop) return;
      if (r === StopReason.Idle && !cpu.wakeable) {
        const d = clock.nextDeadline();
        if (d === Infinity) return;
        clock.warpTo(d);
        clock.runExpired();
      }
    }
  }

  /** Everything that must repeat: hart, clock and RAM bytes. */
  snapshot(): { hart: Uint8Array; clock: Uint8Array; ram: Uint8Array } {
    return {
      hart: this.cpu.saveState(),
      clock: this.clock.saveState(),
      ram: this.bus.ram8.slice(),
    };
  }

  restore(s: { hart: Uint8Array; clock: Uint8Array; ram: Uint8Array }): void {
    this.bus.ram8.set(s.ram);
    this.bus.ramWritten(0, s.ram.length);
    this.cpu.loadState(s.hart);
    this.clock.loadState(s.clock);
    this.poweredOff = false;
  }
}

function boot(image: ReturnType<typeof parseElf>): Rig {
  const rig = new Rig();
  for (const s of image.segments) rig.bus.load(s.paddr, s.data);
  rig.cpu.reset(image.entry);
  return rig;
}

function equalBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      throw new Error(`${what}: differs first at byte ${i}`);
    }
  }
}

Deno.test({
  name: "Cpu.loadState repeats a run exactly, in the same hart and a new one",
  permissions: "none",
  fn: async (t) => {
    const seen = { sMode: false, fpDirty: false, reservation: false };
    for (const { name, image } of ELFS) {
      await t.step(name, () => {
        // The whole run's length, to save at a quarter and compare at a half.
        const whole = boot(image);
        whole.runTo(5_000_000);
        const total = whole.cpu.icount;
        ok(total > 1000, `${name} ran only ${total} instructions`);
        const n = Math.floor(total / 4), m = Math.floor(total / 4);

        for (const blocks of [true, false]) {
          const rig = boot(image);
          rig.cpu.blocks = blocks;
          rig.runTo(n);
          equal(rig.cpu.icount, n);
          const saved = rig.snapshot();
          const s = rig.cpu.state.words;
          if (s[HART.priv] === 1) seen.sMode = true;
          if (((s[HART.mstatus]! >>> 13) & 3) === 3) seen.fpDirty = true;
          if (s[HART.resValid] === 1) seen.reservation = true;

          rig.runTo(n + m);
          const first = rig.snapshot();
          equal(rig.cpu.icount, n + m);

          // Back to the save point in the same hart.
          rig.restore(saved);
          equal(rig.cpu.icount, n);
          rig.runTo(n + m);
          const again = rig.snapshot();
          equalBytes(again.hart, first.hart, `${name}: hart after restore`);
          equalBytes(again.clock, first.clock, `${name}: clock after restore`);
          equalBytes(again.ram, first.ram, `${name}: RAM after restore`);

          // And in a fresh hart, clock and bus.
          const fresh = new Rig();
          fresh.cpu.blocks = !blocks;
          fresh.restore(saved);
          deepEqual(fresh.cpu.getPc(), BigInt.asUintN(64, fresh.cpu.getPc()));
          fresh.runTo(n + m);
          const other = fresh.snapshot();
          equalBytes(other.hart, first.hart, `${name}: hart in a new Cpu`);
          equalBytes(other.clock, first.clock, `${name}: clock in a new Cpu`);
          equalBytes(other.ram, first.ram, `${name}: RAM in a new Cpu`);
        }
      });
    }
    // The programs put the hart through the state that matters.
    ok(seen.sMode, "no save point in S-mode");
    ok(seen.fpDirty, "no save point with mstatus.FS dirty");
  },
});

Deno.test({
  name: "Cpu.saveState covers every piece of architectural state",
  permissions: "none",
  fn: () => {
    const rig = boot(ELFS[0]!.image);
    const cpu = rig.cpu;
    const base = cpu.saveState();
    equal(base.length, 12 + HART_STATE_BYTES);
    // Each named slot changes the bytes, and loading restores it.
    const tables = [
      ["HART", HART, cpu.state.words, (c: Cpu) => c.state.words],
      ["HART64", HART64, cpu.state.scalars, (c: Cpu) => c.state.scalars],
    ] as const;
    for (const [table, names, s, of] of tables) {
      for (const [name, index] of Object.entries(names)) {
        // saveState reads this one from the live timer (tested below).
        if (names === HART64 && index === HART64.stimerDeadline) continue;
        const old = s[index]!;
        s[index] = old + 1;
        const changed = cpu.saveState();
        s[index] = old;
        notEqual(
          changed.join(),
          base.join(),
          `${table}.${name} is not in the snapshot`,
        );
        const other = boot(ELFS[0]!.image);
        other.cpu.loadState(changed);
        equal(of(other.cpu)[index], old + 1, `${table}.${name} reloaded`);
      }
    }
    cpu.csr64[CSR64.mcause] = 7;
    cpu.x[2] = 0x1234;
    cpu.f[63] = -1;
    cpu.pmpcfg[15] = 0x18;
    cpu.pmpaddr[31] = 5;
    const snap = cpu.saveState();
    const other = boot(ELFS[0]!.image);
    other.cpu.loadState(snap);
    equal(other.cpu.csr64[CSR64.mcause], 7);
    equal(other.cpu.readCsr("mcause"), 7n);
    equal(other.cpu.getX(1), 0x1234n);
    equal(other.cpu.f[63], -1);
    equal(other.cpu.pmpcfg[15], 0x18);
    equal(other.cpu.pmpaddr[31], 5);
    equalBytes(other.cpu.saveState(), snap, "reloaded snapshot");
  },
});

Deno.test({
  name: "Cpu.loadState re-arms the stimecmp timer and keeps fflags per hart",
  permissions: "none",
  fn: () => {
    const a = new Rig();
    const b = new Rig();
    // Two harts with their own FP flags and rounding modes.
    a.cpu.state.words[HART.fflags] = 0x1f;
    a.cpu.state.words[HART.frm] = 3;
    equal(a.cpu.fcsr, (3 << 5) | 0x1f);
    equal(b.cpu.fcsr, 0);
    // A snapshot with the stimecmp timer armed: the new hart's timer fires.
    a.cpu.state.scalars[HART64.stimerDeadline] = 0;
    const snap = a.cpu.saveState();
    // saveState reads the live timer, which is disarmed in `a`.
    equal(a.cpu.state.scalars[HART64.stimerDeadline], Infinity);
    const armed = new Uint8Array(snap);
    const view = new DataView(armed.buffer);
    view.setFloat64(12 + HART64.stimerDeadline * 8, 5000, true);
    b.cpu.loadState(armed);
    equal(b.clock.nextDeadline(), 5000);
    equal(b.cpu.fcsr, (3 << 5) | 0x1f);
  },
});

Deno.test({
  name: "Cpu.loadState refuses what is not a snapshot of this version",
  permissions: "none",
  fn: () => {
    const cpu = new Rig().cpu;
    const snap = cpu.saveState();
    throws(() => cpu.loadState(new Uint8Array(3)), {
      name: "SyntaxError",
      message: /^Cannot load hart state: 3 bytes is too short/,
    });
    const bad = snap.slice();
    bad[0] = 0;
    throws(() => cpu.loadState(bad), {
      name: "SyntaxError",
      message: /bad magic/,
    });
    const v2 = snap.slice();
    new DataView(v2.buffer).setUint32(4, HART_STATE_VERSION + 1, true);
    throws(() => cpu.loadState(v2), {
      name: "RangeError",
      message: new RegExp(
        `version ${HART_STATE_VERSION + 1} is not supported`,
      ),
    });
    throws(() => cpu.loadState(snap.subarray(0, snap.length - 1)), {
      name: "RangeError",
      message: /payload is/,
    });
    // Nothing was written by the refused loads.
    equalBytes(cpu.saveState(), snap, "state after refused loads");
  },
});

Deno.test({
  name: "VirtualClock.loadState restores bias and deadlines, and checks timers",
  permissions: "none",
  fn: () => {
    let icount = 0;
    const clock = new VirtualClock(() => icount, { shift: 2 });
    const fired: string[] = [];
    const a = clock.newTimer("a", () => fired.push("a"));
    const b = clock.newTimer("b", () => fired.push("b"));
    const bh = clock.newBottomHalf("dma", () => fired.push("bh"));
    a.mod(400);
    icount = 10;
    bh.schedule(); // due now, pending at the save
    clock.warpTo(100);
    const snap = clock.saveState();
    clock.runExpired();
    deepEqual(fired, ["bh"]);
    b.mod(50);
    clock.warpTo(1000);
    clock.loadState(snap);
    equal(clock.bias, 60);
    equal(a.deadline, 400);
    equal(b.deadline, Infinity);
    ok(bh.scheduled);
    equalBytes(clock.saveState(), snap, "clock after restore");
    icount = 100;
    clock.runExpired();
    deepEqual(fired, ["bh", "bh", "a"]);

    const other = new VirtualClock(() => icount, { shift: 2 });
    other.newTimer("a", () => {});
    throws(() => other.loadState(snap), {
      name: "RangeError",
      message: /the snapshot has 3 timers, this clock has 1/,
    });
    other.newTimer("x", () => {});
    other.newTimer("bh:dma", () => {});
    throws(() => other.loadState(snap), {
      name: "RangeError",
      message: /timer 1 is "b" in the snapshot but "x" here/,
    });
    const shifted = new VirtualClock(() => 0, { shift: 3 });
    throws(() => shifted.loadState(snap), {
      name: "RangeError",
      message: /shift 2, this clock has 3/,
    });
    throws(() => shifted.loadState(new Uint8Array(8)), {
      name: "SyntaxError",
    });
  },
});
