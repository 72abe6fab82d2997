/**
 * An empty virtio-mmio slot of the `virt` board.
 *
 * Reference: Virtual I/O Device (VIRTIO) Version 1.2, section 4.2.2 (MMIO
 * device register layout). QEMU's `hw/virtio/virtio-mmio.c` maps a 0x200-byte
 * window per slot and, with no backend plugged in, reads MagicValue
 * 0x74726976 ("virt"), Version 2, VendorID 0x554d4551 ("QEMU") and 0
 * everywhere else, including DeviceID, which tells the guest's driver that the
 * slot is empty; writes are ignored.
 *
 * Left out: every device. Accesses are 4 bytes wide only (QEMU also takes 1-
 * and 2-byte reads of an empty slot; Linux and U-Boot use 32-bit accesses).
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import {
  defineState,
  newState,
  type StateDescription,
  type StateValues,
} from "../plugins/state.ts";

const MAGIC_VALUE = 0x74726976;
const VERSION = 2;
const VENDOR_ID = 0x554d4551;

/** Options for {@linkcode VirtioMmioSlot}. */
export interface VirtioMmioSlotOptions {
  /** Physical base address (`VIRTIO_BASE + i * VIRTIO_SIZE` on `virt`). */
  base: number;
}

/** The fields of {@linkcode virtioMmioState}. */
export const virtioMmioFields: Record<never, never> = {};

/** An empty virtio-mmio slot's state, version 1: it has none. */
export const virtioMmioState: StateDescription<typeof virtioMmioFields> =
  defineState({
    name: "virtio-mmio",
    version: 1,
    fields: virtioMmioFields,
  });

/**
 * A virtio-mmio (version 2) transport with no device behind it.
 *
 * @example Probe an empty slot
 * ```ts
 * import { VirtioMmioSlot } from "./virtio_mmio.ts";
 * const slot = new VirtioMmioSlot({ base: 0x1000_1000 });
 * const r = slot.regions[0]!;
 * if (r.read(0x0, 4) !== 0x74726976 || r.read(0x8, 4) !== 0) {
 *   throw new Error("unreachable");
 * }
 * ```
 */
export class VirtioMmioSlot {
  /** The live state, declared by {@linkcode virtioMmioState} (no fields). */
  readonly state: StateValues<typeof virtioMmioFields> = newState(
    virtioMmioState,
  );
  /** The 0x200-byte register window. */
  readonly regions: MmioRegion[];

  /**
   * Make an empty slot.
   *
   * @param options where it sits
   */
  constructor(options: VirtioMmioSlotOptions) {
    this.regions = [{
      name: "virtio-mmio",
      base: options.base,
      size: 0x200,
      accessSizes: [4],
      read: (offset) => {
        switch (offset) {
          case 0x000:
            return MAGIC_VALUE;
          case 0x004:
            return VERSION;
          case 0x00c:
            return VENDOR_ID;
          default:
            return 0;
        }
      },
      write: () => {},
    }];
  }

  /** Nothing to reset. */
  reset(): void {}
}
