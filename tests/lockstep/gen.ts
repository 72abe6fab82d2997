/**
 * The random program generator of the lockstep tester: from a seed, an
 * RV64GC assembly program (integer, M, A, C, F and D instructions, FP-heavy)
 * whose operands come from a table of special values, and which runs
 * straight through without traps, then powers off through sifive_test.
 *
 * Special values: integers 0, 1, -1, the 32- and 64-bit minimum and
 * maximum; doubles and singles ±0, ±inf, quiet and signalling NaNs (with
 * payloads and either sign), the smallest and largest subnormals and
 * normals, ±1, values near the integer conversion limits; singles both
 * properly NaN-boxed and not (so that they read as the canonical NaN); and
 * random bit patterns. Every static rounding mode (RNE, RTZ, RDN, RUP, RMM)
 * appears, and the dynamic mode with `frm` set by `fsrmi` and `fscsr`.
 *
 * Register use: `sp` (x2), `s0` (x8) and `s1` (x9) hold the scratch and
 * value-table addresses and are never written; `t6` (x31) is the address
 * register for atomics. Every other register is fair game.
 *
 * @module
 */

import { F_NAMES, X_NAMES } from "../../core/disasm.ts";

/** A seeded generator: xoshiro128** seeded through splitmix32. */
class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    // splitmix32 to fill the state
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() | 1;
  }
  /** A uniform 32-bit unsigned integer (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const INT_SPECIALS: readonly bigint[] = [
  0n,
  1n,
  2n,
  0xffffffffffffffffn,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0x000000007fffffffn,
  0xffffffff80000000n,
  0x0000000080000000n,
  0x00000000ffffffffn,
  0xfffffffffffffffen,
  31n,
  32n,
  63n,
  64n,
];

const DOUBLE_SPECIALS: readonly bigint[] = [
  0x0000000000000000n, // +0
  0x8000000000000000n, // -0
  0x7ff0000000000000n, // +inf
  0xfff0000000000000n, // -inf
  0x7ff8000000000000n, // canonical qNaN
  0xfff8000000000123n, // -qNaN with payload
  0x7ff0000000000001n, // sNaN
  0xfff4000000000000n, // -sNaN
  0x0000000000000001n, // min subnormal
  0x800fffffffffffffn, // -max subnormal
  0x0010000000000000n, // min normal
  0x7fefffffffffffffn, // max normal
  0xffefffffffffffffn, // -max normal
  0x3ff0000000000000n, // 1
  0xbff0000000000000n, // -1
  0x3fe0000000000000n, // 0.5
  0x3ff8000000000000n, // 1.5
  0xc004000000000000n, // -2.5
  0x41dfffffffc00000n, // 2^31 - 1
  0x41e0000000000000n, // 2^31
  0xc1e0000000000000n, // -2^31
  0x41f0000000000000n, // 2^32
  0x43dfffffffffffffn, // just below 2^63
  0x43e0000000000000n, // 2^63
  0xc3e0000000000000n, // -2^63
  0x43f0000000000000n, // 2^64
  0x3ca0000000000000n, // 2^-53
  0x3ff0000000000001n, // 1 + ulp
];

const SINGLE_SPECIALS: readonly number[] = [
  0x00000000,
  0x80000000,
  0x7f800000,
  0xff800000,
  0x7fc00000, // canonical qNaN
  0xffc00123,
  0x7f800001, // sNaN
  0xffa00000, // -sNaN
  0x00000001,
  0x807fffff,
  0x00800000,
  0x7f7fffff,
  0xff7fffff,
  0x3f800000,
  0xbf800000,
  0x3f000000,
  0x3fc00000,
  0xc0200000,
  0x4f000000, // 2^31
  0xcf000000, // -2^31
  0x4f800000, // 2^32
  0x5f000000, // 2^63
  0xdf000000, // -2^63
  0x5f800000, // 2^64
  0x33800000, // 2^-24
  0x3f800001,
];

/** The value table: raw 64-bit patterns loaded with `ld`/`fld`. */
function valueTable(rng: Rng): bigint[] {
  const t: bigint[] = [...INT_SPECIALS, ...DOUBLE_SPECIALS];
  for (const s of SINGLE_SPECIALS) t.push(0xffffffff00000000n | BigInt(s));
  // Singles that are not properly NaN-boxed.
  t.push(0x000000003f800000n, 0x7fffffff40000000n, 0xfffffffe7f800000n);
  for (let i = 0; i < 24; i++) t.push(rng.u64());
  // Random singles, boxed.
  for (let i = 0; i < 8; i++) t.push(0xffffffff00000000n | BigInt(rng.u32()));
  return t;
}

const STATIC_RM = ["rne", "rtz", "rdn", "rup", "rmm"] as const;

/** Options for {@linkcode generateProgram}. */
export interface GenerateOptions {
  /** The seed: the same seed gives the same program. */
  seed: number;
  /** About how many instructions to generate. */
  count: number;
  /**
   * Add counted loops whose bodies (integer ALU, M, loads and stores,
   * forward branches, calls of a leaf function) run 33 to 120 times, or
   * half the time 120 to 319 times, so that deja compiles them into blocks
   * (its heat threshold is 32 arrivals) and most of them again into
   * WebAssembly (hot once more): most of the instructions that run are
   * then inside loops. The program of a seed differs with and without.
   *
   * @default {false}
   */
  loops?: boolean;
}

/**
 * The integer ALU, M, shift, lui and auipc entries of a generator's weighted
 * table (weights `w`, in that order), writing to `dest()`.
 */
function integerOps(
  rng: Rng,
  emit: (s: string) => void,
  dest: () => string,
  rs: () => string,
  w: readonly number[],
): [number, () => void][] {
  return [
    [w[0]!, () => {
      const op = rng.pick(ALU_RR);
      emit(`${op} ${dest()}, ${rs()}, ${rs()}`);
    }],
    [w[1]!, () => {
      const op = rng.pick(MUL_DIV);
      emit(`${op} ${dest()}, ${rs()}, ${rs()}`);
    }],
    [w[2]!, () => {
      const op = rng.pick(ALU_RI);
      emit(`${op} ${dest()}, ${rs()}, ${rng.int(4096) - 2048}`);
    }],
    [w[3]!, () => {
      const op = rng.pick(["slli", "srli", "srai", "slliw", "srliw", "sraiw"]);
      const sw = op.endsWith("w");
      emit(`${op} ${dest()}, ${rs()}, ${rng.int(sw ? 32 : 64)}`);
    }],
    [w[4]!, () => emit(`lui ${dest()}, ${rng.int(1 << 20)}`)],
    [w[5]!, () => emit(`auipc ${dest()}, ${rng.int(1 << 20)}`)],
  ];
}

// Integer register-register, M, and register-immediate ops of the random
// programs (straight-line code and loop bodies alike).
const ALU_RR = [
  "add",
  "sub",
  "sll",
  "srl",
  "sra",
  "slt",
  "sltu",
  "xor",
  "or",
  "and",
  "addw",
  "subw",
  "sllw",
  "srlw",
  "sraw",
];
const MUL_DIV = [
  "mul",
  "mulh",
  "mulhsu",
  "mulhu",
  "div",
  "divu",
  "rem",
  "remu",
  "mulw",
  "divw",
  "divuw",
  "remw",
  "remuw",
];
/** Compressed register-register ops. */
const C_RR = [
  "c.add",
  "c.sub",
  "c.xor",
  "c.or",
  "c.and",
  "c.addw",
  "c.subw",
  "c.mv",
];
const ALU_RI = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];

/**
 * Generate a random RV64GC program as GNU assembler source.
 *
 * @param options seed and length
 * @returns the source, to be assembled with `riscv64-unknown-elf-gcc`
 * @example
 * ```ts
 * import { generateProgram } from "./gen.ts";
 * const a = generateProgram({ seed: 1, count: 100 });
 * if (a !== generateProgram({ seed: 1, count: 100 })) throw new Error("unreachable");
 * ```
 */
export function generateProgram(options: GenerateOptions): string {
  const rng = new Rng(options.seed);
  const table = valueTable(rng);
  const out: string[] = [];
  const emit = (s: string) => out.push("\t" + s);
  // Destination registers: all but zero, sp, s0, s1, t6.
  const dests = X_NAMES.filter((_, i) => ![0, 2, 8, 9, 31].includes(i));
  const srcs = X_NAMES.filter((_, i) => i !== 31);
  // Compressed 3-bit registers that may be written: a0..a5 (x10..x15).
  const cdests = X_NAMES.slice(10, 16);
  const rd = () => rng.pick(dests);
  const rs = () => rng.chance(0.05) ? "zero" : rng.pick(srcs);
  const fr = () => rng.pick(F_NAMES);
  const rm = () => rng.chance(0.25) ? "dyn" : rng.pick(STATIC_RM);
  const val = () => 8 * rng.int(table.length);
  const sc = () => 8 * rng.int(64); // scratch offset, 8-aligned, < 512

  const gens: [number, () => void][] = [
    // -- operand loading: special values --
    [6, () => emit(`ld ${rd()}, ${val()}(s1)`)],
    [10, () => emit(`fld ${fr()}, ${val()}(s1)`)],
    [3, () => emit(`flw ${fr()}, ${val() + 4 * rng.int(2)}(s1)`)],
    [3, () => emit(`fmv.${rng.pick(["w", "d"])}.x ${fr()}, ${rs()}`)],
    // -- FP arithmetic --
    [22, () => {
      const t = rng.pick(["s", "d"]);
      const op = rng.pick(["fadd", "fsub", "fmul", "fdiv"]);
      emit(`${op}.${t} ${fr()}, ${fr()}, ${fr()}, ${rm()}`);
    }],
    [10, () => {
      const t = rng.pick(["s", "d"]);
      const op = rng.pick(["fmadd", "fmsub", "fnmsub", "fnmadd"]);
      emit(`${op}.${t} ${fr()}, ${fr()}, ${fr()}, ${fr()}, ${rm()}`);
    }],
    [4, () => emit(`fsqrt.${rng.pick(["s", "d"])} ${fr()}, ${fr()}, ${rm()}`)],
    [8, () => {
      const t = rng.pick(["s", "d"]);
      const op = rng.pick(["fsgnj", "fsgnjn", "fsgnjx", "fmin", "fmax"]);
      emit(`${op}.${t} ${fr()}, ${fr()}, ${fr()}`);
    }],
    [6, () => {
      const t = rng.pick(["s", "d"]);
      const op = rng.pick(["feq", "flt", "fle"]);
      emit(`${op}.${t} ${rd()}, ${fr()}, ${fr()}`);
    }],
    [4, () => emit(`fclass.${rng.pick(["s", "d"])} ${rd()}, ${fr()}`)],
    [3, () => emit(`fmv.x.${rng.pick(["w", "d"])} ${rd()}, ${fr()}`)],
    // fcvt to integers (saturation), from integers, between formats
    [10, () => {
      const t = rng.pick(["s", "d"]);
      const i = rng.pick(["w", "wu", "l", "lu"]);
      emit(`fcvt.${i}.${t} ${rd()}, ${fr()}, ${rm()}`);
    }],
    [6, () => {
      const i = rng.pick(["w", "wu", "l", "lu"]);
      const t = rng.pick(["s", "d"]);
      // int -> double for w/wu is exact and takes no rounding mode
      if (t === "d" && (i === "w" || i === "wu")) {
        emit(`fcvt.d.${i} ${fr()}, ${rs()}`);
      } else emit(`fcvt.${t}.${i} ${fr()}, ${rs()}, ${rm()}`);
    }],
    [4, () => emit(`fcvt.s.d ${fr()}, ${fr()}, ${rm()}`)],
    [3, () => emit(`fcvt.d.s ${fr()}, ${fr()}`)],
    // FP memory
    [3, () => emit(`fs${rng.pick(["w", "d"])} ${fr()}, ${sc()}(s0)`)],
    [2, () => emit(`fl${rng.pick(["w", "d"])} ${fr()}, ${sc()}(s0)`)],
    // rounding mode and flags
    [4, () => emit(`fsrmi ${rd()}, ${rng.int(5)}`)],
    [1, () => emit(`fsrmi ${rng.int(5)}`)],
    [1, () => {
      const r = rd();
      emit(`li ${r}, ${(rng.int(5) << 5) | rng.int(32)}`);
      emit(`fscsr ${r}`);
    }],
    [2, () => emit(`frflags ${rd()}`)],
    [1, () => emit(`csrrci ${rd()}, fflags, ${rng.int(32)}`)],
    [1, () => emit(`frcsr ${rd()}`)],
    // -- integer and M --
    ...integerOps(rng, emit, rd, rs, [8, 6, 4, 3, 2, 1]),
    // integer memory
    [3, () => {
      const [op, size] = rng.pick(
        [["lb", 1], ["lh", 2], ["lw", 4], ["ld", 8], ["lbu", 1], ["lhu", 2], [
          "lwu",
          4,
        ]] as const,
      );
      emit(`${op} ${rd()}, ${sc() + size * rng.int(8 / size)}(s0)`);
    }],
    [3, () => {
      const [op, size] = rng.pick(
        [["sb", 1], ["sh", 2], ["sw", 4], ["sd", 8]] as const,
      );
      emit(`${op} ${rs()}, ${sc() + size * rng.int(8 / size)}(s0)`);
    }],
    // -- A --
    [4, () => {
      const t = rng.pick(["w", "d"]);
      const op = rng.pick([
        "amoswap",
        "amoadd",
        "amoxor",
        "amoand",
        "amoor",
        "amomin",
        "amomax",
        "amominu",
        "amomaxu",
      ]);
      const order = rng.pick(["", ".aq", ".rl", ".aqrl"]);
      emit(`addi t6, s0, ${sc() + (t === "w" ? 4 * rng.int(2) : 0)}`);
      emit(`${op}.${t}${order} ${rd()}, ${rs()}, (t6)`);
    }],
    [2, () => {
      const t = rng.pick(["w", "d"]);
      const off = sc();
      emit(`addi t6, s0, ${off}`);
      emit(`lr.${t} ${rd()}, (t6)`);
      if (rng.chance(0.3)) emit(`addi t6, s0, ${(off + 8) % 512}`);
      emit(`sc.${t} ${rd()}, ${rs()}, (t6)`);
    }],
    // -- C --
    [6, () => {
      const a = rng.pick(cdests), b = rng.pick(cdests);
      const op = rng.pick(C_RR);
      if (op === "c.add" || op === "c.mv") {
        emit(`${op} ${rd()}, ${rng.pick(srcs.filter((r) => r !== "zero"))}`);
      } else emit(`${op} ${a}, ${b}`);
    }],
    [4, () => {
      const a = rng.pick(cdests);
      const imm = rng.int(63) - 31 || 1;
      const sh = 1 + rng.int(63);
      const op = rng.int(7);
      if (op === 0) emit(`c.addi ${rd()}, ${imm}`);
      else if (op === 1) emit(`c.addiw ${rd()}, ${imm}`);
      else if (op === 2) emit(`c.li ${rd()}, ${imm}`);
      else if (op === 3) emit(`c.andi ${a}, ${imm}`);
      else if (op === 4) emit(`c.slli ${rd()}, ${sh}`);
      else if (op === 5) emit(`c.${rng.pick(["srli", "srai"])} ${a}, ${sh}`);
      else emit(`c.lui ${rd()}, ${1 + rng.int(31)}`);
    }],
    [3, () => {
      const a = rng.pick(cdests);
      const op = rng.int(6);
      const o8 = 8 * rng.int(32), o4 = 4 * rng.int(32);
      const fa = rng.pick(F_NAMES.slice(8, 16));
      if (op === 0) emit(`c.ld ${a}, ${o8}(s0)`);
      else if (op === 1) emit(`c.sd ${a}, ${o8}(s0)`);
      else if (op === 2) emit(`c.lw ${a}, ${o4}(s0)`);
      else if (op === 3) emit(`c.sw ${a}, ${o4}(s0)`);
      else if (op === 4) emit(`c.fld ${fa}, ${o8}(s1)`);
      else emit(`c.fsd ${fa}, ${o8}(s0)`);
    }],
    [2, () => {
      const op = rng.int(4);
      const o8 = 8 * rng.int(64);
      if (op === 0) emit(`c.ldsp ${rd()}, ${o8}(sp)`);
      else if (op === 1) emit(`c.sdsp ${rs()}, ${o8}(sp)`);
      else if (op === 2) emit(`c.fldsp ${fr()}, ${o8}(sp)`);
      else emit(`c.fsdsp ${fr()}, ${o8}(sp)`);
    }],
    // -- control flow: short forward branches and jumps --
    [3, () => {
      const op = rng.pick(["beq", "bne", "blt", "bge", "bltu", "bgeu"]);
      emit(`${op} ${rs()}, ${rs()}, 1f`);
      emit(`fadd.d ${fr()}, ${fr()}, ${fr()}, ${rm()}`);
      emit(`addi ${rd()}, ${rs()}, 1`);
      out.push("1:");
    }],
    [1, () => {
      emit(`jal ${rd()}, 1f`);
      emit(`fmul.s ${fr()}, ${fr()}, ${fr()}`);
      out.push("1:");
    }],
    [1, () => {
      emit(`c.beqz ${rng.pick(cdests)}, 1f`);
      emit(`c.nop`);
      out.push("1:");
    }],
  ];
  // -- loops that deja compiles: counter t5, index t4 (the body writes
  // neither), integer ALU, M, loads and stores, a forward branch now and
  // then; closed by a backward conditional branch or by a jump. --
  const ldests = dests.filter((r) => r !== "t4" && r !== "t5");
  const lrd = () => rng.pick(ldests);
  const loopBody: [number, () => void][] = [
    ...integerOps(rng, emit, lrd, rs, [10, 4, 6, 3, 1, 1]),
    [3, () => {
      const a = rng.pick(cdests), b = rng.pick(cdests);
      emit(
        `${rng.pick(C_RR)} ${a}, ${b}`,
      );
    }],
    [2, () => emit(`c.addi ${rng.pick(cdests)}, ${rng.int(63) - 31 || 1}`)],
    // loads and stores at a fixed offset, from the scratch and value pages
    [3, () => {
      const [op, size] = rng.pick(
        [["lb", 1], ["lh", 2], ["lw", 4], ["ld", 8], ["lbu", 1], ["lhu", 2], [
          "lwu",
          4,
        ]] as const,
      );
      const base = rng.chance(0.3) ? "s1" : "s0";
      emit(`${op} ${lrd()}, ${sc() + size * rng.int(8 / size)}(${base})`);
    }],
    [3, () => {
      const [op, size] = rng.pick(
        [["sb", 1], ["sh", 2], ["sw", 4], ["sd", 8]] as const,
      );
      emit(`${op} ${rs()}, ${sc() + size * rng.int(8 / size)}(s0)`);
    }],
    // ... and at an address that moves with the iteration
    [4, () => {
      const size = rng.pick([1, 2, 4, 8]);
      emit(`andi t4, t5, 63`);
      emit(`slli t4, t4, 3`);
      emit(`add t4, t4, s0`);
      const o = size * rng.int(8 / size);
      const sfx = { 1: "b", 2: "h", 4: "w", 8: "d" }[size]!;
      if (rng.chance(0.5)) emit(`s${sfx} ${rs()}, ${o}(t4)`);
      else {
        const u = size < 8 && rng.chance(0.5) ? "u" : "";
        emit(`l${sfx}${u} ${lrd()}, ${o}(t4)`);
      }
    }],
    [2, () => {
      const a = rng.pick(cdests);
      const o8 = 8 * rng.int(32);
      emit(rng.chance(0.5) ? `c.ld ${a}, ${o8}(s0)` : `c.sd ${a}, ${o8}(s0)`);
    }],
    [1, () => {
      const op = rng.pick(["beq", "bne", "blt", "bge", "bltu", "bgeu"]);
      emit(`${op} ${rs()}, ${rs()}, 1f`);
      emit(`addi ${lrd()}, ${rs()}, 1`);
      emit(`xor ${lrd()}, ${rs()}, ${rs()}`);
      out.push("1:");
    }],
    // a call of a leaf function just past it (jal and ret): the function
    // leaves ra alone
    [1, () => {
      emit("jal ra, 6f");
      emit("j 7f");
      out.push("6:");
      const fdests = ldests.filter((r) => r !== "ra");
      for (let n = 1 + rng.int(4); n > 0; n--) {
        const op = rng.pick(["add", "sub", "xor", "mul", "addw", "sltu"]);
        emit(`${op} ${rng.pick(fdests)}, ${rs()}, ${rs()}`);
      }
      emit("ret");
      out.push("7:");
    }],
  ];
  const loopTotal = loopBody.reduce((n, [w]) => n + w, 0);
  const loop = () => {
    emit(`li t5, ${rng.chance(0.5) ? 33 + rng.int(88) : 120 + rng.int(200)}`);
    out.push("4:");
    const len = 3 + rng.int(22);
    for (let n = 0; n < len; n++) {
      let k = rng.int(loopTotal);
      for (const [w, g] of loopBody) {
        if (k < w) {
          g();
          break;
        }
        k -= w;
      }
    }
    emit("addi t5, t5, -1");
    const close = rng.int(3);
    if (close === 0) emit("bnez t5, 4b");
    else if (close === 1) emit("bgtz t5, 4b");
    else {
      emit("beqz t5, 5f");
      emit("j 4b");
      out.push("5:");
    }
  };
  if (options.loops) gens.push([6, loop]);

  const total = gens.reduce((n, [w]) => n + w, 0);
  const pickGen = () => {
    let k = rng.int(total);
    for (const [w, g] of gens) {
      if (k < w) return g;
      k -= w;
    }
    return gens[0]![1];
  };

  out.push(
    `# deja lockstep random program: seed ${options.seed}, about ${options.count} instructions`,
    "\t.option rvc",
    '\t.section .text.init, "ax", @progbits',
    "\t.globl _start",
    "_start:",
  );
  emit("li t0, 0x2000"); // mstatus.FS = Initial
  emit("csrs mstatus, t0");
  emit("csrwi fcsr, 0");
  emit("la s0, scratch");
  emit("la s1, values");
  emit("la sp, scratch + 512");
  // Start from defined registers: every FP register a special value.
  for (let i = 0; i < 32; i++) emit(`fld ${F_NAMES[i]}, ${val()}(s1)`);
  for (const r of dests) emit(`ld ${r}, ${val()}(s1)`);
  const body = out.length;
  while (out.length - body < options.count) pickGen()();
  out.push("# power off through sifive_test");
  emit("li t0, 0x100000");
  emit("li t1, 0x5555");
  emit("sw t1, 0(t0)");
  out.push("2:\tj 2b");
  out.push("\t.data", "\t.balign 4096", "values:");
  for (const v of table) out.push(`\t.dword 0x${v.toString(16)}`);
  out.push("\t.balign 4096", "scratch:");
  for (let i = 0; i < 128; i++) {
    out.push(`\t.dword 0x${rng.u64().toString(16)}`);
  }
  return out.join("\n") + "\n";
}

/** Options for {@linkcode buildRandomElf}. */
export interface BuildOptions extends GenerateOptions {
  /** Where to write the ELF (the `.S` goes next to it). */
  elfPath: string;
  /**
   * The cross compiler.
   *
   * @default {"riscv64-unknown-elf-gcc"}
   */
  cc?: string;
}

/**
 * Generate a random program and assemble it into an ELF at 0x80000000.
 *
 * @param options seed, length, output path and compiler
 * @returns the ELF's path
 */
export async function buildRandomElf(options: BuildOptions): Promise<string> {
  const src = options.elfPath.replace(/\.elf$/, "") + ".S";
  await Deno.writeTextFile(src, generateProgram(options));
  const cc = options.cc ?? "riscv64-unknown-elf-gcc";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cc, {
      args: [
        "-march=rv64gc",
        "-mabi=lp64d",
        "-nostdlib",
        "-nostartfiles",
        "-static",
        "-T",
        new URL("../isa/link.ld", import.meta.url).pathname,
        "-Wl,--build-id=none",
        "-Wl,--no-warn-rwx-segments",
        "-o",
        options.elfPath,
        src,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot assemble the random program: ${cc} is not installed. Install Debian's gcc-riscv64-unknown-elf (deno task setup does).`,
      );
    }
    throw err;
  }
  if (!out.success) {
    throw new Error(
      `Assembling ${src} failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return options.elfPath;
}
