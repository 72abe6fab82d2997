// The monitor's time travel in a replay WITHOUT -gdb/-qmp on the command
// line: replay_seek, savevm, info snapshots, loadvm and delvm through the
// `deja` command, the monitor on a pipe (stdin/stdout); the replay then goes
// on to the recording's end with the same serial output.

import { equal, match, ok } from "node:assert/strict";
import { deja, dejaCommand, DEMO, ROOT } from "./_deja.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const machine = ["-M", "virt", "-bios", "none", "-kernel", DEMO];

Deno.test("replay_seek, savevm, loadvm, delvm and info snapshots work in a replay without -gdb or -qmp", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  try {
    const rec = await deja(
      [`--allow-read=${ROOT}`, `--allow-write=${dir}`],
      [...machine, "-nographic", "-icount", `shift=3,rr=record,rrfile=${rr}`],
      "hello\nracecar\nquit\n",
    );
    equal(rec.code, 0, rec.stderr);
    const out = `${dir}/serial.txt`;
    const child = dejaCommand(
      [`--allow-read=${ROOT},${dir}`, `--allow-write=${dir}`],
      [
        ...machine,
        "-display",
        "none",
        "-serial",
        `file:${out}`,
        "-S",
        "-icount",
        `shift=3,rr=replay,rrfile=${rr}`,
      ],
      "piped",
    ).spawn();
    const writer = child.stdin.getWriter();
    let text = "";
    const reading = (async () => {
      for await (const c of child.stdout) {
        text += dec.decode(c, { stream: true });
      }
    })();
    // One command at a time: wait for its prompt. (C-a c is sent without a
    // line end: an empty line would print a second prompt, which could end
    // the wait of the next command before its own output came.)
    const run = async (cmd: string, end = "\n"): Promise<string> => {
      const from = text.length;
      await writer.write(enc.encode(cmd + end));
      const deadline = Date.now() + 60_000;
      while (!text.slice(from).includes("(deja) ")) {
        if (Date.now() > deadline) {
          throw new Error(`no prompt after ${cmd}: ${JSON.stringify(text)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return text.slice(from);
    };
    const at = async () => {
      const m = (await run("info replay")).match(
        /instruction (\d+).*, (\w+)\r?\n/,
      )!;
      equal(m[2], "stopped");
      return Number(m[1]);
    };

    // C-a c opens the monitor (stdin is not the guest's in a replay).
    await run("\x01c", "");
    equal(await at(), 0);
    equal(await run("replay_seek 8000"), "(deja) ");
    equal(await at(), 8000);
    const saved = await run("savevm mid");
    match(
      saved,
      /Saved snapshot mid at instruction 8000 \(\d+ bytes, .*mid\.djsnap\)/,
    );
    match(await run("info snapshots"), /mid\s+8000\s+\d+/);
    await run("replay_seek 500");
    equal(await at(), 500);
    await run("loadvm mid");
    equal(await at(), 8000);
    await run("replay_seek 11000");
    await run("loadvm mid"); // backwards
    equal(await at(), 8000);
    match(
      await run("loadvm nothere"),
      /Cannot load snapshot nothere: there is no .*nothere\.djsnap/,
    );
    // Past the end: refused, naming where the replay ends.
    match(
      await run("replay_seek 99999999"),
      /Cannot seek to instruction 99999999: the guest powers off at instruction \d+/,
    );
    await run("loadvm mid");
    equal(await at(), 8000);
    await run("delvm mid");
    match(await run("info snapshots"), /There is no snapshot available/);
    await writer.write(enc.encode("cont\n"));
    await writer.close().catch(() => {});
    const status = await child.status;
    await reading;
    const stderr = dec.decode(
      new Uint8Array(await new Response(child.stderr).arrayBuffer()),
    );
    equal(status.code, 0, stderr);
    // Going back and replaying forward prints the guest's output again (as
    // it replays, from the snapshot it went back to); the last run goes from
    // a snapshot at or before 8000 to the recording's end.
    const serial = await Deno.readTextFile(out);
    const tail = rec.stdout.slice(rec.stdout.indexOf("reversed: racecar"));
    ok(tail.length > 40 && serial.endsWith(tail), JSON.stringify(serial));
    ok(serial.startsWith(rec.stdout.slice(0, rec.stdout.indexOf("> racec"))));
    equal(stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
