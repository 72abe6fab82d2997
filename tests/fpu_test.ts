/**
 * Hand-checked vectors for the F and D extensions: every instruction family,
 * rounding mode and flag, NaN-boxing, saturation and fused single rounding.
 *
 * @module
 */

import { deepEqual, equal } from "node:assert/strict";
import { Fpu } from "../core/fpu.ts";

const NV = 16, DZ = 8, OF = 4, UF = 2, NX = 1;
const RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4, DYN = 7;

/** Registers: operands in f1/x1, f2/x2, f4/x4; result in f3 or x3. */
const RS1 = 1, RS2 = 2, RS3 = 4, RD = 3;

function opfp(funct7: number, rs2: number, funct3 = 0): number {
  return ((funct7 << 25) | (rs2 << 20) | (RS1 << 15) | (funct3 << 12) |
    (RD << 7) | 0x53) >>> 0;
}

function r4(opcode: number, fmt: number): number {
  return ((RS3 << 27) | (fmt << 25) | (RS2 << 20) | (RS1 << 15) |
    (RD << 7) | opcode) >>> 0;
}

/** Mnemonic -> [encoding with rm/funct3 as given, result in x]. */
const OPS: Record<string, [number, boolean]> = {};
for (const [s, d] of [["s", 0], ["d", 1]] as const) {
  OPS[`fadd.${s}`] = [opfp(0x00 | d, RS2), false];
  OPS[`fsub.${s}`] = [opfp(0x04 | d, RS2), false];
  OPS[`fmul.${s}`] = [opfp(0x08 | d, RS2), false];
  OPS[`fdiv.${s}`] = [opfp(0x0c | d, RS2), false];
  OPS[`fsqrt.${s}`] = [opfp(0x2c | d, 0), false];
  OPS[`fmadd.${s}`] = [r4(0x43, d), false];
  OPS[`fmsub.${s}`] = [r4(0x47, d), false];
  OPS[`fnmsub.${s}`] = [r4(0x4b, d), false];
  OPS[`fnmadd.${s}`] = [r4(0x4f, d), false];
  OPS[`fsgnj.${s}`] = [opfp(0x10 | d, RS2, 0), false];
  OPS[`fsgnjn.${s}`] = [opfp(0x10 | d, RS2, 1), false];
  OPS[`fsgnjx.${s}`] = [opfp(0x10 | d, RS2, 2), false];
  OPS[`fmin.${s}`] = [opfp(0x14 | d, RS2, 0), false];
  OPS[`fmax.${s}`] = [opfp(0x14 | d, RS2, 1), false];
  OPS[`fle.${s}`] = [opfp(0x50 | d, RS2, 0), true];
  OPS[`flt.${s}`] = [opfp(0x50 | d, RS2, 1), true];
  OPS[`feq.${s}`] = [opfp(0x50 | d, RS2, 2), true];
  OPS[`fclass.${s}`] = [opfp(0x70 | d, 0, 1), true];
  for (const [i, t] of ["w", "wu", "l", "lu"].entries()) {
    OPS[`fcvt.${t}.${s}`] = [opfp(0x60 | d, i), true];
    OPS[`fcvt.${s}.${t}`] = [opfp(0x68 | d, i), false];
  }
}
OPS["fcvt.s.d"] = [opfp(0x20, 1), false];
OPS["fcvt.d.s"] = [opfp(0x21, 0), false];
OPS["fmv.x.w"] = [opfp(0x70, 0, 0), true];
OPS["fmv.x.d"] = [opfp(0x71, 0, 0), true];
OPS["fmv.w.x"] = [opfp(0x78, 0, 0), false];
OPS["fmv.d.x"] = [opfp(0x79, 0, 0), false];

/** Instructions whose funct3 selects the operation rather than rounding. */
const NO_RM = /^(fsgnj|fmin|fmax|fle|flt|feq|fclass|fmv)/;

function setReg(file: Int32Array, r: number, v: bigint): void {
  file[2 * r] = Number(BigInt.asIntN(32, v));
  file[2 * r + 1] = Number(BigInt.asIntN(32, v >> 32n));
}

function getReg(file: Int32Array, r: number): bigint {
  return (BigInt(file[2 * r + 1]! >>> 0) << 32n) |
    BigInt(file[2 * r]! >>> 0);
}

/** A NaN-boxed single. */
function s(bits: number): bigint {
  return 0xffffffff00000000n | BigInt(bits >>> 0);
}

/** The bits of a double. */
function d(v: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0);
}

/** The NaN-boxed bits of a single (v must be exact in single). */
function sf(v: number): bigint {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, v);
  equal(dv.getFloat32(0), v, "not a single");
  return s(dv.getUint32(0));
}

/** A sign-extended 32-bit integer. */
function w(v: number): bigint {
  return BigInt.asUintN(64, BigInt(v | 0));
}

const X_MAX = 0x7fffffffffffffffn;
const X_ALL = 0xffffffffffffffffn;
const X_MIN = 0x8000000000000000n;
const S_QNAN = s(0x7fc00000);
const D_QNAN = 0x7ff8000000000000n;
const S_SNAN = s(0x7f800001);
const D_SNAN = 0x7ff0000000000001n;
const S_INF = s(0x7f800000);
const S_NINF = s(0xff800000);
const D_INF = 0x7ff0000000000000n;
const D_NINF = 0xfff0000000000000n;
const S_MAX = s(0x7f7fffff);
const D_MAX = 0x7fefffffffffffffn;

interface Outcome {
  /** The destination register (f3 or x3), or "illegal". */
  r: bigint | "illegal";
  /** fflags after the instruction. */
  flags: number;
}

/** Executes `op` on fresh registers with the operands in f1/f2/f4 (and x). */
function run(
  op: string,
  rm: number,
  a: bigint,
  b = 0n,
  c = 0n,
  frm = RNE,
): Outcome {
  const f = new Int32Array(64), x = new Int32Array(64);
  const fpu = new Fpu(f, x);
  const entry = OPS[op];
  if (entry === undefined) throw new Error(`unknown ${op}`);
  const [base, xDest] = entry;
  const enc = NO_RM.test(op) ? base : (base | (rm << 12)) >>> 0;
  for (const [r, v] of [[RS1, a], [RS2, b], [RS3, c]] as const) {
    setReg(f, r, v);
    setReg(x, r, v);
  }
  const sentinel = 0x5a5a5a5aa5a5a5a5n;
  setReg(f, RD, sentinel);
  setReg(x, RD, sentinel);
  fpu.frm = frm;
  if (!fpu.exec(enc)) {
    equal(getReg(f, RD), sentinel);
    equal(getReg(x, RD), sentinel);
    return { r: "illegal", flags: fpu.fflags };
  }
  equal(getReg(xDest ? f : x, RD), sentinel, "wrote the wrong file");
  return { r: getReg(xDest ? x : f, RD), flags: fpu.fflags };
}

function check(
  got: Outcome,
  r: bigint | "illegal",
  flags: number,
  what = "",
): void {
  const show = (o: Outcome) =>
    `${typeof o.r === "bigint" ? o.r.toString(16) : o.r} flags ${o.flags}`;
  equal(show(got), show({ r, flags }), what || undefined);
}

Deno.test("Fpu rounds fadd.s ties in every rounding mode", () => {
  // 1 + 2^-24 is halfway between 1 and 1 + 2^-23.
  const one = sf(1), half = sf(2 ** -24);
  check(run("fadd.s", RNE, one, half), sf(1), NX);
  check(run("fadd.s", RTZ, one, half), sf(1), NX);
  check(run("fadd.s", RDN, one, half), sf(1), NX);
  check(run("fadd.s", RUP, one, half), s(0x3f800001), NX);
  check(run("fadd.s", RMM, one, half), s(0x3f800001), NX);
  const mone = sf(-1), mhalf = sf(-(2 ** -24));
  check(run("fadd.s", RNE, mone, mhalf), sf(-1), NX);
  check(run("fadd.s", RTZ, mone, mhalf), sf(-1), NX);
  check(run("fadd.s", RDN, mone, mhalf), s(0xbf800001), NX);
  check(run("fadd.s", RUP, mone, mhalf), sf(-1), NX);
  check(run("fadd.s", RMM, mone, mhalf), s(0xbf800001), NX);
  // Exact: no flags.
  check(run("fadd.s", RTZ, sf(1.5), sf(2.25)), sf(3.75), 0);
});

Deno.test("Fpu rounds fadd.s in RTZ", () => {
  // 1 + 5 * 2^-25 = 1 + 2^-23 + 2^-25: truncates to 1 + 2^-23.
  check(run("fadd.s", RTZ, sf(1), sf(5 * 2 ** -25)), s(0x3f800001), NX);
  check(run("fadd.s", RNE, sf(1), sf(5 * 2 ** -25)), s(0x3f800001), NX);
  check(run("fadd.s", RUP, sf(1), sf(5 * 2 ** -25)), s(0x3f800002), NX);
  // 1 + 3 * 2^-25 is 3/4 of an ulp above 1.
  check(run("fadd.s", RTZ, sf(1), sf(3 * 2 ** -25)), sf(1), NX);
  check(run("fadd.s", RNE, sf(1), sf(3 * 2 ** -25)), s(0x3f800001), NX);
  // 1 - 2^-30 truncates to the single just below 1.
  check(run("fsub.s", RTZ, sf(1), sf(2 ** -30)), s(0x3f7fffff), NX);
  check(run("fsub.s", RNE, sf(1), sf(2 ** -30)), sf(1), NX);
});

Deno.test("Fpu rounds fadd.d ties and above-half cases", () => {
  const one = d(1);
  check(run("fadd.d", RNE, one, d(2 ** -53)), one, NX);
  check(run("fadd.d", RTZ, one, d(2 ** -53)), one, NX);
  check(run("fadd.d", RUP, one, d(2 ** -53)), 0x3ff0000000000001n, NX);
  check(run("fadd.d", RMM, one, d(2 ** -53)), 0x3ff0000000000001n, NX);
  check(run("fadd.d", RDN, d(-1), d(-(2 ** -53))), 0xbff0000000000001n, NX);
  // 1 + 2^-52 + 2^-53: tie between an odd and an even significand.
  check(run("fadd.d", RNE, one, d(3 * 2 ** -53)), 0x3ff0000000000002n, NX);
  check(run("fadd.d", RTZ, one, d(3 * 2 ** -53)), 0x3ff0000000000001n, NX);
  check(
    run("fadd.d", DYN, one, d(3 * 2 ** -53), 0n, RTZ),
    0x3ff0000000000001n,
    NX,
  );
  check(run("fadd.d", RNE, d(0.5), d(0.25)), d(0.75), 0);
});

Deno.test("Fpu gives exact zero sums the IEEE sign", () => {
  check(run("fsub.d", RNE, d(1), d(1)), 0n, 0);
  check(run("fsub.d", RDN, d(1), d(1)), X_MIN, 0);
  check(run("fadd.s", RUP, sf(2), sf(-2)), s(0), 0);
  check(run("fadd.s", RDN, sf(2), sf(-2)), s(0x80000000), 0);
  check(run("fadd.d", RNE, X_MIN, X_MIN), X_MIN, 0);
  check(run("fadd.d", RNE, 0n, X_MIN), 0n, 0);
  check(run("fadd.d", RDN, 0n, X_MIN), X_MIN, 0);
  check(run("fsub.s", RNE, s(0x80000000), s(0)), s(0x80000000), 0);
});

Deno.test("Fpu handles overflow per rounding mode", () => {
  check(run("fadd.s", RNE, S_MAX, S_MAX), S_INF, OF | NX);
  check(run("fadd.s", RTZ, S_MAX, S_MAX), S_MAX, OF | NX);
  check(run("fadd.s", RDN, S_MAX, S_MAX), S_MAX, OF | NX);
  check(run("fadd.s", RUP, S_MAX, S_MAX), S_INF, OF | NX);
  check(run("fadd.s", RMM, S_MAX, S_MAX), S_INF, OF | NX);
  const nmax = s(0xff7fffff);
  check(run("fadd.s", RDN, nmax, nmax), S_NINF, OF | NX);
  check(run("fadd.s", RUP, nmax, nmax), nmax, OF | NX);
  check(run("fmul.d", RNE, D_MAX, d(2)), D_INF, OF | NX);
  check(run("fmul.d", RTZ, D_MAX, d(-2)), D_MAX | X_MIN, OF | NX);
  check(run("fmul.d", RUP, D_MAX, d(-2)), D_MAX | X_MIN, OF | NX);
  check(run("fmul.d", RDN, D_MAX, d(-2)), D_NINF, OF | NX);
  // Rounding up to 2^128 overflows; max + half an ulp is the threshold.
  check(run("fadd.s", RNE, S_MAX, sf(2 ** 103)), S_INF, OF | NX);
  check(run("fadd.s", RNE, S_MAX, sf(2 ** 102)), S_MAX, NX);
});

Deno.test("Fpu detects underflow after rounding", () => {
  // An exact subnormal result raises nothing.
  check(run("fmul.s", RNE, s(0x00800000), sf(0.5)), s(0x00400000), 0);
  // 2^-150 is a tie between 0 and the smallest subnormal.
  check(run("fmul.s", RNE, s(0x00000001), sf(0.5)), s(0), UF | NX);
  check(run("fmul.s", RUP, s(0x00000001), sf(0.5)), s(1), UF | NX);
  check(run("fmul.s", RMM, s(0x00000001), sf(0.5)), s(1), UF | NX);
  check(run("fmul.s", RDN, s(0x00000001), sf(-0.5)), s(0x80000001), UF | NX);
  check(run("fmul.d", RNE, 1n, d(0.25)), 0n, UF | NX);
  check(run("fmul.d", RNE, 3n, d(0.5)), 2n, UF | NX);
  // (1 - 2^-24) * 2^-126 = 2^-126 - 2^-150: rounds to 2^-126, but is still
  // tiny when rounded to 24 bits with unbounded exponent.
  check(
    run("fmul.s", RNE, s(0x3f7fffff), s(0x00800000)),
    s(0x00800000),
    UF | NX,
  );
  // 2^-126 - 2^-152 rounds to 2^-126 both ways: inexact but not tiny.
  check(run("fcvt.s.d", RNE, 0x380ffffff8000000n), s(0x00800000), NX);
  check(run("fcvt.s.d", RUP, 0x380ffffff8000000n), s(0x00800000), NX);
  check(run("fcvt.s.d", RTZ, 0x380ffffff8000000n), s(0x007fffff), UF | NX);
  // 2^-126 - 2^-150 converts with a tie on the subnormal grid.
  check(run("fcvt.s.d", RNE, 0x380fffffe0000000n), s(0x00800000), UF | NX);
  // Double: (1 - 2^-53) * 2^-1022 is a tie on the subnormal grid that
  // rounds to 2^-1022, and is tiny (exact with unbounded exponent).
  check(
    run("fmul.d", RNE, 0x3fefffffffffffffn, 0x0010000000000000n),
    0x0010000000000000n,
    UF | NX,
  );
  check(
    run(
      "fmadd.d",
      RNE,
      0x3fe0000000000000n,
      0x001fffffffffffffn,
      0x8000000000000001n,
    ),
    // (2^52 - 1/2 - 1) * 2^-1074: a tie, to the even 2^52 - 2.
    0x000ffffffffffffen,
    UF | NX,
  );
});

Deno.test("Fpu fmul and fdiv edge cases", () => {
  check(run("fmul.s", RNE, sf(0), S_INF), S_QNAN, NV);
  check(run("fmul.d", RNE, d(-0), d(3)), X_MIN, 0);
  check(run("fmul.d", RNE, D_NINF, d(-3)), D_INF, 0);
  check(run("fdiv.s", RNE, sf(1), sf(0)), S_INF, DZ);
  check(run("fdiv.s", RNE, sf(-1), sf(0)), S_NINF, DZ);
  check(run("fdiv.d", RNE, d(1), X_MIN), D_NINF, DZ);
  check(run("fdiv.d", RNE, 0n, 0n), D_QNAN, NV);
  check(run("fdiv.d", RNE, D_INF, D_NINF), D_QNAN, NV);
  check(run("fdiv.d", RNE, D_INF, 0n), D_INF, 0);
  check(run("fdiv.s", RNE, sf(1), S_NINF), s(0x80000000), 0);
  check(run("fdiv.s", RNE, sf(1), sf(3)), s(0x3eaaaaab), NX);
  check(run("fdiv.s", RTZ, sf(1), sf(3)), s(0x3eaaaaaa), NX);
  check(run("fdiv.s", RDN, sf(1), sf(3)), s(0x3eaaaaaa), NX);
  check(run("fdiv.s", RUP, sf(1), sf(3)), s(0x3eaaaaab), NX);
  check(run("fdiv.s", RMM, sf(-1), sf(3)), s(0xbeaaaaab), NX);
  check(run("fdiv.d", RNE, d(2), d(3)), 0x3fe5555555555555n, NX);
  check(run("fdiv.d", RUP, d(2), d(3)), 0x3fe5555555555556n, NX);
  check(run("fdiv.d", RNE, d(1), d(3)), 0x3fd5555555555555n, NX);
  check(run("fdiv.d", RUP, d(-1), d(3)), 0xbfd5555555555555n, NX);
  check(run("fdiv.d", RDN, d(-1), d(3)), 0xbfd5555555555556n, NX);
  check(run("fdiv.d", RNE, d(6), d(4)), d(1.5), 0);
});

Deno.test("Fpu rounds fsqrt in every mode", () => {
  check(run("fsqrt.s", RNE, sf(2)), s(0x3fb504f3), NX);
  check(run("fsqrt.s", RTZ, sf(2)), s(0x3fb504f3), NX);
  check(run("fsqrt.s", RUP, sf(2)), s(0x3fb504f4), NX);
  check(run("fsqrt.s", RMM, sf(2)), s(0x3fb504f3), NX);
  check(run("fsqrt.d", RNE, d(2)), 0x3ff6a09e667f3bcdn, NX);
  check(run("fsqrt.d", RUP, d(2)), 0x3ff6a09e667f3bcdn, NX);
  check(run("fsqrt.d", RDN, d(2)), 0x3ff6a09e667f3bccn, NX);
  check(run("fsqrt.d", RTZ, d(2)), 0x3ff6a09e667f3bccn, NX);
  check(run("fsqrt.d", RDN, d(9)), d(3), 0);
  check(run("fsqrt.s", RNE, s(0x80000000)), s(0x80000000), 0);
  check(run("fsqrt.s", RNE, sf(-1)), S_QNAN, NV);
  check(run("fsqrt.d", RNE, D_NINF), D_QNAN, NV);
  check(run("fsqrt.d", RNE, D_INF), D_INF, 0);
  // sqrt(2^-1074) = 2^-537 exactly.
  check(run("fsqrt.d", RUP, 1n), d(2 ** -537), 0);
});

Deno.test("Fpu fuses fmadd with a single rounding", () => {
  // (1 + 2^-52)(1 - 2^-53) - 1 = 2^-53 - 2^-105 = 2^-54 * (2 - 2^-51),
  // exact when fused (a separate multiply would round the product to 1).
  check(
    run("fmadd.d", RNE, 0x3ff0000000000001n, 0x3fefffffffffffffn, d(-1)),
    0x3c9ffffffffffffen,
    0,
  );
  // Single: (1 + 2^-23)(1 - 2^-24) - 1 = 2^-24 - 2^-47.
  check(
    run("fmadd.s", RNE, s(0x3f800001), s(0x3f7fffff), sf(-1)),
    s(0x337ffffe),
    0,
  );
  check(run("fmadd.s", RUP, sf(1), sf(1), sf(2 ** -30)), s(0x3f800001), NX);
  check(run("fmadd.s", RNE, sf(1), sf(1), sf(2 ** -30)), sf(1), NX);
  check(
    run("fmadd.d", RDN, d(1), d(1), d(-(2 ** -60))),
    0x3fefffffffffffffn,
    NX,
  );
  check(run("fmsub.d", RNE, d(2), d(3), d(1)), d(5), 0);
  check(run("fnmsub.d", RNE, d(2), d(3), d(1)), d(-5), 0);
  check(run("fnmadd.s", RNE, sf(2), sf(3), sf(1)), sf(-7), 0);
  check(run("fmadd.s", RNE, sf(2), sf(3), sf(1)), sf(7), 0);
  // Negation happens before rounding: -(x) rounded down is -(x rounded up).
  check(run("fnmadd.s", RDN, sf(1), sf(1), sf(2 ** -30)), s(0xbf800001), NX);
  check(run("fnmadd.s", RUP, sf(1), sf(1), sf(2 ** -30)), sf(-1), NX);
});

Deno.test("Fpu gives fused multiply-add special cases their flags", () => {
  // 0 * inf + qNaN is invalid, unlike other qNaN propagation.
  check(run("fmadd.d", RNE, 0n, D_INF, D_QNAN), D_QNAN, NV);
  check(run("fmadd.s", RNE, S_INF, sf(0), S_QNAN), S_QNAN, NV);
  check(run("fmadd.d", RNE, d(1), d(2), D_QNAN), D_QNAN, 0);
  check(run("fmadd.d", RNE, d(1), d(2), D_SNAN), D_QNAN, NV);
  check(run("fmadd.d", RNE, D_INF, d(1), D_NINF), D_QNAN, NV);
  check(run("fmsub.d", RNE, D_INF, d(1), D_INF), D_QNAN, NV);
  check(run("fmadd.d", RNE, D_INF, d(-1), D_NINF), D_NINF, 0);
  check(run("fmadd.s", RNE, sf(1), sf(2), S_NINF), S_NINF, 0);
  // Exact zero results.
  check(run("fmadd.d", RNE, 0n, d(5), X_MIN), 0n, 0);
  check(run("fmadd.d", RDN, 0n, d(5), X_MIN), X_MIN, 0);
  check(run("fmadd.d", RNE, X_MIN, d(5), X_MIN), X_MIN, 0);
  check(run("fnmadd.d", RNE, d(1), d(1), d(-1)), 0n, 0);
  check(run("fnmadd.d", RDN, d(1), d(1), d(-1)), X_MIN, 0);
  check(run("fnmadd.d", RNE, 0n, d(1), 0n), X_MIN, 0);
  // Product overflow is not an intermediate overflow.
  check(run("fmadd.d", RNE, D_MAX, d(2), D_MAX | X_MIN), D_MAX, 0);
});

Deno.test("Fpu implements fmin/fmax as minimumNumber/maximumNumber", () => {
  check(run("fmin.s", 0, s(0x80000000), s(0)), s(0x80000000), 0);
  check(run("fmin.s", 0, s(0), s(0x80000000)), s(0x80000000), 0);
  check(run("fmax.s", 0, s(0x80000000), s(0)), s(0), 0);
  check(run("fmax.d", 0, X_MIN, 0n), 0n, 0);
  check(run("fmin.d", 0, D_QNAN, d(1)), d(1), 0);
  check(run("fmax.d", 0, d(1), 0xfff8000000000123n), d(1), 0);
  check(run("fmin.d", 0, D_SNAN, d(1)), d(1), NV);
  check(run("fmax.s", 0, sf(-3), S_SNAN), sf(-3), NV);
  check(run("fmin.s", 0, S_QNAN, s(0x7fc12345)), S_QNAN, 0);
  check(run("fmax.d", 0, D_SNAN, D_QNAN), D_QNAN, NV);
  check(run("fmin.d", 0, d(-2), d(1)), d(-2), 0);
  check(run("fmax.d", 0, d(-2), D_NINF), d(-2), 0);
  // An unboxed operand is the canonical NaN.
  check(run("fmin.s", 0, 0x3f800000n, sf(2)), sf(2), 0);
});

Deno.test("Fpu compares with quiet feq and signaling flt/fle", () => {
  check(run("feq.s", 0, sf(1), sf(1)), 1n, 0);
  check(run("feq.d", 0, 0n, X_MIN), 1n, 0);
  check(run("feq.d", 0, D_QNAN, d(1)), 0n, 0);
  check(run("feq.d", 0, D_QNAN, D_QNAN), 0n, 0);
  check(run("feq.s", 0, S_SNAN, sf(1)), 0n, NV);
  check(run("flt.s", 0, S_QNAN, sf(1)), 0n, NV);
  check(run("fle.d", 0, d(1), D_QNAN), 0n, NV);
  check(run("flt.d", 0, X_MIN, 0n), 0n, 0);
  check(run("fle.d", 0, X_MIN, 0n), 1n, 0);
  check(run("flt.s", 0, sf(-2), sf(1)), 1n, 0);
  check(run("fle.s", 0, S_INF, S_INF), 1n, 0);
  check(run("flt.s", 0, S_NINF, S_INF), 1n, 0);
  // Unboxed: canonical NaN, a quiet NaN.
  check(run("feq.s", 0, 0x000000003f800000n, sf(1)), 0n, 0);
  check(run("fle.s", 0, 0x000000003f800000n, sf(1)), 0n, NV);
});

Deno.test("Fpu classifies every kind of value", () => {
  const sCases: [bigint, bigint][] = [
    [S_NINF, 1n],
    [sf(-1), 2n],
    [s(0x80000001), 4n],
    [s(0x80000000), 8n],
    [s(0), 0x10n],
    [s(0x007fffff), 0x20n],
    [S_MAX, 0x40n],
    [S_INF, 0x80n],
    [S_SNAN, 0x100n],
    [S_QNAN, 0x200n],
    [s(0xffbfffff), 0x100n],
    [0x7f800001n, 0x200n], // unboxed: canonical NaN
  ];
  for (const [v, cls] of sCases) check(run("fclass.s", 0, v), cls, 0);
  const dCases: [bigint, bigint][] = [
    [D_NINF, 1n],
    [d(-1e300), 2n],
    [0x8000000000000001n, 4n],
    [X_MIN, 8n],
    [0n, 0x10n],
    [0x000fffffffffffffn, 0x20n],
    [0x0010000000000000n, 0x40n],
    [D_INF, 0x80n],
    [D_SNAN, 0x100n],
    [0xfff4000000000000n, 0x100n],
    [D_QNAN, 0x200n],
    [X_ALL, 0x200n],
  ];
  for (const [v, cls] of dCases) check(run("fclass.d", 0, v), cls, 0);
});

Deno.test("Fpu injects signs with NaN-boxing", () => {
  check(run("fsgnj.s", 0, sf(1), sf(-2)), sf(-1), 0);
  check(run("fsgnjn.s", 0, sf(1), sf(-2)), sf(1), 0);
  check(run("fsgnjx.s", 0, sf(-1), sf(-2)), sf(1), 0);
  check(run("fsgnjn.d", 0, d(3), d(3)), d(-3), 0);
  check(run("fsgnjx.d", 0, d(-3), d(-3)), d(3), 0);
  check(run("fsgnj.d", 0, D_SNAN, X_MIN), D_SNAN | X_MIN, 0);
  // Unboxed operands read as the canonical NaN (positive).
  check(run("fsgnj.s", 0, sf(-1), 0xbf800000n), sf(1), 0);
  check(run("fsgnjn.s", 0, 0x12345678n, sf(1)), s(0xffc00000), 0);
  check(run("fsgnj.s", 0, S_SNAN, sf(-1)), s(0xff800001), 0);
});

Deno.test("Fpu moves bits between register files", () => {
  check(run("fmv.x.w", 0, s(0x80000000)), 0xffffffff80000000n, 0);
  check(run("fmv.x.w", 0, 0x123456787fc00001n), 0x7fc00001n, 0);
  check(run("fmv.x.d", 0, D_SNAN), D_SNAN, 0);
  check(run("fmv.w.x", 0, 0x12345678ff800001n), s(0xff800001), 0);
  check(run("fmv.d.x", 0, 0x7ff4000000000001n), 0x7ff4000000000001n, 0);
});

Deno.test("Fpu converts floats to integers with rounding", () => {
  const cases: [number, number, number][] = [
    // [value, rm, expected]
    [2.5, RNE, 2],
    [2.5, RTZ, 2],
    [2.5, RDN, 2],
    [2.5, RUP, 3],
    [2.5, RMM, 3],
    [-2.5, RNE, -2],
    [-2.5, RTZ, -2],
    [-2.5, RDN, -3],
    [-2.5, RUP, -2],
    [-2.5, RMM, -3],
    [3.5, RNE, 4],
    [-0.75, RNE, -1],
    [0.25, RMM, 0],
    [-0.5, RMM, -1],
  ];
  for (const [v, rm, want] of cases) {
    check(run("fcvt.w.s", rm, sf(v)), w(want), NX, `w.s ${v} rm ${rm}`);
    check(run("fcvt.l.d", rm, d(v)), w(want), NX, `l.d ${v} rm ${rm}`);
  }
  check(run("fcvt.w.d", RNE, d(-7)), w(-7), 0);
  check(
    run("fcvt.l.s", RNE, sf(-(2 ** 40))),
    BigInt.asUintN(64, -(2n ** 40n)),
    0,
  );
  check(run("fcvt.lu.d", RNE, 0x43efffffffffffffn), 0xfffffffffffff800n, 0);
  check(run("fcvt.l.d", RNE, d(-(2 ** 63))), X_MIN, 0);
  // fcvt.wu's 32-bit result is sign-extended.
  check(run("fcvt.wu.s", RTZ, sf(3e9)), 0xffffffffb2d05e00n, 0);
  check(run("fcvt.wu.d", RUP, d(4294967294.5)), 0xffffffffffffffffn, NX);
  // Negative values that round to zero are valid for unsigned targets.
  check(run("fcvt.wu.d", RTZ, d(-0.9)), 0n, NX);
  check(run("fcvt.lu.s", RNE, sf(-0.5)), 0n, NX);
  check(run("fcvt.lu.s", RNE, s(0x80000000)), 0n, 0);
});

Deno.test("Fpu saturates out-of-range float-to-integer conversions", () => {
  const table: [string, bigint, bigint][] = [
    ["fcvt.w.s", S_QNAN, 0x7fffffffn],
    ["fcvt.wu.s", S_QNAN, X_ALL],
    ["fcvt.l.s", S_QNAN, X_MAX],
    ["fcvt.lu.s", S_QNAN, X_ALL],
    ["fcvt.w.d", D_SNAN, 0x7fffffffn],
    ["fcvt.lu.d", 0xfff8000000000000n, X_ALL],
    ["fcvt.w.s", S_INF, 0x7fffffffn],
    ["fcvt.w.s", S_NINF, 0xffffffff80000000n],
    ["fcvt.wu.s", S_NINF, 0n],
    ["fcvt.l.d", D_NINF, X_MIN],
    ["fcvt.lu.d", D_INF, X_ALL],
    ["fcvt.w.s", sf(3e9), 0x7fffffffn],
    ["fcvt.w.d", d(-2147483649), 0xffffffff80000000n],
    ["fcvt.wu.d", d(4294967296), X_ALL],
    ["fcvt.wu.s", sf(-1), 0n],
    ["fcvt.l.d", d(2 ** 63), X_MAX],
    ["fcvt.l.s", sf(-(2 ** 64)), X_MIN],
    ["fcvt.lu.d", d(2 ** 64), X_ALL],
    ["fcvt.lu.d", d(-1), 0n],
    // Unboxed single: canonical NaN.
    ["fcvt.l.s", 0x3f800000n, X_MAX],
  ];
  for (const [op, v, want] of table) check(run(op, RTZ, v), want, NV, op);
  // The range check applies to the rounded value, and NV replaces NX.
  check(run("fcvt.w.d", RTZ, d(-2147483648.5)), 0xffffffff80000000n, NX);
  check(run("fcvt.w.d", RDN, d(-2147483648.5)), 0xffffffff80000000n, NV);
  check(run("fcvt.w.d", RNE, d(2147483647.5)), 0x7fffffffn, NV);
  check(run("fcvt.w.d", RTZ, d(2147483647.5)), 0x7fffffffn, NX);
  check(run("fcvt.wu.d", RNE, d(-0.5)), 0n, NX);
  check(run("fcvt.wu.d", RMM, d(-0.5)), 0n, NV);
});

Deno.test("Fpu converts integers to floats with rounding", () => {
  // 2^24 + 1 is a tie in single precision.
  check(run("fcvt.s.w", RNE, 16777217n), s(0x4b800000), NX);
  check(run("fcvt.s.w", RMM, 16777217n), s(0x4b800001), NX);
  check(run("fcvt.s.w", RUP, 16777217n), s(0x4b800001), NX);
  check(run("fcvt.s.w", RDN, w(-16777217)), s(0xcb800001), NX);
  check(run("fcvt.s.w", RTZ, w(-16777217)), s(0xcb800000), NX);
  check(run("fcvt.s.l", RNE, X_MAX), s(0x5f000000), NX);
  check(run("fcvt.s.l", RTZ, X_MAX), s(0x5effffff), NX);
  check(run("fcvt.s.l", RNE, X_MIN), s(0xdf000000), 0);
  check(run("fcvt.s.lu", RUP, X_ALL), s(0x5f800000), NX);
  check(run("fcvt.d.l", RNE, 0x20000000000001n), 0x4340000000000000n, NX);
  check(run("fcvt.d.l", RUP, 0x20000000000001n), 0x4340000000000001n, NX);
  check(run("fcvt.d.l", RDN, w(-3)), d(-3), 0);
  check(run("fcvt.d.lu", RNE, X_ALL), 0x43f0000000000000n, NX);
  check(run("fcvt.d.lu", RTZ, X_ALL), 0x43efffffffffffffn, NX);
  check(run("fcvt.d.l", RNE, X_ALL), d(-1), 0);
  check(run("fcvt.d.l", RNE, 0n), 0n, 0);
  // 32-bit sources use only the low 32 bits.
  check(run("fcvt.s.wu", RNE, 0xdeadbeef00000001n), sf(1), 0);
  check(run("fcvt.d.w", RNE, 0x00000000ffffffffn), d(-1), 0);
  check(run("fcvt.d.wu", RNE, 0x12345678ffffffffn), d(4294967295), 0);
});

Deno.test("Fpu converts between single and double", () => {
  check(run("fcvt.s.d", RNE, d(1e300)), S_INF, OF | NX);
  check(run("fcvt.s.d", RTZ, d(1e300)), S_MAX, OF | NX);
  check(run("fcvt.s.d", RDN, d(-1e300)), S_NINF, OF | NX);
  check(run("fcvt.s.d", RNE, d(0.1)), s(0x3dcccccd), NX);
  check(run("fcvt.s.d", RTZ, d(0.1)), s(0x3dcccccc), NX);
  check(run("fcvt.s.d", RNE, d(1e-50)), s(0), UF | NX);
  check(run("fcvt.s.d", RUP, d(1e-50)), s(1), UF | NX);
  check(run("fcvt.s.d", RNE, 0x7ff0000000000123n), S_QNAN, NV);
  check(run("fcvt.s.d", RNE, 0xfff8000000000123n), S_QNAN, 0);
  check(run("fcvt.s.d", RNE, X_MIN), s(0x80000000), 0);
  check(run("fcvt.d.s", RNE, sf(Math.fround(0.1))), d(Math.fround(0.1)), 0);
  check(run("fcvt.d.s", RNE, s(1)), d(2 ** -149), 0);
  check(run("fcvt.d.s", RNE, S_SNAN), D_QNAN, NV);
  check(run("fcvt.d.s", RNE, s(0xffc00123)), D_QNAN, 0);
  check(run("fcvt.d.s", RNE, 0x3f800000n), D_QNAN, 0); // unboxed
  check(run("fcvt.d.s", RNE, S_NINF), D_NINF, 0);
});

Deno.test("Fpu treats unboxed singles as the canonical NaN", () => {
  check(run("fadd.s", RNE, 0x000000003f800000n, sf(1)), S_QNAN, 0);
  check(run("fmul.s", RNE, sf(1), 0xfffffffe3f800000n), S_QNAN, 0);
  check(run("fmadd.s", RNE, sf(0), S_INF, 0x1n), S_QNAN, NV);
  // A sNaN in the low word of an unboxed value does not signal.
  check(run("fadd.s", RNE, 0x000000007f800001n, sf(1)), S_QNAN, 0);
  // NaN results are canonical whatever the input payloads.
  check(run("fadd.s", RNE, s(0xffc00123), sf(1)), S_QNAN, 0);
  check(run("fadd.d", RNE, 0xfff8000000000001n, d(1)), D_QNAN, 0);
  check(run("fsub.d", RNE, D_SNAN, d(1)), D_QNAN, NV);
  check(run("fadd.d", RNE, D_INF, D_NINF), D_QNAN, NV);
});

Deno.test("Fpu rejects illegal encodings without side effects", () => {
  for (const rm of [5, 6]) {
    check(run("fadd.d", rm, d(1), d(2)), "illegal", 0);
    check(run("fcvt.d.s", rm, sf(1)), "illegal", 0);
    check(run("fmadd.s", rm, sf(1), sf(1), sf(1)), "illegal", 0);
  }
  for (const frm of [5, 6, 7]) {
    check(run("fsqrt.d", DYN, D_SNAN, 0n, 0n, frm), "illegal", 0);
    check(run("fcvt.w.s", DYN, sf(1.5), 0n, 0n, frm), "illegal", 0);
    // Static rounding modes and rm-less instructions ignore frm.
    check(run("fsqrt.d", RNE, d(4), 0n, 0n, frm), d(2), 0);
    check(run("fmin.d", 0, d(4), d(1), 0n, frm), d(1), 0);
  }
  const f = new Int32Array(64), x = new Int32Array(64);
  const fpu = new Fpu(f, x);
  fpu.fflags = 0x1f;
  const bad = [
    opfp(0x2c, 1), // fsqrt.s, rs2 != 0
    opfp(0x10, RS2, 3), // fsgnj funct3 3
    opfp(0x14, RS2, 2), // fmin funct3 2
    opfp(0x51, RS2, 3), // fcmp funct3 3
    opfp(0x20, 0), // fcvt.s.s
    opfp(0x21, 1), // fcvt.d.d
    opfp(0x60, 4), // fcvt, rs2 4
    opfp(0x69, 8),
    opfp(0x70, 0, 2), // fmv.x.w funct3 2
    opfp(0x71, 1, 0), // fmv.x.d rs2 1
    opfp(0x78, 0, 1), // fmv.w.x funct3 1
    opfp(0x02, RS2), // fadd.h
    opfp(0x03, RS2), // fadd.q
    r4(0x43, 2), // fmadd.h
    r4(0x4f, 3), // fnmadd.q
    0x00000013, // addi: not an FP opcode
    0x00002007, // flw: handled by the core
  ];
  for (const insn of bad) equal(fpu.exec(insn), false, insn.toString(16));
  deepEqual([...f], new Array(64).fill(0));
  deepEqual([...x], new Array(64).fill(0));
  equal(fpu.fflags, 0x1f);
});

Deno.test("Fpu accrues flags and never writes x0", () => {
  const f = new Int32Array(64), x = new Int32Array(64);
  const fpu = new Fpu(f, x);
  setReg(f, 1, s(0x3f800000)); // 1.0f
  setReg(f, 2, s(0)); // 0.0f
  // fdiv.s f3, f1, f2 -> DZ
  equal(fpu.exec(opfp(0x0c, RS2)), true);
  equal(fpu.fflags, DZ);
  // fsub.s f3, f2, f2 with rs1 = f2: exact, flags unchanged
  equal(fpu.exec((opfp(0x04, RS2) & ~(31 << 15)) | (2 << 15)), true);
  equal(fpu.fflags, DZ);
  // feq.s x0, f1, f1 and fcvt.w.s x0, f3 (NaN -> NV): x0 stays zero.
  const feqX0 = (opfp(0x50, RS2, 2) & ~(31 << 7)) >>> 0;
  x[0] = 0;
  x[1] = 0;
  equal(fpu.exec(feqX0), true);
  setReg(f, 3, S_QNAN);
  equal(fpu.exec((opfp(0x60, 0) & ~(31 << 7) & ~(31 << 15)) | (3 << 15)), true);
  equal(fpu.fflags, DZ | NV);
  equal(x[0], 0);
  equal(x[1], 0);
  // Dynamic rounding reads frm at execution time.
  setReg(f, 1, sf(1));
  setReg(f, 2, sf(3));
  fpu.frm = RUP;
  equal(fpu.exec(opfp(0x0c, RS2) | (DYN << 12)), true);
  equal(getReg(f, 3), s(0x3eaaaaab));
  fpu.frm = RDN;
  equal(fpu.exec(opfp(0x0c, RS2) | (DYN << 12)), true);
  equal(getReg(f, 3), s(0x3eaaaaaa));
  equal(fpu.fflags, DZ | NV | NX);
});
