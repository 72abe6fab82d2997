/**
 * The debugging section of `deno task bench`:
 *
 * - single-step round trips: GDB `s` packets per second over a socket,
 *   each answered with its stop reply (deja's stub in process, and QEMU's
 *   `-s -S` stub on the same ELF);
 * - run speed with a breakpoint set that never hits, against the same run
 *   without it, for deja and for QEMU (gdb attached, `continue` to the end).
 *
 * Run alone: `deno run --allow-read --allow-run --allow-net=127.0.0.1
 * bench/debug_bench.ts [ELF]`.
 *
 * @module
 */

import { serveGdb } from "../cli/gdb_stub.ts";
import { DebugTarget } from "../cli/debug_target.ts";
import { VirtMachine } from "../devices/virt.ts";
import { GdbClient } from "../tests/lockstep/gdb_client.ts";

const STEPS = 2000;
// deja single-steps through a never-hit breakpoint at a few MIPS: measure a
// prefix of the run, of this many instructions.
const BP_INSNS = 20_000_000;

async function dejaSteps(elf: Uint8Array): Promise<number> {
  const m = new VirtMachine({ bios: "none", kernel: elf });
  const listening = Promise.withResolvers<number>();
  const served = serveGdb(m, {
    port: 0,
    waitForClient: true,
    onListen: (p) => listening.resolve(p),
  });
  const c = await GdbClient.connect(await listening.promise);
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await c.step();
  const s = (performance.now() - t0) / 1000;
  await c.kill();
  c.close();
  await served;
  return STEPS / s;
}

function dejaRun(elf: Uint8Array, breakpoint: boolean): number {
  const m = new VirtMachine({ bios: "none", kernel: elf });
  const t = new DebugTarget(m);
  if (breakpoint) t.insertBreakpoint(0x10n); // never executed
  const t0 = performance.now();
  while (m.cpu.icount < BP_INSNS) {
    const stop = t.run(Math.min(1_000_000, BP_INSNS - m.cpu.icount));
    if (stop.kind === "machine") break;
  }
  return m.cpu.icount / ((performance.now() - t0) / 1000) / 1e6;
}

async function qemu(
  elfPath: string,
  fn: (c: GdbClient) => Promise<void>,
): Promise<string | undefined> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("qemu-system-riscv64", {
      args: [
        "-M",
        "virt",
        "-m",
        "128M",
        "-bios",
        "none",
        "-nographic",
        "-icount",
        "shift=0",
        "-kernel",
        elfPath,
        "-gdb",
        `tcp:127.0.0.1:${port}`,
        "-S",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return "qemu-system-riscv64 is not installed (apt-get install qemu-system-misc)";
  }
  try {
    const c = await GdbClient.connect(port);
    await fn(c);
    c.close();
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
  return undefined;
}

/**
 * Print the debugging figures.
 *
 * @param elfPath the bench guest
 */
export async function debugBench(elfPath: string): Promise<void> {
  const elf = Deno.readFileSync(elfPath);
  console.log("\ndebugging:");
  const net = await Deno.permissions.query({ name: "net", host: "127.0.0.1" });
  if (net.state !== "granted") {
    console.log(
      "debugging: skipped: the stub listens on 127.0.0.1; add --allow-net=127.0.0.1",
    );
    return;
  }
  const dejaRate = await dejaSteps(elf);
  let qemuRate = 0;
  const skipped = await qemu(elfPath, async (c) => {
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await c.step();
    qemuRate = STEPS / ((performance.now() - t0) / 1000);
  });
  console.log(
    `gdb stepi round trips: deja ${dejaRate.toFixed(0)}/s` +
      (skipped
        ? ` (qemu: skipped: ${skipped})`
        : `, qemu ${qemuRate.toFixed(0)}/s, ratio ${
          (dejaRate / qemuRate).toFixed(2)
        }`),
  );
  const plain = dejaRun(elf, false);
  const bp = dejaRun(elf, true);
  let qemuPlain = 0, qemuBp = 0;
  const q2 = await qemu(elfPath, async (c) => {
    // Plain: continue to the end (the W packet).
    const t0 = performance.now();
    await c.cont().catch(() => "");
    qemuPlain = (performance.now() - t0) / 1000;
  });
  const q3 = q2 ?? await qemu(elfPath, async (c) => {
    await c.insertBreakpoint(0x10n, 4);
    const t0 = performance.now();
    await c.cont().catch(() => "");
    qemuBp = (performance.now() - t0) / 1000;
  });
  console.log(
    `breakpoint never hit: deja ${bp.toFixed(1)} MIPS against ${
      plain.toFixed(1)
    } MIPS without (first ${BP_INSNS / 1e6}M instructions)` +
      (q2 ?? q3
        ? ` (qemu: skipped: ${q2 ?? q3})`
        : `; qemu whole run ${qemuBp.toFixed(2)} s against ${
          qemuPlain.toFixed(2)
        } s without`),
  );
}

if (import.meta.main) {
  await debugBench(
    Deno.args[0] ?? new URL("./guest/bench.elf", import.meta.url).pathname,
  );
}
