// virtio-mmio at the register level: a test plays the driver, writing the
// registers and the rings in guest RAM of a real VirtMachine, as Linux's and
// U-Boot's drivers do (legacy version 1, QEMU's default, and version 2).

import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { VirtMachine } from "../devices/virt.ts";
import type { VirtioDeviceConfig } from "../devices/virt.ts";
import { STATUS } from "../devices/virtio_mmio.ts";
import { OverlayImage, rawImage } from "../devices/block_image.ts";
import type { EventBackend, InputEvent } from "../devices/events.ts";

const SLOT7 = 0x1000_8000; // the first -device virtio-* (PLIC source 8)
const PLIC_PENDING = 0x0c00_1000;
const RAM = 0x8000_0000;
const QUEUE = 0x8001_0000; // legacy queue: PFN 0x80010
const BUF = 0x8002_0000;
// j . (the hart spins; the test drives the device between runs)
const SPIN = new Uint8Array([0x6f, 0x00, 0x00, 0x00]);

function machine(
  virtio: VirtioDeviceConfig[],
  extra: { virtioLegacy?: boolean; events?: EventBackend } = {},
): VirtMachine {
  return new VirtMachine({
    bios: "none",
    kernel: SPIN,
    memoryBytes: 1 << 20,
    virtio,
    hostClock: () => 1_700_000_000_000_000_000n,
    ...extra,
  });
}

/** A driver for the device in slot 7. */
class Driver {
  constructor(readonly m: VirtMachine, readonly num = 8) {}
  r(off: number): number {
    return this.m.bus.read(SLOT7 + off, 4) >>> 0;
  }
  w(off: number, v: number): void {
    this.m.bus.write(SLOT7 + off, 4, v);
  }
  w32(addr: number, v: number): void {
    this.m.bus.write(addr, 4, v);
  }
  w16(addr: number, v: number): void {
    this.m.bus.write(addr, 2, v);
  }
  get status(): number {
    return this.r(0x70);
  }
  /** Legacy setup of queue 0: desc at QUEUE, avail after it, used aligned. */
  setupLegacy(): void {
    this.w(0x70, 0); // reset
    this.w(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
    this.w(0x28, 4096); // GuestPageSize
    this.w(0x30, 0);
    this.w(0x38, this.num);
    this.w(0x3c, 4096); // QueueAlign
    this.w(0x40, QUEUE / 4096); // QueuePFN
    this.w(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.DRIVER_OK);
  }
  get avail(): number {
    return QUEUE + 16 * this.num;
  }
  get used(): number {
    return Math.ceil((this.avail + 2 * (3 + this.num)) / 4096) * 4096;
  }
  desc(i: number, addr: number, len: number, flags: number, next = 0): void {
    const d = QUEUE + 16 * i;
    this.w32(d, addr % 2 ** 32);
    this.w32(d + 4, Math.floor(addr / 2 ** 32));
    this.w32(d + 8, len);
    this.w16(d + 12, flags);
    this.w16(d + 14, next);
  }
  /** Make chain `head` available and notify; returns the used idx. */
  submit(head: number, availIdx: number): void {
    this.w16(this.avail + 4 + 2 * (availIdx % this.num), head);
    this.w16(this.avail + 2, availIdx + 1);
    this.w(0x50, 0);
  }
  usedIdx(): number {
    return this.m.bus.read(this.used + 2, 2);
  }
  usedElem(i: number): [number, number] {
    const at = this.used + 4 + 8 * i;
    return [this.m.bus.read(at, 4), this.m.bus.read(at + 4, 4)];
  }
}

const NEXT = 1, WRITE = 2;

Deno.test("virtio-mmio: empty slots and devices read as on QEMU 7.2's virt (legacy by default)", () => {
  const m = machine([{ kind: "rng" }]);
  const r = (a: number) => m.bus.read(a, 4) >>> 0;
  // Slot 0 is empty: magic, version 1, device 0, vendor QEMU.
  deepEqual([r(0x1000_1000), r(0x1000_1004), r(0x1000_1008), r(0x1000_100c)], [
    0x74726976,
    1,
    0,
    0x554d4551,
  ]);
  // The first virtio device takes the last slot, as QEMU's -device does.
  equal(r(SLOT7 + 8), 4);
  equal(r(SLOT7 + 0x34), 8); // QueueNumMax
  const modern = machine([{ kind: "rng" }], { virtioLegacy: false });
  equal(modern.bus.read(SLOT7 + 4, 4), 2);
  // Version 2 offers VIRTIO_F_VERSION_1 (bit 32) in the second word.
  modern.bus.write(SLOT7 + 0x14, 4, 1);
  equal(modern.bus.read(SLOT7 + 0x10, 4), 1);
});

Deno.test("virtio-mmio v2: features the device did not offer are refused at FEATURES_OK", () => {
  const m = machine([{ kind: "rng" }], { virtioLegacy: false });
  const d = new Driver(m);
  d.w(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER);
  d.w(0x24, 0);
  d.w(0x20, 1 << 28); // INDIRECT_DESC: not offered
  d.w(0x24, 1);
  d.w(0x20, 1); // VERSION_1
  d.w(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
  equal(d.status & STATUS.FEATURES_OK, 0);
  d.w(0x24, 0);
  d.w(0x20, 0);
  d.w(0x70, STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK);
  equal(d.status & STATUS.FEATURES_OK, STATUS.FEATURES_OK);
});

Deno.test("virtio-rng fills a request with host entropy, recorded and replayed as one event per request", () => {
  const events: InputEvent[] = [];
  const rec = machine([{ kind: "rng" }], {
    events: { replaying: false, input: (e) => void events.push(e) },
  });
  const d = new Driver(rec);
  d.setupLegacy();
  d.desc(0, BUF, 16, WRITE | NEXT, 1);
  d.desc(1, BUF + 0x100, 8, WRITE);
  d.submit(0, 0);
  equal(d.usedIdx(), 1);
  deepEqual(d.usedElem(0), [0, 24]);
  equal(d.r(0x60), 1); // InterruptStatus: used buffer
  equal(rec.bus.read(PLIC_PENDING, 4) & (1 << 8), 1 << 8);
  const got = [...rec.bus.ram8.subarray(BUF - RAM, BUF - RAM + 16)];
  const got2 = [...rec.bus.ram8.subarray(BUF - RAM + 0x100, BUF - RAM + 0x108)];
  const random = events.filter((e) => e.kind === "random");
  equal(random.length, 1);
  deepEqual([...random[0]!.payload], [...got, ...got2]);
  d.w(0x64, 1); // ACK
  equal(d.r(0x60), 0);
  equal(rec.bus.read(PLIC_PENDING, 4) & (1 << 8), 0);

  // A replay takes the logged bytes instead of the host's.
  const taken: string[] = [];
  const rep = machine([{ kind: "rng" }], {
    events: {
      replaying: true,
      take: (kind) => {
        taken.push(kind);
        return events.find((e) => e.kind === kind)!.payload;
      },
    },
  });
  const d2 = new Driver(rep);
  d2.setupLegacy();
  d2.desc(0, BUF, 16, WRITE | NEXT, 1);
  d2.desc(1, BUF + 0x100, 8, WRITE);
  d2.submit(0, 0);
  deepEqual(taken, ["host-clock", "random"]);
  deepEqual([...rep.bus.ram8.subarray(BUF - RAM, BUF - RAM + 16)], got);
});

Deno.test("virtio: bad descriptors set DEVICE_NEEDS_RESET, never a host exception", async (t) => {
  const cases: [string, (d: Driver) => void, RegExp][] = [
    [
      "a buffer outside RAM",
      (d) => d.desc(0, 0x9000_0000, 16, WRITE),
      /outside RAM/,
    ],
    [
      "a buffer that runs off the end of RAM",
      (d) => d.desc(0, RAM + (1 << 20) - 8, 16, WRITE),
      /outside RAM/,
    ],
    ["a 64-bit address", (d) => d.desc(0, 2 ** 40, 16, WRITE), /outside RAM/],
    ["a looping chain", (d) => {
      d.desc(0, BUF, 16, WRITE | NEXT, 1);
      d.desc(1, BUF, 16, WRITE | NEXT, 0);
    }, /loops/],
    [
      "a next index past the table",
      (d) => d.desc(0, BUF, 16, WRITE | NEXT, 200),
      /chains to 200/,
    ],
    ["an indirect descriptor", (d) => d.desc(0, BUF, 16, 4), /indirect/],
  ];
  for (const [name, setup, why] of cases) {
    await t.step(name, () => {
      const m = machine([{ kind: "rng" }]);
      const d = new Driver(m);
      d.setupLegacy();
      setup(d);
      d.submit(0, 0);
      equal(d.status & STATUS.DEVICE_NEEDS_RESET, STATUS.DEVICE_NEEDS_RESET);
      equal(d.r(0x60) & 2, 2); // configuration change interrupt
      ok(
        why.test(m.virtioSlots[7]!.lastError ?? ""),
        m.virtioSlots[7]!.lastError,
      );
      equal(d.usedIdx(), 0);
      // Stopped: a good request is ignored until the driver resets.
      d.desc(0, BUF, 16, WRITE);
      d.submit(0, 1);
      equal(d.usedIdx(), 0);
      // The guest still runs.
      equal(m.run(1000).kind, "budget");
      d.setupLegacy();
      equal(d.status & STATUS.DEVICE_NEEDS_RESET, 0);
      d.desc(0, BUF, 16, WRITE);
      d.submit(0, 0);
      equal(d.usedIdx(), 1);
    });
  }
  await t.step("an available ring naming a descriptor past the queue", () => {
    const m = machine([{ kind: "rng" }]);
    const d = new Driver(m);
    d.setupLegacy();
    d.submit(9, 0);
    equal(d.status & STATUS.DEVICE_NEEDS_RESET, STATUS.DEVICE_NEEDS_RESET);
  });
  await t.step("an available index far ahead of the device", () => {
    const m = machine([{ kind: "rng" }]);
    const d = new Driver(m);
    d.setupLegacy();
    d.desc(0, BUF, 16, WRITE);
    d.submit(0, 40_000);
    equal(d.status & STATUS.DEVICE_NEEDS_RESET, STATUS.DEVICE_NEEDS_RESET);
    ok(
      /available index moved from 0 to 40001/.test(
        m.virtioSlots[7]!.lastError ?? "",
      ),
    );
    equal(d.usedIdx(), 0);
  });
  await t.step("a queue whose rings are outside RAM", () => {
    const m = machine([{ kind: "rng" }]);
    const d = new Driver(m);
    d.w(0x28, 4096);
    d.w(0x38, 8);
    d.w(0x40, 0x2000_0000 / 4096);
    equal(d.status & STATUS.DEVICE_NEEDS_RESET, STATUS.DEVICE_NEEDS_RESET);
    d.w(0x50, 0); // a notify on it does nothing
    equal(m.run(100).kind, "budget");
  });
  await t.step("a block request without a header", () => {
    const disk = new OverlayImage(
      rawImage((_o, out) => (out.fill(0), out.length), 4096),
    );
    const m = machine([{ kind: "blk", image: disk }]);
    const d = new Driver(m);
    d.setupLegacy();
    d.desc(0, BUF, 1, WRITE);
    d.submit(0, 0);
    equal(d.status & STATUS.DEVICE_NEEDS_RESET, STATUS.DEVICE_NEEDS_RESET);
    ok(/16-byte header/.test(m.virtioSlots[7]!.lastError ?? ""));
  });
});

Deno.test("virtio-blk: reads, overlay writes, out-of-range and read-only requests; state in snapshots", () => {
  const file = new Uint8Array(8192);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7) & 0xff;
  const disk = new OverlayImage(rawImage((off, out) => {
    out.set(file.subarray(off, off + out.length));
    return out.length;
  }, file.length));
  const m = machine([{ kind: "blk", image: disk }]);
  const d = new Driver(m);
  equal(d.r(8), 2);
  equal(d.r(0x100), 16); // capacity: 16 sectors
  d.setupLegacy();
  const hdr = (type: number, sector: number) => {
    d.w32(BUF, type);
    d.w32(BUF + 4, 0);
    d.w32(BUF + 8, sector);
    d.w32(BUF + 12, 0);
  };
  const request = (type: number, sector: number, len: number, idx: number) => {
    hdr(type, sector);
    d.desc(0, BUF, 16, NEXT, 1);
    d.desc(1, BUF + 0x1000, len, NEXT | (type === 0 ? WRITE : 0), 2);
    d.desc(2, BUF + 0x3000, 1, WRITE);
    d.submit(0, idx);
    return m.bus.read(BUF + 0x3000, 1);
  };
  equal(request(0, 2, 1024, 0), 0); // IN, sectors 2-3
  deepEqual(d.usedElem(0), [0, 1025]);
  deepEqual(
    [...m.bus.ram8.subarray(BUF - RAM + 0x1000, BUF - RAM + 0x1000 + 1024)],
    [...file.subarray(1024, 2048)],
  );
  // OUT: into the overlay; the file is unchanged.
  m.bus.ram8.fill(0xab, BUF - RAM + 0x1000, BUF - RAM + 0x1200);
  const before = file.slice();
  equal(request(1, 5, 512, 1), 0);
  deepEqual(file, before);
  equal(disk.writtenSectors, 1);
  const snap = m.saveSnapshot();
  equal(request(0, 5, 512, 2), 0);
  equal(m.bus.read(BUF + 0x1000, 1), 0xab);
  // Past the end of the disk: an I/O error, not a crash.
  equal(request(0, 15, 1024, 3), 1);
  equal(d.status & STATUS.DEVICE_NEEDS_RESET, 0);
  // Unknown request type.
  equal(request(99, 0, 512, 4), 2);
  // A restore brings the overlay back with the rest of the machine.
  const other = machine([{
    kind: "blk",
    image: new OverlayImage(rawImage((off, out) => {
      out.set(file.subarray(off, off + out.length));
      return out.length;
    }, file.length)),
  }]);
  other.restoreSnapshot(snap);
  const d2 = new Driver(other);
  // The restored queue goes on from the used index it had.
  equal(d2.usedIdx(), 2);
  hdr(0, 5);
  other.bus.write(BUF + 8, 4, 5);
  d2.desc(0, BUF, 16, NEXT, 1);
  d2.desc(1, BUF + 0x1000, 512, NEXT | WRITE, 2);
  d2.desc(2, BUF + 0x3000, 1, WRITE);
  other.bus.write(BUF, 4, 0);
  other.bus.ram8.fill(0, BUF - RAM + 0x1000, BUF - RAM + 0x1200);
  d2.submit(0, 2);
  equal(d2.usedIdx(), 3);
  equal(other.bus.read(BUF + 0x1000, 1), 0xab);

  // A read-only drive fails writes with an I/O error.
  const ro = machine([{ kind: "blk", image: disk, readonly: true }]);
  const d3 = new Driver(ro);
  notEqual(d3.r(0x10) & (1 << 5), 0); // VIRTIO_BLK_F_RO
});
