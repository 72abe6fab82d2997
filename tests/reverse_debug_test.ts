// Reverse execution over GDB in a replay (cli/reverse.ts on
// replay/time_travel.ts), with real gdb-multiarch, after QEMU's own
// reverse-debugging test: record; replay with -gdb and -S; 10 stepi; 10
// reverse-stepi visit the same pcs backwards; 10 stepi again; breakpoints on
// those pcs; continue to near the end; reverse-continue stops at the last
// of them; back to the start: "No more reverse-execution history". And a
// watchpoint: reverse-continue finds the last store to a global, whose pc
// and value match a forward run's watchpoint stop.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { dejaCommand } from "./_deja.ts";
import { freePort, GDB_ELF, hex, printedHex, runGdb, sym } from "./_gdb.ts";
import { listening, qmpClient, startDeja } from "./_debuggers.ts";

/** Start deja with `args`, allowed to listen on `port`. */
function start(args: string[], port?: number) {
  return startDeja(args, port ? [port] : []);
}

const MACHINE = ["-nographic", "-bios", "none", "-kernel", GDB_ELF];

/** gdb under `args` (deja with -gdb -S), running `commands`. */
async function gdbOn(args: string[], commands: string[]): Promise<string> {
  const port = freePort();
  const run = start([...args, "-gdb", `tcp::${port}`, "-S"], port);
  await listening(port);
  const text = await runGdb(port, [...commands, "kill"]);
  const r = await run;
  equal(r.code, 0, r.stderr + text);
  return text;
}

Deno.test("gdb in a replay: reverse-stepi, reverse-continue to breakpoints and to the start, reverse-continue with a watchpoint finds the last store", async () => {
  const log = await Deno.makeTempFile({ prefix: "deja-rev-", suffix: ".log" });
  try {
    const rec = await start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=record,rrfile=${log}`,
    ]);
    equal(rec.code, 0, rec.stderr);
    match(rec.stdout, /PASS gdb_target/);
    const replay = [...MACHINE, "-icount", `shift=3,rr=replay,rrfile=${log}`];

    // gdb's reverse-next and reverse-finish (built on bs, bc and
    // breakpoints): back over a line, and out to the caller.
    const lines = await gdbOn(replay, [
      "break leaf",
      "continue",
      "continue",
      "delete",
      "next",
      "next",
      "reverse-next",
      "reverse-finish",
      "bt 1",
    ]);
    match(lines, /\n28\t {4}return r \+ 1;\n27\t {4}watched = r;\n/);
    match(
      lines,
      /\n#0 +outer \(n=n@entry=1\) at \.\/tests\/guest\/gdb_target\.c:33\n/,
    );

    // A forward run: the 5th (last) store to `watched`, as gdb reports it
    // (after the store).
    const fwd = await gdbOn(replay, [
      "watch watched",
      ...Array(5).fill("continue"),
      "p watched",
      "p/x $pc",
    ]);
    match(fwd, /Old value = 10\nNew value = 13\n/);
    const [fwdValue] = [...fwd.matchAll(/^\$1 = (\d+)$/gm)].map((m) => m[1]);
    const fwdPc = printedHex(fwd)[0];
    equal(fwdValue, "13");

    const cmds = ["p/x $pc"];
    for (let i = 1; i <= 10; i++) {
      cmds.push("stepi", `set $p${i} = $pc`, "p/x $pc");
    }
    for (let i = 1; i <= 10; i++) cmds.push("reverse-stepi", "p/x $pc");
    for (let i = 1; i <= 10; i++) cmds.push("stepi", "p/x $pc");
    for (let i = 1; i <= 10; i++) cmds.push(`break *$p${i}`);
    cmds.push(
      "break *test_end",
      "continue",
      "p/x $pc",
      "reverse-continue",
      "p/x $pc",
      "reverse-continue",
      "p/x $pc",
      "delete",
      "reverse-continue",
      "p/x $pc",
      // The watchpoint: from test_end back to the last store.
      "break *test_end",
      "continue",
      "delete",
      "watch watched",
      "reverse-continue",
      "p watched",
      "p/x $pc",
      "x/i $pc",
      "stepi",
      "p watched",
      "p/x $pc",
      "reverse-continue",
      "p watched",
      "reverse-continue",
      "p watched",
    );
    const text = await gdbOn(replay, cmds);
    const pcs = printedHex(text);
    const fwd10 = pcs.slice(0, 11); // the start, then 10 stepi
    equal(new Set(fwd10).size, 11, text);
    deepEqual(pcs.slice(11, 21), fwd10.slice(0, 10).reverse(), "reverse-stepi");
    deepEqual(pcs.slice(21, 31), fwd10.slice(1), "stepi again");
    equal(pcs[31], hex(sym("test_end")));
    equal(pcs[32], fwd10[10], "reverse-continue: the last breakpoint");
    equal(pcs[33], fwd10[9], "reverse-continue: the one before");
    match(text, /No more reverse-execution history\./);
    equal(pcs[34], fwd10[0], "back at the start");
    // The watchpoint, backwards: stopped at the last store, before it.
    match(text, /Old value = 13\nNew value = 10\n/);
    const values = [...text.matchAll(/^\$\d+ = (\d+)$/gm)].map((m) => m[1]);
    // Then back over that store again (10), and to the one before (7).
    deepEqual(values, ["10", "13", "10", "7"], text);
    // One step forward: the forward run's stop, pc and value.
    match(text, /=> 0x[0-9a-f]+ <middle\+\d+>:\s+c?\.?sd\s/, "at the store");
    equal(pcs[36], fwdPc, "after the store: the forward run's pc");
    ok(pcs[35] !== pcs[36]);
  } finally {
    await Deno.remove(log).catch(() => {});
    await Deno.remove(`${log}.snapshots`, { recursive: true }).catch(() => {});
  }
});

Deno.test("the GDB stub offers reverse execution only where it can: qSupported, and E22 for bs/bc outside a replay", async () => {
  const { GdbStub } = await import("../cli/gdb_stub.ts");
  const { DebugTarget } = await import("../cli/debug_target.ts");
  const { VirtMachine } = await import("../devices/virt.ts");
  const m = new VirtMachine({
    bios: "none",
    kernel: new Uint8Array(8),
    memoryBytes: 1 << 20,
  });
  const packet = (body: string) => {
    let sum = 0;
    for (const c of body) sum = (sum + c.charCodeAt(0)) & 0xff;
    return new TextEncoder().encode(
      `$${body}#${sum.toString(16).padStart(2, "0")}`,
    );
  };
  const base = {
    resume() {},
    interrupt() {},
    kill() {},
    detach() {},
    monitor: () => "",
  };
  let out = "";
  const plain = new GdbStub(new DebugTarget(m), base, (s) => (out += s));
  await plain.receive(packet("qSupported:swbreak+"));
  ok(!out.includes("Reverse"), out);
  out = "";
  await plain.receive(packet("bs"));
  match(out, /\$E22#/);

  const asked: string[] = [];
  out = "";
  const rev = new GdbStub(
    new DebugTarget(m),
    { ...base, reverse: (d: "step" | "continue") => void asked.push(d) },
    (s) => (out += s),
  );
  await rev.receive(packet("qSupported:swbreak+"));
  match(out, /ReverseStep\+;ReverseContinue\+/);
  await rev.receive(packet("bs"));
  rev.stopped({ kind: "step" });
  await rev.receive(packet("bc"));
  rev.stopped({ kind: "history-begin" });
  deepEqual(asked, ["step", "continue"]);
  match(out, /\$T05replaylog:begin;thread:01;#/);
});

/** A QMP client past the greeting (replies can take long: U-Boot seeks). */
async function qmp(port: number) {
  const c = await qmpClient(port, 60_000);
  await c.next(); // the greeting
  return c;
}

Deno.test("replay-seek (QMP) and replay_seek (monitor) go back and forth to exact instruction counts, with the state a forward replay has there", async () => {
  const log = await Deno.makeTempFile({ prefix: "deja-seek-", suffix: ".log" });
  try {
    const rec = await start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=record,rrfile=${log},rrcheck=1000`,
    ]);
    equal(rec.code, 0, rec.stderr);
    const port = freePort();
    const run = start([
      ...MACHINE,
      "-icount",
      `shift=3,rr=replay,rrfile=${log}`,
      "-qmp",
      `tcp:127.0.0.1:${port},server,wait=off`,
      "-S",
    ], port);
    await listening(port);
    const c = await qmp(port);
    deepEqual(await c.cmd("qmp_capabilities"), { return: {} });
    const icount = async () =>
      ((await c.cmd("query-replay")).return as { icount: number }).icount;
    const regs = async () =>
      (await c.cmd("human-monitor-command", {
        "command-line": "info registers",
      })).return as string;
    // Forward: the registers at 2000 and 3000 as a replay reaches them.
    deepEqual(await c.cmd("replay-seek", { icount: 2000 }), { return: {} });
    equal(await icount(), 2000);
    const at2000 = await regs();
    deepEqual(await c.cmd("replay-seek", { icount: 3000 }), { return: {} });
    const at3000 = await regs();
    ok(at2000 !== at3000);
    // Back, forth, back again: the same registers at the same counts.
    deepEqual(await c.cmd("replay-seek", { icount: 2000 }), { return: {} });
    equal(await icount(), 2000);
    equal(await regs(), at2000);
    const hmp = await c.cmd("human-monitor-command", {
      "command-line": "replay_seek 3000",
    });
    deepEqual(hmp, { return: "" });
    equal(await icount(), 3000);
    equal(await regs(), at3000);
    deepEqual(await c.cmd("replay-seek", { icount: 1999 }), { return: {} });
    equal(await icount(), 1999);
    // Past the end of the log: refused, saying where it ends.
    const past = await c.cmd("replay-seek", { icount: 1e9 });
    match(
      (past.error as { desc: string }).desc,
      /Cannot seek to instruction 1000000000: the (replay ends|guest powers off) at instruction \d+/,
    );
    // Bad input.
    const bad = await c.cmd("replay-seek", { icount: -1 });
    equal((bad.error as { class: string }).class, "GenericError");
    // Named snapshots beside the log: savevm, loadvm (back to its count,
    // checked against the file), info snapshots, delvm; a corrupt file is
    // refused naming the byte.
    const hmpLine = async (line: string) =>
      (await c.cmd("human-monitor-command", { "command-line": line }))
        .return as string;
    deepEqual(await c.cmd("replay-seek", { icount: 2000 }), { return: {} });
    match(
      await hmpLine("savevm mid"),
      /^Saved snapshot mid at instruction 2000 \(\d+ bytes, .*\.snapshots\/mid\.djsnap\)/,
    );
    deepEqual(await c.cmd("replay-seek", { icount: 3000 }), { return: {} });
    equal(await hmpLine("loadvm mid"), "");
    equal(await icount(), 2000);
    equal(await regs(), at2000);
    match(await hmpLine("info snapshots"), /\nmid +2000 +\d+\r?\n\r?\n?$/);
    const file = `${log}.snapshots/mid.djsnap`;
    const bytes = await Deno.readFile(file);
    bytes[bytes.length - 100]! ^= 1;
    await Deno.writeFile(file, bytes);
    match(
      await hmpLine("loadvm mid"),
      /^Cannot load the snapshot .*mid\.djsnap: it is corrupt: the section at byte \d+ .* does not match its checksum/,
    );
    match(await hmpLine("loadvm nosuch"), /there is no .*nosuch\.djsnap/);
    equal(await hmpLine("delvm mid"), "");
    match(await hmpLine("info snapshots"), /There is no snapshot available/);
    // Back to the middle, and on to the end: the recording's state hashes
    // (rrcheck) all match on the way.
    deepEqual(await c.cmd("replay-seek", { icount: 500 }), { return: {} });
    deepEqual(await c.cmd("cont"), { return: {} });
    for (let i = 0; i < 200 && !c.events.includes("SHUTDOWN"); i++) {
      await c.cmd("query-status").catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
    c.close();
    const q = await run;
    equal(q.code, 0, q.stderr);
    match(q.stdout, /PASS gdb_target/);
  } finally {
    await Deno.remove(log).catch(() => {});
    await Deno.remove(`${log}.snapshots`, { recursive: true }).catch(() => {});
  }
});

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const UBOOT = ["-M", "virt", "-bios", FW_JUMP, "-kernel", UBOOT_S];

/** Record OpenSBI + U-Boot through the CLI, typing at its prompt. */
async function recordUboot(log: string): Promise<string> {
  const child = dejaCommand(
    ["--allow-read", "--allow-write=/tmp"],
    [...UBOOT, "-nographic", "-icount", `shift=3,rr=record,rrfile=${log}`],
    "piped",
  ).spawn();
  const w = child.stdin.getWriter();
  const enc = new TextEncoder(), dec = new TextDecoder();
  let out = "";
  const reading = (async () => {
    for await (const c of child.stdout) out += dec.decode(c, { stream: true });
  })();
  const wait = async (re: RegExp, from: number) => {
    const end = Date.now() + 60_000;
    while (!re.test(out.slice(from))) {
      if (Date.now() > end) throw new Error(`no ${re} in ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await wait(/Hit any key to stop autoboot/, 0);
  let from = out.length;
  await w.write(enc.encode(" "));
  await wait(/=> $/, from);
  for (const line of ["version", "poweroff"]) {
    from = out.length;
    await w.write(enc.encode(line + "\n"));
    if (line !== "poweroff") await wait(/=> $/, from);
  }
  await w.close().catch(() => {});
  const status = await child.status;
  await reading;
  await child.stderr.cancel();
  equal(status.code, 0, out);
  return out;
}

Deno.test("gdb on an OpenSBI + U-Boot replay: 10 stepi, 10 reverse-stepi, breakpoints, QMP replay-break near the end, reverse-continue to the last breakpoint", async () => {
  for (const f of [FW_JUMP, UBOOT_S]) {
    await Deno.stat(f).catch(() => {
      throw new Error(`${f} is missing: run deno task setup`);
    });
  }
  const log = await Deno.makeTempFile({ prefix: "deja-urev-", suffix: ".log" });
  try {
    const typed = await recordUboot(log);
    match(typed, /=> version\r?\nU-Boot 2023/);
    const { ReplayLogReader } = await import("../replay/log.ts");
    const events = [...new ReplayLogReader(await Deno.readFile(log))];
    const last = events.at(-1)!;
    equal(last.kind, "end");
    const endIcount = (last as { icount: number }).icount;
    ok(endIcount > 50_000_000, `${endIcount}`);
    const near = endIcount - 1_000_000;

    const gdbPort = freePort(), qmpPort = freePort();
    const flags = [
      "--allow-read",
      "--allow-write=/tmp",
      `--allow-net=127.0.0.1:${gdbPort},127.0.0.1:${qmpPort}`,
    ];
    const child = dejaCommand(flags, [
      ...UBOOT,
      "-display",
      "none",
      "-serial",
      "null",
      "-icount",
      `shift=3,rr=replay,rrfile=${log}`,
      "-gdb",
      `tcp::${gdbPort}`,
      "-qmp",
      `tcp:127.0.0.1:${qmpPort},server,wait=off`,
      "-S",
    ], "null").spawn();
    await listening(gdbPort);
    await listening(qmpPort);
    const c = await qmp(qmpPort);
    deepEqual(await c.cmd("qmp_capabilities"), { return: {} });
    deepEqual(await c.cmd("replay-break", { icount: near }), { return: {} });

    const cmds = ["p/x $pc"];
    for (let i = 1; i <= 10; i++) {
      cmds.push("stepi", `set $p${i} = $pc`, "p/x $pc");
    }
    for (let i = 1; i <= 10; i++) cmds.push("reverse-stepi", "p/x $pc");
    for (let i = 1; i <= 10; i++) cmds.push("stepi", "p/x $pc");
    for (let i = 1; i <= 10; i++) cmds.push(`break *$p${i}`);
    cmds.push(
      "continue", // to the replay break
      "p/x $pc",
      "monitor info replay",
      "reverse-continue",
      "p/x $pc",
      "kill",
    );
    const text = await runGdb(gdbPort, cmds, { file: null });
    c.close();
    const o = await child.output();
    equal(o.code, 0, new TextDecoder().decode(o.stderr) + text);
    const pcs = printedHex(text);
    const fwd10 = pcs.slice(0, 11); // the reset vector, then 10 stepi
    deepEqual(pcs.slice(11, 21), fwd10.slice(0, 10).reverse(), "reverse-stepi");
    deepEqual(pcs.slice(21, 31), fwd10.slice(1), "stepi again");
    match(text, new RegExp(`instruction ${near}, log byte \\d+, stopped`));
    ok(!fwd10.includes(pcs[31]!), `stopped at the replay break, ${pcs[31]}`);
    equal(pcs[32], fwd10[10], "reverse-continue: the last breakpoint");
  } finally {
    await Deno.remove(log).catch(() => {});
    await Deno.remove(`${log}.snapshots`, { recursive: true }).catch(() => {});
  }
});
