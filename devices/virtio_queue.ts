/**
 * Split virtqueues: the device side of a virtio queue in guest RAM.
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, section 2.7 (split
 * virtqueues): a descriptor table (16 bytes each: addr u64, len u32, flags
 * u16, next u16), the driver ("available") ring (flags u16, idx u16,
 * ring[num] u16) and the device ("used") ring (flags u16, idx u16,
 * ring[num] of { id u32, len u32 }). All little-endian.
 *
 * Every address the guest gives is checked before use: the rings and every
 * buffer must lie in RAM, a chain may not be longer than the queue (a loop),
 * a `next` must be inside the table, and a device-readable buffer may not
 * follow a device-writable one. A bad chain is a value
 * ({@linkcode ChainError}), never an exception: the transport then sets
 * `DEVICE_NEEDS_RESET`. Left out: indirect descriptors and event
 * suppression (`VIRTIO_RING_F_INDIRECT_DESC` and `VIRTIO_RING_F_EVENT_IDX`
 * are not offered).
 *
 * @module
 */

/** Guest RAM as a device reaches it (DMA). */
export interface GuestRam {
  /** RAM bytes. */
  readonly bytes: Uint8Array;
  /** Physical address of `bytes[0]`. */
  readonly base: number;
  /**
   * Tell the hart that the device wrote RAM (drops decoded code there).
   *
   * @param offset RAM byte offset
   * @param length bytes written
   */
  written(offset: number, length: number): void;
}

/** One buffer of a descriptor chain, as a RAM offset. */
export interface Segment {
  /** RAM byte offset (physical address minus the RAM base). */
  offset: number;
  /** Length in bytes. */
  length: number;
  /** True if the device writes it (`VIRTQ_DESC_F_WRITE`). */
  write: boolean;
}

/** Why a descriptor chain is refused. */
export interface ChainError {
  /** What is wrong, as a sentence fragment. */
  readonly error: string;
}

const F_NEXT = 1;
const F_WRITE = 2;
const F_INDIRECT = 4;

/**
 * Whether `[addr, addr + length)` lies in RAM.
 *
 * @param ram guest RAM
 * @param addr physical address
 * @param length bytes
 * @returns whether it does
 */
export function inRam(ram: GuestRam, addr: number, length: number): boolean {
  return addr >= ram.base && length >= 0 &&
    addr + length <= ram.base + ram.bytes.length;
}

/**
 * A split virtqueue's rings, as the transport configured them.
 *
 * @example Walk one chain the driver made available
 * ```ts
 * import { SplitQueue } from "./virtio_queue.ts";
 * const bytes = new Uint8Array(0x3000);
 * const ram = { bytes, base: 0x8000_0000, written() {} };
 * const v = new DataView(bytes.buffer);
 * // One descriptor: 8 device-writable bytes at 0x80002000.
 * v.setUint32(0, 0x8000_2000, true); v.setUint32(8, 8, true); v.setUint16(12, 2, true);
 * v.setUint16(0x1000 + 2, 1, true); // avail.idx = 1, ring[0] = 0
 * const q = new SplitQueue(ram);
 * q.configure(4, 0x8000_0000, 0x8000_1000, 0x8000_1800);
 * const chain = q.next();
 * console.log(Array.isArray(chain) && chain[0]!.length); // 8
 * ```
 */
export class SplitQueue {
  #ram: GuestRam;
  #view: DataView;
  /** Queue size (number of descriptors). */
  num = 0;
  /** Descriptor table address. */
  desc = 0;
  /** Driver (available) ring address. */
  avail = 0;
  /** Device (used) ring address. */
  used = 0;
  /** The next available-ring entry the device takes. */
  lastAvail = 0;
  /** The used ring's index, as the device last wrote it. */
  usedIdx = 0;

  /**
   * Make an unconfigured queue.
   *
   * @param ram guest RAM
   */
  constructor(ram: GuestRam) {
    this.#ram = ram;
    this.#view = new DataView(
      ram.bytes.buffer,
      ram.bytes.byteOffset,
      ram.bytes.byteLength,
    );
  }

  /**
   * Set the rings (the transport does this when the driver enables the
   * queue).
   *
   * @param num queue size
   * @param desc descriptor table address
   * @param avail available ring address
   * @param used used ring address
   */
  configure(num: number, desc: number, avail: number, used: number): void {
    this.num = num;
    this.desc = desc;
    this.avail = avail;
    this.used = used;
    this.lastAvail = 0;
    this.usedIdx = 0;
  }

  /**
   * Check that the rings lie in RAM.
   *
   * @returns an error, or undefined if they do
   */
  check(): ChainError | undefined {
    const ram = this.#ram, n = this.num;
    if (n === 0) return { error: "the queue size is 0" };
    if (!inRam(ram, this.desc, 16 * n)) {
      return {
        error: `the descriptor table at 0x${hex(this.desc)} is not in RAM`,
      };
    }
    if (!inRam(ram, this.avail, 6 + 2 * n)) {
      return {
        error: `the available ring at 0x${hex(this.avail)} is not in RAM`,
      };
    }
    if (!inRam(ram, this.used, 6 + 8 * n)) {
      return { error: `the used ring at 0x${hex(this.used)} is not in RAM` };
    }
    return undefined;
  }

  /**
   * Whether the driver made a chain available that the device has not
   * taken.
   *
   * @returns whether one waits
   */
  pending(): boolean {
    const idx = this.#view.getUint16(this.avail - this.#ram.base + 2, true);
    return idx !== this.lastAvail;
  }

  /**
   * Check the driver's available index: it may be at most the queue size
   * ahead of the device (QEMU: "Guest moved used index").
   *
   * @returns an error, or undefined if it is fine
   */
  checkAvail(): ChainError | undefined {
    const idx = this.#view.getUint16(this.avail - this.#ram.base + 2, true);
    const ahead = (idx - this.lastAvail) & 0xffff;
    if (ahead > this.num) {
      return {
        error:
          `the available index moved from ${this.lastAvail} to ${idx}, more than the queue's ${this.num} entries`,
      };
    }
    return undefined;
  }

  /** Whether the driver asked for no interrupt (`VIRTQ_AVAIL_F_NO_INTERRUPT`). */
  get noInterrupt(): boolean {
    return (this.#view.getUint16(this.avail - this.#ram.base, true) & 1) !== 0;
  }

  /**
   * The head of the next available chain, checked (call after
   * {@linkcode SplitQueue.pending}).
   *
   * @returns the head index and its buffers, or why the chain is bad
   */
  next(): Segment[] & { head?: number } | ChainError {
    const ram = this.#ram, v = this.#view, n = this.num;
    const availOff = this.avail - ram.base;
    const head = v.getUint16(availOff + 4 + 2 * (this.lastAvail % n), true);
    if (head >= n) {
      return {
        error:
          `the available ring names descriptor ${head}, but the queue has ${n}`,
      };
    }
    const out: Segment[] & { head?: number } = [];
    out.head = head;
    let i = head, seenWrite = false;
    for (let count = 0;; count++) {
      if (count >= n) {
        return {
          error:
            `the descriptor chain from ${head} loops (longer than the queue's ${n} descriptors)`,
        };
      }
      const d = this.desc - ram.base + 16 * i;
      const lo = v.getUint32(d, true), hi = v.getUint32(d + 4, true);
      const len = v.getUint32(d + 8, true);
      const flags = v.getUint16(d + 12, true);
      const next = v.getUint16(d + 14, true);
      if (flags & F_INDIRECT) {
        return {
          error: `descriptor ${i} is indirect, which was not negotiated`,
        };
      }
      const addr = hi * 0x1_0000_0000 + lo;
      if (!inRam(ram, addr, len)) {
        return {
          error: `descriptor ${i} points at 0x${
            hex(addr)
          } (+${len} bytes), outside RAM`,
        };
      }
      const write = (flags & F_WRITE) !== 0;
      if (seenWrite && !write) {
        return {
          error:
            `descriptor ${i} is device-readable after a device-writable one`,
        };
      }
      seenWrite ||= write;
      out.push({ offset: addr - ram.base, length: len, write });
      if (!(flags & F_NEXT)) break;
      if (next >= n) {
        return {
          error: `descriptor ${i} chains to ${next}, but the queue has ${n}`,
        };
      }
      i = next;
    }
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return out;
  }

  /**
   * Return a chain to the driver through the used ring.
   *
   * @param head the chain's head index
   * @param written bytes the device wrote into its buffers
   */
  push(head: number, written: number): void {
    const ram = this.#ram, v = this.#view;
    const usedOff = this.used - ram.base;
    const slot = usedOff + 4 + 8 * (this.usedIdx % this.num);
    v.setUint32(slot, head, true);
    v.setUint32(slot + 4, written, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    v.setUint16(usedOff + 2, this.usedIdx, true);
    ram.written(slot, 8);
    ram.written(usedOff + 2, 2);
  }
}

function hex(n: number): string {
  return n.toString(16);
}

/**
 * Copy bytes out of a chain's device-readable buffers.
 *
 * @param ram guest RAM
 * @param segs the chain
 * @param skip bytes to skip first
 * @param out where to copy (its length is how much)
 * @returns bytes copied
 */
export function gather(
  ram: GuestRam,
  segs: readonly Segment[],
  skip: number,
  out: Uint8Array,
): number {
  let done = 0;
  for (const s of segs) {
    if (s.write || done >= out.length) continue;
    if (skip >= s.length) {
      skip -= s.length;
      continue;
    }
    const n = Math.min(s.length - skip, out.length - done);
    out.set(ram.bytes.subarray(s.offset + skip, s.offset + skip + n), done);
    done += n;
    skip = 0;
  }
  return done;
}

/**
 * Copy bytes into a chain's device-writable buffers, in order, and tell
 * RAM's listeners what was written.
 *
 * @param ram guest RAM
 * @param segs the chain
 * @param data what to copy (as much as the buffers hold)
 * @returns bytes copied
 */
export function scatter(
  ram: GuestRam,
  segs: readonly Segment[],
  data: Uint8Array,
): number {
  let done = 0;
  for (const s of segs) {
    if (!s.write || done >= data.length) continue;
    const n = Math.min(s.length, data.length - done);
    ram.bytes.set(data.subarray(done, done + n), s.offset);
    ram.written(s.offset, n);
    done += n;
  }
  return done;
}
