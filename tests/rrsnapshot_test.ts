// `-icount ...,rrsnapshot=NAME` through the `deja` command, as QEMU: a
// recording takes snapshot NAME as it starts (LOG.snapshots/NAME.djsnap),
// and a replay starts from it; its state hashes (rrcheck) match the
// recording's all the way to the same end. A corrupt snapshot file is
// refused with one line naming the file and the problem.

import { equal, match, ok } from "node:assert/strict";
import { ReplayLogReader } from "../replay/log.ts";
import { decodeSnapshotFile } from "../replay/snapshot_file.ts";
import { deja, DEMO, ROOT } from "./_deja.ts";

const machine = ["-M", "virt", "-bios", "none", "-kernel", DEMO];

Deno.test("rrsnapshot=init: the recording writes the snapshot, the replay starts from it and matches", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  try {
    const rec = await deja(
      [`--allow-read=${ROOT},${dir}`, `--allow-write=${dir}`],
      [
        ...machine,
        "-nographic",
        "-icount",
        `shift=3,rr=record,rrfile=${rr},rrsnapshot=init,rrcheck=1000`,
      ],
      "hello\nracecar\nquit\n",
    );
    equal(rec.code, 0, rec.stderr);
    match(rec.stdout, /reversed: racecar/);
    const file = `${rr}.snapshots/init.djsnap`;
    const { info } = decodeSnapshotFile(await Deno.readFile(file));
    equal(info.name, "init");
    equal(info.icount, 0);
    const events = [...new ReplayLogReader(await Deno.readFile(rr))];
    const hashes = events.filter((e) => e.kind === "state-hash").length;
    ok(hashes > 2, `state hashes in the log: ${hashes}`);
    const end = events.at(-1)!;
    equal(end.kind, "end");

    const rep = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [
        ...machine,
        "-nographic",
        "-icount",
        `shift=3,rr=replay,rrfile=${rr},rrsnapshot=init`,
      ],
    );
    // Every state hash is checked (a mismatch ends the replay with an
    // error), and it reaches the recording's end.
    equal(rep.code, 0, rep.stderr);
    equal(rep.stdout, rec.stdout, "the serial output is byte-identical");
    ok(!/differ|diverge|Cannot/i.test(rep.stderr), rep.stderr);

    // Without the snapshot: the same.
    const plain = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [...machine, "-nographic", "-icount", `shift=3,rr=replay,rrfile=${rr}`],
    );
    equal(plain.code, 0, plain.stderr);
    equal(plain.stdout, rec.stdout);

    // A corrupt snapshot: one line, naming the file and the problem.
    const bytes = await Deno.readFile(file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff; // inside the RAM section
    await Deno.writeFile(file, bytes);
    const bad = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [
        ...machine,
        "-nographic",
        "-icount",
        `shift=3,rr=replay,rrfile=${rr},rrsnapshot=init`,
      ],
    );
    equal(bad.code, 1, bad.stderr);
    const lines = bad.stderr.trim().split("\n");
    equal(lines.length, 1, bad.stderr);
    ok(!/^\s+at /m.test(bad.stderr), bad.stderr);
    match(
      lines[0]!,
      /Cannot load the snapshot .*init\.djsnap: it is corrupt: the section at byte \d+ .* does not match its checksum/,
    );

    // A missing one: named, with the fix.
    const none = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [
        ...machine,
        "-nographic",
        "-icount",
        `shift=3,rr=replay,rrfile=${rr},rrsnapshot=other`,
      ],
    );
    equal(none.code, 1, none.stderr);
    equal(none.stderr.trim().split("\n").length, 1, none.stderr);
    match(none.stderr, /there is no .*other\.djsnap \(record with/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
