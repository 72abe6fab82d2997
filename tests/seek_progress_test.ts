// Progress of a long seek: TimeTravel tells onProgress how a run forward
// goes (at least every PROGRESS_STEP instructions, then done), and the
// terminal line (cli/progress.ts) appears only after a second, is rewritten
// in place, and is cleared at the end.

import { deepEqual, equal, ok } from "node:assert/strict";
import { Runner } from "../replay/runner.ts";
import {
  PROGRESS_STEP,
  TimeTravel,
  type TimeTravelProgress,
} from "../replay/time_travel.ts";
import { progressLine } from "../cli/progress.ts";

// addi a0, a0, 1 ; j .-4
const kernel = new Uint8Array([0x13, 0x05, 0x15, 0x00, 0x6f, 0xf0, 0xdf, 0xff]);

Deno.test("TimeTravel reports a seek's progress, then done", () => {
  const seen: TimeTravelProgress[] = [];
  const runner = new Runner({
    machine: { bios: "none", kernel, memoryBytes: 1 << 20 },
  });
  const tt = new TimeTravel(runner, {
    interval: Number.MAX_SAFE_INTEGER,
    onProgress: (p) => seen.push(p),
  });
  const target = 3 * PROGRESS_STEP + 5;
  tt.seek(target);
  equal(runner.machine.cpu.icount, target);
  deepEqual(
    seen.map((p) => [p.at, p.done]),
    [[0, false], [PROGRESS_STEP, false], [2 * PROGRESS_STEP, false], [
      3 * PROGRESS_STEP,
      false,
    ], [target, true]],
  );
  ok(seen.every((p) => p.from === 0 && p.target === target));
});

Deno.test("the progress line waits a second, rewrites itself and is cleared", () => {
  let out = "", t = 0;
  const report = progressLine({ write: (s) => (out += s), now: () => t });
  const p = (at: number, done = false) =>
    report({ from: 0, at, target: 1000, done });
  p(0);
  t = 500;
  p(100);
  equal(out, "", "nothing in the first second");
  report({ from: 0, at: 1000, target: 1000, done: true });
  equal(out, "", "a short seek leaves no trace");
  t = 10_000;
  p(0);
  t = 11_500;
  p(450);
  equal(out, "\r\x1b[Kseeking to 1000: 45%");
  t = 11_550;
  p(500);
  equal(out, "\r\x1b[Kseeking to 1000: 45%", "at most every 100 ms");
  t = 11_700;
  p(900);
  p(1000, true);
  equal(
    out,
    "\r\x1b[Kseeking to 1000: 45%\r\x1b[Kseeking to 1000: 90%\r\x1b[K",
  );
});
