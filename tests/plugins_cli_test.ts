// -device, -plugin and -serial tcp through the deja command, as a user runs
// them: a `deno run` subprocess with narrow permission flags.

import { equal, match, ok } from "node:assert/strict";
import { deja, dejaCommand, DEMO, ROOT } from "./_deja.ts";
import { reader } from "./_mmio_reader.ts";
import { ReplayLogReader } from "../replay/log.ts";

const SENSOR = `${ROOT}/examples/sensor/sensor_plugin.ts`;
const GUEST = `${ROOT}/examples/sensor/guest/sensor.elf`;

const base = ["-nographic", "-bios", "none", "-kernel", GUEST];

Deno.test("deja records the sensor example and replays it with the host file deleted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/readings.txt`;
    const log = `${dir}/sensor.rr`;
    await Deno.writeTextFile(file, "1.5\n-2\n3.25\n4\n5\n6\n7\n8\n");
    const device = `${SENSOR},addr=0x10010000,irq=12,file=${file},period=3`;
    const rec = await deja(
      [`--allow-read=${ROOT},${file}`, `--allow-write=${log}`],
      [
        ...base,
        "-device",
        device,
        "-icount",
        `shift=3,rr=record,rrfile=${log}`,
      ],
    );
    equal(rec.code, 0, rec.stderr);
    match(rec.stdout, /reading 3: 3\.250/);
    match(rec.stdout, /sum: 32\.750, dropped: 0/);
    await Deno.remove(file);
    const rep = await deja(
      [`--allow-read=${ROOT},${log}`], // the file is gone, and not needed
      [
        ...base,
        "-device",
        device,
        "-icount",
        `shift=3,rr=replay,rrfile=${log}`,
      ],
    );
    equal(rep.code, 0, rep.stderr);
    equal(rep.stdout, rec.stdout);
    // Without the plugin, the log is refused before anything runs.
    const bare = await deja(
      [`--allow-read=${ROOT},${log}`],
      [...base, "-icount", `shift=3,rr=replay,rrfile=${log}`],
    );
    equal(bare.code, 1);
    equal(
      bare.stderr.trim(),
      "error: Cannot replay this log: it holds replay event kinds that no loaded plugin provides: sensor.reading@sensor; load the plugins it was recorded with (-device PLUGIN.ts, with name=INSTANCE for kind@INSTANCE)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deja names what is wrong with a plugin, and the fix", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/nodefault.ts`, "export const x = 1;\n");
    await Deno.writeTextFile(
      `${dir}/api.ts`,
      'export default { kind: "device", name: "old", version: "1", apiVersion: 9, create() {} };\n',
    );
    await Deno.writeTextFile(`${dir}/throws.ts`, 'throw new Error("boom");\n');
    const read = [`--allow-read=${ROOT},${dir}`];
    const cases: [string, string[], RegExp][] = [
      [
        "a module that does not exist",
        [
          "-device",
          `${dir}/missing.ts,addr=0x10010000`,
        ],
        /^error: Cannot load plugin .*missing\.ts: the module does not exist \(file:\/\/.*\); check the path/,
      ],
      [
        "a module that throws",
        [
          "-device",
          `${dir}/throws.ts,addr=0x10010000`,
        ],
        /^error: Cannot load plugin .*throws\.ts: the module failed to import: boom; fix the module/,
      ],
      [
        "no default export",
        [
          "-device",
          `${dir}/nodefault.ts,addr=0x10010000`,
        ],
        /the module has no default export; end it with export default defineDevicePlugin\(\{ \.\.\. \}\)/,
      ],
      [
        "the wrong API version",
        [
          "-device",
          `${dir}/api.ts,addr=0x10010000`,
        ],
        /^error: Cannot load plugin old: it was written for plugin API version 9, and this deja speaks versions 1 to 1; update deja/,
      ],
      [
        "an unknown option",
        [
          "-device",
          `${SENSOR},addr=0x10010000,file=x,perod=5`,
        ],
        /^error: Bad option perod for plugin sensor: it is not an option of sensor; it takes addr, irq, name, file, period/,
      ],
      [
        "a bad option value",
        [
          "-device",
          `${SENSOR},addr=0x10010000,file=x,period=fast`,
        ],
        /^error: Bad option period for plugin sensor-file: "fast" is not a number/,
      ],
      [
        "no addr",
        [
          "-device",
          `${SENSOR},file=x`,
        ],
        /^error: Bad option addr for plugin sensor: it is required; add addr=0x10010000/,
      ],
      [
        "a device plugin given to -plugin",
        [
          "-plugin",
          SENSOR,
        ],
        /^error: Cannot load plugin sensor: it is a device plugin, not an instrumentation plugin; load it with -device/,
      ],
    ];
    for (const [what, args, want] of cases) {
      await t.step(what, async () => {
        const r = await deja(read, [...base, ...args]);
        equal(r.code, 1, r.stdout);
        match(r.stderr, want);
        ok(!r.stderr.includes("    at "), `no stack trace: ${r.stderr}`);
      });
    }
    await t.step(
      "a missing read permission names the plugin file",
      async () => {
        const r = await deja([`--allow-read=${ROOT}`], [
          ...base,
          "-device",
          `${dir}/api.ts,addr=0x10010000`,
        ]);
        equal(r.code, 1);
        match(
          r.stderr,
          new RegExp(
            `add --allow-read=${dir}/api\\.ts to the deno run command`,
          ),
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-plugin insn reports the instruction count on stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/r.txt`;
    await Deno.writeTextFile(file, "1\n2\n3\n4\n5\n6\n7\n8\n");
    const r = await deja([`--allow-read=${ROOT},${file}`], [
      ...base,
      "-device",
      `${SENSOR},addr=0x10010000,irq=12,file=${file},period=2`,
      "-plugin",
      "insn",
      "-plugin",
      "hotblocks,limit=2",
    ]);
    equal(r.code, 0, r.stderr);
    match(r.stdout, /sum: 36\.000/);
    match(
      r.stderr,
      /^insns: \d+\npc, insns, execs\n0x[0-9a-f]{16}, \d+, \d+\n/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-serial tcp:127.0.0.1:PORT,server,nowait is the console", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const none = await deja([`--allow-read=${ROOT}`], [
    "-nographic",
    "-bios",
    "none",
    "-kernel",
    DEMO,
    "-serial",
    `tcp:127.0.0.1:${port},server,nowait`,
  ]);
  equal(none.code, 1);
  equal(
    none.stderr.trim(),
    "error: Missing permission: net access to 127.0.0.1; add --allow-net=127.0.0.1 to the deno run command",
  );
  const child = dejaCommand(
    [`--allow-read=${ROOT}`, "--allow-net=127.0.0.1"],
    [
      "-nographic",
      "-bios",
      "none",
      "-kernel",
      DEMO,
      "-serial",
      `tcp:127.0.0.1:${port},server`, // wait for the client
    ],
    "null",
  ).spawn();
  let conn: Deno.Conn | undefined;
  for (let i = 0; i < 200 && !conn; i++) {
    conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(
      () => undefined,
    );
    if (!conn) await new Promise((r) => setTimeout(r, 50));
  }
  ok(conn, "deja listens");
  const dec = new TextDecoder();
  let text = "";
  const buf = new Uint8Array(4096);
  const enc = new TextEncoder();
  let sent = 0;
  while (!text.includes("goodbye")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += dec.decode(buf.subarray(0, n));
    if (sent === 0 && text.includes("> ")) {
      sent++;
      await conn.write(enc.encode("hello\rquit\r"));
    }
  }
  conn.close();
  const out = await child.output();
  equal(out.code, 0, dec.decode(out.stderr));
  match(text, /deja demo guest/, "the banner waited for the client");
  match(text, /reversed: olleh/);
  match(text, /goodbye/);
});

Deno.test("-plugin loads a third-party instrumentation module with its options", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/r.txt`;
    await Deno.writeTextFile(file, "1\n2\n3\n4\n5\n6\n7\n8\n");
    await Deno.writeTextFile(
      `${dir}/sensor_reads.ts`,
      `import { defineInstrumentationPlugin, PLUGIN_API_VERSION } from "${
        new URL("../plugins/mod.ts", import.meta.url).href
      }";
export default defineInstrumentationPlugin({
  kind: "instrumentation",
  name: "sensor-reads",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  options: { addr: { type: "number", required: true } },
  create: (ctx, o) => {
    let reads = 0;
    return {
      mem: (a) => {
        if (a.access === "read" && a.addr === BigInt(o.addr)) reads++;
      },
      exit: () => ctx.output("data reads: " + reads),
    };
  },
});
`,
    );
    const r = await deja([`--allow-read=${ROOT},${dir}`], [
      ...base,
      "-device",
      `${SENSOR},addr=0x10010000,irq=12,file=${file},period=2`,
      "-plugin",
      `${dir}/sensor_reads.ts,addr=0x10010008`,
    ]);
    equal(r.code, 0, r.stderr);
    match(r.stdout, /sum: 36\.000/);
    // The guest pops exactly one reading per DATA read.
    equal(r.stderr, "data reads: 8\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// Issue 14, through the command as a user meets it.

/** A sensor plugin at another version, or with a faulty callback. */
function variant(body: string): string {
  return `import sensor from "${SENSOR}";
import { defineDevicePlugin } from "${ROOT}/plugins/mod.ts";
${body}
`;
}

Deno.test("two instances of the sensor: each gets its own backend's readings, recorded and replayed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = `${dir}/a.txt`, b = `${dir}/b.txt`, log = `${dir}/two.rr`;
    await Deno.writeTextFile(a, "1\n2\n3\n4\n5\n6\n7\n8\n");
    await Deno.writeTextFile(b, "100\n200\n300\n400\n500\n600\n700\n800\n");
    const devices = [
      "-device",
      `${SENSOR},addr=0x10010000,irq=12,file=${a},period=3`,
      "-device",
      `${SENSOR},addr=0x10011000,irq=13,name=sensor2,file=${b},period=3`,
    ];
    const rec = await deja(
      [`--allow-read=${ROOT},${a},${b}`, `--allow-write=${log}`],
      [...base, ...devices, "-icount", `shift=3,rr=record,rrfile=${log}`],
    );
    equal(rec.code, 0, rec.stderr);
    // The guest reads the first sensor only: the second's readings must
    // not reach it.
    match(rec.stdout, /sum: 36\.000, dropped: 0/);
    await Deno.remove(a);
    await Deno.remove(b);
    const rep = await deja(
      [`--allow-read=${ROOT},${log}`],
      [...base, ...devices, "-icount", `shift=3,rr=replay,rrfile=${log}`],
    );
    equal(rep.code, 0, rep.stderr);
    equal(rep.stdout, rec.stdout);
    // Without the second instance the log is refused before it starts.
    const one = await deja(
      [`--allow-read=${ROOT},${log}`],
      [
        ...base,
        ...devices.slice(0, 2),
        "-icount",
        `shift=3,rr=replay,rrfile=${log}`,
      ],
    );
    equal(one.code, 1, one.stdout);
    equal(
      one.stderr.trim(),
      "error: Cannot replay this log: it holds replay event kinds that no loaded plugin provides: sensor.reading@sensor2; load the plugins it was recorded with (-device PLUGIN.ts, with name=INSTANCE for kind@INSTANCE)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("misuse of a plugin is one line naming the plugin and the cause, with no stack trace", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/broken.ts`,
      variant(`export default defineDevicePlugin({
  ...sensor,
  name: "broken",
  backend: undefined,
  create: (ctx, o) => {
    const dev = sensor.create(ctx, o);
    const r = dev.regions[0]!;
    return {
      ...dev,
      regions: [{
        ...r,
        name: "broken",
        read: (offset: number, size: 1 | 2 | 4 | 8) => {
          if (offset === 0) throw new Error("the ID register is gone");
          return r.read(offset, size);
        },
      }],
    };
  },
});`),
    );
    await Deno.writeTextFile(
      `${dir}/chatty.ts`,
      variant(`export default defineDevicePlugin({
  ...sensor,
  name: "chatty",
  backend: {
    ...sensor.backend!,
    name: "chatty-file",
    options: {},
    permissions: () => [],
    create: (ctx) => {
      setTimeout(() => (ctx.emit as (k: string, v: unknown) => void)("chatty.oops", 1), 1);
      return {};
    },
  },
});`),
    );
    await Deno.writeTextFile(`${dir}/r.txt`, "1\n");
    await Deno.writeTextFile(`${dir}/bad.txt`, "1\nwarm\n");
    await Deno.writeTextFile(
      `${dir}/badhook.ts`,
      `import { defineInstrumentationPlugin, PLUGIN_API_VERSION } from "${ROOT}/plugins/mod.ts";
export default defineInstrumentationPlugin({
  kind: "instrumentation", name: "badhook", version: "1.0.0", apiVersion: PLUGIN_API_VERSION,
  create: () => {
    let n = 0;
    return { insn: () => { if (++n === 100) throw new RangeError("counter overflow"); } };
  },
});
`,
    );
    await Deno.writeTextFile(
      `${dir}/badcreate.ts`,
      variant(
        `export default defineDevicePlugin({ ...sensor, name: "badcreate", backend: undefined, create: () => { throw new Error("no such sensor"); } });`,
      ),
    );
    const read = [`--allow-read=${ROOT},${dir}`];
    const cases: [string, string[], RegExp][] = [
      [
        "addr= beyond the address space",
        ["-device", `${SENSOR},addr=0x8000000000000000,file=${dir}/r.txt`],
        /^error: Bad option addr for plugin sensor: (the window )?0x8000000000000000 .*outside the physical address space/,
      ],
      [
        "addr= over the UART",
        ["-device", `${SENSOR},addr=0x10000000,file=${dir}/r.txt`],
        /^error: Bad option addr for plugin sensor: the window 0x10000000 to 0x10000fff overlaps ns16550a/,
      ],
      [
        "an MMIO read that throws",
        ["-device", `${dir}/broken.ts,addr=0x10010000,irq=12`],
        /^error: Plugin broken \(instance broken\) failed in MMIO read of region broken at offset 0x0, guest pc 0x8[0-9a-f]+ \(instruction \d+\): the ID register is gone$/m,
      ],
      [
        "a device's create that throws",
        ["-device", `${dir}/badcreate.ts,addr=0x10010000`],
        /^error: Cannot load plugin badcreate: its create function failed for device badcreate: no such sensor$/m,
      ],
      [
        "an instrumentation hook that throws",
        ["-plugin", `${dir}/badhook.ts`],
        /^error: Plugin badhook \(instance badhook\) failed in its insn hook, guest pc 0x[0-9a-f]+: counter overflow$/m,
      ],
      [
        "a backend whose create throws",
        ["-device", `${SENSOR},addr=0x10010000,irq=12,file=${dir}/bad.txt`],
        /^error: Cannot load plugin sensor-file: its create function failed for device sensor: Cannot read sensor readings from .*bad\.txt: line 2 is "warm"; expected a number$/m,
      ],
      [
        "a backend's undeclared emit",
        ["-device", `${dir}/chatty.ts,addr=0x10010000,irq=12`],
        /^error: Plugin chatty-file \(backend of chatty\) emitted replay event kind "chatty\.oops", which it does not declare; add it to produces \(declared: sensor\.reading\)$/m,
      ],
    ];
    for (const [what, args, want] of cases) {
      await t.step(what, async () => {
        const r = await deja(read, [...base, ...args]);
        equal(r.code, 1, r.stdout + r.stderr);
        match(r.stderr, want);
        ok(!r.stderr.includes("    at "), `no stack trace: ${r.stderr}`);
        equal(
          r.stderr.trimEnd().split("\n").length,
          1,
          `one line: ${r.stderr}`,
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a replay with another version of a plugin says which, and what to do", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/r.txt`, log = `${dir}/v.rr`;
    await Deno.writeTextFile(file, "1\n2\n3\n4\n5\n6\n7\n8\n");
    await Deno.writeTextFile(
      `${dir}/newer.ts`,
      variant(
        `export default defineDevicePlugin({ ...sensor, version: "1.1.0" });`,
      ),
    );
    const rec = await deja(
      [`--allow-read=${ROOT},${file}`, `--allow-write=${log}`],
      [
        ...base,
        "-device",
        `${SENSOR},addr=0x10010000,irq=12,file=${file},period=3`,
        "-icount",
        `shift=3,rr=record,rrfile=${log}`,
      ],
    );
    equal(rec.code, 0, rec.stderr);
    const rep = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [
        ...base,
        "-device",
        `${dir}/newer.ts,addr=0x10010000,irq=12,file=${file}`,
        "-icount",
        `shift=3,rr=replay,rrfile=${log}`,
      ],
    );
    equal(rep.code, 1, rep.stdout);
    match(rep.stderr, /sensor 1\.0\.0 recorded, 1\.1\.0 given/);
    match(rep.stderr, /record again/);
    ok(!rep.stderr.includes("{"), `no raw JSON: ${rep.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a device that pulls host data logs one event per value, and replays without its backend", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/trng.rr`, kernel = `${dir}/reads8.bin`;
    await Deno.writeFile(
      kernel,
      reader(Array.from({ length: 8 }, () => [0x1003_0000, 4])),
    );
    const args = [
      "-nographic",
      "-bios",
      "none",
      "-kernel",
      kernel,
      "-device",
      `${ROOT}/examples/trng/trng_plugin.ts,addr=0x10030000`,
    ];
    const rec = await deja(
      [`--allow-read=${ROOT},${dir}`, `--allow-write=${log}`],
      [...args, "-icount", `shift=3,rr=record,rrfile=${log}`],
    );
    equal(rec.code, 0, rec.stderr);
    const words = [...new ReplayLogReader(await Deno.readFile(log))].filter(
      (e) => e.kind === "plugin-event" && e.event === "trng.word@trng",
    );
    equal(words.length, 8, "one logged event per word the guest read");
    const rep = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [...args, "-icount", `shift=3,rr=replay,rrfile=${log}`],
    );
    equal(rep.code, 0, rep.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an error in the middle of a line of guest output starts a line of its own", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Throws at the guest's first ":" to the UART, in the middle of a line.
    await Deno.writeTextFile(
      `${dir}/colon.ts`,
      `import { defineInstrumentationPlugin, PLUGIN_API_VERSION } from "${ROOT}/plugins/mod.ts";
export default defineInstrumentationPlugin({
  kind: "instrumentation", name: "colon", version: "1.0.0", apiVersion: PLUGIN_API_VERSION,
  create: () => ({
    mem: (a) => {
      if (a.access === "write" && a.addr === 0x10000000n && a.value === 0x3an) {
        throw new Error("no colons");
      }
    },
  }),
});
`,
    );
    await Deno.writeTextFile(`${dir}/r.txt`, "1\n");
    const r = await deja([`--allow-read=${ROOT},${dir}`], [
      ...base,
      "-device",
      `${SENSOR},addr=0x10010000,irq=12,file=${dir}/r.txt`,
      "-plugin",
      `${dir}/colon.ts`,
    ]);
    equal(r.code, 1, r.stderr);
    // The hook sees the store after it: the ":" is out, then a line break.
    equal(r.stdout, "sensor:\r\n");
    match(
      r.stderr,
      /^error: Plugin colon \(instance colon\) failed in its mem hook, guest pc 0x[0-9a-f]+: no colons\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plugin failure ends the recording cleanly: the log replays up to that instruction", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = `${dir}/fail.rr`;
    await Deno.writeTextFile(
      `${dir}/broken.ts`,
      variant(`export default defineDevicePlugin({
  ...sensor,
  name: "broken",
  backend: undefined,
  create: (ctx, o) => {
    const dev = sensor.create(ctx, o);
    const r = dev.regions[0]!;
    return {
      ...dev,
      regions: [{
        ...r,
        read: (offset: number, size: 1 | 2 | 4 | 8) => {
          if (offset === 4) throw new Error("the COUNT register is gone");
          return r.read(offset, size);
        },
      }],
    };
  },
});`),
    );
    const device = ["-device", `${dir}/broken.ts,addr=0x10010000,irq=12`];
    const rec = await deja(
      [`--allow-read=${ROOT},${dir}`, `--allow-write=${log}`],
      [...base, ...device, "-icount", `shift=3,rr=record,rrfile=${log}`],
    );
    equal(rec.code, 1, rec.stdout);
    const at = /\(instruction (\d+)\): the COUNT register is gone\n$/.exec(
      rec.stderr,
    );
    ok(at, rec.stderr);
    const rep = await deja(
      [`--allow-read=${ROOT},${dir}`],
      [...base, ...device, "-icount", `shift=3,rr=replay,rrfile=${log}`],
    );
    equal(rep.code, 0, rep.stderr);
    ok(rep.stdout.startsWith(rec.stdout), rep.stdout);
    match(
      rep.stdout,
      new RegExp(`replay reached the end of .* at instruction ${at[1]}`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
