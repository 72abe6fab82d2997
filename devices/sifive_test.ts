/**
 * The SiFive test finisher of the `virt` board: the syscon that OpenSBI,
 * U-Boot and Linux write to power off or reset the machine.
 *
 * Reference: QEMU's `hw/misc/sifive_test.c` (there is no public datasheet;
 * the device tree binding is `sifive,test0`/`sifive,test1` with the
 * `syscon-poweroff` and `syscon-reboot` values 0x5555 and 0x7777). A write to
 * offset 0 with status 0x3333 (FAIL) stops with the exit code in bits 31:16,
 * 0x5555 (PASS) stops with code 0, and 0x7777 (RESET) asks for a reset. Other
 * writes are ignored, reads return 0, and accesses are 2 or 4 bytes wide, as
 * in QEMU.
 *
 * Left out: nothing the guest can observe; the device has no state.
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import { TEST_SIZE } from "../core/memory_map.ts";
import {
  defineState,
  newState,
  type StateDescription,
  type StateValues,
} from "../plugins/state.ts";

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

/** What the guest asked the finisher for. */
export type ShutdownKind = "poweroff" | "reset";

/** Options for {@linkcode SifiveTest}. */
export interface SifiveTestOptions {
  /** Physical base address (`TEST_BASE` on `virt`). */
  base: number;
  /**
   * Called when the guest writes a finisher command: `"poweroff"` with the
   * exit code (0 for PASS, the code from bits 31:16 for FAIL) or `"reset"`
   * with 0.
   */
  onShutdown: (kind: ShutdownKind, code: number) => void;
}

/** The fields of {@linkcode sifiveTestState}. */
export const sifiveTestFields: Record<never, never> = {};

/** The SiFive test finisher's state, version 1: it has none. */
export const sifiveTestState: StateDescription<typeof sifiveTestFields> =
  defineState({
    name: "sifive_test",
    version: 1,
    fields: sifiveTestFields,
  });

/**
 * The SiFive test finisher.
 *
 * @example Power off with exit code 3
 * ```ts
 * import { SifiveTest } from "./sifive_test.ts";
 * let got = "";
 * const test = new SifiveTest({
 *   base: 0x10_0000,
 *   onShutdown: (kind, code) => (got = `${kind} ${code}`),
 * });
 * test.regions[0]!.write(0, 4, (3 << 16) | 0x3333);
 * if (got !== "poweroff 3") throw new Error("unreachable");
 * ```
 */
export class SifiveTest {
  /** The live state, declared by {@linkcode sifiveTestState} (no fields). */
  readonly state: StateValues<typeof sifiveTestFields> = newState(
    sifiveTestState,
  );
  /** The register window. */
  readonly regions: MmioRegion[];

  #onShutdown: (kind: ShutdownKind, code: number) => void;

  /**
   * Make the device.
   *
   * @param options where it sits and whom it tells
   */
  constructor(options: SifiveTestOptions) {
    this.#onShutdown = options.onShutdown;
    this.regions = [{
      name: "test",
      base: options.base,
      size: TEST_SIZE,
      accessSizes: [2, 4],
      read: () => 0,
      write: (offset, _size, value) => {
        if (offset === 0) this.#command(value >>> 0);
      },
    }];
  }

  /** Nothing to reset. */
  reset(): void {}

  #command(value: number): void {
    const status = value & 0xffff;
    const code = value >>> 16;
    if (status === FINISHER_FAIL) this.#onShutdown("poweroff", code);
    else if (status === FINISHER_PASS) this.#onShutdown("poweroff", 0);
    else if (status === FINISHER_RESET) this.#onShutdown("reset", 0);
  }
}
