// A machine snapshot (hart, clock and timers, RAM, every device including a
// third-party -device plugin, the board's pending input) taken during a
// U-Boot session and restored, into a fresh machine and into the same one
// after it ran on, goes on exactly as the uninterrupted run: the same rrcheck
// state hashes at several instruction counts.

import { deepEqual, equal, notDeepEqual, ok, throws } from "node:assert/strict";
import sensor from "../examples/sensor/sensor_plugin.ts";
import { decodeSnapshot, encodeSnapshot } from "../devices/snapshot.ts";
import { Runner } from "../replay/runner.ts";
import { stateHashes } from "../replay/state_hash.ts";
import { record } from "../replay/session.ts";
import { typist } from "./_console.ts";
import { LogReplayer } from "../replay/machine_log.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

const machine = {
  bios: await Deno.readFile(FW_JUMP),
  kernel: await Deno.readFile(UBOOT_S),
  devices: [{ plugin: sensor, addr: 0x1001_0000, irq: 12 }],
};

/** The typed input, by the instruction count at which it is sent. */
const SCRIPT: [number, string][] = [
  [3_000_000, " "],
  [12_000_000, "version\n"],
  [20_000_000, "setexpr a 0x10 * 3; echo $a\n"],
  [26_000_000, "crc32 0x80000000 0x100\n"],
];
const CHECKS = [14_000_000, 22_000_000, 28_000_000, 32_000_000];

function hex(m: Runner["machine"]): string[] {
  return stateHashes(m).map((h) =>
    `${h.part}:${
      Array.from(h.hash, (b) => b.toString(16).padStart(2, "0")).join("")
    }`
  );
}

/** Run from where the runner is to `until`, typing the script on the way. */
function drive(r: Runner, until: number, at: Map<number, string[]>) {
  const m = r.machine;
  const steps: { when: number; text?: string }[] = [
    ...SCRIPT.map(([when, text]) => ({ when, text })),
    ...CHECKS.map((when) => ({ when })),
  ].filter((s) => s.when >= m.cpu.icount && s.when <= until)
    .sort((x, y) => x.when - y.when);
  for (const s of steps) {
    equal(r.runUntil(s.when).kind, "budget");
    if (s.text !== undefined) m.sendInput(new TextEncoder().encode(s.text));
    else at.set(s.when, hex(m));
  }
  equal(r.runUntil(until).kind, "budget");
}

Deno.test("save, restore and run a U-Boot session with a -device plugin gives the uninterrupted run's state hashes", () => {
  let out = "";
  const dec = new TextDecoder();
  const runner = () =>
    new Runner({
      machine: { ...machine, output: (b) => (out += dec.decode(b)) },
      warpIdle: true,
    });

  // The uninterrupted run, with snapshots on the way.
  const a = runner();
  const want = new Map<number, string[]>();
  drive(a, 11_000_000, want);
  const snap1 = encodeSnapshot(a.machine.saveSnapshot()); // as bytes
  drive(a, 21_000_000, want);
  const snap2 = a.machine.saveSnapshot();
  drive(a, CHECKS.at(-1)!, want);
  equal(want.size, CHECKS.length);
  ok(/U-Boot 2023\.01/.test(out), out);
  ok(/\n30\r?\n/.test(out), "setexpr and echo ran");
  // The snapshot holds every device, the -device plugin included.
  const names = decodeSnapshot(snap1).devices.map((d) => d.name);
  for (
    const n of [
      "plic",
      "clint",
      "ns16550a",
      "goldfish_rtc",
      "sifive_test",
      "virtio-mmio.0",
      "virtio-mmio.7",
      "sensor",
    ]
  ) {
    ok(names.includes(n), `${n} is in the snapshot (${names.join(", ")})`);
  }

  // A fresh machine restored from the first snapshot's bytes.
  const b = runner();
  b.machine.restoreSnapshot(decodeSnapshot(snap1));
  equal(b.machine.cpu.icount, 11_000_000);
  const got = new Map<number, string[]>();
  drive(b, CHECKS.at(-1)!, got);
  deepEqual(got, want);

  // The same machine, sent back in time to the second snapshot.
  b.machine.restoreSnapshot(snap2);
  equal(b.machine.cpu.icount, 21_000_000);
  const again = new Map<number, string[]>();
  drive(b, CHECKS.at(-1)!, again);
  deepEqual(again, new Map([...want].filter(([c]) => c > 21_000_000)));

  // The hash covers the plugin device: change its state, and it differs.
  const before = hex(b.machine);
  const dev = b.machine.plugins.devices.find((d) => d.name === "sensor")!;
  const saved = b.machine.plugins.saveState(dev)!;
  const changed = saved.slice();
  changed[changed.length - 1]! ^= 1;
  b.machine.plugins.loadState(dev, changed);
  notDeepEqual(hex(b.machine), before);
});

Deno.test("a snapshot of another machine or of garbage is refused with a clear error", () => {
  const small = new Runner({
    machine: { bios: "none", kernel: new Uint8Array(16), memoryBytes: 1 << 20 },
  });
  const snap = small.machine.saveSnapshot();
  const other = new Runner({
    machine: { bios: "none", kernel: new Uint8Array(16), memoryBytes: 2 << 20 },
  });
  throws(
    () => other.machine.restoreSnapshot(snap),
    /^RangeError: Cannot restore the snapshot: it has 1048576 bytes of RAM/,
  );
  throws(
    () => decodeSnapshot(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
    /^SyntaxError: Cannot load the machine snapshot: not a deja machine snapshot/,
  );
  const bytes = encodeSnapshot(snap);
  throws(
    () => decodeSnapshot(bytes.subarray(0, bytes.length - 3)),
    /^RangeError: Cannot load the machine snapshot: it is cut short/,
  );
});

Deno.test("a replay goes back to a run snapshot (machine and log position) and replays on to the same end, every rrcheck hash matching", async () => {
  // Record a U-Boot session with typed commands and state hashes.
  const typed = [" ", "version\n", "echo hi\n", "poweroff\n"];
  const rec = await record({
    bios: machine.bios,
    kernel: machine.kernel,
    rrcheck: 2_000_000,
    input: typist(typed),
  });
  equal(rec.exit?.kind, "poweroff");
  const replayer = new LogReplayer(rec.log);
  const r = new Runner({
    machine: { bios: machine.bios, kernel: machine.kernel },
    replay: replayer.source,
    checks: replayer,
    warpIdle: true,
  });
  const half = Math.floor(rec.icount / 2);
  equal(r.runUntil(half).kind, "budget");
  const checksBefore = replayer.checks;
  const snap = r.saveSnapshot();
  equal(r.run(1e9).kind, "exit");
  const end = {
    icount: r.machine.cpu.icount,
    hash: await r.machine.stateHash(),
  };
  equal(end.icount, rec.icount);
  const checksToEnd = replayer.checks - checksBefore;
  ok(
    checksToEnd > 2,
    `${checksToEnd} state hashes compared after the snapshot`,
  );
  // Back to the middle, and on again: the same inputs from the log, the
  // same hashes, the same end.
  r.restoreSnapshot(snap);
  equal(r.machine.cpu.icount, half);
  equal(replayer.checks, checksBefore);
  equal(r.run(1e9).kind, "exit");
  equal(replayer.checks - checksBefore, checksToEnd);
  deepEqual(
    { icount: r.machine.cpu.icount, hash: await r.machine.stateHash() },
    end,
  );
  // A recording cannot go back.
  const rec2 = new Runner({
    machine: { bios: "none", kernel: new Uint8Array(16), memoryBytes: 1 << 20 },
    record: () => {},
  });
  throws(
    () => rec2.restoreSnapshot(rec2.saveSnapshot()),
    /^Error: Cannot restore a snapshot while recording/,
  );
});
