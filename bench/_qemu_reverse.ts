// Internal to bench/: QEMU's reverse debugging on the time-travel bench's
// workload (OpenSBI + U-Boot with typed commands), as QEMU's own test does
// it: record with `-icount shift=N,rr=record,rrfile=...,rrsnapshot=init` and
// a qcow2 drive to hold the snapshot, replay with `-gdb` and `-qmp`, stop
// near the end with QMP's `replay-break`, then time the GDB protocol's `bs`
// (reverse-stepi) and `bc` (reverse-continue to a breakpoint) there.

/** What QEMU's part measured, or why it could not. */
export interface QemuReverse {
  /** Instructions in the recording (at its poweroff). */
  icount: number;
  /** Where the replay was stopped for the figures. */
  at: number;
  /** Wall time of the recording. */
  recordMs: number;
  /** `bs` latencies near the end of the replay. */
  reverseStepMs: number[];
  /** `bc` to the last hit of `pc`, or undefined if capped (or not run). */
  reverseContinueMs: number | undefined;
  /** The breakpoint's pc. */
  pc: bigint;
  /** Notes (timeouts). */
  notes: string[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(
        () => reject(new Error(`${what} took over ${ms / 1000} s`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(t));
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function connect(port: number, ms = 20_000): Promise<Deno.TcpConn> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A byte stream read into text as it arrives. */
function reader(conn: { readable: ReadableStream<Uint8Array> }) {
  const s = { text: "", closed: false };
  (async () => {
    try {
      for await (const c of conn.readable) {
        s.text += dec.decode(c, { stream: true });
      }
    } catch { /* closed */ }
    s.closed = true;
  })();
  return s;
}

async function until(
  s: { text: string; closed: boolean },
  test: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (s.closed) throw new Error(`${what}: the connection closed`);
    if (Date.now() > end) throw new Error(`${what} took over ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A minimal GDB remote protocol client. */
class Rsp {
  #conn: Deno.TcpConn;
  #in: { text: string; closed: boolean };
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#in = reader(conn);
  }
  async send(p: string, ms: number): Promise<string> {
    let sum = 0;
    for (const ch of enc.encode(p)) sum = (sum + ch) & 0xff;
    this.#in.text = "";
    await this.#conn.write(
      enc.encode(`$${p}#${sum.toString(16).padStart(2, "0")}`),
    );
    const re = /\$([^#]*)#[0-9a-f]{2}/;
    await until(this.#in, () => re.test(this.#in.text), ms, `gdb ${p}`);
    const reply = this.#in.text.match(re)![1]!;
    await this.#conn.write(enc.encode("+"));
    return reply;
  }
  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

/** A minimal QMP client. */
class Qmp {
  #conn: Deno.TcpConn;
  #in: { text: string; closed: boolean };
  #seen = 0;
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#in = reader(conn);
  }
  /** The next line with one of `keys`, after what was read before. */
  async line(keys: string[], ms: number): Promise<Record<string, unknown>> {
    for (;;) {
      let nl = this.#in.text.indexOf("\n", this.#seen);
      if (nl < 0) {
        await until(
          this.#in,
          () => this.#in.text.indexOf("\n", this.#seen) >= 0,
          ms,
          `QMP ${keys.join("/")}`,
        );
        nl = this.#in.text.indexOf("\n", this.#seen);
      }
      const l = this.#in.text.slice(this.#seen, nl);
      this.#seen = nl + 1;
      const v = JSON.parse(l) as Record<string, unknown>;
      if (keys.some((k) => k in v)) return v;
    }
  }
  async cmd(
    execute: string,
    args?: Record<string, unknown>,
    ms = 30_000,
  ): Promise<unknown> {
    await this.#conn.write(
      enc.encode(
        JSON.stringify(args ? { execute, arguments: args } : { execute }) +
          "\n",
      ),
    );
    const r = await this.line(["return", "error"], ms);
    if ("error" in r) {
      throw new Error(`QMP ${execute}: ${JSON.stringify(r.error)}`);
    }
    return r.return;
  }
  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

/**
 * Run QEMU's part: record the session, replay it under gdb and QMP, and
 * time `bs` and `bc` near the end. Every step has a time limit.
 *
 * @param options firmware and U-Boot paths, the typed commands, the icount
 *   shift, how many `bs` to time, the time limit of one `bs` or `bc`, and
 *   the instruction count to stop the replay at (deja's figures' depth)
 */
export async function qemuReverse(options: {
  bios: string;
  kernel: string;
  typed: readonly string[];
  shift: number;
  steps: number;
  limitMs: number;
  depth: number;
}): Promise<QemuReverse> {
  const dir = await Deno.makeTempDir({ prefix: "deja_qemu_rr_" });
  const notes: string[] = [];
  const base = [
    "-M",
    "virt",
    "-bios",
    options.bios,
    "-kernel",
    options.kernel,
    "-display",
    "none",
    "-monitor",
    "none",
    "-net",
    "none",
    "-drive",
    `file=${dir}/snap.qcow2,if=none`,
  ];
  const rr = (mode: string) =>
    `shift=${options.shift},rr=${mode},rrfile=${dir}/u-boot.rr,rrsnapshot=init`;
  try {
    const img = await new Deno.Command("qemu-img", {
      args: ["create", "-f", "qcow2", `${dir}/snap.qcow2`, "64M"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!img.success) throw new Error(dec.decode(img.stderr));

    // Record, typing each command at U-Boot's prompt; the instruction
    // count just before poweroff is where the replay stops.
    const qmpPort = freePort();
    const t0 = performance.now();
    const rec = new Deno.Command("qemu-system-riscv64", {
      args: [
        ...base,
        "-serial",
        "stdio",
        "-icount",
        rr("record"),
        "-qmp",
        `tcp:127.0.0.1:${qmpPort},server=on,wait=off`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Whatever happens below (a step that times out throws), the recording
    // process goes: left running, it would hold the bench open and take a
    // core from everything after.
    const recording = async <T>(body: () => Promise<T>): Promise<T> => {
      try {
        return await body();
      } finally {
        try {
          rec.kill("SIGKILL");
        } catch { /* exited */ }
        await rec.status;
      }
    };
    const out = reader({ readable: rec.stdout });
    const w = rec.stdin.getWriter();
    const { icount, recordMs } = await recording(async () => {
      const qmp = new Qmp(await connect(qmpPort));
      await qmp.line(["QMP"], 10_000);
      await qmp.cmd("qmp_capabilities");
      let icount = 0;
      const todo = [...options.typed];
      let prompts = 0;
      while (todo.length > 0) {
        const count = () =>
          (out.text.match(/=> /g)?.length ?? 0) +
          (out.text.includes("Hit any key") ? 1 : 0);
        await until(out, () => count() > prompts, 60_000, "QEMU's U-Boot")
          .catch((e) => {
            throw new Error(
              `${e.message}: ${JSON.stringify(out.text.slice(-300))}`,
            );
          });
        prompts = count();
        const line = todo.shift()!;
        if (line === "poweroff\n") {
          const r = await qmp.cmd("query-replay") as { icount: number };
          icount = r.icount;
        }
        // A few characters at a time, each chunk once U-Boot echoed the one
        // before: QEMU 7.2 drops serial input beyond its UART's FIFO while
        // recording.
        for (let i = 0; i < line.length; i += 8) {
          const chunk = line.slice(i, i + 8);
          const seen = out.text.length;
          await w.write(enc.encode(chunk));
          await until(
            out,
            () => out.text.length >= seen + chunk.replace("\n", "").length,
            5_000,
            "QEMU's echo",
          ).catch(() => {});
        }
      }
      await w.close().catch(() => {});
      qmp.close();
      if (!/crc32 for 80200000/i.test(out.text)) {
        notes.push(
          `QEMU's U-Boot did not run the crc32 command (typed input lost?): ${
            JSON.stringify(out.text.slice(-300))
          }`,
        );
      }
      await deadline(rec.status, 60_000, "QEMU's recording");
      return { icount, recordMs: performance.now() - t0 };
    });

    // Replay under gdb and QMP, stopped at the start.
    const gdbPort = freePort(), qPort = freePort();
    const rep = new Deno.Command("qemu-system-riscv64", {
      args: [
        ...base,
        "-serial",
        "null",
        "-icount",
        rr("replay"),
        "-gdb",
        `tcp:127.0.0.1:${gdbPort}`,
        "-qmp",
        `tcp:127.0.0.1:${qPort},server=on,wait=off`,
        "-S",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const q = new Qmp(await connect(qPort));
    const gdb = new Rsp(await connect(gdbPort));
    let pc = 0n, at = 0;
    let reverseContinueMs: number | undefined;
    const reverseStepMs: number[] = [];
    try {
      await q.line(["QMP"], 10_000);
      await q.cmd("qmp_capabilities");
      await gdb.send("?", 10_000);
      // As deep into the run as deja's figures (or near QEMU's end).
      at = Math.max(1, Math.min(icount - 1_000_000, options.depth));
      await q.cmd("replay-break", { icount: at });
      // gdb's continue; the stop comes when the replay reaches `at`.
      const stop = gdb.send("c", options.limitMs * 4);
      await deadline(stop, options.limitMs * 4, "QEMU replaying to the end");
      const le = (h: string) => {
        let v = 0n;
        for (let i = h.length - 2; i >= 0; i -= 2) {
          v = (v << 8n) | BigInt(parseInt(h.slice(i, i + 2), 16));
        }
        return v;
      };
      // The pc: register 32 of the `g` reply (16 hex digits each).
      const regs = await gdb.send("g", 10_000);
      pc = le(regs.slice(32 * 16, 33 * 16));
      notes.push(`QEMU stopped at instruction ${at}, pc 0x${pc.toString(16)}`);
      for (let i = 0; i < options.steps; i++) {
        const s0 = performance.now();
        try {
          await gdb.send("bs", options.limitMs);
        } catch (err) {
          notes.push(`QEMU reverse-stepi: ${(err as Error).message} (capped)`);
          break;
        }
        reverseStepMs.push(performance.now() - s0);
      }
      // reverse-continue to the last time the replay was at that pc (not
      // after a capped reverse-stepi: its reply would still be due).
      const c0 = performance.now();
      if (reverseStepMs.length < options.steps) {
        notes.push("QEMU reverse-continue: not run (reverse-stepi was capped)");
      } else {try {
          await gdb.send(`Z0,${pc.toString(16)},4`, 10_000);
          await gdb.send("bc", options.limitMs);
          reverseContinueMs = performance.now() - c0;
        } catch (err) {
          notes.push(
            `QEMU reverse-continue: ${(err as Error).message} (capped)`,
          );
        }}
    } finally {
      gdb.close();
      q.close();
      try {
        rep.kill("SIGKILL");
      } catch { /* gone */ }
      await rep.status;
    }
    return {
      icount,
      at,
      recordMs,
      reverseStepMs,
      reverseContinueMs,
      pc,
      notes,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
