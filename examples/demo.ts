/**
 * `deno task demo`: record a session of the bundled guest
 * (examples/guest/demo.elf, built from demo.c beside it) with scripted input
 * typed at random host moments, replay it from the log alone, and show that
 * the two runs match: the same serial output, the same final instruction
 * count, the same hash of RAM and registers, the same exit status.
 *
 * @module
 */

import { assertReplayMatches, record, replay } from "../replay/session.ts";
import type { InputContext, SessionResult } from "../replay/session.ts";
import { ReplayLogReader } from "../replay/log.ts";

const ELF = new URL("./guest/demo.elf", import.meta.url);
const LINES = ["hello, deja", "record and replay", "racecar", "quit"];

const machine = {
  bios: "none" as const,
  kernel: await Deno.readFile(ELF),
  memoryBytes: 64 << 20,
};

// Type each line once the guest shows its prompt, after a random number of
// slices: the host's timing, which only the log can reproduce.
const todo = [...LINES];
let wait = -1;
function typist({ output }: InputContext): string | undefined {
  if (!output.endsWith("> ") || todo.length === 0) return undefined;
  if (wait < 0) wait = Math.floor(Math.random() * 4);
  if (wait-- > 0) return undefined;
  wait = -1;
  return todo.shift()! + "\n";
}

console.log("== recording (serial console) ==");
const rec = await record({ ...machine, input: typist, sliceInsns: 20_000 });
// The guest prints a tick every 0.1 s of guest time; fold runs of them.
console.log(
  rec.output.replace(
    /(?:> \r\[tick \d+\]\r\n)+/g,
    (m) => `  [${m.split("\n").length - 1} ticks of 0.1 s guest time]\r\n`,
  ),
);
const events = [...new ReplayLogReader(rec.log)];
console.log(
  `== log: ${rec.log.length} bytes, ${events.length} events (QEMU 7.2 format) ==`,
);
const dec = new TextDecoder();
for (let i = 0; i < events.length; i++) {
  const e = events[i]!;
  if (e.kind === "instruction") continue;
  if (e.kind === "serial-input") {
    // Fold a typed line (one event per byte) into one row.
    let text = dec.decode(e.bytes);
    let j = i, last = e.icount;
    while (!text.endsWith("\n") && j + 1 < events.length) {
      const n = events[++j]!;
      if (n.kind === "serial-input") {
        text += dec.decode(n.bytes);
        last = n.icount;
      } else if (n.kind !== "instruction") {
        j--;
        break;
      }
    }
    console.log(`  @${e.icount}..${last} serial input ${JSON.stringify(text)}`);
    i = j;
  } else if (e.kind === "clock") {
    console.log(`  @${e.icount} ${e.clock} clock read: ${e.value} ns`);
  } else if (e.kind === "exit-status") {
    console.log(`  @${e.icount} exit status: ${e.code}`);
  } else if (e.kind === "shutdown") {
    console.log(`  @${e.icount} shutdown: ${e.cause}`);
  } else if (e.kind === "config") {
    console.log(
      `  @0 config: ${e.config.board}, ${e.config.ramSize} bytes of RAM, kernel sha256 ${
        e.config.kernel?.sha256.slice(0, 16)
      }…`,
    );
  } else console.log(`  @${e.icount} ${e.kind}`);
}

console.log("\n== replaying from the log alone ==");
const rep = await replay(rec.log, machine);
const row = (name: string, r: SessionResult) =>
  `${name}: ${r.icount} instructions, exit ${
    JSON.stringify(r.exit)
  }, output ${r.output.length} bytes, state ${r.stateHash.slice(0, 16)}`;
console.log(row("record", rec));
console.log(row("replay", rep));
try {
  assertReplayMatches(rec, rep);
  console.log("MATCH: the replay reproduced the recording exactly");
} catch (err) {
  console.log(`MISMATCH: ${(err as Error).message}`);
  Deno.exit(1);
}
