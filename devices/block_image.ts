/**
 * Disk images as a block device reads them: raw and qcow2 formats over a
 * positioned-read function, and an in-memory write overlay that keeps the
 * image unchanged (record, replay, `snapshot=on`).
 *
 * This module does no host I/O: the caller (`plugins/block_backends.ts`)
 * opens the file and hands over `readAt`. qcow2 reference: QEMU's
 * `docs/interop/qcow2.txt` (header, L1/L2 tables, standard and all-zero
 * clusters). What deja reads: qcow2 versions 2 and 3, uncompressed, without
 * a backing file, encryption, an external data file or extended L2 entries,
 * as `qemu-img create -f qcow2` and `qemu-img convert -O qcow2` make them.
 * Anything else is refused at open with a {@linkcode DiskImageError} naming
 * the feature. Every table entry is checked against the file's size at open,
 * so a truncated or corrupt image is refused before the guest runs.
 *
 * @module
 */

/** Reads file bytes at an offset; returns how many it read (short at EOF). */
export type ReadAt = (offset: number, out: Uint8Array) => number;

/** A disk image's contents. */
export interface BlockImage {
  /** Size in bytes (the guest's disk size). */
  readonly size: number;
  /** The format name (`raw`, `qcow2`). */
  readonly format: string;
  /**
   * Read bytes of the disk.
   *
   * @param offset disk byte offset
   * @param out where to put them (its length is how many)
   */
  read(offset: number, out: Uint8Array): void;
  /**
   * Write bytes of the disk (absent: the image cannot be written).
   *
   * @param offset disk byte offset
   * @param data the bytes
   */
  write?(offset: number, data: Uint8Array): void;
}

/** A disk image that cannot be used, with what is wrong in words. */
export class DiskImageError extends Error {
  /**
   * Create the error.
   *
   * @param message what is wrong and what to do
   */
  constructor(message: string) {
    super(message);
    this.name = "DiskImageError";
  }
}

/**
 * A raw image: the disk is the file.
 *
 * @param readAt reads the file
 * @param size the file's size
 * @param writeAt writes the file (absent: read-only)
 * @returns the image
 * @example
 * ```ts
 * import { rawImage } from "./block_image.ts";
 * const file = new Uint8Array(1024).fill(5);
 * const img = rawImage((off, out) => (out.set(file.subarray(off, off + out.length)), out.length), 1024);
 * const b = new Uint8Array(2);
 * img.read(512, b);
 * console.log(b); // Uint8Array(2) [ 5, 5 ]
 * ```
 */
export function rawImage(
  readAt: ReadAt,
  size: number,
  writeAt?: (offset: number, data: Uint8Array) => void,
): BlockImage {
  return {
    size,
    format: "raw",
    read(offset, out) {
      const n = readAt(offset, out);
      if (n < out.length) out.fill(0, Math.max(n, 0));
    },
    ...(writeAt ? { write: writeAt } : {}),
  };
}

const QCOW_MAGIC = 0x514649fb;
const OFFSET_MASK = 0x00ff_ffff_ffff_fe00n;
const L2_COMPRESSED = 1n << 62n;
const L2_ZERO = 1n;

/**
 * A qcow2 image (read-only): checked at open.
 *
 * @param readAt reads the file
 * @param fileSize the file's size
 * @param name the file's name, for messages
 * @returns the image
 * @throws {DiskImageError} if it is not a qcow2 image deja reads, or is
 *   truncated or corrupt
 */
export function qcow2Image(
  readAt: ReadAt,
  fileSize: number,
  name = "the image",
): BlockImage {
  const fail = (what: string) =>
    new DiskImageError(`Cannot open ${name} as qcow2: ${what}`);
  const hdr = new Uint8Array(112);
  const got = readAt(0, hdr);
  if (got < 72) {
    throw fail(
      `the file has ${
        Math.max(got, 0)
      } bytes, too few for a qcow2 header (truncated)`,
    );
  }
  const h = new DataView(hdr.buffer);
  if (h.getUint32(0) !== QCOW_MAGIC) {
    throw fail(
      "it has no qcow2 magic (QFI\\xfb); use format=raw for a raw image",
    );
  }
  const version = h.getUint32(4);
  if (version !== 2 && version !== 3) {
    throw fail(`qcow2 version ${version} is not supported (only 2 and 3)`);
  }
  if (h.getBigUint64(8) !== 0n) {
    throw fail(
      "it has a backing file, which deja does not read; flatten it with qemu-img convert -O qcow2",
    );
  }
  const clusterBits = h.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) {
    throw fail(
      `cluster_bits ${clusterBits} is out of range (9 to 21): the header is corrupt`,
    );
  }
  const size = Number(h.getBigUint64(24));
  if (h.getUint32(32) !== 0) {
    throw fail(
      "it is encrypted, which deja does not read; decrypt it with qemu-img convert",
    );
  }
  const l1Size = h.getUint32(36);
  const l1Offset = Number(h.getBigUint64(40));
  if (version === 3) {
    if (got < 104) throw fail("the version 3 header is truncated");
    const incompat = h.getBigUint64(72);
    const names: [bigint, string][] = [
      [2n, "the corrupt bit is set (repair it with qemu-img check -r all)"],
      [4n, "it uses an external data file, which deja does not read"],
      [
        8n,
        "it uses a compression type other than zlib, which deja does not read",
      ],
      [
        16n,
        "it uses extended L2 entries (subclusters), which deja does not read",
      ],
    ];
    for (const [bit, what] of names) if (incompat & bit) throw fail(what);
    if (incompat & ~3n) {
      throw fail(
        `it has unknown incompatible features 0x${
          (incompat & ~3n).toString(16)
        }`,
      );
    }
  }
  const cluster = 2 ** clusterBits;
  const l2Entries = cluster / 8;
  const needL1 = Math.ceil(size / (cluster * l2Entries));
  if (l1Size < needL1) {
    throw fail(
      `the L1 table has ${l1Size} entries, fewer than the ${needL1} a ${size}-byte disk needs: the header is corrupt`,
    );
  }
  if (l1Offset % cluster !== 0 || l1Offset + 8 * l1Size > fileSize) {
    throw fail(
      `the L1 table (offset ${l1Offset}, ${l1Size} entries) is not inside the ${fileSize}-byte file: it is truncated or corrupt`,
    );
  }
  const readExact = (off: number, n: number, what: string) => {
    const b = new Uint8Array(n);
    if (readAt(off, b) !== n) {
      throw fail(
        `${what} at offset ${off} is cut short: the file is truncated`,
      );
    }
    return new DataView(b.buffer);
  };
  const l1v = readExact(l1Offset, 8 * l1Size, "the L1 table");
  // Every data cluster's file offset, by L1 entry and guest cluster in it
  // (-1 unallocated or zero); only allocated L2 tables get an array, so a
  // huge sparse disk costs nothing.
  const clusters = Math.ceil(size / cluster);
  const maps: (Float64Array | undefined)[] = new Array(needL1);
  for (let i = 0; i < needL1; i++) {
    const l2Off = Number(l1v.getBigUint64(8 * i) & OFFSET_MASK);
    if (l2Off === 0) continue;
    if (l2Off % cluster !== 0 || l2Off + cluster > fileSize) {
      throw fail(
        `L1 entry ${i} points at offset ${l2Off}, outside the ${fileSize}-byte file or unaligned: it is truncated or corrupt`,
      );
    }
    const l2 = readExact(l2Off, cluster, `L2 table ${i}`);
    const map = maps[i] = new Float64Array(l2Entries).fill(-1);
    for (let j = 0; j < l2Entries; j++) {
      const gc = i * l2Entries + j;
      if (gc >= clusters) break;
      const e = l2.getBigUint64(8 * j);
      if (e & L2_COMPRESSED) {
        throw fail(
          `guest cluster ${gc} is compressed, which deja does not read; convert it with qemu-img convert -O qcow2 (without -c)`,
        );
      }
      if (version === 3 && (e & L2_ZERO)) continue;
      const off = Number(e & OFFSET_MASK);
      if (off === 0) continue;
      if (off % cluster !== 0 || off + cluster > fileSize) {
        throw fail(
          `guest cluster ${gc} points at offset ${off}, outside the ${fileSize}-byte file or unaligned: it is truncated or corrupt`,
        );
      }
      map[j] = off;
    }
  }
  return {
    size,
    format: "qcow2",
    read(offset, out) {
      let done = 0;
      while (done < out.length) {
        const pos = offset + done;
        const gc = Math.floor(pos / cluster), inCluster = pos % cluster;
        const n = Math.min(cluster - inCluster, out.length - done);
        const l2 = maps[Math.floor(gc / l2Entries)];
        const host = l2 ? l2[gc % l2Entries]! : -1;
        const dst = out.subarray(done, done + n);
        if (host < 0) dst.fill(0);
        else if (readAt(host + inCluster, dst) !== n) dst.fill(0);
        done += n;
      }
    },
  };
}

const SECTOR = 512;

/**
 * Writes kept in memory over an image, which stays unchanged. Its contents
 * are part of the device's saved state (snapshots, state hashes).
 *
 * @example
 * ```ts
 * import { OverlayImage, rawImage } from "./block_image.ts";
 * const base = rawImage((_o, out) => (out.fill(1), out.length), 4096);
 * const ov = new OverlayImage(base);
 * ov.write(512, new Uint8Array(512).fill(9));
 * const b = new Uint8Array(2);
 * ov.read(1023, b);
 * console.log(b, ov.saveState().length > 0); // Uint8Array(2) [ 9, 1 ] true
 * ```
 */
export class OverlayImage implements BlockImage {
  /** The image under the overlay. */
  readonly base: BlockImage;
  #sectors = new Map<number, Uint8Array>();

  /**
   * Put an overlay over an image.
   *
   * @param base the image
   */
  constructor(base: BlockImage) {
    this.base = base;
  }

  /** The disk size. */
  get size(): number {
    return this.base.size;
  }

  /** The base image's format. */
  get format(): string {
    return this.base.format;
  }

  /**
   * Read, overlay first.
   *
   * @param offset disk byte offset
   * @param out where to put the bytes
   */
  read(offset: number, out: Uint8Array): void {
    this.base.read(offset, out);
    if (this.#sectors.size === 0) return;
    const first = Math.floor(offset / SECTOR);
    const last = Math.floor((offset + out.length - 1) / SECTOR);
    for (let s = first; s <= last; s++) {
      const data = this.#sectors.get(s);
      if (!data) continue;
      const from = Math.max(offset, s * SECTOR),
        to = Math.min(offset + out.length, (s + 1) * SECTOR);
      out.set(data.subarray(from - s * SECTOR, to - s * SECTOR), from - offset);
    }
  }

  /**
   * Write into the overlay.
   *
   * @param offset disk byte offset
   * @param data the bytes
   */
  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    for (let s = Math.floor(offset / SECTOR); s * SECTOR < end; s++) {
      let sec = this.#sectors.get(s);
      if (!sec) {
        sec = new Uint8Array(SECTOR);
        this.read(s * SECTOR, sec);
        this.#sectors.set(s, sec);
      }
      const from = Math.max(offset, s * SECTOR),
        to = Math.min(end, (s + 1) * SECTOR);
      sec.set(data.subarray(from - offset, to - offset), from - s * SECTOR);
    }
  }

  /** Sectors written so far. */
  get writtenSectors(): number {
    return this.#sectors.size;
  }

  /**
   * The overlay as bytes: each written sector's number (u64 LE) and its 512
   * bytes, in sector order.
   *
   * @returns the bytes
   */
  saveState(): Uint8Array {
    const keys = [...this.#sectors.keys()].sort((a, b) => a - b);
    const out = new Uint8Array(keys.length * (8 + SECTOR));
    const v = new DataView(out.buffer);
    keys.forEach((k, i) => {
      const at = i * (8 + SECTOR);
      v.setBigUint64(at, BigInt(k), true);
      out.set(this.#sectors.get(k)!, at + 8);
    });
    return out;
  }

  /**
   * Restore what {@linkcode OverlayImage.saveState} returned.
   *
   * @param bytes the overlay
   * @throws {RangeError} if the bytes are not an overlay
   */
  loadState(bytes: Uint8Array): void {
    if (bytes.length % (8 + SECTOR) !== 0) {
      throw new RangeError(
        `Cannot restore a disk overlay: ${bytes.length} bytes is not a whole number of sectors`,
      );
    }
    this.#sectors.clear();
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let at = 0; at < bytes.length; at += 8 + SECTOR) {
      this.#sectors.set(
        Number(v.getBigUint64(at, true)),
        bytes.slice(at + 8, at + 8 + SECTOR),
      );
    }
  }
}
