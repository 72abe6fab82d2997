/**
 * The defects a plugin author met (issue 14), one test each: shared
 * interrupt lines, per-instance events, on-demand host data, errors that
 * name the plugin, `addr=` checks and version mismatches.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PLIC_BASE, UART0_IRQ } from "../core/memory_map.ts";
import { VirtMachine } from "../devices/virt.ts";
import {
  checkEventKinds,
  checkPlugin,
  defineBackendPlugin,
  defineDevicePlugin,
  defineState,
  type MmioRegion,
  parseAddress,
  PLUGIN_API_VERSION,
  PluginCallbackError,
  pluginChangesMessage,
  PluginError,
  PluginOptionsError,
  UndeclaredEventError,
  UnknownEventKindError,
} from "../plugins/mod.ts";
import { startDeviceBackend } from "../plugins/backends.ts";
import { reader } from "./_mmio_reader.ts";
import trng from "../examples/trng/trng_plugin.ts";
import { guardHooks } from "../plugins/guards.ts";
import {
  checkConfig,
  machineConfig,
  ReplayConfigError,
} from "../replay/config.ts";
import { recordSession, replaySession } from "../plugins/testing.ts";

/** A device that drives its line from a register: write 1 raises, 0 lowers. */
const holder = defineDevicePlugin({
  kind: "device",
  name: "holder",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  mmioSize: 0x1000,
  create: (ctx) => {
    const regions: MmioRegion[] = [{
      name: "holder",
      base: ctx.addr,
      size: 0x1000,
      accessSizes: [4],
      read: () => 0,
      write: (_o, _s, v) => ctx.irq.set((v & 1) === 1),
    }];
    return { regions, reset: () => ctx.irq.set(false) };
  },
});

const PLIC_PENDING = PLIC_BASE + 0x1000;

function pending(m: VirtMachine, source: number): boolean {
  return ((m.bus.read(PLIC_PENDING + (source >> 5) * 4, 4) >>> (source & 31)) &
    1) === 1;
}

Deno.test("devices sharing an interrupt line are wire-ORed", async (t) => {
  await t.step("a plugin device on the UART's line keeps its request", () => {
    const m = new VirtMachine({
      memoryBytes: 1 << 20,
      devices: [{ plugin: holder, addr: 0x1002_0000, irq: UART0_IRQ }],
    });
    m.bus.write(0x1002_0000, 4, 1); // the device raises line 10
    assert.ok(pending(m, UART0_IRQ));
    m.uart.reset(); // the UART lowers its own input of line 10
    assert.ok(pending(m, UART0_IRQ), "the UART cleared the device's request");
  });
  await t.step("two plugin devices on one line", () => {
    const m = new VirtMachine({
      memoryBytes: 1 << 20,
      devices: [
        { plugin: holder, addr: 0x1002_0000, irq: 12 },
        { plugin: holder, name: "holder2", addr: 0x1002_1000, irq: 12 },
      ],
    });
    m.bus.write(0x1002_0000, 4, 1);
    m.bus.write(0x1002_1000, 4, 0);
    assert.ok(pending(m, 12), "the second device's low level won");
    m.bus.write(0x1002_1000, 4, 1);
    m.bus.write(0x1002_0000, 4, 0);
    assert.ok(pending(m, 12));
    m.bus.write(0x1002_1000, 4, 0);
    assert.ok(!pending(m, 12), "both low: the line is low");
  });
});

/** The words a reader stored (RAM after its code). */
function stored(m: VirtMachine, n: number): number[] {
  return Array.from(
    { length: n },
    (_, i) => m.bus.read(0x8000_1000 + i * 4, 4),
  );
}

// ---------------------------------------------------------------------------
// Per-instance events

/** A device with a value register that its backend sets once (`value=`). */
const dual = defineDevicePlugin({
  kind: "device",
  name: "dual",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  mmioSize: 0x1000,
  produces: ["dual.value"],
  events: {
    "dual.value": {
      encode: (v: number) => Uint8Array.of(v),
      decode: (b) => b[0]!,
      apply: (d: { state: { value: number } }, v) => void (d.state.value = v),
    },
  },
  state: defineState({ name: "dual", version: 1, fields: { value: "u8" } }),
  backend: defineBackendPlugin({
    kind: "backend",
    name: "dual-feed",
    version: "1.0.0",
    apiVersion: PLUGIN_API_VERSION,
    produces: ["dual.value"],
    options: { value: { type: "number", required: true } },
    create: (ctx, o) => {
      ctx.emit("dual.value", o.value);
      return {};
    },
  }),
  create: (ctx) => {
    const state = { value: 0 };
    const regions: MmioRegion[] = [{
      name: "dual",
      base: ctx.addr,
      size: 0x1000,
      accessSizes: [4],
      read: () => state.value,
      write: () => {},
    }];
    return { state, regions, reset: () => void (state.value = 0) };
  },
});

Deno.test("two instances of a plugin with events each get their own data, recorded and replayed", async () => {
  const kernel = reader([[0x1002_0000, 0], [0x1002_1000, 0]]);
  const devices = [
    { plugin: dual, addr: 0x1002_0000 },
    { plugin: dual, name: "dual2", addr: 0x1002_1000 },
  ];
  const options = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
  const rec = await recordSession({ ...options, devices }, [
    { plugin: dual.backend!, options: "value=11", instance: "dual" },
    { plugin: dual.backend!, options: "value=22", instance: "dual2" },
  ]);
  assert.equal(rec.exit?.kind, "poweroff");
  const events = rec.log.flatMap((e) =>
    "event" in e && e.event.startsWith("dual.")
      ? [[e.event, (e.payload as Uint8Array)[0]]]
      : []
  );
  assert.deepEqual(events, [["dual.value@dual", 11], ["dual.value@dual2", 22]]);
  const m = new VirtMachine({ ...options, devices });
  m.plugins.apply("dual.value@dual", Uint8Array.of(11));
  m.plugins.apply("dual.value@dual2", Uint8Array.of(22));
  m.run(100);
  assert.deepEqual(stored(m, 2), [11, 22], "each instance has its value");
  const rep = await replaySession(rec.log, { ...options, devices });
  assert.equal(rep.stateHash, rec.stateHash);
  assert.equal(rep.icount, rec.icount);
});

Deno.test("an event kind may not contain @, which names the instance in the log", () => {
  assert.throws(
    () =>
      checkPlugin({
        ...dual,
        produces: ["dual@x"],
        events: { "dual@x": dual.events!["dual.value"] },
      }, "dual.ts"),
    (e: unknown) =>
      e instanceof PluginError &&
      /its event kind dual@x contains @/.test(e.message),
  );
});

Deno.test("a log's event for an instance that is not on the board is refused", () => {
  assert.throws(
    () =>
      checkEventKinds(["dual.value@dual3"], [
        { plugin: dual, name: "dual" },
        { plugin: dual, name: "dual2" },
      ]),
    (e: unknown) =>
      e instanceof UnknownEventKindError && /dual\.value@dual3/.test(e.message),
  );
  // A log from before events were per instance: its bare kind is known.
  checkEventKinds(["dual.value"], [{ plugin: dual, name: "dual" }]);
});

// ---------------------------------------------------------------------------
// On-demand host data

Deno.test("an on-demand device logs one event per value it pulls, and replays from the log", async () => {
  const kernel = reader(Array.from({ length: 8 }, () => [0x1003_0000, 4]));
  const options = { bios: "none" as const, kernel, memoryBytes: 1 << 20 };
  const source = await startDeviceBackend({
    device: trng,
    instance: "trng",
    options: "seed=7",
    sink: () => {},
    onError: (e) => {
      throw e;
    },
  });
  let pulls = 0;
  const rec = await recordSession({
    ...options,
    devices: [{
      plugin: trng,
      addr: 0x1003_0000,
      pull: (kind) => (pulls++, source!.pull!(kind)),
    }],
  });
  assert.equal(rec.exit?.kind, "poweroff");
  const words = rec.log.filter((e) =>
    "event" in e && e.event === "trng.word@trng"
  );
  assert.equal(words.length, 8, "one event per value consumed");
  assert.equal(pulls, 8);
  assert.equal(new Set(words.map((e) => e.icount)).size, 8);
  // The replay has no source: the log serves every value.
  const rep = await replaySession(rec.log, {
    ...options,
    devices: [{ plugin: trng, addr: 0x1003_0000 }],
  });
  assert.equal(rep.stateHash, rec.stateHash);
  // Without a source and without a log, a pull is a clear error.
  const m = new VirtMachine({
    ...options,
    devices: [{ plugin: trng, addr: 0x1003_0000 }],
  });
  assert.throws(
    () => m.run(100),
    (e: unknown) =>
      e instanceof Error && /trng/.test(e.message) &&
      /no backend answers pulls/.test(e.message),
  );
});

// ---------------------------------------------------------------------------
// Errors that name the plugin

const faulty = defineDevicePlugin({
  kind: "device",
  name: "faulty",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  mmioSize: 0x1000,
  options: { fail: { type: "boolean", default: false } },
  create: (ctx, o) => {
    if (o.fail) throw new Error("no such sensor");
    return {
      regions: [{
        name: "faulty",
        base: ctx.addr,
        size: 0x1000,
        accessSizes: [4],
        read: (offset) => {
          if (offset === 8) throw new TypeError("register 8 is broken");
          return 0;
        },
        write: () => {},
      }] as MmioRegion[],
      reset: () => {},
    };
  },
});

Deno.test("errors in plugin callbacks name the plugin, the instance and the cause", async (t) => {
  await t.step("create", () => {
    assert.throws(
      () =>
        new VirtMachine({
          memoryBytes: 1 << 20,
          devices: [{
            plugin: faulty,
            name: "f1",
            addr: 0x1002_0000,
            options: "fail=on",
          }],
        }),
      (e: unknown) =>
        e instanceof PluginError &&
        e.message ===
          "Cannot load plugin faulty: its create function failed for device f1: no such sensor",
    );
  });
  // The pc is the hart's as the board reports it; on the fast path that may
  // be the start of the running block, while the instruction count is exact.
  await t.step("MMIO read: offset and guest pc", () => {
    const kernel = reader([[0x1002_0000, 0], [0x1002_0000, 8]]);
    const m = new VirtMachine({
      bios: "none",
      kernel,
      memoryBytes: 1 << 20,
      devices: [{ plugin: faulty, name: "f1", addr: 0x1002_0000 }],
    });
    assert.throws(
      () => m.run(100),
      (e: unknown) =>
        e instanceof PluginCallbackError && e.plugin === "faulty" &&
        e.instance === "f1" && e.offset === 8 &&
        /^Plugin faulty \(instance f1\) failed in MMIO read of region faulty at offset 0x8, guest pc 0x8000[0-9a-f]{4} \(instruction \d+\): register 8 is broken$/
          .test(e.message),
    );
  });
  await t.step("an instrumentation hook: the hook and the guest pc", () => {
    const kernel = reader([[0x1002_0000, 0]]);
    const hooks = guardHooks("stores", {
      mem: (a) => {
        if (a.addr === 0x1002_0000n) throw new RangeError("table full");
      },
    });
    const m = new VirtMachine({
      bios: "none",
      kernel,
      memoryBytes: 1 << 20,
      devices: [{ plugin: faulty, addr: 0x1002_0000 }],
      instrumentation: [hooks],
    });
    assert.throws(
      () => m.run(100),
      (e: unknown) =>
        e instanceof PluginCallbackError &&
        e.message ===
          "Plugin stores (instance stores) failed in its mem hook, guest pc 0x80000008: table full",
    );
  });
  await t.step("a backend's undeclared emit", async () => {
    const errors: Error[] = [];
    const bad = defineDevicePlugin({
      ...dual,
      name: "bad",
      backend: defineBackendPlugin({
        kind: "backend",
        name: "bad-feed",
        version: "1.0.0",
        apiVersion: PLUGIN_API_VERSION,
        produces: ["dual.value"],
        create: (ctx) => {
          (ctx.emit as (k: string, v: unknown) => void)("dual.oops", 1);
          return {};
        },
      }),
    });
    await startDeviceBackend({
      device: bad,
      instance: "bad",
      sink: () => {},
      onError: (e) => errors.push(e),
    });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof UndeclaredEventError);
    assert.equal(
      errors[0]!.message,
      'Plugin bad-feed (backend of bad) emitted replay event kind "dual.oops", which it does not declare; add it to produces (declared: dual.value)',
    );
  });
});

// ---------------------------------------------------------------------------
// addr=

Deno.test("addr= is an exact integer, inside the address space, clear of RAM and the board", async (t) => {
  await t.step("parsed exactly", () => {
    assert.throws(
      () => parseAddress("faulty", "addr", "0x8000000000000000"),
      (e: unknown) =>
        e instanceof PluginOptionsError &&
        e.message.startsWith(
          "Bad option addr for plugin faulty: 0x8000000000000000 is outside the physical address space",
        ),
    );
    assert.equal(parseAddress("faulty", "addr", "0x1002_0000"), 0x1002_0000);
    assert.throws(
      () => parseAddress("faulty", "addr", "0x10020002"),
      /not 4-byte aligned/,
    );
  });
  const place = (addr: number) => () =>
    new VirtMachine({
      memoryBytes: 1 << 20,
      devices: [{ plugin: faulty, addr }],
    });
  for (
    const [what, addr, overlaps] of [
      ["RAM", 0x8000_0000, "RAM"],
      ["the UART", 0x1000_0000, "ns16550a"],
      ["the PLIC", 0x0c10_0000, "plic"],
    ] as const
  ) {
    await t.step(`overlapping ${what}`, () => {
      assert.throws(
        place(addr),
        (e: unknown) =>
          e instanceof PluginOptionsError &&
          e.message.startsWith(
            "Bad option addr for plugin faulty: the window",
          ) &&
          e.message.includes(`overlaps ${overlaps}`),
      );
    });
  }
  await t.step("beyond the address space", () => {
    assert.throws(
      place(2 ** 56),
      (e: unknown) =>
        e instanceof PluginOptionsError &&
        /outside the physical address space/.test(e.message),
    );
  });
  await t.step("two plugin devices on one window", () => {
    assert.throws(
      () =>
        new VirtMachine({
          memoryBytes: 1 << 20,
          devices: [
            { plugin: faulty, addr: 0x1002_0000 },
            { plugin: faulty, name: "f2", addr: 0x1002_0800 },
          ],
        }),
      /overlaps faulty/,
    );
  });
});

// ---------------------------------------------------------------------------
// Plugin versions

Deno.test("a plugin version mismatch on replay says which plugin and what to do", async () => {
  assert.equal(
    pluginChangesMessage(
      [{ name: "sensor", version: "1.0.0" }, {
        name: "sensor",
        version: "1.0.0",
      }],
      [{ name: "sensor", version: "1.0.0" }],
    ),
    "the plugins differ: sensor recorded as 1.0.0, 1.0.0, given as 1.0.0; replay with the plugins and versions it was recorded with (the same -device and -plugin options, from the same plugin files), or record again with these",
  );
  assert.equal(
    pluginChangesMessage(
      [{ name: "trng", version: "1.0.0" }, { name: "led", version: "2.0.0" }],
      [{ name: "trng", version: "1.1.0" }, { name: "echo", version: "0.1.0" }],
    ),
    "the plugins differ: trng 1.0.0 recorded, 1.1.0 given; led 2.0.0 recorded, not loaded; echo 0.1.0 loaded, not recorded; replay with the plugins and versions it was recorded with (the same -device and -plugin options, from the same plugin files), or record again with these",
  );
  const base = {
    memoryBytes: 1 << 20,
    bios: "none" as const,
    kernel: new Uint8Array([1]),
    icountShift: 3,
    sleep: false,
    noReboot: false,
    devices: [],
    rrcheck: 0,
  };
  const recorded = await machineConfig({
    ...base,
    plugins: [{ name: "trng", version: "1.0.0" }],
  });
  const given = await machineConfig({
    ...base,
    plugins: [{ name: "trng", version: "1.1.0" }],
  });
  assert.throws(
    () => checkConfig(recorded, given),
    (e: unknown) =>
      e instanceof ReplayConfigError &&
      e.message.includes("trng 1.0.0 recorded, 1.1.0 given") &&
      e.message.includes("record again") && !e.message.includes("{"),
  );
});

// ---------------------------------------------------------------------------
// Declared state

Deno.test("a restore changes only the device: afterLoad may not drive the line, emit or write memory", async (t) => {
  const driving = (what: "irq" | "emit" | "memory") =>
    defineDevicePlugin({
      kind: "device",
      name: `restless-${what}`,
      version: "1.0.0",
      apiVersion: PLUGIN_API_VERSION,
      mmioSize: 0x1000,
      produces: ["restless.x"],
      events: {
        "restless.x": {
          encode: (v: number) => Uint8Array.of(v),
          decode: (b) => b[0]!,
          apply: () => {},
        },
      },
      state: defineState({
        name: "restless",
        version: 1,
        fields: { on: "bool" },
      }),
      create: (ctx) => {
        const state = { on: false };
        return {
          state,
          regions: [] as MmioRegion[],
          reset: () => {},
          afterLoad: () => {
            if (what === "irq") ctx.irq.set(state.on);
            if (what === "emit") ctx.emit("restless.x", 1);
            if (what === "memory") ctx.memory.write(0x8000_0000, 4, 1);
          },
        };
      },
    });
  for (const what of ["irq", "emit", "memory"] as const) {
    await t.step(what, () => {
      const plugin = driving(what);
      const m = new VirtMachine({
        memoryBytes: 1 << 20,
        devices: [{ plugin, addr: 0x1002_0000, irq: 12 }],
      });
      const dev = m.plugins.devices.at(-1)!;
      const bytes = m.plugins.saveState(dev)!;
      assert.throws(
        () => m.plugins.loadState(dev, bytes),
        (e: unknown) =>
          e instanceof PluginError && e.plugin === plugin.name &&
          /while its state was restored \(afterLoad\)/.test(e.message),
      );
      // The guard is only for the restore.
      if (what === "irq") {
        (dev.instance as unknown as { afterLoad(): void }).afterLoad();
      }
    });
  }
});
