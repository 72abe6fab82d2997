// The instruction table (core/isa/): its op numbers agree with the
// interpreter's hand-written cases, every definition is reachable, and
// what the table derives (decode, disassembly, memory accesses, control
// flow, table-only ops in the interpreter and in blocks) works.

import { deepEqual, equal, ok } from "node:assert/strict";
import { Bus } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import { Cpu } from "../core/cpu.ts";
import { disassemble } from "../core/disasm.ts";
import { RUN_SOURCE } from "../core/interp.ts";
import {
  CINSNS,
  decode16,
  decode32,
  EXTRA_OPS,
  findCInsn,
  findInsn,
  FIRST_EXTRA_OP,
  INSNS,
  isControl,
  memAccess,
  OP,
  OP_NAMES,
  OPS,
} from "../core/isa/mod.ts";

Deno.test({
  name: "The interpreter loop has one case per table op, in number order",
  permissions: "none",
  fn: () => {
    // The generated `switch`: every `case N: // NAME`.
    const cases = [...RUN_SOURCE.matchAll(/case (\d+): \/\/ ([A-Z_0-9]+)/g)]
      .map((m) => [Number(m[1]), m[2]!] as const);
    equal(cases.length, OPS.length);
    for (const [n, name] of cases) equal(OP[name], n, `case ${n} is ${name}`);
    deepEqual(
      cases.map(([n]) => n),
      OPS.map((o) => o.code).sort((a, b) => a - b),
    );
    // Op numbers are dense from 0, so the switch is a jump table.
    deepEqual(cases.map(([n]) => n), cases.map((_, k) => k));
    equal(OP_NAMES[OP.ADDI!], "ADDI");
    ok(EXTRA_OPS.every((o) => o.code >= FIRST_EXTRA_OP));
  },
});

Deno.test({
  name: "ISA table definitions are each reachable by their own encoding",
  permissions: "none",
  fn: () => {
    const out = new Int32Array(2);
    // The free bits filled with a few patterns: some encoding finds it.
    const fills = [0, -1, 0x55555555, 0xaaaaaaaa | 0, 0x00ff00ff, 0x0f0f0f0f];
    for (const d of INSNS) {
      const hit = fills.map((p) => d.match | (p & ~d.mask))
        .find((i) => findInsn(i) === d);
      ok(hit !== undefined, `${d.name} is shadowed by an earlier definition`);
      decode32(hit, out);
      ok((out[0]! & 0xff) !== OP.ILLEGAL, `${d.name} decodes as illegal`);
    }
    for (const d of CINSNS) {
      const hit = fills.map((p) => (d.match | (p & ~d.mask)) & 0xffff)
        .find((i) => findCInsn(i) === d);
      ok(hit !== undefined, `${d.name} is shadowed by an earlier definition`);
    }
    // A few decodes, including compressed forms that share 32-bit ops.
    decode32(0x00a00513, out); // li a0, 10
    equal(out[0]! & 0xff, OP.LI);
    equal(out[1], 10);
    decode16(0x4529, out); // c.li a0, 10
    equal(out[0]! & 0xff, OP.LI);
    equal(out[1], 10);
    decode32(0x00000013, out); // nop (addi x0, x0, 0)
    equal(out[0]! & 0xff, OP.NOP);
    decode32(0xffffffff | 0, out);
    equal(out[0]! & 0xff, OP.ILLEGAL);
  },
});

Deno.test({
  name: "ISA table derives disassembly, memory accesses and block ends",
  permissions: "none",
  fn: () => {
    equal(disassemble(0x00b50533), "add a0, a0, a1");
    equal(disassemble(0x20b52533), "sh1add a0, a0, a1");
    equal(disassemble(0x20b54633), "sh2add a2, a0, a1");
    equal(disassemble(0x0ff0000f), "fence iorw, iorw");
    equal(disassemble(0x8330000f | 0), "fence.tso");
    equal(disassemble(0x1005a52f), "lr.w a0, (a1)");
    equal(disassemble(0x0ec5a52f), "amoswap.w.aqrl a0, a2, (a1)");
    equal(disassemble(0x0001), "c.nop");
    equal(disassemble(0x0000), "illegal");
    const ld = memAccess(0xff843503 | 0)!; // ld a0, -8(s0)
    deepEqual([ld.size, ld.load, ld.rs1, ld.imm, ld.rd], [8, true, 8, -8, 10]);
    const sw = memAccess(0xc04c)!; // c.sw a1, 4(s0)... rs1' = s0
    ok(sw.store && sw.size === 4 && sw.rs2 === 11 && sw.imm === 4);
    const amo = memAccess(0x00c5b52f)!; // amoadd.d a0, a2, (a1)
    ok(amo.load && amo.store && amo.imm === 0 && amo.rs1 === 11);
    equal(memAccess(0x00b50533), undefined);
    ok(isControl(0x00008067)); // ret
    ok(isControl(0x8082)); // c.jr ra
    ok(!isControl(0x2505)); // c.addiw a0, 1
    ok(isControl(0x30200073)); // mret
    ok(!isControl(0x00b50533));
    ok(EXTRA_OPS.some((o) => o.name === "SH1ADD"));
  },
});

/** Run `words` (32-bit instructions) from RAM, with or without blocks. */
function runWords(words: number[], n: number, blocks: boolean): Cpu {
  const bus = new Bus(1 << 16);
  const clock = new VirtualClock(() => 0);
  const cpu = new Cpu({ bus, clock });
  clock.setIcountSource(() => cpu.icount);
  cpu.blocks = blocks;
  const bytes = new Uint8Array(words.length * 4);
  const v = new DataView(bytes.buffer);
  words.forEach((w, k) => v.setUint32(k * 4, w >>> 0, true));
  bus.load(0x8000_0000, bytes);
  cpu.reset(0x8000_0000);
  cpu.run(n);
  return cpu;
}

Deno.test({
  name: "sh2add, added in core/isa/zba.ts alone, runs like sh1add",
  permissions: "none",
  fn: () => {
    const prog = [
      0xffd00513, // li a0, -3
      0x00700593, // li a1, 7
      0x20b54633, // sh2add a2, a0, a1
      0x10500073, // wfi
    ];
    const cpu = runWords(prog, 10, false);
    equal(cpu.getX(12), BigInt.asUintN(64, -3n * 4n + 7n));
    equal(cpu.icount, 4);
  },
});

Deno.test({
  name: "A table-only op (sh1add) runs in the interpreter and in blocks",
  permissions: "none",
  fn: () => {
    // a0 = 0x7fffffff_80000001 built with shifts, a1 = 5; a loop that
    // runs sh1add often enough to be compiled into a block.
    const prog = [
      0x00100513, // li a0, 1
      0x01f51513, // slli a0, a0, 31     -> 0x80000000
      0x00150513, // addi a0, a0, 1      -> 0x80000001
      0x00500593, // li a1, 5
      0x06400613, // li a2, 100
      0x20b526b3, // loop: sh1add a3, a0, a1
      0x00d70733, // add a4, a4, a3
      0xfff60613, // addi a2, a2, -1
      0xfe061ae3, // bnez a2, loop  (-12)
      0x10500073, // wfi
    ];
    const expect = (BigInt(0x80000001) * 2n + 5n) * 100n;
    for (const blocks of [false, true]) {
      const cpu = runWords(prog, 10_000, blocks);
      equal(cpu.getX(13), BigInt(0x80000001) * 2n + 5n, `blocks=${blocks}`);
      equal(cpu.getX(14), BigInt.asUintN(64, expect), `blocks=${blocks}`);
      equal(cpu.icount, 5 + 4 * 100 + 1);
    }
  },
});
