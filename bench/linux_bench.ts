// Linux figures, deja against qemu-system-riscv64 on the same kernel
// (tests/guest/linux/Image.gz), root file system (tests/guest/linux/rootfs.sh)
// and options (fw_jump, 128 MiB, virtio-blk root, virtio-net on the user
// network, virtio-rng, -icount shift=3):
//
// - boot to the shell's prompt and poweroff: instructions and wall time
//   (QEMU with -icount shift=3,sleep=off, which skips idle time as deja's
//   run loop does), with the ratio;
// - sequential read of the whole virtio-blk disk inside the guest (the
//   shell's `readblk /dev/vda 1024`): MB/s of guest time (the guest's
//   CLOCK_MONOTONIC) and of wall time;
// - replay log bytes per guest second (the guest's /proc/uptime) of an idle
//   Linux at its prompt and of a session that downloads a file by TFTP, for
//   deja's rr=record and QEMU's (-icount shift=3,rr=record with
//   driver=blkreplay and filter-replay), with the ratio.
//
//   npx -y deno@2.9.6 run -A bench/linux_bench.ts [--idle-s S] [--tftp-kib K]

import { parseArgs } from "node:util";
import { Runner } from "../replay/runner.ts";
import { sessionConfig } from "../replay/session.ts";
import { LogRecorder } from "../replay/machine_log.ts";
import { concatBytes } from "../replay/bytes.ts";
import { ReplayLogReader } from "../replay/log.ts";
import { openDrive } from "../plugins/block_backends.ts";
import { tftpDirectory, UserNetwork } from "../plugins/net_user.ts";
import type { RunResult, VirtMachineOptions } from "../devices/virt.ts";

/** Guest seconds of the idle session, and KiB of the TFTP download. */
let IDLE_S = 20;
let TFTP_KIB = 1024;

const LINUX_DIR = new URL("../tests/guest/linux/", import.meta.url).pathname;
const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const APPEND = "console=ttyS0 root=/dev/vda rw ip=dhcp";
const SHIFT = 3;
const PROMPT = /\ndeja# $/;

const fmt = (x: number, d = 1) => x.toFixed(d);
const mb = (bytes: number) => bytes / 1e6;

/** The kernel, the root image and the TFTP directory, or why not. */
async function prepare(): Promise<
  { dir: string; image: string; root: string; tftp: string } | string
> {
  let gz: Uint8Array;
  try {
    gz = await Deno.readFile(`${LINUX_DIR}/Image.gz`);
    await Deno.stat(FW_JUMP);
  } catch {
    return `tests/guest/linux/Image.gz or ${FW_JUMP} is missing`;
  }
  const dir = await Deno.makeTempDir({ prefix: "deja_linux_bench_" });
  const image = new Uint8Array(
    await new Response(
      new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  await Deno.writeFile(`${dir}/Image`, image);
  const out = await new Deno.Command("sh", {
    args: [`${LINUX_DIR}/rootfs.sh`, `${dir}/root.img`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(dir, { recursive: true });
    return `tests/guest/linux/rootfs.sh failed (apt-get install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross e2fsprogs): ${
      new TextDecoder().decode(out.stderr).trim().slice(0, 200)
    }`;
  }
  await Deno.mkdir(`${dir}/tftp`);
  const file = new Uint8Array(TFTP_KIB * 1024);
  for (let i = 0; i < file.length; i++) file[i] = (i * 131 + (i >> 11)) & 255;
  await Deno.writeFile(`${dir}/tftp/file.bin`, file);
  return {
    dir,
    image: `${dir}/Image`,
    root: `${dir}/root.img`,
    tftp: `${dir}/tftp`,
  };
}

/** deja in process on a console, optionally recording. */
class DejaLinux {
  readonly runner: Runner;
  text = "";
  #mark = 0;
  #chunks: Uint8Array[] = [];
  #recorder: LogRecorder | undefined;
  #close: () => void;
  exited = false;

  private constructor(
    machine: Omit<VirtMachineOptions, "output">,
    recorder: LogRecorder | undefined,
    chunks: Uint8Array[],
    close: () => void,
  ) {
    const dec = new TextDecoder();
    this.#recorder = recorder;
    this.#chunks = chunks;
    this.#close = close;
    this.runner = new Runner({
      machine: {
        ...machine,
        output: (b) => (this.text += dec.decode(b, { stream: true })),
      },
      ...(recorder ? { record: recorder.hook, checks: recorder } : {}),
    });
  }

  /**
   * Run a slice; an idle hart's clock moves to its next deadline (at most
   * to `limitNs`) as the CLI's sleep=on does when no input comes, by warps
   * that a recording logs.
   */
  step(limitNs = Infinity): RunResult {
    const r = this.runner.run(1 << 20);
    if (r.kind === "idle") {
      const now = this.runner.machine.clock.nowNs();
      const to = Math.min(r.deadlineNs, limitNs);
      if (to === Infinity) throw new Error("Linux idles with no timer");
      this.runner.idleFor(to - now);
    }
    return r;
  }

  static async start(
    files: { image: string; root: string; tftp: string },
    record: boolean,
  ): Promise<DejaLinux> {
    const drive = openDrive({
      file: files.root,
      format: "raw",
      snapshot: true,
    });
    const machine: Omit<VirtMachineOptions, "output"> = {
      bios: await Deno.readFile(FW_JUMP),
      kernel: await Deno.readFile(files.image),
      append: APPEND,
      memoryBytes: 128 << 20,
      icountShift: SHIFT,
      virtio: [
        { kind: "blk", image: drive.image },
        {
          kind: "net",
          backend: new UserNetwork({ readFile: tftpDirectory(files.tftp) }),
        },
        { kind: "rng" },
      ],
    };
    const chunks: Uint8Array[] = [];
    const recorder = record
      ? new LogRecorder(
        { write: (b) => chunks.push(b) },
        await sessionConfig(machine),
      )
      : undefined;
    return new DejaLinux(machine, recorder, chunks, () => drive.close());
  }

  get icount(): number {
    return this.runner.machine.cpu.icount;
  }

  /** Run until the output since the last mark matches. */
  until(pattern: RegExp, maxInsns = 1e10): string {
    const start = this.icount;
    while (!pattern.test(this.text.slice(this.#mark))) {
      const r = this.step();
      if (r.kind === "exit") {
        this.exited = true;
        if (pattern.test(this.text.slice(this.#mark))) break;
        throw new Error(`Linux exited before ${pattern}:\n${this.recent()}`);
      }
      if (this.icount - start > maxInsns) {
        throw new Error(`no ${pattern} in ${maxInsns} instructions`);
      }
    }
    const got = this.text.slice(this.#mark);
    this.#mark = this.text.length;
    return got;
  }

  recent(): string {
    return this.text.slice(this.#mark).slice(-2000);
  }

  type(text: string): void {
    this.#mark = this.text.length;
    this.runner.machine.sendInput(new TextEncoder().encode(text));
  }

  command(cmd: string): string {
    this.type(cmd + "\n");
    return this.until(PROMPT);
  }

  /** Let the guest run (idle) until its clock reaches `ns`. */
  runUntilClock(ns: number): void {
    const m = this.runner.machine;
    while (m.clock.nowNs() < ns) {
      const r = this.step(ns);
      if (r.kind === "exit") throw new Error("Linux exited while idle");
    }
  }

  poweroff(): void {
    this.type("poweroff\n");
    while (this.step().kind !== "exit");
    this.exited = true;
  }

  /** The log (after poweroff). */
  finish(): Uint8Array {
    this.#recorder?.finish("guest", this.icount);
    this.#close();
    return concatBytes(this.#chunks);
  }
}

/** The same machine on qemu-system-riscv64, driven through its console. */
class QemuLinux {
  readonly child: Deno.ChildProcess;
  text = "";
  #mark = 0;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #done: Promise<Deno.CommandStatus>;

  constructor(
    files: { image: string; root: string; tftp: string },
    icount: string,
    rr: boolean,
  ) {
    const drive = rr
      ? [
        "-drive",
        `file=${files.root},format=raw,if=none,id=d0,snapshot=on`,
        "-drive",
        "driver=blkreplay,if=none,image=d0,id=d1",
        "-device",
        "virtio-blk-device,drive=d1",
      ]
      : [
        "-drive",
        `file=${files.root},format=raw,if=none,id=d0,snapshot=on`,
        "-device",
        "virtio-blk-device,drive=d0",
      ];
    this.child = new Deno.Command("qemu-system-riscv64", {
      args: [
        "-M",
        "virt",
        "-m",
        "128M",
        "-nographic",
        "-bios",
        FW_JUMP,
        "-kernel",
        files.image,
        "-append",
        APPEND,
        ...drive,
        "-netdev",
        `user,id=n0,tftp=${files.tftp}`,
        ...(rr ? ["-object", "filter-replay,id=r0,netdev=n0"] : []),
        "-device",
        "virtio-net-device,netdev=n0",
        "-device",
        "virtio-rng-device",
        "-icount",
        icount,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const child = this.child;
    this.#writer = child.stdin.getWriter();
    const dec = new TextDecoder();
    void (async () => {
      for await (const b of child.stdout) {
        this.text += dec.decode(b, { stream: true });
      }
    })();
    void new Response(child.stderr).text().then((t) => this.text += t);
    this.#done = child.status;
  }

  async until(pattern: RegExp, ms = 120_000): Promise<string> {
    const end = performance.now() + ms;
    while (!pattern.test(this.text.slice(this.#mark))) {
      if (performance.now() > end) {
        throw new Error(
          `QEMU: no ${pattern} in ${ms} ms:\n${this.text.slice(-2000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const got = this.text.slice(this.#mark);
    this.#mark = this.text.length;
    return got;
  }

  async type(text: string): Promise<void> {
    this.#mark = this.text.length;
    await this.#writer.write(new TextEncoder().encode(text));
  }

  async command(cmd: string): Promise<string> {
    await this.type(cmd + "\n");
    return await this.until(PROMPT);
  }

  async poweroff(): Promise<void> {
    await this.type("poweroff\n");
    await this.#writer.close().catch(() => {});
    await this.#done;
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

function readblkFigures(out: string): { bytes: number; guestS: number } {
  const m = /readblk: (\d+) bytes in ([\d.]+) s/.exec(out);
  if (!m) throw new Error(`readblk printed no figures:\n${out}`);
  return { bytes: Number(m[1]), guestS: Number(m[2]) };
}

function uptime(out: string): number {
  const m = /^([\d.]+) [\d.]+\s*$/m.exec(out.replace(/\r/g, ""));
  if (!m) throw new Error(`cat /proc/uptime printed no uptime:\n${out}`);
  return Number(m[1]);
}

/** Boot, readblk, poweroff on deja. */
async function dejaBoot(files: { image: string; root: string; tftp: string }) {
  const d = await DejaLinux.start(files, false);
  const t0 = performance.now();
  d.until(PROMPT);
  const prompt = { icount: d.icount, wallS: (performance.now() - t0) / 1000 };
  let t = performance.now();
  const blk = readblkFigures(d.command("readblk /dev/vda 1024"));
  const blkWall = (performance.now() - t) / 1000;
  t = performance.now();
  const before = d.icount;
  d.poweroff();
  const off = {
    icount: d.icount - before,
    wallS: (performance.now() - t) / 1000,
  };
  d.finish();
  return { prompt, off, blk, blkWall };
}

/** Boot, readblk, poweroff on QEMU (icount shift=3, sleep=off). */
async function qemuBoot(files: { image: string; root: string; tftp: string }) {
  const q = new QemuLinux(files, `shift=${SHIFT},sleep=off`, false);
  try {
    const t0 = performance.now();
    await q.until(PROMPT);
    const prompt = { wallS: (performance.now() - t0) / 1000 };
    let t = performance.now();
    const blk = readblkFigures(await q.command("readblk /dev/vda 1024"));
    const blkWall = (performance.now() - t) / 1000;
    t = performance.now();
    await q.poweroff();
    const off = { wallS: (performance.now() - t) / 1000 };
    return { prompt, off, blk, blkWall };
  } catch (e) {
    q.kill();
    throw e;
  }
}

interface LogFigure {
  bytes: number;
  guestS: number;
  icount: number;
}

/** A recorded deja session: idle for IDLE_S guest seconds, or a download. */
async function dejaLog(
  files: { image: string; root: string; tftp: string },
  kind: "idle" | "tftp",
): Promise<LogFigure> {
  const d = await DejaLinux.start(files, true);
  d.until(PROMPT);
  if (kind === "idle") {
    d.runUntilClock(d.runner.machine.clock.nowNs() + IDLE_S * 1e9);
  } else {
    const out = d.command("tftp 10.0.2.2 file.bin");
    if (!out.includes(`${TFTP_KIB * 1024} bytes`)) {
      throw new Error(`deja: the download failed:\n${out}`);
    }
  }
  const guestS = uptime(d.command("cat /proc/uptime"));
  d.poweroff();
  const log = d.finish();
  return { bytes: log.length, guestS, icount: d.icount };
}

/** The same session on QEMU's rr=record. */
async function qemuLog(
  files: { image: string; root: string; tftp: string },
  kind: "idle" | "tftp",
  wallPerGuest: number,
): Promise<LogFigure> {
  const rr = `${files.image}.${kind}.rr`;
  const q = new QemuLinux(files, `shift=${SHIFT},rr=record,rrfile=${rr}`, true);
  try {
    await q.until(PROMPT);
    if (kind === "idle") {
      // QEMU's guest time passes at about real time while idle (sleep=on).
      await new Promise((r) => setTimeout(r, IDLE_S * 1000 * wallPerGuest));
    } else {
      const out = await q.command("tftp 10.0.2.2 file.bin");
      if (!out.includes(`${TFTP_KIB * 1024} bytes`)) {
        throw new Error(`QEMU: the download failed:\n${out}`);
      }
    }
    const guestS = uptime(await q.command("cat /proc/uptime"));
    await q.poweroff();
    const bytes = await Deno.readFile(rr);
    const reader = new ReplayLogReader(bytes, { allowMissingVersion: true });
    try {
      for (const _ of reader) { /* to the end */ }
    } catch { /* a cut log: count what is there */ }
    return { bytes: bytes.length, guestS, icount: reader.icount };
  } catch (e) {
    q.kill();
    throw e;
  } finally {
    await Deno.remove(rr).catch(() => {});
  }
}

/** Options for {@linkcode linuxBench}. */
export interface LinuxBenchOptions {
  /**
   * Guest seconds the idle session stays at the prompt.
   *
   * @default {20}
   */
  idleS?: number;
  /**
   * KiB of the file the TFTP session downloads.
   *
   * @default {1024}
   */
  tftpKib?: number;
}

/**
 * Run the Linux section and print its figures.
 *
 * @param options the sessions' lengths
 * @returns when done
 */
export async function linuxBench(
  options: LinuxBenchOptions = {},
): Promise<void> {
  IDLE_S = options.idleS ?? 20;
  TFTP_KIB = options.tftpKib ?? 1024;
  console.log("\n== Linux ==");
  const files = await prepare();
  if (typeof files === "string") {
    console.log(`Linux: skipped: ${files}`);
    return;
  }
  const qemu = await new Deno.Command("qemu-system-riscv64", {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  }).output().then((o) => o.success, () => false);
  try {
    console.log(
      `Linux 6.1 (tests/guest/linux), OpenSBI fw_jump, 128 MiB, virtio-blk root + virtio-net (user) + virtio-rng, -icount shift=${SHIFT}`,
    );
    const d = await dejaBoot(files);
    const dOff = d.prompt.wallS + d.off.wallS;
    console.log(
      `deja boot to the prompt: ${
        fmt(d.prompt.icount / 1e6, 0)
      } M instructions, ${fmt(d.prompt.wallS, 2)} s wall; poweroff: ${
        fmt(d.off.icount / 1e6, 1)
      } M instructions, ${fmt(d.off.wallS, 2)} s wall`,
    );
    const q = qemu ? await qemuBoot(files) : undefined;
    if (q) {
      const qOff = q.prompt.wallS + q.off.wallS;
      console.log(
        `QEMU boot to the prompt: ${fmt(q.prompt.wallS, 2)} s wall; poweroff: ${
          fmt(q.off.wallS, 2)
        } s wall (-icount shift=${SHIFT},sleep=off)`,
      );
      console.log(
        `Linux boot + poweroff wall time deja/QEMU: ${fmt(dOff, 2)} s / ${
          fmt(qOff, 2)
        } s = ${fmt(dOff / qOff, 2)}x (to the prompt: ${
          fmt(d.prompt.wallS / q.prompt.wallS, 2)
        }x)`,
      );
    } else console.log("QEMU: skipped (qemu-system-riscv64 not installed)");
    const rb = (
      who: string,
      r: { blk: { bytes: number; guestS: number }; blkWall: number },
    ) =>
      `${who} readblk /dev/vda (${fmt(mb(r.blk.bytes), 1)} MB, 1 MiB reads): ${
        fmt(mb(r.blk.bytes) / r.blk.guestS, 1)
      } MB/s of guest time (${fmt(r.blk.guestS, 3)} s), ${
        fmt(mb(r.blk.bytes) / r.blkWall, 1)
      } MB/s of wall time (${fmt(r.blkWall, 2)} s)`;
    console.log(rb("deja", d));
    if (q) {
      console.log(rb("QEMU", q));
      console.log(
        `virtio-blk read wall throughput deja/QEMU: ${
          fmt(q.blkWall / d.blkWall, 2)
        }x`,
      );
    }

    const rate = (f: LogFigure) => f.bytes / f.guestS;
    const describe = (who: string, what: string, f: LogFigure) =>
      `${who} ${what}: ${f.bytes} bytes over ${
        fmt(f.guestS, 2)
      } s of guest time, ${fmt(f.icount / 1e6, 0)} M instructions = ${
        fmt(rate(f), 1)
      } bytes/s`;
    const di = await dejaLog(files, "idle");
    console.log(describe("deja", `idle Linux (boot + ${IDLE_S} s)`, di));
    const dt = await dejaLog(files, "tftp");
    console.log(
      describe(
        "deja",
        `TFTP download of ${TFTP_KIB} KiB (boot + download)`,
        dt,
      ),
    );
    if (qemu) {
      const qi = await qemuLog(files, "idle", 1);
      console.log(describe("QEMU rr", `idle Linux (boot + ~${IDLE_S} s)`, qi));
      const qt = await qemuLog(files, "tftp", 1);
      console.log(
        describe("QEMU rr", `TFTP download of ${TFTP_KIB} KiB`, qt),
      );
      console.log(
        `log bytes per guest second deja/QEMU: idle ${
          fmt(rate(di) / rate(qi), 3)
        }, TFTP session ${
          fmt(rate(dt) / rate(qt), 3)
        }; whole TFTP session log deja/QEMU: ${fmt(dt.bytes / qt.bytes, 3)}`,
      );
    }
  } finally {
    await Deno.remove(files.dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "idle-s": { type: "string", default: "20" },
      "tftp-kib": { type: "string", default: "1024" },
    },
  });
  await linuxBench({
    idleS: Number(values["idle-s"]),
    tftpKib: Number(values["tftp-kib"]),
  });
}
