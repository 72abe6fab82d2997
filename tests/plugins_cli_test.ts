// -device, -plugin and -serial tcp through the deja command, as a user runs
// them: a `deno run` subprocess with narrow permission flags.

import { equal, match, ok } from "node:assert/strict";
import { deja, dejaCommand, DEMO, ROOT } from "./_deja.ts";

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
      "error: Cannot replay this log: it holds replay event kinds that no loaded plugin provides: sensor.reading; load the plugins it was recorded with (-device PLUGIN.ts)",
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
