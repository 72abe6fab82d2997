/**
 * virtio-net (`-device virtio-net-device,netdev=ID`): a network card.
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, section 5.1. Queue 0
 * receives, queue 1 transmits; every frame carries a `virtio_net_hdr` first
 * (10 bytes on a legacy transport, 12 with `VIRTIO_F_VERSION_1`). The only
 * feature offered is `VIRTIO_NET_F_MAC` (no checksum offload, no
 * mergeable buffers: every frame fits one receive chain).
 *
 * Transmitted frames leave through the `transmit` callback, synchronously at
 * the notify. Received frames come in through {@linkcode VirtioNet.receive}
 * (the board applies them as `NET_RX` inputs, recorded with their
 * instruction counts and replayed from the log with the backend
 * disconnected); a frame that finds no receive buffer waits in the device
 * (part of its saved state) until the driver posts one.
 *
 * @module
 */

import type { ChainError, GuestRam, Segment } from "./virtio_queue.ts";
import { gather, scatter } from "./virtio_queue.ts";
import type { VirtioDevice, VirtioTransport } from "./virtio_mmio.ts";

const F_MAC = 1n << 5n;
const QUEUE_SIZE = 256;
/** Frames kept waiting for receive buffers at most (more are dropped). */
const MAX_PENDING = 64;

/** Options for {@linkcode VirtioNet}. */
export interface VirtioNetOptions {
  /** The MAC address (6 bytes). */
  mac: Uint8Array;
  /** Whether the transport is legacy (a 10-byte header instead of 12). */
  legacy: boolean;
  /**
   * A frame the guest sent (without the virtio header).
   *
   * @param frame the Ethernet frame
   */
  transmit(frame: Uint8Array): void;
}

/**
 * The network card.
 *
 * @example Send a frame
 * ```ts
 * import { VirtioNet } from "./virtio_net.ts";
 * const sent: Uint8Array[] = [];
 * const net = new VirtioNet({ mac: new Uint8Array(6), legacy: true, transmit: (f) => void sent.push(f) });
 * const ram = { bytes: new Uint8Array(64), base: 0, written() {} };
 * ram.bytes.fill(0xee, 10, 24);
 * net.handle(1, [{ offset: 0, length: 24, write: false }], ram);
 * console.log(sent[0]!.length); // 14
 * ```
 */
export class VirtioNet implements VirtioDevice {
  /** Network card. */
  readonly deviceId = 1;
  /** `VIRTIO_NET_F_MAC`. */
  readonly features: bigint = F_MAC;
  /** Receive and transmit queues. */
  readonly queueSizes: readonly number[] = [QUEUE_SIZE, QUEUE_SIZE];
  /** The receive queue is filled when a frame arrives. */
  readonly deferredQueues: readonly number[] = [0];
  /** The MAC address. */
  readonly mac: Uint8Array;
  /** Frames dropped because too many waited for buffers. */
  dropped = 0;
  #hdr: number;
  #transmit: (frame: Uint8Array) => void;
  #transport: VirtioTransport | undefined;
  #pending: Uint8Array[] = [];

  /**
   * Make the device.
   *
   * @param options its MAC address, transport kind and transmit callback
   */
  constructor(options: VirtioNetOptions) {
    this.mac = options.mac.slice(0, 6);
    this.#hdr = options.legacy ? 10 : 12;
    this.#transmit = options.transmit;
  }

  /**
   * Get the transport (the slot does this).
   *
   * @param transport the slot
   */
  attach(transport: VirtioTransport): void {
    this.#transport = transport;
  }

  /**
   * Read the configuration space: the MAC address.
   *
   * @param offset byte offset
   * @param size 1, 2 or 4
   * @returns the value
   */
  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      v = v * 256 + (offset + i < 6 ? this.mac[offset + i]! : 0);
    }
    return v;
  }

  /**
   * Transmit one frame (queue 1).
   *
   * @param queue the queue
   * @param segs the chain
   * @param ram guest RAM
   * @returns 0 (nothing written), or why the chain is malformed
   */
  handle(
    queue: number,
    segs: readonly Segment[],
    ram: GuestRam,
  ): number | ChainError {
    if (queue !== 1) return 0;
    let len = 0;
    for (const s of segs) if (!s.write) len += s.length;
    if (len < this.#hdr) {
      return {
        error:
          `a transmitted frame has ${len} bytes, less than the ${this.#hdr}-byte virtio-net header`,
      };
    }
    const frame = new Uint8Array(len - this.#hdr);
    gather(ram, segs, this.#hdr, frame);
    if (frame.length > 0) this.#transmit(frame);
    return 0;
  }

  /**
   * A frame arrived: put it in the next receive buffer, or keep it until
   * the driver posts one.
   *
   * @param frame the Ethernet frame
   */
  receive(frame: Uint8Array): void {
    if (this.#pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.#pending.push(frame);
    this.#flush();
  }

  /**
   * The driver posted receive buffers.
   *
   * @param _queue the queue (0)
   */
  kick(_queue: number): void {
    this.#flush();
  }

  #flush(): void {
    const t = this.#transport;
    while (t && this.#pending.length > 0) {
      const frame = this.#pending[0]!;
      const hdr = this.#hdr;
      const ok = t.fill(0, (segs, ram) => {
        let room = 0;
        for (const s of segs) if (s.write) room += s.length;
        if (room < hdr + frame.length) {
          return {
            error:
              `a receive buffer of ${room} bytes cannot hold a ${frame.length}-byte frame and its header`,
          };
        }
        const all = new Uint8Array(hdr + frame.length);
        if (hdr === 12) all[10] = 1; // num_buffers
        all.set(frame, hdr);
        return scatter(ram, segs, all);
      });
      if (!ok) return;
      this.#pending.shift();
    }
  }

  /** Drop frames waiting for buffers. */
  reset(): void {
    this.#pending = [];
  }

  /**
   * The frames waiting for receive buffers: each as a u32 LE length and
   * its bytes.
   *
   * @returns the bytes
   */
  saveState(): Uint8Array {
    const n = this.#pending.reduce((a, f) => a + 4 + f.length, 0);
    const out = new Uint8Array(n);
    const v = new DataView(out.buffer);
    let at = 0;
    for (const f of this.#pending) {
      v.setUint32(at, f.length, true);
      out.set(f, at + 4);
      at += 4 + f.length;
    }
    return out;
  }

  /**
   * Restore what {@linkcode VirtioNet.saveState} returned.
   *
   * @param bytes the waiting frames
   * @throws {RangeError} if the bytes are cut
   */
  loadState(bytes: Uint8Array): void {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const frames: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      if (at + 4 > bytes.length) {
        throw new RangeError("Cannot restore virtio-net: a frame is cut");
      }
      const n = v.getUint32(at, true);
      if (at + 4 + n > bytes.length) {
        throw new RangeError("Cannot restore virtio-net: a frame is cut");
      }
      frames.push(bytes.slice(at + 4, at + 4 + n));
      at += 4 + n;
    }
    this.#pending = frames;
  }
}
