// The monitor (C-a c, Ctrl-C in a replay, -S): its commands in process, and
// through the `deja` command on a recorded OpenSBI + U-Boot session: a replay
// that is stopped, inspected and resumed still matches its recording (serial
// output, the logged shutdown at the same instruction count, exit status).

import { equal, match, notEqual, ok } from "node:assert/strict";
import { Monitor } from "../cli/monitor.ts";
import { dejaCommand, DEMO, ROOT } from "./_deja.ts";

const FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf";
const UBOOT_S = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const enc = new TextEncoder();
const dec = new TextDecoder();

function fakeTarget() {
  const calls: string[] = [];
  const target = {
    stopped: false,
    stop() {
      calls.push("stop");
      target.stopped = true;
    },
    cont() {
      calls.push("cont");
      target.stopped = false;
    },
    infoReplay: () =>
      "Replaying from x.rr: instruction 42, log byte 7, running",
    quit() {
      calls.push("quit");
    },
  };
  return { target, calls };
}

Deno.test("Monitor runs stop, cont, info and quit in order", async () => {
  const { target, calls } = fakeTarget();
  let out = "";
  const m = new Monitor(target, { write: (t) => (out += t) });
  equal(m.active, false);
  m.enter();
  equal(m.active, true);
  await m.push(enc.encode("stop\r\ninfo status\ninfo replay\rc\n"));
  await m.push(enc.encode("info status\nbogus\nq\n"));
  equal(calls.join(","), "stop,cont,quit");
  match(out, /VM status: paused\r\n/);
  match(out, /instruction 42, log byte 7, running\r\n/);
  match(out, /VM status: running\r\n/);
  match(out, /unknown command: 'bogus'/);
  // A prompt on entry and after each command but quit.
  equal(out.split("(deja) ").length - 1, 7);
  m.leave();
  equal(m.active, false);
});

Deno.test("Monitor edits the line with backspace and echoes on a terminal", async () => {
  const { target, calls } = fakeTarget();
  let out = "";
  const m = new Monitor(target, { write: (t) => (out += t), echo: true });
  m.enter();
  await m.push(enc.encode("stx\x7fop\r"));
  equal(calls.join(","), "stop");
  ok(out.includes("stx\b \bop\r\n"), JSON.stringify(out));
  await m.push(enc.encode("help\n"));
  match(out, /info replay +show the record\/replay mode/);
});

/** A running `deja` whose stdout is read as it comes. */
class Deja {
  readonly child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #out = "";
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(args: string[], write: string) {
    const child = dejaCommand(
      [
        `--allow-read=${ROOT},/usr/lib/riscv64-linux-gnu,/usr/lib/u-boot,/tmp`,
        `--allow-write=${write}`,
      ],
      args,
      "piped",
    ).spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    (async () => {
      for await (const chunk of child.stdout) {
        this.#out += dec.decode(chunk, { stream: true });
        this.#wake?.();
      }
      this.#closed = true;
      this.#wake?.();
    })();
  }

  get output(): string {
    return this.#out;
  }

  async send(text: string): Promise<void> {
    await this.#writer.write(enc.encode(text));
  }

  /** Wait until stdout (from `from` on) matches; returns the match. */
  async expect(re: RegExp, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const m = this.#out.slice(from).match(re);
      if (m) return m;
      if (this.#closed || Date.now() > deadline) {
        throw new Error(
          `deja's output never matched ${re}; it ends with ${
            JSON.stringify(this.#out.slice(-300))
          }`,
        );
      }
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50);
      });
    }
  }

  async finish(): Promise<{ code: number; stderr: string; stdout: string }> {
    await this.#writer.close().catch(() => {});
    const status = await this.child.status;
    const stderr = dec.decode(
      new Uint8Array(await new Response(this.child.stderr).arrayBuffer()),
    );
    while (!this.#closed) await new Promise((r) => setTimeout(r, 10));
    return { code: status.code, stderr, stdout: this.#out };
  }
}

const uboot = ["-M", "virt", "-bios", FW_JUMP, "-kernel", UBOOT_S];

/** Record: stop autoboot, run two commands, power off. */
async function recordUboot(rr: string) {
  const d = new Deja([
    ...uboot,
    "-nographic",
    "-icount",
    `shift=3,rr=record,rrfile=${rr}`,
  ], rr);
  await d.expect(/Hit any key to stop autoboot/);
  await d.send(" ");
  let at = (await d.expect(/=> $/)).index!;
  for (const cmd of ["version", "sleep 1"]) {
    await d.send(cmd + "\n");
    at = d.output.length;
    await d.expect(/=> $/, at);
  }
  await d.send("poweroff\n");
  return await d.finish();
}

/** The instruction counts that `info replay` printed. */
function infoCounts(text: string): number[] {
  return [
    ...text.matchAll(
      /Replaying from \S+: instruction (\d+), log byte \d+, (\w+)/g,
    ),
  ]
    .map((m) => Number(m[1]));
}

Deno.test("A replay stopped and resumed from the monitor matches its recording", async (t) => {
  for (const f of [FW_JUMP, UBOOT_S]) {
    try {
      await Deno.stat(f);
    } catch {
      throw new Error(
        `${f} is missing: run deno task setup (apt-get install opensbi u-boot-qemu)`,
      );
    }
  }
  const dir = await Deno.makeTempDir();
  const rr = `${dir}/uboot.rr`;
  try {
    const rec = await recordUboot(rr);
    equal(rec.code, 0, rec.stderr);
    match(rec.stdout, /U-Boot 2023\.01/);
    const replayArgs = (out: string, extra: string[] = []) => [
      ...uboot,
      ...extra,
      "-serial",
      `file:${out}`,
      "-icount",
      `shift=3,rr=replay,rrfile=${rr}`,
    ];

    await t.step("C-a c, stop, info replay twice, cont", async () => {
      const out = `${dir}/a.txt`;
      const d = new Deja(replayArgs(out), dir);
      await d.send("\x01c");
      await d.expect(/\(deja\) $/);
      // Wait for the guest to get going, then stop it.
      for (;;) {
        const from = d.output.length;
        await d.send("info replay\n");
        const m = await d.expect(
          /instruction (\d+), log byte \d+, (\w+)/,
          from,
        );
        if (Number(m[1]) > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const from = d.output.length;
      await d.send("stop\ninfo replay\n");
      await d.expect(/stopped\r\n/, from);
      await new Promise((r) => setTimeout(r, 300));
      await d.send("info replay\ninfo status\n");
      await d.expect(/VM status: paused/, from);
      const counts = infoCounts(d.output.slice(from));
      equal(counts.length, 2, d.output.slice(from));
      equal(counts[0], counts[1], "the machine ran while stopped");
      const guestSoFar = await Deno.readTextFile(out);
      await new Promise((r) => setTimeout(r, 200));
      equal(await Deno.readTextFile(out), guestSoFar, "output while stopped");
      await d.send("cont\n");
      const r = await d.finish();
      equal(r.code, rec.code, r.stderr);
      equal(r.stderr, "");
      equal(await Deno.readTextFile(out), rec.stdout);
    });

    await t.step("Ctrl-C stops a replay; cont resumes it", async () => {
      const out = `${dir}/b.txt`;
      const d = new Deja(replayArgs(out), dir);
      await d.send("\x03");
      await d.expect(/deja monitor/);
      await d.send("info status\n");
      await d.expect(/VM status: paused/);
      await d.send("cont\n");
      const r = await d.finish();
      equal(r.code, rec.code, r.stderr);
      equal(await Deno.readTextFile(out), rec.stdout);
    });

    await t.step("-S starts stopped at instruction 0", async () => {
      const out = `${dir}/c.txt`;
      const d = new Deja(replayArgs(out, ["-S"]), dir);
      await d.send("\x01cinfo replay\n");
      const m = await d.expect(/instruction (\d+), log byte \d+, (\w+)/);
      equal(m[1], "0");
      equal(m[2], "stopped");
      await new Promise((r) => setTimeout(r, 200));
      equal(await Deno.readTextFile(out), "", "the guest ran before cont");
      await d.send("cont\n");
      const r = await d.finish();
      equal(r.code, rec.code, r.stderr);
      equal(await Deno.readTextFile(out), rec.stdout);
    });

    await t.step("a replay that was never stopped agrees too", async () => {
      const out = `${dir}/d.txt`;
      const d = new Deja(replayArgs(out), dir);
      const r = await d.finish();
      equal(r.code, rec.code, r.stderr);
      equal(await Deno.readTextFile(out), rec.stdout);
      notEqual(rec.stdout.length, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-S without a monitor is refused with the fix", async () => {
  const d = new Deja([
    "-bios",
    "none",
    "-kernel",
    DEMO,
    "-serial",
    "null",
    "-S",
  ], "/tmp/none");
  const r = await d.finish();
  notEqual(r.code, 0);
  match(r.stderr, /Cannot start stopped \(-S\).*add -nographic/);
  ok(!/^\s+at /m.test(r.stderr), r.stderr);
});
