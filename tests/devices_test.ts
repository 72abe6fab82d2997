/**
 * Unit tests for the `virt` board's devices and device tree.
 *
 * Each device is driven through its MMIO region with a fake interrupt line,
 * a fake hart and a virtual clock over a fake instruction count (1 ns per
 * instruction). Steps that need `dtc`, `qemu-system-riscv64` or
 * `riscv64-unknown-elf-objdump` are skipped, with the reason in their name,
 * when the tool is missing.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { MmioRegion } from "../core/bus.ts";
import { VirtualClock } from "../core/clock.ts";
import { FdtBuilder } from "../core/fdt.ts";
import {
  type InterruptTarget,
  type IrqLine,
  MIP_MEIP,
  MIP_MSIP,
  MIP_MTIP,
  MIP_SEIP,
} from "../core/irq.ts";
import {
  CLINT_BASE,
  DRAM_BASE,
  MROM_BASE,
  PLIC_BASE,
  RTC_BASE,
  TEST_BASE,
  UART0_BASE,
  VIRTIO_BASE,
} from "../core/memory_map.ts";
import {
  BootRom,
  bootRomState,
  buildVirtFdt,
  Clint,
  clintState,
  GoldfishRtc,
  Plic,
  plicState,
  rtcState,
  SifiveTest,
  sifiveTestState,
  Uart16550,
  uartState,
  VirtioMmioSlot,
  virtioMmioState,
} from "../devices/mod.ts";
import { legacyStateRecords } from "../devices/builtin_plugins.ts";
import {
  assignState,
  decodeState,
  encodeState,
  type StateDescription,
  type StateFields,
  type StateValues,
} from "../plugins/state.ts";

// ---------------------------------------------------------------- fakes

class FakeLine implements IrqLine {
  level = false;
  raises = 0;
  set(level: boolean): void {
    if (level) this.raises++;
    this.level = level;
  }
}

class FakeHart implements InterruptTarget {
  mip = 0;
  setPending(mask: number, level: boolean): void {
    this.mip = level ? this.mip | mask : this.mip & ~mask;
  }
}

/** A virtual clock over a fake icount, 1 ns per instruction. */
class FakeTime {
  icount = 0;
  readonly clock: VirtualClock = new VirtualClock(() => this.icount, {
    shift: 0,
  });
  /** Run `ns` more nanoseconds, then fire expired timers. */
  advance(ns: number): void {
    this.icount += ns;
    this.clock.runExpired();
  }
}

/** A board of fresh built-ins with one device replaced, for its old record. */
function board(dev: Uart16550 | Clint | GoldfishRtc) {
  const hart = new FakeHart();
  const time = new FakeTime();
  const plic = new Plic({ base: PLIC_BASE, hart });
  return {
    uart: dev instanceof Uart16550
      ? dev
      : new Uart16550({ base: 0, irq: new FakeLine(), output: () => {} }),
    clint: dev instanceof Clint
      ? dev
      : new Clint({ base: 0, clock: time.clock, hart }),
    plic,
    rtc: dev instanceof GoldfishRtc ? dev : new GoldfishRtc({
      base: 0,
      clock: time.clock,
      irq: new FakeLine(),
      hostClock: () => 0n,
    }),
    test: new SifiveTest({ base: 0, onShutdown: () => {} }),
  };
}

/** A device with a declared state (`state`, `beforeSave`, `afterLoad`). */
interface Stateful {
  readonly state: object;
  beforeSave?(): void;
  afterLoad?(): void;
}

/**
 * save as bytes → restore into a fresh instance → save again gives the same
 * bytes, as the plugin host does it.
 */
function assertRoundTrip(
  description: StateDescription,
  dev: Stateful,
  fresh: Stateful,
): Uint8Array {
  dev.beforeSave?.();
  const bytes = encodeState(description, dev.state as StateValues<StateFields>);
  assignState(
    fresh.state as StateValues<StateFields>,
    decodeState(description, bytes),
  );
  fresh.afterLoad?.();
  fresh.beforeSave?.();
  assert.deepEqual(
    encodeState(description, fresh.state as StateValues<StateFields>),
    bytes,
  );
  return bytes;
}

function region(dev: { regions: MmioRegion[] }, i = 0): MmioRegion {
  const r = dev.regions[i];
  assert.ok(r, `region ${i} exists`);
  return r;
}

function hasTool(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- UART

const THR = 0,
  RBR = 0,
  IER = 1,
  IIR = 2,
  FCR = 2,
  LCR = 3,
  MCR = 4,
  LSR = 5,
  MSR = 6,
  SCR = 7;

function makeUart(withClock = true) {
  const time = new FakeTime();
  const irq = new FakeLine();
  const out: number[] = [];
  const uart = new Uart16550({
    base: UART0_BASE,
    irq,
    output: (b) => out.push(b),
    ...(withClock ? { clock: time.clock } : {}),
  });
  const r = region(uart);
  return { uart, r, irq, out, time };
}

Deno.test("Uart16550 comes out of reset with QEMU's register values", async (t) => {
  const { r, irq } = makeUart();
  const cases: [string, number, number][] = [
    ["IER", IER, 0x00],
    ["IIR", IIR, 0x01],
    ["LCR", LCR, 0x00],
    ["MCR", MCR, 0x08],
    ["LSR", LSR, 0x60],
    ["MSR", MSR, 0xb0],
    ["SCR", SCR, 0x00],
  ];
  for (const [name, reg, want] of cases) {
    await t.step(`${name} reads 0x${want.toString(16)}`, () => {
      assert.equal(r.read(reg, 1), want);
    });
  }
  assert.equal(irq.level, false);
});

Deno.test("Uart16550 maps 8 bytes of 1-, 2- and 4-byte registers", () => {
  const { r } = makeUart();
  assert.equal(r.base, UART0_BASE);
  assert.equal(r.size, 8);
  assert.deepEqual([...r.accessSizes], [1, 2, 4]);
  r.write(SCR, 4, 0x1234_56a5);
  assert.equal(r.read(SCR, 4), 0xa5);
});

Deno.test("Uart16550 transmits at once and re-asserts THRE", () => {
  const { r, irq, out } = makeUart();
  r.write(IER, 1, 0x02); // THRI on while THR is empty: interrupt at once
  assert.equal(irq.level, true);
  assert.equal(r.read(IIR, 1), 0x02);
  assert.equal(irq.level, false, "reading IIR=THRI clears it");
  r.write(THR, 1, 0x68);
  r.write(THR, 1, 0x69);
  assert.deepEqual(out, [0x68, 0x69]);
  assert.equal(r.read(LSR, 1) & 0x60, 0x60, "THRE and TEMT");
  assert.equal(irq.level, true, "THRE interrupt after the byte left");
  assert.equal(r.read(IIR, 1), 0x02);
  assert.equal(irq.level, false);
  r.write(IER, 1, 0);
  r.write(THR, 1, 0x6a);
  assert.equal(irq.level, false, "no interrupt with IER clear");
});

Deno.test("Uart16550 latches the divisor while DLAB is set", () => {
  const { r, out } = makeUart();
  r.write(LCR, 1, 0x83);
  r.write(0, 1, 0x02);
  r.write(1, 1, 0x01);
  assert.equal(r.read(0, 1), 0x02);
  assert.equal(r.read(1, 1), 0x01);
  assert.equal(out.length, 0, "a DLL write is not a THR write");
  r.write(LCR, 1, 0x03);
  assert.equal(r.read(IER, 1), 0, "IER is untouched by DLM writes");
  assert.equal(r.read(LCR, 1), 0x03);
  r.write(THR, 1, 0x21);
  assert.deepEqual(out, [0x21]);
});

Deno.test("Uart16550 queues received bytes in a 16-byte FIFO", () => {
  const { uart, r, irq } = makeUart();
  r.write(FCR, 1, 0x07); // enable and clear both FIFOs, trigger level 1
  r.write(IER, 1, 0x01);
  assert.equal(r.read(IIR, 1), 0xc1, "FIFO-enabled bits, no interrupt");
  for (let i = 0; i < 16; i++) assert.equal(uart.receive(0x30 + i), true);
  assert.equal(uart.receive(0x99), false, "the 17th byte is refused");
  assert.equal(uart.rxSpace, 0);
  assert.equal(irq.level, true);
  assert.equal(r.read(IIR, 1), 0xc4, "received-data interrupt");
  assert.equal(r.read(LSR, 1) & 0x03, 0x01, "DR, no overrun");
  const got: number[] = [];
  while (r.read(LSR, 1) & 0x01) got.push(r.read(RBR, 1));
  assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => 0x30 + i));
  assert.equal(irq.level, false);
  assert.equal(r.read(RBR, 1), 0, "an empty FIFO reads 0");
});

Deno.test("Uart16550 advertises rxSpace up to the trigger level, as QEMU", async (t) => {
  const { uart, r } = makeUart();
  r.write(FCR, 1, 0x81); // FIFO on, trigger level 8
  const table: [number, number][] = [
    [0, 8],
    [3, 5],
    [8, 0],
    [9, 1],
    [15, 1],
    [16, 0],
  ];
  let queued = 0;
  for (const [count, space] of table) {
    await t.step(`${count} queued → ${space}`, () => {
      while (queued < count) assert.equal(uart.receive(queued++), true);
      assert.equal(uart.rxSpace, space);
    });
  }
  await t.step("FIFO off: 1 until a byte waits", () => {
    r.write(FCR, 1, 0x00);
    assert.equal(uart.rxSpace, 1);
    assert.equal(uart.receive(0x41), true);
    assert.equal(uart.rxSpace, 0);
    assert.equal(uart.receive(0x42), false);
    assert.equal(r.read(RBR, 1), 0x41);
  });
});

Deno.test("Uart16550 raises a character timeout after four character times", () => {
  const { uart, r, irq, time } = makeUart();
  r.write(FCR, 1, 0x81); // trigger level 8
  r.write(IER, 1, 0x01);
  uart.receive(0x61);
  assert.equal(irq.level, false, "below the trigger level");
  // After reset the character time is QEMU's 9600-baud 10-bit frame.
  const timeout = 4 * 1041660;
  time.advance(timeout - 1);
  assert.equal(irq.level, false);
  time.advance(1);
  assert.equal(irq.level, true);
  assert.equal(r.read(IIR, 1), 0xcc);
  assert.equal(r.read(RBR, 1), 0x61);
  assert.equal(irq.level, false);
});

Deno.test("Uart16550 recomputes the character time from LCR and the divisor", () => {
  const { uart, r, irq, time } = makeUart();
  r.write(LCR, 1, 0x80);
  r.write(0, 1, 1); // divisor 1: 399193 baud
  r.write(LCR, 1, 0x03); // 8N1: 10-bit frames
  r.write(FCR, 1, 0x81);
  r.write(IER, 1, 0x01);
  uart.receive(0x61);
  // QEMU: (1e9 / (float)399193) * 10 in single precision, truncated.
  const charTime = Math.trunc(Math.fround(Math.fround(1e9 / 399193) * 10));
  assert.equal(charTime, 25050);
  time.advance(4 * charTime - 1);
  assert.equal(irq.level, false);
  time.advance(1);
  assert.equal(irq.level, true);
});

Deno.test("Uart16550 without a clock interrupts on any received byte", () => {
  const { uart, r, irq } = makeUart(false);
  r.write(FCR, 1, 0xc1); // trigger level 14
  r.write(IER, 1, 0x01);
  uart.receive(0x61);
  assert.equal(irq.level, true);
  assert.equal(r.read(IIR, 1), 0xc4);
});

Deno.test("Uart16550 orders IIR by priority: line status, data, THRE", () => {
  const { r, irq } = makeUart();
  r.write(MCR, 1, 0x10); // loopback, FIFO off
  r.write(THR, 1, 0x11);
  r.write(THR, 1, 0x22); // overruns the holding register
  r.write(IER, 1, 0x07);
  assert.equal(r.read(IIR, 1), 0x06, "receiver line status first");
  assert.equal(r.read(LSR, 1) & 0x03, 0x03, "DR and OE");
  assert.equal(r.read(IIR, 1), 0x04, "then received data");
  assert.equal(r.read(RBR, 1), 0x22);
  assert.equal(r.read(IIR, 1), 0x02, "then THRE");
  assert.equal(r.read(IIR, 1), 0x01, "then nothing");
  assert.equal(irq.level, false);
});

Deno.test("Uart16550 loops THR to RBR and MCR to MSR in loopback", () => {
  const { r, out } = makeUart();
  r.write(MCR, 1, 0x1f);
  r.write(THR, 1, 0x5a);
  assert.deepEqual(out, [], "nothing reaches the backend");
  assert.equal(r.read(LSR, 1) & 0x01, 0x01);
  assert.equal(r.read(RBR, 1), 0x5a);
  assert.equal(r.read(MSR, 1), 0xf0);
  r.write(MCR, 1, 0x08);
  assert.equal(r.read(MSR, 1), 0xb0);
});

Deno.test("Uart16550 flushes the FIFO when FCR toggles or clears it", () => {
  const { uart, r } = makeUart();
  r.write(FCR, 1, 0x01);
  uart.receive(1);
  uart.receive(2);
  r.write(FCR, 1, 0x03); // clear receive FIFO
  assert.equal(r.read(LSR, 1) & 0x01, 0);
  assert.equal(uart.rxSpace, 1);
  uart.receive(3);
  r.write(FCR, 1, 0x00); // disable: flushes
  assert.equal(r.read(LSR, 1) & 0x01, 0);
  assert.equal(r.read(IIR, 1) & 0xc0, 0);
});

Deno.test("Uart16550 state survives a save/load round trip", () => {
  const a = makeUart();
  a.r.write(LCR, 1, 0x80);
  a.r.write(0, 1, 3);
  a.r.write(LCR, 1, 0x1b);
  a.r.write(FCR, 1, 0x41);
  a.r.write(IER, 1, 0x05);
  a.r.write(SCR, 1, 0x77);
  a.r.write(MCR, 1, 0x0b);
  a.uart.receive(0x10);
  a.uart.receive(0x20);
  a.r.read(RBR, 1); // leaves one byte and re-arms the timeout
  const saved = legacyStateRecords(board(a.uart)).uart;
  assert.deepEqual(saved["rxFifo"], [0x20]);
  assert.ok((saved["timeoutDeadlineNs"] as number) > 0);
  const b = makeUart();
  assertRoundTrip(uartState, a.uart, b.uart);
  assert.equal(b.r.read(RBR, 1), 0x20);
  assert.equal(b.r.read(SCR, 1), 0x77);
  assert.equal(b.r.read(LCR, 1), 0x1b);
  b.uart.state.rxFifo = new Uint8Array(17);
  assert.throws(
    () => b.uart.afterLoad(),
    (e: unknown) => e instanceof RangeError && /rxFifo/.test(e.message),
  );
});

Deno.test("Uart16550 reset lowers the interrupt and empties the FIFO", () => {
  const { uart, r, irq } = makeUart();
  r.write(FCR, 1, 0x01);
  r.write(IER, 1, 0x01);
  uart.receive(0x41);
  assert.equal(irq.level, true);
  uart.reset();
  assert.equal(irq.level, false);
  assert.equal(r.read(LSR, 1), 0x60);
  assert.equal(r.read(IER, 1), 0);
});

// ---------------------------------------------------------------- CLINT

const MTIMECMP = 0x0, MTIME = 0x7ff8;

function makeClint() {
  const time = new FakeTime();
  const hart = new FakeHart();
  const clint = new Clint({ base: CLINT_BASE, clock: time.clock, hart });
  return {
    clint,
    hart,
    time,
    mswi: region(clint, 0),
    mtimer: region(clint, 1),
  };
}

Deno.test("Clint maps an MSWI and an MTIMER window as QEMU's virt", () => {
  const { mswi, mtimer } = makeClint();
  assert.deepEqual(
    [mswi.base, mswi.size, [...mswi.accessSizes]],
    [CLINT_BASE, 0x4000, [4]],
  );
  assert.deepEqual(
    [mtimer.base, mtimer.size, [...mtimer.accessSizes]],
    [CLINT_BASE + 0x4000, 0x8000, [4, 8]],
  );
});

Deno.test("Clint counts mtime at 10 MHz of virtual time", () => {
  const { clint, time, mtimer } = makeClint();
  time.icount = 12_345;
  assert.equal(clint.readMtime(), 123);
  assert.equal(clint.mtime(), 123n);
  assert.equal(mtimer.read(MTIME, 4), 123);
  assert.equal(mtimer.read(MTIME + 4, 4), 0);
  time.icount = 100 * 2 ** 32 + 500;
  assert.equal(mtimer.read(MTIME, 4), 5);
  assert.equal(mtimer.read(MTIME + 4, 4), 1);
});

Deno.test("Clint holds MTIP after reset until mtimecmp moves ahead", () => {
  const { hart, mtimer } = makeClint();
  assert.equal(hart.mip & MIP_MTIP, MIP_MTIP, "mtimecmp resets to 0");
  assert.equal(mtimer.read(MTIMECMP, 4), 0);
  mtimer.write(MTIMECMP, 4, 1000);
  mtimer.write(MTIMECMP + 4, 4, 0);
  assert.equal(hart.mip & MIP_MTIP, 0);
});

Deno.test("Clint raises MTIP at exactly the mtimecmp deadline", () => {
  const { hart, time, mtimer } = makeClint();
  time.advance(150); // mtime 1, mid-tick
  mtimer.write(MTIMECMP + 4, 4, 0);
  mtimer.write(MTIMECMP, 4, 3);
  assert.equal(hart.mip & MIP_MTIP, 0);
  time.advance(149); // 299 ns: mtime 2
  assert.equal(hart.mip & MIP_MTIP, 0);
  time.advance(1); // 300 ns: mtime 3
  assert.equal(hart.mip & MIP_MTIP, MIP_MTIP);
  mtimer.write(MTIMECMP, 4, 2);
  assert.equal(hart.mip & MIP_MTIP, MIP_MTIP, "a deadline in the past");
  mtimer.write(MTIMECMP, 4, 0xffff_ffff);
  mtimer.write(MTIMECMP + 4, 4, 0xffff_ffff);
  assert.equal(hart.mip & MIP_MTIP, 0);
  assert.equal(time.clock.nextDeadline(), Infinity, "no timer for -1");
});

Deno.test("Clint offsets mtime when the guest writes it, as QEMU", () => {
  const { clint, hart, time, mtimer } = makeClint();
  time.advance(1000); // mtime 10
  mtimer.write(MTIMECMP, 4, 6000);
  mtimer.write(MTIME, 4, 5000);
  assert.equal(clint.readMtime(), 5000);
  time.advance(100);
  assert.equal(clint.readMtime(), 5001);
  time.advance(999 * 100 - 1);
  assert.equal(hart.mip & MIP_MTIP, 0);
  time.advance(1);
  assert.equal(clint.readMtime(), 6000);
  assert.equal(hart.mip & MIP_MTIP, MIP_MTIP);
  mtimer.write(MTIME + 4, 4, 2);
  assert.equal(clint.mtime(), (2n << 32n) | 6000n);
  mtimer.write(MTIME, 4, 0);
  mtimer.write(MTIME + 4, 4, 0);
  assert.equal(hart.mip & MIP_MTIP, 0, "moving mtime back lowers MTIP");
  clint.reset();
  assert.equal(clint.readMtime(), 0, "reset sets mtime to 0");
  assert.equal(mtimer.read(MTIMECMP, 4), 6000, "reset keeps mtimecmp");
});

Deno.test("Clint drives MSIP from its register", () => {
  const { hart, mswi } = makeClint();
  mswi.write(0, 4, 0xffff_ffff);
  assert.equal(hart.mip & MIP_MSIP, MIP_MSIP);
  assert.equal(mswi.read(0, 4), 1);
  mswi.write(4, 4, 0);
  assert.equal(mswi.read(4, 4), 0, "no second hart");
  mswi.write(0, 4, 2);
  assert.equal(hart.mip & MIP_MSIP, 0);
  assert.equal(mswi.read(0, 4), 0);
});

Deno.test("Clint state survives a save/load round trip", () => {
  const a = makeClint();
  a.time.advance(777);
  a.mswi.write(0, 4, 1);
  a.mtimer.write(MTIME, 4, 0x1234);
  a.mtimer.write(MTIMECMP, 4, 0x2000);
  const saved = legacyStateRecords(board(a.clint)).clint;
  assert.equal(typeof saved["timerDeadlineNs"], "number");
  const b = makeClint();
  b.time.icount = a.time.icount;
  assertRoundTrip(clintState, a.clint, b.clint);
  assert.equal(b.clint.readMtime(), a.clint.readMtime());
  assert.equal(b.mswi.read(0, 4), 1);
  b.time.advance((0x2000 - 0x1234) * 100);
  assert.equal(b.hart.mip & MIP_MTIP, MIP_MTIP, "the loaded timer fires");
});

// ---------------------------------------------------------------- PLIC

const CLAIM_M = 0x200004, CLAIM_S = 0x201004;
const THRESHOLD_M = 0x200000, THRESHOLD_S = 0x201000;
const ENABLE_M = 0x2000, ENABLE_S = 0x2080;

function makePlic() {
  const hart = new FakeHart();
  const plic = new Plic({ base: PLIC_BASE, hart });
  return { plic, hart, r: region(plic) };
}

Deno.test("Plic claims the highest-priority pending source", () => {
  const { plic, hart, r } = makePlic();
  r.write(3 * 4, 4, 1);
  r.write(40 * 4, 4, 5);
  r.write(70 * 4, 4, 3);
  r.write(ENABLE_S, 4, 1 << 3);
  r.write(ENABLE_S + 4, 4, 1 << (40 - 32));
  r.write(ENABLE_S + 8, 4, 1 << (70 - 64));
  for (const n of [3, 40, 70]) plic.irq(n).set(true);
  assert.equal(hart.mip, MIP_SEIP, "S-mode context only");
  assert.equal(r.read(0x1000 + 4, 4), 1 << 8, "pending word 1");
  assert.equal(r.read(CLAIM_S, 4), 40);
  assert.equal(r.read(CLAIM_S, 4), 70);
  assert.equal(r.read(CLAIM_S, 4), 3);
  assert.equal(r.read(CLAIM_S, 4), 0, "nothing left");
  assert.equal(hart.mip, 0);
});

Deno.test("Plic breaks priority ties by the lowest source number", () => {
  const { plic, r } = makePlic();
  for (const n of [9, 5, 7]) {
    r.write(n * 4, 4, 2);
    plic.irq(n).set(true);
  }
  r.write(ENABLE_M, 4, 0xffff_ffff);
  assert.equal(r.read(CLAIM_M, 4), 5);
  assert.equal(r.read(CLAIM_M, 4), 7);
  assert.equal(r.read(CLAIM_M, 4), 9);
});

Deno.test("Plic masks sources at or below the context threshold", async (t) => {
  const { plic, hart, r } = makePlic();
  r.write(10 * 4, 4, 3);
  r.write(ENABLE_M, 4, 1 << 10);
  plic.irq(10).set(true);
  const table: [number, boolean][] = [[0, true], [2, true], [3, false], [
    7,
    false,
  ], [1, true]];
  for (const [threshold, on] of table) {
    await t.step(`threshold ${threshold} → MEIP ${on}`, () => {
      r.write(THRESHOLD_M, 4, threshold);
      assert.equal(r.read(THRESHOLD_M, 4), threshold);
      assert.equal((hart.mip & MIP_MEIP) !== 0, on);
    });
  }
});

Deno.test("Plic keeps 3 bits of priority and threshold", () => {
  const { plic, hart, r } = makePlic();
  r.write(1 * 4, 4, 0xff);
  assert.equal(r.read(1 * 4, 4), 7);
  r.write(THRESHOLD_S, 4, 0x0e);
  assert.equal(r.read(THRESHOLD_S, 4), 6);
  r.write(2 * 4, 4, 0);
  r.write(ENABLE_S, 4, 1 << 2);
  r.write(THRESHOLD_S, 4, 0);
  plic.irq(2).set(true);
  assert.equal(hart.mip, 0, "priority 0 never interrupts");
});

Deno.test("Plic re-pends a completed source whose line is still high", () => {
  const { plic, hart, r } = makePlic();
  r.write(10 * 4, 4, 1);
  r.write(11 * 4, 4, 1);
  r.write(ENABLE_S, 4, (1 << 10) | (1 << 11));
  plic.irq(10).set(true);
  assert.equal(r.read(CLAIM_S, 4), 10);
  assert.equal(hart.mip, 0, "claimed: not pending");
  assert.equal(r.read(0x1000, 4), 0);
  r.write(CLAIM_S, 4, 10); // complete with the line still high
  assert.equal(hart.mip, MIP_SEIP);
  assert.equal(r.read(CLAIM_S, 4), 10);
  plic.irq(10).set(false);
  r.write(CLAIM_S, 4, 10);
  assert.equal(hart.mip, 0, "line low: no new request");
  plic.irq(11).set(true);
  assert.equal(r.read(CLAIM_S, 4), 11);
  plic.irq(11).set(true); // raised again while claimed
  assert.equal(hart.mip, 0, "claimed sources are masked");
  r.write(CLAIM_S, 4, 11);
  assert.equal(hart.mip, MIP_SEIP);
});

Deno.test("Plic routes context 0 to MEIP and context 1 to SEIP", () => {
  const { plic, hart, r } = makePlic();
  r.write(1 * 4, 4, 1);
  r.write(2 * 4, 4, 1);
  r.write(ENABLE_M, 4, 1 << 1);
  r.write(ENABLE_S, 4, 1 << 2);
  plic.irq(1).set(true);
  assert.equal(hart.mip, MIP_MEIP);
  plic.irq(2).set(true);
  assert.equal(hart.mip, MIP_MEIP | MIP_SEIP);
  assert.equal(r.read(CLAIM_S, 4), 2);
  assert.equal(hart.mip, MIP_MEIP);
  r.write(ENABLE_M, 4, 0);
  assert.equal(hart.mip, 0, "disabling re-evaluates at once");
  assert.equal(r.read(ENABLE_M + 12, 4), 0, "beyond the 3 enable words");
});

Deno.test("Plic rejects sources that do not exist", async (t) => {
  const { plic } = makePlic();
  for (const n of [0, 96, -1, 1.5]) {
    await t.step(`source ${n}`, () => {
      assert.throws(() => plic.irq(n), RangeError);
    });
  }
  assert.equal(plic.irq(95), plic.irq(95));
});

Deno.test("Plic reset clears every register and lowers both outputs", () => {
  const { plic, hart, r } = makePlic();
  r.write(5 * 4, 4, 4);
  r.write(ENABLE_M, 4, 1 << 5);
  r.write(ENABLE_S, 4, 1 << 5);
  plic.irq(5).set(true);
  assert.equal(hart.mip, MIP_MEIP | MIP_SEIP);
  plic.reset();
  assert.equal(hart.mip, 0);
  assert.equal(r.read(5 * 4, 4), 0);
  assert.equal(r.read(ENABLE_M, 4), 0);
  assert.equal(r.read(0x1000, 4), 0);
});

Deno.test("Plic state survives a save/load round trip", () => {
  const a = makePlic();
  a.r.write(33 * 4, 4, 6);
  a.r.write(34 * 4, 4, 2);
  a.r.write(ENABLE_S + 4, 4, 0b110);
  a.r.write(THRESHOLD_M, 4, 1);
  a.plic.irq(33).set(true);
  a.plic.irq(34).set(true);
  assert.equal(a.r.read(CLAIM_S, 4), 33);
  const b = makePlic();
  const saved = assertRoundTrip(plicState, a.plic, b.plic);
  assert.equal(b.r.read(CLAIM_S, 4), 34);
  b.r.write(CLAIM_S, 4, 33);
  assert.equal(b.hart.mip, MIP_SEIP, "33 is still high, so it is pending");
  const small = new Plic({ base: 0, hart: new FakeHart(), numSources: 32 });
  assignState(small.state, decodeState(plicState, saved));
  assert.throws(() => small.afterLoad(), RangeError);
});

Deno.test("Plic wire-ORs the inputs of a shared source", () => {
  const { plic, hart, r } = makePlic();
  r.write(7 * 4, 4, 1);
  r.write(ENABLE_S, 4, 1 << 7);
  const a = plic.connect(7), b = plic.connect(7);
  assert.notEqual(a, b);
  a.set(true);
  b.set(false);
  assert.equal(hart.mip, MIP_SEIP, "b going low keeps a's request");
  assert.equal(r.read(CLAIM_S, 4), 7);
  a.set(false);
  b.set(true);
  r.write(CLAIM_S, 4, 7);
  assert.equal(hart.mip, MIP_SEIP, "b holds the source high: re-pended");
  assert.equal(r.read(CLAIM_S, 4), 7);
  b.set(false);
  r.write(CLAIM_S, 4, 7);
  assert.equal(hart.mip, 0, "every input low: the source is low");
});

Deno.test("Plic reads a version-1 state (one input per source)", () => {
  const a = makePlic();
  a.r.write(9 * 4, 4, 1);
  a.r.write(ENABLE_M, 4, 1 << 9);
  a.plic.irq(9).set(true);
  const { inputs: _, ...v1 } = a.plic.state;
  const v1State = { ...plicState, version: 1, fields: { ...plicState.fields } };
  delete (v1State.fields as Record<string, unknown>).inputs;
  const bytes = encodeState(
    v1State as unknown as StateDescription,
    v1 as unknown as StateValues<StateFields>,
  );
  const b = makePlic();
  assignState(b.plic.state, decodeState(plicState, bytes));
  b.plic.afterLoad();
  assert.equal(b.plic.state.inputs[9], 1, "the level is input 0's");
  b.plic.irq(9).set(false);
  assert.equal(b.r.read(0x1000, 4), 0, "lowering input 0 lowers the source");
});

// ---------------------------------------------------------------- test finisher

Deno.test("SifiveTest powers off, fails and resets on QEMU's values", async (t) => {
  const table: [string, number, number, string | undefined][] = [
    ["PASS", 0, 0x5555, "poweroff 0"],
    ["PASS ignores the code", 0, (9 << 16) | 0x5555, "poweroff 0"],
    ["FAIL with code 3", 0, (3 << 16) | 0x3333, "poweroff 3"],
    ["FAIL with code 0xffff", 0, 0xffff_3333, "poweroff 65535"],
    ["RESET", 0, 0x7777, "reset 0"],
    ["an unknown status", 0, 0x1234, undefined],
    ["another offset", 4, 0x5555, undefined],
  ];
  for (const [name, offset, value, want] of table) {
    await t.step(name, () => {
      let got: string | undefined;
      const dev = new SifiveTest({
        base: TEST_BASE,
        onShutdown: (kind, code) => (got = `${kind} ${code}`),
      });
      region(dev).write(offset, 4, value);
      assert.equal(got, want);
    });
  }
  await t.step("2-byte writes, reads of 0", () => {
    let got = "";
    const dev = new SifiveTest({
      base: TEST_BASE,
      onShutdown: (kind) => (got = kind),
    });
    const r = region(dev);
    assert.deepEqual([...r.accessSizes], [2, 4]);
    assert.equal(r.size, 0x1000);
    r.write(0, 2, 0x7777);
    assert.equal(got, "reset");
    assert.equal(r.read(0, 4), 0);
    assertRoundTrip(sifiveTestState, dev, dev);
  });
});

// ---------------------------------------------------------------- RTC

function makeRtc(host: bigint | number = 1_700_000_000_123_456_789n) {
  const time = new FakeTime();
  const irq = new FakeLine();
  let calls = 0;
  const rtc = new GoldfishRtc({
    base: RTC_BASE,
    clock: time.clock,
    irq,
    hostClock: () => {
      calls++;
      return host;
    },
  });
  return { rtc, irq, time, r: region(rtc), hostCalls: () => calls };
}

function readRtcTime(r: MmioRegion): bigint {
  const lo = r.read(0x00, 4);
  const hi = r.read(0x04, 4);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

Deno.test("GoldfishRtc counts host seconds plus virtual nanoseconds", () => {
  const { rtc, time, r, hostCalls } = makeRtc();
  assert.equal(readRtcTime(r), 1_700_000_000_000_000_000n);
  time.advance(12_345);
  assert.equal(readRtcTime(r), 1_700_000_000_000_012_345n);
  assert.equal(rtc.nowNs(), 1_700_000_000_000_012_345n);
  assert.equal(hostCalls(), 1, "the host clock is read once");
  const num = makeRtc(2.5e9);
  assert.equal(readRtcTime(num.r), 2_000_000_000n);
});

Deno.test("GoldfishRtc latches TIME_HIGH when TIME_LOW is read", () => {
  const { time, r } = makeRtc(0n);
  r.write(0x00, 4, 0xffff_ff00);
  r.read(0x00, 4);
  time.advance(0x200); // the low word wraps
  assert.equal(r.read(0x04, 4), 0, "still the latched high word");
  assert.equal(r.read(0x00, 4), 0x100);
  assert.equal(r.read(0x04, 4), 1);
});

Deno.test("GoldfishRtc sets the time by an offset", () => {
  const { time, r } = makeRtc(0n);
  r.write(0x04, 4, 5);
  r.write(0x00, 4, 7);
  assert.equal(readRtcTime(r), (5n << 32n) | 7n);
  time.advance(10);
  assert.equal(readRtcTime(r), (5n << 32n) | 17n);
});

Deno.test("GoldfishRtc fires its alarm on the virtual clock", () => {
  const { irq, time, r } = makeRtc(10_000_000_000n);
  const at = 10_000_000_000n + 1000n;
  r.write(0x10, 4, 1);
  r.write(0x0c, 4, Number(at >> 32n));
  r.write(0x08, 4, Number(at & 0xffff_ffffn));
  assert.equal(r.read(0x18, 4), 1, "ALARM_STATUS: running");
  assert.equal(r.read(0x08, 4), Number(at & 0xffff_ffffn));
  assert.equal(r.read(0x0c, 4), Number(at >> 32n));
  time.advance(999);
  assert.equal(irq.level, false);
  time.advance(1);
  assert.equal(irq.level, true);
  assert.equal(r.read(0x18, 4), 0);
  r.write(0x1c, 4, 1); // CLEAR_INTERRUPT
  assert.equal(irq.level, false);
});

Deno.test("GoldfishRtc interrupts at once for an alarm in the past", () => {
  const { irq, r } = makeRtc(10_000_000_000n);
  r.write(0x0c, 4, 0);
  r.write(0x08, 4, 5);
  assert.equal(irq.level, false, "IRQ_ENABLED masks it");
  r.write(0x10, 4, 1);
  assert.equal(irq.level, true);
  assert.equal(r.read(0x10, 4), 1);
});

Deno.test("GoldfishRtc cancels the alarm on CLEAR_ALARM", () => {
  const { irq, time, r } = makeRtc(0n);
  r.write(0x10, 4, 1);
  r.write(0x08, 4, 500);
  r.write(0x14, 4, 1);
  assert.equal(r.read(0x18, 4), 0);
  time.advance(1000);
  assert.equal(irq.level, false);
});

Deno.test("GoldfishRtc state survives a save/load round trip", () => {
  const a = makeRtc();
  a.time.advance(5);
  a.r.write(0x00, 4, 0x1234);
  a.r.write(0x10, 4, 1);
  const now = a.rtc.nowNs();
  a.r.write(0x0c, 4, Number((now + 50n) >> 32n));
  a.r.write(0x08, 4, Number((now + 50n) & 0xffff_ffffn));
  a.r.read(0x00, 4);
  const saved = legacyStateRecords(board(a.rtc)).rtc;
  assert.equal(typeof saved["resetOffset"], "string", "u64 as decimal text");
  const b = makeRtc(0n);
  b.time.icount = a.time.icount;
  assertRoundTrip(rtcState, a.rtc, b.rtc);
  assert.equal(b.rtc.nowNs(), now);
  b.time.advance(50);
  assert.equal(b.irq.level, true, "the loaded alarm fires");
  b.rtc.reset();
  assert.equal(b.rtc.nowNs() / 1_000_000_000n, 1_700_000_000n);
});

// ---------------------------------------------------------------- virtio-mmio

Deno.test("VirtioMmioSlot reads as an empty version-2 slot", async (t) => {
  // QEMU 7.2's default is force-legacy=on (Version 1); force-legacy=off is 2.
  assert.equal(region(new VirtioMmioSlot({ base: VIRTIO_BASE })).read(4, 4), 1);
  const slot = new VirtioMmioSlot({ base: VIRTIO_BASE, legacy: false });
  const r = region(slot);
  assert.deepEqual([r.base, r.size, [...r.accessSizes]], [
    VIRTIO_BASE,
    0x200,
    [1, 2, 4],
  ]);
  const table: [string, number, number][] = [
    ["MagicValue", 0x000, 0x74726976],
    ["Version", 0x004, 2],
    ["DeviceID", 0x008, 0],
    ["VendorID", 0x00c, 0x554d4551],
    ["DeviceFeatures", 0x010, 0],
    ["QueueNumMax", 0x034, 0],
    ["Status", 0x070, 0],
    ["config space", 0x100, 0],
  ];
  for (const [name, offset, want] of table) {
    await t.step(name, () => {
      r.write(offset, 4, 0xffff_ffff);
      assert.equal(r.read(offset, 4), want);
    });
  }
  assertRoundTrip(
    virtioMmioState,
    slot,
    new VirtioMmioSlot({ base: VIRTIO_BASE }),
  );
});

// ---------------------------------------------------------------- boot ROM

const ROM_OPTIONS = {
  startAddr: 0x8000_0000,
  fdtAddr: 0x87e0_0000,
  kernelEntry: 0x8020_0000,
};

/** `xp /20wx 0x1000` in QEMU 7.2's monitor with these addresses. */
const QEMU_ROM_WORDS = [
  0x00000297,
  0x02828613,
  0xf1402573,
  0x0202b583,
  0x0182b283,
  0x00028067,
  0x80000000,
  0x00000000,
  0x87e00000,
  0x00000000,
  0x4942534f,
  0x00000000,
  0x00000002,
  0x00000000,
  0x80200000,
  0x00000000,
  0x00000001,
  0x00000000,
  0x00000000,
  0x00000000,
  0x00000000,
  0x00000000,
];

Deno.test("BootRom holds QEMU's reset vector and fw_dynamic_info", async (t) => {
  const rom = new BootRom(ROM_OPTIONS);
  const r = region(rom);
  assert.deepEqual([r.base, r.size, [...r.accessSizes]], [
    MROM_BASE,
    0xf000,
    [1, 2, 4, 8],
  ]);
  await t.step("words match QEMU's", () => {
    const words = QEMU_ROM_WORDS.map((_, i) => r.read(i * 4, 4));
    assert.deepEqual(words, QEMU_ROM_WORDS);
  });
  await t.step("byte and halfword reads are little-endian", () => {
    assert.equal(r.read(0, 1), 0x97);
    assert.equal(r.read(1, 1), 0x02);
    assert.equal(r.read(2, 2), 0x0000);
    assert.equal(r.read(4, 2), 0x8613);
    assert.equal(r.read(0xeffc, 4), 0, "the rest of the window is 0");
  });
  await t.step("writes are ignored", () => {
    r.write(0, 4, 0);
    assert.equal(r.read(0, 4), 0x00000297);
  });
  await t.step("next_mode and 64-bit addresses", () => {
    const m = new BootRom({
      startAddr: 0x1_2345_6789n,
      fdtAddr: 0x8000_0000,
      kernelEntry: 0x8020_0000,
      nextMode: 3,
    });
    const mr = region(m);
    assert.equal(mr.read(0x18, 4), 0x2345_6789);
    assert.equal(mr.read(0x1c, 4), 1);
    assert.equal(mr.read(0x40, 4), 3);
    assert.throws(
      () => new BootRom({ ...ROM_OPTIONS, nextMode: 2 }),
      RangeError,
    );
    assert.throws(
      () => new BootRom({ ...ROM_OPTIONS, startAddr: -1 }),
      RangeError,
    );
  });
  await t.step("state round trip", () => {
    assert.equal(rom.state.kernelEntry, 0x8020_0000n);
    const other = new BootRom({ startAddr: 0, fdtAddr: 0, kernelEntry: 0 });
    assertRoundTrip(bootRomState, rom, other);
    assert.deepEqual(other.image(), rom.image());
  });
});

/** Fail (never skip) when a tool that `deno task setup` installs is missing. */
function requireTool(present: boolean, tool: string, pkg: string): void {
  if (!present) {
    throw new Error(
      `${tool} is not installed; run deno task setup (it installs the Debian package ${pkg})`,
    );
  }
}

const HAS_OBJDUMP = hasTool("riscv64-unknown-elf-objdump", ["--version"]);

Deno.test("BootRom disassembles to the intended instructions", async (t) => {
  await t.step({
    name: "riscv64-unknown-elf-objdump agrees",
    fn: () => {
      requireTool(
        HAS_OBJDUMP,
        "riscv64-unknown-elf-objdump",
        "binutils-riscv64-unknown-elf",
      );
      const code = new BootRom(ROM_OPTIONS).image().subarray(0, 24);
      const path = Deno.makeTempFileSync({ dir: "/tmp", suffix: ".bin" });
      try {
        Deno.writeFileSync(path, code);
        const res = new Deno.Command("riscv64-unknown-elf-objdump", {
          args: [
            "-D",
            "-b",
            "binary",
            "-m",
            "riscv:rv64",
            "-M",
            "no-aliases",
            path,
          ],
        }).outputSync();
        assert.ok(res.success);
        const text = new TextDecoder().decode(res.stdout);
        const insns = [
          ...text.matchAll(/^\s+[0-9a-f]+:\s+[0-9a-f]{8}\s+(.+)$/gm),
        ]
          .map((m) => m[1]!.replace(/\s*#.*$/, "").replace(/\s+/g, " ").trim());
        assert.deepEqual(insns, [
          "auipc t0,0x0",
          "addi a2,t0,40",
          "csrrs a0,mhartid,zero",
          "ld a1,32(t0)",
          "ld t0,24(t0)",
          "jalr zero,0(t0)",
        ]);
      } finally {
        Deno.removeSync(path);
      }
    },
  });
});

// ---------------------------------------------------------------- FDT

interface FdtNode {
  path: string;
  props: [string, Uint8Array][];
}

/** Walk a DTB's structure block: nodes in order with their properties. */
function parseDtb(dtb: Uint8Array): FdtNode[] {
  const v = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  assert.equal(v.getUint32(0), 0xd00dfeed, "magic");
  const offStruct = v.getUint32(8);
  const offStrings = v.getUint32(12);
  const cstr = (at: number) => {
    let end = at;
    while (dtb[end] !== 0) end++;
    return new TextDecoder().decode(dtb.subarray(at, end));
  };
  const nodes: FdtNode[] = [];
  const stack: FdtNode[] = [];
  let p = offStruct;
  for (;;) {
    const tok = v.getUint32(p);
    p += 4;
    if (tok === 1) {
      const name = cstr(p);
      p = (p + name.length + 1 + 3) & ~3;
      const parent = stack[stack.length - 1];
      const path = parent
        ? `${parent.path === "/" ? "" : parent.path}/${name}`
        : "/";
      const node = { path, props: [] as [string, Uint8Array][] };
      nodes.push(node);
      stack.push(node);
    } else if (tok === 2) {
      stack.pop();
    } else if (tok === 3) {
      const len = v.getUint32(p);
      const nameOff = v.getUint32(p + 4);
      const value = dtb.slice(p + 8, p + 8 + len);
      stack[stack.length - 1]!.props.push([cstr(offStrings + nameOff), value]);
      p = (p + 8 + len + 3) & ~3;
    } else if (tok === 4) {
      continue;
    } else {
      assert.equal(tok, 9, "FDT_END");
      return nodes;
    }
  }
}

function prop(nodes: FdtNode[], path: string, name: string): Uint8Array {
  const node = nodes.find((n) => n.path === path);
  assert.ok(node, `node ${path}`);
  const p = node.props.find(([n]) => n === name);
  assert.ok(p, `property ${path}:${name}`);
  return p[1];
}

function cells(b: Uint8Array): number[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(i * 4));
}

function strings(b: Uint8Array): string[] {
  return new TextDecoder().decode(b).split("\0").slice(0, -1);
}

Deno.test("FdtBuilder writes a version 17 header and one copy of each name", () => {
  const fdt = new FdtBuilder({ bootCpuId: 3 });
  assert.equal(fdt.allocPhandle(), 1);
  assert.equal(fdt.allocPhandle(), 2);
  fdt.beginNode("").propU32("#address-cells", 2);
  fdt.beginNode("a@1").propU32("reg", 1).propStr("status", "okay").endNode();
  fdt.beginNode("b@2").propU32("reg", [2, 3]).propU64("big", 1n << 40n)
    .prop("empty").propStrList("compatible", ["x", "y"]).endNode();
  const dtb = fdt.endNode().finish();
  const v = new DataView(dtb.buffer);
  assert.equal(v.getUint32(4), dtb.length, "totalsize");
  assert.equal(v.getUint32(16), 40, "off_mem_rsvmap");
  assert.deepEqual(dtb.subarray(40, 56), new Uint8Array(16), "empty rsvmap");
  assert.equal(v.getUint32(8), 56, "off_dt_struct");
  assert.equal(v.getUint32(20), 17, "version");
  assert.equal(v.getUint32(24), 16, "last_comp_version");
  assert.equal(v.getUint32(28), 3, "boot_cpuid_phys");
  const strs = new TextDecoder().decode(
    dtb.subarray(v.getUint32(12), v.getUint32(12) + v.getUint32(32)),
  );
  assert.equal(strs, "#address-cells\0reg\0status\0big\0empty\0compatible\0");
  const nodes = parseDtb(dtb);
  assert.deepEqual(nodes.map((n) => n.path), ["/", "/a@1", "/b@2"]);
  assert.deepEqual(cells(prop(nodes, "/b@2", "reg")), [2, 3]);
  assert.deepEqual(cells(prop(nodes, "/b@2", "big")), [0x100, 0]);
  assert.equal(prop(nodes, "/b@2", "empty").length, 0);
  assert.deepEqual(strings(prop(nodes, "/b@2", "compatible")), ["x", "y"]);
});

Deno.test("FdtBuilder rejects malformed trees", async (t) => {
  const cases: [string, (f: FdtBuilder) => unknown, ErrorConstructor][] = [
    ["a property outside a node", (f) => f.propU32("x", 1), TypeError],
    ["a named root", (f) => f.beginNode("root"), TypeError],
    [
      "a second root",
      (f) => f.beginNode("").endNode().beginNode(""),
      TypeError,
    ],
    ["an unbalanced endNode", (f) => f.endNode(), TypeError],
    ["an unfinished tree", (f) => f.beginNode("").finish(), TypeError],
    ["no root", (f) => f.finish(), TypeError],
    [
      "a property after a child",
      (f) => f.beginNode("").beginNode("c").endNode().propU32("x", 1),
      TypeError,
    ],
    ["a slash in a name", (f) => f.beginNode("").beginNode("a/b"), TypeError],
    ["a negative cell", (f) => f.beginNode("").propU32("x", -1), RangeError],
    ["a 2^32 cell", (f) => f.beginNode("").propU32("x", 2 ** 32), RangeError],
    [
      "a NUL in a string",
      (f) => f.beginNode("").propStr("x", "a\0b"),
      TypeError,
    ],
  ];
  for (const [name, build, kind] of cases) {
    await t.step(name, () => {
      assert.throws(() => build(new FdtBuilder()), kind);
    });
  }
});

const VIRT_OPTIONS = {
  ramBase: DRAM_BASE,
  ramSize: 128 * 1024 * 1024,
  bootargs: "console=ttyS0 earlycon",
  initrd: { start: 0x8400_0000, end: 0x8412_3456 },
  rngSeed: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
};

Deno.test("buildVirtFdt describes QEMU's virt board with one hart", async (t) => {
  const nodes = parseDtb(buildVirtFdt(VIRT_OPTIONS));
  await t.step("node list", () => {
    assert.deepEqual(nodes.map((n) => n.path), [
      "/",
      "/chosen",
      "/poweroff",
      "/reboot",
      "/memory@80000000",
      "/cpus",
      "/cpus/cpu@0",
      "/cpus/cpu@0/interrupt-controller",
      "/cpus/cpu-map",
      "/cpus/cpu-map/cluster0",
      "/cpus/cpu-map/cluster0/core0",
      "/soc",
      "/soc/rtc@101000",
      "/soc/serial@10000000",
      "/soc/test@100000",
      ...[8, 7, 6, 5, 4, 3, 2, 1].map((i) => `/soc/virtio_mmio@1000${i}000`),
      "/soc/plic@c000000",
      "/soc/clint@2000000",
    ]);
  });
  const table: [string, string, (b: Uint8Array) => unknown, unknown][] = [
    ["/cpus", "timebase-frequency", cells, [10_000_000]],
    ["/cpus/cpu@0", "riscv,isa", strings, [
      "rv64imafdc_zicsr_zifencei_zihintpause",
    ]],
    ["/cpus/cpu@0", "riscv,isa-base", strings, ["rv64i"]],
    ["/cpus/cpu@0", "riscv,isa-extensions", strings, [
      "i",
      "m",
      "a",
      "f",
      "d",
      "c",
      "zicsr",
      "zifencei",
      "zihintpause",
    ]],
    ["/cpus/cpu@0", "mmu-type", strings, ["riscv,sv39"]],
    ["/cpus/cpu@0", "phandle", cells, [1]],
    ["/cpus/cpu@0/interrupt-controller", "phandle", cells, [2]],
    ["/memory@80000000", "reg", cells, [0, DRAM_BASE, 0, 128 << 20]],
    ["/soc/clint@2000000", "interrupts-extended", cells, [2, 3, 2, 7]],
    ["/soc/clint@2000000", "compatible", strings, [
      "sifive,clint0",
      "riscv,clint0",
    ]],
    ["/soc/plic@c000000", "interrupts-extended", cells, [2, 11, 2, 9]],
    ["/soc/plic@c000000", "riscv,ndev", cells, [95]],
    ["/soc/plic@c000000", "reg", cells, [0, 0xc000000, 0, 0x600000]],
    ["/soc/plic@c000000", "phandle", cells, [3]],
    ["/soc/serial@10000000", "clock-frequency", cells, [0x384000]],
    ["/soc/serial@10000000", "interrupts", cells, [10]],
    ["/soc/serial@10000000", "interrupt-parent", cells, [3]],
    ["/soc/rtc@101000", "interrupts", cells, [11]],
    ["/soc/rtc@101000", "compatible", strings, ["google,goldfish-rtc"]],
    ["/soc/test@100000", "compatible", strings, [
      "sifive,test1",
      "sifive,test0",
      "syscon",
    ]],
    ["/soc/virtio_mmio@10008000", "interrupts", cells, [8]],
    ["/soc/virtio_mmio@10001000", "reg", cells, [0, 0x10001000, 0, 0x1000]],
    ["/poweroff", "regmap", cells, [4]],
    ["/poweroff", "value", cells, [0x5555]],
    ["/reboot", "value", cells, [0x7777]],
    ["/chosen", "stdout-path", strings, ["/soc/serial@10000000"]],
    ["/chosen", "bootargs", strings, ["console=ttyS0 earlycon"]],
    ["/chosen", "linux,initrd-start", cells, [0, 0x8400_0000]],
    ["/chosen", "linux,initrd-end", cells, [0, 0x8412_3456]],
    ["/chosen", "rng-seed", (b) => [...b], [1, 2, 3, 4, 5, 6, 7, 8]],
  ];
  for (const [path, name, decode, want] of table) {
    await t.step(`${path}:${name}`, () => {
      assert.deepEqual(decode(prop(nodes, path, name)), want);
    });
  }
  await t.step("optional /chosen properties are left out", () => {
    const bare = parseDtb(
      buildVirtFdt({ ramBase: DRAM_BASE, ramSize: 1 << 20 }),
    );
    const chosen = bare.find((n) => n.path === "/chosen")!;
    assert.deepEqual(chosen.props.map(([n]) => n), ["stdout-path"]);
  });
  await t.step("a bad ISA string", () => {
    assert.throws(
      () => buildVirtFdt({ ...VIRT_OPTIONS, isa: "x86_64" }),
      SyntaxError,
    );
  });
});

const HAS_DTC = hasTool("dtc", ["--version"]);

Deno.test("buildVirtFdt output decompiles with dtc", async (t) => {
  await t.step({
    name: "dtc -I dtb -O dts",
    fn: async () => {
      requireTool(HAS_DTC, "dtc", "device-tree-compiler");
      const child = new Deno.Command("dtc", {
        args: ["-I", "dtb", "-O", "dts", "-"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(buildVirtFdt(VIRT_OPTIONS));
      await w.close();
      const res = await child.output();
      const dts = new TextDecoder().decode(res.stdout);
      const err = new TextDecoder().decode(res.stderr);
      assert.ok(res.success, err);
      assert.doesNotMatch(err, /ERROR/);
      for (
        const line of [
          'model = "riscv-virtio,qemu";',
          'compatible = "sifive,plic-1.0.0\\0riscv,plic0";',
          "riscv,ndev = <0x5f>;",
          "interrupts-extended = <0x02 0x0b 0x02 0x09>;",
          'riscv,isa-extensions = "i\\0m\\0a\\0f\\0d\\0c\\0zicsr\\0zifencei\\0zihintpause";',
          'stdout-path = "/soc/serial@10000000";',
          'bootargs = "console=ttyS0 earlycon";',
          "linux,initrd-start = <0x00 0x84000000>;",
          "timebase-frequency = <0x989680>;",
          "reg = <0x00 0x80000000 0x00 0x8000000>;",
          "virtio_mmio@10001000 {",
        ]
      ) {
        assert.ok(dts.includes(line), `dts has ${line}`);
      }
    },
  });
});

const HAS_QEMU = hasTool("qemu-system-riscv64", ["--version"]);

Deno.test("buildVirtFdt matches QEMU's virt device tree where documented", async (t) => {
  await t.step({
    name: "qemu-system-riscv64 -M virt,dumpdtb=",
    fn: () => {
      requireTool(HAS_QEMU, "qemu-system-riscv64", "qemu-system-misc");
      const path = Deno.makeTempFileSync({ dir: "/tmp", suffix: ".dtb" });
      try {
        const res = new Deno.Command("qemu-system-riscv64", {
          args: [
            "-M",
            `virt,dumpdtb=${path}`,
            "-m",
            "128M",
            "-bios",
            "none",
            "-display",
            "none",
          ],
          stdout: "null",
          stderr: "null",
        }).outputSync();
        assert.ok(res.success);
        const theirs = parseDtb(Deno.readFileSync(path));
        const ours = parseDtb(
          buildVirtFdt({ ramBase: DRAM_BASE, ramSize: 128 << 20 }),
        );
        // Nodes for devices that deja does not have.
        const qemuOnly = /^\/(pmu|fw-cfg@|flash@|platform-bus@|soc\/pci@)/;
        const theirPaths = theirs.map((n) => n.path).filter((p) =>
          !qemuOnly.test(p)
        );
        assert.deepEqual(
          [...ours.map((n) => n.path)].sort(),
          [...theirPaths].sort(),
        );
        // Properties that differ on purpose (see devices/virt_fdt.ts).
        const differs = new Set([
          "/cpus/cpu@0:riscv,isa",
          "/cpus/cpu@0:riscv,isa-base",
          "/cpus/cpu@0:riscv,isa-extensions",
          "/cpus/cpu@0:mmu-type",
          "/cpus/cpu@0:riscv,cbom-block-size",
          "/cpus/cpu@0:riscv,cboz-block-size",
          "/cpus/cpu@0:riscv,cbop-block-size",
          "/soc/plic@c000000:riscv,ndev",
          "/chosen:rng-seed",
        ]);
        const flatten = (nodes: FdtNode[]) =>
          new Map(
            nodes.flatMap((n) =>
              n.props.map(([k, v]) => [`${n.path}:${k}`, [...v]] as const)
            ).filter(([k]) => !differs.has(k) && !qemuOnly.test(k)),
          );
        assert.deepEqual(flatten(ours), flatten(theirs));
        const ndev = cells(prop(theirs, "/soc/plic@c000000", "riscv,ndev"))[0];
        assert.ok(ndev === 95 || ndev === 96, "QEMU 8+ says 95, 7.2 said 96");
      } finally {
        Deno.removeSync(path);
      }
    },
  });
});
