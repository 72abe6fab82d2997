/**
 * Interrupt wiring: level-triggered lines from devices to the PLIC, and from
 * the PLIC and CLINT to the hart's `mip` bits.
 *
 * @module
 */

/** Supervisor software interrupt pending bit in `mip`. */
export const MIP_SSIP = 1 << 1;
/** Machine software interrupt pending bit in `mip`. */
export const MIP_MSIP = 1 << 3;
/** Supervisor timer interrupt pending bit in `mip`. */
export const MIP_STIP = 1 << 5;
/** Machine timer interrupt pending bit in `mip`. */
export const MIP_MTIP = 1 << 7;
/** Supervisor external interrupt pending bit in `mip`. */
export const MIP_SEIP = 1 << 9;
/** Machine external interrupt pending bit in `mip`. */
export const MIP_MEIP = 1 << 11;

/** A level-triggered interrupt line. */
export interface IrqLine {
  /** Drive the line high (`true`) or low. */
  set(level: boolean): void;
}

/** Something that owns `mip` bits: the hart. */
export interface InterruptTarget {
  /**
   * Set or clear hardware-driven `mip` bits.
   *
   * @param mask one or more `MIP_*` bits
   * @param level true to raise, false to lower
   */
  setPending(mask: number, level: boolean): void;
}
