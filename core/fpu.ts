/**
 * The RISC-V F and D extensions (RV64): the OP-FP opcode and the four fused
 * multiply-add opcodes, bit-exact to the unprivileged specification.
 *
 * Every rounding operation is correctly rounded in all five rounding modes
 * and raises exactly the IEEE 754 flags that RISC-V requires (tininess is
 * detected after rounding; underflow is raised only when the result is also
 * inexact). NaN results are always the canonical NaN, and single-precision
 * operands that are not NaN-boxed read as the canonical NaN.
 *
 * Operations in round-to-nearest-even on ordinary operands take fast paths
 * that compute with JavaScript doubles and decide exactness with error-free
 * transformations (TwoSum, Dekker's TwoProduct, and the Boldo–Melquiond
 * emulated FMA with round-to-odd). Each fast path is guarded by range checks
 * under which those transformations are exact and no underflow or overflow
 * can occur; anything else (directed rounding, subnormal or huge values) is
 * computed exactly with `BigInt` and rounded by one generic routine.
 *
 * Loads, stores and the `mstatus.FS` checks belong to the CPU core.
 *
 * @module
 */

import { HART, HART_WORDS } from "./hart_state.ts";

const NV = 16;
const DZ = 8;
const OF = 4;
const UF = 2;
const NX = 1;

const RNE = 0;
const RTZ = 1;
const RDN = 2;
const RUP = 3;
const RMM = 4;

// Scratch storage for reinterpreting bits; results never pass a NaN through
// these views (NaN results are written with integer operations).
const SCRATCH = new ArrayBuffer(8);
const S64 = new Float64Array(SCRATCH);
const S32 = new Int32Array(SCRATCH);
const SF32 = new Float32Array(SCRATCH);
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

const TWO32 = 4294967296;
const TWO52 = 4503599627370496;
/** Veltkamp splitting constant 2^27 + 1. */
const SPLITTER = 134217729;

/** Exact powers of two, 2^k at index k + 1074, for k in [-1074, 1023]. */
const POW2 = new Float64Array(2098);
POW2[1074] = 1;
for (let k = 1; k <= 1023; k++) POW2[1074 + k] = POW2[1073 + k]! * 2;
for (let k = -1; k >= -1074; k--) POW2[1074 + k] = POW2[1075 + k]! / 2;

function pow2(k: number): number {
  return POW2[k + 1074]!;
}

// Fast-path guards (see the function comments for why they suffice).
const SPLIT_MIN = pow2(-1000);
const SPLIT_MAX = pow2(995);
const PROD_MIN = pow2(-960);
const PROD_MAX = pow2(1000);
const ADD_MAX = pow2(1020);
const FMA_ZMIN = pow2(-1000);
const F32_MIN_NORMAL = pow2(-126);
const F32_MAX = 3.4028234663852886e38;
const F64_MAX = Number.MAX_VALUE;

/**
 * Flags raised by the instruction being executed: scratch for one call of
 * `Fpu.exec`, which zeroes it first and accrues it into its own hart's
 * `fflags` last. It is never live between instructions (JavaScript runs one
 * `exec` at a time), so it is not hart state; each hart's accrued flags live
 * in its {@linkcode HartState}.
 */
let flags = 0;

// ---------------------------------------------------------------------------
// Operand access

/** Reads a single operand (canonical NaN if not NaN-boxed); NV on sNaN. */
function readS(f: Int32Array, r: number): number {
  if (f[2 * r + 1] !== -1) return NaN;
  const bits = f[2 * r]!;
  S32[0] = bits;
  const v = SF32[0]!;
  if (v !== v && (bits & 0x400000) === 0) flags |= NV;
  return v;
}

/** Reads a double operand; NV on sNaN. */
function readD(f: Int32Array, r: number): number {
  const hi = f[2 * r + 1]!;
  S32[LO] = f[2 * r]!;
  S32[HI] = hi;
  const v = S64[0]!;
  if (v !== v && (hi & 0x80000) === 0) flags |= NV;
  return v;
}

/** The raw bits of a single operand, or the canonical NaN if not boxed. */
function boxedBits(f: Int32Array, r: number): number {
  return f[2 * r + 1] === -1 ? f[2 * r]! : 0x7fc00000;
}

/** Writes a single result NaN-boxed; any NaN becomes the canonical NaN. */
function writeS(f: Int32Array, r: number, v: number): void {
  if (v !== v) {
    f[2 * r] = 0x7fc00000;
  } else {
    SF32[0] = v;
    f[2 * r] = S32[0]!;
  }
  f[2 * r + 1] = -1;
}

/** Writes a double result; any NaN becomes the canonical NaN. */
function writeD(f: Int32Array, r: number, v: number): void {
  if (v !== v) {
    f[2 * r] = 0;
    f[2 * r + 1] = 0x7ff80000;
  } else {
    S64[0] = v;
    f[2 * r] = S32[LO]!;
    f[2 * r + 1] = S32[HI]!;
  }
}

function isFin(v: number): boolean {
  return v - v === 0;
}

// ---------------------------------------------------------------------------
// Error-free transformations

/** The exact error of `s = a + b` (Knuth's TwoSum; exact barring overflow). */
function twoSumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return (a - (s - bb)) + (b - bb);
}

/**
 * The exact error of `p = a * b` (Dekker's TwoProduct). Exact when
 * |a|, |b| lie in [2^-1000, 2^995] and |p| lies in [2^-960, 2^1000].
 */
function twoProdErr(a: number, b: number, p: number): number {
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/**
 * Round-to-odd correction: `v` is the nearest-even rounding of the exact
 * value `v + err` (err nonzero, at most half an ulp). Returns v if its
 * significand is odd, else its neighbour on err's side (whose is odd).
 */
function roundOdd(v: number, err: number): number {
  S64[0] = v;
  const lo = S32[LO]!;
  if ((lo & 1) !== 0) return v;
  if ((v > 0) === (err > 0)) {
    S32[LO] = lo + 1;
  } else if (lo === 0) {
    S32[LO] = -1;
    S32[HI] = S32[HI]! - 1;
  } else {
    S32[LO] = lo - 1;
  }
  return S64[0]!;
}

// ---------------------------------------------------------------------------
// Exact (BigInt) path

let dSign = false;
let dMant = 0;
let dExp = 0;

/** Splits finite nonzero `x` into dSign, integer dMant and dExp. */
function decompose(x: number): void {
  S64[0] = x;
  const hi = S32[HI]!;
  const e = (hi >>> 20) & 0x7ff;
  const m = (hi & 0xfffff) * TWO32 + (S32[LO]! >>> 0);
  dSign = hi < 0;
  if (e === 0) {
    dMant = m;
    dExp = -1074;
  } else {
    dMant = m + TWO52;
    dExp = e - 1075;
  }
}

function bitLength(m: bigint): number {
  const s = m.toString(16);
  return (s.length - 1) * 4 + 32 - Math.clz32(parseInt(s[0]!, 16));
}

let roundedInexact = false;

/**
 * Drops the low `sh` (>= 2) bits of `m` (plus a sticky bit below them) and
 * rounds per `rm`; sets roundedInexact.
 */
function roundBits(
  m: bigint,
  sh: number,
  sticky: boolean,
  neg: boolean,
  rm: number,
): bigint {
  const s = BigInt(sh);
  const q = m >> s;
  const low = m & ((1n << s) - 1n);
  roundedInexact = sticky || low !== 0n;
  if (!roundedInexact) return q;
  const half = 1n << (s - 1n);
  let up: boolean;
  switch (rm) {
    case RNE:
      up = low > half || (low === half && (sticky || (q & 1n) === 1n));
      break;
    case RDN:
      up = neg;
      break;
    case RUP:
      up = !neg;
      break;
    case RMM:
      up = low >= half;
      break;
    default:
      up = false;
  }
  return up ? q + 1n : q;
}

/** The result of an overflow in rounding mode `rm`. */
function overflow(neg: boolean, rm: number, dbl: boolean): number {
  flags |= OF | NX;
  const max = dbl ? F64_MAX : F32_MAX;
  switch (rm) {
    case RTZ:
      return neg ? -max : max;
    case RDN:
      return neg ? -Infinity : max;
    case RUP:
      return neg ? -max : Infinity;
    default:
      return neg ? -Infinity : Infinity;
  }
}

/**
 * Rounds the exact value (-1)^neg * (m + t) * 2^e, where m > 0 and t is 0
 * (sticky false) or strictly between 0 and 1 (sticky true), to the format,
 * raising NX/UF/OF. With sticky set, m must have at least p + 2 bits so
 * that t lies below the rounding position. Returns the result as a number
 * (exact in the format).
 */
function roundPack(
  neg: boolean,
  m: bigint,
  e: number,
  sticky: boolean,
  dbl: boolean,
  rm: number,
): number {
  const p = dbl ? 53 : 24;
  const emin = dbl ? -1022 : -126;
  const emax = dbl ? 1023 : 127;
  let n = bitLength(m);
  if (n < p + 2) {
    const s = p + 2 - n;
    m <<= BigInt(s);
    e -= s;
    n = p + 2;
  }
  const top = e + n - 1;
  let tiny = false;
  let sh = n - p;
  if (top < emin) {
    // Tininess after rounding: round to p bits with unbounded exponent.
    const q = roundBits(m, sh, sticky, neg, rm);
    tiny = !(top === emin - 1 && q === 1n << BigInt(p));
    sh = emin - p + 1 - e;
  }
  const q = roundBits(m, sh, sticky, neg, rm);
  const inexact = roundedInexact;
  const lsb = e + sh;
  const qn = Number(q);
  const full = dbl ? TWO52 * 2 : 16777216;
  if (lsb + (qn >= full ? p : p - 1) > emax) return overflow(neg, rm, dbl);
  if (inexact) flags |= tiny ? NX | UF : NX;
  if (qn === 0) return neg ? -0 : 0;
  return (neg ? -qn : qn) * pow2(lsb);
}

/** Signed zero of the exact sum of two zeros. */
function zeroSum(x: number, y: number, rm: number): number {
  if (Object.is(x, y)) return x;
  return rm === RDN ? -0 : 0;
}

/** Rounds the exact sum of two signed BigInt-scaled terms. */
function sumRound(
  sa: boolean,
  ma: bigint,
  ea: number,
  sb: boolean,
  mb: bigint,
  eb: number,
  dbl: boolean,
  rm: number,
): number {
  let e = ea;
  if (ea > eb) {
    ma <<= BigInt(ea - eb);
    e = eb;
  } else if (eb > ea) {
    mb <<= BigInt(eb - ea);
  }
  const s = (sa ? -ma : ma) + (sb ? -mb : mb);
  if (s === 0n) return rm === RDN ? -0 : 0;
  return s < 0n
    ? roundPack(true, -s, e, false, dbl, rm)
    : roundPack(false, s, e, false, dbl, rm);
}

/** a + b for finite a, b. */
function slowAdd(a: number, b: number, rm: number, dbl: boolean): number {
  if (a === 0) return b === 0 ? zeroSum(a, b, rm) : b;
  if (b === 0) return a;
  decompose(a);
  const sa = dSign, ma = dMant, ea = dExp;
  decompose(b);
  return sumRound(sa, BigInt(ma), ea, dSign, BigInt(dMant), dExp, dbl, rm);
}

/** a * b for finite nonzero a, b. */
function slowMul(a: number, b: number, rm: number, dbl: boolean): number {
  decompose(a);
  const sa = dSign, ma = dMant, ea = dExp;
  decompose(b);
  return roundPack(
    sa !== dSign,
    BigInt(ma) * BigInt(dMant),
    ea + dExp,
    false,
    dbl,
    rm,
  );
}

/** a / b for finite nonzero a, b. */
function slowDiv(a: number, b: number, rm: number, dbl: boolean): number {
  decompose(a);
  const sa = dSign, ma = dMant, ea = dExp;
  decompose(b);
  // 2^k * ma / mb has at least p + 3 bits since mb < 2^53.
  const k = dbl ? 109 : 80;
  const num = BigInt(ma) << BigInt(k);
  const den = BigInt(dMant);
  const q = num / den;
  return roundPack(
    sa !== dSign,
    q,
    ea - dExp - k,
    q * den !== num,
    dbl,
    rm,
  );
}

/** floor(sqrt(n)) for n > 0. */
function isqrt(n: bigint): bigint {
  let x = BigInt(Math.ceil(Math.sqrt(Number(n)) * (1 + 2 ** -40))) + 1n;
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** sqrt(a) for finite a > 0. */
function slowSqrt(a: number, rm: number, dbl: boolean): number {
  decompose(a);
  let m = BigInt(dMant);
  let e = dExp;
  if ((e & 1) !== 0) {
    m <<= 1n;
    e -= 1;
  }
  // Shift by 2k so the root has at least k >= p + 3 bits.
  const k = dbl ? 56 : 27;
  const n = m << BigInt(2 * k);
  const r = isqrt(n);
  return roundPack(false, r, (e - 2 * k) / 2, r * r !== n, dbl, rm);
}

/** a * b + c for finite nonzero a, b, c. */
function slowFma(
  a: number,
  b: number,
  c: number,
  rm: number,
  dbl: boolean,
): number {
  decompose(a);
  const sa = dSign, ma = dMant, ea = dExp;
  decompose(b);
  const sp = sa !== dSign;
  const mp = BigInt(ma) * BigInt(dMant);
  const ep = ea + dExp;
  decompose(c);
  return sumRound(sp, mp, ep, dSign, BigInt(dMant), dExp, dbl, rm);
}

/** Rounds a finite nonzero number (exact in double) to the format. */
function slowRound(a: number, rm: number, dbl: boolean): number {
  decompose(a);
  return roundPack(dSign, BigInt(dMant), dExp, false, dbl, rm);
}

// ---------------------------------------------------------------------------
// Arithmetic (operands are single or double values as numbers; NaN stands
// for any NaN, whose sNaN flag was raised when it was read)

function fadd(a: number, b: number, rm: number, dbl: boolean): number {
  if (a !== a || b !== b) return NaN;
  const s = a + b;
  if (!isFin(a) || !isFin(b)) {
    if (s !== s) flags |= NV;
    return s;
  }
  if (rm === RNE) {
    if (dbl) {
      // TwoSum is exact without overflow; sums that land in the subnormal
      // range are always exact, so UF is impossible.
      const aa = Math.abs(a), ab = Math.abs(b);
      if (aa <= ADD_MAX && ab <= ADD_MAX) {
        if (twoSumErr(a, b, s) !== 0) flags |= NX;
        return s;
      }
    } else {
      // Double rounding 53 -> 24 bits is innocuous for addition; a tiny
      // sum of singles is exact.
      const r = Math.fround(s);
      if (Math.abs(r) === Infinity) {
        flags |= OF | NX;
      } else if (r !== s || twoSumErr(a, b, s) !== 0) {
        flags |= NX;
      }
      return r;
    }
  }
  return slowAdd(a, b, rm, dbl);
}

function fmul(a: number, b: number, rm: number, dbl: boolean): number {
  if (a !== a || b !== b) return NaN;
  const p = a * b;
  if (p !== p) {
    flags |= NV;
    return NaN;
  }
  if (!isFin(a) || !isFin(b) || a === 0 || b === 0) return p;
  if (rm === RNE) {
    const ap = Math.abs(p);
    if (dbl) {
      const aa = Math.abs(a), ab = Math.abs(b);
      if (
        aa >= SPLIT_MIN && aa <= SPLIT_MAX && ab >= SPLIT_MIN &&
        ab <= SPLIT_MAX && ap >= PROD_MIN && ap <= PROD_MAX
      ) {
        if (twoProdErr(a, b, p) !== 0) flags |= NX;
        return p;
      }
    } else if (ap >= F32_MIN_NORMAL) {
      // The product of two singles is exact in double.
      const r = Math.fround(p);
      if (Math.abs(r) === Infinity) {
        flags |= OF | NX;
      } else if (r !== p) {
        flags |= NX;
      }
      return r;
    }
  }
  return slowMul(a, b, rm, dbl);
}

function fdiv(a: number, b: number, rm: number, dbl: boolean): number {
  if (a !== a || b !== b) return NaN;
  if (!isFin(a)) {
    if (!isFin(b)) {
      flags |= NV;
      return NaN;
    }
    return a / b;
  }
  if (!isFin(b)) return a / b;
  if (b === 0) {
    if (a === 0) {
      flags |= NV;
      return NaN;
    }
    flags |= DZ;
    return a / b;
  }
  if (a === 0) return a / b;
  if (rm === RNE) {
    const q = a / b;
    if (dbl) {
      // Exact iff q * b == a, decided with TwoProduct.
      const aq = Math.abs(q), ab = Math.abs(b), aa = Math.abs(a);
      if (
        aq >= SPLIT_MIN && aq <= SPLIT_MAX && ab >= SPLIT_MIN &&
        ab <= SPLIT_MAX && aa >= PROD_MIN && aa <= PROD_MAX
      ) {
        const pq = q * b;
        if (pq !== a || twoProdErr(q, b, pq) !== 0) flags |= NX;
        return q;
      }
    } else {
      // Double rounding is innocuous for division; r * b is exact.
      const r = Math.fround(q);
      const ar = Math.abs(r);
      if (ar === Infinity) {
        flags |= OF | NX;
        return r;
      }
      if (ar > F32_MIN_NORMAL) {
        if (r * b !== a) flags |= NX;
        return r;
      }
    }
  }
  return slowDiv(a, b, rm, dbl);
}

function fsqrt(a: number, rm: number, dbl: boolean): number {
  if (a !== a || a === 0 || a === Infinity) return a;
  if (a < 0) {
    flags |= NV;
    return NaN;
  }
  if (rm === RNE) {
    if (dbl) {
      if (a >= PROD_MIN && a <= PROD_MAX) {
        const r = Math.sqrt(a);
        const pr = r * r;
        if (pr !== a || twoProdErr(r, r, pr) !== 0) flags |= NX;
        return r;
      }
    } else {
      const r = Math.fround(Math.sqrt(a));
      if (r * r !== a) flags |= NX;
      return r;
    }
  }
  return slowSqrt(a, rm, dbl);
}

/** a * b + c with a single rounding (signs already applied). */
function fma(
  a: number,
  b: number,
  c: number,
  rm: number,
  dbl: boolean,
): number {
  const finA = isFin(a), finB = isFin(b);
  if ((a === 0 && !finB && b === b) || (b === 0 && !finA && a === a)) {
    flags |= NV;
    return NaN;
  }
  if (a !== a || b !== b || c !== c) return NaN;
  if (!finA || !finB) {
    const p = a * b;
    if (c === -p) {
      flags |= NV;
      return NaN;
    }
    return p;
  }
  if (!isFin(c)) return c;
  if (a === 0 || b === 0) return c === 0 ? zeroSum(a * b, c, rm) : c;
  if (c === 0) return fmul(a, b, rm, dbl);
  if (rm === RNE) {
    const p = a * b;
    if (dbl) {
      const aa = Math.abs(a), ab = Math.abs(b), ap = Math.abs(p);
      const ac = Math.abs(c);
      if (
        aa >= SPLIT_MIN && aa <= SPLIT_MAX && ab >= SPLIT_MIN &&
        ab <= SPLIT_MAX && ap >= PROD_MIN && ap <= PROD_MAX &&
        ac >= PROD_MIN && ac <= PROD_MAX
      ) {
        // Boldo & Melquiond: a*b = p + e, c + p = th + tl exactly;
        // RN(th + RO(tl + e)) is the correctly rounded result.
        const e = twoProdErr(a, b, p);
        const th = c + p;
        const tl = twoSumErr(c, p, th);
        let v = tl + e;
        const ve = twoSumErr(tl, e, v);
        if (ve !== 0) v = roundOdd(v, ve);
        const z = th + v;
        if (Math.abs(z) >= FMA_ZMIN) {
          // The exact result is a double only if both sums were exact.
          if (ve !== 0 || twoSumErr(th, v, z) !== 0) flags |= NX;
          return z;
        }
      }
    } else {
      // p is exact; round p + c to odd in double, then to single.
      const s = p + c;
      const err = twoSumErr(p, c, s);
      const r = Math.fround(err === 0 ? s : roundOdd(s, err));
      const ar = Math.abs(r);
      if (ar === Infinity) {
        flags |= OF | NX;
        return r;
      }
      if (ar > F32_MIN_NORMAL) {
        if (err !== 0 || r !== s) flags |= NX;
        return r;
      }
    }
  }
  return slowFma(a, b, c, rm, dbl);
}

/** Double to single. */
function cvtSD(a: number, rm: number): number {
  if (a !== a || a === 0 || !isFin(a)) return a;
  if (rm === RNE && Math.abs(a) >= F32_MIN_NORMAL) {
    const r = Math.fround(a);
    if (Math.abs(r) === Infinity) {
      flags |= OF | NX;
    } else if (r !== a) {
      flags |= NX;
    }
    return r;
  }
  return slowRound(a, rm, false);
}

/** Rounds finite v to an integral number per rm. */
function roundToInt(v: number, rm: number): number {
  switch (rm) {
    case RTZ:
      return Math.trunc(v);
    case RDN:
      return Math.floor(v);
    case RUP:
      return Math.ceil(v);
  }
  const t = Math.trunc(v);
  const d = Math.abs(v - t);
  if (d < 0.5) return t;
  if (d > 0.5 || rm === RMM || t % 2 !== 0) return v < 0 ? t - 1 : t + 1;
  return t;
}

let outLo = 0;
let outHi = 0;

/** Float to integer kind 0..3 (W, WU, L, LU); result in outLo/outHi. */
function cvtToInt(v: number, rm: number, kind: number): void {
  // Saturation: 1 = to the maximum, -1 = to the minimum, 0 = in range.
  let sat = 0;
  let r = 0;
  if (v !== v) {
    sat = 1;
  } else {
    r = isFin(v) ? roundToInt(v, rm) : v;
    switch (kind) {
      case 0:
        sat = r < -2147483648 ? -1 : r > 2147483647 ? 1 : 0;
        break;
      case 1:
        sat = r < 0 ? -1 : r > 4294967295 ? 1 : 0;
        break;
      case 2:
        sat = r < -9223372036854775808 ? -1 : r >= 9223372036854775808 ? 1 : 0;
        break;
      default:
        sat = r < 0 ? -1 : r >= 18446744073709551616 ? 1 : 0;
    }
  }
  if (sat !== 0) {
    // Invalid replaces inexact.
    flags |= NV;
    if (sat > 0) {
      outLo = kind === 0 ? 0x7fffffff : -1;
      outHi = kind === 0 ? 0 : kind === 2 ? 0x7fffffff : -1;
    } else {
      outLo = kind === 0 ? -2147483648 : 0;
      outHi = kind === 0 ? -1 : kind === 2 ? -2147483648 : 0;
    }
    return;
  }
  if (r !== v) flags |= NX;
  if (kind < 2) {
    outLo = r | 0;
    outHi = outLo >> 31;
  } else {
    const hi = Math.floor(r / TWO32);
    outLo = (r - hi * TWO32) | 0;
    outHi = hi | 0;
  }
}

/** Integer (kind 0..3: W, WU, L, LU) in lo/hi to float. */
function cvtFromInt(
  lo: number,
  hi: number,
  kind: number,
  rm: number,
  dbl: boolean,
): number {
  let v: number;
  switch (kind) {
    case 0:
      v = lo;
      break;
    case 1:
      v = lo >>> 0;
      break;
    default: {
      const h = kind === 2 ? hi : hi >>> 0;
      if (h >= -2097152 && h < 2097152) {
        v = h * TWO32 + (lo >>> 0);
        break;
      }
      if (dbl && rm === RNE) {
        // One rounding of the exact sum of two exact doubles.
        const hp = h * TWO32, lp = lo >>> 0;
        const s = hp + lp;
        if (twoSumErr(hp, lp, s) !== 0) flags |= NX;
        return s;
      }
      let big = (BigInt(h) << 32n) | BigInt(lo >>> 0);
      const neg = big < 0n;
      if (neg) big = -big;
      return roundPack(neg, big, 0, false, dbl, rm);
    }
  }
  // |v| < 2^53 here, exact.
  if (dbl || v === 0 || (v <= 16777216 && v >= -16777216)) return v;
  if (rm === RNE) {
    const r = Math.fround(v);
    if (r !== v) flags |= NX;
    return r;
  }
  return slowRound(v, rm, false);
}

function fclass(
  neg: boolean,
  exp: number,
  expMax: number,
  fracNZ: boolean,
  quiet: boolean,
): number {
  if (exp === expMax) {
    if (!fracNZ) return neg ? 1 : 0x80;
    return quiet ? 0x200 : 0x100;
  }
  if (exp === 0) {
    if (!fracNZ) return neg ? 8 : 0x10;
    return neg ? 4 : 0x20;
  }
  return neg ? 2 : 0x40;
}

/** minimumNumber / maximumNumber (IEEE 754-2019), -0 < +0. */
function fminmax(a: number, b: number, max: boolean): number {
  if (a !== a) return b;
  if (b !== b) return a;
  if (a === b) {
    if (a !== 0) return a;
    // ±0: min prefers -0, max prefers +0.
    return Object.is(a, -0) === max ? b : a;
  }
  return (a < b) !== max ? a : b;
}

/**
 * The RISC-V F and D extensions for one hart: executes OP-FP and fused
 * multiply-add instructions on the hart's register files.
 *
 * @example Add two doubles
 * ```ts
 * import { Fpu } from "./fpu.ts";
 * const f = new Int32Array(64), x = new Int32Array(64);
 * const fpu = new Fpu(f, x);
 * // f1 = 1.5, f2 = 2.25 (bit patterns of the doubles, low word first)
 * f[3] = 0x3ff80000;
 * f[5] = 0x40020000;
 * fpu.exec(0x022081d3); // fadd.d f3, f1, f2, rne
 * if (f[7] !== 0x400e0000 || fpu.fflags !== 0) throw new Error("unreachable");
 * ```
 */
export class Fpu {
  readonly #f: Int32Array;
  readonly #x: Int32Array;
  readonly #s: Int32Array;

  /** Accrued exception flags, bits NV=16 DZ=8 OF=4 UF=2 NX=1 (fflags). */
  get fflags(): number {
    return this.#s[HART.fflags]!;
  }
  set fflags(v: number) {
    this.#s[HART.fflags] = v;
  }

  /** Dynamic rounding mode (frm), 0..7. */
  get frm(): number {
    return this.#s[HART.frm]!;
  }
  set frm(v: number) {
    this.#s[HART.frm] = v;
  }

  /**
   * Binds the FPU to a hart's register files (kept by reference).
   *
   * @param f the FP register file: register i is f[2*i] (low 32 bits) and
   *   f[2*i+1] (high 32 bits)
   * @param x the integer register file in the same layout; x0 (x[0], x[1])
   *   is never written
   * @param words the hart's 32-bit state, where `fflags` and `frm` live (at
   *   `HART.fflags` and `HART.frm`); a private one by default
   */
  constructor(
    f: Int32Array,
    x: Int32Array,
    words: Int32Array = new Int32Array(HART_WORDS),
  ) {
    this.#f = f;
    this.#x = x;
    this.#s = words;
  }

  /**
   * Executes one OP-FP (opcode 0x53) or fused multiply-add (opcodes 0x43
   * FMADD, 0x47 FMSUB, 0x4b FNMSUB, 0x4f FNMADD) instruction given as its raw
   * encoding, writing the destination register and accruing fflags.
   *
   * @returns false, having written nothing, if the instruction is illegal
   *   (unknown funct7/funct3/rs2 combination, reserved rounding mode 5 or 6,
   *   or rm=7 while frm holds 5..7)
   */
  exec(insn: number): boolean {
    const opcode = insn & 0x7f;
    const rd = (insn >>> 7) & 31;
    const rs1 = (insn >>> 15) & 31;
    const rs2 = (insn >>> 20) & 31;
    let rm = (insn >>> 12) & 7;
    const f = this.#f;
    const x = this.#x;
    flags = 0;
    if (opcode !== 0x53) {
      if ((opcode & 0x73) !== 0x43) return false;
      const fmt = (insn >>> 25) & 3;
      if (fmt > 1) return false;
      if (rm === 7) rm = this.frm;
      if (rm > 4) return false;
      const dbl = fmt === 1;
      const rs3 = insn >>> 27;
      let a = dbl ? readD(f, rs1) : readS(f, rs1);
      const b = dbl ? readD(f, rs2) : readS(f, rs2);
      let c = dbl ? readD(f, rs3) : readS(f, rs3);
      if (opcode === 0x4b || opcode === 0x4f) a = -a;
      if (opcode === 0x47 || opcode === 0x4f) c = -c;
      const r = fma(a, b, c, rm, dbl);
      if (dbl) writeD(f, rd, r);
      else writeS(f, rd, r);
      this.fflags |= flags;
      return true;
    }
    const funct7 = insn >>> 25;
    const dbl = (funct7 & 1) === 1;
    switch (funct7) {
      case 0x00:
      case 0x01:
      case 0x04:
      case 0x05:
      case 0x08:
      case 0x09:
      case 0x0c:
      case 0x0d: {
        if (rm === 7) rm = this.frm;
        if (rm > 4) return false;
        const a = dbl ? readD(f, rs1) : readS(f, rs1);
        const b = dbl ? readD(f, rs2) : readS(f, rs2);
        let r: number;
        switch (funct7 >>> 2) {
          case 0:
            r = fadd(a, b, rm, dbl);
            break;
          case 1:
            r = fadd(a, -b, rm, dbl);
            break;
          case 2:
            r = fmul(a, b, rm, dbl);
            break;
          default:
            r = fdiv(a, b, rm, dbl);
        }
        if (dbl) writeD(f, rd, r);
        else writeS(f, rd, r);
        break;
      }
      case 0x2c:
      case 0x2d: {
        if (rs2 !== 0) return false;
        if (rm === 7) rm = this.frm;
        if (rm > 4) return false;
        if (dbl) writeD(f, rd, fsqrt(readD(f, rs1), rm, true));
        else writeS(f, rd, fsqrt(readS(f, rs1), rm, false));
        break;
      }
      case 0x10:
      case 0x11: {
        if (rm > 2) return false;
        if (dbl) {
          const hb = f[2 * rs2 + 1]!;
          const ha = f[2 * rs1 + 1]!;
          const s = rm === 0 ? hb : rm === 1 ? ~hb : ha ^ hb;
          f[2 * rd] = f[2 * rs1]!;
          f[2 * rd + 1] = (ha & 0x7fffffff) | (s & 0x80000000);
        } else {
          const a = boxedBits(f, rs1);
          const b = boxedBits(f, rs2);
          const s = rm === 0 ? b : rm === 1 ? ~b : a ^ b;
          f[2 * rd] = (a & 0x7fffffff) | (s & 0x80000000);
          f[2 * rd + 1] = -1;
        }
        break;
      }
      case 0x14:
      case 0x15: {
        if (rm > 1) return false;
        if (dbl) writeD(f, rd, fminmax(readD(f, rs1), readD(f, rs2), rm === 1));
        else writeS(f, rd, fminmax(readS(f, rs1), readS(f, rs2), rm === 1));
        break;
      }
      case 0x20: {
        if (rs2 !== 1) return false;
        if (rm === 7) rm = this.frm;
        if (rm > 4) return false;
        writeS(f, rd, cvtSD(readD(f, rs1), rm));
        break;
      }
      case 0x21: {
        if (rs2 !== 0) return false;
        if (rm === 7) rm = this.frm;
        if (rm > 4) return false;
        writeD(f, rd, readS(f, rs1));
        break;
      }
      case 0x50:
      case 0x51: {
        if (rm > 2) return false;
        const a = dbl ? readD(f, rs1) : readS(f, rs1);
        const b = dbl ? readD(f, rs2) : readS(f, rs2);
        let r: boolean;
        if (rm === 2) {
          r = a === b;
        } else {
          if (a !== a || b !== b) flags |= NV;
          r = rm === 1 ? a < b : a <= b;
        }
        if (rd !== 0) {
          x[2 * rd] = r ? 1 : 0;
          x[2 * rd + 1] = 0;
        }
        break;
      }
      case 0x60:
      case 0x61: {
        if (rs2 > 3) return false;
        if (rm === 7) rm = this.frm;
        if (rm > 4) return false;
        cvtToInt(dbl ? readD(f, rs1) : readS(f, rs1), rm, rs2);
        if (rd !== 0) {
          x[2 * rd] = outLo;
          x[2 * rd + 1] = outHi;
        }
        break;
      }
      case 0x68:
      case 0x69: {
        if (rs2 > 3) return false;
        if (rm === 7) rm = this.frm;
        if (rm > 4) return false;
        const r = cvtFromInt(x[2 * rs1]!, x[2 * rs1 + 1]!, rs2, rm, dbl);
        if (dbl) writeD(f, rd, r);
        else writeS(f, rd, r);
        break;
      }
      case 0x70:
      case 0x71: {
        if (rs2 !== 0 || rm > 1) return false;
        let lo: number, hi: number;
        if (rm === 0) {
          lo = f[2 * rs1]!;
          hi = dbl ? f[2 * rs1 + 1]! : lo >> 31;
        } else {
          if (dbl) {
            const h = f[2 * rs1 + 1]!;
            lo = fclass(
              h < 0,
              (h >>> 20) & 0x7ff,
              0x7ff,
              ((h & 0xfffff) | f[2 * rs1]!) !== 0,
              (h & 0x80000) !== 0,
            );
          } else {
            const b = boxedBits(f, rs1);
            lo = fclass(
              b < 0,
              (b >>> 23) & 0xff,
              0xff,
              (b & 0x7fffff) !== 0,
              (b & 0x400000) !== 0,
            );
          }
          hi = 0;
        }
        if (rd !== 0) {
          x[2 * rd] = lo;
          x[2 * rd + 1] = hi;
        }
        break;
      }
      case 0x78:
      case 0x79: {
        if (rs2 !== 0 || rm !== 0) return false;
        f[2 * rd] = x[2 * rs1]!;
        f[2 * rd + 1] = dbl ? x[2 * rs1 + 1]! : -1;
        break;
      }
      default:
        return false;
    }
    this.fflags |= flags;
    return true;
  }
}
