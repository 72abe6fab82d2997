// The plugin registry: kinds, API versions, options, declared replay events,
// declared device state, plugin devices on the board.

import {
  deepEqual,
  equal,
  match,
  notEqual,
  ok,
  rejects,
  throws,
} from "node:assert/strict";
import {
  clintPlugin,
  plicPlugin,
  rtcPlugin,
  sifiveTestPlugin,
  sifiveTestState,
  uartPlugin,
  virtioMmioPlugin,
} from "../devices/builtin_plugins.ts";
import type { Uart16550 } from "../devices/uart_16550.ts";
import { VirtMachine } from "../devices/virt.ts";
import {
  checkPlugin,
  decodeState,
  defineBackendPlugin,
  defineDevicePlugin,
  defineInstrumentationPlugin,
  defineState,
  encodeState,
  parseOptions,
  PLUGIN_API_VERSION,
  PluginError,
  PluginOptionsError,
  PluginRegistry,
  StateError,
  UndeclaredEventError,
  UnknownEventKindError,
} from "../plugins/mod.ts";
import { assertStateRoundTrip, replaySession } from "../plugins/testing.ts";
import { dumpLog, ReplayLogWriter } from "../replay/mod.ts";
import { replay } from "../replay/session.ts";
import {
  fileBackend,
  nullBackend,
  socketBackend,
} from "../plugins/char_backends.ts";

Deno.test("every built-in device survives a state round trip", async (t) => {
  await t.step("plic", () => {
    assertStateRoundTrip(plicPlugin, {
      addr: 0,
      options: { base: 0 },
      drive: (_p, io) => {
        io.write(5 * 4, 4, 3); // priority of source 5
        io.write(0x2000, 4, 0x60); // M-context enables
        io.write(0x2080, 4, 0x20); // S-context enables
        io.write(0x200000, 4, 1); // M threshold
      },
    });
  });
  await t.step("clint", () => {
    assertStateRoundTrip(clintPlugin, {
      addr: 0,
      options: { base: 0 },
      drive: (_c, io) => {
        io.write(0, 4, 1); // msip
        io.write(0x4000, 4, 5000); // mtimecmp, arms the timer
        io.write(0xbff8, 4, 77); // mtime
        io.advance(10);
      },
    });
  });
  await t.step("ns16550a", () => {
    assertStateRoundTrip(uartPlugin, {
      addr: 0,
      options: { base: 0, irq: 10, output: () => {} },
      drive: (u: Uart16550, io) => {
        io.write(3, 1, 0x03); // 8N1
        io.write(2, 1, 0xc1); // FIFO on, trigger level 14
        io.write(1, 1, 0x01); // receive interrupt
        io.write(7, 1, 0x5a); // scratch
        for (const b of [0x68, 0x69]) u.receive(b); // arms the timeout
      },
    });
  });
  await t.step("goldfish_rtc", () => {
    assertStateRoundTrip(rtcPlugin, {
      addr: 0,
      options: {
        base: 0,
        irq: 11,
        hostClock: () => 1_700_000_000_000_000_000n,
      },
      drive: (_r, io) => {
        io.write(0x10, 4, 1); // irq enabled
        io.write(0x0c, 4, 0x1797); // alarm high
        io.write(0x08, 4, 0x1234_5678); // alarm low: arms the alarm
      },
    });
  });
  await t.step("sifive_test (no state)", () => {
    const bytes = assertStateRoundTrip(sifiveTestPlugin, {
      addr: 0,
      options: { base: 0, onShutdown: () => {} },
    });
    deepEqual(
      Object.keys(decodeState(sifiveTestState, bytes)),
      [],
    );
  });
  await t.step("virtio-mmio (no state)", () => {
    assertStateRoundTrip(virtioMmioPlugin, { addr: 0, options: { base: 0 } });
  });
});

Deno.test("assertStateRoundTrip refuses a drive that changes no state", () => {
  throws(
    () =>
      assertStateRoundTrip(clintPlugin, {
        addr: 0,
        options: { base: 0 },
        drive: (_c, io) => void io.read(0x4000, 4),
      }),
    /proves nothing/,
  );
});

Deno.test("decodeState names a missing field and a wrong version", () => {
  const v1 = defineState({ name: "d", version: 1, fields: { a: "u8" } });
  const v2 = defineState({
    name: "d",
    version: 2,
    fields: { a: "u8", b: "u32" },
  });
  throws(() => decodeState(v2, encodeState(v1, { a: 1 })), {
    name: "StateError",
    message:
      "Cannot restore d state: the bytes are version 1, this device reads version 2",
  });
  const v2up = defineState({
    ...v2,
    upgrade: (_from, old) => ({ a: old.a as number, b: 9 }),
  });
  deepEqual(decodeState(v2up, encodeState(v1, { a: 1 })), { a: 1, b: 9 });
  const same = defineState({
    name: "d",
    version: 1,
    fields: { a: "u8", b: "u8" },
  });
  throws(() => decodeState(same, encodeState(v1, { a: 1 })), StateError);
  throws(
    () => encodeState(v1, { a: 300 }),
    /Cannot save d state: field a is 300; expected an integer from 0 to 255/,
  );
});

Deno.test("postLoad gets only the device's own state and returns it", () => {
  let seen: unknown;
  const s = defineState({
    name: "p",
    version: 1,
    fields: { count: "u32" },
    postLoad(state) {
      seen = state;
      return { count: Math.min(state.count, 10) };
    },
  });
  deepEqual(decodeState(s, encodeState(s, { count: 99 })), { count: 10 });
  deepEqual(seen, { count: 99 });
});

const echo = defineDevicePlugin({
  kind: "device",
  name: "echo",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  compatible: "deja,echo",
  mmioSize: 0x10,
  options: { initial: { type: "number", default: 5 } },
  produces: ["echo.value"],
  events: {
    "echo.value": {
      encode: (v: number) => Uint8Array.of(v),
      decode: (b) => b[0]!,
      apply: (d: { value: number }, v) => void (d.value = v),
    },
  },
  create: (ctx, options) => {
    const dev = {
      value: options.initial,
      regions: [{
        name: "echo",
        base: ctx.addr,
        size: 0x10,
        accessSizes: [4] as const,
        read: () => dev.value,
        write: (_o: number, _s: number, v: number) => {
          if (v === 0xbad) {
            // @ts-expect-error: "echo.other" is not in produces
            ctx.emit("echo.other", 1);
          }
          ctx.emit("echo.value", v & 0xff);
          ctx.irq.set(true);
        },
      }],
      reset: () => (dev.value = options.initial),
    };
    return dev;
  },
});

Deno.test("an undeclared emit throws, naming the plugin and the kind", () => {
  const m = new VirtMachine({
    memoryBytes: 1 << 20,
    devices: [{ plugin: echo, addr: 0x1001_0000, irq: 12 }],
  });
  const r = m.bus.find(0x1001_0000)!;
  r.write(0, 4, 7);
  equal(
    r.read(0, 4),
    7,
    "a declared emit reaches the device through its codec",
  );
  throws(() => r.write(0, 4, 0xbad), (e: unknown) => {
    ok(e instanceof UndeclaredEventError);
    equal(e.plugin, "echo");
    equal(e.eventKind, "echo.other");
    match(
      e.message,
      /Plugin echo emitted replay event kind "echo\.other", which it does not declare/,
    );
    return true;
  });
  const backend = defineBackendPlugin({
    kind: "backend",
    name: "b",
    version: "1",
    apiVersion: PLUGIN_API_VERSION,
    produces: ["echo.value"],
    create: (ctx) => {
      // @ts-expect-error: a backend too can emit only what it declares
      ctx.emit("serial", new Uint8Array());
      return {};
    },
  });
  deepEqual(backend.produces, ["echo.value"]);
});

Deno.test("a plugin device gets its MMIO window, its PLIC line and a device tree node", () => {
  const m = new VirtMachine({
    memoryBytes: 1 << 20,
    devices: [{
      plugin: echo,
      addr: 0x1001_0000,
      irq: 12,
      options: "initial=0x21",
    }],
  });
  const r = m.bus.find(0x1001_0008)!;
  equal(r.name, "echo");
  equal(r.read(0, 4), 0x21, "the option reached create, typed");
  const fdt = new TextDecoder("latin1").decode(m.fdt);
  ok(fdt.includes("echo@10010000"), "node name");
  ok(fdt.includes("deja,echo"), "compatible");
  equal(m.cpu.mip & (1 << 11), 0);
  m.bus.write(0x0c00_0000 + 12 * 4, 4, 1); // PLIC priority of source 12
  m.bus.write(0x0c00_2000, 4, 1 << 12); // enable it for the M context
  r.write(0, 4, 1);
  notEqual(m.cpu.mip & (1 << 11), 0, "MEIP after the device raised irq 12");
});

Deno.test("a plugin with the wrong API version is refused", () => {
  const reg = new PluginRegistry();
  throws(
    () => reg.register({ ...echo, apiVersion: PLUGIN_API_VERSION + 1 }),
    (e: unknown) => {
      ok(e instanceof PluginError);
      equal(
        e.message,
        `Cannot load plugin echo: it was written for plugin API version ${
          PLUGIN_API_VERSION + 1
        }, and this deja speaks versions 1 to ${PLUGIN_API_VERSION}; update deja`,
      );
      return true;
    },
  );
  throws(
    () =>
      checkPlugin(
        { kind: "device", name: "x", version: "1", create() {} },
        "x.ts",
      ),
    /has no apiVersion/,
  );
  throws(() => checkPlugin({ kind: "gadget" }, "x.ts"), /its kind is "gadget"/);
  throws(() => checkPlugin(undefined, "x.ts"), /expected a plugin object/);
});

Deno.test("registration checks names, dependencies and event kinds", () => {
  const reg = new PluginRegistry();
  reg.register(echo);
  throws(() => reg.register(echo), /already registered/);
  throws(
    () => reg.register({ ...uartPlugin }),
    /it depends on plic, which is not registered; register plic first/,
  );
  throws(
    () => reg.register({ ...echo, name: "echo2" }),
    /replay event kind echo\.value is already brought by echo/,
  );
  const instr = defineInstrumentationPlugin({
    kind: "instrumentation",
    name: "i",
    version: "1",
    apiVersion: PLUGIN_API_VERSION,
    create: () => ({}),
  });
  reg.register(instr);
  throws(
    () => reg.register({ ...instr, name: "j", produces: ["x"] as never[] }),
    /observes only and cannot produce replay events/,
  );
  deepEqual(reg.names(), ["echo", "i"]);
});

Deno.test("parseOptions types values and names what is wrong", () => {
  const schema = {
    addr: { type: "number", required: true },
    mode: { type: "enum", values: ["a", "b"], default: "a" },
    verbose: { type: "boolean" },
    label: { type: "string" },
  } as const;
  const o = parseOptions("p", schema, "addr=0x10,verbose,label=x,,y");
  const addr: number = o.addr;
  const mode: "a" | "b" = o.mode;
  deepEqual({ addr, mode, verbose: o.verbose, label: o.label }, {
    addr: 16,
    mode: "a",
    verbose: true,
    label: "x,y",
  });
  const bad: [string, string][] = [
    ["", "Bad option addr for plugin p: it is required; add addr=NUMBER"],
    [
      "addr=zz",
      'Bad option addr for plugin p: "zz" is not a number; expected decimal or 0x hexadecimal',
    ],
    [
      "addr=1,mode=c",
      'Bad option mode for plugin p: "c" is not allowed; expected one of a, b',
    ],
    [
      "addr=1,verbose=maybe",
      'Bad option verbose for plugin p: "maybe" is not a boolean; expected on or off',
    ],
    [
      "addr=1,speed=3",
      "Bad option speed for plugin p: it is not an option of p; it takes addr, mode, verbose, label",
    ],
  ];
  for (const [text, message] of bad) {
    throws(() => parseOptions("p", schema, text), (e: unknown) => {
      ok(e instanceof PluginOptionsError);
      equal(e.message, message);
      return true;
    });
  }
});

Deno.test("a log with event kinds from no loaded plugin is refused at start", async () => {
  const log = [
    {
      kind: "input" as const,
      icount: 10,
      event: "thermo.reading",
      payload: new Uint8Array(4),
    },
    {
      kind: "input" as const,
      icount: 20,
      event: "echo.value",
      payload: new Uint8Array(1),
    },
    { kind: "end" as const, icount: 30 },
  ];
  const kernel = new Uint8Array(16);
  let err: unknown;
  try {
    await replaySession(log, {
      bios: "none",
      kernel,
      memoryBytes: 1 << 20,
      devices: [{ plugin: echo, addr: 0x1001_0000, irq: 12 }],
    });
  } catch (e) {
    err = e;
  }
  ok(err instanceof UnknownEventKindError, String(err));
  deepEqual(err.kinds, ["thermo.reading"]);
  equal(
    err.message,
    "Cannot replay this log: it holds replay event kinds that no loaded plugin provides: thermo.reading; load the plugins it was recorded with (-device PLUGIN.ts)",
  );
});

Deno.test("the file, null and socket character backends", async (t) => {
  const noQuit = () => {};
  await t.step("file writes guest output to its path", async () => {
    const path = await Deno.makeTempFile();
    try {
      const b = await fileBackend.create({
        name: "file",
        emit: () => {},
        quit: noQuit,
      }, parseOptions("file", fileBackend.options!, { path }));
      b.write!(new TextEncoder().encode("hello"));
      await b.close?.();
      equal(await Deno.readTextFile(path), "hello");
      deepEqual(fileBackend.permissions!({ path }), [{ name: "write", path }]);
    } finally {
      await Deno.remove(path);
    }
  });
  await t.step("null drops output", async () => {
    const b = await nullBackend.create(
      { name: "null", emit: () => {}, quit: noQuit },
      {},
    );
    b.write!(new Uint8Array([1, 2, 3]));
  });
  await t.step(
    "socket listens on 127.0.0.1: input is serial, output goes to the client",
    async () => {
      const got: unknown[] = [];
      const b = await socketBackend.create(
        {
          name: "socket",
          emit: (k: string, v: unknown) => got.push([k, v]),
          quit: noQuit,
        },
        parseOptions("socket", socketBackend.options!, "port=0"),
      ) as { port: number; write(b: Uint8Array): void; close(): void };
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: b.port });
        await c.write(new TextEncoder().encode("hi"));
        for (let i = 0; i < 100 && got.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        deepEqual(got, [["serial", new TextEncoder().encode("hi")]]);
        b.write(new TextEncoder().encode("out"));
        const buf = new Uint8Array(8);
        const n = await c.read(buf);
        equal(new TextDecoder().decode(buf.subarray(0, n!)), "out");
        c.close();
      } finally {
        b.close();
      }
      deepEqual(
        socketBackend.permissions!({ host: "127.0.0.1", port: 0, wait: false }),
        [
          { name: "net", host: "127.0.0.1" },
        ],
      );
    },
  );
});

Deno.test("a device's context offers only the virtual clock, frozen", () => {
  let seen: Record<string, unknown> | undefined;
  const probe = defineDevicePlugin({
    kind: "device",
    name: "probe",
    version: "1",
    apiVersion: PLUGIN_API_VERSION,
    create: (ctx) => {
      seen = ctx as unknown as Record<string, unknown>;
      return { regions: [], reset() {} };
    },
  });
  const m = new VirtMachine({
    memoryBytes: 1 << 20,
    devices: [{ plugin: probe, addr: 0x1001_0000 }],
  });
  ok(seen);
  ok(Object.isFrozen(seen) && Object.isFrozen(seen.clock));
  deepEqual(Object.keys(seen.clock as object).sort(), [
    "newBottomHalf",
    "newTimer",
    "nowNs",
  ]);
  const clock = seen.clock as { nowNs(): number };
  equal(clock.nowNs(), m.clock.nowNs(), "it reads the virtual clock");
  equal(
    (seen.clock as Record<string, unknown>).warpTo,
    undefined,
    "no way to move guest time",
  );
  throws(
    () => (seen!.irq as { set(l: boolean): void }).set(true),
    /device probe raised its interrupt but has none; give it one with irq=N/,
  );
  // Only its own line and what it declared: no hart, no other PLIC line.
  deepEqual(Object.keys(seen).sort(), [
    "addr",
    "clock",
    "emit",
    "irq",
    "irqNumber",
    "memory",
    "name",
    "pull",
  ]);
});

Deno.test("a binary log with plugin event kinds no device brings is refused before anything", async () => {
  const chunks: Uint8Array[] = [];
  const w = new ReplayLogWriter({ write: (b) => chunks.push(b) });
  w.write({
    kind: "config",
    config: {
      board: "virt",
      ramSize: 1 << 20,
      firmware: null,
      kernel: null,
      devices: [],
      plugins: [{ name: "thermo", version: "1" }],
    },
  });
  w.instruction(10);
  w.write({
    kind: "plugin-event",
    event: "thermo.reading",
    payload: new Uint8Array(4),
  });
  w.end();
  const log = new Uint8Array(chunks.flatMap((c) => [...c]));
  const dump: string[] = [];
  dumpLog(log, (l) => dump.push(l));
  ok(
    dump.some((l) =>
      l.includes("EVENT_DEJA_PLUGIN") && l.includes("thermo.reading 4 bytes")
    ),
    dump.join("\n"),
  );
  await rejects(
    replay(log, {
      bios: "none",
      memoryBytes: 1 << 20,
      devices: [{ plugin: echo, addr: 0x1001_0000 }],
    }),
    (e: unknown) => {
      ok(e instanceof UnknownEventKindError);
      deepEqual(e.kinds, ["thermo.reading"]);
      return true;
    },
  );
});
