// `-icount shift=N|auto,sleep=on|off` under record/replay, through the
// `deja` command: sleep=on and shift=auto move the clock by real time with
// recorded warps, which a replay takes from the log; sleep=off jumps to the
// next deadline and records none.

import { equal, match, notEqual, ok } from "node:assert/strict";
import { ReplayLogReader } from "../replay/log.ts";
import { dejaCommand, DEMO, ROOT } from "./_deja.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

/** Run deja, typing each line of `lines` after `gapMs` of real time. */
async function deja(
  args: string[],
  write: string,
  lines: string[],
  gapMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = dejaCommand(
    [`--allow-read=${ROOT},${write}`, `--allow-write=${write}`],
    ["-M", "virt", "-bios", "none", "-kernel", DEMO, ...args],
    "piped",
  ).spawn();
  const w = child.stdin.getWriter();
  for (const line of lines) {
    await new Promise((r) => setTimeout(r, gapMs));
    await w.write(enc.encode(line));
  }
  await w.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

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
      const rec = await deja(
        ["-nographic", "-icount", `${icount},rr=record,rrfile=${rr}`],
        dir,
        ["hello\n", "quit\n"],
        300,
      );
      equal(rec.code, 0, rec.stderr);
      match(rec.stdout, /reversed: olleh/);
      const log = await Deno.readFile(rr);
      if (warped) ok(warps(log) > 0, "no warps in the log");
      else equal(warps(log), 0, "sleep=off recorded warps");
      // The replay is told shift=0 for auto (what auto runs at) or the
      // same shift, and gets the warps and the input from the log alone.
      const shift = icount === "shift=auto" ? "shift=0" : icount;
      const rep = await deja(
        ["-nographic", "-icount", `${shift},rr=replay,rrfile=${rr}`],
        dir,
        [],
        0,
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
  const child = dejaCommand(
    [`--allow-read=${ROOT}`],
    ["-bios", "none", "-kernel", DEMO, "-nographic", "-icount", "shift=auto"],
    "piped",
  ).spawn();
  const w = child.stdin.getWriter();
  let out = "";
  const reader = child.stdout.getReader();
  while (!out.includes("> ")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += dec.decode(value, { stream: true });
  }
  await new Promise((r) => setTimeout(r, 600));
  await w.write(enc.encode("hello\nquit\n"));
  await w.close();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += dec.decode(value, { stream: true });
  }
  const status = await child.status;
  await child.stderr.cancel();
  equal(status.code, 0);
  const m = out.match(/reversed: olleh[\s\S]*?mtime: (\d+)/);
  notEqual(m, null, out);
  ok(Number(m![1]) >= 0.4 * 10_000_000, `mtime ${m![1]} at the first line`);
});
