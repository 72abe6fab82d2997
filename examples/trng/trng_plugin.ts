/**
 * A hardware random number generator for deja: a device that asks the host
 * for data **on demand**, at the instruction that reads its data register,
 * instead of having its backend push values on a timer. Copy it for any
 * device that samples the host when the guest asks (an RNG, a sensor read on
 * demand, a host clock).
 *
 * - The **device** lists `trng.word` in `pulls` and calls
 *   `ctx.pull("trng.word")` in its DATA register's `read`.
 * - The **backend** answers with `pull(kind)`: host entropy
 *   (`crypto.getRandomValues`), or, with `seed=N`, a fixed sequence for
 *   tests.
 * - In a recording deja logs each pulled word as one event of the instance
 *   (`trng.word@trng`) at the instruction that read it; a replay takes the
 *   words from the log, and the backend does not run.
 *
 * Load it with:
 *
 * ```sh
 * deno run --allow-read=. mod.ts -nographic -bios none -kernel GUEST.elf \
 *   -device ./examples/trng/trng_plugin.ts,addr=0x10030000
 * ```
 *
 * Registers (offsets from `addr`, 32-bit accesses):
 *
 * | offset | name  | access | meaning                                       |
 * | ------ | ----- | ------ | --------------------------------------------- |
 * | 0x00   | ID    | read   | 0x544e5247 ("TRNG")                           |
 * | 0x04   | DATA  | read   | a fresh random word from the host (a pull)    |
 * | 0x08   | COUNT | read   | words read from DATA since reset              |
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
} from "../../plugins/mod.ts";

/** The host side: answers each pull with one 32-bit word. */
const trngHost = defineBackendPlugin({
  kind: "backend",
  name: "trng-host",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  description: "host entropy, or a seeded sequence for tests",
  produces: ["trng.word"],
  options: {
    seed: {
      type: "number",
      integer: true,
      min: 0,
      description: "a fixed sequence from this seed instead of host entropy",
    },
  },
  create: (_ctx, o) => {
    let x = o.seed;
    return {
      // Called at the instruction that reads DATA; the value is logged.
      pull: () => {
        if (x === undefined) {
          return crypto.getRandomValues(new Uint32Array(1))[0]!;
        }
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x;
      },
    };
  },
});

/** The device's state, each field written once. */
const trngState = defineState({
  name: "trng",
  version: 1,
  fields: { count: "u32" },
});

/** The TRNG device plugin (the module's default export). */
const trng = defineDevicePlugin({
  kind: "device",
  name: "trng",
  version: "1.0.0",
  apiVersion: PLUGIN_API_VERSION,
  description: "a random number generator fed by the host on demand",
  compatible: "deja,trng",
  mmioSize: 0x1000,
  produces: ["trng.word"],
  pulls: ["trng.word"],
  events: {
    "trng.word": {
      encode: (v: number) => new Uint8Array(Uint32Array.of(v).buffer),
      decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true),
      // The value goes to the pull that asked for it; nothing else to do.
      apply: () => {},
    },
  },
  state: trngState,
  backend: trngHost,
  create: (ctx) => {
    const state = newState(trngState);
    const regions: MmioRegion[] = [{
      name: "trng",
      base: ctx.addr,
      size: 0x1000,
      accessSizes: [4],
      read: (offset) => {
        switch (offset) {
          case 0x00:
            return 0x544e5247;
          case 0x04:
            state.count = (state.count + 1) >>> 0;
            return ctx.pull("trng.word");
          case 0x08:
            return state.count;
          default:
            return 0;
        }
      },
      write: () => {},
    }];
    return { state, regions, reset: () => void (state.count = 0) };
  },
});

export default trng;
