// End-to-end record/replay with the `deja` command: `-icount rr=record`
// writes the log as it goes, so a recording killed with SIGKILL replays up
// to its last event; replays work with -serial stdio or null; corrupt logs,
// another machine and missing permissions get one clear line; `dump` prints
// the log.

import { equal, match, ok } from "node:assert/strict";
import { ReplayLogReader } from "../replay/log.ts";
import { deja, dejaCommand, DEMO, type Result, ROOT } from "./_deja.ts";

const UART = `${ROOT}/tests/guest/build/uart.elf`;
const dec = new TextDecoder();

function noStackTrace(r: Result): void {
  ok(!/^\s+at /m.test(r.stderr), `a stack trace:\n${r.stderr}`);
  equal(r.stderr.trim().split("\n").length, 1, r.stderr);
}

const machine = ["-M", "virt", "-bios", "none", "-kernel", DEMO];

/** The demo machine replaying FILE, its console on `serial`, no display. */
function replayArgs(file: string, serial = "null"): string[] {
  return [
    ...machine,
    "-display",
    "none",
    "-serial",
    serial,
    "-icount",
    `shift=3,rr=replay,rrfile=${file}`,
  ];
}

async function recordDemo(rr: string, extra = ""): Promise<Result> {
  return await deja(
    [`--allow-read=${ROOT}`, `--allow-write=${rr}`],
    [
      ...machine,
      "-nographic",
      "-icount",
      `shift=3,rr=record,rrfile=${rr}${extra}`,
    ],
    "hello\nracecar\nquit\n",
  );
}

Deno.test("deja records a session and replays it with -serial stdio and -serial null", async () => {
  const rr = await Deno.makeTempFile({ suffix: ".rr" });
  try {
    const rec = await recordDemo(rr);
    equal(rec.code, 0, rec.stderr);
    match(rec.stdout, /reversed: racecar/);
    const events = [...new ReplayLogReader(await Deno.readFile(rr))];
    equal(events[0]!.kind, "config");
    // The FDT's rng-seed, as QEMU writes it: host entropy, logged.
    ok(events.some((e) => e.kind === "random" && e.bytes.length === 32));
    equal(events.at(-2)!.kind, "shutdown");
    equal(events.at(-1)!.kind, "end");

    // stdin is not connected in a replay: what it says is ignored.
    const rep = await deja(
      [`--allow-read=${ROOT},${rr}`],
      [...machine, "-nographic", "-icount", `shift=3,rr=replay,rrfile=${rr}`],
      "this is not typed\n",
    );
    equal(rep.code, 0, rep.stderr);
    equal(rep.stdout, rec.stdout, "the serial output is byte-identical");

    const quiet = await deja([`--allow-read=${ROOT},${rr}`], replayArgs(rr));
    equal(quiet.code, 0, quiet.stderr);
    equal(quiet.stdout, "");
  } finally {
    await Deno.remove(rr);
  }
});

Deno.test("A recording the user quits (Ctrl-A x) ends with a host shutdown and replays to it", async () => {
  const rr = await Deno.makeTempFile({ suffix: ".rr" });
  try {
    const rec = await deja(
      [`--allow-read=${ROOT}`, `--allow-write=${rr}`],
      [...machine, "-nographic", "-icount", `shift=3,rr=record,rrfile=${rr}`],
      "hello\n\x01x",
    );
    equal(rec.code, 0, rec.stderr);
    const events = [...new ReplayLogReader(await Deno.readFile(rr))];
    const last = events.at(-2)!;
    equal(last.kind === "shutdown" && last.cause, "host-signal");
    equal(events.at(-1)!.kind, "end");
    const rep = await deja(
      [`--allow-read=${ROOT},${rr}`],
      replayArgs(rr, "stdio"),
    );
    equal(rep.code, 0, rep.stderr);
    // Both end with deja's own note; the guest's output is the same.
    const guest = (s: string) => s.replace(/\r\ndeja: [^]*$/, "");
    match(rec.stdout, /deja: terminating on C-a x/);
    match(rep.stdout, /deja: replay reached the end of .* at instruction \d+/);
    equal(guest(rep.stdout), guest(rec.stdout));
  } finally {
    await Deno.remove(rr);
  }
});

Deno.test("deja replays a guest's exit status", async () => {
  // li t0, 0x100000 ; li t1, (3 << 16) | 0x3333 ; sw t1, 0(t0): sifive_test
  // FAIL with code 3.
  const kernel = await Deno.makeTempFile({ suffix: ".bin" });
  const rr = await Deno.makeTempFile({ suffix: ".rr" });
  try {
    await Deno.writeFile(
      kernel,
      new Uint8Array(
        new Uint32Array([0x001002b7, 0x00033337, 0x33330313, 0x0062a023])
          .buffer,
      ),
    );
    const args = ["-M", "virt", "-bios", "none", "-kernel", kernel];
    const rec = await deja(
      [`--allow-read=${ROOT},${kernel}`, `--allow-write=${rr}`],
      [...args, "-nographic", "-icount", `shift=3,rr=record,rrfile=${rr}`],
    );
    equal(rec.code, 3, rec.stderr);
    const events = [...new ReplayLogReader(await Deno.readFile(rr))];
    equal(events.at(-2)!.kind, "shutdown");
    const status = events.at(-3)!;
    equal(status.kind === "exit-status" && status.code, 3);
    // The reset-vector ROM, then the kernel's 4 instructions.
    ok(events.at(-1)!.icount >= 4 && events.at(-1)!.icount < 20);
    const rep = await deja(
      [`--allow-read=${ROOT},${kernel},${rr}`],
      [...args, "-nographic", "-icount", `shift=3,rr=replay,rrfile=${rr}`],
    );
    equal(rep.code, 3, rep.stderr);
  } finally {
    await Deno.remove(rr);
    await Deno.remove(kernel);
  }
});

Deno.test("A recording killed with SIGKILL replays up to its last event, then stops with the icount", async () => {
  const rr = await Deno.makeTempFile({ suffix: ".rr" });
  try {
    const child = dejaCommand(
      [`--allow-read=${ROOT}`, `--allow-write=${rr}`],
      [...machine, "-nographic", "-icount", `shift=3,rr=record,rrfile=${rr}`],
      "piped",
    ).spawn();
    const writer = child.stdin.getWriter();
    const reader = child.stdout.getReader();
    let out = "";
    let typed = false;
    // Type a line at the prompt, let it answer, then kill the recorder
    // while the guest waits for more input.
    while (!/reversed: olleh[^]*> $/.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value, { stream: true });
      if (!typed && out.includes("> ")) {
        await writer.write(new TextEncoder().encode("hello\n"));
        typed = true;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGKILL");
    const status = await child.status;
    equal(status.signal, "SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel();
    await child.stderr.cancel();
    await writer.abort().catch(() => {});

    const log = await Deno.readFile(rr);
    ok(log.length > 12, "the header and events were written");
    const rep = await deja(
      [`--allow-read=${ROOT},${rr}`],
      replayArgs(rr, "stdio"),
    );
    equal(rep.code, 1);
    noStackTrace(rep);
    const m =
      /ends early, so the replay stopped at instruction (\d+): .*byte (\d+): the log ends without an EVENT_END at icount (\d+)/
        .exec(rep.stderr);
    ok(m, rep.stderr);
    equal(m[1], m[3]);
    equal(Number(m[2]), log.length, "every complete event was used");
    // Everything up to the last event replayed, including the typed line.
    match(rep.stdout, /reversed: olleh/);
    ok(
      rep.stdout.startsWith(out),
      "the replay shows what the recording showed",
    );

    // The dump reads it too, and says where it ends.
    const dump = await deja([`--allow-read=${rr}`], ["dump", rr]);
    equal(dump.code, 1);
    match(
      dump.stdout,
      /EVENT_DEJA_SERIAL_INPUT\(194\) icount \d+ device 0 "h"/,
    );
    // The idle guest's clock followed real time (sleep=on): logged warps.
    match(
      dump.stdout,
      /EVENT_CP_CLOCK_WARP_ACCOUNT\(31\) icount \d+\n.*EVENT_CLOCK_VIRTUAL_RT\(29\)/,
    );
    match(
      dump.stderr,
      new RegExp(`byte ${log.length}: the log ends without an EVENT_END`),
    );
  } finally {
    await Deno.remove(rr);
  }
});

Deno.test("deja reports a corrupt log, another machine and missing permissions in one line", async (t) => {
  const rr = await Deno.makeTempFile({ suffix: ".rr" });
  try {
    equal((await recordDemo(rr, ",rrcheck=2000")).code, 0);
    const log = await Deno.readFile(rr);
    const events = [...new ReplayLogReader(log)];
    ok(events.some((e) => e.kind === "state-hash"));
    await t.step("rrcheck replays with every hash matching", async () => {
      const r = await deja([`--allow-read=${ROOT},${rr}`], replayArgs(rr));
      equal(r.code, 0, r.stderr);
    });

    await t.step("a corrupt event id names its byte offset", async () => {
      const bad = await Deno.makeTempFile({ suffix: ".rr" });
      const target = events.find((e) => e.kind === "serial-input")!;
      const copy = log.slice();
      copy[target.byteOffset] = 0x99;
      await Deno.writeFile(bad, copy);
      const r = await deja([`--allow-read=${ROOT},${bad}`], replayArgs(bad));
      await Deno.remove(bad);
      equal(r.code, 1);
      noStackTrace(r);
      match(
        r.stderr,
        new RegExp(
          `byte ${target.byteOffset}: unknown event id 0x99; expected one of`,
        ),
      );
    });

    await t.step("another RAM size is named", async () => {
      const r = await deja(
        [`--allow-read=${ROOT},${rr}`],
        ["-m", "64M", ...replayArgs(rr)],
      );
      equal(r.code, 1);
      noStackTrace(r);
      match(
        r.stderr,
        /RAM size differs: recorded 134217728 bytes, given 67108864 bytes/,
      );
    });

    await t.step("another kernel is named", async () => {
      const args = replayArgs(rr);
      args[args.indexOf(DEMO)] = UART;
      const r = await deja([`--allow-read=${ROOT},${rr}`], args);
      equal(r.code, 1);
      noStackTrace(r);
      match(
        r.stderr,
        /kernel image \(-kernel\) differs: recorded sha256 [0-9a-f]{16}/,
      );
    });

    await t.step(
      "rr=replay without read permission gets the flag",
      async () => {
        const r = await deja(
          [`--allow-read=${ROOT}`],
          replayArgs("/tmp/deja-none.rr"),
        );
        equal(r.code, 1);
        match(r.stderr, /--allow-read=\/tmp\/deja-none\.rr/);
      },
    );

    await t.step(
      "rr=record without write permission gets the flag",
      async () => {
        const r = await deja(
          [`--allow-read=${ROOT}`],
          [
            ...machine,
            "-display",
            "none",
            "-serial",
            "null",
            "-icount",
            "rr=record,rrfile=/tmp/deja-x.rr",
          ],
        );
        equal(r.code, 1);
        match(r.stderr, /--allow-write=\/tmp\/deja-x\.rr/);
      },
    );

    await t.step(
      "dump prints every event with its absolute icount",
      async () => {
        const r = await deja([`--allow-read=${rr}`], ["dump", rr]);
        equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split("\n");
        equal(lines[0], "HEADER: version 0xe0200c");
        match(
          lines[1]!,
          /^1:EVENT_DEJA_CONFIG\(192\) icount 0 \{"board":"virt"/,
        );
        equal(lines.length, events.length + 2);
        match(
          r.stdout,
          /EVENT_DEJA_STATE_HASH\(193\) icount 2000 ram [0-9a-f]{32} xregs/,
        );
        match(
          lines.at(-2)!,
          new RegExp(`EVENT_END\\(39\\) icount ${events.at(-1)!.icount}$`),
        );
      },
    );
  } finally {
    await Deno.remove(rr);
  }
});

Deno.test("A recording whose -device plugin throws ends the log there, and the log replays up to it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The sensor example, with a COUNT register read that throws.
    const plugin = `${dir}/broken.ts`;
    await Deno.writeTextFile(
      plugin,
      `import sensor from "${ROOT}/examples/sensor/sensor_plugin.ts";
import { defineDevicePlugin } from "${ROOT}/plugins/mod.ts";
export default defineDevicePlugin({
  ...sensor,
  name: "broken",
  backend: undefined,
  create: (ctx, o) => {
    const dev = sensor.create(ctx, o);
    const r = dev.regions[0]!;
    return {
      ...dev,
      regions: [{ ...r, read: (offset: number, size: 1 | 2 | 4 | 8) => {
        if (offset === 4) throw new Error("the COUNT register is gone");
        return r.read(offset, size);
      } }],
    };
  },
});
`,
    );
    const rr = `${dir}/broken.rr`;
    const args = (mode: string) => [
      "-nographic",
      "-bios",
      "none",
      "-kernel",
      `${ROOT}/examples/sensor/guest/sensor.elf`,
      "-device",
      `${plugin},addr=0x10010000,irq=12`,
      "-icount",
      `shift=3,rr=${mode},rrfile=${rr}`,
    ];
    const rec = await deja(
      [`--allow-read=${ROOT},${dir}`, `--allow-write=${rr}`],
      args("record"),
    );
    equal(rec.code, 1);
    match(rec.stderr, /^error: .*the COUNT register is gone/);
    noStackTrace(rec);
    const events = [...new ReplayLogReader(await Deno.readFile(rr))];
    const end = events.at(-1)!;
    equal(end.kind, "end");
    ok(end.icount > 0, "the log goes up to the failing instruction");
    const cause = events.at(-2)!;
    equal(cause.kind === "shutdown" ? cause.cause : cause.kind, "host-error");
    // The replay runs to where the recording stopped, with the same output.
    const rep = await deja([`--allow-read=${ROOT},${dir}`], args("replay"));
    equal(rep.code, 0, rep.stderr);
    ok(rep.stdout.startsWith(rec.stdout), rep.stdout);
    match(rep.stdout, /replay reached the end of .* at instruction (\d+)/);
    equal(
      Number(/at instruction (\d+)/.exec(rep.stdout)![1]),
      end.icount,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
