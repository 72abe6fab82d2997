// The interpreter warm-up (core/warmup.ts): its program reaches every case of
// the generated loop that a guest can reach, except the privileged ops that
// leave the straight line (mret, sret, wfi, sfence.vma), which every guest
// runs at once.

import { deepEqual, ok } from "node:assert/strict";
import { warmUpProgram } from "../core/warmup.ts";
import { decode16, decode32, OP, OPS } from "../core/isa/mod.ts";

Deno.test("the warm-up program decodes to every op of the loop but the privileged jumps", () => {
  const seen = new Set<number>();
  const out = new Int32Array(2);
  for (const w of warmUpProgram()) {
    if ((w & 3) === 3) decode32(w | 0, out);
    else decode16(w & 0xffff, out);
    seen.add(out[0]! & 0xff);
  }
  // The loop's own ops come from its running, not from decoding.
  const internal = ["UNDECODED", "PAGE_END", "CROSS", "BLOCK"];
  const privileged = ["MRET", "SRET", "WFI", "SFENCE_VMA"];
  const missing = OPS.filter((o) =>
    !seen.has(o.code) && !internal.includes(o.name) &&
    !privileged.includes(o.name)
  ).map((o) => o.name);
  deepEqual(missing, []);
  ok(seen.has(OP.ILLEGAL!), "reserved encodings (the illegal path) too");
});
