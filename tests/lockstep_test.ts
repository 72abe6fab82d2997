// The lockstep tester (tests/lockstep/): deja against QEMU on ISA binaries
// and random programs (one instruction at a time, and in chunks with blocks
// on), the GDB client's packet framing against a fake stub, the state
// comparison, and the disassembler against objdump.
// Needs qemu-system-riscv64 and the riscv64-unknown-elf toolchain
// (tests/setup.ts installs them).

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { disassemble } from "../core/disasm.ts";
import {
  checksum,
  escapeBody,
  framePacket,
  GdbClient,
  hexToLe,
  unescapeBody,
} from "./lockstep/gdb_client.ts";
import { buildRandomElf, generateProgram } from "./lockstep/gen.ts";
import { lockstep } from "./lockstep/lockstep.ts";
import { OFF_X } from "../core/hart_state.ts";
import {
  diffStates,
  F0,
  FCSR,
  formatStates,
  newState,
  REG_NAMES,
} from "./lockstep/state.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const ISA = `${ROOT}/tests/isa/build`;

async function tool(name: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(name, { args, stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(new TextDecoder().decode(out.stderr));
    }
    return new TextDecoder().decode(out.stdout);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `${name} is missing: run \`deno task setup\` (it installs the Debian packages the tests need)`,
      );
    }
    throw err;
  }
}

Deno.test("GDB packets: framing, escaping, run-length decoding, checksums", () => {
  equal(checksum(""), "00");
  equal(checksum("OK"), "9a");
  equal(framePacket("g"), "$g#67");
  equal(framePacket("qSupported"), "$qSupported#37");
  // The four special characters are escaped as } and the char ^ 0x20.
  equal(escapeBody("a$b#c}d*e"), "a}\x04b}\x03c}\x5dd}\x0ae");
  equal(unescapeBody(escapeBody("a$b#c}d*e")), "a$b#c}d*e");
  // The checksum covers the escaped bytes.
  const f = framePacket("X}");
  equal(f, `$X}]#${checksum("X}]")}`);
  // Run-length encoding: "0* " is "0" and 32 - 29 = 3 more.
  equal(unescapeBody("0* "), "0000");
  equal(unescapeBody('ab*"c'), "abbbbbbc");
  // Register bytes are little-endian.
  equal(hexToLe("efbeadde00000000"), 0xdeadbeefn);
  equal(hexToLe(""), 0n);
});

Deno.test("GDB client against a fake stub: acks, checksums, pipelining", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const seen: string[] = [];
  const stub = (async () => {
    const conn = await listener.accept();
    const enc = new TextEncoder(), dec = new TextDecoder();
    let buf = "";
    const buf8 = new Uint8Array(4096);
    const reply = (body: string) => conn.write(enc.encode(framePacket(body)));
    let first = true;
    for (;;) {
      const n = await conn.read(buf8);
      if (n === null) break;
      buf += dec.decode(buf8.subarray(0, n));
      for (;;) {
        const m = /\$([^#]*)#([0-9a-f]{2})/.exec(buf);
        if (!m) break;
        buf = buf.slice(m.index + m[0].length);
        equal(checksum(m[1]!), m[2], `bad checksum on ${m[1]}`);
        const body = unescapeBody(m[1]!);
        seen.push(body);
        await conn.write(enc.encode("+"));
        if (body.startsWith("qSupported")) {
          await reply("PacketSize=1000;qXfer:features:read+");
        } else if (body === "g") {
          // Run-length encoded zeros, then 0x1122 little-endian.
          const rle = "0*:" + "2211" + "0* ";
          await conn.write(enc.encode(`$${rle}#${checksum(rle)}`));
        } else if (body === "p21") {
          // A corrupted reply first: the client must ask again with "-".
          if (first) {
            first = false;
            await conn.write(enc.encode("$0100000000000000#00"));
          }
          await reply("0100000000000000");
        } else if (body === "p22") await reply("E14");
        else if (body === "k") {
          conn.close();
          return;
        } else await reply("");
      }
    }
  })();
  const c = await GdbClient.connect(port);
  equal(c.features.get("PacketSize"), "1000");
  equal(c.features.get("QStartNoAckMode"), undefined); // ack mode, as QEMU 7.2
  const g = await c.command("g");
  equal(g, "0".repeat(30) + "2211" + "0000");
  deepEqual(await c.readRegisters([0x21, 0x22]), [1n, undefined]);
  equal(await c.command("x}y"), "");
  await c.kill();
  await stub;
  listener.close();
  ok(seen.includes("x}y"), `the stub saw ${JSON.stringify(seen)}`);
});

Deno.test("state comparison names the differing registers", () => {
  const a = newState(), b = newState();
  deepEqual(diffStates(a, b), []);
  b[F0 + 10] = 0x7ff8000000000000n;
  b[FCSR] = 0x10n;
  const d = diffStates(a, b);
  deepEqual(d.map((i) => REG_NAMES[i]), ["f10/fa0", "fcsr"]);
  const table = formatStates(a, b);
  match(table, /!! f10\/fa0 +0x0000000000000000 +0x7ff8000000000000/);
  match(table, /!! fcsr +0x0000000000000000 +0x0000000000000010/);
  match(table, /\n {3}f11\/fa1 /); // equal registers are not marked
});

Deno.test("lockstep: ISA binaries match QEMU instruction by instruction", async (t) => {
  for (const name of ["rv64ui", "rv64uc", "rv64mi"]) {
    await t.step(name, async () => {
      const r = await lockstep(`${ISA}/${name}.elf`);
      equal(r.end, "exit", r.report);
      equal(r.exitCode, 0);
      ok(r.steps > 500, `only ${r.steps} steps`);
    });
  }
});

Deno.test("lockstep: a random FP-heavy program matches QEMU", async () => {
  const src = generateProgram({ seed: 4242, count: 3000 });
  equal(src, generateProgram({ seed: 4242, count: 3000 })); // reproducible
  for (const rm of ["rne", "rtz", "rdn", "rup", "rmm", "dyn"]) {
    ok(src.includes(`, ${rm}\n`), `no ${rm} in the program`);
  }
  const dir = await Deno.makeTempDir({ prefix: "deja-lockstep-test-" });
  try {
    const elf = await buildRandomElf({
      seed: 4242,
      count: 3000,
      elfPath: `${dir}/r.elf`,
    });
    const r = await lockstep(elf);
    equal(r.end, "exit", r.report);
    ok(r.steps > 2500, `only ${r.steps} steps`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockstep --blocks: a random program with hot loops matches QEMU with blocks on", async () => {
  const src = generateProgram({ seed: 4243, count: 600, loops: true });
  ok(/\n4:\n/.test(src), "no loop in the program");
  const dir = await Deno.makeTempDir({ prefix: "deja-lockstep-test-" });
  try {
    const elf = await buildRandomElf({
      seed: 4243,
      count: 600,
      loops: true,
      elfPath: `${dir}/r.elf`,
    });
    const r = await lockstep(elf, { blocks: true });
    equal(r.end, "exit", r.report);
    const b = r.blocks!;
    ok(r.steps > 10_000, `only ${r.steps} steps`);
    // Nearly everything ran in chunks, compared at each chunk's end.
    ok(b.chunkSteps > r.steps * 0.99, r.report);
    equal(b.chunkSteps + b.singleSteps, r.steps);
    ok(b.chunks > 100, r.report);
    // The loops ran as compiled blocks, in WebAssembly.
    ok(b.jsInsns + b.wasmInsns > r.steps * 0.3, r.report);
    ok(b.wasmInsns > r.steps * 0.1, r.report);
    ok(b.wasmBlocks > 0 && b.wasmPages > 0 && b.translations > 0, r.report);
    equal(b.wasmError, undefined);
    // With WebAssembly off, as JavaScript blocks: the same run.
    const js = await lockstep(elf, { blocks: true, wasm: false });
    equal(js.end, "exit", js.report);
    equal(js.steps, r.steps);
    ok(js.blocks!.jsInsns > r.steps * 0.3, js.report);
    equal(js.blocks!.wasmInsns, 0, js.report);
    match(
      r.report,
      /inside compiled blocks: \d+ instructions \(\d+ in WebAssembly/,
    );

    // A wrong state at a chunk's end is caught there.
    let tampered = 0;
    const bad = await lockstep(elf, {
      blocks: true,
      tamper: (m, steps) => {
        if (steps >= 5000 && tampered === 0) {
          tampered = steps;
          m.cpu.x[2 * 12 + 1]! ^= 0x100;
        }
      },
    });
    equal(bad.end, "mismatch", bad.report);
    equal(bad.steps, tampered);
    deepEqual(bad.mismatch!.registers, ["x12/a2"]);
    match(bad.report, /at the end of a chunk of \d+ instructions/);

    // A wrong result from compiled WebAssembly code (simulated: t6, which
    // the loops read nowhere, gets a bit flipped as a page's code returns)
    // is caught at the chunk's end and blamed on the compiled code.
    const w = WebAssembly as { Instance: typeof WebAssembly.Instance };
    const origInstance = w.Instance;
    let calls = 0;
    w.Instance = new Proxy(origInstance, {
      construct(target, args, newTarget) {
        const inst = Reflect.construct(target, args, newTarget);
        const hart = (args[1] as { m: { hart: WebAssembly.Memory } }).m.hart;
        const run = inst.exports.run as (...a: number[]) => number;
        const faulty = (...a: number[]) => {
          const res = run(...a);
          if (++calls === 200) {
            new Int32Array(hart.buffer, OFF_X, 64)[2 * 31]! ^= 0x40;
          }
          return res;
        };
        return { exports: { ...inst.exports, run: faulty } };
      },
    });
    let wrong;
    try {
      wrong = await lockstep(elf, { blocks: true });
    } finally {
      w.Instance = origInstance;
    }
    ok(calls >= 200, `only ${calls} WebAssembly calls`);
    equal(wrong.end, "mismatch", wrong.report);
    deepEqual(wrong.mismatch!.registers, ["x31/t6"]);
    match(wrong.report, /at the end of a chunk of \d+ instructions/);
    match(wrong.report, /agrees with QEMU: the compiled code is wrong/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockstep: a wrong deja state is caught and named", async () => {
  // Flip the sign of f10 in deja after step 300 of rv64uf.
  const r = await lockstep(`${ISA}/rv64uf.elf`, {
    tamper: (m, steps) => {
      if (steps === 300) m.cpu.f[2 * 10 + 1]! ^= 0x80000000 | 0;
    },
  });
  equal(r.end, "mismatch", r.report);
  equal(r.steps, 300);
  deepEqual(r.mismatch!.registers, ["f10/fa0"]);
  match(r.report, /MISMATCH at step 300, after the instruction at 0x8/);
  match(r.report, /!! f10\/fa0/);
  // The report shows the instruction that ran, disassembled.
  equal(
    r.mismatch!.text,
    `${r.mismatch!.insn!.toString(16).padStart(8, "0")}  ${
      disassemble(r.mismatch!.insn!, { pc: r.mismatch!.pc })
    }`,
  );
});

Deno.test("the disassembler agrees with objdump on the ISA binaries", async () => {
  const files = [...Deno.readDirSync(ISA)]
    .filter((e) => e.name.endsWith(".elf"))
    .map((e) => `${ISA}/${e.name}`);
  const bad: string[] = [];
  let n = 0;
  for (const f of files) {
    const out = await tool("riscv64-unknown-elf-objdump", [
      "-d",
      "-M",
      "no-aliases",
      f,
    ]);
    for (const line of out.split("\n")) {
      const m = /^\s+([0-9a-f]+):\t([0-9a-f]+)\s+\t(\S+)(?:\t(.*))?$/.exec(
        line,
      );
      if (!m) continue;
      const [, addr, hex, mnem, ops] = m;
      // Data words in the tests, the HINT c.addi zero, 0 (which is c.nop),
      // and the Zkr seed CSR are printed differently on purpose.
      if (mnem!.startsWith(".") || hex === "0001" || /seed/.test(ops ?? "")) {
        continue;
      }
      const want = `${mnem} ${ops ?? ""}`
        .replace(/\s*#.*$/, "")
        .replace(/\s*<[^>]*>/, "")
        .replace(/\b0x([0-9a-f]+)\b/g, "$1")
        .trim();
      const got = disassemble(parseInt(hex!, 16), { pc: BigInt(`0x${addr}`) })
        .replace(/, /g, ",")
        .replace(/\b0x([0-9a-f]+)\b/g, "$1");
      n++;
      if (got !== want) bad.push(`${hex}: objdump "${want}", deja "${got}"`);
    }
  }
  ok(n > 20_000, `only ${n} instructions compared`);
  deepEqual(bad.slice(0, 20), []);
});
