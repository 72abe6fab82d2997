// Runs every guest test program under tests/guest/build/ on the virt board
// with -bios none, the way QEMU runs them: each prints TAP-like lines and a
// final "PASS name", then powers off through sifive_test.

import { deepEqual, match, ok } from "node:assert/strict";
import { Console } from "./_console.ts";

const DIR = new URL("./guest/build/", import.meta.url);

/** Serial input that some programs expect, as the README there says. */
const INPUT: Record<string, string> = { uart: "hello\n" };

function programs(): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    if (e.isFile && e.name.endsWith(".elf")) names.push(e.name.slice(0, -4));
  }
  return names.sort();
}

Deno.test("guest test programs pass on the virt board", async (t) => {
  const names = programs();
  ok(names.length >= 9, `expected the guest programs, found ${names}`);
  for (const name of names) {
    await t.step(name, () => {
      const con = new Console({
        bios: "none",
        kernel: Deno.readFileSync(new URL(`${name}.elf`, DIR)),
      });
      const input = INPUT[name];
      if (input) con.send(input);
      const r = con.runToExit(3e9);
      const failed = con.text.split("\n").filter((l) => l.startsWith("not ok"));
      deepEqual(failed, [], `${name} failed:\n${con.text}`);
      match(con.text, new RegExp(`PASS ${name}`));
      deepEqual(
        r.kind === "exit" ? r.status : r,
        { kind: "poweroff", code: 0 },
        con.text,
      );
    });
  }
});
