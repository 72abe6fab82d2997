// The committed guest binaries rebuild to the same bytes from their sources
// with Debian's riscv64-unknown-elf-gcc (tests/setup.ts installs it).

import { equal } from "node:assert/strict";

const DIRS = [
  "tests/guest",
  "tests/guest/fpu_vectors",
  "tests/isa",
  "bench/guest",
  "examples/guest",
];

Deno.test("guest binaries rebuild to the committed bytes", async (t) => {
  for (const dir of DIRS) {
    await t.step(dir, async () => {
      const root = new URL(`../${dir}/`, import.meta.url);
      const out = await new Deno.Command("make", {
        args: ["-s", "-C", root.pathname, "check-reproducible"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) +
        new TextDecoder().decode(out.stderr);
      equal(out.code, 0, `make check-reproducible in ${dir} failed:\n${text}`);
    });
  }
});
