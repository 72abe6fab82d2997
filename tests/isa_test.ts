// deja's ISA tests (tests/isa/*.S, built into tests/isa/build/*.elf): every
// binary must pass on the virt board in-process, HTIF must end runs with
// the guest's code, and the `deja` command must exit with that code.
// `make -C tests/isa qemu-check` checks the same binaries on QEMU.

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Bus } from "../core/bus.ts";
import { Htif, HTIF_ERROR_CODE } from "../devices/htif.ts";
import { VirtMachine } from "../devices/virt.ts";
import { dejaCommand, ROOT } from "./_deja.ts";

const BUILD = `${ROOT}/tests/isa/build`;

/** The per-extension tests; each exits with 0, or the failing case number. */
const TESTS = [
  "rv64ui", // RV64I: overflow, signed shifts, *W sign extension, misaligned
  "rv64um", // M: division by zero, MIN / -1, *W forms
  "rv64ua", // A: every AMO, LR/SC, misaligned AMO/LR/SC
  "rv64uc", // C: every compressed instruction, reserved/illegal encodings
  "rv64uf", // F: rounding modes, flags, NaN boxing, fcvt saturation, FS
  "rv64ud", // D: the same for doubles
  "zicsr", // CSR instructions and counters
  "rv64mi", // M-mode: CSRs, traps, interrupts, mret, TW/TSR
  "rv64si", // S-mode: Sv39 translation and page faults, sret, delegation
];

interface Run {
  code: number | undefined;
  icount: number;
  output: string;
  machine: VirtMachine;
}

function run(name: string, maxInsns = 50_000_000): Run {
  const chunks: Uint8Array[] = [];
  const m = new VirtMachine({
    bios: "none",
    kernel: Deno.readFileSync(`${BUILD}/${name}.elf`),
    memoryBytes: 16 << 20,
    output: (b) => chunks.push(b.slice()),
  });
  const r = m.run(maxInsns);
  const output = new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
  const code = r.kind === "exit" && r.status.kind === "poweroff"
    ? r.status.code
    : undefined;
  return { code, icount: m.cpu.icount, output, machine: m };
}

Deno.test("ISA test binaries pass in deja", async (t) => {
  for (const name of TESTS) {
    await t.step(name, () => {
      const r = run(name);
      equal(
        r.code,
        0,
        r.code === undefined
          ? `${name} did not finish`
          : `${name} failed case ${r.code} (see tests/isa/${name}.S)`,
      );
      ok(r.machine.htif !== undefined, `${name} should have HTIF (tohost)`);
    });
  }
});

Deno.test("HTIF: write to stdout, console putchar, and exit", () => {
  const r = run("htif");
  equal(r.code, 0, r.output);
  equal(r.output, "hello from HTIF\nok\n");
  // Without HTIF the program would spin 100,000 more instructions after
  // its exit request before powering off through sifive_test.
  ok(r.icount < 100_000, `ran ${r.icount} instructions: HTIF exit missed`);
});

Deno.test("HTIF: tohost = (code << 1) | 1 ends the run with code", () => {
  const r = run("htif_exit");
  equal(r.code, 42);
  ok(r.icount < 50_000, `ran ${r.icount} instructions: HTIF exit missed`);
  const tohost = r.machine.htif!.tohost;
  // The host clears tohost after taking the request.
  const w = new Int32Array(2);
  r.machine.bus.read64(tohost, w);
  deepEqual([...w], [0, 0]);
});

Deno.test("HTIF: an unsupported request ends the run with 255 and says why", () => {
  const bus = new Bus(1 << 20, { ramBase: 0x8000_0000 });
  const htif = new Htif({ bus, tohost: 0x8000_1000, fromhost: 0x8000_1040 });
  // Device 7 does not exist.
  bus.write64(0x8000_1000, 0, 7 << 24);
  deepEqual(htif.poll(), { kind: "exit", code: HTIF_ERROR_CODE });
  equal(HTIF_ERROR_CODE, 255);
  match(htif.error ?? "", /device 7 command 0 is not supported/);
  // A system call other than write(1, ...) is refused too.
  bus.write64(0x8000_2000, 93, 0); // exit
  bus.write64(0x8000_1000, 0x8000_2000, 0);
  deepEqual(htif.poll(), { kind: "exit", code: 255 });
  match(htif.error ?? "", /system call 93/);
});

async function deja(kernel: string): Promise<Deno.CommandOutput> {
  return await dejaCommand(
    [`--allow-read=${ROOT}`],
    [
      "-M",
      "virt",
      "-bios",
      "none",
      "-kernel",
      `${BUILD}/${kernel}.elf`,
      "-nographic",
    ],
    "null",
  ).output();
}

Deno.test("the deja command exits with the HTIF exit code", async () => {
  const out = await deja("htif_exit");
  equal(out.code, 42, new TextDecoder().decode(out.stderr));
});

Deno.test("the deja command runs an ISA test and HTIF output", async () => {
  const ui = await deja("rv64ui");
  equal(ui.code, 0, new TextDecoder().decode(ui.stderr));
  const h = await deja("htif");
  equal(h.code, 0, new TextDecoder().decode(h.stderr));
  match(new TextDecoder().decode(h.stdout), /hello from HTIF\r?\nok/);
});

Deno.test("the ISA test binaries pass on QEMU too (make qemu-check)", async () => {
  // So that the tests themselves are right: QEMU's virt board ignores
  // tohost and ends each run through sifive_test with the same code.
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("make", {
      args: ["-s", "-C", `${ROOT}/tests/isa`, "qemu-check"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new Error(
      "make is missing: run `deno task setup` (it installs the Debian packages the tests need)",
      { cause: err },
    );
  }
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  equal(out.code, 0, text);
  match(text, /rv64si +rc=0 \(want 0\)/);
  match(text, /htif_exit +rc=42 \(want 42\)/);
});
