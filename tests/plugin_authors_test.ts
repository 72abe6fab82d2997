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
  defineDevicePlugin,
  type MmioRegion,
  PLUGIN_API_VERSION,
} from "../plugins/mod.ts";

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
