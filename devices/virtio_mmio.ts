/**
 * The virtio-mmio transport of the `virt` board: one slot, empty or with a
 * virtio device (block, entropy) behind it.
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, section 4.2 (MMIO
 * transport: register layout 4.2.2, legacy interface 4.2.4), and QEMU's
 * `hw/virtio/virtio-mmio.c`. QEMU 7.2's `virtio-mmio` has `force-legacy=on`
 * by default, so its slots report Version 1 (legacy: GuestPageSize,
 * QueueAlign, QueuePFN) unless `-global virtio-mmio.force-legacy=false`
 * asks for Version 2; deja does the same (`legacy` option). An empty slot
 * reads MagicValue 0x74726976 ("virt"), the version, VendorID 0x554d4551
 * ("QEMU") and 0 elsewhere (DeviceID 0: no device); writes are ignored.
 *
 * Requests complete synchronously at the guest's QueueNotify write, so a
 * device's work is a pure function of guest memory and its backend (the
 * image; host entropy is pulled through the machine's event backend and so
 * recorded). A descriptor or ring the guest gives that is out of RAM,
 * looping or malformed sets `DEVICE_NEEDS_RESET` (status bit 0x40), raises
 * the configuration-change interrupt and stops the device until the driver
 * resets it, as QEMU's `virtio_error` does.
 *
 * A device may take some queues' chains only when it has data for them (a
 * network card's receive queue: {@linkcode VirtioDevice.deferredQueues}); it
 * fills them through {@linkcode VirtioTransport.fill}.
 *
 * Left out: packed virtqueues, indirect descriptors, event index, shared
 * memory regions; register accesses other than 4 bytes wide read 0 (the
 * configuration space takes 1, 2 and 4).
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import type { IrqLine } from "../core/irq.ts";
import {
  defineState,
  newState,
  type StateDescription,
  type StateValues,
} from "../plugins/state.ts";
import {
  type ChainError,
  type GuestRam,
  type Segment,
  SplitQueue,
} from "./virtio_queue.ts";

const MAGIC_VALUE = 0x74726976;
const VENDOR_ID = 0x554d4551;
/** Most queues a device here has. */
const MAX_QUEUES = 4;

/** Device status bits (VIRTIO 1.2, 2.1). */
export const STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 0x40,
  FAILED: 0x80,
} as const;

/** `VIRTIO_F_VERSION_1`: the modern interface. */
export const VIRTIO_F_VERSION_1 = 1n << 32n;

/** A device behind a virtio-mmio slot (the transport does the rest). */
export interface VirtioDevice {
  /** Device ID (2 block, 4 entropy, 1 network). */
  readonly deviceId: number;
  /** Device feature bits (the transport adds `VIRTIO_F_VERSION_1`). */
  readonly features: bigint;
  /** Maximum size of each queue; the length is the number of queues. */
  readonly queueSizes: readonly number[];
  /**
   * Read the device configuration space.
   *
   * @param offset byte offset in it
   * @param size 1, 2 or 4
   * @returns the value
   */
  readConfig(offset: number, size: number): number;
  /**
   * Handle one descriptor chain of a queue.
   *
   * @param queue the queue index
   * @param segs its buffers (checked: in RAM)
   * @param ram guest RAM
   * @returns bytes written into the device-writable buffers, or why the
   *   request is malformed (the device then needs a reset)
   */
  handle(queue: number, segs: readonly Segment[], ram: GuestRam):
    | number
    | ChainError;
  /** Return to the power-on state (the driver reset the device). */
  reset(): void;
  /**
   * Queues whose chains the device takes when it has something to put in
   * them (a network card's receive queue), not at the notify: a notify on
   * one calls {@linkcode VirtioDevice.kick}.
   */
  readonly deferredQueues?: readonly number[];
  /**
   * The driver made buffers available on a deferred queue.
   *
   * @param queue the queue index
   */
  kick?(queue: number): void;
  /**
   * Get the transport, to fill deferred queues through.
   *
   * @param transport the slot
   */
  attach?(transport: VirtioTransport): void;
  /** The device's own state (an overlay), for snapshots. */
  saveState?(): Uint8Array;
  /**
   * Restore what {@linkcode VirtioDevice.saveState} returned.
   *
   * @param bytes the state
   */
  loadState?(bytes: Uint8Array): void;
}

/** What a device reaches of its transport. */
export interface VirtioTransport {
  /**
   * Take the next available chain of a queue, let `write` fill it, and
   * return it to the driver (with an interrupt unless suppressed).
   *
   * @param queue the queue index
   * @param write fills the chain; returns the bytes written, or why the
   *   chain is malformed
   * @returns false if the queue is not ready, the device is stopped, or no
   *   chain is available
   */
  fill(
    queue: number,
    write: (segs: readonly Segment[], ram: GuestRam) => number | ChainError,
  ): boolean;
}

/** Options for {@linkcode VirtioMmioSlot}. */
export interface VirtioMmioSlotOptions {
  /** Physical base address (`VIRTIO_BASE + i * VIRTIO_SIZE` on `virt`). */
  base: number;
  /**
   * Version 1 (legacy) registers, QEMU's default `force-legacy=on`.
   *
   * @default {true}
   */
  legacy?: boolean;
  /** The device behind the slot; none for an empty slot. */
  device?: VirtioDevice;
  /** Guest RAM (needed with a device). */
  ram?: GuestRam;
  /** The interrupt line (needed with a device). */
  irq?: IrqLine;
}

const u32s = "u32[]" as const;

/** The fields of {@linkcode virtioMmioState}. */
export const virtioMmioFields = {
  status: "u32",
  deviceFeaturesSel: "u32",
  driverFeaturesSel: "u32",
  driverFeatures: "u64",
  queueSel: "u32",
  interruptStatus: "u32",
  guestPageSize: "u32",
  configGeneration: "u32",
  qNum: u32s,
  qReady: u32s,
  qDescLo: u32s,
  qDescHi: u32s,
  qAvailLo: u32s,
  qAvailHi: u32s,
  qUsedLo: u32s,
  qUsedHi: u32s,
  qAlign: u32s,
  qPfn: u32s,
  qLastAvail: u32s,
  qUsedIdx: u32s,
  device: "bytes",
} as const;

function queueArray(): number[] {
  return new Array(MAX_QUEUES).fill(0);
}

/**
 * A virtio-mmio slot's state, version 2 (version 1 was an empty slot with
 * no fields; it upgrades to a reset slot).
 */
export const virtioMmioState: StateDescription<typeof virtioMmioFields> =
  defineState({
    name: "virtio-mmio",
    version: 2,
    fields: virtioMmioFields,
    upgrade: () => resetValues(),
  });

function resetValues(): StateValues<typeof virtioMmioFields> {
  return {
    status: 0,
    deviceFeaturesSel: 0,
    driverFeaturesSel: 0,
    driverFeatures: 0n,
    queueSel: 0,
    interruptStatus: 0,
    guestPageSize: 0,
    configGeneration: 0,
    qNum: queueArray(),
    qReady: queueArray(),
    qDescLo: queueArray(),
    qDescHi: queueArray(),
    qAvailLo: queueArray(),
    qAvailHi: queueArray(),
    qUsedLo: queueArray(),
    qUsedHi: queueArray(),
    qAlign: queueArray().map(() => 4096),
    qPfn: queueArray(),
    qLastAvail: queueArray(),
    qUsedIdx: queueArray(),
    device: new Uint8Array(0),
  };
}

const HI = 0x1_0000_0000;

/**
 * A virtio-mmio transport (version 1 or 2), empty or with a device.
 *
 * @example Probe an empty slot (QEMU's default: legacy, Version 1)
 * ```ts
 * import { VirtioMmioSlot } from "./virtio_mmio.ts";
 * const slot = new VirtioMmioSlot({ base: 0x1000_1000 });
 * const r = slot.regions[0]!;
 * console.log(r.read(0x0, 4).toString(16), r.read(0x4, 4), r.read(0x8, 4)); // 74726976 1 0
 * ```
 */
export class VirtioMmioSlot implements VirtioTransport {
  /** The live state, declared by {@linkcode virtioMmioState}. */
  readonly state: StateValues<typeof virtioMmioFields> = newState(
    virtioMmioState,
  );
  /** The 0x200-byte register window. */
  readonly regions: MmioRegion[];
  /** The device behind the slot, if any. */
  readonly device: VirtioDevice | undefined;
  /** Whether the slot shows the legacy (version 1) registers. */
  readonly legacy: boolean;
  /** Why the device last needed a reset (for tests and the monitor). */
  lastError: string | undefined;
  #queues: SplitQueue[] = [];
  #ram: GuestRam | undefined;
  #irq: IrqLine | undefined;

  /**
   * Make a slot.
   *
   * @param options where it sits, its version and its device
   * @throws {TypeError} if a device comes without RAM or an interrupt line
   */
  constructor(options: VirtioMmioSlotOptions) {
    this.legacy = options.legacy ?? true;
    this.device = options.device;
    if (this.device) {
      if (!options.ram || !options.irq) {
        throw new TypeError(
          "Cannot make a virtio-mmio slot: a device needs guest RAM and an interrupt line",
        );
      }
      this.#ram = options.ram;
      this.#irq = options.irq;
      for (let i = 0; i < this.device.queueSizes.length; i++) {
        this.#queues.push(new SplitQueue(options.ram));
      }
    }
    Object.assign(this.state, resetValues());
    this.device?.attach?.(this);
    this.regions = [{
      name: "virtio-mmio",
      base: options.base,
      size: 0x200,
      accessSizes: [1, 2, 4],
      read: (offset, size) => this.#read(offset, size),
      write: (offset, size, value) => this.#write(offset, size, value),
    }];
  }

  #read(offset: number, size: number): number {
    const dev = this.device, s = this.state;
    if (offset >= 0x100) {
      return dev ? dev.readConfig(offset - 0x100, size) >>> 0 : 0;
    }
    if (size !== 4) return 0;
    switch (offset) {
      case 0x000:
        return MAGIC_VALUE;
      case 0x004:
        return this.legacy ? 1 : 2;
      case 0x00c:
        return VENDOR_ID;
    }
    if (!dev) return 0;
    const q = s.queueSel;
    switch (offset) {
      case 0x008:
        return dev.deviceId;
      case 0x010: {
        const f = this.#offered();
        if (s.deviceFeaturesSel === 0) return Number(f & 0xffff_ffffn);
        if (s.deviceFeaturesSel === 1) return Number(f >> 32n);
        return 0;
      }
      case 0x034:
        return q < dev.queueSizes.length ? dev.queueSizes[q]! : 0;
      case 0x040:
        return this.legacy && q < MAX_QUEUES ? s.qPfn[q]! : 0;
      case 0x044:
        return !this.legacy && q < MAX_QUEUES ? s.qReady[q]! : 0;
      case 0x060:
        return s.interruptStatus;
      case 0x070:
        return s.status;
      case 0x0fc:
        return this.legacy ? 0 : s.configGeneration;
    }
    if (!this.legacy && q < MAX_QUEUES) {
      switch (offset) {
        case 0x038:
          return s.qNum[q]!;
        case 0x080:
          return s.qDescLo[q]!;
        case 0x084:
          return s.qDescHi[q]!;
        case 0x090:
          return s.qAvailLo[q]!;
        case 0x094:
          return s.qAvailHi[q]!;
        case 0x0a0:
          return s.qUsedLo[q]!;
        case 0x0a4:
          return s.qUsedHi[q]!;
      }
    }
    return 0;
  }

  #offered(): bigint {
    const f = this.device?.features ?? 0n;
    return this.legacy ? f & 0xffff_ffffn : f | VIRTIO_F_VERSION_1;
  }

  #write(offset: number, size: number, value: number): void {
    const dev = this.device, s = this.state;
    if (!dev || size !== 4 || offset >= 0x100) return; // config is read-only
    value >>>= 0;
    const q = s.queueSel;
    const qi = q < dev.queueSizes.length ? q : -1;
    switch (offset) {
      case 0x014:
        s.deviceFeaturesSel = value;
        return;
      case 0x020: {
        const sel = s.driverFeaturesSel;
        if (sel === 0) {
          s.driverFeatures = (s.driverFeatures & ~0xffff_ffffn) | BigInt(value);
        } else if (sel === 1 && !this.legacy) {
          s.driverFeatures = (s.driverFeatures & 0xffff_ffffn) |
            (BigInt(value) << 32n);
        }
        return;
      }
      case 0x024:
        s.driverFeaturesSel = value;
        return;
      case 0x028:
        if (this.legacy) s.guestPageSize = value;
        return;
      case 0x030:
        s.queueSel = value;
        return;
      case 0x038:
        if (qi >= 0 && value <= dev.queueSizes[qi]!) s.qNum[qi] = value;
        return;
      case 0x03c:
        if (this.legacy && qi >= 0) s.qAlign[qi] = value;
        return;
      case 0x040:
        if (this.legacy && qi >= 0) {
          s.qPfn[qi] = value;
          if (value === 0) this.#stopQueue(qi);
          else this.#startQueue(qi);
        }
        return;
      case 0x044:
        if (!this.legacy && qi >= 0) {
          if (value & 1) this.#startQueue(qi);
          else this.#stopQueue(qi);
        }
        return;
      case 0x050:
        this.#notify(value);
        return;
      case 0x064:
        s.interruptStatus &= ~value;
        this.#updateIrq();
        return;
      case 0x070:
        if (value === 0) {
          this.reset();
          return;
        }
        if (
          !this.legacy && (value & STATUS.FEATURES_OK) &&
          (s.driverFeatures & ~this.#offered()) !== 0n
        ) {
          value &= ~STATUS.FEATURES_OK; // features the device did not offer
        }
        s.status = value | (s.status & STATUS.DEVICE_NEEDS_RESET);
        return;
    }
    if (!this.legacy && qi >= 0) {
      const set = (a: number[]) => void (a[qi] = value);
      switch (offset) {
        case 0x080:
          return set(s.qDescLo);
        case 0x084:
          return set(s.qDescHi);
        case 0x090:
          return set(s.qAvailLo);
        case 0x094:
          return set(s.qAvailHi);
        case 0x0a0:
          return set(s.qUsedLo);
        case 0x0a4:
          return set(s.qUsedHi);
      }
    }
  }

  /** The ring addresses of queue `i` from the registers. */
  #layout(i: number): { desc: number; avail: number; used: number } {
    const s = this.state, num = s.qNum[i]!;
    if (!this.legacy) {
      return {
        desc: s.qDescHi[i]! * HI + s.qDescLo[i]!,
        avail: s.qAvailHi[i]! * HI + s.qAvailLo[i]!,
        used: s.qUsedHi[i]! * HI + s.qUsedLo[i]!,
      };
    }
    const page = s.guestPageSize || 4096;
    const align = s.qAlign[i]! || 4096;
    const desc = s.qPfn[i]! * page;
    const avail = desc + 16 * num;
    const used = Math.ceil((avail + 2 * (3 + num)) / align) * align;
    return { desc, avail, used };
  }

  #startQueue(i: number): void {
    const s = this.state;
    const l = this.#layout(i);
    const q = this.#queues[i]!;
    q.configure(s.qNum[i]!, l.desc, l.avail, l.used);
    const bad = q.check();
    if (bad) {
      this.#fail(`queue ${i}: ${bad.error}`);
      return;
    }
    s.qReady[i] = 1;
    s.qLastAvail[i] = 0;
    s.qUsedIdx[i] = 0;
  }

  #stopQueue(i: number): void {
    const s = this.state;
    s.qReady[i] = 0;
    s.qLastAvail[i] = 0;
    s.qUsedIdx[i] = 0;
  }

  #notify(i: number): void {
    const s = this.state, dev = this.device!;
    if (i >= dev.queueSizes.length || !s.qReady[i]) return;
    if (s.status & STATUS.DEVICE_NEEDS_RESET) return; // stopped until reset
    if (dev.deferredQueues?.includes(i)) {
      dev.kick?.(i);
      return;
    }
    const q = this.#queues[i]!, ram = this.#ram!;
    const bad = q.checkAvail();
    if (bad) {
      this.#fail(`queue ${i}: ${bad.error}`);
      return;
    }
    let used = false;
    while (q.pending()) {
      const chain = q.next();
      if (!Array.isArray(chain)) {
        this.#fail(`queue ${i}: ${chain.error}`);
        break;
      }
      const written = dev.handle(i, chain, ram);
      if (typeof written !== "number") {
        this.#fail(`queue ${i}: ${written.error}`);
        break;
      }
      q.push(chain.head!, written);
      used = true;
    }
    s.qLastAvail[i] = q.lastAvail;
    s.qUsedIdx[i] = q.usedIdx;
    if (used && !q.noInterrupt) {
      s.interruptStatus |= 1;
      this.#updateIrq();
    }
  }

  /**
   * Fill the next available chain of a deferred queue (see
   * {@linkcode VirtioTransport.fill}).
   *
   * @param i the queue index
   * @param write fills the chain
   * @returns whether a chain was filled
   */
  fill(
    i: number,
    write: (segs: readonly Segment[], ram: GuestRam) => number | ChainError,
  ): boolean {
    const s = this.state;
    if (!this.device || i >= this.#queues.length || !s.qReady[i]) return false;
    if (s.status & STATUS.DEVICE_NEEDS_RESET) return false;
    const q = this.#queues[i]!;
    const bad = q.checkAvail();
    if (bad) {
      this.#fail(`queue ${i}: ${bad.error}`);
      return false;
    }
    if (!q.pending()) return false;
    const chain = q.next();
    s.qLastAvail[i] = q.lastAvail;
    if (!Array.isArray(chain)) {
      this.#fail(`queue ${i}: ${chain.error}`);
      return false;
    }
    const written = write(chain, this.#ram!);
    if (typeof written !== "number") {
      this.#fail(`queue ${i}: ${written.error}`);
      return false;
    }
    q.push(chain.head!, written);
    s.qUsedIdx[i] = q.usedIdx;
    if (!q.noInterrupt) {
      s.interruptStatus |= 1;
      this.#updateIrq();
    }
    return true;
  }

  /** QEMU's `virtio_error`: the device stops until the driver resets it. */
  #fail(why: string): void {
    this.lastError = why;
    const s = this.state;
    s.status |= STATUS.DEVICE_NEEDS_RESET;
    s.interruptStatus |= 2; // configuration change
    this.#updateIrq();
  }

  #updateIrq(): void {
    this.#irq?.set(this.state.interruptStatus !== 0);
  }

  /** Return to the power-on state (also a driver's Status write of 0). */
  reset(): void {
    Object.assign(this.state, resetValues());
    this.lastError = undefined;
    for (const q of this.#queues) q.configure(0, 0, 0, 0);
    this.device?.reset();
    this.#updateIrq();
  }

  /** Bring the state up to date before a save (the device's own part). */
  beforeSave(): void {
    const s = this.state;
    this.#queues.forEach((q, i) => {
      s.qLastAvail[i] = q.lastAvail;
      s.qUsedIdx[i] = q.usedIdx;
    });
    s.device = this.device?.saveState?.() ?? new Uint8Array(0);
  }

  /** Re-derive the queues and the device's state after a restore. */
  afterLoad(): void {
    const s = this.state;
    this.#queues.forEach((q, i) => {
      if (!s.qReady[i]) {
        q.configure(0, 0, 0, 0);
        return;
      }
      const l = this.#layout(i);
      q.configure(s.qNum[i]!, l.desc, l.avail, l.used);
      q.lastAvail = s.qLastAvail[i]!;
      q.usedIdx = s.qUsedIdx[i]!;
    });
    this.device?.loadState?.(s.device);
  }
}
