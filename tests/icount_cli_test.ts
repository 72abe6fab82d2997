// `-icount shift=N|auto,sleep=on|off` under record/replay, through the
// `deja` command: sleep=on and shift=auto move the clock by real time with
// recorded warps, which a replay takes from the log; sleep=off jumps to the
// next deadline and records none.

import { equal, match, notEqual, ok } from "node:assert/strict";
import { ReplayLogReader } from "../replay/log.ts";
import { deja, DEMO, ROOT, spawnDeja } from "./_deja.ts";

/** The demo's prompt once it has answered a line: it waits for the next. */
const ANSWERED = /mtime: \d+\r?\n> /;

const machine = ["-M", "virt", "-bios", "none", "-kernel", DEMO];

function warps(log: Uint8Array): number {
  return [...new ReplayLogReader(log)].filter((e) =>
    e.kind === "clock" && e.clock === "virtual-rt"
  ).length;
}

for (
  const { icount, warped } of [
    { icount: "shift=auto", warped: true },
    { icount: "shift=3,sleep=on", warped: true },
    { icount: "shift=3,sleep=off", warped: false },
  ]
) {
  Deno.test(`-icount ${icount} records a session that replays exactly`, async () => {
    const dir = await Deno.makeTempDir();
    const rr = `${dir}/s.rr`;
    try {
      // Type each line once the guest waits at its prompt, however late a
      // loaded host starts it: it idles there (sleep=on and shift=auto
      // move its clock by the real time that takes, recorded as warps).
      const session = spawnDeja(
        [`--allow-read=${ROOT},${dir}`, `--allow-write=${dir}`],
        [
          ...machine,
          "-nographic",
          "-icount",
          `${icount},rr=record,rrfile=${rr}`,
        ],
      );
      await session.waitFor("> ");
      const typed = session.stdout.length;
      await session.write("hello\n");
      await session.waitFor(ANSWERED, typed);
      await session.write("quit\n");
      const rec = await session.finish();
      equal(rec.code, 0, rec.stderr);
      match(rec.stdout, /reversed: olleh/);
      const log = await Deno.readFile(rr);
      if (warped) ok(warps(log) > 0, "no warps in the log");
      else equal(warps(log), 0, "sleep=off recorded warps");
      // The replay is told shift=0 for auto (what auto runs at) or the
      // same shift, and gets the warps and the input from the log alone.
      const shift = icount === "shift=auto" ? "shift=0" : icount;
      const rep = await deja(
        [`--allow-read=${ROOT},${dir}`, `--allow-write=${dir}`],
        [
          ...machine,
          "-nographic",
          "-icount",
          `${shift},rr=replay,rrfile=${rr}`,
        ],
        "",
      );
      equal(rep.code, 0, rep.stderr);
      equal(rep.stdout, rec.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("-icount shift=auto keeps guest time near real time", async () => {
  // The demo prints mtime (10 MHz) for each line. Type a line 600 ms after
  // the guest's first prompt: guest time has then passed at least about
  // that much (at shift 0 alone, its few thousand instructions would take
  // microseconds). A slower host only makes the real wait longer.
  const session = spawnDeja(
    [`--allow-read=${ROOT}`],
    ["-bios", "none", "-kernel", DEMO, "-nographic", "-icount", "shift=auto"],
  );
  await session.waitFor("> ");
  await new Promise((r) => setTimeout(r, 600));
  await session.write("hello\nquit\n");
  const { code, stdout: out, stderr } = await session.finish();
  equal(code, 0, stderr);
  const m = out.match(/reversed: olleh[\s\S]*?mtime: (\d+)/);
  notEqual(m, null, out);
  ok(Number(m![1]) >= 0.4 * 10_000_000, `mtime ${m![1]} at the first line`);
});
