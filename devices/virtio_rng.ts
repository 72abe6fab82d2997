/**
 * virtio-rng (`-device virtio-rng-device`): an entropy source.
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, section 5.4. One
 * queue; the driver posts device-writable buffers and the device fills
 * them. The bytes are host entropy, a nondeterministic input: the device
 * asks its `entropy` frontend for exactly the bytes one request needs, and
 * the board reads them through its event backend (`HOST_ENTROPY`, logged as
 * `EVENT_RANDOM`, one event per request), so a replay fills each request
 * with the recorded bytes.
 *
 * @module
 */

import type { ChainError, GuestRam, Segment } from "./virtio_queue.ts";
import { scatter } from "./virtio_queue.ts";
import type { VirtioDevice } from "./virtio_mmio.ts";

/** Most bytes one request gets (QEMU's default `max-bytes` is far more). */
export const RNG_MAX_REQUEST = 4096;

/**
 * The entropy device.
 *
 * @example Fill a request with fixed bytes
 * ```ts
 * import { VirtioRng } from "./virtio_rng.ts";
 * const rng = new VirtioRng((n) => new Uint8Array(n).fill(7));
 * const ram = { bytes: new Uint8Array(16), base: 0, written() {} };
 * console.log(rng.handle(0, [{ offset: 0, length: 4, write: true }], ram), ram.bytes[3]); // 4 7
 * ```
 */
export class VirtioRng implements VirtioDevice {
  /** Entropy source. */
  readonly deviceId = 4;
  /** No device features. */
  readonly features = 0n;
  /** One request queue of up to 8 entries (QEMU's size). */
  readonly queueSizes: readonly number[] = [8];
  #entropy: (n: number) => Uint8Array;

  /**
   * Make the device.
   *
   * @param entropy reads `n` bytes of host entropy (through the board's
   *   event backend, so recorded and replayed)
   */
  constructor(entropy: (n: number) => Uint8Array) {
    this.#entropy = entropy;
  }

  /**
   * No configuration space.
   *
   * @returns 0
   */
  readConfig(): number {
    return 0;
  }

  /**
   * Fill a request's writable buffers (up to {@linkcode RNG_MAX_REQUEST}
   * bytes) with host entropy.
   *
   * @param _queue the queue (0)
   * @param segs the buffers
   * @param ram guest RAM
   * @returns bytes written
   */
  handle(
    _queue: number,
    segs: readonly Segment[],
    ram: GuestRam,
  ): number | ChainError {
    let want = 0;
    for (const s of segs) if (s.write) want += s.length;
    want = Math.min(want, RNG_MAX_REQUEST);
    if (want === 0) return 0;
    const bytes = this.#entropy(want);
    if (bytes.length !== want) {
      return {
        error:
          `the entropy source gave ${bytes.length} bytes for a ${want}-byte request`,
      };
    }
    return scatter(ram, segs, bytes);
  }

  /** Nothing to reset. */
  reset(): void {}
}
