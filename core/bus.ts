/**
 * The physical bus: guest RAM plus memory-mapped device regions.
 *
 * RAM lives in one `SharedArrayBuffer` so that a vCPU worker and the main
 * loop can share it. Device regions are registered once, when the machine is
 * built; an overlap is a `RangeError`. An access to an unmapped address, or
 * with a size that the region does not allow, returns `false` / `-1` to the
 * caller, which turns it into an access-fault trap in the guest.
 *
 * @module
 */

/** An access size in bytes. */
export type AccessSize = 1 | 2 | 4 | 8;

/**
 * A memory-mapped region that a device registers on the bus.
 *
 * Accesses of 8 bytes are split by the bus into two 4-byte accesses (low word
 * first) when the region lists 8 in {@linkcode MmioRegion.accessSizes}; the
 * `read` and `write` callbacks therefore only ever see sizes 1, 2 and 4.
 *
 * @example Define a scratch register
 * ```ts
 * import type { MmioRegion } from "./bus.ts";
 * let reg = 0;
 * const region: MmioRegion = {
 *   name: "scratch",
 *   base: 0x1000_0000,
 *   size: 4,
 *   accessSizes: [4],
 *   read: () => reg,
 *   write: (_off, _size, value) => {
 *     reg = value;
 *   },
 * };
 * region.write(0, 4, 7);
 * if (region.read(0, 4) !== 7) throw new Error("unreachable");
 * ```
 */
export interface MmioRegion {
  /** A name for error messages and the memory map listing. */
  readonly name: string;
  /** Physical base address. */
  readonly base: number;
  /** Size in bytes. */
  readonly size: number;
  /** Whether the hart may fetch instructions from it (a ROM). */
  readonly executable?: boolean;
  /** The access sizes that the region accepts; others fault. */
  readonly accessSizes: readonly AccessSize[];
  /**
   * Read `size` bytes at `offset` from the region base.
   *
   * @returns the value, zero-extended (a 4-byte value may come back as a
   * signed int32; the bus normalises it)
   */
  read(offset: number, size: 1 | 2 | 4): number;
  /** Write the low `size` bytes of `value` at `offset`. */
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** Options for {@linkcode Bus}. */
export interface BusOptions {
  /**
   * Physical base address of RAM.
   *
   * @default {0x80000000}
   */
  ramBase?: number;
}

/**
 * The physical address space of one machine.
 *
 * @example Read and write RAM
 * ```ts
 * import { Bus } from "./bus.ts";
 * const bus = new Bus(1 << 20);
 * bus.ram8[0] = 0x13;
 * if (bus.read(0x8000_0000, 1) !== 0x13) throw new Error("unreachable");
 * ```
 */
export class Bus {
  /** Guest RAM as bytes. */
  readonly ram8: Uint8Array;
  /** Guest RAM as 16-bit halves (little-endian host). */
  readonly ram16: Uint16Array;
  /** Guest RAM as 32-bit words (little-endian host). */
  readonly ram32: Int32Array;
  /** The shared buffer behind RAM. */
  readonly ramBuffer: SharedArrayBuffer;
  /**
   * The WebAssembly memory whose buffer is {@linkcode Bus.ramBuffer}
   * (rounded up to 64 KiB pages), for translated code.
   */
  readonly ramMemory: WebAssembly.Memory;
  /** Physical base address of RAM. */
  readonly ramBase: number;
  /** RAM size in bytes. */
  readonly ramSize: number;
  #regions: MmioRegion[] = [];
  #ramWriteListeners: ((offset: number, length: number) => void)[] = [];
  #dirtyClearListeners: (() => void)[] = [];
  /**
   * One byte per 4 KiB RAM page: 1 if the page may have been written since
   * the last {@linkcode Bus.clearDirty}, or, before the first, since the
   * bus was made with RAM all zero ({@linkcode Bus.dirtyFromZero}). Writes
   * that do not go through a hart's fast path mark it
   * ({@linkcode Bus.ramWritten}, and a hart's slow store path); the fast
   * path costs nothing, because after a clear the harts drop their write
   * TLB entries, so the first store to each page takes the slow path
   * again and marks it. For snapshots that copy only what changed
   * (`replay/time_travel.ts`).
   */
  readonly dirty: Uint8Array;
  #fromZero = true;

  /**
   * True until the first {@linkcode Bus.clearDirty}: the pages that
   * {@linkcode Bus.dirty} leaves unmarked still hold zeros, as the bus made
   * them (a first snapshot needs to look at the marked pages only).
   *
   * @example A new bus
   * ```ts
   * import { Bus } from "./bus.ts";
   * const bus = new Bus(2 * 4096);
   * bus.load(0x8000_1000, new Uint8Array([1]));
   * console.log(bus.dirtyFromZero, [...bus.dirty]); // true [ 0, 1 ]
   * bus.clearDirty();
   * console.log(bus.dirtyFromZero); // false
   * ```
   */
  get dirtyFromZero(): boolean {
    return this.#fromZero;
  }

  /**
   * Start a new dirty period: clear the page map and tell the harts to drop
   * their write TLB entries (so their next store to any page marks it).
   *
   * @example Which pages a write marks
   * ```ts
   * import { Bus } from "./bus.ts";
   * const bus = new Bus(3 * 4096);
   * bus.clearDirty();
   * bus.write(0x8000_1ffe, 4, 1); // straddles pages 1 and 2
   * console.log([...bus.dirty]); // [0, 1, 1]
   * ```
   */
  clearDirty(): void {
    this.#fromZero = false;
    this.dirty.fill(0);
    const ls = this.#dirtyClearListeners;
    for (let i = 0; i < ls.length; i++) ls[i]!();
  }

  /**
   * Register a listener called on every {@linkcode Bus.clearDirty}: a hart
   * drops its write TLB entries there.
   *
   * @param listener called after the map is cleared
   * @returns a function that removes the listener
   */
  addDirtyClearListener(listener: () => void): () => void {
    this.#dirtyClearListeners.push(listener);
    return () => {
      const i = this.#dirtyClearListeners.indexOf(listener);
      if (i >= 0) this.#dirtyClearListeners.splice(i, 1);
    };
  }

  /**
   * Register a listener that is called with a RAM byte range after every
   * write that did not go through a hart's fast path (device DMA, loaders,
   * a restored snapshot), so that each hart keeps its decoded code coherent.
   * Each hart registers its own.
   *
   * @param listener called with the RAM byte offset and length written
   * @returns a function that removes the listener
   * @example Watch RAM writes
   * ```ts
   * import { Bus } from "./bus.ts";
   * const bus = new Bus(4096);
   * const seen: number[] = [];
   * const remove = bus.addRamWriteListener((off, len) => seen.push(off, len));
   * bus.write(0x8000_0010, 4, 1);
   * remove();
   * bus.write(0x8000_0010, 4, 2);
   * if (seen.join() !== "16,4") throw new Error("unreachable");
   * ```
   */
  addRamWriteListener(
    listener: (offset: number, length: number) => void,
  ): () => void {
    this.#ramWriteListeners.push(listener);
    return () => {
      const i = this.#ramWriteListeners.indexOf(listener);
      if (i >= 0) this.#ramWriteListeners.splice(i, 1);
    };
  }

  /**
   * Tell every listener that RAM bytes [offset, offset + length) changed
   * behind the harts' backs (for example after `ram8.set(...)` restored a
   * snapshot), and mark their pages dirty.
   *
   * @param offset RAM byte offset
   * @param length number of bytes
   */
  ramWritten(offset: number, length: number): void {
    if (length > 0) {
      const d = this.dirty;
      const last = Math.min(d.length - 1, (offset + length - 1) >>> 12);
      for (let p = offset >>> 12; p <= last; p++) d[p] = 1;
    }
    const ls = this.#ramWriteListeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(offset, length);
  }

  /**
   * Make a bus with `ramSize` bytes of RAM.
   *
   * @param ramSize RAM size in bytes, a multiple of 4096, at most 2 GiB - 4 KiB
   * @param options where RAM sits
   */
  constructor(ramSize: number, options: BusOptions = {}) {
    if (
      !Number.isInteger(ramSize) || ramSize <= 0 || ramSize % 4096 !== 0 ||
      ramSize > 0x7fff_f000
    ) {
      throw new RangeError(
        `Cannot create RAM: size ${ramSize} must be a positive multiple of 4096 below 2 GiB`,
      );
    }
    this.ramBase = options.ramBase ?? 0x8000_0000;
    this.ramSize = ramSize;
    const pages = Math.ceil(ramSize / 65536);
    this.ramMemory = new WebAssembly.Memory({
      initial: pages,
      maximum: pages,
      shared: true,
    });
    this.ramBuffer = this.ramMemory.buffer as SharedArrayBuffer;
    this.ram8 = new Uint8Array(this.ramBuffer, 0, ramSize);
    this.ram16 = new Uint16Array(this.ramBuffer, 0, ramSize >>> 1);
    this.ram32 = new Int32Array(this.ramBuffer, 0, ramSize >>> 2);
    this.dirty = new Uint8Array(ramSize >>> 12);
  }

  /** The registered regions, sorted by base address. */
  get regions(): readonly MmioRegion[] {
    return this.#regions;
  }

  /**
   * Register a device region.
   *
   * @param region the region
   * @throws {RangeError} if it overlaps RAM or another region
   */
  register(region: MmioRegion): void {
    const end = region.base + region.size;
    const clash = (b: number, e: number) => region.base < e && b < end;
    if (clash(this.ramBase, this.ramBase + this.ramSize)) {
      throw new RangeError(
        `Cannot map ${region.name}: 0x${region.base.toString(16)} overlaps RAM`,
      );
    }
    for (const r of this.#regions) {
      if (clash(r.base, r.base + r.size)) {
        throw new RangeError(
          `Cannot map ${region.name}: 0x${
            region.base.toString(16)
          } overlaps ${r.name} at 0x${r.base.toString(16)}`,
        );
      }
    }
    this.#regions.push(region);
    this.#regions.sort((a, b) => a.base - b.base);
  }

  /**
   * Find the region that contains `addr`.
   *
   * @param addr physical address
   * @returns the region, or undefined
   */
  find(addr: number): MmioRegion | undefined {
    for (const r of this.#regions) {
      if (addr >= r.base && addr < r.base + r.size) return r;
    }
    return undefined;
  }

  /**
   * Whether `[addr, addr + size)` lies inside RAM.
   *
   * @param addr physical address
   * @param size length in bytes
   * @returns true if it does
   */
  inRam(addr: number, size: number): boolean {
    return addr >= this.ramBase && addr + size <= this.ramBase + this.ramSize;
  }

  /**
   * Read from the physical address space (slow path, for the CPU's misses and
   * for loaders). Sizes of 4 and 8 bytes come back as a double made of the
   * unsigned value; for 8 bytes use {@linkcode Bus.read64}.
   *
   * @param addr physical address
   * @param size 1, 2 or 4
   * @returns the zero-extended value, or -1 on an access fault
   */
  read(addr: number, size: 1 | 2 | 4): number {
    if (this.inRam(addr, size)) {
      const off = addr - this.ramBase;
      const m = this.ram8;
      if (size === 1) return m[off]!;
      if (size === 2) return m[off]! | (m[off + 1]! << 8);
      return (m[off]! | (m[off + 1]! << 8) | (m[off + 2]! << 16) |
        (m[off + 3]! << 24)) >>> 0;
    }
    const r = this.find(addr);
    if (!r || addr + size > r.base + r.size || !r.accessSizes.includes(size)) {
      return -1;
    }
    const v = r.read(addr - r.base, size);
    return size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff);
  }

  /**
   * Read 8 bytes into `out[0]` (low word) and `out[1]` (high word).
   *
   * @param addr physical address
   * @param out where the two words go
   * @returns false on an access fault
   */
  read64(addr: number, out: Int32Array): boolean {
    if (this.inRam(addr, 8)) {
      out[0] = this.read(addr, 4);
      out[1] = this.read(addr + 4, 4);
      return true;
    }
    const r = this.find(addr);
    if (!r || addr + 8 > r.base + r.size || !r.accessSizes.includes(8)) {
      return false;
    }
    out[0] = r.read(addr - r.base, 4);
    out[1] = r.read(addr - r.base + 4, 4);
    return true;
  }

  /**
   * Write to the physical address space (slow path).
   *
   * @param addr physical address
   * @param size 1, 2 or 4
   * @param value the value; its low `size` bytes are written
   * @returns false on an access fault
   */
  write(addr: number, size: 1 | 2 | 4, value: number): boolean {
    if (this.inRam(addr, size)) {
      const off = addr - this.ramBase;
      const m = this.ram8;
      m[off] = value;
      if (size > 1) m[off + 1] = value >>> 8;
      if (size > 2) {
        m[off + 2] = value >>> 16;
        m[off + 3] = value >>> 24;
      }
      this.ramWritten(off, size);
      return true;
    }
    const r = this.find(addr);
    if (!r || addr + size > r.base + r.size || !r.accessSizes.includes(size)) {
      return false;
    }
    r.write(addr - r.base, size, value);
    return true;
  }

  /**
   * Write 8 bytes given as two 32-bit words.
   *
   * @param addr physical address
   * @param lo low word
   * @param hi high word
   * @returns false on an access fault
   */
  write64(addr: number, lo: number, hi: number): boolean {
    if (this.inRam(addr, 8)) {
      this.write(addr, 4, lo);
      this.write(addr + 4, 4, hi);
      return true;
    }
    const r = this.find(addr);
    if (!r || addr + 8 > r.base + r.size || !r.accessSizes.includes(8)) {
      return false;
    }
    r.write(addr - r.base, 4, lo);
    r.write(addr - r.base + 4, 4, hi);
    return true;
  }

  /**
   * Copy bytes into RAM (loaders, DMA).
   *
   * @param addr physical address
   * @param bytes data
   * @throws {RangeError} if the range is not inside RAM
   */
  load(addr: number, bytes: Uint8Array): void {
    if (!this.inRam(addr, bytes.length)) {
      throw new RangeError(
        `Cannot load ${bytes.length} bytes at 0x${
          addr.toString(16)
        }: outside RAM (0x${
          this.ramBase.toString(16)
        }, ${this.ramSize} bytes); raise -m`,
      );
    }
    this.ram8.set(bytes, addr - this.ramBase);
    this.ramWritten(addr - this.ramBase, bytes.length);
  }
}
