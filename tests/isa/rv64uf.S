/*
 * rv64uf: single precision.  Results are checked as 64-bit patterns, so
 * every single-precision result must come out NaN-boxed (upper 32 bits all
 * ones), and fflags is checked after every case.  Corner cases: all five
 * static rounding modes and the dynamic one, overflow and underflow
 * (tininess after rounding), signed zeros, canonical NaNs (payloads are not
 * propagated), signalling NaNs, inf*0 in fused multiply-add, saturating
 * conversions, unboxed single operands (which read as the canonical NaN),
 * reserved rounding modes, fcsr masking, and mstatus.FS tracking.
 *
 * Expected values were computed with exact rational arithmetic (IEEE 754
 * rounding of the exact result) and checked on QEMU 7.2.
 */
#include "test_macros.h"

#define FADD_S_RM5 0x00b556d3   /* fadd.s fa3, fa0, fa1, rm=5 */
#define FADD_S_RM6 0x00b566d3   /* fadd.s fa3, fa0, fa1, rm=6 */
#define FADD_S_DYN 0x00b576d3   /* fadd.s fa3, fa0, fa1, dyn */
#define FCVT_S_W_RM5 0xd005d6d3 /* fcvt.s.w fa3, a1, rm=5 */

RVTEST_CODE_BEGIN

        /* fadd/fsub/fmul/fdiv: special values and every rounding mode */
        TEST_FS_OP2(2, fadd.s, 0x00, 0x40600000, 0x40200000, 0x3f800000)
        TEST_FS_OP2(3, fadd.s, 0x01, 0xc49a4000, 0xc49a6333, 0x3f8ccccd)
        TEST_FS_OP2(4, fadd.s, 0x01, 0x40490fdb, 0x40490fdb, 0x322bcc77)
        TEST_FS_OP2(5, fadd.s, 0x10, 0x7fc00000, 0x7f800000, 0xff800000)  /* inf - inf: invalid */
        TEST_FS_OP2(6, fadd.s, 0x00, 0x7f800000, 0x7f800000, 0x3f800000)
        TEST_FS_OP2(7, fadd.s, 0x00, 0x7fc00000, 0x7fc00000, 0x3f800000)  /* qNaN in: canonical out, no flag */
        TEST_FS_OP2(8, fadd.s, 0x10, 0x7fc00000, 0x7f800001, 0x3f800000)  /* sNaN in: NV */
        TEST_FS_OP2(9, fadd.s, 0x00, 0x7fc00000, 0xffc12345, 0x3f800000)  /* NaN payload not propagated */
        TEST_FS_OP2(10, fadd.s, 0x05, 0x7f800000, 0x7f7fffff, 0x7f7fffff)  /* overflow */
        TEST_FS_OP2(11, fadd.s, 0x00, 0x00000000, 0x00000000, 0x80000000)
        TEST_FS_OP2(12, fadd.s, 0x00, 0x80000000, 0x80000000, 0x80000000)
        TEST_FS_OP2(13, fsub.s, 0x00, 0x00000000, 0x3fc00000, 0x3fc00000)
        TEST_FS_OP2(14, fadd.s, 0x00, 0x00000002, 0x00000001, 0x00000001)  /* subnormal + subnormal, exact */
        TEST_FS_OP2(15, fsub.s, 0x00, 0x007fffff, 0x00800000, 0x00000001)  /* normal - subnormal: subnormal, exact */
        TEST_FS_OP2_RM(16, fadd.s, rne, 0x01, 0x3f800001, 0x3f800000, 0x33800001)  /* 1 + (2^-24 + ulp): rounding */
        TEST_FS_OP2_RM(17, fadd.s, rne, 0x01, 0xbf800000, 0xbf800000, 0xb3800000)  /* -1 - 2^-24: tie */
        TEST_FS_OP2_RM(18, fsub.s, rne, 0x00, 0x00000000, 0x3f800000, 0x3f800000)  /* x - x: -0 only in rdn */
        TEST_FS_OP2_RM(19, fadd.s, rne, 0x05, 0x7f800000, 0x7f7fffff, 0x73800000)  /* max + half ulp */
        TEST_FS_OP2_RM(20, fmul.s, rne, 0x05, 0x7f800000, 0x7f7fffff, 0x40000000)  /* overflow by rounding mode */
        TEST_FS_OP2_RM(21, fmul.s, rne, 0x03, 0x00400000, 0x00800001, 0x3f000000)  /* underflow, inexact */
        TEST_FS_OP2_RM(22, fdiv.s, rne, 0x01, 0x3eaaaaab, 0x3f800000, 0x40400000)
        TEST_FS_OP2_RM(23, fdiv.s, rne, 0x01, 0xbeaaaaab, 0xbf800000, 0x40400000)
        TEST_FS_OP2_RM(24, fadd.s, rtz, 0x01, 0x3f800000, 0x3f800000, 0x33800001)  /* 1 + (2^-24 + ulp): rounding */
        TEST_FS_OP2_RM(25, fadd.s, rtz, 0x01, 0xbf800000, 0xbf800000, 0xb3800000)  /* -1 - 2^-24: tie */
        TEST_FS_OP2_RM(26, fsub.s, rtz, 0x00, 0x00000000, 0x3f800000, 0x3f800000)  /* x - x: -0 only in rdn */
        TEST_FS_OP2_RM(27, fadd.s, rtz, 0x05, 0x7f7fffff, 0x7f7fffff, 0x73800000)  /* max + half ulp */
        TEST_FS_OP2_RM(28, fmul.s, rtz, 0x05, 0x7f7fffff, 0x7f7fffff, 0x40000000)  /* overflow by rounding mode */
        TEST_FS_OP2_RM(29, fmul.s, rtz, 0x03, 0x00400000, 0x00800001, 0x3f000000)  /* underflow, inexact */
        TEST_FS_OP2_RM(30, fdiv.s, rtz, 0x01, 0x3eaaaaaa, 0x3f800000, 0x40400000)
        TEST_FS_OP2_RM(31, fdiv.s, rtz, 0x01, 0xbeaaaaaa, 0xbf800000, 0x40400000)
        TEST_FS_OP2_RM(32, fadd.s, rdn, 0x01, 0x3f800000, 0x3f800000, 0x33800001)  /* 1 + (2^-24 + ulp): rounding */
        TEST_FS_OP2_RM(33, fadd.s, rdn, 0x01, 0xbf800001, 0xbf800000, 0xb3800000)  /* -1 - 2^-24: tie */
        TEST_FS_OP2_RM(34, fsub.s, rdn, 0x00, 0x80000000, 0x3f800000, 0x3f800000)  /* x - x: -0 only in rdn */
        TEST_FS_OP2_RM(35, fadd.s, rdn, 0x05, 0x7f7fffff, 0x7f7fffff, 0x73800000)  /* max + half ulp */
        TEST_FS_OP2_RM(36, fmul.s, rdn, 0x05, 0x7f7fffff, 0x7f7fffff, 0x40000000)  /* overflow by rounding mode */
        TEST_FS_OP2_RM(37, fmul.s, rdn, 0x03, 0x00400000, 0x00800001, 0x3f000000)  /* underflow, inexact */
        TEST_FS_OP2_RM(38, fdiv.s, rdn, 0x01, 0x3eaaaaaa, 0x3f800000, 0x40400000)
        TEST_FS_OP2_RM(39, fdiv.s, rdn, 0x01, 0xbeaaaaab, 0xbf800000, 0x40400000)
        TEST_FS_OP2_RM(40, fadd.s, rup, 0x01, 0x3f800001, 0x3f800000, 0x33800001)  /* 1 + (2^-24 + ulp): rounding */
        TEST_FS_OP2_RM(41, fadd.s, rup, 0x01, 0xbf800000, 0xbf800000, 0xb3800000)  /* -1 - 2^-24: tie */
        TEST_FS_OP2_RM(42, fsub.s, rup, 0x00, 0x00000000, 0x3f800000, 0x3f800000)  /* x - x: -0 only in rdn */
        TEST_FS_OP2_RM(43, fadd.s, rup, 0x05, 0x7f800000, 0x7f7fffff, 0x73800000)  /* max + half ulp */
        TEST_FS_OP2_RM(44, fmul.s, rup, 0x05, 0x7f800000, 0x7f7fffff, 0x40000000)  /* overflow by rounding mode */
        TEST_FS_OP2_RM(45, fmul.s, rup, 0x03, 0x00400001, 0x00800001, 0x3f000000)  /* underflow, inexact */
        TEST_FS_OP2_RM(46, fdiv.s, rup, 0x01, 0x3eaaaaab, 0x3f800000, 0x40400000)
        TEST_FS_OP2_RM(47, fdiv.s, rup, 0x01, 0xbeaaaaaa, 0xbf800000, 0x40400000)
        TEST_FS_OP2_RM(48, fadd.s, rmm, 0x01, 0x3f800001, 0x3f800000, 0x33800001)  /* 1 + (2^-24 + ulp): rounding */
        TEST_FS_OP2_RM(49, fadd.s, rmm, 0x01, 0xbf800001, 0xbf800000, 0xb3800000)  /* -1 - 2^-24: tie */
        TEST_FS_OP2_RM(50, fsub.s, rmm, 0x00, 0x00000000, 0x3f800000, 0x3f800000)  /* x - x: -0 only in rdn */
        TEST_FS_OP2_RM(51, fadd.s, rmm, 0x05, 0x7f800000, 0x7f7fffff, 0x73800000)  /* max + half ulp */
        TEST_FS_OP2_RM(52, fmul.s, rmm, 0x05, 0x7f800000, 0x7f7fffff, 0x40000000)  /* overflow by rounding mode */
        TEST_FS_OP2_RM(53, fmul.s, rmm, 0x03, 0x00400001, 0x00800001, 0x3f000000)  /* underflow, inexact */
        TEST_FS_OP2_RM(54, fdiv.s, rmm, 0x01, 0x3eaaaaab, 0x3f800000, 0x40400000)
        TEST_FS_OP2_RM(55, fdiv.s, rmm, 0x01, 0xbeaaaaab, 0xbf800000, 0x40400000)
        TEST_FS_OP2(56, fmul.s, 0x00, 0xc1200000, 0x40200000, 0xc0800000)
        TEST_FS_OP2(57, fmul.s, 0x10, 0x7fc00000, 0x7f800000, 0x00000000)  /* inf * 0: invalid */
        TEST_FS_OP2(58, fmul.s, 0x00, 0x80000000, 0x80000000, 0x40a00000)
        TEST_FS_OP2(59, fmul.s, 0x00, 0x00400000, 0x00800000, 0x3f000000)  /* min normal / 2: exact subnormal, no UF */
        TEST_FS_OP2(60, fmul.s, 0x03, 0x00800000, 0x00ffffff, 0x3f000000)  /* rounds up to min normal: UF? tininess after rounding */
        TEST_FS_OP2(61, fmul.s, 0x00, 0x007fffff, 0x00fffffe, 0x3f000000)  /* exactly representable subnormal */
        TEST_FS_OP2(62, fdiv.s, 0x08, 0x7f800000, 0x3f800000, 0x00000000)  /* divide by zero */
        TEST_FS_OP2(63, fdiv.s, 0x08, 0xff800000, 0xbf800000, 0x00000000)  /* divide by zero, negative */
        TEST_FS_OP2(64, fdiv.s, 0x10, 0x7fc00000, 0x00000000, 0x00000000)  /* 0/0: invalid */
        TEST_FS_OP2(65, fdiv.s, 0x10, 0x7fc00000, 0x7f800000, 0x7f800000)
        TEST_FS_OP2(66, fdiv.s, 0x00, 0x00000000, 0x3f800000, 0x7f800000)
        TEST_FS_OP2(67, fdiv.s, 0x10, 0x7fc00000, 0x7f800001, 0x00000000)  /* sNaN / 0: NV only */
        TEST_FS_OP2(68, fdiv.s, 0x00, 0x7fc00000, 0x7fc00000, 0x00000000)  /* qNaN / 0: no flag */
        /* fsqrt */
        TEST_FP_S(69, 0x00, 0x40000000, 0x40800000, 0, 0, fsqrt.s fa3, fa0)
        TEST_FP_S(70, 0x01, 0x3fb504f3, 0x40000000, 0, 0, fsqrt.s fa3, fa0)
        TEST_FP_S(71, 0x01, 0x3fb504f4, 0x40000000, 0, 0, fsqrt.s fa3, fa0, rup)
        TEST_FP_S(72, 0x01, 0x3fb504f3, 0x40000000, 0, 0, fsqrt.s fa3, fa0, rtz)
        TEST_FP_S(73, 0x00, 0x80000000, 0x80000000, 0, 0, fsqrt.s fa3, fa0)  /* sqrt(-0) = -0 */
        TEST_FP_S(74, 0x10, 0x7fc00000, 0xbf800000, 0, 0, fsqrt.s fa3, fa0)  /* invalid */
        TEST_FP_S(75, 0x00, 0x7f800000, 0x7f800000, 0, 0, fsqrt.s fa3, fa0)
        TEST_FP_S(76, 0x10, 0x7fc00000, 0xff800000, 0, 0, fsqrt.s fa3, fa0)
        TEST_FP_S(77, 0x01, 0x1a3504f3, 0x00000001, 0, 0, fsqrt.s fa3, fa0)
        TEST_FP_S(78, 0x10, 0x7fc00000, 0x7f800001, 0, 0, fsqrt.s fa3, fa0)
        TEST_FP_S(79, 0x00, 0x7fc00000, 0x7fc00000, 0, 0, fsqrt.s fa3, fa0)
        /* fused multiply-add: signs, inf*0+qNaN, exact zero signs */
        TEST_FS_OP3(80, fmadd.s, 0x00, 0x40600000, 0x3f800000, 0x40200000, 0x3f800000)
        TEST_FS_OP3(81, fmadd.s, 0x01, 0x449a8666, 0xbf800000, 0xc49a6333, 0x3f8ccccd)
        TEST_FS_OP3(82, fmsub.s, 0x00, 0x3fc00000, 0x3f800000, 0x40200000, 0x3f800000)
        TEST_FS_OP3(83, fnmsub.s, 0x00, 0xbfc00000, 0x3f800000, 0x40200000, 0x3f800000)
        TEST_FS_OP3(84, fnmadd.s, 0x00, 0xc0600000, 0x3f800000, 0x40200000, 0x3f800000)
        TEST_FS_OP3(85, fmadd.s, 0x10, 0x7fc00000, 0x7f800000, 0x00000000, 0x7fc00000)  /* inf*0 + qNaN: NV (RISC-V) */
        TEST_FS_OP3(86, fmadd.s, 0x10, 0x7fc00000, 0x7f800000, 0x3f800000, 0xff800000)  /* inf - inf */
        TEST_FS_OP3(87, fmadd.s, 0x00, 0x00000000, 0x3f800000, 0x3f800000, 0xbf800000)  /* exact zero: +0 */
        TEST_FP_S(88, 0x00, 0x80000000, 0x3f800000, 0x3f800000, 0xbf800000, fmadd.s fa3, fa0, fa1, fa2, rdn)  /* exact zero in rdn: -0 */
        TEST_FS_OP3(89, fmadd.s, 0x00, 0x80000000, 0x80000000, 0x3f800000, 0x80000000)  /* -0*1 + -0 = -0 */
        TEST_FS_OP3(90, fnmadd.s, 0x00, 0x80000000, 0x00000000, 0x3f800000, 0x00000000)  /* -(0*1) - 0 = -0 */
        TEST_FS_OP3(91, fmadd.s, 0x00, 0x28800000, 0x3f800001, 0x3f800001, 0xbf800002)  /* fused: no intermediate rounding */
        TEST_FS_OP3(92, fmadd.s, 0x01, 0x3f800002, 0x3f800001, 0x3f800001, 0x33000000)
        TEST_FP_S(93, 0x01, 0x3f800002, 0x3f800001, 0x3f800001, 0x33000000, fmadd.s fa3, fa0, fa1, fa2, rtz)
        TEST_FP_S(94, 0x01, 0x3f800002, 0x3f800001, 0x3f800001, 0x33000000, fmadd.s fa3, fa0, fa1, fa2, rdn)
        TEST_FP_S(95, 0x01, 0x3f800003, 0x3f800001, 0x3f800001, 0x33000000, fmadd.s fa3, fa0, fa1, fa2, rup)
        TEST_FP_S(96, 0x01, 0x3f800002, 0x3f800001, 0x3f800001, 0x33000000, fmadd.s fa3, fa0, fa1, fa2, rmm)
        TEST_FS_OP3(97, fmadd.s, 0x00, 0xff800000, 0x7f7fffff, 0x40000000, 0xff800000)  /* overflowing product + -inf = -inf exactly */
        TEST_FS_OP3(98, fmadd.s, 0x10, 0x7fc00000, 0x7f800001, 0x3f800000, 0x3f800000)
        TEST_FS_OP3(99, fnmsub.s, 0x00, 0x7fc00000, 0x7fc00000, 0x3f800000, 0x3f800000)
        /* sign injection: no canonicalisation, but unboxed inputs read as the canonical NaN */
        TEST_FP_RAW(100, 0x00, 0xffffffffbfc00000, 0xffffffff3fc00000, 0xffffffffc0000000, 0, fsgnj.s fa3, fa0, fa1)
        TEST_FP_RAW(101, 0x00, 0xffffffff3fc00000, 0xffffffffbfc00000, 0xffffffff40000000, 0, fsgnj.s fa3, fa0, fa1)
        TEST_FP_RAW(102, 0x00, 0xffffffffbfc00000, 0xffffffff3fc00000, 0xffffffff40000000, 0, fsgnjn.s fa3, fa0, fa1)
        TEST_FP_RAW(103, 0x00, 0xffffffff3fc00000, 0xffffffffbfc00000, 0xffffffffc0000000, 0, fsgnjx.s fa3, fa0, fa1)
        TEST_FP_RAW(104, 0x00, 0xffffffffff800001, 0xffffffff7f800001, 0xffffffff80000000, 0, fsgnj.s fa3, fa0, fa1)  /* sNaN kept, no flag */
        TEST_FP_RAW(105, 0x00, 0xffffffffffc00000, 0x000000003f800000, 0xffffffffc0000000, 0, fsgnj.s fa3, fa0, fa1)  /* unboxed rs1: canonical NaN with sign */
        TEST_FP_RAW(106, 0x00, 0xffffffffc0400000, 0xffffffff40400000, 0xfffffffe3f800000, 0, fsgnjn.s fa3, fa0, fa1)  /* unboxed rs2: sign of canonical NaN (+) */
        TEST_FP_RAW(107, 0x00, 0xffffffff7fc00000, 0x7ff0000000000000, 0x7ff0000000000000, 0, fsgnjx.s fa3, fa0, fa1)  /* both unboxed */
        /* fmin/fmax: -0 < +0, NaN handling (2019 spec: minimumNumber) */
        TEST_FS_OP2(108, fmin.s, 0x00, 0x3f800000, 0x40200000, 0x3f800000)
        TEST_FS_OP2(109, fmin.s, 0x00, 0xc49a6333, 0xc49a6333, 0x3f8ccccd)
        TEST_FS_OP2(110, fmax.s, 0x00, 0x40200000, 0x40200000, 0x3f800000)
        TEST_FS_OP2(111, fmin.s, 0x00, 0x80000000, 0x00000000, 0x80000000)
        TEST_FS_OP2(112, fmin.s, 0x00, 0x80000000, 0x80000000, 0x00000000)
        TEST_FS_OP2(113, fmax.s, 0x00, 0x00000000, 0x00000000, 0x80000000)
        TEST_FS_OP2(114, fmax.s, 0x00, 0x00000000, 0x80000000, 0x00000000)
        TEST_FS_OP2(115, fmin.s, 0x00, 0x3f800000, 0x7fc00000, 0x3f800000)
        TEST_FS_OP2(116, fmax.s, 0x00, 0x3f800000, 0x3f800000, 0x7fc00000)
        TEST_FS_OP2(117, fmin.s, 0x10, 0x3f800000, 0x7f800001, 0x3f800000)  /* sNaN: NV, other operand */
        TEST_FS_OP2(118, fmax.s, 0x10, 0x7fc00000, 0x7fc00000, 0x7f800001)  /* both NaN: canonical, NV */
        TEST_FS_OP2(119, fmin.s, 0x00, 0x7fc00000, 0x7fc12345, 0xffc00001)  /* both NaN: canonical */
        TEST_FS_OP2(120, fmax.s, 0x00, 0x7f800000, 0xff800000, 0x7f800000)
        TEST_FS_OP2(121, fmin.s, 0x00, 0xff800000, 0xff800000, 0x7f800000)
        /* compares */
        TEST_FP_S_X(122, 0x00, 1, 0xbfae147b, 0xbfae147b, 0, feq.s a0, fa0, fa1)
        TEST_FP_S_X(123, 0x00, 1, 0xbfae147b, 0xbfae147b, 0, fle.s a0, fa0, fa1)
        TEST_FP_S_X(124, 0x00, 0, 0xbfae147b, 0xbfae147b, 0, flt.s a0, fa0, fa1)
        TEST_FP_S_X(125, 0x00, 1, 0xbfaf5c29, 0xbfae147b, 0, flt.s a0, fa0, fa1)
        TEST_FP_S_X(126, 0x00, 1, 0x00000000, 0x80000000, 0, feq.s a0, fa0, fa1)
        TEST_FP_S_X(127, 0x00, 1, 0x80000000, 0x00000000, 0, fle.s a0, fa0, fa1)
        TEST_FP_S_X(128, 0x00, 0, 0x80000000, 0x00000000, 0, flt.s a0, fa0, fa1)
        TEST_FP_S_X(129, 0x00, 0, 0x7fc00000, 0x00000000, 0, feq.s a0, fa0, fa1)  /* quiet compare: no flag */
        TEST_FP_S_X(130, 0x10, 0, 0x7f800001, 0x00000000, 0, feq.s a0, fa0, fa1)  /* sNaN: NV */
        TEST_FP_S_X(131, 0x10, 0, 0x7fc00000, 0x00000000, 0, flt.s a0, fa0, fa1)  /* signaling compare: NV */
        TEST_FP_S_X(132, 0x10, 0, 0x00000000, 0x7fc00000, 0, fle.s a0, fa0, fa1)
        TEST_FP_S_X(133, 0x00, 0, 0x7fc00000, 0x7fc00000, 0, feq.s a0, fa0, fa1)
        /* fclass */
        TEST_FP_S_X(134, 0x00, 1, 0xff800000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(135, 0x00, 2, 0xbfc00000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(136, 0x00, 4, 0x807fffff, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(137, 0x00, 8, 0x80000000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(138, 0x00, 16, 0x00000000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(139, 0x00, 32, 0x00000001, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(140, 0x00, 64, 0x3fc00000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(141, 0x00, 128, 0x7f800000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(142, 0x00, 256, 0x7f800001, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(143, 0x00, 512, 0x7fc00000, 0, 0, fclass.s a0, fa0)
        TEST_FP_S_X(144, 0x00, 512, 0xffffffff, 0, 0, fclass.s a0, fa0)
        TEST_FP_D_X(145, 0x00, 512, 0x000000003f800000, 0, 0, fclass.s a0, fa0)  /* unboxed: canonical qNaN */
        /* float -> integer, all rounding modes; NaN, inf and out-of-range saturate with NV */
        TEST_FP_S_X(146, 0x01, 0x0000000000000002, 0x40200000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(147, 0x01, 0xfffffffffffffffe, 0xc0200000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(148, 0x01, 0x0000000000000004, 0x40600000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(149, 0x01, 0x0000000000000000, 0xbf000000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(150, 0x01, 0x0000000000000000, 0x3f000000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(151, 0x01, 0x0000000000000001, 0x3f8ccccd, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(152, 0x01, 0xffffffffffffffff, 0xbf8ccccd, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(153, 0x01, 0x0000000000000002, 0x40200000, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(154, 0x01, 0xfffffffffffffffe, 0xc0200000, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(155, 0x01, 0x0000000000000003, 0x40600000, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(156, 0x01, 0x0000000000000000, 0xbf000000, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(157, 0x01, 0x0000000000000000, 0x3f000000, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(158, 0x01, 0x0000000000000001, 0x3f8ccccd, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(159, 0x01, 0xffffffffffffffff, 0xbf8ccccd, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_S_X(160, 0x01, 0x0000000000000002, 0x40200000, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(161, 0x01, 0xfffffffffffffffd, 0xc0200000, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(162, 0x01, 0x0000000000000003, 0x40600000, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(163, 0x01, 0xffffffffffffffff, 0xbf000000, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(164, 0x01, 0x0000000000000000, 0x3f000000, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(165, 0x01, 0x0000000000000001, 0x3f8ccccd, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(166, 0x01, 0xfffffffffffffffe, 0xbf8ccccd, 0, 0, fcvt.w.s a0, fa0, rdn)
        TEST_FP_S_X(167, 0x01, 0x0000000000000003, 0x40200000, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(168, 0x01, 0xfffffffffffffffe, 0xc0200000, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(169, 0x01, 0x0000000000000004, 0x40600000, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(170, 0x01, 0x0000000000000000, 0xbf000000, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(171, 0x01, 0x0000000000000001, 0x3f000000, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(172, 0x01, 0x0000000000000002, 0x3f8ccccd, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(173, 0x01, 0xffffffffffffffff, 0xbf8ccccd, 0, 0, fcvt.w.s a0, fa0, rup)
        TEST_FP_S_X(174, 0x01, 0x0000000000000003, 0x40200000, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(175, 0x01, 0xfffffffffffffffd, 0xc0200000, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(176, 0x01, 0x0000000000000004, 0x40600000, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(177, 0x01, 0xffffffffffffffff, 0xbf000000, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(178, 0x01, 0x0000000000000001, 0x3f000000, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(179, 0x01, 0x0000000000000001, 0x3f8ccccd, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(180, 0x01, 0xffffffffffffffff, 0xbf8ccccd, 0, 0, fcvt.w.s a0, fa0, rmm)
        TEST_FP_S_X(181, 0x01, 0x0000000000000000, 0x3f666666, 0, 0, fcvt.wu.s a0, fa0, rtz)
        TEST_FP_S_X(182, 0x01, 0x0000000000000000, 0xbf666666, 0, 0, fcvt.wu.s a0, fa0, rtz)
        TEST_FP_S_X(183, 0x10, 0x0000000000000000, 0xbf666666, 0, 0, fcvt.wu.s a0, fa0, rdn)
        TEST_FP_S_X(184, 0x01, 0x0000000000000000, 0xbf000000, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(185, 0x10, 0x0000000000000000, 0xbf800000, 0, 0, fcvt.wu.s a0, fa0, rtz)
        TEST_FP_S_X(186, 0x00, 0xffffffffb2d05e00, 0x4f32d05e, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(187, 0x10, 0xffffffffffffffff, 0x4f802666, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(188, 0x01, 0x0000000000000000, 0xbf666666, 0, 0, fcvt.wu.s a0, fa0, rup)
        TEST_FP_S_X(189, 0x10, 0x000000007fffffff, 0x7fc00000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(190, 0x10, 0x000000007fffffff, 0x7f800001, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(191, 0x10, 0x000000007fffffff, 0x7f800000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(192, 0x10, 0xffffffff80000000, 0xff800000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(193, 0x10, 0x000000007fffffff, 0x4f000000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(194, 0x10, 0xffffffff80000000, 0xcf000001, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(195, 0x00, 0xffffffff80000000, 0xcf000000, 0, 0, fcvt.w.s a0, fa0, rne)
        TEST_FP_S_X(196, 0x10, 0xffffffffffffffff, 0x7fc00000, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(197, 0x10, 0x0000000000000000, 0xff800000, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(198, 0x10, 0xffffffffffffffff, 0x7f800000, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(199, 0x10, 0x0000000000000000, 0xbf800000, 0, 0, fcvt.wu.s a0, fa0, rne)
        TEST_FP_S_X(200, 0x01, 0xfffffffffffffffe, 0xbfc00000, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(201, 0x00, 0x7facf78000000000, 0x5eff59ef, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(202, 0x10, 0x8000000000000000, 0xdf01103d, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(203, 0x10, 0x7fffffffffffffff, 0x5f502ab5, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(204, 0x10, 0x7fffffffffffffff, 0x7fc00000, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(205, 0x10, 0x8000000000000000, 0xff800000, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(206, 0x00, 0x8000000000000000, 0xdf000000, 0, 0, fcvt.l.s a0, fa0, rne)
        TEST_FP_S_X(207, 0x01, 0x000000000001e241, 0x47f1205a, 0, 0, fcvt.l.s a0, fa0, rmm)
        TEST_FP_S_X(208, 0x00, 0xd02ab50000000000, 0x5f502ab5, 0, 0, fcvt.lu.s a0, fa0, rne)
        TEST_FP_S_X(209, 0x10, 0xffffffffffffffff, 0x5f83d6c8, 0, 0, fcvt.lu.s a0, fa0, rne)
        TEST_FP_S_X(210, 0x01, 0x0000000000000000, 0xbecccccd, 0, 0, fcvt.lu.s a0, fa0, rne)
        TEST_FP_S_X(211, 0x10, 0x0000000000000000, 0xbf19999a, 0, 0, fcvt.lu.s a0, fa0, rne)
        TEST_FP_S_X(212, 0x10, 0xffffffffffffffff, 0x7fc00000, 0, 0, fcvt.lu.s a0, fa0, rne)
        TEST_FP_S_X(213, 0x10, 0xffffffffffffffff, 0x7f800000, 0, 0, fcvt.lu.s a0, fa0, rne)
        TEST_FP_S_X(214, 0x10, 0x0000000000000000, 0xc0400000, 0, 0, fcvt.lu.s a0, fa0, rtz)
        /* integer -> float */
        TEST_FP_S(215, 0x00, 0x40000000, 0x0000000000000002, 0, 0, fcvt.s.w fa3, a1, rne)
        TEST_FP_S(216, 0x00, 0xc0000000, 0xfffffffffffffffe, 0, 0, fcvt.s.w fa3, a1, rne)
        TEST_FP_S(217, 0x00, 0xcf000000, 0xffffffff80000000, 0, 0, fcvt.s.w fa3, a1, rne)
        TEST_FP_S(218, 0x00, 0x41700000, 0x123456780000000f, 0, 0, fcvt.s.w fa3, a1, rne)  /* upper bits ignored */
        TEST_FP_S(219, 0x01, 0x4f800000, 0x00000000ffffffff, 0, 0, fcvt.s.wu fa3, a1, rne)
        TEST_FP_S(220, 0x01, 0x4f7fffff, 0x00000000ffffffff, 0, 0, fcvt.s.wu fa3, a1, rtz)
        TEST_FP_S(221, 0x01, 0x4b800000, 0x0000000001000001, 0, 0, fcvt.s.w fa3, a1, rne)  /* 2^24+1: tie */
        TEST_FP_S(222, 0x01, 0xcb800002, 0xfffffffffefffffd, 0, 0, fcvt.s.l fa3, a1, rne)
        TEST_FP_S(223, 0x01, 0x5f800000, 0xffffffffffffffff, 0, 0, fcvt.s.lu fa3, a1, rne)
        TEST_FP_S(224, 0x01, 0x4b800000, 0x0000000001000001, 0, 0, fcvt.s.w fa3, a1, rtz)  /* 2^24+1: tie */
        TEST_FP_S(225, 0x01, 0xcb800001, 0xfffffffffefffffd, 0, 0, fcvt.s.l fa3, a1, rtz)
        TEST_FP_S(226, 0x01, 0x5f7fffff, 0xffffffffffffffff, 0, 0, fcvt.s.lu fa3, a1, rtz)
        TEST_FP_S(227, 0x01, 0x4b800000, 0x0000000001000001, 0, 0, fcvt.s.w fa3, a1, rdn)  /* 2^24+1: tie */
        TEST_FP_S(228, 0x01, 0xcb800002, 0xfffffffffefffffd, 0, 0, fcvt.s.l fa3, a1, rdn)
        TEST_FP_S(229, 0x01, 0x5f7fffff, 0xffffffffffffffff, 0, 0, fcvt.s.lu fa3, a1, rdn)
        TEST_FP_S(230, 0x01, 0x4b800001, 0x0000000001000001, 0, 0, fcvt.s.w fa3, a1, rup)  /* 2^24+1: tie */
        TEST_FP_S(231, 0x01, 0xcb800001, 0xfffffffffefffffd, 0, 0, fcvt.s.l fa3, a1, rup)
        TEST_FP_S(232, 0x01, 0x5f800000, 0xffffffffffffffff, 0, 0, fcvt.s.lu fa3, a1, rup)
        TEST_FP_S(233, 0x01, 0x4b800001, 0x0000000001000001, 0, 0, fcvt.s.w fa3, a1, rmm)  /* 2^24+1: tie */
        TEST_FP_S(234, 0x01, 0xcb800002, 0xfffffffffefffffd, 0, 0, fcvt.s.l fa3, a1, rmm)
        TEST_FP_S(235, 0x01, 0x5f800000, 0xffffffffffffffff, 0, 0, fcvt.s.lu fa3, a1, rmm)
        TEST_FP_S(236, 0x00, 0xdf000000, 0x8000000000000000, 0, 0, fcvt.s.l fa3, a1, rne)
        TEST_FP_S(237, 0x00, 0x00000000, 0x0000000000000000, 0, 0, fcvt.s.l fa3, a1, rne)

        /* moves, loads and stores: NaN boxing */
        TEST_FP_D_X(300, 0x00, 0xffffffff80000000, 0, 0, 0,
                    li a1, 0x80000000; fmv.w.x fa0, a1; fmv.x.w a0, fa0)
        TEST_FP_D_X(301, 0x00, 0xffffffff9abcdef0, 0x123456789abcdef0, 0, 0,
                    fmv.x.w a0, fa0)
        TEST_FP_D_X(302, 0x00, 0xffffffff87654321, 0, 0, 0,
                    li a1, 0x1234567887654321; fmv.w.x fa3, a1; fmv.x.d a0, fa3)
        TEST_FP_D_X(303, 0x00, 0xffffffff3f800000, 0, 0, 0,
                    la a1, fdata; flw fa3, 0(a1); fmv.x.d a0, fa3)
        TEST_FP_D_X(304, 0x00, 0x0000000055667788, 0x1122334455667788, 0, 0,
                    la a1, fscratch; fsw fa0, 4(a1); lwu a0, 4(a1))
        TEST_FP_D_X(305, 0x00, 0xffffffff00800000, 0, 0, 0,
                    la a1, fdata; flw fa3, 5(a1); fmv.x.d a0, fa3)  /* misaligned flw */
        TEST_FP_D_X(306, 0x00, 0x0000000055667788, 0x1122334455667788, 0, 0,
                    la a1, fscratch; fsw fa0, 13(a1); lwu a0, 13(a1)) /* misaligned fsw */

        /* unboxed operands read as the canonical NaN */
        TEST_FP_RAW(307, 0x00, 0xffffffff7fc00000, 0x000000003f800000, 0xffffffff3f800000, 0,
                    fadd.s fa3, fa0, fa1)
        TEST_FP_RAW(308, 0x00, 0xffffffff7fc00000, 0xffffffff3f800000, 0xfffffffe3f800000, 0,
                    fmul.s fa3, fa0, fa1)
        TEST_FP_RAW(309, 0x00, 0x7ff8000000000000, 0x000000003f800000, 0, 0,
                    fcvt.d.s fa3, fa0)
        TEST_FP_RAW(310, 0x00, 0xffffffff7fc00000, 0x7fffffff40800000, 0, 0,
                    fsqrt.s fa3, fa0)
        TEST_FP_RAW(311, 0x00, 0xffffffff7fc00000, 0xffffffff3f800000, 0xffffffff3f800000, 0x000000003f800000,
                    fmadd.s fa3, fa0, fa1, fa2)
        TEST_FP_D_X(312, 0x00, 0, 0x000000003f800000, 0, 0, feq.s a0, fa0, fa0)
        TEST_FP_D_X(313, FF_NV, 0, 0x000000003f800000, 0, 0, fle.s a0, fa0, fa0)
        TEST_FP_D_X(314, FF_NV, 0x7fffffff, 0x000000003f800000, 0, 0, fcvt.w.s a0, fa0, rtz)
        TEST_FP_RAW(315, 0x00, 0xffffffff3f800000, 0x0000000040000000, 0xffffffff3f800000, 0,
                    fmin.s fa3, fa0, fa1)
        TEST_FP_RAW(316, FF_NV, 0xffffffff7fc00000, 0xffffffff7f800000, 0xffffffff00000000, 0x0000000012345678,
                    fmadd.s fa3, fa0, fa1, fa2)  /* inf * 0 + unboxed: NV */

        /* dynamic rounding mode */
        TEST_FP_S(317, FF_NX, 0x3f800000, 0x3f800000, 0x33800001, 0,
                  fsrmi 1; fadd.s fa3, fa0, fa1)
        TEST_FP_S(318, FF_NX, 0x3f800001, 0x3f800000, 0x33800001, 0,
                  fsrmi 3; fadd.s fa3, fa0, fa1, dyn)
        TEST_FP_S(319, FF_NX, 0x3f800001, 0x3f800000, 0x33800001, 0,
                  fsrmi 3; fadd.s fa3, fa0, fa1, rne)   /* static overrides frm */
        TEST_FP_S(320, FF_NX, 0xbf800001, 0xbf800000, 0xb3800000, 0,
                  fsrmi 4; fadd.s fa3, fa0, fa1)        /* rmm: tie away from zero */
        TEST_FP_S(321, FF_NX | FF_UF, 0x00200000, 0x00800001, 0x3e800000, 0,
                  fsrmi 2; fmul.s fa3, fa0, fa1)        /* rdn, subnormal result */
        TEST_CASE(322, a0, 2, fsrmi 2; frrm a0)
        TEST_CASE(323, a0, 2, fsrmi a0, 4; mv a0, a0)
        TEST_CASE(324, a0, 4, frrm a0)
        TEST_CASE(325, a0, 0x83, csrr a0, fcsr)

        /* fcsr, frm and fflags masking */
        TEST_CASE(326, a0, 0xff, li a1, 0xffffffff; csrw fcsr, a1; csrr a0, fcsr)
        TEST_CASE(327, a0, 0x07, frrm a0)
        TEST_CASE(328, a0, 0x1f, frflags a0)
        TEST_CASE(329, a0, 0x1f, li a1, 0x3ff; fsflags a0, a1)
        TEST_CASE(330, a0, 0x1f, frflags a0)
        TEST_CASE(331, a0, 0xe0, csrwi fflags, 0; csrr a0, fcsr)
        TEST_CASE(332, a0, 0x05, csrwi frm, 5; frrm a0)
        TEST_CASE(333, a0, 0xa0, csrr a0, fcsr)
        TEST_CASE(334, a0, 0x15, csrrsi a0, fflags, 0x15; frflags a0)

        /* frm = 5, 6, 7: static rounding still works, dynamic is illegal */
        TEST_FP_S(335, 0x00, 0x40000000, 0x3f800000, 0x3f800000, 0,
                  csrwi frm, 5; fadd.s fa3, fa0, fa1, rtz)
        csrwi frm, 5
        TEST_TRAP_TVAL(336, CAUSE_ILLEGAL, FADD_S_DYN, .word FADD_S_DYN)
        csrwi frm, 6
        TEST_TRAP_TVAL(337, CAUSE_ILLEGAL, FADD_S_DYN, .word FADD_S_DYN)
        csrwi frm, 7
        TEST_TRAP_TVAL(338, CAUSE_ILLEGAL, FADD_S_DYN, .word FADD_S_DYN)
        TEST_TRAP(339, CAUSE_ILLEGAL, fcvt.s.w fa3, a1)   /* dyn rm: illegal with frm=7 */
        csrwi frm, 0
        /* reserved static rounding modes 5 and 6 */
        TEST_ILLEGAL32(340, FADD_S_RM5)
        TEST_ILLEGAL32(341, FADD_S_RM6)
        TEST_ILLEGAL32(342, FCVT_S_W_RM5)

        /* mstatus.FS */
        TEST_CASE(343, a0, MSTATUS_FS_DIRTY, csrr a0, mstatus; li a1, MSTATUS_FS; and a0, a0, a1)
        TEST_CASE(344, a0, 1, csrr a0, mstatus; srli a0, a0, 63)   /* SD */
        /* (Whether an FP instruction that changes no FP state, such as
           fmv.x.w, leaves FS Clean is not checked: QEMU 7.2 does, deja
           marks it Dirty.) */
        TEST_CASE(345, a0, MSTATUS_FS_CLEAN,
                  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_CLEAN; csrs mstatus, a1;
                  csrr a0, mstatus; li a1, MSTATUS_FS; and a0, a0, a1)
        TEST_CASE(346, a0, 0, csrr a0, mstatus; srli a0, a0, 63)   /* SD clear */
        TEST_CASE(347, a0, MSTATUS_FS_DIRTY,
                  fadd.s fa3, fa0, fa0; csrr a0, mstatus; li a1, MSTATUS_FS; and a0, a0, a1)
        TEST_CASE(348, a0, MSTATUS_FS_DIRTY,
                  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_CLEAN; csrs mstatus, a1;
                  la a1, fdata; flw fa4, 0(a1); csrr a0, mstatus; li a1, MSTATUS_FS; and a0, a0, a1)
        TEST_CASE(349, a0, MSTATUS_FS_DIRTY,
                  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_INITIAL; csrs mstatus, a1;
                  csrwi fflags, 1; csrr a0, mstatus; li a1, MSTATUS_FS; and a0, a0, a1)
        TEST_CASE(350, a0, MSTATUS_FS_DIRTY,
                  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_CLEAN; csrs mstatus, a1;
                  li a2, 5; fmv.w.x fa4, a2; csrr a0, mstatus; li a1, MSTATUS_FS; and a0, a0, a1)
        /* FS = Off: every F instruction and the FP CSRs are illegal */
        li a1, MSTATUS_FS
        csrc mstatus, a1
        TEST_TRAP(351, CAUSE_ILLEGAL, fadd.s fa3, fa0, fa1)
        TEST_TRAP(352, CAUSE_ILLEGAL, fmv.x.w a0, fa0)
        TEST_TRAP(353, CAUSE_ILLEGAL, fmv.w.x fa0, a0)
        la a1, fdata
        TEST_TRAP(354, CAUSE_ILLEGAL, flw fa0, 0(a1))
        TEST_TRAP(355, CAUSE_ILLEGAL, fsw fa0, 0(a1))
        TEST_TRAP(356, CAUSE_ILLEGAL, csrr a0, fcsr)
        TEST_TRAP(357, CAUSE_ILLEGAL, csrr a0, fflags)
        TEST_TRAP(358, CAUSE_ILLEGAL, csrwi frm, 1)
        TEST_TRAP(359, CAUSE_ILLEGAL, fmadd.s fa3, fa0, fa1, fa2)
        TEST_TRAP(360, CAUSE_ILLEGAL, fcvt.w.s a0, fa0)
        TEST_TRAP(361, CAUSE_ILLEGAL, fclass.s a0, fa0)
        TEST_TRAP_TVAL(362, CAUSE_ILLEGAL, 0x0005a507, flw fa0, 0(a1))   /* mtval = insn */
        li a1, MSTATUS_FS_INITIAL
        csrs mstatus, a1

        j pass
RVTEST_CODE_END

RVTEST_DATA_BEGIN
        .balign 16
fdata:
        .word 0x3f800000, 0x80000000, 0x00bf8000, 0x00000000
        .balign 16
fscratch:
        .fill 32, 1, 0
RVTEST_DATA_END
