// The debuggers through the deja command: -s/-gdb with real gdb-multiarch in
// plain, record and replay modes (a recording made under gdb replays with
// its state hashes), and -qmp with raw JSON (replay-break stops the replay
// at exactly the instruction asked for, with a STOP event).

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { freePort, GDB_ELF, hex, printedHex, runGdb, sym } from "./_gdb.ts";
import { listening, qmpClient, startDeja } from "./_debuggers.ts";
import { parseElf } from "../core/elf.ts";

interface Running {
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Start deja with `args`, allowed to listen on `ports` (or unix: paths). */
function start(args: string[], ports: (number | string)[]): Running {
  return { done: startDeja(args, ports) };
}

const MACHINE = ["-nographic", "-bios", "none", "-kernel", GDB_ELF];
// The first bytes of the guest's code, as loaded at 0x80000000.
const elfCode = (() => {
  const seg = parseElf(Deno.readFileSync(GDB_ELF), "gdb_target").segments
    .find((s) => s.paddr === 0x80000000);
  if (!seg) throw new Error("gdb_target.elf has no segment at 0x80000000");
  return seg.data.slice(0, 16);
})();
// A session that stops and steps the guest, and checks where it is.
const SESSION = [
  "break leaf",
  "continue",
  "bt",
  "p/x $pc",
  "stepi",
  "p/x $pc",
  "stepi",
  "p/x $pc",
  "delete",
  "watch watched",
  "continue",
  "p watched",
  "delete",
  "monitor info replay",
  "continue",
];

function checkSession(text: string): void {
  const leaf = sym("leaf");
  match(text, /Breakpoint 1, leaf \(n=n@entry=0\)/);
  match(text, /#3 +0x[0-9a-f]+ in main \(\)/);
  deepEqual(printedHex(text), [hex(leaf), hex(leaf + 4), hex(leaf + 6)]);
  match(text, /Old value = 0\nNew value = 1\n/);
  match(text, /exited normally/);
}

Deno.test("cli: -s -S with gdb-multiarch: break, bt, stepi, watch, monitor, continue to exit", async () => {
  const port = freePort();
  const run = start([...MACHINE, "-gdb", `tcp::${port}`, "-S"], [port]);
  await listening(port);
  const text = await runGdb(port, SESSION);
  checkSession(text);
  match(text, /Record\/replay is not active; instruction \d+/);
  const r = await run.done;
  equal(r.code, 0, r.stderr);
  match(r.stdout, /PASS gdb_target/);
});

Deno.test("cli: a recording made under gdb (stops, steps, a watchpoint) replays with its state hashes, also under gdb", async () => {
  const log = await Deno.makeTempFile({ prefix: "deja-gdb-", suffix: ".log" });
  try {
    const port = freePort();
    const rec = start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=record,rrfile=${log},rrcheck=500`,
      "-gdb",
      `tcp::${port}`,
      "-S",
    ], [port]);
    await listening(port);
    const text = await runGdb(port, SESSION);
    checkSession(text);
    match(text, new RegExp(`Recording to ${log}: instruction \\d+`));
    const r = await rec.done;
    equal(r.code, 0, r.stderr);
    // Replay without gdb: every state hash matches.
    const plain = start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=replay,rrfile=${log}`,
    ], []);
    const p = await plain.done;
    equal(p.code, 0, p.stderr);
    match(p.stdout, /PASS gdb_target/);
    // Replay under gdb, stepping again: the same hashes.
    const port2 = freePort();
    const rep = start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=replay,rrfile=${log}`,
      "-gdb",
      `tcp::${port2}`,
      "-S",
    ], [port2]);
    await listening(port2);
    const text2 = await runGdb(port2, SESSION);
    checkSession(text2);
    match(text2, new RegExp(`Replaying from ${log}: instruction \\d+`));
    const q = await rep.done;
    equal(q.code, 0, q.stderr);
    match(q.stdout, /PASS gdb_target/);
  } finally {
    await Deno.remove(log).catch(() => {});
  }
});

Deno.test("cli: Ctrl-C in gdb stops the running guest", async () => {
  const port = freePort();
  const run = start([...MACHINE, "-gdb", `tcp::${port}`, "-S"], [port]);
  await listening(port);
  const text = await runGdb(port, [
    "break main",
    "continue",
    "delete",
    "set var spin_wanted = 1",
    "continue",
    "p spins > 100",
    "set var spin_release = 1",
    "continue",
  ], { interruptAfterMs: 2500 });
  match(text, /Program received signal SIGINT, Interrupt\./);
  match(text, /\$1 = 1\n/);
  match(text, /exited normally/);
  equal((await run.done).code, 0);
});

/** A QMP client (the greeting is its first message). */
function qmp(where: number | string) {
  return qmpClient(where, 30_000);
}

Deno.test("cli: -qmp in a replay: query-replay, replay-break stops at exactly that icount with STOP, cont, SHUTDOWN", async () => {
  const log = await Deno.makeTempFile({ prefix: "deja-qmp-", suffix: ".log" });
  try {
    const rec = start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=record,rrfile=${log},rrcheck=1000`,
    ], []);
    const r = await rec.done;
    equal(r.code, 0, r.stderr);
    const port = freePort();
    const rep = start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=replay,rrfile=${log}`,
      "-qmp",
      `tcp:127.0.0.1:${port},server,wait=off`,
      "-S",
    ], [port]);
    await listening(port);
    const c = await qmp(port);
    const greeting = await c.next();
    ok("QMP" in greeting);
    deepEqual(await c.cmd("qmp_capabilities"), { return: {} });
    deepEqual(await c.cmd("query-status"), {
      return: { status: "paused", singlestep: false, running: false },
    });
    deepEqual(await c.cmd("query-replay"), {
      return: { mode: "play", filename: log, icount: 0 },
    });
    deepEqual(await c.cmd("replay-break", { icount: 1234 }), { return: {} });
    deepEqual(await c.cmd("cont"), { return: {} });
    await c.event("STOP");
    deepEqual(await c.cmd("query-replay"), {
      return: { mode: "play", filename: log, icount: 1234 },
    });
    deepEqual(await c.cmd("query-status"), {
      return: { status: "paused", singlestep: false, running: false },
    });
    // A break in the past is refused; a later one stops there too.
    const past = await c.cmd("replay-break", { icount: 10 });
    equal((past.error as { class: string }).class, "GenericError");
    deepEqual(await c.cmd("replay-break", { icount: 2345 }), { return: {} });
    deepEqual(await c.cmd("cont"), { return: {} });
    await c.event("STOP");
    deepEqual(await c.cmd("query-replay"), {
      return: { mode: "play", filename: log, icount: 2345 },
    });
    const regs = await c.cmd("human-monitor-command", {
      "command-line": "info registers",
    });
    match(regs.return as string, /^ pc +[0-9a-f]{16}/);
    // The monitor's debugging commands, through human-monitor-command.
    const hmp = async (line: string) =>
      (await c.cmd("human-monitor-command", { "command-line": line }))
        .return as string;
    const word = new DataView(elfCode.buffer).getUint32(0, true);
    equal(
      await hmp("xp /1x 0x80000000"),
      `0000000080000000: 0x${word.toString(16).padStart(8, "0")}\r\n`,
    );
    equal(await hmp("x /1x 0x80000000"), await hmp("xp /1x 0x80000000"));
    match(await hmp("x /2g 0x10"), /Cannot access memory at address 0x10/);
    equal(await hmp("replay_break 3000"), "");
    match(
      await hmp("info breakpoints"),
      /replay breakpoint at instruction 3000/,
    );
    equal(await hmp("replay_delete_break"), "");
    match(await hmp("info breakpoints"), /No breakpoints\./);
    const unknown = await c.cmd("no-such-command");
    deepEqual(unknown.error, {
      class: "CommandNotFound",
      desc: "The command no-such-command has not been found",
    });
    deepEqual(await c.cmd("cont"), { return: {} });
    await c.event("SHUTDOWN");
    c.close();
    const q = await rep.done;
    equal(q.code, 0, q.stderr);
    match(q.stdout, /PASS gdb_target/);
  } finally {
    await Deno.remove(log).catch(() => {});
  }
});

Deno.test("cli: -qmp monitor commands and system_reset leave a stopped run stopped, quit ends it; a bad -qmp address is refused with the fix", async () => {
  const port = freePort();
  const run = start([
    ...MACHINE,
    "-qmp",
    `tcp::${port},server,wait=off`,
    "-S",
  ], [port]);
  await listening(port);
  const c = await qmp(port);
  await c.next();
  await c.cmd("qmp_capabilities");
  // A monitor command pauses the stopped machine and leaves it stopped.
  const regs = await c.cmd("human-monitor-command", {
    "command-line": "info registers",
  });
  match(regs.return as string, /pc +0+1000\b/);
  await new Promise((r) => setTimeout(r, 200));
  deepEqual(
    await c.cmd("human-monitor-command", { "command-line": "info registers" }),
    regs,
  );
  const reset = await c.cmd("system_reset");
  deepEqual(reset, { return: {} });
  // The reset leaves a stopped machine stopped (as QEMU does): the guest
  // does not run to its own end while the client takes its time.
  await new Promise((r) => setTimeout(r, 200));
  deepEqual(await c.cmd("query-status"), {
    return: { status: "paused", singlestep: false, running: false },
  });
  deepEqual(await c.cmd("quit"), { return: {} });
  await c.event("SHUTDOWN");
  deepEqual(c.events.filter((e) => e !== "RESET"), []);
  c.close();
  const r = await run.done;
  equal(r.code, 0, r.stderr);
  equal(r.stdout, "", "the guest ran: quit did not end a stopped run");
  const bad = start([...MACHINE, "-qmp", "tcp::4444,server"], []);
  const b = await bad.done;
  ok(b.code !== 0);
  match(b.stderr, /-qmp.*wait=off/);
});

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

Deno.test("cli: gdb on OpenSBI + U-Boot while recording: break at U-Boot's entry in S-mode, step, kill; the log replays", async () => {
  for (const [f, pkg] of [[FW_JUMP, "opensbi"], [UBOOT_S, "u-boot-qemu"]]) {
    try {
      Deno.statSync(f!);
    } catch {
      throw new Error(`${f} is missing: apt-get install -y ${pkg}`);
    }
  }
  const log = await Deno.makeTempFile({
    prefix: "deja-uboot-",
    suffix: ".log",
  });
  const machine = [
    "-M",
    "virt",
    "-m",
    "128M",
    "-nographic",
    "-bios",
    FW_JUMP,
    "-kernel",
    UBOOT_S,
  ]; // deno-fmt-ignore
  try {
    const port = freePort();
    const rec = start([
      ...machine,
      "-icount",
      `shift=3,rr=record,rrfile=${log},rrcheck=200000`,
      "-gdb",
      `tcp::${port}`,
      "-S",
    ], [port]);
    await listening(port);
    const text = await runGdb(port, [
      "p/x $pc",
      "break *0x80200000",
      "continue",
      "p/x $pc",
      "p $priv",
      "p/x $a0",
      "x/2i $pc",
      "stepi",
      "p/x $pc",
      "p/x $satp",
      "monitor info replay",
      "kill",
    ], { file: null });
    // The reset vector, U-Boot's entry (in S-mode, hart 0), one step on.
        // stepi lands on the second instruction that x/2i showed.
    const second = /=> 0x80200000:[^\n]*\n\s+(0x[0-9a-f]+):/.exec(text)?.[1];
    ok(second, "x/2i showed two instructions");
    deepEqual(printedHex(text), ["0x1000", "0x80200000", "0x0", second, "0x0"]);
    match(text, /^\$\d+ = 1$/m); // priv: S
    match(text, /=> 0x80200000:\s+\S+/);
    match(text, new RegExp(`Recording to ${log}: instruction \\d+`));
    match(text, /\[Inferior 1 \(Remote target\) killed\]/);
    const r = await rec.done;
    equal(r.code, 0, r.stderr);
    // The recording replays to its end, with every state hash.
    const rep = start([...machine, "-icount", `shift=3,rr=replay,rrfile=${log}`], []);
    const q = await rep.done;
    equal(q.code, 0, q.stderr);
    match(q.stdout, /OpenSBI/);
  } finally {
    await Deno.remove(log).catch(() => {});
  }
});

Deno.test("cli: -qmp unix:PATH, and the monitor's gdbserver starting the stub at run time", async () => {
  const gdbPort = freePort();
  const sock = `/tmp/deja-qmp-${gdbPort}.sock`;
  const run = start(
    [...MACHINE, "-qmp", `unix:${sock},server,wait=off`, "-S"],
    [gdbPort, `unix:${sock}`],
  );
  try {
    const end = Date.now() + 20_000;
    while (!(await Deno.stat(sock).then(() => true, () => false))) {
      if (Date.now() > end) {
        throw new Error(`deja did not create ${sock}`);
      }
      const early = await Promise.race([
        run.done,
        new Promise((r) => setTimeout(r, 50)),
      ]);
      if (early) {
        throw new Error(`deja ended: ${JSON.stringify(early)}`);
      }
    }
    // The test itself may not use unix sockets (deno task test allows
    // net to 127.0.0.1 only): a `deno eval` child speaks QMP on it.
    const replies = await unixQmp(sock, [
      { execute: "qmp_capabilities" },
      {
        execute: "human-monitor-command",
        arguments: { "command-line": `gdbserver tcp::${gdbPort}` },
      },
    ]);
    ok("QMP" in replies[0]!);
    deepEqual(replies[1], { return: {} });
    deepEqual(replies[2], {
      return:
        `Waiting for gdb connection on device 'tcp:127.0.0.1:${gdbPort}'\r\n`,
    });
    const text = await runGdb(gdbPort, SESSION);
    checkSession(text);
    const r = await run.done;
    equal(r.code, 0, r.stderr);
    match(r.stdout, /PASS gdb_target/);
  } finally {
    await Deno.remove(sock).catch(() => {});
  }
});

/** Send QMP commands on a unix socket from a child process; the replies. */
async function unixQmp(
  path: string,
  commands: unknown[],
): Promise<Record<string, unknown>[]> {
  const code = `
    const c = await Deno.connect({ transport: "unix", path: ${
    JSON.stringify(path)
  } });
    const dec = new TextDecoder(), enc = new TextEncoder();
    const buf = new Uint8Array(65536);
    let text = "";
    const line = async () => {
      while (!text.includes("\\n")) {
        const n = await c.read(buf);
        if (n === null) throw new Error("closed");
        text += dec.decode(buf.subarray(0, n));
      }
      const i = text.indexOf("\\n");
      const l = text.slice(0, i).trim();
      text = text.slice(i + 1);
      return l;
    };
    console.log(await line());
    for (const cmd of ${JSON.stringify(commands)}) {
      await c.write(enc.encode(JSON.stringify(cmd)));
      let l;
      do { l = await line(); } while (l.includes('"event"'));
      console.log(l);
    }
    c.close();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text.trim().split("\n").map((l) => JSON.parse(l));
}
