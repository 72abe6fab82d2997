/**
 * virtio-blk (`-device virtio-blk-device,drive=ID`): a disk.
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, section 5.2. One
 * request queue; a request is a 16-byte header (type u32, reserved u32,
 * sector u64), the data buffers and a one-byte status the device writes.
 * Requests complete synchronously at the notify, so their results are a
 * pure function of guest memory and the disk's contents: nothing but the
 * image's identity needs logging. Reads come from the image (through an
 * {@linkcode OverlayImage} when the image must stay unchanged); writes go
 * to the overlay, or to the image itself when it is writable.
 *
 * Offered features: `VIRTIO_BLK_F_SEG_MAX`, `VIRTIO_BLK_F_BLK_SIZE`,
 * `VIRTIO_BLK_F_FLUSH`, and `VIRTIO_BLK_F_RO` for a read-only drive.
 * Request types: IN, OUT, FLUSH, GET_ID; others complete with
 * `VIRTIO_BLK_S_UNSUPP`.
 *
 * @module
 */

import { type BlockImage, OverlayImage } from "./block_image.ts";
import type { ChainError, GuestRam, Segment } from "./virtio_queue.ts";
import { gather, scatter } from "./virtio_queue.ts";
import type { VirtioDevice } from "./virtio_mmio.ts";

const SECTOR = 512;
const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8;
const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
const F_SEG_MAX = 1n << 2n;
const F_RO = 1n << 5n;
const F_BLK_SIZE = 1n << 6n;
const F_FLUSH = 1n << 9n;
const QUEUE_SIZE = 256;

/** Options for {@linkcode VirtioBlk}. */
export interface VirtioBlkOptions {
  /** The disk. An {@linkcode OverlayImage} keeps the image unchanged. */
  image: BlockImage;
  /** Refuse writes and offer `VIRTIO_BLK_F_RO`. */
  readonly?: boolean;
  /** The serial number that GET_ID returns (up to 20 bytes). */
  serial?: string;
}

/**
 * The block device.
 *
 * @example Read sector 1 of a disk of 7s
 * ```ts
 * import { rawImage } from "./block_image.ts";
 * import { VirtioBlk } from "./virtio_blk.ts";
 * const blk = new VirtioBlk({ image: rawImage((_o, out) => (out.fill(7), out.length), 4096) });
 * const ram = { bytes: new Uint8Array(1024), base: 0, written() {} };
 * new DataView(ram.bytes.buffer).setUint32(8, 1, true); // IN, sector 1
 * const n = blk.handle(0, [
 *   { offset: 0, length: 16, write: false },
 *   { offset: 16, length: 512, write: true },
 *   { offset: 528, length: 1, write: true },
 * ], ram);
 * console.log(n, ram.bytes[16], ram.bytes[528]); // 513 7 0
 * ```
 */
export class VirtioBlk implements VirtioDevice {
  /** Block device. */
  readonly deviceId = 2;
  /** Offered features. */
  readonly features: bigint;
  /** One request queue. */
  readonly queueSizes: readonly number[] = [QUEUE_SIZE];
  /** The disk. */
  readonly image: BlockImage;
  #readonly: boolean;
  #serial: Uint8Array;
  #header = new Uint8Array(16);

  /**
   * Make the device.
   *
   * @param options the disk and its mode
   */
  constructor(options: VirtioBlkOptions) {
    this.image = options.image;
    this.#readonly = options.readonly ?? false;
    this.features = F_SEG_MAX | F_BLK_SIZE | F_FLUSH |
      (this.#readonly ? F_RO : 0n);
    const serial = new TextEncoder().encode(options.serial ?? "");
    this.#serial = new Uint8Array(20);
    this.#serial.set(serial.subarray(0, 20));
  }

  /**
   * Read the configuration space: capacity (u64, sectors), size_max (u32),
   * seg_max (u32), geometry (4 bytes, zero), blk_size (u32).
   *
   * @param offset byte offset
   * @param size 1, 2 or 4
   * @returns the value
   */
  readConfig(offset: number, size: number): number {
    const cfg = new Uint8Array(24);
    const v = new DataView(cfg.buffer);
    v.setBigUint64(0, BigInt(Math.floor(this.image.size / SECTOR)), true);
    v.setUint32(12, QUEUE_SIZE - 2, true); // seg_max
    v.setUint32(20, SECTOR, true); // blk_size
    if (offset < 0 || offset + size > cfg.length) return 0;
    return size === 1
      ? cfg[offset]!
      : size === 2
      ? v.getUint16(offset, true)
      : v.getUint32(offset, true);
  }

  /**
   * Carry out one request.
   *
   * @param _queue the queue (0)
   * @param segs the request's buffers
   * @param ram guest RAM
   * @returns bytes written into the writable buffers, or why the request
   *   is malformed
   */
  handle(
    _queue: number,
    segs: readonly Segment[],
    ram: GuestRam,
  ): number | ChainError {
    let readable = 0, writable = 0;
    for (const s of segs) {
      if (s.write) writable += s.length;
      else readable += s.length;
    }
    if (readable < 16 || writable < 1) {
      return {
        error:
          `a block request needs a 16-byte header and a status byte (got ${readable} readable, ${writable} writable bytes)`,
      };
    }
    const hdr = this.#header;
    gather(ram, segs, 0, hdr);
    const hv = new DataView(hdr.buffer);
    const type = hv.getUint32(0, true);
    const sector = Number(hv.getBigUint64(8, true));
    const dataIn = writable - 1; // bytes before the status byte
    const dataOut = readable - 16;
    let status = S_OK, written = 0;
    const disk = this.image;
    const fits = (len: number) =>
      len % SECTOR === 0 && sector * SECTOR + len <= disk.size;
    switch (type) {
      case T_IN: {
        if (!fits(dataIn)) {
          status = S_IOERR;
          break;
        }
        const buf = new Uint8Array(dataIn);
        disk.read(sector * SECTOR, buf);
        written = scatter(ram, segs, buf);
        break;
      }
      case T_OUT: {
        if (this.#readonly || !disk.write) {
          status = S_IOERR;
          break;
        }
        if (!fits(dataOut)) {
          status = S_IOERR;
          break;
        }
        const buf = new Uint8Array(dataOut);
        gather(ram, segs, 16, buf);
        disk.write(sector * SECTOR, buf);
        break;
      }
      case T_FLUSH:
        break;
      case T_GET_ID:
        written = scatter(
          ram,
          segs,
          this.#serial.subarray(0, Math.min(20, dataIn)),
        );
        break;
      default:
        status = S_UNSUPP;
    }
    // The status byte is the last writable byte.
    let last: Segment | undefined;
    for (const s of segs) if (s.write && s.length > 0) last = s;
    const at = last!.offset + last!.length - 1;
    ram.bytes[at] = status;
    ram.written(at, 1);
    return written + 1;
  }

  /** Nothing to reset: the disk keeps its contents. */
  reset(): void {}

  /**
   * The overlay's written sectors (empty without an overlay).
   *
   * @returns the bytes
   */
  saveState(): Uint8Array {
    return this.image instanceof OverlayImage
      ? this.image.saveState()
      : new Uint8Array(0);
  }

  /**
   * Restore the overlay.
   *
   * @param bytes what {@linkcode VirtioBlk.saveState} returned
   */
  loadState(bytes: Uint8Array): void {
    if (this.image instanceof OverlayImage) this.image.loadState(bytes);
  }
}
