/**
 * The callbacks of an instrumentation plugin and the values they get. They
 * live apart from `instrumentation.ts` (the observed run) so that the
 * registry can name them without importing the run, and the run can import
 * the registry: no import circle.
 *
 * @module
 */

/** One executed instruction. */
export interface InsnInfo {
  /** Its virtual address. */
  readonly pc: bigint;
  /** The raw instruction (16 bits for a compressed one). */
  readonly insn: number;
  /** 2 or 4 bytes. */
  readonly size: 2 | 4;
}

/** One memory access of an executed instruction. */
export interface MemAccess {
  /** The instruction's virtual address. */
  readonly pc: bigint;
  /** The virtual address accessed. */
  readonly addr: bigint;
  /** 1, 2, 4 or 8 bytes. */
  readonly size: 1 | 2 | 4 | 8;
  /** The value loaded or stored (zero-extended to 64 bits). */
  readonly value: bigint;
  /** Read or write; an atomic reports both. */
  readonly access: "read" | "write";
}

/** A trap or interrupt the hart took. */
export interface TrapInfo {
  /** The cause number (`mcause`/`scause` without the interrupt bit). */
  readonly cause: number;
  /** Whether it was an interrupt. */
  readonly interrupt: boolean;
  /** The handler's address. */
  readonly handler: bigint;
  /** The instruction count when it was taken. */
  readonly icount: number;
}

/** How the run ended, for the `exit` callback. */
export interface ExitInfo {
  /** Instructions retired. */
  readonly icount: number;
  /** Why it ended: `poweroff`, `reset`, `quit`, `trap-loop`, `replay-end`, `budget`. */
  readonly reason: string;
}

/** The callbacks an instrumentation plugin may return. All are optional. */
export interface InstrumentationHooks {
  /** The vCPU starts. */
  vcpuInit?(): void;
  /**
   * An instruction retired.
   *
   * @param pc its address
   * @param insn the raw instruction
   * @param size 2 or 4
   */
  insn?(pc: bigint, insn: number, size: 2 | 4): void;
  /**
   * A block (straight-line instructions up to a jump, branch taken or
   * trap) finished executing.
   *
   * @param pc its first instruction's address
   * @param insns the instructions it executed
   */
  block?(pc: bigint, insns: readonly InsnInfo[]): void;
  /**
   * A load, store or atomic accessed memory.
   *
   * @param access what was accessed
   */
  mem?(access: MemAccess): void;
  /**
   * The hart took a trap or an interrupt.
   *
   * @param trap what it took
   */
  trap?(trap: TrapInfo): void;
  /** The vCPU stops (before `exit`). */
  vcpuExit?(): void;
  /**
   * The run ended: print the report here.
   *
   * @param info how it ended
   */
  exit?(info: ExitInfo): void;
}
