// The block compiler and the WebAssembly translator change speed, never
// results: every guest runs to the same instruction count, output and state
// hash with blocks off, with JavaScript blocks only, and with hot pages
// translated to WebAssembly.

import { equal, ok } from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import type { VirtMachineOptions } from "../devices/virt.ts";
import { readFirmware } from "./_console.ts";

async function runOnce(
  options: VirtMachineOptions,
  mode: "off" | "js" | "wasm",
  maxInsns: number,
  input?: string,
) {
  let output = "";
  const dec = new TextDecoder();
  const m = new VirtMachine({
    ...options,
    hostClock: () => 1_700_000_000_000_000_000n,
    output: (b) => (output += dec.decode(b, { stream: true })),
  });
  m.cpu.blocks = mode !== "off";
  m.cpu.wasm = mode === "wasm";
  if (input) m.sendInput(new TextEncoder().encode(input));
  while (m.cpu.icount < maxInsns) {
    const r = m.run(Math.min(1_000_000, maxInsns - m.cpu.icount), {
      warpIdle: true,
    });
    if (r.kind === "exit" || r.kind === "idle") break;
  }
  equal(m.cpu.wasmError, undefined, "WebAssembly translation failed");
  return { icount: m.cpu.icount, output, hash: await m.stateHash(), m };
}

async function same(
  options: VirtMachineOptions,
  maxInsns: number,
  input?: string,
) {
  const a = await runOnce(options, "off", maxInsns, input);
  const check = async (mode: "js" | "wasm") => {
    const b = await runOnce(options, mode, maxInsns, input);
    equal(b.icount, a.icount, `instruction count (${mode})`);
    equal(b.output, a.output, `serial output (${mode})`);
    equal(b.hash, a.hash, `state hash (${mode})`);
    return { ...b, stats: b.m.cpu.blockStats() };
  };
  equal((await check("js")).stats.wasm, 0, "WebAssembly off, yet used");
  return await check("wasm");
}

// smc.S: a hot loop (compiled into a block) whose first instruction the
// program then rewrites, from `addi a0, a0, 1` to `addi a0, a0, 2`, followed
// by fence.i and 100 more iterations; then it powers off. a0 must be 300.
const SMC = new Uint8Array([
  0x13,
  0x04,
  0x00,
  0x00,
  0x13,
  0x05,
  0x00,
  0x00,
  0x93,
  0x05,
  0x00,
  0x00,
  0x13,
  0x06,
  0x00,
  0x00,
  0x93,
  0x02,
  0x00,
  0x00,
  0x13,
  0x03,
  0x40,
  0x06,
  0x13,
  0x05,
  0x15,
  0x00,
  0x93,
  0x85,
  0x35,
  0x00,
  0x33,
  0x46,
  0xb6,
  0x00,
  0x93,
  0x96,
  0x25,
  0x00,
  0x93,
  0x82,
  0x12,
  0x00,
  0xe3,
  0x96,
  0x62,
  0xfe,
  0x63,
  0x12,
  0x04,
  0x02,
  0x13,
  0x04,
  0x10,
  0x00,
  0x97,
  0x03,
  0x00,
  0x00,
  0x93,
  0x83,
  0x03,
  0xfe,
  0x37,
  0x0e,
  0x25,
  0x00,
  0x1b,
  0x0e,
  0x3e,
  0x51,
  0x23,
  0xa0,
  0xc3,
  0x01,
  0x0f,
  0x10,
  0x00,
  0x00,
  0x6f,
  0xf0,
  0x1f,
  0xfc,
  0xb7,
  0x02,
  0x10,
  0x00,
  0x37,
  0x53,
  0x00,
  0x00,
  0x1b,
  0x03,
  0x53,
  0x55,
  0x23,
  0xa0,
  0x62,
  0x00,
  0x6f,
  0x00,
  0x00,
  0x00,
]);

Deno.test("Cpu block compiler sees code that the guest rewrites", async () => {
  const r = await same(
    { bios: "none", kernel: SMC, memoryBytes: 1 << 20 },
    1e6,
  );
  equal(r.m.cpu.getX(10), 300n);
  // The loop ran as WebAssembly before and after it was rewritten.
  ok(r.stats.translations >= 2, JSON.stringify(r.stats));
});

/** Bytes from hex digits. */
function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

// A translated store that rewrites code: a loop, translated to WebAssembly,
// stores to data on its own code's page every iteration (and stays in
// WebAssembly), and once, when t1 is 1000, over its own next instruction
// (`addi a0, a0, 1` becomes `addi a0, a0, 2`), which must run rewritten at
// once. a0 ends as 1000 * 1 + 1000 * 2.
//   li a0, 0 ; li t1, 2000 ; li t3, 1000
//   la a2, data ; la s0, patch ; sub s0, s0, a2 ; lw t5, 0(a2)
// loop:
//   sub t2, t1, t3 ; seqz t2, t2 ; mul t2, t2, s0 ; add t2, t2, a2
//   sw t5, 0(t2)             to data; once over `patch`
// patch:
//   addi a0, a0, 1
//   sw t1, 4(a2)             data on the code's page
//   addi t1, t1, -1 ; bnez t1, loop
//   (power off through sifive_test) ; j . ; nop
// data:
//   addi a0, a0, 2 ; .word 0
const SMC_STORE = fromHex(
  "130500001303007d130e803e170600001306460517040000130444023304c440" +
    "032f0600b303c34193b31300b3838302b383c30023a0e3011305150023226600" +
    "1303f3ffe31003feb7021000375300001b03535523a062006f00000013000000" +
    "1305250000000000",
);

Deno.test("a store in WebAssembly that rewrites the code it runs takes effect at the next instruction", async () => {
  const r = await same(
    { bios: "none", kernel: SMC_STORE, memoryBytes: 1 << 20 },
    1e6,
  );
  equal(r.m.cpu.getX(10), 3000n);
  // Translated before the rewrite, and again after it.
  ok(r.stats.translations >= 2, JSON.stringify(r.stats));
});

// The M extension in a hot loop, translated: div, divu, rem, remu, their W
// forms, mulh, mulhsu, mulhu, mul and mulw over every pair of 0, 1, -1,
// INT64_MIN, INT64_MAX, 7, -7 and 0xffffffff80000000 (division by zero and
// INT64_MIN / -1 included), folded into s5 (320 iterations):
//   li s0, 320 ; li s7, 0 ; la s1, vals ; li s5, 0
// loop:
//   a0 = vals[s7 & 7] ; a1 = vals[(s7 >> 3) & 7]
//   div a2 ; divu a3 ; rem a4 ; remu a5 ; divw a6 ; divuw a7 ; remw t3
//   remuw t4 ; mulh t5 ; mulhsu t6 ; mulhu s2 ; mul s3 ; mulw s4
//   s5 = fold of them all (xor, add, rotate by 7)
//   addi s7, s7, 1 ; addi s0, s0, -1 ; bnez s0, loop
//   (power off through sifive_test) ; j .
// vals: .dword 0, 1, -1, INT64_MIN, INT64_MAX, 7, -7, 0xffffffff80000000
const MULDIV = fromHex(
  "13040014930b0000970400009384840c930a000093f27b0093923200b3829200" +
    "03b5020013d33b00137373001313330033039300833503003346b502b356b502" +
    "3367b502b377b5023b48b502bb58b5023b6eb502bb7eb502331fb502b32fb502" +
    "3339b502b309b5023b0ab502b3caca00139b7a0093da9a03b3ea6a01b38ada00" +
    "b3caea00b38afa00b3ca0a01b38a1a01b3caca01b38ada01b3caea01b38afa01" +
    "b3ca2a01b38a3a01b3ca4a01938b1b001304f4ffe31004f6b702100037530000" +
    "1b03535523a062006f0000001300000000000000000000000100000000000000" +
    "ffffffffffffffff0000000000000080ffffffffffffff7f0700000000000000" +
    "f9ffffffffffffff00000080ffffffff",
);

Deno.test("multiply and divide, edge values included, give the same results translated", async () => {
  const r = await same(
    { bios: "none", kernel: MULDIV, memoryBytes: 1 << 20 },
    1e6,
  );
  ok(r.stats.wasm > 0, JSON.stringify(r.stats));
  equal(r.m.cpu.getX(23), 320n); // every iteration ran
});

Deno.test("Cpu gives identical results with and without blocks", async (t) => {
  const dir = new URL("./guest/build/", import.meta.url);
  const names = [...Deno.readDirSync(dir)]
    .filter((e) => e.name.endsWith(".elf"))
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    await t.step(name, async () => {
      const r = await same(
        {
          bios: "none",
          kernel: Deno.readFileSync(new URL(name, dir)),
          memoryBytes: 32 << 20,
        },
        3e8,
        name === "uart.elf" ? "hello\n" : undefined,
      );
      ok(r.stats.translations > 0, JSON.stringify(r.stats));
    });
  }
  const isa = new URL("./isa/build/", import.meta.url);
  for (
    const e of [...Deno.readDirSync(isa)].sort((p, q) =>
      p.name < q.name ? -1 : 1
    )
  ) {
    if (!e.name.endsWith(".elf")) continue;
    await t.step(`ISA test ${e.name}`, async () => {
      await same({
        bios: "none",
        kernel: Deno.readFileSync(new URL(e.name, isa)),
        memoryBytes: 16 << 20,
      }, 5e7);
    });
  }
  await t.step("bench (first 50M instructions)", async () => {
    const r = await same({
      bios: "none",
      kernel: Deno.readFileSync(
        new URL("../bench/guest/bench.elf", import.meta.url),
      ),
      memoryBytes: 32 << 20,
    }, 5e7);
    // Its hot loops all run as WebAssembly.
    ok(r.stats.wasm > 50, JSON.stringify(r.stats));
  });
  await t.step("OpenSBI and U-Boot to the prompt", async () => {
    const r = await same({
      bios: readFirmware(
        "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf",
        "opensbi",
      ),
      kernel: readFirmware(
        "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin",
        "u-boot-qemu",
      ),
    }, 3e8);
    ok(r.output.includes("=> "), "no U-Boot prompt");
    ok(r.stats.wasm > 100, JSON.stringify(r.stats));
  });
});
