/**
 * `deno task bench`: CPU speed on the bench guest (bench/guest/bench.elf,
 * about 665 million instructions of mixed integer, memory and branch work),
 * in MIPS, and the ratio to QEMU running the same ELF with
 * `-M virt -bios none -icount shift=0` when qemu-system-riscv64 is installed.
 *
 * Options: `--runs N` (default 3; the best run counts), `--elf PATH`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { VirtMachine } from "../devices/virt.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    elf: {
      type: "string",
      default: new URL("./guest/bench.elf", import.meta.url).pathname,
    },
  },
});
const runs = Number(values.runs);
const elfPath = values.elf!;
const elf = Deno.readFileSync(elfPath);

interface Result {
  insns: number;
  seconds: number;
  output: string;
}

function runDeja(): Result {
  let output = "";
  const dec = new TextDecoder();
  const m = new VirtMachine({
    bios: "none",
    kernel: elf,
    output: (b) => (output += dec.decode(b)),
  });
  const t0 = performance.now();
  for (;;) {
    const r = m.run(50_000_000, { warpIdle: true });
    if (r.kind === "exit" || r.kind === "idle") break;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { insns: m.cpu.icount, seconds, output };
}

async function runQemu(): Promise<Result | string> {
  const t0 = performance.now();
  let out;
  try {
    out = await new Deno.Command("qemu-system-riscv64", {
      args: [
        "-M",
        "virt",
        "-bios",
        "none",
        "-nographic",
        "-icount",
        "shift=0",
        "-kernel",
        elfPath,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
  } catch {
    return "qemu-system-riscv64 is not installed (apt-get install qemu-system-misc)";
  }
  const seconds = (performance.now() - t0) / 1000;
  const output = new TextDecoder().decode(out.stdout);
  const m = output.match(/instret (\d+)/);
  if (!m) return `QEMU printed no instret line: ${output.slice(0, 200)}`;
  return { insns: Number(m[1]), seconds, output };
}

function checksum(output: string): string {
  return output.match(/bench checksum (0x[0-9a-f]+)/)?.[1] ?? "(none)";
}

console.log(`bench guest: ${elfPath}`);
let best: Result | undefined;
for (let i = 0; i < runs; i++) {
  const r = runDeja();
  const mips = r.insns / r.seconds / 1e6;
  console.log(
    `deja run ${i + 1}: ${r.insns} instructions in ${
      r.seconds.toFixed(2)
    } s = ${mips.toFixed(1)} MIPS, checksum ${checksum(r.output)}`,
  );
  if (!best || r.seconds < best.seconds) best = r;
}
const dejaMips = best!.insns / best!.seconds / 1e6;
console.log(`deja: ${dejaMips.toFixed(1)} MIPS (best of ${runs})`);

const q = await runQemu();
if (typeof q === "string") {
  console.log(`qemu: skipped: ${q}`);
} else {
  const qemuMips = q.insns / q.seconds / 1e6;
  console.log(
    `qemu: ${q.insns} instructions in ${q.seconds.toFixed(2)} s = ${
      qemuMips.toFixed(1)
    } MIPS (-icount shift=0), checksum ${checksum(q.output)}`,
  );
  if (checksum(q.output) !== checksum(best!.output)) {
    console.log("WARNING: deja and QEMU computed different checksums");
  }
  console.log(
    `ratio deja/qemu: ${(dejaMips / qemuMips).toFixed(3)} (speed), ${
      (best!.seconds / q.seconds).toFixed(2)
    }x the wall time`,
  );
}
