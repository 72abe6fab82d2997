// Record/replay of whole sessions on Debian's real firmware: U-Boot on
// OpenSBI, typed at random host moments, replayed from the log alone.

import {
  deepEqual,
  equal,
  match,
  notDeepEqual,
  ok,
  rejects,
} from "node:assert/strict";
import { assertReplayMatches, record, replay } from "../replay/session.ts";
import type { InputContext } from "../replay/session.ts";
import { ReplayDivergenceError } from "../replay/nondet.ts";
import { ReplayLogReader } from "../replay/log.ts";
import type { ReplayLogEntry } from "../replay/log.ts";
import { ReplayConfigError } from "../replay/config.ts";
import { StateHashMismatchError } from "../replay/machine_log.ts";

function events(log: Uint8Array): ReplayLogEntry[] {
  return [...new ReplayLogReader(log)];
}
import { readFirmware } from "./_console.ts";
import { DEMO } from "./_deja.ts";

const machine = {
  bios: readFirmware(
    "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf",
    "opensbi",
  ),
  kernel: readFirmware(
    "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin",
    "u-boot-qemu",
  ),
};

/**
 * An input script: types each command once its prompt shows, after a random
 * number of extra slices (the "random host moment").
 */
function typist(commands: string[], rand: () => number) {
  const todo = [...commands];
  let prompts = 0;
  let wait = -1;
  return ({ output }: InputContext) => {
    const seen = (output.match(/=> /g)?.length ?? 0) +
      (output.includes("Hit any key") ? 1 : 0);
    if (seen <= prompts || todo.length === 0) return undefined;
    if (wait < 0) wait = Math.floor(rand() * 6);
    if (wait-- > 0) return undefined;
    prompts = seen;
    wait = -1;
    return todo.shift();
  };
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SESSION = [
  " ",
  "version\n",
  "setexpr a 0x10 * 3\n",
  "echo $a\n",
  "sleep 1\n",
  "crc32 0x80200000 0x100\n",
  "poweroff\n",
];

Deno.test("A U-Boot session replays exactly, three times and with -serial null", async () => {
  const rec = await record({ ...machine, input: typist(SESSION, Math.random) });
  deepEqual(rec.exit, { kind: "poweroff", code: 0 });
  match(rec.output, /=> echo \$a\r\n30\r\n/);
  const log = events(rec.log);
  equal(log[0]!.kind, "config", "the configuration comes first");
  ok(
    log.some((e) => e.kind === "clock" && e.clock === "host"),
    "the RTC reading is logged as EVENT_CLOCK_HOST",
  );
  ok(log.filter((e) => e.kind === "serial-input").length >= 6);
  equal(log.at(-2)!.kind, "shutdown");
  equal(log.at(-1)!.kind, "end");
  for (let i = 0; i < 3; i++) {
    const rep = await replay(rec.log, machine);
    assertReplayMatches(rec, rep);
    equal(rep.end, "exit");
  }
  // A replay may drop the serial output (-serial null): the guest state is
  // the same.
  const quiet = await replay(rec.log, machine);
  equal(quiet.icount, rec.icount);
  equal(quiet.stateHash, rec.stateHash);
});

Deno.test("Two recordings with different typing delays differ, and each replays", async () => {
  const a = await record({ ...machine, input: typist(SESSION, lcg(1)) });
  const b = await record({ ...machine, input: typist(SESSION, lcg(99)) });
  notDeepEqual(
    events(a.log).map((e) => e.icount),
    events(b.log).map((e) => e.icount),
  );
  assertReplayMatches(a, await replay(a.log, machine));
  assertReplayMatches(b, await replay(b.log, machine));
});

Deno.test("A replay fed a changed log does not match its recording", async () => {
  const rec = await record({ ...machine, input: typist(SESSION, lcg(7)) });
  // Change one typed byte ("v" of "version" becomes "x"): the id, the
  // device, the u32 length, then the bytes.
  const log = rec.log.slice();
  const e = events(log).find((e) =>
    e.kind === "serial-input" && e.bytes[0] === 0x76
  );
  ok(e);
  log[e.byteOffset + 6] = 0x78;
  await rejects(
    async () => assertReplayMatches(rec, await replay(log, machine)),
    (err: unknown) =>
      err instanceof ReplayDivergenceError ||
      (err instanceof Error && /Replay does not match/.test(err.message)),
  );
});

Deno.test("A replay on another machine names the difference", async () => {
  const rec = await record({
    ...machine,
    input: typist(SESSION.slice(0, 2), lcg(3)),
    maxInsns: 30_000_000,
  });
  const other = { ...machine, kernel: machine.kernel.slice() };
  other.kernel[100]! ^= 1;
  await rejects(
    () => replay(rec.log, other),
    (err: unknown) =>
      err instanceof ReplayConfigError && err.field === "kernel" &&
      /kernel image \(-kernel\) differs: recorded sha256 [0-9a-f]{16}… \(\d+ bytes\), given sha256/
        .test(err.message),
  );
  await rejects(
    () => replay(rec.log, { ...machine, memoryBytes: 64 << 20 }),
    /RAM size differs: recorded 134217728 bytes, given 67108864 bytes/,
  );
});

const N = 2_000_000;
const checked = record({
  ...machine,
  input: typist(SESSION, lcg(5)),
  rrcheck: N,
});

Deno.test("A U-Boot session under rrcheck replays with every state hash matching", async () => {
  const rec = await checked;
  const hashes = events(rec.log).filter((e) => e.kind === "state-hash");
  ok(hashes.length >= 10, `${hashes.length} state hashes`);
  equal(hashes[0]!.icount, N);
  const rep = await replay(rec.log, machine);
  assertReplayMatches(rec, rep);
  equal(rep.checks, hashes.length);
});

Deno.test("rrcheck stops a replay at the first window where the state differs", async (t) => {
  const rec = await checked;
  type Machine = import("../devices/virt.ts").VirtMachine;
  const cases: [string, number, (m: Machine) => void][] = [
    // A bit of RAM that nothing reads: only the hash can tell.
    ["ram", 9_123_457, (m) => (m.bus.ram8[m.bus.ramSize - 4096]! ^= 0x10)],
    // A bit of f31, which U-Boot never touches.
    ["fregs", 9_123_457, (m) => (m.cpu.f[31 * 2 + 1]! ^= 1 << 3)],
    // A bit of tp (x4), which U-Boot does not use, just before a check.
    ["xregs", 9_999_990, (m) => (m.cpu.x[4 * 2 + 1]! ^= 1 << 30)],
  ];
  for (const [part, icount, fn] of cases) {
    await t.step(`${part} changed at instruction ${icount}`, async () => {
      await rejects(
        () => replay(rec.log, { ...machine, at: { icount, fn } }),
        (err: unknown) => {
          ok(err instanceof StateHashMismatchError, String(err));
          equal(err.lastMatch, 8_000_000);
          equal(err.icount, 10_000_000);
          deepEqual(err.parts, [part]);
          match(
            err.message,
            /after instruction 8000000 and by instruction 10000000/,
          );
          return true;
        },
      );
    });
  }
});

Deno.test("A cut log replays to its last complete event, past the last input", async () => {
  // The demo guest, typed to twice, with a state hash every 500
  // instructions: hashes come between the two lines, as they keep coming in
  // a recording that was killed while the guest ran on after its input.
  const machine = {
    bios: "none" as const,
    kernel: await Deno.readFile(
      DEMO,
    ),
  };
  let typed = 0;
  const rec = await record({
    ...machine,
    rrcheck: 500,
    input: ({ output }) =>
      output.endsWith("> ")
        ? (++typed === 1 ? "hello\n" : "quit\n")
        : undefined,
  });
  const events = [...new ReplayLogReader(rec.log)];
  const inputs = events.filter((e) => e.kind === "serial-input");
  const endOfHello = inputs.find((e) =>
    e.kind === "serial-input" && e.bytes.includes(0x0a)
  )!;
  const startOfQuit = inputs[inputs.indexOf(endOfHello) + 1]!;
  // Cut right after the last state hash between the two lines.
  const hashes = events.filter((e) =>
    e.kind === "state-hash" && e.icount > endOfHello.icount &&
    e.icount < startOfQuit.icount
  );
  ok(hashes.length >= 2, "state hashes follow the first line");
  const cut = hashes.at(-1)!;
  const log = rec.log.subarray(0, cut.byteOffset + cut.size);
  const rep = await replay(log, machine);
  equal(rep.end, "truncated");
  equal(rep.icount, cut.icount, "the replay ran to the last complete event");
  ok(rep.checks >= hashes.length, `${rep.checks} state hashes compared`);
  match(rep.output, /reversed: olleh/);
  ok(rec.output.startsWith(rep.output));
});
