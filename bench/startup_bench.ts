/**
 * The startup section of `deno task bench`: time to the first guest
 * instruction, as the whole-process wall time of a guest that powers off at
 * its first store (`deno run --allow-read=DIR,. mod.ts -M virt -bios none
 * -kernel poweroff.bin -nographic`), against `qemu-system-riscv64` with the
 * same options, and against `deno run` of an empty module (what Deno itself
 * costs). Median of 5 each, interleaved.
 *
 * Then OpenSBI (fw_jump) + S-mode U-Boot to its prompt, a key to stop the
 * autoboot, and `poweroff`, typed through a pipe when the prompt shows:
 * whole-process wall time of deja and QEMU, plain, `-icount
 * shift=5,rr=record` and `rr=replay` (median of 3 each, interleaved).
 *
 * And the bench guest as a user runs it: whole-process wall time of `deja`
 * and QEMU, `-bios none -kernel bench.elf -icount shift=0`, plain,
 * `rr=record` and `rr=replay` (median of 3 each, interleaved).
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

/**
 * Run each row `n` times, interleaved (so that machine noise and warm-up hit
 * all rows alike), and give each row's median, or why it failed (a row that
 * fails once is not run again).
 */
async function medians<R>(
  rows: readonly R[],
  n: number,
  once: (row: R) => Promise<number | string>,
): Promise<(number | string)[]> {
  const samples: number[][] = rows.map(() => []);
  const failed: (string | undefined)[] = rows.map(() => undefined);
  for (let i = 0; i < n; i++) {
    for (const [k, row] of rows.entries()) {
      if (failed[k] !== undefined) continue;
      const s = await once(row);
      if (typeof s === "string") failed[k] = s;
      else samples[k]!.push(s);
    }
  }
  return samples.map((xs, k) => {
    if (failed[k] !== undefined) return failed[k]!;
    const v = [...xs].sort((a, b) => a - b);
    const h = v.length >> 1;
    return v.length % 2 === 1 ? v[h]! : (v[h - 1]! + v[h]!) / 2;
  });
}

/**
 * Print the rows' medians (three deja rows, then the same three for QEMU),
 * and for each pair that both finished, deja against QEMU as `ratio` says.
 */
function printPairs(
  names: readonly string[],
  med: readonly (number | string)[],
  ratio: (deja: number, qemu: number) => string,
): void {
  for (const [k, name] of names.entries()) {
    const s = med[k]!;
    console.log(
      `${name}: ${
        typeof s === "number" ? `${s.toFixed(2)} s` : s
      } (median of 3, whole process)`,
    );
  }
  for (const k of [0, 1, 2]) {
    const d = med[k]!, q = med[k + 3]!;
    if (typeof d === "number" && typeof q === "number") {
      console.log(`ratio deja/QEMU, ${names[k]!.slice(5)}: ${ratio(d, q)}`);
    }
  }
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
    const best = await medians(runs, 5, ([, cmd, args]) => wall(cmd, args));
    for (const [k, [name]] of runs.entries()) {
      const s = best[k]!;
      console.log(
        `${name}: ${
          typeof s === "number" ? `${(s * 1000).toFixed(0)} ms` : s
        } (median of 5, whole process)`,
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

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

/**
 * Wall seconds of a U-Boot session to its exit: with `typing`, a key when
 * the autoboot countdown shows and `poweroff` at the prompt. Or why it
 * failed.
 */
async function ubootSession(
  cmd: string,
  args: string[],
  typing: boolean,
): Promise<number | string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
  } catch (e) {
    return (e as Error).message;
  }
  const err = new Response(child.stderr).text();
  const w = child.stdin.getWriter();
  const enc = new TextEncoder(), dec = new TextDecoder();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill();
  }, 30_000);
  const t0 = performance.now();
  let text = "", keyed = false, off = false;
  for await (const chunk of child.stdout) {
    text += dec.decode(chunk, { stream: true });
    if (!typing) continue;
    const hit = text.indexOf("Hit any key");
    if (!keyed && hit >= 0) {
      keyed = true;
      await w.write(enc.encode(" "));
    }
    if (keyed && !off && text.lastIndexOf("=> ") > hit) {
      off = true;
      await w.write(enc.encode("poweroff\n"));
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  await w.close().catch(() => {});
  const s = (performance.now() - t0) / 1000;
  if (killed) return "did not finish in 30 s (killed)";
  if (!text.includes("=> ")) {
    return `no prompt (exit ${status.code}): ${
      (await err).trim().slice(0, 200)
    }`;
  }
  return s;
}

/** Print the U-Boot rows. */
export async function ubootBench(): Promise<void> {
  console.log("\n== OpenSBI + U-Boot: boot to the prompt and poweroff ==");
  const dir = await Deno.makeTempDir({ prefix: "deja-uboot-" });
  try {
    const machine = [
      "-M",
      "virt",
      "-m",
      "128M",
      "-nographic",
      "-bios",
      FW_JUMP,
      "-kernel",
      UBOOT_S,
    ];
    const deja = (icount: string[]) => [
      "run",
      `--allow-read=/usr/lib/riscv64-linux-gnu,/usr/lib/u-boot,${ROOT},${dir}`,
      `--allow-write=${dir}`,
      `${ROOT}/mod.ts`,
      ...machine,
      ...icount,
    ];
    const qemu = (icount: string[]) => [...machine, "-net", "none", ...icount];
    const rr = (who: string, mode: string) => [
      "-icount",
      `shift=5,rr=${mode},rrfile=${dir}/${who}.rr`,
    ];
    const rows: [string, string, string[], boolean][] = [
      ["deja plain", Deno.execPath(), deja([]), true],
      ["deja rr=record", Deno.execPath(), deja(rr("deja", "record")), true],
      ["deja rr=replay", Deno.execPath(), deja(rr("deja", "replay")), false],
      ["QEMU plain", "qemu-system-riscv64", qemu([]), true],
      [
        "QEMU rr=record",
        "qemu-system-riscv64",
        qemu(rr("qemu", "record")),
        true,
      ],
      [
        "QEMU rr=replay",
        "qemu-system-riscv64",
        qemu(rr("qemu", "replay")),
        false,
      ],
    ];
    const best = await medians(
      rows,
      3,
      ([, cmd, args, typing]) => ubootSession(cmd, args, typing),
    );
    printPairs(
      rows.map((r) => r[0]),
      best,
      (d, q) => `${(d / q).toFixed(2)}x the wall time`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Print the bench guest's whole-process rows. */
export async function benchGuestProcessBench(elf: string): Promise<void> {
  console.log(
    "\n== bench guest, whole process (deja and QEMU command lines) ==",
  );
  const dir = await Deno.makeTempDir({ prefix: "deja-benchguest-" });
  try {
    const machine = ["-M", "virt", "-bios", "none", "-kernel", elf];
    const icount = (who: string, mode: string) => [
      "-icount",
      mode === "" ? "shift=0" : `shift=0,rr=${mode},rrfile=${dir}/${who}.rr`,
    ];
    const deja = (mode: string) => [
      "run",
      `--allow-read=${elf},${ROOT},${dir}`,
      `--allow-write=${dir}`,
      `${ROOT}/mod.ts`,
      ...machine,
      "-nographic",
      ...icount("deja", mode),
    ];
    const qemu = (mode: string) => [
      ...machine,
      "-nographic",
      "-net",
      "none",
      ...icount("qemu", mode),
    ];
    const modes = ["", "record", "replay"];
    const rows: [string, string, string[]][] = [
      ...modes.map((m): [string, string, string[]] => [
        `deja ${m === "" ? "plain" : `rr=${m}`}`,
        Deno.execPath(),
        deja(m),
      ]),
      ...modes.map((m): [string, string, string[]] => [
        `QEMU ${m === "" ? "plain" : `rr=${m}`}`,
        "qemu-system-riscv64",
        qemu(m),
      ]),
    ];
    const med = await medians(rows, 3, ([, cmd, args]) => wall(cmd, args));
    printPairs(
      rows.map((r) => r[0]),
      med,
      (d, q) => `speed ${(q / d).toFixed(2)} (QEMU's wall time over deja's)`,
    );
    const d = med[1]!, q = med[4]!;
    if (typeof d === "number" && typeof q === "number") {
      console.log(
        `target: deja rr=record and rr=replay at least 1.0x QEMU rr=record's speed: record ${
          (q / d).toFixed(2)
        }x${
          typeof med[2] === "number"
            ? `, replay ${(q / med[2]).toFixed(2)}x`
            : ""
        }`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await startupBench();
  await ubootBench();
  await benchGuestProcessBench(
    new URL("./guest/bench.elf", import.meta.url).pathname,
  );
}
