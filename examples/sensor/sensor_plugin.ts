/**
 * A complete third-party device plugin for deja: a sensor whose readings
 * come from the host. Copy this file to start your own device.
 *
 * - The **device** (runs in the vCPU worker, with the guest): a 16-entry
 *   FIFO of readings behind five 32-bit MMIO registers, and an interrupt
 *   that is high while readings wait and the guest enabled it.
 * - The **backend** (runs on the main loop, does the host I/O): reads
 *   numbers from a host file, one per line, and hands them to the guest one
 *   every `period` milliseconds of host time.
 * - The backend reaches the device only through the declared replay event
 *   `sensor.reading`: in a recording every reading is logged at the
 *   instruction where the device took it, and a replay takes the readings
 *   from the log, with no file.
 *
 * Load it with:
 *
 * ```sh
 * deno run --allow-read=.,readings.txt mod.ts -nographic -bios none \
 *   -kernel examples/sensor/guest/sensor.elf \
 *   -device ./examples/sensor/sensor_plugin.ts,addr=0x10010000,irq=12,file=readings.txt
 * ```
 *
 * Registers (offsets from `addr`, 32-bit accesses):
 *
 * | offset | name    | access | meaning                                     |
 * | ------ | ------- | ------ | ------------------------------------------- |
 * | 0x00   | ID      | read   | 0x534e5352 ("SNSR")                         |
 * | 0x04   | COUNT   | read   | readings waiting in the FIFO                |
 * | 0x08   | DATA    | read   | pops the oldest reading (signed, 1/1000ths) |
 * | 0x0c   | CTRL    | r/w    | bit 0: interrupt enable                     |
 * | 0x10   | DROPPED | read   | readings lost because the FIFO was full     |
 *
 * @module
 */

import {
  defineBackendPlugin,
  defineDevicePlugin,
  defineState,
  type MmioRegion,
  newState,
  PLUGIN_API_VERSION,
  type StateValues,
} from "../../plugins/mod.ts";

/** FIFO depth. */
const DEPTH = 16;

/** The host side: readings from a file, one every `period` ms. */
const sensorFile = defineBackendPlugin({
  kind: "backend",
  name: "sensor-file",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  description: "readings from a host file, one number per line",
  produces: ["sensor.reading"],
  options: {
    file: {
      type: "string",
      required: true,
      description: "host file with one reading per line",
    },
    period: {
      type: "number",
      default: 20,
      min: 1,
      description: "host milliseconds between readings",
    },
  },
  permissions: (o) => [{ name: "read", path: o.file }],
  create: async (ctx, o) => {
    const text = await Deno.readTextFile(o.file);
    const readings = text.split("\n").map((l) => l.trim()).filter((l) => l)
      .map((l, i) => {
        const v = Number(l);
        if (!Number.isFinite(v)) {
          throw new SyntaxError(
            `Cannot read sensor readings from ${o.file}: line ${i + 1} is ${
              JSON.stringify(l)
            }; expected a number`,
          );
        }
        return Math.round(v * 1000);
      });
    let next = 0;
    const timer = setInterval(() => {
      if (next >= readings.length) return clearInterval(timer);
      // The only way host data reaches the guest: a declared replay event.
      ctx.emit("sensor.reading", readings[next++]!);
    }, o.period);
    return { close: () => clearInterval(timer) };
  },
});

/**
 * The device's state: what a snapshot must hold, each field written once.
 * The instance keeps these values in its `state` object; deja saves and
 * restores that object from this declaration.
 */
const sensorState = defineState({
  name: "sensor",
  version: 2,
  fields: {
    fifo: "i32[]", // the waiting readings, oldest first
    ctrl: "u32",
    dropped: "u32",
  },
  // Version 1 kept the FIFO as bytes (i32 little-endian): read those too.
  upgrade: (from, old) => {
    if (from !== 1) throw new RangeError(`no sensor state version ${from}`);
    const b = old.fifo as Uint8Array;
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    const fifo: number[] = [];
    for (let i = 0; i + 4 <= b.length; i += 4) {
      fifo.push(view.getInt32(i, true));
    }
    return { fifo, ctrl: old.ctrl as number, dropped: old.dropped as number };
  },
  // Only its own state: clamp a FIFO that a newer version made deeper.
  postLoad: (s) => ({ ...s, fifo: s.fifo.slice(0, DEPTH) }),
});

/** A sensor instance: registers, FIFO, interrupt. */
interface Sensor {
  readonly regions: readonly MmioRegion[];
  reset(): void;
  /** Its declared state. */
  readonly state: StateValues<typeof sensorState.fields>;
  /** Take a reading from the host (the replay event's `apply`). */
  push(value: number): void;
}

/** The sensor device plugin (the module's default export). */
const sensor = defineDevicePlugin({
  kind: "device",
  name: "sensor",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  description: "a host-fed sensor with a FIFO and an interrupt",
  compatible: "deja,sensor",
  mmioSize: 0x1000,
  produces: ["sensor.reading"],
  events: {
    "sensor.reading": {
      encode: (v: number) => {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, v, true);
        return b;
      },
      decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true),
      apply: (dev: Sensor, v) => dev.push(v),
    },
  },
  state: sensorState,
  backend: sensorFile,
  create: (ctx) => {
    const state = newState(sensorState);
    // The line follows from the state: high while readings wait, if enabled.
    const update = () =>
      ctx.irq.set((state.ctrl & 1) === 1 && state.fifo.length > 0);
    const dev: Sensor = {
      state,
      regions: [{
        name: "sensor",
        base: ctx.addr,
        size: 0x1000,
        accessSizes: [4],
        read: (offset) => {
          switch (offset) {
            case 0x00:
              return 0x534e5352;
            case 0x04:
              return state.fifo.length;
            case 0x08: {
              const v = state.fifo.shift() ?? 0;
              update();
              return v >>> 0;
            }
            case 0x0c:
              return state.ctrl;
            case 0x10:
              return state.dropped;
            default:
              return 0;
          }
        },
        write: (offset, _size, value) => {
          if (offset === 0x0c) {
            state.ctrl = value & 1;
            update();
          }
        },
      }],
      reset: () => {
        state.fifo = [];
        state.ctrl = 0;
        state.dropped = 0;
        update();
      },
      push: (v) => {
        if (state.fifo.length < DEPTH) state.fifo.push(v);
        else state.dropped++;
        update();
      },
    };
    return dev;
  },
});

export default sensor;
