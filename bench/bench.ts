/**
 * `deno task bench`: CPU speed on the bench guest (bench/guest/bench.elf,
 * about 665 million instructions of mixed integer, memory and branch work),
 * in MIPS, and the ratio to QEMU running the same ELF with
 * `-M virt -bios none -icount shift=0` when qemu-system-riscv64 is installed.
 *
 * Then the record/replay section:
 *
 * - record overhead over a plain run, and replay speed against record, on
 *   the bench guest (the library's `LogRecorder` / `LogReplayer`, the same
 *   path as `-icount rr=record|replay`), and the same for QEMU's rr on the
 *   same ELF, with the ratios;
 * - log bytes per second of guest time for OpenSBI (fw_jump) + S-mode U-Boot
 *   left alone at its prompt, and for a session with typing, both for deja
 *   (in process, `record()`) and for QEMU's rr (`qemu-system-riscv64 -icount
 *   shift=N,rr=record`, typing through a pipe), with the ratio.
 *
 * Options: `--runs N` (default 3; the best run counts), `--elf PATH`,
 * `--shift N` (icount shift of the U-Boot sessions, default 5), `--guest-s S`
 * (guest seconds per U-Boot session, default 10), `--no-replay` (CPU only),
 * `--no-debug` (no debugging section: see bench/debug_bench.ts),
 * `--no-time-travel` (no time-travel section: see bench/time_travel_bench.ts),
 * `--no-linux` (no Linux section: see bench/linux_bench.ts),
 * `--no-instrumentation` (no instrumentation section: see
 * bench/instrumentation_bench.ts), `--no-startup` (no startup section, no
 * U-Boot boot rows and no whole-process bench guest rows: see
 * bench/startup_bench.ts).
 *
 * @module
 */

import { debugBench } from "./debug_bench.ts";
import { instrumentationBench } from "./instrumentation_bench.ts";
import {
  benchGuestProcessBench,
  startupBench,
  ubootBench,
} from "./startup_bench.ts";
import { linuxBench } from "./linux_bench.ts";
import { Runner } from "../replay/runner.ts";
import { parseArgs } from "node:util";
import { VirtMachine } from "../devices/virt.ts";
import { sessionConfig } from "../replay/session.ts";
import { record } from "../replay/session.ts";
import { LogRecorder, LogReplayer } from "../replay/machine_log.ts";
import { ReplayLogReader } from "../replay/log.ts";
import { concatBytes } from "../replay/bytes.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    elf: {
      type: "string",
      default: new URL("./guest/bench.elf", import.meta.url).pathname,
    },
    shift: { type: "string", default: "5" },
    "guest-s": { type: "string", default: "10" },
    "no-replay": { type: "boolean", default: false },
    "no-debug": { type: "boolean", default: false },
    "no-time-travel": { type: "boolean", default: false },
    "no-linux": { type: "boolean", default: false },
    "no-instrumentation": { type: "boolean", default: false },
    "no-startup": { type: "boolean", default: false },
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

/**
 * QEMU running the bench ELF with `-icount ICOUNT`; the wall time of the
 * whole process, or why it could not run.
 */
async function runQemu(icount = "shift=0"): Promise<Result | string> {
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
        icount,
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
  if (!m) {
    return `QEMU (-icount ${icount}) printed no instret line: ${
      output.slice(0, 200)
    }${new TextDecoder().decode(out.stderr).slice(0, 200)}`;
  }
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

// ---------------------------------------------------------------------------
// Record/replay

async function replaySection(): Promise<void> {
  console.log("\n== record/replay ==");
  await cpuOverhead();
  await logSizes();
}

/** Plain, recording and replaying runs of the bench guest, same slices. */
async function cpuOverhead(): Promise<void> {
  const slice = 1 << 22;
  const machine = { bios: "none" as const, kernel: elf };
  const plainRun = () => {
    const m = new VirtMachine({ ...machine, output: () => {} });
    const t0 = performance.now();
    for (;;) {
      const r = m.run(slice, { warpIdle: true });
      if (r.kind === "exit" || r.kind === "idle") break;
    }
    return { insns: m.cpu.icount, seconds: (performance.now() - t0) / 1000 };
  };
  const config = await sessionConfig(machine);
  let log: Uint8Array = new Uint8Array();
  const recordRun = () => {
    const chunks: Uint8Array[] = [];
    const rec = new LogRecorder({ write: (b) => chunks.push(b) }, config);
    const runner = new Runner({
      machine: { ...machine, output: () => {} },
      record: rec.hook,
      checks: rec,
      warpIdle: true,
    });
    const m = runner.machine;
    const t0 = performance.now();
    for (;;) {
      const r = runner.run(slice);
      if (r.kind === "exit" || r.kind === "idle") break;
    }
    rec.finish("guest", m.cpu.icount);
    const seconds = (performance.now() - t0) / 1000;
    log = concatBytes(chunks);
    return { insns: m.cpu.icount, seconds };
  };
  const replayRun = () => {
    const rep = new LogReplayer(log);
    const runner = new Runner({
      machine: { ...machine, output: () => {} },
      replay: rep.source,
      checks: rep,
      warpIdle: true,
    });
    const m = runner.machine;
    const t0 = performance.now();
    for (;;) {
      const r = runner.run(slice);
      if (r.kind !== "budget") break;
    }
    return { insns: m.cpu.icount, seconds: (performance.now() - t0) / 1000 };
  };
  // Interleave, best of three each, so that machine noise and warm-up hit
  // all three alike.
  const best = { plain: Infinity, record: Infinity, replay: Infinity };
  let insns = 0;
  for (let i = 0; i < 3; i++) {
    const p = plainRun();
    const r = recordRun();
    const q = replayRun();
    if (p.insns !== r.insns || r.insns !== q.insns) {
      console.log(
        `WARNING: plain ${p.insns}, record ${r.insns}, replay ${q.insns} instructions differ`,
      );
    }
    insns = p.insns;
    best.plain = Math.min(best.plain, p.seconds);
    best.record = Math.min(best.record, r.seconds);
    best.replay = Math.min(best.replay, q.seconds);
  }
  const mips = (s: number) => (insns / s / 1e6).toFixed(1);
  console.log(
    `bench guest, ${insns} instructions (best of 3): plain ${
      best.plain.toFixed(2)
    } s (${mips(best.plain)} MIPS), record ${best.record.toFixed(2)} s (${
      mips(best.record)
    } MIPS), replay ${best.replay.toFixed(2)} s (${mips(best.replay)} MIPS)`,
  );
  console.log(
    `record overhead over plain: ${
      ((best.record / best.plain - 1) * 100).toFixed(1)
    }%; replay speed / record speed: ${
      (best.record / best.replay).toFixed(2)
    }; log ${log.length} bytes`,
  );
  const q = await qemuRr();
  if (typeof q === "string") {
    console.log(`QEMU rr on the bench guest: skipped: ${q}`);
    return;
  }
  console.log(
    `QEMU on the bench guest (best of 3, wall time of the process): plain ${
      q.plain.toFixed(2)
    } s, rr=record ${q.record.toFixed(2)} s, rr=replay ${
      q.replay.toFixed(2)
    } s; log ${q.logBytes} bytes`,
  );
  console.log(
    `QEMU record overhead over plain: ${
      ((q.record / q.plain - 1) * 100).toFixed(1)
    }%; replay speed / record speed: ${(q.record / q.replay).toFixed(2)}`,
  );
  console.log(
    `ratio deja/QEMU: record ${
      (q.record / best.record).toFixed(3)
    } (speed), replay ${(q.replay / best.replay).toFixed(3)} (speed), log ${
      (log.length / q.logBytes).toFixed(3)
    } (size)`,
  );
}

/** QEMU running the bench guest plain, under rr=record and under rr=replay. */
async function qemuRr(): Promise<
  { plain: number; record: number; replay: number; logBytes: number } | string
> {
  const dir = await Deno.makeTempDir({ prefix: "deja-bench-qemu-rr-" });
  const rrfile = `${dir}/bench.rr`;
  try {
    const best = { plain: Infinity, record: Infinity, replay: Infinity };
    for (let i = 0; i < 3; i++) {
      for (
        const [k, icount] of [
          ["plain", "shift=0"],
          ["record", `shift=0,rr=record,rrfile=${rrfile}`],
          ["replay", `shift=0,rr=replay,rrfile=${rrfile}`],
        ] as const
      ) {
        const r = await runQemu(icount);
        if (typeof r === "string") return r;
        best[k] = Math.min(best[k], r.seconds);
      }
    }
    return { ...best, logBytes: (await Deno.stat(rrfile)).size };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";

/** What is typed in the typing session, and from when (guest seconds). */
const TYPED =
  "version\necho hello from the bench\nprintenv bootdelay\nhelp echo\n";
const TYPE_FROM_S = 4;
const TYPE_EVERY_S = 0.08;

interface LogFigure {
  bytes: number;
  guestS: number;
  typed: number;
  /** Whether the guest echoed what was typed (U-Boot got the keys). */
  echoed: boolean;
}

function rate(f: LogFigure): number {
  return f.bytes / f.guestS;
}

function describe(who: string, what: string, f: LogFigure): string {
  return `${who} ${what}: ${f.bytes} bytes over ${
    f.guestS.toFixed(2)
  } s of guest time${
    f.typed
      ? ` (${f.typed} keys typed${
        f.echoed ? "" : "; WARNING: U-Boot did not echo them"
      })`
      : ""
  } = ${rate(f).toFixed(1)} bytes/s`;
}

async function logSizes(): Promise<void> {
  const shift = Number(values.shift);
  const guestS = Number(values["guest-s"]);
  let bios: Uint8Array, kernel: Uint8Array;
  try {
    bios = await Deno.readFile(FW_JUMP);
    kernel = await Deno.readFile(UBOOT_S);
  } catch {
    console.log(
      `U-Boot log sizes: skipped: ${FW_JUMP} or ${UBOOT_S} is missing (apt-get install opensbi u-boot-qemu)`,
    );
    return;
  }
  const nsPerInsn = 2 ** shift;
  const maxInsns = Math.round(guestS * 1e9 / nsPerInsn);
  console.log(
    `U-Boot sessions: OpenSBI fw_jump + S-mode U-Boot, -icount shift=${shift}, ${guestS} s of guest time (${maxInsns} instructions)`,
  );
  const dejaSession = async (typing: boolean): Promise<LogFigure> => {
    let next = 0;
    const t0 = performance.now();
    const rec = await record({
      bios,
      kernel,
      icountShift: shift,
      sliceInsns: 1 << 18,
      maxInsns,
      input: ({ icount }) => {
        if (!typing || next >= TYPED.length) return undefined;
        const due = TYPE_FROM_S + next * TYPE_EVERY_S;
        if (icount * nsPerInsn < due * 1e9) return undefined;
        return TYPED[next++];
      },
    });
    const wall = (performance.now() - t0) / 1000;
    console.log(
      `  (deja ${typing ? "typing" : "idle"} session: ${
        wall.toFixed(1)
      } s of wall time)`,
    );
    return {
      echoed: rec.output.includes("hello from the bench"),
      bytes: rec.log.length,
      guestS: rec.icount * nsPerInsn / 1e9,
      typed: next,
    };
  };
  const dejaIdle = await dejaSession(false);
  console.log(describe("deja", "idle prompt", dejaIdle));
  const dejaTyping = await dejaSession(true);
  console.log(describe("deja", "typing", dejaTyping));

  // QEMU runs in real time: guess its pace (guest seconds per real
  // second), measure it, and run again at the measured pace if the guess
  // was far off, so that the sessions last about as long in guest time.
  // Guest time grows with real time along a line that does not go through
  // 0 (the boot runs at another pace than the prompt), so fit the line
  // through the last two runs.
  let qemuIdle = await qemuSession(shift, guestS, 1, false);
  let prev: { realS: number; guestS: number } | undefined;
  for (
    let tries = 0;
    tries < 2 && typeof qemuIdle !== "string" &&
    Math.abs(qemuIdle.figure.guestS - guestS) / guestS > 0.1;
    tries++
  ) {
    const last = { realS: qemuIdle.realS, guestS: qemuIdle.figure.guestS };
    let realS = last.realS * guestS / last.guestS;
    if (prev && Math.abs(last.realS - prev.realS) > 0.5) {
      const slope = (last.guestS - prev.guestS) / (last.realS - prev.realS);
      if (slope > 0) realS = last.realS + (guestS - last.guestS) / slope;
    }
    prev = last;
    qemuIdle = await qemuSession(shift, guestS, guestS / realS, false);
  }
  if (typeof qemuIdle === "string") {
    console.log(`QEMU rr: skipped: ${qemuIdle}`);
    return;
  }
  console.log(describe("QEMU", "idle prompt", qemuIdle.figure));
  const qemuTyping = await qemuSession(
    shift,
    guestS,
    qemuIdle.guestPerReal,
    true,
  );
  if (typeof qemuTyping === "string") {
    console.log(`QEMU rr typing: skipped: ${qemuTyping}`);
    return;
  }
  console.log(describe("QEMU", "typing", qemuTyping.figure));
  const ratio = (d: LogFigure, q: LogFigure) => rate(d) / rate(q);
  const verdict = (r: number) => r <= 0.1 ? "meets" : "misses";
  const ri = ratio(dejaIdle, qemuIdle.figure);
  const rt = ratio(dejaTyping, qemuTyping.figure);
  if (!Number.isFinite(ri) || !Number.isFinite(rt) || ri === 0 || rt === 0) {
    console.log(
      "log size ratio deja/QEMU: not measured (a QEMU session logged no guest time; try a longer --guest-s)",
    );
    return;
  }
  console.log(
    `log size ratio deja/QEMU (bytes per guest second): idle ${
      ri.toFixed(4)
    } (1/${(1 / ri).toFixed(0)}), typing ${rt.toFixed(4)} (1/${
      (1 / rt).toFixed(0)
    }); target <= 0.1: ${verdict(ri)} (idle), ${verdict(rt)} (typing)`,
  );
}

/**
 * QEMU's rr on the same firmware, for about `guestS` guest seconds at the
 * expected `pace` (guest seconds per real second); it measures the real
 * pace. With `typing`, it types TYPED through the pipe at the real times
 * that the pace predicts for the deja session's guest-time moments. It
 * quits with C-a x (so QEMU writes its header) and reads the instruction
 * count from the log.
 */
async function qemuSession(
  shift: number,
  guestS: number,
  pace: number,
  typing: boolean,
): Promise<
  { figure: LogFigure; guestPerReal: number; realS: number } | string
> {
  const rr = await Deno.makeTempFile({
    prefix: "deja-bench-qemu-",
    suffix: ".rr",
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("qemu-system-riscv64", {
      args: [
        "-M",
        "virt",
        "-bios",
        FW_JUMP,
        "-kernel",
        UBOOT_S,
        "-icount",
        `shift=${shift},rr=record,rrfile=${rr}`,
        "-nographic",
        "-net",
        "none",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch {
    await Deno.remove(rr).catch(() => {});
    return "qemu-system-riscv64 is not installed (apt-get install qemu-system-misc)";
  }
  const out = new Response(child.stdout).text();
  const err = new Response(child.stderr).text();
  const w = child.stdin.getWriter();
  const t0 = performance.now();
  const sleepUntil = (s: number) =>
    new Promise((r) =>
      setTimeout(r, Math.max(0, t0 + s * 1000 - performance.now()))
    );
  let typed = 0;
  if (typing) {
    for (; typed < TYPED.length; typed++) {
      await sleepUntil((TYPE_FROM_S + typed * TYPE_EVERY_S) / pace);
      await w.write(new TextEncoder().encode(TYPED[typed]!));
    }
  }
  await sleepUntil(guestS / pace);
  const realS = (performance.now() - t0) / 1000;
  await w.write(new Uint8Array([1, 0x78])); // C-a x
  await w.close().catch(() => {});
  const status = await child.status;
  const stdout = await out.catch(() => "");
  const stderr = await err;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(rr);
  } finally {
    await Deno.remove(rr).catch(() => {});
  }
  if (!status.success && bytes.length <= 12) {
    return `QEMU failed (status ${status.code}): ${
      stderr.trim().slice(0, 300)
    }`;
  }
  const reader = new ReplayLogReader(bytes, { allowMissingVersion: true });
  try {
    for (const _ of reader) { /* count */ }
  } catch {
    // a cut log: count what is there
  }
  const guest = reader.icount * 2 ** shift / 1e9;
  return {
    figure: {
      bytes: bytes.length,
      guestS: guest,
      typed,
      echoed: stdout.includes("hello from the bench"),
    },
    guestPerReal: guest / realS,
    realS,
  };
}

if (!values["no-replay"]) await replaySection();
// The instrumentation section (bench/instrumentation_bench.ts): insn and
// hotblocks against no plugin.
if (!values["no-instrumentation"]) instrumentationBench(elfPath);
// The startup section (bench/startup_bench.ts): time to the first guest
// instruction, and OpenSBI + U-Boot to the prompt and poweroff (plain,
// record, replay), whole process, against QEMU.
if (!values["no-startup"]) {
  await startupBench();
  await ubootBench();
  await benchGuestProcessBench(elfPath);
}
// The debugging section (bench/debug_bench.ts): gdb stepi round trips and
// the speed with a never-hit breakpoint, against QEMU.
if (!values["no-debug"]) await debugBench(elfPath);
// The time-travel section (bench/time_travel_bench.ts, a script of its own):
// reverse-stepi, reverse-continue and replay_seek on a U-Boot replay.
if (!values["no-time-travel"]) {
  console.log("\n== time travel ==");
  await import("./time_travel_bench.ts");
}
// The Linux section (bench/linux_bench.ts): boot and poweroff, virtio-blk
// reads and log bytes of an idle and a TFTP session, against QEMU.
if (!values["no-linux"]) await linuxBench();
