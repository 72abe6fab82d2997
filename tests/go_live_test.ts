// New timelines through the `deja` command: record the demo guest; replay it
// to instruction N (the monitor's replay_seek), go live there with
// replay_go_live rrfile=NEW, type other input than the recording's, let the
// guest power off; then replay NEW with the same machine options: it starts
// from NEW's start snapshot, prints the same output as the live run after N,
// and matches every state hash the new recording stored (rrcheck). A missing
// or corrupt start snapshot is refused with one line naming the file.
// QMP's x-replay-go-live does the same; savevm works while recording.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { ReplayLogReader } from "../replay/log.ts";
import { decodeSnapshotFile } from "../replay/snapshot_file.ts";
import { deja, DEMO, ROOT, spawnDeja } from "./_deja.ts";
import {
  listening,
  type QmpClient,
  qmpClient,
  startDeja,
} from "./_debuggers.ts";
import { freePort, GDB_ELF } from "./_gdb.ts";
import { reader } from "./_mmio_reader.ts";

const dec = new TextDecoder();
const machine = ["-M", "virt", "-bios", "none", "-kernel", DEMO];

Deno.test("replay_go_live rrfile=NEW branches a replay into a new recording that replays to the same output and state hashes", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  const branch = `${dir}/branch.rr`;
  const flags = [`--allow-read=${ROOT},${dir}`, `--allow-write=${dir}`];
  try {
    // 1. Record: "hello", a pause (the guest idles), then "racecar", quit.
    const rec = spawnDeja(flags, [
      ...machine,
      "-nographic",
      "-icount",
      `shift=3,rr=record,rrfile=${rr},rrcheck=1000`,
    ]);
    await rec.waitFor("type a line");
    await rec.write("hello\n");
    await rec.waitFor(/mtime: \d+\r?\n> /);
    await new Promise((r) => setTimeout(r, 200));
    await rec.write("racecar\nquit\n");
    const recEnd = await rec.finish();
    equal(recEnd.code, 0, recEnd.stderr);
    match(rec.stdout, /reversed: racecar/);

    // N: where the recording's "racecar" input arrived (the guest waited
    // for it there); the replay stops just before it.
    const events = [...new ReplayLogReader(await Deno.readFile(rr))];
    const r = events.find((e) =>
      e.kind === "serial-input" && dec.decode(e.bytes) === "r"
    )!;
    const n = r.icount;
    ok(n > 1000, `the input arrives at ${n}`);

    // 2. Replay to N, go live recording to NEW, type something else.
    const rep = spawnDeja(flags, [
      ...machine,
      "-nographic",
      "-S",
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
    ]);
    await rep.write("\x01c"); // the monitor
    await rep.waitFor("(deja) ");
    let from = rep.stdout.length;
    await rep.write(`replay_seek ${n}\n`);
    await rep.waitFor("(deja) ", from);
    from = rep.stdout.length;
    await rep.write("info replay\n");
    await rep.waitFor(`instruction ${n},`, from);
    await rep.waitFor("(deja) ", from);
    from = rep.stdout.length;
    await rep.write(`replay_go_live rrfile=${branch}\n`);
    await rep.waitFor("(deja) ", from);
    match(
      rep.stdout.slice(from),
      new RegExp(
        `Live from instruction ${n}, recording to .*branch\\.rr \\(it starts from .*start\\.djsnap\\)`,
      ),
    );
    from = rep.stdout.length;
    await rep.write("info replay\n");
    await rep.waitFor("(deja) ", from);
    match(rep.stdout.slice(from), /Recording to .*branch\.rr/);
    // A second go-live is refused: the run is live already.
    from = rep.stdout.length;
    await rep.write("replay_go_live\n");
    await rep.waitFor("(deja) ", from);
    match(rep.stdout.slice(from), /Cannot go live: deja is not replaying/);
    await rep.write("cont\n");
    await rep.write("\x01c"); // back to the guest's console
    await new Promise((r) => setTimeout(r, 300));
    const liveFrom = rep.stdout.length;
    await rep.write("level\n");
    await rep.waitFor(/mtime: \d+\r?\n> /, liveFrom);
    await new Promise((r) => setTimeout(r, 200));
    await rep.write("quit\n");
    await rep.waitFor("goodbye", liveFrom);
    const repEnd = await rep.finish();
    equal(repEnd.code, 0, repEnd.stderr);
    const live = rep.stdout.slice(liveFrom);
    match(live, /reversed: level/);
    ok(!live.includes("racecar"), live);

    // NEW: a log that starts from a snapshot at N, with state hashes.
    const log = await Deno.readFile(branch);
    const newEvents = [...new ReplayLogReader(log)];
    const first = newEvents[0]!;
    if (first.kind !== "config") throw new Error("NEW starts with no config");
    const start = first.config.start as { icount: number; snapshot: string };
    equal(start.icount, n);
    equal(start.snapshot, "start");
    const snap = decodeSnapshotFile(
      await Deno.readFile(`${branch}.snapshots/start.djsnap`),
    );
    equal(snap.info.icount, n);
    const hashes = newEvents.filter((e) => e.kind === "state-hash");
    ok(hashes.length > 2, `state hashes in NEW: ${hashes.length}`);
    ok(
      hashes.every((h) => h.icount >= n),
      JSON.stringify(hashes.map((h) => h.icount)),
    );
    ok(
      newEvents.some((e) =>
        e.kind === "serial-input" && dec.decode(e.bytes) === "l"
      ),
    );

    // 3. Replay NEW with the same machine options: the live run's output
    // from N on, and every state hash matches (a mismatch is an error).
    const replayBranch = () =>
      deja(flags, [
        ...machine,
        "-nographic",
        "-icount",
        `shift=3,rr=replay,rrfile=${branch}`,
      ]);
    const again = await replayBranch();
    equal(again.code, 0, again.stderr);
    equal(again.stderr, "");
    match(again.stdout, /reversed: level/);
    ok(
      again.stdout.endsWith("goodbye\r\n") ||
        again.stdout.endsWith("goodbye\n"),
    );
    ok(
      rep.stdout.endsWith(again.stdout),
      `live tail ${JSON.stringify(rep.stdout.slice(-400))}\nreplay ${
        JSON.stringify(again.stdout)
      }`,
    );
    ok(again.stdout.length > 40, again.stdout);

    // Bad input: a corrupt start snapshot, then a missing one.
    const file = `${branch}.snapshots/start.djsnap`;
    const bytes = await Deno.readFile(file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await Deno.writeFile(file, bytes);
    const bad = await replayBranch();
    equal(bad.code, 1, bad.stderr);
    equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    match(
      bad.stderr,
      /Cannot load the snapshot .*start\.djsnap: it is corrupt: the section at byte \d+/,
    );
    await Deno.remove(file);
    const none = await replayBranch();
    equal(none.code, 1, none.stderr);
    equal(none.stderr.trim().split("\n").length, 1, none.stderr);
    match(
      none.stderr,
      /Cannot replay .*branch\.rr: it is a branched timeline that starts from snapshot start at instruction \d+, and there is no .*start\.djsnap/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A QMP client past the greeting and the capabilities handshake. */
async function qmp(port: number): Promise<QmpClient> {
  await listening(port);
  const c = await qmpClient(port, 60_000);
  await c.next(); // the greeting
  deepEqual(await c.cmd("qmp_capabilities"), { return: {} });
  return c;
}

/**
 * Replays `rr` with `args` under QMP, seeks to `icount`, goes live there
 * recording to `branch`, and lets the guest run to its poweroff.
 */
async function goLiveOverQmp(
  args: string[],
  rr: string,
  icount: number,
  branch: string,
): Promise<void> {
  const port = freePort();
  const run = startDeja([
    ...args,
    "-S",
    "-icount",
    `shift=3,rr=replay,rrfile=${rr}`,
    "-qmp",
    `tcp:127.0.0.1:${port},server,wait=off`,
  ], [port]);
  const c = await qmp(port);
  deepEqual(await c.cmd("replay-seek", { icount }), { return: {} });
  deepEqual(await c.cmd("x-replay-go-live", { rrfile: branch }), {
    return: {},
  });
  deepEqual(await c.cmd("cont"), { return: {} });
  await c.event("SHUTDOWN");
  c.close();
  const live = await run;
  equal(live.code, 0, live.stderr);
}

const hmp = async (c: QmpClient, line: string) =>
  (await c.cmd("human-monitor-command", { "command-line": line }))
    .return as string;

Deno.test("x-replay-go-live (QMP) leaves a replay at a replay-seek point; the new log replays to the same end", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  const branch = `${dir}/branch.rr`;
  const gdbMachine = ["-display", "none", "-bios", "none", "-kernel", GDB_ELF];
  try {
    const rec = await startDeja([
      ...gdbMachine,
      "-serial",
      `file:${dir}/rec.txt`,
      "-icount",
      `shift=3,rr=record,rrfile=${rr},rrcheck=1000`,
    ]);
    equal(rec.code, 0, rec.stderr);
    const port = freePort();
    const run = startDeja([
      ...gdbMachine,
      "-serial",
      `file:${dir}/live.txt`,
      "-S",
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
      "-qmp",
      `tcp:127.0.0.1:${port},server,wait=off`,
    ], [port]);
    const c = await qmp(port);
    // Not without a replay position to leave from: bad arguments first.
    const badArg = await c.cmd("x-replay-go-live", { rrfile: 7 });
    match((badArg.error as { desc: string }).desc, /'rrfile' must be a string/);
    const same = await c.cmd("x-replay-go-live", { rrfile: rr });
    match(
      (same.error as { desc: string }).desc,
      /give another file than the log being replayed/,
    );
    deepEqual(await c.cmd("replay-seek", { icount: 3000 }), { return: {} });
    deepEqual(await c.cmd("x-replay-go-live", { rrfile: branch }), {
      return: {},
    });
    deepEqual(await c.cmd("query-replay"), {
      return: { mode: "record", filename: branch, icount: 3000 },
    });
    // The new recording has named snapshots too: savevm while recording.
    match(
      await hmp(c, "savevm golive"),
      /Saved snapshot golive at instruction 3000/,
    );
    const again = await c.cmd("x-replay-go-live", {});
    match(
      (again.error as { desc: string }).desc,
      /Cannot go live: deja is not replaying/,
    );
    deepEqual(await c.cmd("cont"), { return: {} });
    await c.event("SHUTDOWN");
    c.close();
    const live = await run;
    equal(live.code, 0, live.stderr);

    // NEW replays (from its start snapshot at 3000) to the guest's end,
    // checking its state hashes, with the live run's serial output.
    const replay = await startDeja([
      ...gdbMachine,
      "-serial",
      `file:${dir}/replay.txt`,
      "-icount",
      `shift=3,rr=replay,rrfile=${branch}`,
    ]);
    equal(replay.code, 0, replay.stderr);
    equal(replay.stderr, "");
    const liveOut = await Deno.readTextFile(`${dir}/live.txt`);
    const replayOut = await Deno.readTextFile(`${dir}/replay.txt`);
    ok(replayOut.length > 0);
    ok(liveOut.endsWith(replayOut), `${liveOut}\n---\n${replayOut}`);
    equal(
      await Deno.readTextFile(`${dir}/rec.txt`),
      liveOut,
      "the branch went on as the recording did: nothing was typed",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("savevm while recording writes a snapshot beside the log that loadvm reaches in a replay of it", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  const demo = [...machine, "-display", "none", "-serial", "null"];
  try {
    let port = freePort();
    const rec = startDeja([
      ...demo,
      "-icount",
      `shift=3,rr=record,rrfile=${rr},rrcheck=1000`,
      "-qmp",
      `tcp:127.0.0.1:${port},server,wait=off`,
    ], [port]);
    let c = await qmp(port);
    // Let the guest boot (past instruction 1000; it then waits for input),
    // then stop it there.
    const deadline = Date.now() + 60_000;
    while (
      ((await c.cmd("query-replay")).return as { icount: number }).icount <=
        1000
    ) {
      if (Date.now() > deadline) throw new Error("the guest does not run");
      await new Promise((r) => setTimeout(r, 50));
    }
    deepEqual(await c.cmd("stop"), { return: {} });
    const saved = await hmp(c, "savevm waiting");
    const m = saved.match(/Saved snapshot waiting at instruction (\d+)/);
    ok(m, saved);
    const at = Number(m[1]);
    ok(at > 1000, saved);
    match(await hmp(c, "info snapshots"), new RegExp(`waiting\\s+${at}\\s`));
    match(
      await hmp(c, "loadvm waiting"),
      /Cannot load snapshot waiting while recording: the log cannot go back/,
    );
    deepEqual(await c.cmd("cont"), { return: {} });
    deepEqual(await c.cmd("quit"), { return: {} });
    c.close();
    const recEnd = await rec;
    equal(recEnd.code, 0, recEnd.stderr);

    // A replay of the log: loadvm goes to the snapshot's instruction count
    // and finds the machine the file holds, byte for byte.
    port = freePort();
    const rep = startDeja([
      ...demo,
      "-S",
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
      "-qmp",
      `tcp:127.0.0.1:${port},server,wait=off`,
    ], [port]);
    c = await qmp(port);
    equal(await hmp(c, "loadvm waiting"), "");
    const info = (await c.cmd("query-replay")).return as { icount: number };
    equal(info.icount, at);
    // From elsewhere, forwards: the same point, checked again.
    deepEqual(await c.cmd("replay-seek", { icount: 10 }), { return: {} });
    equal(await hmp(c, "loadvm waiting"), "");
    equal(
      ((await c.cmd("query-replay")).return as { icount: number }).icount,
      at,
    );
    deepEqual(await c.cmd("quit"), { return: {} });
    c.close();
    const repEnd = await rep;
    equal(repEnd.code, 0, repEnd.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const SENSOR = `${ROOT}/examples/sensor/sensor_plugin.ts`;
const SENSOR_GUEST = `${ROOT}/examples/sensor/guest/sensor.elf`;

Deno.test("after x-replay-go-live a -device plugin's backend feeds the guest live (the sensor example), and the new log replays it", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  const branch = `${dir}/branch.rr`;
  const recorded = `${dir}/recorded.txt`;
  const fresh = `${dir}/fresh.txt`;
  // The recording's readings are 1..8; the live run's file has others.
  await Deno.writeTextFile(recorded, "1\n2\n3\n4\n5\n6\n7\n8\n");
  const sensor = (file: string, period: number) => [
    "-display",
    "none",
    "-bios",
    "none",
    "-kernel",
    SENSOR_GUEST,
    "-device",
    `${SENSOR},addr=0x10010000,irq=12,file=${file},period=${period}`,
  ];
  try {
    const rec = await startDeja([
      ...sensor(recorded, 300),
      "-serial",
      `file:${dir}/rec.txt`,
      "-icount",
      `shift=3,rr=record,rrfile=${rr},rrcheck=1000`,
    ]);
    equal(rec.code, 0, rec.stderr);
    match(await Deno.readTextFile(`${dir}/rec.txt`), /sum: 36\.000/);
    // Where the last reading reached the device: the replay stops there,
    // before it, so the guest has taken the readings logged before from the
    // log (those that came while the worker started share icount 0).
    const readings = [...new ReplayLogReader(await Deno.readFile(rr))]
      .filter((e) => e.kind === "plugin-event");
    equal(readings.length, 8);
    const n = readings[7]!.icount;
    ok(n > 0, `the last reading came at ${n}, after the guest started`);
    const k = readings.filter((e) => e.icount < n).length;
    // Just the readings the guest still takes: no more reach the new log.
    const fromFile = [100, 200, 300, 400, 500, 600, 700, 800].slice(0, 8 - k);
    await Deno.writeTextFile(fresh, fromFile.join("\n") + "\n");

    await goLiveOverQmp(
      [...sensor(fresh, 20), "-serial", `file:${dir}/live.txt`],
      rr,
      n,
      branch,
    );
    // k readings from the log, then the backend's, from its file.
    const liveOut = await Deno.readTextFile(`${dir}/live.txt`);
    const want = [1, 2, 3, 4, 5, 6, 7, 8].slice(0, k)
      .concat(fromFile);
    deepEqual(
      [...liveOut.matchAll(/reading \d: (\d+)\.000\r?\n/g)].map((m) =>
        Number(m[1])
      ),
      want,
      liveOut,
    );
    const sum = want.reduce((a, b) => a + b);
    match(liveOut, new RegExp(`sum: ${sum}\\.000, dropped: 0`));

    // The new log holds the live readings and replays them without the
    // file, to the same end.
    const newReadings = [...new ReplayLogReader(await Deno.readFile(branch))]
      .filter((e) => e.kind === "plugin-event");
    equal(newReadings.length, 8 - k);
    ok(newReadings.every((e) => e.icount >= n));
    await Deno.remove(fresh);
    const replay = await startDeja([
      ...sensor(fresh, 20),
      "-serial",
      `file:${dir}/replay.txt`,
      "-icount",
      `shift=3,rr=replay,rrfile=${branch}`,
    ]);
    equal(replay.code, 0, replay.stderr);
    equal(replay.stderr, "");
    const replayOut = await Deno.readTextFile(`${dir}/replay.txt`);
    match(replayOut, new RegExp(`reading ${k + 1}: 100\\.000`));
    ok(liveOut.endsWith(replayOut), `${liveOut}\n---\n${replayOut}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after x-replay-go-live a -device plugin that pulls (the TRNG example) gets its words from its backend, and the new log replays them", async () => {
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/run.rr`;
  const branch = `${dir}/branch.rr`;
  const kernel = `${dir}/reads8.bin`;
  // A guest that reads the TRNG's DATA register 8 times, then powers off.
  await Deno.writeFile(
    kernel,
    reader(Array.from({ length: 8 }, () => [0x1003_0000, 4])),
  );
  const trng = (seed: number) => [
    "-display",
    "none",
    "-serial",
    "null",
    "-bios",
    "none",
    "-kernel",
    kernel,
    "-device",
    `${ROOT}/examples/trng/trng_plugin.ts,addr=0x10030000,seed=${seed}`,
  ];
  // The backend's words with seed=N (examples/trng: an LCG).
  const lcg = (seed: number, count: number) => {
    let x = seed;
    return Array.from({ length: count }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x;
    });
  };
  const words = async (log: string) =>
    [...new ReplayLogReader(await Deno.readFile(log))]
      .filter((e) => e.kind === "plugin-event")
      .map((e) => {
        if (e.kind !== "plugin-event") throw new Error("unreachable");
        const p = e.payload;
        return {
          icount: e.icount,
          word: new DataView(p.buffer, p.byteOffset, 4).getUint32(0, true),
        };
      });
  try {
    const rec = await startDeja([
      ...trng(1),
      "-icount",
      `shift=3,rr=record,rrfile=${rr},rrcheck=4`,
    ]);
    equal(rec.code, 0, rec.stderr);
    const recorded = await words(rr);
    deepEqual(recorded.map((w) => w.word), lcg(1, 8));
    // Go live at the fourth read: three words came from the log.
    const n = recorded[3]!.icount;
    await goLiveOverQmp(trng(2), rr, n, branch);
    // The last five reads were answered by the live backend (seed=2).
    const branched = await words(branch);
    deepEqual(branched.map((w) => w.word), lcg(2, 5));
    deepEqual(
      branched.map((w) => w.icount),
      recorded.slice(3).map((w) => w.icount),
    );
    // The new log replays with its state hashes, whatever the backend.
    const replay = await startDeja([
      ...trng(3),
      "-icount",
      `shift=3,rr=replay,rrfile=${branch}`,
    ]);
    equal(replay.code, 0, replay.stderr);
    equal(replay.stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
