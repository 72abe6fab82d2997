/**
 * Run one ELF in deja and in QEMU side by side, one instruction at a time,
 * and stop at the first step after which their states differ.
 *
 * deja runs in-process: a {@linkcode VirtMachine} with `-bios none` and
 * icount shift 0, stepped with `cpu.run(1)` (a budget of one instruction,
 * which never enters a compiled block) followed by the timers, as
 * `VirtMachine.run` does. HTIF is not polled: QEMU's `virt` board has no
 * HTIF, so both machines see a host that never answers.
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
import { explainDifferences } from "./known.ts";
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
   * Change deja's state before the comparison after each step (for tests
   * that check that a wrong state is caught).
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
}

/**
 * Run an ELF in deja and QEMU in lockstep.
 *
 * @param elfPath the ELF (loaded as `-kernel` with `-bios none`)
 * @param options RAM size, step limit, QEMU binary, report colours
 * @returns what it found
 */
export async function lockstep(
  elfPath: string,
  options: LockstepOptions = {},
): Promise<LockstepResult> {
  const memoryMiB = options.memoryMiB ?? 128;
  const maxSteps = options.maxSteps ?? Infinity;
  const elf = await Deno.readFile(elfPath);
  const m = new VirtMachine({
    bios: "none",
    kernel: elf,
    memoryBytes: memoryMiB * 1024 * 1024,
    icountShift: 0,
    hostClock: () => 0n,
  });
  const cpu = m.cpu;
  // A step ends at a trap: QEMU's single step stops at the handler's
  // first instruction, so deja must too.
  let interrupted = false, trapped = false;
  cpu.onTrap = (_cause, interrupt) => {
    trapped = true;
    if (interrupt) interrupted = true;
    cpu.requestStop();
  };
  const q = await QemuTarget.start(elfPath, {
    memoryMiB,
    ...(options.qemu ? { qemu: options.qemu } : {}),
  });
  const d = newState(), r = newState(), prev = newState();
  let steps = 0;
  const known = new Map<string, number>();
  const done = (
    end: LockstepResult["end"],
    report: string,
    extra: Partial<LockstepResult> = {},
  ): LockstepResult => ({
    steps,
    end,
    known,
    report,
    ...extra,
  });
  try {
    readDejaState(cpu, d);
    for (const i of await q.readState(r)) r[i] = d[i]!;
    let diff = diffStates(d, r);
    if (diff.length > 0) {
      return await mismatch(-1n);
    }
    for (;;) {
      if (steps >= maxSteps) {
        return done(
          "max-steps",
          `${elfPath}: ${steps} steps, no mismatch (stopped at the limit)`,
        );
      }
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
      if (steps % 10_000 === 0) options.onProgress?.(steps);
      const dExit = m.exitStatus;
      if (qs.kind === "exited" || dExit) {
        const dCode = dExit && dExit.kind !== "trap-loop" ? dExit.code : -1;
        if (qs.kind === "exited" && dExit && dCode === qs.code) {
          return done(
            "exit",
            `${elfPath}: ${steps} steps, no mismatch; both exited with ${qs.code}`,
            { exitCode: qs.code },
          );
        }
        const insn = await q.readInsn(pc).catch(() => undefined);
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
      diff = diffStates(d, r);
      if (diff.length > 0 && !full) {
        for (const i of await q.readState(r)) r[i] = d[i]!;
        diff = diffStates(d, r);
      }
      if (diff.length === 0) continue;
      const insn = await q.readInsn(pc);
      // QEMU's single step over a wfi that does not sleep (an interrupt is
      // pending and enabled in mie) runs the next instruction too.
      if (insn === 0x10500073 && d[PC] === pc + 4n && r[PC] !== d[PC]) {
        cpu.run(1);
        m.clock.runExpired();
        readDejaState(cpu, d);
        diff = diffStates(d, r);
        if (diff.length === 0) continue;
      }
      const used = explainDifferences(
        diff,
        { insn, prevPc: pc, before: prev, deja: d, qemu: r },
        cpu,
      );
      if (used) {
        for (const u of used) known.set(u, (known.get(u) ?? 0) + 1);
        continue;
      }
      return await mismatch(pc);
    }
  } finally {
    await q.close();
  }

  async function mismatch(pc: bigint): Promise<LockstepResult> {
    const diff = diffStates(d, r);
    const names = diff.map((i) => REG_NAMES[i]!);
    const insn = pc < 0n ? undefined : await q.readInsn(pc);
    const text = pc < 0n
      ? "(before the first instruction)"
      : describe(insn, pc);
    const head = pc < 0n
      ? `${elfPath}: MISMATCH before the first step`
      : `${elfPath}: MISMATCH at step ${steps}, after the instruction at 0x${
        pc.toString(16)
      }:\n  ${text}`;
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
