/**
 * `deno task demo`: run the bundled guest (examples/guest/demo.elf, built
 * from demo.c beside it) with scripted serial input, twice, and show that the
 * two runs are identical to the instruction: same output, same final
 * instruction count, same hash of RAM and registers.
 *
 * The input is typed at fixed instruction counts (when the guest's prompt
 * appears), so nothing from the host's timing reaches the guest. Recording
 * host-timed input and replaying it is the job of deja's record/replay.
 *
 * @module
 */

import { VirtMachine } from "../mod.ts";

const ELF = new URL("./guest/demo.elf", import.meta.url);
const LINES = ["hello, deja", "record and replay", "racecar", "quit"];

interface Run {
  output: string;
  icount: number;
  hash: string;
  status: string;
}

async function runOnce(echo: boolean): Promise<Run> {
  const dec = new TextDecoder();
  let output = "";
  const m = new VirtMachine({
    bios: "none",
    kernel: await Deno.readFile(ELF),
    memoryBytes: 64 << 20,
    // A fixed RTC base: the host wall clock is the one input left.
    hostClock: () => 1_700_000_000_000_000_000n,
    output: (b) => {
      const s = dec.decode(b, { stream: true });
      output += s;
      if (echo) Deno.stdout.writeSync(b);
    },
  });
  const lines = [...LINES];
  let status = "still running";
  for (let guard = 0; guard < 100_000; guard++) {
    // Without warping: when the guest idles at its prompt, type a line.
    const r = m.run(1_000_000);
    if (r.kind === "exit") {
      status = JSON.stringify(r.status);
      break;
    }
    if (r.kind === "idle") {
      if (lines.length > 0 && output.endsWith("> ")) {
        m.sendInput(new TextEncoder().encode(lines.shift()! + "\n"));
      } else m.run(1, { warpIdle: true }); // let guest time pass
    }
  }
  return { output, icount: m.cpu.icount, hash: await m.stateHash(), status };
}

console.log("== run 1 (serial console) ==");
const a = await runOnce(true);
console.log("\n== run 2 (silent) ==");
const b = await runOnce(false);
console.log(
  `run 1: ${a.icount} instructions, exit ${a.status}, state ${
    a.hash.slice(0, 16)
  }`,
);
console.log(
  `run 2: ${b.icount} instructions, exit ${b.status}, state ${
    b.hash.slice(0, 16)
  }`,
);
const same = a.output === b.output && a.icount === b.icount &&
  a.hash === b.hash;
console.log(same ? "MATCH: both runs are identical" : "MISMATCH");
if (!same) Deno.exit(1);
