// How a run is cut into slices (the worker's execution periods, the
// replayer's stops at logged events, a paused replay) must never change what
// the guest computes. Devices that arm a timer or raise an interrupt line from
// an MMIO access end the slice after that instruction, so their effect lands
// at the same icount whatever the slice length.

import { deepEqual, equal } from "node:assert/strict";
import { Console } from "./_console.ts";

const DIR = new URL("./guest/build/", import.meta.url);

/** Guests whose devices arm timers or raise lines from loads and stores. */
const GUESTS: Record<string, string> = {
  uart: "hello\n",
  timer_plic: "",
  interrupts: "",
  counters: "",
};

const SLICES = [1 << 20, 4099, 61, 7];

interface Outcome {
  icount: number;
  hash: string;
  text: string;
  exit: string;
}

async function runWith(name: string, slice: number): Promise<Outcome> {
  const con = new Console({
    bios: "none",
    kernel: Deno.readFileSync(new URL(`${name}.elf`, DIR)),
    // The state hash covers the RTC, which reads the host clock once: the
    // same reading for every run, so that only the slicing differs.
    hostClock: () => 1_700_000_000_000_000_000n,
  });
  con.machine.sliceInsns = slice;
  const input = GUESTS[name]!;
  if (input) con.send(input);
  const r = con.runToExit(3e9);
  return {
    icount: con.machine.cpu.icount,
    hash: await con.machine.stateHash(),
    text: con.text,
    exit: JSON.stringify(r.kind === "exit" ? r.status : r),
  };
}

Deno.test("slice length does not change what a guest computes", async (t) => {
  for (const name of Object.keys(GUESTS)) {
    await t.step(name, async () => {
      const base = await runWith(name, SLICES[0]!);
      equal(
        base.exit,
        JSON.stringify({ kind: "poweroff", code: 0 }),
        base.text,
      );
      for (const slice of SLICES.slice(1)) {
        const other = await runWith(name, slice);
        deepEqual(
          other,
          base,
          `${name} with ${slice}-instruction slices differs from ${
            SLICES[0]
          }-instruction slices`,
        );
      }
    });
  }
});
