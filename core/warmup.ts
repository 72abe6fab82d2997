/**
 * Warm-up of the interpreter loop: once per process, a private hart runs one
 * of every instruction the ISA table defines (its straight-line kinds, several
 * operand patterns, faults included), so that the generated loop of
 * core/interp.ts has type feedback for every `case` before V8 optimizes it.
 *
 * Without it, a guest that keeps reaching ops the loop has not run yet (Linux
 * does, for its whole boot) deoptimizes the loop at each one ("insufficient
 * type feedback", or "lost precision" where only small values had come), and
 * every re-optimization of that one big function costs 50-300 ms of compiler
 * time while the guest runs unoptimized: Linux to its prompt took 3.3 s of
 * CPU in a fresh process (about 40 deoptimizations of the loop), 0.6 s when
 * booted a second time in the same process; with the warm-up, 2.3 s (12 to
 * 16; the rest are hidden-class and value-range changes). The warm-up
 * changes nothing a guest can see: it runs on its own bus, clock and hart,
 * in tens of milliseconds.
 *
 * @module
 */

import { Bus } from "./bus.ts";
import { VirtualClock } from "./clock.ts";
import { Cpu, StopReason } from "./cpu.ts";
import { CSR64 } from "./hart_state.ts";
import { EXTENSIONS, OP, OP_DEFS } from "./isa/mod.ts";

let warm = false;
/** Whether the counting loop (`Cpu.runCounted`) ran the program too. */
let warmCounted = false;

const BASE = 0x8000_0000;
const DATA = 0x1_0000; // offset of the data area the accesses use
const MMIO = 0x1000_0000; // the warm-up's device
// Trap handler at BASE: skip the instruction (mepc += 4) and return.
// csrr t3, mepc ; addi t3, t3, 4 ; csrw mepc, t3 ; mret
const HANDLER = [0x34102e73, 0x004e0e13, 0x341e1073, 0x30200073];
const LOOP = 0x0000006f; // j .
// auipc s9, 0 ; jalr s8, 8(s9) ; jal s8, .+4
const JUMPS = [0x00000c97, 0x008c8c67, 0x00400c6f];
const ECALLS = 0x00000073; // ecall; + 1 << 20: ebreak (the handler skips them)
// Operand fields put into the bits an instruction's mask leaves free: rd x5,
// rs1 x6 (the data pointer), rs2 x7; then rs2 x0 (zero immediates: aligned
// loads); then rd x0 (zero store offsets); then large shift amounts and a
// reserved rounding mode (the FP unit's illegal-instruction path); then
// negative immediates (rd and rs2 x24); then rs1 x7, whose accesses fault.
// Every arithmetic site of the loop must see values beyond the small-integer
// range too, or V8 speculates that they stay small and deoptimizes the loop
// when a kernel address or an offset of -8 comes.
const FIELDS = [
  (5 << 7) | (6 << 15) | (7 << 20),
  (5 << 7) | (6 << 15),
  (6 << 15) | (7 << 20),
  (5 << 7) | (5 << 12) | (6 << 15) | (7 << 20) | (1 << 25),
  (24 << 7) | (6 << 15) | (0xff8 << 20), // offset -8 (loads and stores)
  (24 << 7) | (7 << 15) | (6 << 20), // rs1 x7: a large value, not a pointer
];
// CSRs whose access succeeds: mscratch, sscratch, fcsr; then cycle, which a
// write makes illegal.
const CSRS = [0x340, 0x140, 0x003, 0xc00];

/** A B-type branch `match` with rs1 `a`, rs2 `b` and byte offset `off`. */
function branch(match: number, a: number, b: number, off: number): number {
  return (match | (((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) |
    (b << 20) | (a << 15) | (((off >> 1) & 0xf) << 8) |
    (((off >> 11) & 1) << 7)) >>> 0;
}

/** `jal rd, off`. */
function jal(rd: number, off: number): number {
  return ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) |
    (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12) | (rd << 7) |
    0x6f) >>> 0;
}

/**
 * The warm-up program, as 32-bit words from RAM's base: a trap handler that
 * skips the trapping instruction, every instruction of the ISA table that
 * does not leave the straight line (with several operand patterns; a
 * compressed one is followed by `c.nop`), every conditional branch to the
 * next instruction in a 40-times loop and to a pad on the next page, `jal`,
 * `jalr`, `ecall`, `ebreak`, then `j .`; the pads follow.
 *
 * @returns the program
 * @example
 * ```ts
 * import { warmUpProgram } from "./warmup.ts";
 * console.log(warmUpProgram().length > 1000); // true
 * ```
 */
export function warmUpProgram(): Uint32Array {
  const words: number[] = [...HANDLER];
  // Jumps that leave the page: [index of the jump, its kind].
  const far: [number, number][] = [];
  // Jumps to the next instruction, run 40 times over in a loop (x26 counts)
  // so that their targets get hot enough to compile blocks.
  const loop: number[] = [];
  for (const ext of EXTENSIONS) {
    for (const d of ext.insns) {
      if (OP_DEFS[OP[d.op]!]?.cond !== undefined) {
        // A conditional branch to the next instruction, taken or not (in
        // the loop below); then the same to the next page (a pad there
        // jumps back).
        for (const [a, b] of [[6, 7], [7, 6], [6, 6], [7, 24]]) {
          loop.push(branch(d.match, a!, b!, 4));
        }
        for (const [a, b] of [[6, 7], [7, 6], [6, 6]]) {
          far.push([words.length, d.match | (a! << 15) | (b! << 20)]);
          words.push(0);
        }
        continue;
      }
      const csr = d.op.startsWith("CSR"); // a CSR write may end the slice
      if (d.control && !csr) continue;
      for (const f of FIELDS) words.push((d.match | (f & ~d.mask)) >>> 0);
      if (csr) {
        for (const c of CSRS) {
          words.push(
            (d.match | (((5 << 7) | (6 << 15)) & ~d.mask) | (c << 20)) >>> 0,
          );
        }
      }
    }
    // A compressed instruction, then c.nop: a trap skips both.
    for (const c of ext.cinsns ?? []) {
      if (c.control) continue;
      words.push(((c.match & 0xffff) | (0x0001 << 16)) >>> 0);
    }
  }
  loop.push(...JUMPS);
  words.push((40 << 20) | (26 << 7) | 0x13); // li s10, 40
  words.push(...loop);
  words.push((0xfff << 20) | (26 << 15) | (26 << 7) | 0x13); // addi s10, s10, -1
  words.push(branch(0x1063, 26, 0, -4 * (loop.length + 1))); // bnez s10
  far.push([words.length, -1]); // jal s8 to the next page
  words.push(0);
  words.push(ECALLS, ECALLS + 0x100000, LOOP);
  // The landing pads, from the next page on: each jumps back to the
  // instruction after its jump.
  const pads = Math.ceil(words.length / 1024) * 1024;
  while (words.length < pads) words.push(LOOP);
  for (const [at, kind] of far) {
    const pad = words.length;
    const off = (pad - at) * 4;
    words[at] = kind === -1 ? jal(24, off) : branch(kind, 0, 0, off);
    words.push(jal(0, (at + 1 - pad) * 4));
  }
  return new Uint32Array(words);
}

/**
 * Run the warm-up once per process (later calls return at once): about
 * 10,000 instructions on a private hart, tens of milliseconds. `VirtMachine`
 * calls it once a machine has run a million instructions (short runs pay
 * nothing; the loop's next re-optimization then has every case).
 *
 * @param counted warm the counting loop (`Cpu.runCounted`) instead, once
 *   per process too: the counting path of instrumentation does, on first use
 *
 * @example
 * ```ts
 * import { warmUpInterpreter } from "./warmup.ts";
 * warmUpInterpreter();
 * warmUpInterpreter(); // already done: returns at once
 * ```
 */
export function warmUpInterpreter(counted = false): void {
  if (counted ? warmCounted : warm) return;
  if (counted) warmCounted = true;
  else warm = true;
  const code = warmUpProgram();
  const end = BASE + (code.indexOf(LOOP) * 4);
  const bus = new Bus(DATA + 0x1_0000);
  // Time stands still: no timers are armed here. A time source as the
  // board's (the same kind of object in the same field: one shape of hart
  // for V8, not two).
  const cpu = new Cpu({
    bus,
    clock: new VirtualClock(() => 0),
    time: { readMtime: () => 0, mtimeToNs: (ticks: number) => ticks * 100 },
  });
  // A device: its loads end the slice (as one that raises a line does), and
  // every store to it does.
  bus.register({
    name: "warm-up",
    base: MMIO,
    size: 0x1000,
    accessSizes: [1, 2, 4, 8],
    read: (offset) => {
      cpu.endSlice();
      return offset * 0x01010101;
    },
    write: () => {},
  });
  bus.load(BASE, new Uint8Array(code.buffer));
  // The data area: large values of both signs (non-small integers).
  const data = new Uint32Array(0x1_0000 / 4);
  for (let i = 0; i < data.length; i++) {
    data[i] = (Math.imul(i + 1, 0x9e3779b1) ^ (i << 28)) >>> 0;
  }
  bus.load(BASE + DATA, new Uint8Array(data.buffer));
  // Register values (shift amounts of 32 and more, then less), and where
  // the accesses go: RAM, the device, and the code's own last page (stores
  // that must drop decoded instructions; past the code, which they spare).
  const passes: [bigint, number][] = [
    [0xfedc_ba98_8765_4321n, BASE + DATA + 0x800],
    [0x0000_0001_7fff_ff10n, BASE + DATA + 0x800],
    [0x7fff_fff0_8000_0000n, BASE + DATA + 0x800],
    [0xfedc_ba98_8765_4321n, MMIO + 0x800],
    [0x0000_0001_7fff_ff10n, end + 8],
  ];
  for (let k = 0; k < 2 * passes.length; k++) {
    const [v, ptr] = passes[k % passes.length]!;
    cpu.reset(BASE + HANDLER.length * 4);
    cpu.csr64[CSR64.mtvec] = BASE | 0;
    cpu.csr64[CSR64.mtvec + 1] = 0;
    cpu.mstatus = (3 << 13) | (3 << 11); // FS dirty, MPP = M
    for (let r = 1; r < 32; r++) cpu.setX(r, v + BigInt(r));
    for (const r of [2, 6, 8]) cpu.setX(r, ptr);
    for (let r = 0; r < 32; r++) {
      // Doubles (pi) and NaN-boxed singles.
      cpu.f[2 * r] = Number((v * BigInt(r + 1)) & 0xffff_ffffn) | 0;
      cpu.f[2 * r + 1] = r & 1 ? 0x4009_21fb : -1;
    }
    for (let n = 0; n < 256 && cpu.getPc() !== BigInt(end); n++) {
      const r = counted
        ? cpu.runCounted(4 * code.length)
        : cpu.run(4 * code.length);
      if (r === StopReason.Idle) cpu.waiting = false;
    }
  }
}
