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
   * Instructions retired, counted: `n` more since the last call. A plugin
   * whose only per-instruction or per-block hooks are `insnCount` and
   * `blockCount` runs at close to full speed: the machine counts in its run
   * loop and delivers the counts in batches (after each slice of the run,
   * and all of them before `vcpuExit`). Loaded together with `insn`,
   * `block`, `mem` or `trap` (by any plugin), it is called with 1 per
   * instruction on the observed path instead.
   *
   * @param n instructions retired since the last call
   */
  insnCount?(n: number): void;
  /**
   * Blocks executed, counted: the block at `pc` started `execs` more times
   * since it was last reported (batched as for `insnCount`). On the counting
   * path a block starts after a branch, a jump or a CSR instruction and
   * wherever execution enters a page (a trap or interrupt, a page crossing,
   * a new slice of the run), and `insns` lists it statically, as memory
   * holds it when reported: up to the first instruction that may transfer
   * control, or to the end of its page. On the observed path (see
   * `insnCount`) it is each block as `block` sees it, with `execs` 1.
   *
   * @param pc its first instruction's address
   * @param insns its instructions
   * @param execs how many more times it started
   */
  blockCount?(pc: bigint, insns: readonly InsnInfo[], execs: number): void;
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
