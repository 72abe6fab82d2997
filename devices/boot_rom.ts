/**
 * The mask ROM of the `virt` board, holding the reset vector.
 *
 * Reference: QEMU's `riscv_setup_rom_reset_vec` and
 * `riscv_rom_copy_firmware_info` (`hw/riscv/boot.c`), and OpenSBI's
 * `include/sbi/fw_dynamic.h` for the `fw_dynamic_info` layout. At MROM_BASE
 * the hart finds six instructions that set `a0` to `mhartid`, `a1` to the
 * FDT's address and `a2` to the address of a `fw_dynamic_info`, then jump to
 * the start address; the two 64-bit addresses follow as data words. The
 * `fw_dynamic_info` comes right after (at +0x28): magic 0x4942534f ("OSBI"),
 * version 2, next_addr (the kernel entry), next_mode (1 = S-mode), options 0
 * and boot_hart 0, each 64 bits, as QEMU fills it. The rest of the 0xf000
 * window reads 0; writes are ignored, as to QEMU's ROM.
 *
 * Left out: the RV32 variant (`lw` and 32-bit `fw_dynamic_info`) and the nop
 * that QEMU puts in place of `csrr` when Zicsr is off.
 *
 * @module
 */

import type { MmioRegion } from "../core/bus.ts";
import { MROM_BASE, MROM_SIZE } from "../core/memory_map.ts";
import {
  defineState,
  newState,
  type StateDescription,
  type StateValues,
} from "../plugins/state.ts";

const FW_DYNAMIC_INFO_MAGIC = 0x4942534fn;
const FW_DYNAMIC_INFO_VERSION = 2n;
/** Where `fw_dynamic_info` starts: after six instructions and two dwords. */
const FW_DYN_OFFSET = 0x28;
const IMAGE_SIZE = FW_DYN_OFFSET + 6 * 8;

const T0 = 5;
const A0 = 10;
const A1 = 11;
const A2 = 12;
const CSR_MHARTID = 0xf14;

/** An address or value that fits in 64 bits. */
export type U64 = number | bigint;

/** Options for {@linkcode BootRom}. */
export interface BootRomOptions {
  /** Where the reset vector jumps: the firmware (or kernel) entry. */
  startAddr: U64;
  /** Physical address of the flattened device tree, passed in `a1`. */
  fdtAddr: U64;
  /** `fw_dynamic_info.next_addr`: where OpenSBI jumps next. */
  kernelEntry: U64;
  /**
   * `fw_dynamic_info.next_mode`: 0 = U, 1 = S, 3 = M.
   *
   * @default {1}
   */
  nextMode?: number;
  /**
   * Physical base address.
   *
   * @default {0x1000}
   */
  base?: number;
}

/** The fields of {@linkcode bootRomState}. */
export const bootRomFields = {
  startAddr: "u64",
  fdtAddr: "u64",
  kernelEntry: "u64",
  nextMode: "u8",
} as const;

/**
 * The boot ROM's state, version 1: the addresses it hands over and the
 * privilege mode of the next stage.
 */
export const bootRomState: StateDescription<typeof bootRomFields> = defineState(
  { name: "mrom", version: 1, fields: bootRomFields },
);

/**
 * The reset-vector ROM.
 *
 * @example Check the first instruction and the fw_dynamic_info magic
 * ```ts
 * import { BootRom } from "./boot_rom.ts";
 * const rom = new BootRom({
 *   startAddr: 0x8000_0000,
 *   fdtAddr: 0x87e0_0000,
 *   kernelEntry: 0x8020_0000,
 * });
 * const r = rom.regions[0]!;
 * if (r.read(0, 4) !== 0x00000297) throw new Error("unreachable"); // auipc t0, 0
 * if (r.read(0x28, 4) !== 0x4942534f) throw new Error("unreachable");
 * ```
 */
export class BootRom {
  /** The ROM window (`MROM_BASE`, `MROM_SIZE`). */
  readonly regions: MmioRegion[];
  /**
   * The live state, declared by {@linkcode bootRomState}: the ROM's
   * parameters (its contents follow from them).
   */
  readonly state: StateValues<typeof bootRomFields> = newState(
    bootRomState,
    { nextMode: 1 },
  );

  #image = new Uint8Array(IMAGE_SIZE);
  #view = new DataView(this.#image.buffer);

  /**
   * Build the ROM contents.
   *
   * @param options the addresses to hand over
   * @throws {RangeError} if an address does not fit in 64 bits or
   * `nextMode` is not 0, 1 or 3
   */
  constructor(options: BootRomOptions) {
    this.#configure(
      u64(options.startAddr, "startAddr"),
      u64(options.fdtAddr, "fdtAddr"),
      u64(options.kernelEntry, "kernelEntry"),
      options.nextMode ?? 1,
    );
    this.regions = [{
      name: "mrom",
      base: options.base ?? MROM_BASE,
      size: MROM_SIZE,
      accessSizes: [1, 2, 4, 8],
      read: (offset, size) => this.#read(offset, size),
      write: () => {},
    }];
  }

  /** Address of `fw_dynamic_info`, relative to the ROM base. */
  get fwDynamicInfoOffset(): number {
    return FW_DYN_OFFSET;
  }

  /**
   * The meaningful bytes of the ROM (the rest reads 0).
   *
   * @returns a copy of the reset vector and `fw_dynamic_info`
   */
  image(): Uint8Array {
    return this.#image.slice();
  }

  /** Nothing to reset: the ROM does not change. */
  reset(): void {}

  /**
   * Rebuild the ROM contents from restored parameters.
   *
   * @throws {RangeError} if `nextMode` is not 0, 1 or 3
   */
  afterLoad(): void {
    const s = this.state;
    this.#configure(s.startAddr, s.fdtAddr, s.kernelEntry, s.nextMode);
  }

  #configure(
    startAddr: bigint,
    fdtAddr: bigint,
    kernelEntry: bigint,
    nextMode: number,
  ): void {
    if (nextMode !== 0 && nextMode !== 1 && nextMode !== 3) {
      throw new RangeError(
        `Cannot build mrom: nextMode ${nextMode} is not 0 (U), 1 (S) or 3 (M)`,
      );
    }
    const s = this.state;
    s.startAddr = startAddr;
    s.fdtAddr = fdtAddr;
    s.kernelEntry = kernelEntry;
    s.nextMode = nextMode;
    const code = [
      encodeU(0x17, T0, 0), //             auipc t0, 0
      encodeI(0x13, A2, 0, T0, FW_DYN_OFFSET), // addi  a2, t0, 0x28
      encodeI(0x73, A0, 2, 0, CSR_MHARTID), // csrr  a0, mhartid
      encodeI(0x03, A1, 3, T0, 0x20), //   ld    a1, 32(t0)
      encodeI(0x03, T0, 3, T0, 0x18), //   ld    t0, 24(t0)
      encodeI(0x67, 0, 0, T0, 0), //       jr    t0
    ];
    const v = this.#view;
    code.forEach((insn, i) => v.setUint32(i * 4, insn, true));
    v.setBigUint64(0x18, startAddr, true);
    v.setBigUint64(0x20, fdtAddr, true);
    const info = [
      FW_DYNAMIC_INFO_MAGIC,
      FW_DYNAMIC_INFO_VERSION,
      kernelEntry,
      BigInt(nextMode),
      0n, // options
      0n, // boot_hart, as QEMU sets it
    ];
    info.forEach((x, i) => v.setBigUint64(FW_DYN_OFFSET + i * 8, x, true));
  }

  #read(offset: number, size: 1 | 2 | 4): number {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      value = value * 256 + (o < IMAGE_SIZE ? this.#image[o]! : 0);
    }
    return value;
  }
}

/** Encode an I-type instruction. */
function encodeI(
  opcode: number,
  rd: number,
  funct3: number,
  rs1: number,
  imm: number,
): number {
  return ((imm & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode) >>>
    0;
}

/** Encode a U-type instruction; `imm` is the upper 20 bits. */
function encodeU(opcode: number, rd: number, imm: number): number {
  return ((imm & 0xfffff) << 12 | rd << 7 | opcode) >>> 0;
}

function u64(value: U64, name: string): bigint {
  const v = typeof value === "bigint"
    ? value
    : Number.isSafeInteger(value)
    ? BigInt(value)
    : -1n;
  if (v < 0n || v >= 1n << 64n) {
    throw new RangeError(
      `Cannot build mrom: ${name} ${value} is not an unsigned 64-bit integer`,
    );
  }
  return v;
}
