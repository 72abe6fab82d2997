// Internal: 64-bit integer helpers on (lo, hi) int32 pairs, for the cases
// that do not fit inline in the CPU loop. Results go to the module scratch
// array `R` (R[0] = lo, R[1] = hi) so that nothing allocates.

/** Result scratch: R[0] = low word, R[1] = high word. */
export const R: Int32Array = new Int32Array(4);

// Unsigned 32x32 -> 64 product into R[2] (lo), R[3] (hi).
function mulu32(a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[2] = (p00 & 0xffff) | (mid << 16);
  R[3] = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
}

/** Low 64 bits of a 64x64 product. */
export function mul64(al: number, ah: number, bl: number, bh: number): void {
  mulu32(al, bl);
  R[0] = R[2]!;
  R[1] = (R[3]! + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
}

/** High 64 bits of an unsigned 64x64 product. */
export function mulhu64(al: number, ah: number, bl: number, bh: number): void {
  // Four 32x32 partial products, summed with carries in 32-bit columns.
  mulu32(al, bl);
  const c1a = R[3]! >>> 0;
  mulu32(al, bh);
  const p1l = R[2]! >>> 0, p1h = R[3]! >>> 0;
  mulu32(ah, bl);
  const p2l = R[2]! >>> 0, p2h = R[3]! >>> 0;
  mulu32(ah, bh);
  const p3l = R[2]! >>> 0, p3h = R[3]! >>> 0;
  const col1 = c1a + p1l + p2l; // < 2^34
  const col2 = p1h + p2h + p3l + Math.floor(col1 / 4294967296);
  const col3 = p3h + Math.floor(col2 / 4294967296);
  R[0] = col2 | 0;
  R[1] = col3 | 0;
}

/** High 64 bits of a signed x signed product. */
export function mulh64(al: number, ah: number, bl: number, bh: number): void {
  mulhu64(al, ah, bl, bh);
  let lo = R[0]! >>> 0, hi = R[1]!;
  if (ah < 0) { // subtract b
    const s = lo - (bl >>> 0);
    hi = (hi - bh - (s < 0 ? 1 : 0)) | 0;
    lo = s >>> 0;
  }
  if (bh < 0) { // subtract a
    const s = lo - (al >>> 0);
    hi = (hi - ah - (s < 0 ? 1 : 0)) | 0;
    lo = s >>> 0;
  }
  R[0] = lo | 0;
  R[1] = hi;
}

/** High 64 bits of a signed x unsigned product. */
export function mulhsu64(
  al: number,
  ah: number,
  bl: number,
  bh: number,
): void {
  mulhu64(al, ah, bl, bh);
  let lo = R[0]! >>> 0, hi = R[1]!;
  if (ah < 0) {
    const s = lo - (bl >>> 0);
    hi = (hi - bh - (s < 0 ? 1 : 0)) | 0;
    lo = s >>> 0;
  }
  R[0] = lo | 0;
  R[1] = hi;
}

const TWO32 = 4294967296;

function toBig(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function fromBig(v: bigint): void {
  R[0] = Number(BigInt.asIntN(32, v));
  R[1] = Number(BigInt.asIntN(32, v >> 32n));
}

// Whether a signed pair fits in 53 bits, so double arithmetic is exact.
function small(lo: number, hi: number): boolean {
  return hi >= -0x200000 && hi < 0x200000 && !(hi === -0x200000 && lo === 0);
}

/**
 * Signed 64-bit division or remainder with RISC-V's rules (x/0 = -1,
 * x%0 = x, MIN/-1 = MIN, MIN%-1 = 0).
 */
export function div64(
  al: number,
  ah: number,
  bl: number,
  bh: number,
  rem: boolean,
): void {
  if (bl === 0 && bh === 0) {
    if (rem) {
      R[0] = al;
      R[1] = ah;
    } else R[0] = R[1] = -1;
    return;
  }
  if (small(al, ah) && small(bl, bh)) {
    const a = ah * TWO32 + (al >>> 0), b = bh * TWO32 + (bl >>> 0);
    const q = Math.trunc(a / b);
    const v = rem ? a - q * b : q;
    R[0] = v | 0; // ToInt32 is exact modulo 2^32 for |v| < 2^53
    R[1] = Math.floor(v / TWO32) | 0;
    return;
  }
  if (small(bl, bh) && bh === bl >> 31 && bl !== -2147483648 && bl !== 0) {
    // |b| below 2^31: divide magnitudes, then fix the signs.
    const negA = ah < 0, negB = bl < 0;
    let ml = al, mh = ah;
    if (negA) {
      ml = (~al + 1) | 0;
      mh = (~ah + (ml === 0 ? 1 : 0)) | 0;
    }
    const mb = negB ? -bl : bl;
    if (mb < 0x200000) {
      const r = divSmall(ml, mh, mb);
      let lo: number, hi: number;
      if (rem) {
        lo = r;
        hi = 0;
        if (negA) {
          lo = (~r + 1) | 0;
          hi = r === 0 ? 0 : -1;
        }
      } else {
        lo = R[0]!;
        hi = R[1]!;
        if (negA !== negB) {
          const nl = (~lo + 1) | 0;
          hi = (~hi + (nl === 0 ? 1 : 0)) | 0;
          lo = nl;
        }
      }
      R[0] = lo;
      R[1] = hi;
      return;
    }
  }
  const a = toBig(al, ah), b = toBig(bl, bh);
  const sa = BigInt.asIntN(64, a), sb = BigInt.asIntN(64, b);
  if (sa === -(1n << 63n) && sb === -1n) {
    if (rem) R[0] = R[1] = 0;
    else {
      R[0] = al;
      R[1] = ah;
    }
    return;
  }
  fromBig(rem ? sa % sb : sa / sb);
}

// Unsigned 64 / (divisor below 2^21) by two exact double-precision steps.
// Quotient to R[0], R[1]; returns the remainder.
function divSmall(al: number, ah: number, b: number): number {
  const ahu = ah >>> 0;
  const qh = Math.floor(ahu / b);
  const r1 = ahu - qh * b;
  const rest = r1 * TWO32 + (al >>> 0); // < 2^53
  const ql = Math.floor(rest / b);
  R[0] = ql | 0;
  R[1] = qh | 0;
  return rest - ql * b;
}

/** Unsigned 64-bit division or remainder (x/0 = all ones, x%0 = x). */
export function divu64(
  al: number,
  ah: number,
  bl: number,
  bh: number,
  rem: boolean,
): void {
  if (bl === 0 && bh === 0) {
    if (rem) {
      R[0] = al;
      R[1] = ah;
    } else R[0] = R[1] = -1;
    return;
  }
  if (bh === 0 && bl >>> 0 < 0x200000) {
    const r = divSmall(al, ah, bl >>> 0);
    if (rem) {
      R[0] = r;
      R[1] = 0;
    }
    return;
  }
  if (ah >>> 0 < 0x200000 && bh >>> 0 < 0x200000) {
    const a = (ah >>> 0) * TWO32 + (al >>> 0);
    const b = (bh >>> 0) * TWO32 + (bl >>> 0);
    const q = Math.floor(a / b);
    const v = rem ? a - q * b : q;
    R[0] = v | 0;
    R[1] = Math.floor(v / TWO32) | 0;
    return;
  }
  const a = toBig(al, ah), b = toBig(bl, bh);
  fromBig(rem ? a % b : a / b);
}

/** Signed 32-bit division or remainder, sign-extended to 64 (DIVW/REMW). */
export function div32(a: number, b: number, rem: boolean): number {
  if (b === 0) return rem ? a : -1;
  if (a === -2147483648 && b === -1) return rem ? 0 : a;
  const q = (a / b) | 0;
  return rem ? (a - Math.imul(q, b)) | 0 : q;
}

/** Unsigned 32-bit division or remainder, sign-extended (DIVUW/REMUW). */
export function divu32(a: number, b: number, rem: boolean): number {
  const ua = a >>> 0, ub = b >>> 0;
  if (ub === 0) return rem ? a : -1;
  return rem ? (ua % ub) | 0 : ((ua / ub) >>> 0) | 0;
}
