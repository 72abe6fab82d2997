/**
 * Run one ELF in deja and in QEMU side by side and stop at the first point
 * where their states differ: after every instruction, or (`blocks`) at the
 * ends of chunks that deja runs with its block compiler on.
 *
 * deja runs in-process: a {@linkcode VirtMachine} with `-bios none` and
 * icount shift 0, stepped with `cpu.run(1)` (a budget of one instruction,
 * which never enters a compiled block) followed by the timers, as
 * `VirtMachine.run` does. HTIF is not polled: QEMU's `virt` board has no
 * HTIF, so both machines see a host that never answers.
 *
 * Block mode: a second deja machine with the block compiler off (the
 * planner) steps ahead one instruction at a time and records where each
 * instruction starts. The compared deja then runs whole chunks of that path
 * with `cpu.run(n)`, blocks on, and QEMU runs to the same point with a
 * breakpoint at the chunk's end (continued as often as the path arrives
 * there); the whole state is compared at each chunk end. A chunk ends after
 * a branch or jump where possible (where a compiled block ends), and before
 * any instruction that lockstep must single-step: CSR and other SYSTEM
 * instructions (but `fflags`, `frm` and `fcsr` accesses), accesses outside
 * RAM (devices, `mtime`, power-off), and any trap or interrupt.
 *
 * Known differences (counter values, documented QEMU deviations) are let
 * through by the rules of `known.ts`, which copy QEMU's values into deja so
 * that the runs stay comparable; the result counts them.
 *
 * Interrupts: QEMU single-steps with interrupts enabled (`Qqemu.sstep=1`),
 * so both take them at the same instruction; QEMU stops at the handler's
 * entry, deja runs its first instruction in the same step, so QEMU steps
 * once more there.
 *
 * @module
 */

import { VirtMachine } from "../../devices/virt.ts";
import { disassemble } from "../../core/disasm.ts";
import { QemuTarget } from "./qemu.ts";
import type { QemuStep } from "./qemu.ts";
import { StopReason } from "../../core/cpu.ts";
import type { Cpu } from "../../core/cpu.ts";
import { adopt, explainDifferences } from "./known.ts";
import {
  diffStates,
  formatStates,
  newState,
  PC,
  readDejaState,
  REG_NAMES,
} from "./state.ts";
import type { ArchState } from "./state.ts";

/** Options for {@linkcode lockstep}. */
export interface LockstepOptions {
  /**
   * RAM size in MiB for both machines.
   *
   * @default {128}
   */
  memoryMiB?: number;
  /**
   * Stop after this many steps (not a mismatch).
   *
   * @default {Infinity}
   */
  maxSteps?: number;
  /**
   * The QEMU binary.
   *
   * @default {"qemu-system-riscv64"}
   */
  qemu?: string;
  /**
   * Use ANSI colours in the report.
   *
   * @default {false}
   */
  color?: boolean;
  /** Called every 10,000 steps with the step count. */
  onProgress?: (steps: number) => void;
  /**
   * Block mode: deja runs chunks of instructions with its block compiler
   * on (and `cpu.wasm` on, where the hart has it), compared at their ends;
   * the steps that need it are single-stepped (see the module doc).
   *
   * @default {false}
   */
  blocks?: boolean;
  /**
   * Block mode: with WebAssembly (false: JavaScript blocks only, for the
   * ops the translator takes too).
   *
   * @default {true}
   */
  wasm?: boolean;
  /**
   * Block mode: the most instructions in one chunk.
   *
   * @default {64}
   */
  chunk?: number;
  /**
   * Change deja's state before the comparison after each step or chunk
   * (for tests that check that a wrong state is caught).
   */
  tamper?: (machine: VirtMachine, steps: number) => void;
}

/** The first difference found. */
export interface Mismatch {
  /** Steps done when the states differed (the faulty one included). */
  step: number;
  /** The pc of the instruction that made the difference. */
  pc: bigint;
  /** Its bits, when readable. */
  insn: number | undefined;
  /** It, disassembled. */
  text: string;
  /** The names of the differing registers (or `exit`). */
  registers: string[];
  /** deja's state after the step. */
  deja: ArchState;
  /** QEMU's state after the step. */
  qemu: ArchState;
}

/** What a lockstep run found. */
export interface LockstepResult {
  /** Instructions stepped in both. */
  steps: number;
  /** How it ended. */
  end: "exit" | "max-steps" | "mismatch";
  /** The guest's exit code when it powered off in both. */
  exitCode?: number;
  /** The first difference, for `mismatch`. */
  mismatch?: Mismatch;
  /**
   * How often each known difference was let through (see `known.ts`),
   * by rule name.
   */
  known: Map<string, number>;
  /** A human-readable account. */
  report: string;
  /** Block mode's figures. */
  blocks?: BlockFigures;
}

/**
 * Run an ELF in deja and QEMU in lockstep.
 *
 * @param elfPath the ELF (loaded as `-kernel` with `-bios none`)
 * @param options RAM size, step limit, QEMU binary, report colours, block
 *   mode
 * @returns what it found
 */
export async function lockstep(
  elfPath: string,
  options: LockstepOptions = {},
): Promise<LockstepResult> {
  const memoryMiB = options.memoryMiB ?? 128;
  const maxSteps = options.maxSteps ?? Infinity;
  const blockMode = options.blocks ?? false;
  const elf = await Deno.readFile(elfPath);
  const m = dejaMachine(elf, memoryMiB, blockMode, options.wasm ?? true);
  const cpu = m.cpu;
  // A step ends at a trap: QEMU's single step stops at the handler's
  // first instruction, so deja must too (but not within a chunk).
  let interrupted = false, trapped = false, stopOnTrap = true;
  cpu.onTrap = (_cause, interrupt) => {
    trapped = true;
    if (interrupt) interrupted = true;
    if (stopOnTrap) cpu.requestStop();
  };
  const plan = blockMode
    ? new Planner(
      dejaMachine(elf, memoryMiB, false),
      options.chunk ?? 64,
    )
    : undefined;
  const blockCount = blockMode ? blockCounter() : undefined;
  try {
    return await run();
  } finally {
    blockCount?.close();
  }

  async function run(): Promise<LockstepResult> {
    const q = await QemuTarget.start(elfPath, {
      memoryMiB,
      ...(options.qemu ? { qemu: options.qemu } : {}),
    });
    const d = newState(), r = newState(), prev = newState();
    let steps = 0;
    const known = new Map<string, number>();
    const figures: BlockFigures = {
      chunks: 0,
      chunkSteps: 0,
      singleSteps: 0,
      jsInsns: 0,
      wasmInsns: 0,
      jsBlocks: 0,
      wasmBlocks: 0,
      wasmPages: 0,
      translations: 0,
      wasmError: undefined,
    };
    const done = (
      end: LockstepResult["end"],
      report: string,
      extra: Partial<LockstepResult> = {},
    ): LockstepResult => {
      if (blockCount) {
        const st = cpu.blockStats();
        figures.jsInsns = blockCount.js();
        figures.wasmInsns = blockCount.wasm();
        figures.jsBlocks = st.js;
        figures.wasmBlocks = st.wasm;
        figures.wasmPages = st.wasmPages;
        figures.translations = st.translations;
        figures.wasmError = cpu.wasmError;
      }
      return {
        steps,
        end,
        known,
        report: blockMode ? `${report}${figuresText(figures)}` : report,
        ...(blockMode ? { blocks: figures } : {}),
        ...extra,
      };
    };
    try {
      readDejaState(cpu, d);
      for (const i of await q.readState(r)) r[i] = d[i]!;
      if (diffStates(d, r).length > 0) return await mismatch(-1n);
      for (;;) {
        if (steps >= maxSteps) {
          return done(
            "max-steps",
            `${elfPath}: ${steps} steps, no mismatch (stopped at the limit)`,
          );
        }
        if (plan) {
          const ch = plan.next(maxSteps - steps);
          if (ch !== undefined) {
            const end = await runChunk(ch);
            if (end) return end;
            continue;
          }
          // The planner's next step is one to single-step; it takes it too.
          plan.stepSpecial();
        }
        const end = await singleStep();
        if (end) return end;
      }
    } finally {
      await q.close();
    }

    /**
     * One instruction (or trap) in both, compared: the whole run in the
     * default mode, and the steps that block mode does not chunk.
     */
    async function singleStep(): Promise<LockstepResult | undefined> {
      const pc = d[PC]!;
      prev.set(d);
      const next = cpu.peekInsn();
      interrupted = false;
      trapped = false;
      cpu.run(1);
      m.clock.runExpired();
      let qs = await q.step();
      // deja takes an interrupt and runs the handler's first instruction in
      // one step; QEMU stops in between.
      if (interrupted && qs.kind === "stopped") qs = await q.step();
      steps++;
      figures.singleSteps++;
      if (steps % 10_000 === 0) options.onProgress?.(steps);
      const dExit = m.exitStatus;
      if (qs.kind === "exited" || dExit) return await exited(qs, pc);
      options.tamper?.(m, steps);
      readDejaState(cpu, d);
      // What QEMU's step can have changed: pc, x, priv and fcsr always;
      // besides, the destination of an FP write, and the CSRs after a
      // SYSTEM, FP, store or AMO instruction or a trap (and every 256
      // steps, and before any mismatch is reported, everything).
      const full = trapped || steps % 256 === 0;
      const e = effects(next);
      for (
        const i of await q.readState(
          r,
          full || e.fpRd === ALL ? "all" : e.fpRd < 0 ? [] : [e.fpRd],
          full || e.csrs,
        )
      ) r[i] = d[i]!;
      let diff = diffStates(d, r);
      if (diff.length > 0 && !full) {
        for (const i of await q.readState(r)) r[i] = d[i]!;
        diff = diffStates(d, r);
      }
      if (diff.length === 0) return undefined;
      const insn = await q.readInsn(pc);
      // QEMU's single step over a wfi that does not sleep (an interrupt is
      // pending and enabled in mie) runs the next instruction too.
      if (insn === 0x10500073 && d[PC] === pc + 4n && r[PC] !== d[PC]) {
        cpu.run(1);
        m.clock.runExpired();
        plan?.stepAgain();
        readDejaState(cpu, d);
        diff = diffStates(d, r);
        if (diff.length === 0) return undefined;
      }
      if (letThrough(diff, insn, pc)) return undefined;
      return await mismatch(pc);
    }

    /** Let known differences through (see known.ts), in both deja machines. */
    function letThrough(
      diff: number[],
      insn: number | undefined,
      pc: bigint,
    ): boolean {
      const used = explainDifferences(
        diff,
        { insn, prevPc: pc, before: prev, deja: d, qemu: r },
        cpu,
      );
      if (!used) return false;
      for (const u of used) known.set(u, (known.get(u) ?? 0) + 1);
      if (plan) { for (const i of diff) adopt(plan.cpu, i, r[i]!); }
      return true;
    }

    /** Both, or one of them, ended after the step at `pc`. */
    async function exited(
      qs: QemuStep,
      pc: bigint,
    ): Promise<LockstepResult> {
      const dExit = m.exitStatus;
      const dCode = dExit && dExit.kind !== "trap-loop" ? dExit.code : -1;
      if (qs.kind === "exited" && dExit && dCode === qs.code) {
        return done(
          "exit",
          `${elfPath}: ${steps} steps, no mismatch; both exited with ${qs.code}`,
          { exitCode: qs.code },
        );
      }
      const insn = pc < 0n ? undefined : await q.readInsn(pc).catch(() => {
        return undefined;
      });
      const what = qs.kind === "exited"
        ? `QEMU exited with ${qs.code}, deja ${
          dExit ? `exited with ${dCode}` : "did not"
        }`
        : `deja exited with ${dCode}, QEMU did not`;
      return done(
        "mismatch",
        `${elfPath}: MISMATCH at step ${steps}: ${what}\n` +
          `  instruction at 0x${pc.toString(16)}: ${describe(insn, pc)}`,
        {
          mismatch: {
            step: steps,
            pc,
            insn,
            text: describe(insn, pc),
            registers: ["exit"],
            deja: d,
            qemu: r,
          },
        },
      );
    }

    /**
     * Run a chunk of the planned path: deja with `cpu.run` (blocks on),
     * QEMU to a breakpoint at the chunk's end, then compare everything.
     */
    async function runChunk(ch: Chunk): Promise<LockstepResult | undefined> {
      const startPc = d[PC]!;
      const icount0 = cpu.icount;
      prev.set(d);
      stopOnTrap = false;
      trapped = false;
      try {
        runInsns(m, ch.n);
      } finally {
        stopOnTrap = true;
      }
      const qs = await q.runTo(ch.endPc, ch.occ, ch.startsThere);
      steps += ch.n;
      figures.chunks++;
      figures.chunkSteps += ch.n;
      if (
        Math.floor(steps / 10_000) > Math.floor((steps - ch.n) / 10_000)
      ) options.onProgress?.(steps - steps % 10_000);
      if (qs.kind === "exited" || m.exitStatus) {
        return await exited(qs, startPc);
      }
      options.tamper?.(m, steps);
      readDejaState(cpu, d);
      for (const i of await q.readState(r)) r[i] = d[i]!;
      const diff = diffStates(d, r);
      if (diff.length === 0 && cpu.icount === icount0 + ch.n) return undefined;
      // Differences that do not depend on the instruction (FS Dirty vs
      // Clean) may pass at a chunk's end too.
      if (
        diff.length > 0 && cpu.icount === icount0 + ch.n &&
        letThrough(diff, undefined, startPc)
      ) return undefined;
      return await mismatch(startPc, ch.n, cpu.icount - icount0);
    }

    async function mismatch(
      pc: bigint,
      chunk = 0,
      ran = chunk,
    ): Promise<LockstepResult> {
      const diff = diffStates(d, r);
      const names = diff.map((i) => REG_NAMES[i]!);
      const insn = pc < 0n || chunk > 0 ? undefined : await q.readInsn(pc);
      const text = pc < 0n
        ? "(before the first instruction)"
        : chunk > 0
        ? `(a chunk of ${chunk} instructions from 0x${pc.toString(16)})`
        : describe(insn, pc);
      let head = pc < 0n
        ? `${elfPath}: MISMATCH before the first step`
        : chunk > 0
        ? `${elfPath}: MISMATCH at step ${steps}, at the end of a chunk of ${chunk} instructions (steps ${
          steps - chunk + 1
        }-${steps}) that began at 0x${pc.toString(16)}`
        : `${elfPath}: MISMATCH at step ${steps}, after the instruction at 0x${
          pc.toString(16)
        }:\n  ${text}`;
      if (ran !== chunk) {
        head += `\n  deja completed ${ran} of the chunk's instructions`;
      }
      if (chunk > 0) head += interpreterVerdict();
      return done(
        "mismatch",
        `${head}\n  differing: ${names.join(", ")}\n${
          formatStates(d, r, options.color ?? false)
        }`,
        {
          mismatch: {
            step: steps,
            pc,
            insn,
            text,
            registers: names,
            deja: d.slice(),
            qemu: r.slice(),
          },
        },
      );
    }

    /**
     * After a chunk mismatch: whether deja without blocks, run afresh to the
     * same instruction count, agrees with QEMU there (then the compiled code
     * is at fault).
     */
    function interpreterVerdict(): string {
      if (known.size > 0) {
        return "\n  (known differences were let through before: deja without blocks was not rerun to compare)";
      }
      const fresh = dejaMachine(elf, memoryMiB, false);
      fresh.cpu.onTrap = undefined;
      runInsns(fresh, cpu.icount);
      const s = readDejaState(fresh.cpu, newState());
      const dd = diffStates(s, r).map((i) => REG_NAMES[i]!);
      const withBlocks = diffStates(s, d).map((i) => REG_NAMES[i]!);
      return dd.length === 0
        ? `\n  deja with blocks off, rerun to the same instruction count, agrees with QEMU: the compiled code is wrong (it differs from it in ${
          withBlocks.join(", ")
        })`
        : `\n  deja with blocks off, rerun to the same instruction count, differs from QEMU too, in ${
          dd.join(", ")
        }`;
    }
  }
}

/**
 * Figures of a block-mode run. The block counts are the hart's
 * `blockStats()` at the end of the run; the instruction counts are counted
 * as the blocks run (see `blockCounter`).
 */
export interface BlockFigures {
  /** Chunks run with blocks on and compared at their ends. */
  chunks: number;
  /** Instructions in those chunks. */
  chunkSteps: number;
  /** Steps single-stepped (and compared after each). */
  singleSteps: number;
  /** Instructions that deja completed inside JavaScript blocks. */
  jsInsns: number;
  /** Instructions that deja completed inside WebAssembly blocks. */
  wasmInsns: number;
  /** Compiled blocks held in JavaScript at the end. */
  jsBlocks: number;
  /** Compiled blocks held in WebAssembly at the end. */
  wasmBlocks: number;
  /** Pages with a WebAssembly translation at the end. */
  wasmPages: number;
  /** WebAssembly page translations made during the run. */
  translations: number;
  /**
   * Why the hart turned its WebAssembly translator off, if it did (a deja
   * bug: `cpu.wasmError`).
   */
  wasmError: string | undefined;
}

function figuresText(f: BlockFigures): string {
  return `\n  blocks mode: ${f.chunks} chunks (${f.chunkSteps} instructions), ${f.singleSteps} single steps; inside compiled blocks: ${
    f.jsInsns + f.wasmInsns
  } instructions (${f.wasmInsns} in WebAssembly, ${f.jsInsns} in JavaScript); at the end ${f.wasmBlocks} WebAssembly blocks on ${f.wasmPages} pages (${f.translations} translations), ${f.jsBlocks} JavaScript blocks${
    f.wasmError === undefined ? "" : `\n  WASM ERROR: ${f.wasmError}`
  }`;
}

/** A deja machine as lockstep runs it, with blocks on or off. */
function dejaMachine(
  elf: Uint8Array,
  memoryMiB: number,
  blocks: boolean,
  wasm = true,
): VirtMachine {
  const m = new VirtMachine({
    bios: "none",
    kernel: elf,
    memoryBytes: memoryMiB * 1024 * 1024,
    icountShift: 0,
    hostClock: () => 0n,
  });
  const cpu = m.cpu as { blocks: boolean; wasm?: boolean };
  cpu.blocks = blocks;
  if ("wasm" in cpu) cpu.wasm = blocks && wasm;
  return m;
}

/**
 * Run `n` instructions with `cpu.run`, in slices cut at timer deadlines as
 * `VirtMachine.run` does (without its HTIF polling), stopping early at an
 * exit or a stop.
 */
function runInsns(m: VirtMachine, n: number): void {
  const cpu = m.cpu, clock = m.clock;
  const end = cpu.icount + n;
  while (cpu.icount < end && !m.exitStatus) {
    const before = cpu.icount;
    const reason = cpu.run(Math.min(end - before, clock.insnsToDeadline()));
    clock.runExpired();
    if (reason !== StopReason.Budget || cpu.icount === before) break;
  }
}

const ALL = 99;

/**
 * What an instruction can change besides the pc, x registers, the privilege
 * level and fcsr: the FP register it writes (-1 for none, ALL when unknown)
 * and whether CSRs may change.
 */
function effects(insn: number): { fpRd: number; csrs: boolean } {
  if (insn === 0) return { fpRd: ALL, csrs: true };
  if ((insn & 3) !== 3) {
    const q = insn & 3, f3 = (insn >>> 13) & 7;
    if (q === 0 && f3 === 1) {
      return { fpRd: 8 + ((insn >>> 2) & 7), csrs: true };
    }
    if (q === 2 && f3 === 1) return { fpRd: (insn >>> 7) & 31, csrs: true };
    return { fpRd: -1, csrs: f3 >= 5 && q !== 1 };
  }
  const rd = (insn >>> 7) & 31;
  switch (insn & 0x7f) {
    case 0x07:
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
      return { fpRd: rd, csrs: true };
    case 0x53: {
      const f5 = insn >>> 27;
      const toInt = f5 === 0x14 || f5 === 0x18 || f5 === 0x1c;
      return { fpRd: toInt ? -1 : rd, csrs: true };
    }
    case 0x23:
    case 0x27:
    case 0x2f:
    case 0x73:
    case 0x0f:
      return { fpRd: -1, csrs: true };
    default:
      return { fpRd: -1, csrs: false };
  }
}

function describe(insn: number | undefined, pc: bigint): string {
  if (insn === undefined) return "(instruction not readable)";
  const bits = (insn & 3) === 3
    ? insn.toString(16).padStart(8, "0")
    : (insn & 0xffff).toString(16).padStart(4, "0");
  return `${bits}  ${disassemble(insn, { pc })}`;
}

/** A chunk of the planned path, to run in both without single steps. */
interface Chunk {
  /** Instructions in it. */
  n: number;
  /** The pc where it ends (the next instruction's). */
  endPc: bigint;
  /**
   * Its positions (1..n, ascending; the last is n) where the path arrives
   * at `endPc`: QEMU stops at each in turn.
   */
  occ: number[];
  /** Whether it starts at `endPc` too. */
  startsThere: boolean;
}

/** One instruction of the planned path. */
interface Arrival {
  /** Where it starts. */
  pc: bigint;
  /** Whether it transferred control (a compiled block may end after it). */
  ctl: boolean;
  /** Whether lockstep must single-step it. */
  special: boolean;
  /** Whether the planner has run it already. */
  done: boolean;
}

/**
 * The planner of block mode: a deja machine with blocks off that steps
 * ahead of the compared one, one instruction at a time, recording the path
 * and stopping before (or, for a trap, an interrupt or an exit, after) a
 * step that lockstep must single-step.
 */
class Planner {
  readonly m: VirtMachine;
  readonly cpu: Cpu;
  readonly #max: number;
  #queue: Arrival[] = [];
  #head = 0;
  #trapped = false;
  readonly #ramLo = 0x8000_0000n;
  readonly #ramHi: bigint;

  constructor(m: VirtMachine, max: number) {
    this.m = m;
    this.cpu = m.cpu;
    this.#max = max;
    this.#ramHi = this.#ramLo + BigInt(m.bus.ram8.length);
    this.cpu.onTrap = () => {
      this.#trapped = true;
      this.cpu.requestStop();
    };
  }

  /** One step as lockstep's single step takes it. */
  #step(): boolean {
    const cpu = this.cpu;
    const icount = cpu.icount;
    this.#trapped = false;
    cpu.run(1);
    this.m.clock.runExpired();
    return !this.#trapped && !this.m.exitStatus && cpu.icount === icount + 1;
  }

  /** Whether an access of up to `span` bytes at `addr` stays in RAM. */
  #inRam(addr: bigint, span: bigint): boolean {
    return addr >= this.#ramLo && addr + span <= this.#ramHi;
  }

  /**
   * Whether lockstep must single-step `insn` (at the planner's pc): SYSTEM
   * instructions but accesses to `fflags`, `frm` and `fcsr` (the known
   * differences are CSR and trap matters), and loads, stores and atomics
   * that may reach past RAM (devices, `mtime`, power-off).
   */
  #mustStep(insn: number): boolean {
    if (insn === 0) return true;
    const x = (i: number) => this.cpu.getX(i);
    if ((insn & 3) !== 3) {
      const q = insn & 3, f3 = (insn >>> 13) & 7;
      if (insn === 0x9002) return true; // c.ebreak
      const mem = f3 !== 0 && f3 !== 4;
      if (q === 0 && mem) return !this.#inRam(x(8 + ((insn >>> 7) & 7)), 512n);
      if (q === 2 && mem) return !this.#inRam(x(2), 512n);
      return false;
    }
    const rs1 = (insn >>> 15) & 31;
    switch (insn & 0x7f) {
      case 0x73: {
        const f3 = (insn >>> 12) & 7, csr = insn >>> 20;
        return f3 === 0 || f3 === 4 || csr < 1 || csr > 3;
      }
      case 0x03:
      case 0x07:
        return !this.#inRam(x(rs1) + BigInt(insn >> 20), 8n);
      case 0x23:
      case 0x27:
        return !this.#inRam(
          x(rs1) + BigInt(((insn >> 25) << 5) | ((insn >>> 7) & 31)),
          8n,
        );
      case 0x2f:
        return !this.#inRam(x(rs1), 8n);
      default:
        return false;
    }
  }

  /** Record the path ahead, up to the window or a step to single-step. */
  #fill(): void {
    const q = this.#queue, cpu = this.cpu;
    if (this.#head > 65536) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
      return this.#fill();
    }
    while (q.length - this.#head < this.#max) {
      const last = q.length > this.#head ? q[q.length - 1] : undefined;
      if ((last && last.special) || this.m.exitStatus) return;
      const pc = cpu.getPc();
      const insn = cpu.peekInsn();
      if (this.#mustStep(insn)) {
        q.push({ pc, ctl: true, special: true, done: false });
        return;
      }
      if (!this.#step()) {
        q.push({ pc, ctl: true, special: true, done: true });
        return;
      }
      const len = (insn & 3) === 3 ? 4n : 2n;
      q.push({ pc, ctl: cpu.getPc() !== pc + len, special: false, done: true });
    }
  }

  /**
   * The next chunk, at most `limit` instructions, or undefined when the
   * next step must be single-stepped (see {@linkcode Planner.stepSpecial}).
   * Where the path ahead is free of such steps, the chunk ends after a
   * branch or jump, chosen for the most instructions per stop of QEMU's
   * breakpoint (a loop's head is reached once per iteration).
   */
  next(limit: number): Chunk | undefined {
    this.#fill();
    const q = this.#queue, h = this.#head;
    let kmax = 0;
    while (h + kmax < q.length && !q[h + kmax]!.special) kmax++;
    let forced = h + kmax < q.length;
    if (kmax > limit) {
      kmax = limit;
      forced = true;
    }
    if (kmax === 0) return undefined;
    const pcAt = (j: number) =>
      h + j < q.length ? q[h + j]!.pc : this.cpu.getPc();
    const count = new Map<bigint, number>();
    let k = kmax, best = 0;
    for (let j = 1; j <= kmax; j++) {
      const pc = pcAt(j);
      const c = (count.get(pc) ?? 0) + 1;
      count.set(pc, c);
      if (!forced && q[h + j - 1]!.ctl && j / (1 + c) >= best) {
        best = j / (1 + c);
        k = j;
      }
    }
    const endPc = pcAt(k);
    const occ: number[] = [];
    for (let j = 1; j <= k; j++) if (pcAt(j) === endPc) occ.push(j);
    this.#head += k;
    return { n: k, endPc, occ, startsThere: pcAt(0) === endPc };
  }

  /** Take the step to single-step (unless taken already). */
  stepSpecial(): void {
    const a = this.#queue[this.#head];
    if (a === undefined) return;
    this.#head++;
    if (!a.done) this.#step();
  }

  /** One more step (QEMU's step over a wfi that does not sleep). */
  stepAgain(): void {
    this.#step();
  }
}

/**
 * A counter of the instructions that a hart completes inside compiled
 * blocks, in JavaScript and in WebAssembly. The hart does not count them,
 * so the counter wraps the functions that its block compilers make
 * (JavaScript blocks through `Function`, WebAssembly pages through
 * `WebAssembly.Instance`; both return `done * 8192 + offset`, see
 * core/_block.ts and core/_wasm.ts) from now until
 * {@linkcode BlockCounter.close}. A block compiled before the counter was
 * made is not counted: lockstep makes it before the hart runs.
 */
interface BlockCounter {
  /** Instructions completed inside JavaScript blocks so far. */
  js(): number;
  /** Instructions completed inside WebAssembly blocks so far. */
  wasm(): number;
  /** Stop wrapping. */
  close(): void;
}

function blockCounter(): BlockCounter {
  let js = 0, wasm = 0;
  type Run = (...a: unknown[]) => number;
  const g = globalThis as { Function: FunctionConstructor };
  const origFunction = g.Function;
  g.Function = new Proxy(origFunction, {
    construct(target, args, newTarget) {
      const make = Reflect.construct(target, args, newTarget) as (
        h: unknown,
      ) => unknown;
      const src = String(args[args.length - 1] ?? "");
      if (!src.includes("return function(x,vbLo,vbHi,")) return make;
      return (h: unknown) => {
        const fn = make(h) as Run;
        return (...a: unknown[]) => {
          const r = fn(...a);
          js += r >>> 13;
          return r;
        };
      };
    },
  });
  const w = WebAssembly as { Instance: typeof WebAssembly.Instance };
  const origInstance = w.Instance;
  w.Instance = new Proxy(origInstance, {
    construct(target, args, newTarget) {
      const inst = Reflect.construct(
        target,
        args,
        newTarget,
      ) as WebAssembly.Instance;
      const run = inst.exports.run;
      if (typeof run !== "function") return inst;
      const fn = run as Run;
      const counted = (...a: unknown[]) => {
        const r = fn(...a);
        wasm += r >>> 13;
        return r;
      };
      return { exports: { ...inst.exports, run: counted } };
    },
  });
  return {
    js: () => js,
    wasm: () => wasm,
    close: () => {
      g.Function = origFunction;
      w.Instance = origInstance;
    },
  };
}
