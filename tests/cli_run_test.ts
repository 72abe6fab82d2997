// End-to-end tests of the `deja` command (mod.ts) as a user runs it: a real
// `deno run` subprocess with narrow permission flags and piped stdin.

import { equal, match, ok } from "node:assert/strict";
import { deja, DEMO, ROOT } from "./_deja.ts";

const UART = `${ROOT}/tests/guest/build/uart.elf`;

Deno.test("deja runs a guest with scripted stdin and exits with its status", async () => {
  const r = await deja(
    [`--allow-read=${ROOT}`],
    ["-nographic", "-bios", "none", "-kernel", DEMO],
    "hello\nquit\n",
  );
  equal(r.code, 0, r.stderr);
  match(r.stdout, /reversed: olleh/);
  match(r.stdout, /crc32: 0x3610a686/);
  match(r.stdout, /goodbye/);
});

Deno.test("deja exits with the failure code a guest reports", async () => {
  // Without its "hello" input, the uart test fails after 2 s of guest time.
  const r = await deja(
    [`--allow-read=${ROOT}`],
    [
      "-nographic",
      "-bios",
      "none",
      "-kernel",
      UART,
      "-icount",
      "shift=3,sleep=off",
    ],
  );
  equal(r.code, 1, r.stdout + r.stderr);
  match(r.stdout, /FAIL uart/);
});

Deno.test("deja names the exact flag for a missing permission", async () => {
  const r = await deja(
    [`--allow-read=${DEMO}`],
    ["-nographic", "-bios", "none", "-kernel", DEMO],
  );
  equal(r.code, 1);
  match(
    r.stderr,
    new RegExp(
      `Missing permission: read access to ${ROOT}.*add --allow-read=${ROOT}`,
    ),
  );
  ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
});

Deno.test("deja rejects an unknown option with status 2", async () => {
  const r = await deja([], ["-frobnicate"]);
  equal(r.code, 2);
  match(r.stderr, /Unknown option: -frobnicate/);
  ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
});

Deno.test("deja reports a missing image file clearly", async () => {
  const r = await deja(
    ["--allow-read"],
    ["-nographic", "-bios", "none", "-kernel", "/nonexistent/kernel.elf"],
  );
  equal(r.code, 1);
  match(r.stderr, /\/nonexistent\/kernel\.elf/);
  ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
});

Deno.test("deja rejects a malformed ELF with a clear error", async () => {
  const bad = await Deno.makeTempFile({ suffix: ".elf" });
  await Deno.writeFile(bad, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]));
  try {
    const r = await deja(
      [`--allow-read=${ROOT},${bad}`],
      ["-nographic", "-bios", "none", "-kernel", bad],
    );
    equal(r.code, 1);
    match(r.stderr, /Cannot load kernel: truncated ELF header/);
    ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
  } finally {
    await Deno.remove(bad);
  }
});

Deno.test("deja writes the console to -serial file:PATH", async () => {
  const log = await Deno.makeTempFile({ suffix: ".log" });
  try {
    const r = await deja(
      [`--allow-read=${ROOT}`, `--allow-write=${log}`],
      [
        "-display",
        "none",
        "-bios",
        "none",
        "-kernel",
        UART,
        "-serial",
        `file:${log}`,
      ],
    );
    equal(r.code, 1); // no input: the uart test fails, but it printed
    match(await Deno.readTextFile(log), /# uart: deja guest test/);
  } finally {
    await Deno.remove(log);
  }
});
