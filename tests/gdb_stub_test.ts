// The GDB stub, driven by Debian's real gdb-multiarch (tests/setup.ts
// installs it) in batch mode against tests/guest/build/gdb_target.elf (built
// with -g), and by a raw protocol client for what gdb never sends (bad
// checksums, oversized packets, a second client).

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { serveGdb } from "../cli/gdb_stub.ts";
import type { ServeGdbOptions, ServeGdbResult } from "../cli/gdb_stub.ts";
import { DebugTarget, REGISTERS, targetXml } from "../cli/debug_target.ts";
import { VirtMachine } from "../devices/virt.ts";
import { GDB_ELF, hex, printedHex, runGdb, sym } from "./_gdb.ts";
import { GdbClient } from "./lockstep/gdb_client.ts";

// The RTC reads the host clock once, when a machine is made: machines whose
// state hashes are compared must read the same time (whatever second the
// test happens to start in).
const HOST_CLOCK = () => 1_700_000_000_000_000_000n;

const elfBytes = Deno.readFileSync(GDB_ELF);

interface Served {
  machine: VirtMachine;
  port: number;
  result: Promise<ServeGdbResult>;
  output: () => string;
}

async function serve(
  options: Partial<ServeGdbOptions> = {},
): Promise<Served> {
  let out = "";
  const machine = new VirtMachine({
    bios: "none",
    hostClock: HOST_CLOCK,
    kernel: elfBytes,
    memoryBytes: 16 << 20,
    output: (b) => (out += new TextDecoder().decode(b)),
  });
  const listening = Promise.withResolvers<number>();
  const result = serveGdb(machine, {
    port: 0,
    waitForClient: true,
    onListen: (p) => listening.resolve(p),
    monitor: (line) =>
      line === "info replay"
        ? `Record/replay is not active; instruction ${machine.cpu.icount}`
        : `unknown command: '${line}'`,
    ...options,
  });
  return { machine, port: await listening.promise, result, output: () => out };
}

const gdb = runGdb;

Deno.test("gdb: break at a symbol, bt, registers, globals, x/4i, stepi, monitor, continue to exit", async () => {
  const s = await serve();
  const leaf = sym("leaf"), middle = sym("middle");
  const text = await gdb(s.port, [
    "break leaf",
    "continue",
    "bt",
    "info registers pc sp",
    "p rounds",
    "p/x $pc",
    "x/4i $pc",
    "stepi",
    "p/x $pc",
    "stepi",
    "p/x $pc",
    "stepi",
    "p/x $pc",
    "stepi",
    "p/x $pc",
    "p $priv",
    "monitor info replay",
    "delete",
    "continue",
  ]);
  match(text, new RegExp(`Breakpoint 1 at ${hex(leaf)}: file .*gdb_target.c`));
  match(text, /Breakpoint 1, leaf \(n=n@entry=0\) at .*gdb_target.c:21/);
  // The backtrace goes through middle and outer to main.
  match(text, /#0 +leaf \(n=n@entry=0\)/);
  match(text, /#1 +0x[0-9a-f]+ in middle \(n=n@entry=0\)/);
  match(text, /#2 +0x[0-9a-f]+ in outer \(n=n@entry=0\)/);
  match(text, /#3 +0x[0-9a-f]+ in main \(\)/);
  match(text, new RegExp(`pc +${hex(leaf)}\\s+${hex(leaf)} <leaf>`));
  match(text, /sp +0x8[0-9a-f]+/);
  match(text, /\$1 = 0\n/); // rounds, before the first round ends
  // leaf: slli a5,a0,1 (4 bytes); add a0,a0,a5; addi a0,a0,1; ret (2 each)
  match(
    text,
    new RegExp(
      `=> ${hex(leaf)} <leaf>:\\s+sll\\s+a5,a0,0x1\\n\\s+${
        hex(leaf + 4)
      } <leaf\\+4>:\\s+add\\s+a0,a0,a5\\n\\s+${
        hex(leaf + 6)
      } <leaf\\+6>:\\s+add\\s+a0,a0,1\\n\\s+${
        hex(leaf + 8)
      } <leaf\\+8>:\\s+ret`,
    ),
  );
  // stepi x4: through leaf and back to middle after the call (jal at +4).
  const pcs = [...text.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => m[1]);
  equal(
    pcs.join(" "),
    [leaf, leaf + 4, leaf + 6, leaf + 8, middle + 8].map(hex).join(" "),
  );
  match(text, /\$\d+ = 3\n/); // priv: M
  match(text, /Record\/replay is not active; instruction \d+/);
  match(text, /\[Inferior 1 \(Remote target\) exited normally\]/);
  const r = await s.result;
  equal(r.kind, "exit");
  match(s.output(), /PASS gdb_target/);
});

Deno.test("gdb: watch a global stops at the store that changes it; rwatch at the load", async () => {
  const s = await serve();
  const middle = sym("middle");
  const text = await gdb(s.port, [
    "watch watched",
    "continue",
    "p/x $pc",
    "continue",
    "p/x $pc",
    "p watched",
    "delete",
    "rwatch rounds",
    "continue",
    "delete",
    "continue",
  ]);
  match(text, /Hardware watchpoint 1: watched/);
  // First round: watched = leaf(0) = 1; second: leaf(1) = 4. gdb stops right
  // after the store (sd a0 at middle+12), in middle at line 28.
  match(text, /Old value = 0\nNew value = 1\n/);
  match(text, /Old value = 1\nNew value = 4\n/);
  const pcs = [...text.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => m[1]);
  equal(pcs.join(" "), [hex(middle + 16), hex(middle + 16)].join(" "));
  match(text, /\$3 = 4\n/);
  match(text, /Hardware read watchpoint 2: rounds\n\nValue = 1\n/);
  match(text, /exited normally/);
  equal((await s.result).kind, "exit");
});

Deno.test("gdb: the target description: info all-registers, $mstatus, $ft0, $priv", async () => {
  const s = await serve();
  const text = await gdb(s.port, [
    "break main",
    "continue",
    "info all-registers",
    "p/x $mstatus",
    "p/x $misa",
    "p $ft0",
    "p $fcsr",
    "p $priv",
    "kill",
  ]);
  for (
    const name of [
      "zero",
      "ra",
      "t6",
      "pc",
      "ft0",
      "fs11",
      "fflags",
      "frm",
      "fcsr",
      "mstatus",
      "mtvec",
      "satp",
      "pmpaddr15",
      "priv",
    ]
  ) {
    match(
      text,
      new RegExp(`^${name} +`, "m"),
      `info all-registers shows ${name}`,
    );
  }
  match(text, /\$\d+ = 0xa00000000\n/); // mstatus: UXL=SXL=2, nothing else yet
  match(text, /\$\d+ = 0x800000000014112d\n/); // RV64ACDFIMSU
  match(text, /\$\d+ = \{float = 0, double = 0\}/);
  match(text, /\$\d+ = 3\n/);
  equal((await s.result).kind, "killed");
});

Deno.test("gdb: Ctrl-C interrupts a running guest, which then runs on to its end", async () => {
  const s = await serve();
  const text = await gdb(s.port, [
    "break main", // after start.S clears .bss
    "continue",
    "delete",
    "set var spin_wanted = 1",
    "continue",
    "p spins > 1000",
    "bt 1",
    "set var spin_release = 1",
    "continue",
  ], { interruptAfterMs: 1500 });
  match(text, /Program received signal SIGINT, Interrupt\./);
  match(text, /\$1 = 1\n/);
  match(text, /#0 +(0x[0-9a-f]+ in )?spin \(\)/);
  match(text, /exited normally/);
  equal((await s.result).kind, "exit");
  match(s.output(), /PASS gdb_target/);
});

Deno.test("gdb stub: stopping and stepping do not change the guest's run", async () => {
  // Plain run.
  const plain = new VirtMachine({
    bios: "none",
    hostClock: HOST_CLOCK,
    kernel: elfBytes,
    memoryBytes: 16 << 20,
  });
  let r = plain.run(1e7);
  equal(r.kind, "exit");
  // The same guest with breakpoints, a watchpoint and single steps.
  const m = new VirtMachine({
    bios: "none",
    hostClock: HOST_CLOCK,
    kernel: elfBytes,
    memoryBytes: 16 << 20,
  });
  const t = new DebugTarget(m);
  t.insertBreakpoint(BigInt(sym("leaf")));
  ok(t.insertWatchpoint(BigInt(sym("watched")), 8, "watch"));
  let stops = 0;
  for (;;) {
    const stop = t.run(1e6, { step: stops % 3 === 0 });
    if (stop.kind === "machine") {
      r = stop.result;
      break;
    }
    stops++;
  }
  equal(r.kind, "exit");
  ok(stops > 10, `stopped ${stops} times`);
  equal(m.cpu.icount, plain.cpu.icount);
  equal(await m.stateHash(), await plain.stateHash());
});

Deno.test("gdb stub: the target description lists every register once, in number order", () => {
  const nums = REGISTERS.map((r) => r.regnum);
  equal(new Set(nums).size, nums.length);
  ok(nums.every((n, i) => i === 0 || n > nums[i - 1]!));
  const xml = targetXml();
  for (const f of ["cpu", "fpu", "csr", "virtual"]) {
    match(xml, new RegExp(`<feature name="org.gnu.gdb.riscv.${f}">`));
  }
});

/** A raw connection: write bytes, read what comes back within a moment. */
async function raw(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const dec = new TextDecoder();
  let got = "";
  let closed = false;
  const reader = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        got += dec.decode(buf.subarray(0, n));
      }
    } catch { /* reset */ }
    closed = true;
  })();
  return {
    async send(s: string) {
      await conn.write(new TextEncoder().encode(s));
    },
    async until(re: RegExp, ms = 5000): Promise<string> {
      const end = Date.now() + ms;
      while (!re.test(got)) {
        if (Date.now() > end || closed) {
          throw new Error(`no ${re} in ${JSON.stringify(got)}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const all = got;
      got = "";
      return all;
    },
    get closed() {
      return closed;
    },
    async close() {
      try {
        conn.close();
      } catch { /* already */ }
      await reader;
    },
  };
}

const sum = (s: string) => {
  let c = 0;
  for (const ch of s) c = (c + ch.charCodeAt(0)) & 0xff;
  return c.toString(16).padStart(2, "0");
};
const pkt = (s: string) => `$${s}#${sum(s)}`;

Deno.test("gdb stub: bad input gets protocol errors, and the guest carries on", async () => {
  const s = await serve();
  const c = await raw(s.port);
  // Wrong checksum: a NAK, and nothing else.
  await c.send("$g#00");
  equal(await c.until(/-/), "-");
  // Malformed packets: errors, never a crash.
  await c.send(pkt("m80000000"));
  match(await c.until(/#/), /\+\$E16#/);
  await c.send(pkt("mzz,4"));
  match(await c.until(/#/), /\+\$E16#/);
  await c.send(pkt("pzz"));
  match(await c.until(/#/), /\+\$E16#|\+\$E0e#/);
  // Oversized (and undersized) G.
  await c.send(pkt("G" + "00".repeat(8 * 40)));
  match(await c.until(/#/), /\+\$E16#/);
  await c.send(pkt("G00"));
  match(await c.until(/#/), /\+\$E16#/);
  // Unmapped memory: E14 for reads, writes and watchpoints.
  await c.send(pkt("m0,8"));
  match(await c.until(/#/), /\+\$E14#/);
  await c.send(pkt("Mfffffff000000000,1:00"));
  match(await c.until(/#/), /\+\$E14#/);
  await c.send(pkt("Z2,0,8"));
  match(await c.until(/#/), /\+\$E14#/);
  // A device register is not read (a read could change the device).
  await c.send(pkt("m10000005,1"));
  match(await c.until(/#/), /\+\$E14#/);
  // Unknown packets: the empty reply.
  await c.send(pkt("qNoSuchThing"));
  match(await c.until(/#/), /\+\$#00/);
  // A packet with no end, longer than PacketSize: dropped with a NAK.
  await c.send("$" + "x".repeat(0x4100));
  match(await c.until(/-/), /-/);
  // Still talking: read the pc (the reset vector, 0x1000).
  await c.send(pkt("p20"));
  match(await c.until(/#/), /\$0010000000000000#/);
  // A second client is refused while the first is attached.
  const second = await raw(s.port);
  await second.send(pkt("?"));
  const end = Date.now() + 3000;
  while (!second.closed && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
  }
  ok(second.closed, "the second client was disconnected");
  await second.close();
  // Resume, and disconnect mid-run: the guest runs to its end.
  await c.send(pkt("c"));
  await c.until(/\+/);
  await c.close();
  const r = await s.result;
  equal(r.kind, "exit");
  match(s.output(), /PASS gdb_target/);
});

Deno.test("gdb stub: protocol client: no-ack mode, Ctrl-C while running, vCont, thread queries, qRcmd", async () => {
  const s = await serve();
  const c = await GdbClient.connect(s.port);
  equal(c.features.get("PacketSize"), "4000");
  for (
    const f of ["qXfer:features:read", "swbreak", "hwbreak", "vContSupported"]
  ) {
    equal(c.features.get(f), "+", f);
  }
  equal(await c.command("qAttached"), "1");
  equal(await c.command("qfThreadInfo"), "m01");
  equal(await c.command("qsThreadInfo"), "l");
  equal(await c.command("qC"), "QC01");
  equal(await c.command("vCont?"), "vCont;c;C;s;S;t");
  match(await c.command("?"), /^T05/);
  // vCont;s: one instruction from the reset vector.
  match(await c.command("vCont;s:1"), /^T05/);
  equal((await c.readRegisters([32]))[0], 0x1004n);
  // Z1 (hardware breakpoint) at leaf, then continue.
  equal(await c.command(`Z1,${sym("leaf").toString(16)},2`), "OK");
  match(await c.command("vCont;c"), /^T05(swbreak|hwbreak):;/);
  equal((await c.readRegisters([32]))[0], BigInt(sym("leaf")));
  equal(await c.command(`z1,${sym("leaf").toString(16)},2`), "OK");
  await c.kill();
  equal((await s.result).kind, "killed");
});

Deno.test("gdb stub: Ctrl-C (0x03) stops a running guest; qRcmd runs a monitor command", async () => {
  const s = await serve();
  const c = await raw(s.port);
  await c.send(pkt("QStartNoAckMode"));
  match(await c.until(/#/), /\+\$OK#/);
  // Run to main (start.S clears .bss before it), then ask for the spin.
  await c.send(pkt(`Z0,${sym("main").toString(16)},2`));
  match(await c.until(/#/), /^\$OK#/);
  await c.send(pkt("c"));
  match(await c.until(/#/), /^\$T05swbreak:;thread:01;#/);
  await c.send(pkt(`z0,${sym("main").toString(16)},2`));
  match(await c.until(/#/), /^\$OK#/);
  await c.send(pkt(`M${sym("spin_wanted").toString(16)},4:01000000`));
  match(await c.until(/#/), /^\$OK#/);
  await c.send(pkt("c"));
  await new Promise((r) => setTimeout(r, 300));
  await c.send("\x03");
  match(await c.until(/#/), /^\$T02thread:01;#/);
  // The guest is in spin(), and stays there while stopped.
  await c.send(pkt("p20"));
  const pc = await c.until(/#/);
  const spinAt = sym("spin");
  const le = pc.slice(1, 17);
  let v = 0n;
  for (let i = 7; i >= 0; i--) {
    v = (v << 8n) | BigInt(parseInt(le.slice(2 * i, 2 * i + 2), 16));
  }
  ok(v >= BigInt(spinAt) && v < BigInt(spinAt) + 0x28n, `pc ${hex(v)} in spin`);
  const hexOf = (t: string) =>
    [...new TextEncoder().encode(t)].map((b) => b.toString(16).padStart(2, "0"))
      .join("");
  await c.send(pkt("qRcmd," + hexOf("info replay")));
  const out = await c.until(/\$OK#/);
  match(out, new RegExp(`^\\$O${hexOf("Record/replay is not active")}`));
  await c.send(pkt("k"));
  await c.close();
  equal((await s.result).kind, "killed");
});

Deno.test("debug target: memory goes through Sv39 as the hart sees it, and refuses what does not translate", async () => {
  const { HART, HART64 } = await import("../core/hart_state.ts");
  const m = new VirtMachine({
    bios: "none",
    hostClock: HOST_CLOCK,
    kernel: new Uint8Array(16),
    memoryBytes: 1 << 20,
  });
  const bus = m.bus, cpu = m.cpu;
  const pte = (pa: number, flags: number) => {
    const v = BigInt(pa / 4096) << 10n | BigInt(flags);
    return [Number(v & 0xffffffffn), Number(v >> 32n)] as const;
  };
  const put = (addr: number, [lo, hi]: readonly [number, number]) => {
    bus.write(addr, 4, lo);
    bus.write(addr + 4, 4, hi);
  };
  const root = 0x80001000, mid = 0x80002000, leafTable = 0x80003000;
  // VA 0x40000000: a 1 GiB page onto 0x80000000 (V R W X).
  put(root + 1 * 8, pte(0x80000000, 0xf));
  // VA 0x1000: three levels down to 0x80005000 (V R W).
  put(root + 0 * 8, pte(mid, 0x1));
  put(mid + 0 * 8, pte(leafTable, 0x1));
  put(leafTable + 1 * 8, pte(0x80005000, 0x7));
  bus.write(0x80000010, 4, 0x11223344);
  bus.write(0x80005008, 4, 0x55667788);
  const t = new DebugTarget(m);
  const s = cpu.state.words;
  s[HART.satpMode] = 8;
  cpu.state.scalars[HART64.satpPpn] = root / 4096;
  // M-mode: no translation.
  deepEqualBytes(t.readMemory(0x80000010n, 4), [0x44, 0x33, 0x22, 0x11]);
  equal(t.readMemory(0x40000010n, 4), undefined);
  // S-mode: Sv39.
  s[HART.priv] = 1;
  equal(t.translate(0x40000010n), 0x80000010);
  deepEqualBytes(t.readMemory(0x40000010n, 4), [0x44, 0x33, 0x22, 0x11]);
  deepEqualBytes(t.readMemory(0x1008n, 4), [0x88, 0x77, 0x66, 0x55]);
  equal(t.readMemory(0x2000n, 1), undefined); // no leaf
  equal(t.readMemory(0xffffffc000001000n, 1), undefined); // unmapped half
  equal(t.readMemory(0x8000000000001000n, 1), undefined); // not canonical
  // A read that runs off the mapped page fails as a whole.
  equal(t.readMemory(0x1ffen, 4), undefined);
  ok(t.writeMemory(0x1008n, Uint8Array.of(1, 2)));
  equal(bus.read(0x80005008, 2), 0x0201);
  ok(!t.insertWatchpoint(0x2000n, 8, "watch"));
  ok(t.insertWatchpoint(0x1000n, 8, "watch"));
  // The machine state did not move.
  equal(cpu.icount, 0);
});

function deepEqualBytes(got: Uint8Array | undefined, want: number[]): void {
  ok(got, "the read succeeded");
  equal([...got].join(","), want.join(","));
}

Deno.test("gdb: a watchpoint on unmapped memory is refused, and the guest runs on", async () => {
  const s = await serve();
  const text = await runGdb(s.port, [
    "break main",
    "continue",
    "watch *(long *)0x10",
    "continue",
    "p/x $pc",
    "delete",
    "continue",
  ]);
  match(text, /Could not insert hardware watchpoint 2\./);
  equal(printedHex(text)[0], hex(sym("main"))); // it did not move
  match(text, /exited normally/);
  equal((await s.result).kind, "exit");
});

Deno.test("debug target: breakpoints inside straight-line code stop exactly where single steps stop", async () => {
  const stops = (forceSingleSteps: boolean) => {
    const m = new VirtMachine({
      bios: "none",
      hostClock: HOST_CLOCK,
      kernel: elfBytes,
      memoryBytes: 16 << 20,
    });
    const t = new DebugTarget(m);
    const leaf = sym("leaf"), middle = sym("middle"), outer = sym("outer");
    for (
      const a of [leaf, leaf + 4, leaf + 6, leaf + 8, middle + 16, outer + 8]
    ) {
      t.insertBreakpoint(BigInt(a));
    }
    // A watchpoint (on memory nothing touches) makes the target step one
    // instruction at a time: the reference.
    if (forceSingleSteps) ok(t.insertWatchpoint(0x80ff0000n, 8, "awatch"));
    const seen: string[] = [];
    for (;;) {
      const s = t.run(1e6);
      if (s.kind === "machine") break;
      if (s.kind === "breakpoint") seen.push(`${hex(s.pc)}@${m.cpu.icount}`);
    }
    return { seen, icount: m.cpu.icount, hash: m.stateHash() };
  };
  const fast = stops(false), slow = stops(true);
  equal(fast.seen.length, 30); // 6 breakpoints, 5 rounds
  deepEqual(fast.seen, slow.seen);
  equal(fast.icount, slow.icount);
  equal(await fast.hash, await slow.hash);
});
