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
import { readFirmware } from "./_console.ts";

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
  ok(rec.log.some((e) => e.kind === "host-clock"), "the RTC reading is logged");
  ok(rec.log.filter((e) => e.kind === "serial").length >= 6);
  for (let i = 0; i < 3; i++) {
    assertReplayMatches(rec, await replay(rec.log, machine));
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
    a.log.map((e) => e.icount),
    b.log.map((e) => e.icount),
  );
  assertReplayMatches(a, await replay(a.log, machine));
  assertReplayMatches(b, await replay(b.log, machine));
});

Deno.test("A replay fed a changed log does not match its recording", async () => {
  const rec = await record({ ...machine, input: typist(SESSION, lcg(7)) });
  // Change one typed byte ("v" of "version" becomes "x").
  const log = rec.log.map((e) => ({ ...e }));
  const i = log.findIndex((e) => e.kind === "serial" && e.bytes[0] === 0x76);
  ok(i >= 0);
  const e = log[i]!;
  if (e.kind === "serial") log[i] = { ...e, bytes: Uint8Array.of(0x78) };
  await rejects(
    async () => assertReplayMatches(rec, await replay(log, machine)),
    (err: unknown) =>
      err instanceof ReplayDivergenceError ||
      (err instanceof Error && /Replay does not match/.test(err.message)),
  );
});
