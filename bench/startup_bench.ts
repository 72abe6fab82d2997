/**
 * The startup section of `deno task bench`: time to the first guest
 * instruction, as the whole-process wall time of a guest that powers off at
 * its first store (`deno run --allow-read=DIR,. mod.ts -M virt -bios none
 * -kernel poweroff.bin -nographic`), against `qemu-system-riscv64` with the
 * same options, and against `deno run` of an empty module (what Deno itself
 * costs). Best of 5 each, interleaved.
 *
 * Run alone: `deno run -A bench/startup_bench.ts`.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

// lui t0, 0x100 ; lui t1, 0x5 ; addiw t1, t1, 0x555 ; sw t1, 0(t0):
// sifive_test power-off, the guest's fourth instruction.
const POWEROFF = [0x001002b7, 0x00005337, 0x5553031b, 0x0062a023];

/** Wall seconds of `cmd args` to its exit, or why it failed. */
async function wall(cmd: string, args: string[]): Promise<number | string> {
  const t0 = performance.now();
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!out.success) {
      return `exit ${out.code}: ${
        new TextDecoder().decode(out.stderr).trim().slice(0, 200)
      }`;
    }
  } catch (e) {
    return (e as Error).message;
  }
  return (performance.now() - t0) / 1000;
}

/** Print the section. */
export async function startupBench(): Promise<void> {
  console.log("\n== startup ==");
  const dir = await Deno.makeTempDir({ prefix: "deja-startup-" });
  try {
    const bin = `${dir}/poweroff.bin`;
    const b = new Uint8Array(POWEROFF.length * 4);
    const v = new DataView(b.buffer);
    POWEROFF.forEach((w, i) => v.setUint32(i * 4, w, true));
    await Deno.writeFile(bin, b);
    const empty = `${dir}/empty.ts`;
    await Deno.writeTextFile(empty, "");
    const guest = ["-M", "virt", "-bios", "none", "-kernel", bin, "-nographic"];
    const runs: [string, string, string[]][] = [
      ["deno run of an empty module (Deno alone)", Deno.execPath(), [
        "run",
        empty,
      ]],
      ["deja: start, 4 guest instructions, power-off", Deno.execPath(), [
        "run",
        `--allow-read=${dir},${ROOT}`,
        `${ROOT}/mod.ts`,
        ...guest,
      ]],
      ["QEMU: the same", "qemu-system-riscv64", guest],
    ];
    const best: (number | string)[] = runs.map(() => Infinity);
    for (let i = 0; i < 5; i++) {
      for (const [k, [, cmd, args]] of runs.entries()) {
        const s = await wall(cmd, args);
        const b = best[k]!;
        if (typeof s === "string") best[k] = s;
        else if (typeof b === "number") best[k] = Math.min(b, s);
      }
    }
    for (const [k, [name]] of runs.entries()) {
      const s = best[k]!;
      console.log(
        `${name}: ${
          typeof s === "number" ? `${(s * 1000).toFixed(0)} ms` : s
        } (best of 5, whole process)`,
      );
    }
    const [d, , q] = best;
    const deja = best[1];
    if (typeof deja === "number" && typeof q === "number") {
      console.log(
        `ratio deja/QEMU (wall): ${
          (deja / q).toFixed(2)
        }x; deja over an empty deno run: ${
          typeof d === "number" ? `${((deja - d) * 1000).toFixed(0)} ms` : "?"
        }`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await startupBench();
