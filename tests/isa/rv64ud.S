/*
 * rv64ud: double precision, and conversions between single and double.
 * Results and fflags are checked after every case.  Corner cases: the five
 * rounding modes, overflow, underflow (tininess after rounding), signed
 * zeros, canonical NaNs, signalling NaNs, fused multiply-add without an
 * intermediate rounding, saturating conversions (NaN -> max, -inf -> min,
 * negative -> 0 for unsigned), and reserved rounding modes.
 *
 * Expected values were computed with exact rational arithmetic (IEEE 754
 * rounding of the exact result) and checked on QEMU 7.2.
 */
#include "test_macros.h"

#define FADD_D_RM5 0x02b556d3    /* fadd.d fa3, fa0, fa1, rm=5 */
#define FADD_D_DYN 0x02b576d3    /* fadd.d fa3, fa0, fa1, dyn */
#define FCVT_S_D_RM6 0x401566d3  /* fcvt.s.d fa3, fa0, rm=6 */
#define FCVT_D_S_RM5 0x420556d3  /* fcvt.d.s fa3, fa0, rm=5 */

RVTEST_CODE_BEGIN

        /* fadd/fsub/fmul/fdiv */
        TEST_FD_OP2(2, fadd.d, 0x00, 0x400c000000000000, 0x4004000000000000, 0x3ff0000000000000)
        TEST_FD_OP2(3, fadd.d, 0x01, 0xc093480000000000, 0xc0934c6666666666, 0x3ff199999999999a)
        TEST_FD_OP2(4, fadd.d, 0x01, 0x400921fb55206ddf, 0x400921fb53c8d4f1, 0x3e45798ee2308c3a)
        TEST_FD_OP2(5, fadd.d, 0x10, 0x7ff8000000000000, 0x7ff0000000000000, 0xfff0000000000000)
        TEST_FD_OP2(6, fadd.d, 0x10, 0x7ff8000000000000, 0x7ff0000000000001, 0x3ff0000000000000)
        TEST_FD_OP2(7, fadd.d, 0x00, 0x7ff8000000000000, 0xfff8000000012345, 0x3ff0000000000000)  /* payload dropped */
        TEST_FD_OP2(8, fadd.d, 0x05, 0x7ff0000000000000, 0x7fefffffffffffff, 0x7fefffffffffffff)
        TEST_FD_OP2(9, fadd.d, 0x00, 0x0000000000000000, 0x0000000000000000, 0x8000000000000000)
        TEST_FD_OP2(10, fadd.d, 0x00, 0x8000000000000000, 0x8000000000000000, 0x8000000000000000)
        TEST_FD_OP2(11, fsub.d, 0x00, 0x0000000000000000, 0x3ff8000000000000, 0x3ff8000000000000)
        TEST_FD_OP2(12, fadd.d, 0x00, 0x0000000000000002, 0x0000000000000001, 0x0000000000000001)
        TEST_FD_OP2(13, fsub.d, 0x00, 0x000fffffffffffff, 0x0010000000000000, 0x0000000000000001)
        TEST_FD_OP2_RM(14, fadd.d, rne, 0x01, 0x3ff0000000000001, 0x3ff0000000000000, 0x3ca0000000000001)  /* 1 + (2^-53 + ulp) */
        TEST_FD_OP2_RM(15, fadd.d, rne, 0x01, 0xbff0000000000000, 0xbff0000000000000, 0xbca0000000000000)  /* tie */
        TEST_FD_OP2_RM(16, fsub.d, rne, 0x00, 0x0000000000000000, 0x3ff0000000000000, 0x3ff0000000000000)
        TEST_FD_OP2_RM(17, fmul.d, rne, 0x05, 0x7ff0000000000000, 0x7fefffffffffffff, 0x4000000000000000)
        TEST_FD_OP2_RM(18, fmul.d, rne, 0x03, 0x0008000000000000, 0x0010000000000001, 0x3fe0000000000000)  /* underflow */
        TEST_FD_OP2_RM(19, fdiv.d, rne, 0x01, 0x3fd5555555555555, 0x3ff0000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(20, fdiv.d, rne, 0x01, 0xbfe5555555555555, 0xc000000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(21, fadd.d, rtz, 0x01, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ca0000000000001)  /* 1 + (2^-53 + ulp) */
        TEST_FD_OP2_RM(22, fadd.d, rtz, 0x01, 0xbff0000000000000, 0xbff0000000000000, 0xbca0000000000000)  /* tie */
        TEST_FD_OP2_RM(23, fsub.d, rtz, 0x00, 0x0000000000000000, 0x3ff0000000000000, 0x3ff0000000000000)
        TEST_FD_OP2_RM(24, fmul.d, rtz, 0x05, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x4000000000000000)
        TEST_FD_OP2_RM(25, fmul.d, rtz, 0x03, 0x0008000000000000, 0x0010000000000001, 0x3fe0000000000000)  /* underflow */
        TEST_FD_OP2_RM(26, fdiv.d, rtz, 0x01, 0x3fd5555555555555, 0x3ff0000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(27, fdiv.d, rtz, 0x01, 0xbfe5555555555555, 0xc000000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(28, fadd.d, rdn, 0x01, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ca0000000000001)  /* 1 + (2^-53 + ulp) */
        TEST_FD_OP2_RM(29, fadd.d, rdn, 0x01, 0xbff0000000000001, 0xbff0000000000000, 0xbca0000000000000)  /* tie */
        TEST_FD_OP2_RM(30, fsub.d, rdn, 0x00, 0x8000000000000000, 0x3ff0000000000000, 0x3ff0000000000000)
        TEST_FD_OP2_RM(31, fmul.d, rdn, 0x05, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x4000000000000000)
        TEST_FD_OP2_RM(32, fmul.d, rdn, 0x03, 0x0008000000000000, 0x0010000000000001, 0x3fe0000000000000)  /* underflow */
        TEST_FD_OP2_RM(33, fdiv.d, rdn, 0x01, 0x3fd5555555555555, 0x3ff0000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(34, fdiv.d, rdn, 0x01, 0xbfe5555555555556, 0xc000000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(35, fadd.d, rup, 0x01, 0x3ff0000000000001, 0x3ff0000000000000, 0x3ca0000000000001)  /* 1 + (2^-53 + ulp) */
        TEST_FD_OP2_RM(36, fadd.d, rup, 0x01, 0xbff0000000000000, 0xbff0000000000000, 0xbca0000000000000)  /* tie */
        TEST_FD_OP2_RM(37, fsub.d, rup, 0x00, 0x0000000000000000, 0x3ff0000000000000, 0x3ff0000000000000)
        TEST_FD_OP2_RM(38, fmul.d, rup, 0x05, 0x7ff0000000000000, 0x7fefffffffffffff, 0x4000000000000000)
        TEST_FD_OP2_RM(39, fmul.d, rup, 0x03, 0x0008000000000001, 0x0010000000000001, 0x3fe0000000000000)  /* underflow */
        TEST_FD_OP2_RM(40, fdiv.d, rup, 0x01, 0x3fd5555555555556, 0x3ff0000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(41, fdiv.d, rup, 0x01, 0xbfe5555555555555, 0xc000000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(42, fadd.d, rmm, 0x01, 0x3ff0000000000001, 0x3ff0000000000000, 0x3ca0000000000001)  /* 1 + (2^-53 + ulp) */
        TEST_FD_OP2_RM(43, fadd.d, rmm, 0x01, 0xbff0000000000001, 0xbff0000000000000, 0xbca0000000000000)  /* tie */
        TEST_FD_OP2_RM(44, fsub.d, rmm, 0x00, 0x0000000000000000, 0x3ff0000000000000, 0x3ff0000000000000)
        TEST_FD_OP2_RM(45, fmul.d, rmm, 0x05, 0x7ff0000000000000, 0x7fefffffffffffff, 0x4000000000000000)
        TEST_FD_OP2_RM(46, fmul.d, rmm, 0x03, 0x0008000000000001, 0x0010000000000001, 0x3fe0000000000000)  /* underflow */
        TEST_FD_OP2_RM(47, fdiv.d, rmm, 0x01, 0x3fd5555555555555, 0x3ff0000000000000, 0x4008000000000000)
        TEST_FD_OP2_RM(48, fdiv.d, rmm, 0x01, 0xbfe5555555555555, 0xc000000000000000, 0x4008000000000000)
        TEST_FD_OP2(49, fmul.d, 0x00, 0xc024000000000000, 0x4004000000000000, 0xc010000000000000)
        TEST_FD_OP2(50, fmul.d, 0x10, 0x7ff8000000000000, 0x7ff0000000000000, 0x8000000000000000)
        TEST_FD_OP2(51, fmul.d, 0x00, 0x0008000000000000, 0x0010000000000000, 0x3fe0000000000000)
        TEST_FD_OP2(52, fmul.d, 0x03, 0x0010000000000000, 0x001fffffffffffff, 0x3fe0000000000000)  /* rounds to min normal */
        TEST_FD_OP2(53, fdiv.d, 0x08, 0x7ff0000000000000, 0x3ff0000000000000, 0x0000000000000000)
        TEST_FD_OP2(54, fdiv.d, 0x08, 0xfff0000000000000, 0xbff0000000000000, 0x0000000000000000)
        TEST_FD_OP2(55, fdiv.d, 0x10, 0x7ff8000000000000, 0x8000000000000000, 0x8000000000000000)
        TEST_FD_OP2(56, fdiv.d, 0x10, 0x7ff8000000000000, 0x7ff0000000000000, 0x7ff0000000000000)
        TEST_FD_OP2(57, fdiv.d, 0x00, 0x8000000000000000, 0x3ff0000000000000, 0xfff0000000000000)
        /* fsqrt.d */
        TEST_FP_D(58, 0x00, 0x4000000000000000, 0x4010000000000000, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(59, 0x01, 0x3ff6a09e667f3bcd, 0x4000000000000000, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(60, 0x01, 0x3ff6a09e667f3bcd, 0x4000000000000000, 0, 0, fsqrt.d fa3, fa0, rup)
        TEST_FP_D(61, 0x01, 0x3ff6a09e667f3bcc, 0x4000000000000000, 0, 0, fsqrt.d fa3, fa0, rdn)
        TEST_FP_D(62, 0x00, 0x8000000000000000, 0x8000000000000000, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(63, 0x10, 0x7ff8000000000000, 0xc010000000000000, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(64, 0x00, 0x7ff0000000000000, 0x7ff0000000000000, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(65, 0x00, 0x1e60000000000000, 0x0000000000000001, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(66, 0x10, 0x7ff8000000000000, 0x7ff0000000000001, 0, 0, fsqrt.d fa3, fa0, rne)
        TEST_FP_D(67, 0x01, 0x1fc1297872d9cbae, 0x000012688b70e62b, 0, 0, fsqrt.d fa3, fa0, rne)
        /* fused multiply-add */
        TEST_FP_D(68, 0x00, 0x400c000000000000, 0x3ff0000000000000, 0x4004000000000000, 0x3ff0000000000000, fmadd.d fa3, fa0, fa1, fa2, rne)
        TEST_FP_D(69, 0x00, 0x3ff8000000000000, 0x3ff0000000000000, 0x4004000000000000, 0x3ff0000000000000, fmsub.d fa3, fa0, fa1, fa2, rne)
        TEST_FP_D(70, 0x00, 0xbff8000000000000, 0x3ff0000000000000, 0x4004000000000000, 0x3ff0000000000000, fnmsub.d fa3, fa0, fa1, fa2, rne)
        TEST_FP_D(71, 0x00, 0xc00c000000000000, 0x3ff0000000000000, 0x4004000000000000, 0x3ff0000000000000, fnmadd.d fa3, fa0, fa1, fa2, rne)
        TEST_FP_D(72, 0x10, 0x7ff8000000000000, 0x8000000000000000, 0x7ff0000000000000, 0x7ff8000000000000, fmadd.d fa3, fa0, fa1, fa2, rne)  /* 0*inf + qNaN: NV */
        TEST_FP_D(73, 0x00, 0x8000000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0xbff0000000000000, fmadd.d fa3, fa0, fa1, fa2, rdn)
        TEST_FP_D(74, 0x00, 0x3970000000000000, 0x3ff0000000000001, 0x3ff0000000000001, 0xbff0000000000002, fmadd.d fa3, fa0, fa1, fa2, rne)  /* exact 2^-104 */
        TEST_FP_D(75, 0x01, 0x3ff0000000000003, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ca0000000000000, fmadd.d fa3, fa0, fa1, fa2, rne)
        TEST_FP_D(76, 0x01, 0x3ff0000000000002, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ca0000000000000, fmadd.d fa3, fa0, fa1, fa2, rtz)
        TEST_FP_D(77, 0x01, 0x3ff0000000000002, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ca0000000000000, fmadd.d fa3, fa0, fa1, fa2, rdn)
        TEST_FP_D(78, 0x01, 0x3ff0000000000003, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ca0000000000000, fmadd.d fa3, fa0, fa1, fa2, rup)
        TEST_FP_D(79, 0x01, 0x3ff0000000000003, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ca0000000000000, fmadd.d fa3, fa0, fa1, fa2, rmm)
        TEST_FP_D(80, 0x10, 0x7ff8000000000000, 0x7ff0000000000001, 0x3ff0000000000000, 0x3ff0000000000000, fnmadd.d fa3, fa0, fa1, fa2, rne)
        TEST_FP_D(81, 0x10, 0x7ff8000000000000, 0x7ff0000000000000, 0x3ff0000000000000, 0x7ff0000000000000, fmsub.d fa3, fa0, fa1, fa2, rne)
        /* sign injection, min/max, compares, fclass */
        TEST_FD_OP2(82, fsgnj.d, 0x00, 0xbff8000000000000, 0x3ff8000000000000, 0xc000000000000000)
        TEST_FD_OP2(83, fsgnjn.d, 0x00, 0x3ff8000000000000, 0x3ff8000000000000, 0xc000000000000000)
        TEST_FD_OP2(84, fsgnjx.d, 0x00, 0x3ff8000000000000, 0xbff8000000000000, 0xc000000000000000)
        TEST_FD_OP2(85, fsgnj.d, 0x00, 0xfff0000000000001, 0x7ff0000000000001, 0x8000000000000000)
        TEST_FD_OP2(86, fsgnjn.d, 0x00, 0x800000003f800000, 0x000000003f800000, 0x3ff0000000000000)
        TEST_FD_OP2(87, fmin.d, 0x00, 0x3ff0000000000000, 0x4004000000000000, 0x3ff0000000000000)
        TEST_FD_OP2(88, fmax.d, 0x00, 0x4004000000000000, 0x4004000000000000, 0x3ff0000000000000)
        TEST_FD_OP2(89, fmin.d, 0x00, 0x8000000000000000, 0x0000000000000000, 0x8000000000000000)
        TEST_FD_OP2(90, fmax.d, 0x00, 0x0000000000000000, 0x0000000000000000, 0x8000000000000000)
        TEST_FD_OP2(91, fmin.d, 0x00, 0x8000000000000000, 0x8000000000000000, 0x0000000000000000)
        TEST_FD_OP2(92, fmax.d, 0x00, 0x0000000000000000, 0x8000000000000000, 0x0000000000000000)
        TEST_FD_OP2(93, fmin.d, 0x00, 0xc008000000000000, 0x7ff8000000000000, 0xc008000000000000)
        TEST_FD_OP2(94, fmax.d, 0x00, 0xc008000000000000, 0x7ff8000000000000, 0xc008000000000000)
        TEST_FD_OP2(95, fmin.d, 0x10, 0x3ff0000000000000, 0x7ff0000000000001, 0x3ff0000000000000)
        TEST_FD_OP2(96, fmax.d, 0x10, 0x3ff0000000000000, 0x7ff0000000000001, 0x3ff0000000000000)
        TEST_FD_OP2(97, fmin.d, 0x10, 0x7ff8000000000000, 0x7ff0000000000001, 0x7ff8000000000000)
        TEST_FD_OP2(98, fmax.d, 0x10, 0x7ff8000000000000, 0x7ff0000000000001, 0x7ff8000000000000)
        TEST_FD_OP2(99, fmin.d, 0x00, 0xfff0000000000000, 0xfff0000000000000, 0x7ff0000000000000)
        TEST_FD_OP2(100, fmax.d, 0x00, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff0000000000000)
        TEST_FP_D_X(101, 0x00, 1, 0xbff5c28f5c28f5c3, 0xbff5c28f5c28f5c3, 0, feq.d a0, fa0, fa1)
        TEST_FP_D_X(102, 0x00, 0, 0xbff5c28f5c28f5c3, 0xbff5c28f5c28f5c3, 0, flt.d a0, fa0, fa1)
        TEST_FP_D_X(103, 0x00, 1, 0xbff5c28f5c28f5c3, 0xbff5c28f5c28f5c3, 0, fle.d a0, fa0, fa1)
        TEST_FP_D_X(104, 0x00, 0, 0xbff5eb851eb851ec, 0xbff5c28f5c28f5c3, 0, feq.d a0, fa0, fa1)
        TEST_FP_D_X(105, 0x00, 1, 0xbff5eb851eb851ec, 0xbff5c28f5c28f5c3, 0, flt.d a0, fa0, fa1)
        TEST_FP_D_X(106, 0x00, 1, 0xbff5eb851eb851ec, 0xbff5c28f5c28f5c3, 0, fle.d a0, fa0, fa1)
        TEST_FP_D_X(107, 0x00, 1, 0x0000000000000000, 0x8000000000000000, 0, feq.d a0, fa0, fa1)
        TEST_FP_D_X(108, 0x00, 0, 0x0000000000000000, 0x8000000000000000, 0, flt.d a0, fa0, fa1)
        TEST_FP_D_X(109, 0x00, 1, 0x0000000000000000, 0x8000000000000000, 0, fle.d a0, fa0, fa1)
        TEST_FP_D_X(110, 0x00, 0, 0x7ff8000000000000, 0x0000000000000000, 0, feq.d a0, fa0, fa1)
        TEST_FP_D_X(111, 0x10, 0, 0x7ff8000000000000, 0x0000000000000000, 0, flt.d a0, fa0, fa1)
        TEST_FP_D_X(112, 0x10, 0, 0x7ff8000000000000, 0x0000000000000000, 0, fle.d a0, fa0, fa1)
        TEST_FP_D_X(113, 0x10, 0, 0x7ff0000000000001, 0x0000000000000000, 0, feq.d a0, fa0, fa1)
        TEST_FP_D_X(114, 0x10, 0, 0x7ff0000000000001, 0x0000000000000000, 0, flt.d a0, fa0, fa1)
        TEST_FP_D_X(115, 0x10, 0, 0x7ff0000000000001, 0x0000000000000000, 0, fle.d a0, fa0, fa1)
        TEST_FP_D_X(116, 0x00, 0, 0xfff0000000000000, 0x7fefffffffffffff, 0, feq.d a0, fa0, fa1)
        TEST_FP_D_X(117, 0x00, 1, 0xfff0000000000000, 0x7fefffffffffffff, 0, flt.d a0, fa0, fa1)
        TEST_FP_D_X(118, 0x00, 1, 0xfff0000000000000, 0x7fefffffffffffff, 0, fle.d a0, fa0, fa1)
        TEST_FP_D_X(119, 0x00, 1, 0xfff0000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(120, 0x00, 2, 0xbff8000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(121, 0x00, 4, 0x800fffffffffffff, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(122, 0x00, 8, 0x8000000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(123, 0x00, 16, 0x0000000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(124, 0x00, 32, 0x0000000000000001, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(125, 0x00, 64, 0x3ff8000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(126, 0x00, 128, 0x7ff0000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(127, 0x00, 256, 0x7ff0000000000001, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(128, 0x00, 512, 0x7ff8000000000000, 0, 0, fclass.d a0, fa0)
        TEST_FP_D_X(129, 0x00, 512, 0xffffffff3f800000, 0, 0, fclass.d a0, fa0)
        /* conversions between formats */
        TEST_FP_D(130, 0x01, 0xffffffff3eaaaaab, 0x3fd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rne)
        TEST_FP_D(131, 0x01, 0xffffffffbeaaaaab, 0xbfd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rne)
        TEST_FP_D(132, 0x05, 0xffffffff7f800000, 0x47efffffffffffff, 0, 0, fcvt.s.d fa3, fa0, rne)  /* rounds past max single */
        TEST_FP_D(133, 0x03, 0xffffffff00000001, 0x36a0000000000001, 0, 0, fcvt.s.d fa3, fa0, rne)  /* tiny */
        TEST_FP_D(134, 0x01, 0xffffffff3eaaaaaa, 0x3fd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rtz)
        TEST_FP_D(135, 0x01, 0xffffffffbeaaaaaa, 0xbfd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rtz)
        TEST_FP_D(136, 0x01, 0xffffffff7f7fffff, 0x47efffffffffffff, 0, 0, fcvt.s.d fa3, fa0, rtz)  /* rounds past max single */
        TEST_FP_D(137, 0x03, 0xffffffff00000001, 0x36a0000000000001, 0, 0, fcvt.s.d fa3, fa0, rtz)  /* tiny */
        TEST_FP_D(138, 0x01, 0xffffffff3eaaaaaa, 0x3fd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rdn)
        TEST_FP_D(139, 0x01, 0xffffffffbeaaaaab, 0xbfd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rdn)
        TEST_FP_D(140, 0x01, 0xffffffff7f7fffff, 0x47efffffffffffff, 0, 0, fcvt.s.d fa3, fa0, rdn)  /* rounds past max single */
        TEST_FP_D(141, 0x03, 0xffffffff00000001, 0x36a0000000000001, 0, 0, fcvt.s.d fa3, fa0, rdn)  /* tiny */
        TEST_FP_D(142, 0x01, 0xffffffff3eaaaaab, 0x3fd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rup)
        TEST_FP_D(143, 0x01, 0xffffffffbeaaaaaa, 0xbfd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rup)
        TEST_FP_D(144, 0x05, 0xffffffff7f800000, 0x47efffffffffffff, 0, 0, fcvt.s.d fa3, fa0, rup)  /* rounds past max single */
        TEST_FP_D(145, 0x03, 0xffffffff00000002, 0x36a0000000000001, 0, 0, fcvt.s.d fa3, fa0, rup)  /* tiny */
        TEST_FP_D(146, 0x01, 0xffffffff3eaaaaab, 0x3fd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rmm)
        TEST_FP_D(147, 0x01, 0xffffffffbeaaaaab, 0xbfd5555555555555, 0, 0, fcvt.s.d fa3, fa0, rmm)
        TEST_FP_D(148, 0x05, 0xffffffff7f800000, 0x47efffffffffffff, 0, 0, fcvt.s.d fa3, fa0, rmm)  /* rounds past max single */
        TEST_FP_D(149, 0x03, 0xffffffff00000001, 0x36a0000000000001, 0, 0, fcvt.s.d fa3, fa0, rmm)  /* tiny */
        TEST_FP_D(150, 0x00, 0xffffffff7fc00000, 0x7ff8000000000000, 0, 0, fcvt.s.d fa3, fa0, rne)
        TEST_FP_D(151, 0x10, 0xffffffff7fc00000, 0x7ff0000000000001, 0, 0, fcvt.s.d fa3, fa0, rne)
        TEST_FP_D(152, 0x00, 0xffffffff7fc00000, 0x7ff8000000012345, 0, 0, fcvt.s.d fa3, fa0, rne)  /* payload dropped */
        TEST_FP_D(153, 0x00, 0xffffffffff800000, 0xfff0000000000000, 0, 0, fcvt.s.d fa3, fa0, rne)
        TEST_FP_D(154, 0x00, 0xffffffff80000000, 0x8000000000000000, 0, 0, fcvt.s.d fa3, fa0, rne)
        TEST_FP_D(155, 0x03, 0xffffffff00000000, 0x358dee7a4ad4b81f, 0, 0, fcvt.s.d fa3, fa0, rne)  /* underflow to 0 */
        TEST_FP_D(156, 0x00, 0x3ff8000000000000, 0xffffffff3fc00000, 0, 0, fcvt.d.s fa3, fa0)
        TEST_FP_D(157, 0x00, 0x36a0000000000000, 0xffffffff00000001, 0, 0, fcvt.d.s fa3, fa0)  /* subnormal single: exact normal double */
        TEST_FP_D(158, 0x10, 0x7ff8000000000000, 0xffffffff7f800001, 0, 0, fcvt.d.s fa3, fa0)  /* sNaN: NV */
        TEST_FP_D(159, 0x00, 0x7ff8000000000000, 0xffffffffffc00000, 0, 0, fcvt.d.s fa3, fa0)
        TEST_FP_D(160, 0x00, 0x8000000000000000, 0xffffffff80000000, 0, 0, fcvt.d.s fa3, fa0)
        TEST_FP_D(161, 0x00, 0xfff0000000000000, 0xffffffffff800000, 0, 0, fcvt.d.s fa3, fa0)
        /* double -> integer */
        TEST_FP_D_X(162, 0x01, 0x0000000000000002, 0x4004000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(163, 0x01, 0x0000000000000002, 0x4004000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(164, 0x01, 0xfffffffffffffffe, 0xc004000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(165, 0x01, 0xfffffffffffffffe, 0xc004000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(166, 0x01, 0x0000000000000000, 0xbfe0000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(167, 0x01, 0x0000000000000000, 0xbfe0000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(168, 0x01, 0x0000000000000002, 0x3ffe666666666666, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(169, 0x01, 0x0000000000000002, 0x3ffe666666666666, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(170, 0x01, 0x0000000000000002, 0x4004000000000000, 0, 0, fcvt.w.d a0, fa0, rtz)
        TEST_FP_D_X(171, 0x01, 0x0000000000000002, 0x4004000000000000, 0, 0, fcvt.l.d a0, fa0, rtz)
        TEST_FP_D_X(172, 0x01, 0xfffffffffffffffe, 0xc004000000000000, 0, 0, fcvt.w.d a0, fa0, rtz)
        TEST_FP_D_X(173, 0x01, 0xfffffffffffffffe, 0xc004000000000000, 0, 0, fcvt.l.d a0, fa0, rtz)
        TEST_FP_D_X(174, 0x01, 0x0000000000000000, 0xbfe0000000000000, 0, 0, fcvt.w.d a0, fa0, rtz)
        TEST_FP_D_X(175, 0x01, 0x0000000000000000, 0xbfe0000000000000, 0, 0, fcvt.l.d a0, fa0, rtz)
        TEST_FP_D_X(176, 0x01, 0x0000000000000001, 0x3ffe666666666666, 0, 0, fcvt.w.d a0, fa0, rtz)
        TEST_FP_D_X(177, 0x01, 0x0000000000000001, 0x3ffe666666666666, 0, 0, fcvt.l.d a0, fa0, rtz)
        TEST_FP_D_X(178, 0x01, 0x0000000000000002, 0x4004000000000000, 0, 0, fcvt.w.d a0, fa0, rdn)
        TEST_FP_D_X(179, 0x01, 0x0000000000000002, 0x4004000000000000, 0, 0, fcvt.l.d a0, fa0, rdn)
        TEST_FP_D_X(180, 0x01, 0xfffffffffffffffd, 0xc004000000000000, 0, 0, fcvt.w.d a0, fa0, rdn)
        TEST_FP_D_X(181, 0x01, 0xfffffffffffffffd, 0xc004000000000000, 0, 0, fcvt.l.d a0, fa0, rdn)
        TEST_FP_D_X(182, 0x01, 0xffffffffffffffff, 0xbfe0000000000000, 0, 0, fcvt.w.d a0, fa0, rdn)
        TEST_FP_D_X(183, 0x01, 0xffffffffffffffff, 0xbfe0000000000000, 0, 0, fcvt.l.d a0, fa0, rdn)
        TEST_FP_D_X(184, 0x01, 0x0000000000000001, 0x3ffe666666666666, 0, 0, fcvt.w.d a0, fa0, rdn)
        TEST_FP_D_X(185, 0x01, 0x0000000000000001, 0x3ffe666666666666, 0, 0, fcvt.l.d a0, fa0, rdn)
        TEST_FP_D_X(186, 0x01, 0x0000000000000003, 0x4004000000000000, 0, 0, fcvt.w.d a0, fa0, rup)
        TEST_FP_D_X(187, 0x01, 0x0000000000000003, 0x4004000000000000, 0, 0, fcvt.l.d a0, fa0, rup)
        TEST_FP_D_X(188, 0x01, 0xfffffffffffffffe, 0xc004000000000000, 0, 0, fcvt.w.d a0, fa0, rup)
        TEST_FP_D_X(189, 0x01, 0xfffffffffffffffe, 0xc004000000000000, 0, 0, fcvt.l.d a0, fa0, rup)
        TEST_FP_D_X(190, 0x01, 0x0000000000000000, 0xbfe0000000000000, 0, 0, fcvt.w.d a0, fa0, rup)
        TEST_FP_D_X(191, 0x01, 0x0000000000000000, 0xbfe0000000000000, 0, 0, fcvt.l.d a0, fa0, rup)
        TEST_FP_D_X(192, 0x01, 0x0000000000000002, 0x3ffe666666666666, 0, 0, fcvt.w.d a0, fa0, rup)
        TEST_FP_D_X(193, 0x01, 0x0000000000000002, 0x3ffe666666666666, 0, 0, fcvt.l.d a0, fa0, rup)
        TEST_FP_D_X(194, 0x01, 0x0000000000000003, 0x4004000000000000, 0, 0, fcvt.w.d a0, fa0, rmm)
        TEST_FP_D_X(195, 0x01, 0x0000000000000003, 0x4004000000000000, 0, 0, fcvt.l.d a0, fa0, rmm)
        TEST_FP_D_X(196, 0x01, 0xfffffffffffffffd, 0xc004000000000000, 0, 0, fcvt.w.d a0, fa0, rmm)
        TEST_FP_D_X(197, 0x01, 0xfffffffffffffffd, 0xc004000000000000, 0, 0, fcvt.l.d a0, fa0, rmm)
        TEST_FP_D_X(198, 0x01, 0xffffffffffffffff, 0xbfe0000000000000, 0, 0, fcvt.w.d a0, fa0, rmm)
        TEST_FP_D_X(199, 0x01, 0xffffffffffffffff, 0xbfe0000000000000, 0, 0, fcvt.l.d a0, fa0, rmm)
        TEST_FP_D_X(200, 0x01, 0x0000000000000002, 0x3ffe666666666666, 0, 0, fcvt.w.d a0, fa0, rmm)
        TEST_FP_D_X(201, 0x01, 0x0000000000000002, 0x3ffe666666666666, 0, 0, fcvt.l.d a0, fa0, rmm)
        TEST_FP_D_X(202, 0x10, 0x000000007fffffff, 0x7ff8000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(203, 0x10, 0x000000007fffffff, 0x7ff0000000000001, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(204, 0x10, 0x000000007fffffff, 0x7ff0000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(205, 0x10, 0xffffffff80000000, 0xfff0000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(206, 0x10, 0x000000007fffffff, 0x41dfffffffe00000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(207, 0x10, 0x000000007fffffff, 0x41e0000000000000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(208, 0x10, 0xffffffff80000000, 0xc1e00000001ccccd, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(209, 0x10, 0xffffffff80000000, 0xc1e0000000200000, 0, 0, fcvt.w.d a0, fa0, rne)
        TEST_FP_D_X(210, 0x01, 0x000000007fffffff, 0x41dfffffffe00000, 0, 0, fcvt.w.d a0, fa0, rtz)
        TEST_FP_D_X(211, 0x00, 0xffffffffffffffff, 0x41efffffffe00000, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(212, 0x10, 0xffffffffffffffff, 0x41f0000000000000, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(213, 0x10, 0x0000000000000000, 0xbff0000000000000, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(214, 0x10, 0x0000000000000000, 0xbfeccccccccccccd, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(215, 0x00, 0xffffffffb2d05e00, 0x41e65a0bc0000000, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(216, 0x10, 0xffffffffffffffff, 0x7ff8000000000000, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(217, 0x10, 0x0000000000000000, 0xfff0000000000000, 0, 0, fcvt.wu.d a0, fa0, rne)
        TEST_FP_D_X(218, 0x01, 0x0000000000000000, 0xbfeccccccccccccd, 0, 0, fcvt.wu.d a0, fa0, rtz)
        TEST_FP_D_X(219, 0x10, 0x7fffffffffffffff, 0x43e0000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(220, 0x00, 0x8000000000000000, 0xc3e0000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(221, 0x10, 0x8000000000000000, 0xc3e02207973f6440, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(222, 0x10, 0x7fffffffffffffff, 0x7ff8000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(223, 0x10, 0x7fffffffffffffff, 0x7ff0000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(224, 0x10, 0x8000000000000000, 0xfff0000000000000, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(225, 0x00, 0x7ffffffffffffc00, 0x43dfffffffffffff, 0, 0, fcvt.l.d a0, fa0, rne)
        TEST_FP_D_X(226, 0x10, 0xffffffffffffffff, 0x43f0000000000000, 0, 0, fcvt.lu.d a0, fa0, rne)
        TEST_FP_D_X(227, 0x00, 0xfffffffffffff800, 0x43efffffffffffff, 0, 0, fcvt.lu.d a0, fa0, rne)
        TEST_FP_D_X(228, 0x10, 0x0000000000000000, 0xbff0000000000000, 0, 0, fcvt.lu.d a0, fa0, rne)
        TEST_FP_D_X(229, 0x01, 0x0000000000000000, 0xbfd3333333333333, 0, 0, fcvt.lu.d a0, fa0, rne)
        TEST_FP_D_X(230, 0x10, 0xffffffffffffffff, 0x7ff8000000000000, 0, 0, fcvt.lu.d a0, fa0, rne)
        TEST_FP_D_X(231, 0x10, 0xffffffffffffffff, 0x7ff0000000000000, 0, 0, fcvt.lu.d a0, fa0, rne)
        /* integer -> double */
        TEST_FP_D(232, 0x00, 0xc000000000000000, 0xfffffffffffffffe, 0, 0, fcvt.d.w fa3, a1)
        TEST_FP_D(233, 0x00, 0x402e000000000000, 0x123456780000000f, 0, 0, fcvt.d.w fa3, a1)
        TEST_FP_D(234, 0x00, 0x41efffffffe00000, 0xffffffffffffffff, 0, 0, fcvt.d.wu fa3, a1)
        TEST_FP_D(235, 0x00, 0xc1e0000000000000, 0x0000000080000000, 0, 0, fcvt.d.w fa3, a1)
        TEST_FP_D(236, 0x01, 0x4340000000000000, 0x0020000000000001, 0, 0, fcvt.d.l fa3, a1, rne)
        TEST_FP_D(237, 0x01, 0xc340000000000002, 0xffdffffffffffffd, 0, 0, fcvt.d.l fa3, a1, rne)
        TEST_FP_D(238, 0x01, 0x43f0000000000000, 0xffffffffffffffff, 0, 0, fcvt.d.lu fa3, a1, rne)
        TEST_FP_D(239, 0x01, 0x43e0000000000000, 0x7fffffffffffffff, 0, 0, fcvt.d.l fa3, a1, rne)
        TEST_FP_D(240, 0x01, 0x4340000000000000, 0x0020000000000001, 0, 0, fcvt.d.l fa3, a1, rtz)
        TEST_FP_D(241, 0x01, 0xc340000000000001, 0xffdffffffffffffd, 0, 0, fcvt.d.l fa3, a1, rtz)
        TEST_FP_D(242, 0x01, 0x43efffffffffffff, 0xffffffffffffffff, 0, 0, fcvt.d.lu fa3, a1, rtz)
        TEST_FP_D(243, 0x01, 0x43dfffffffffffff, 0x7fffffffffffffff, 0, 0, fcvt.d.l fa3, a1, rtz)
        TEST_FP_D(244, 0x01, 0x4340000000000000, 0x0020000000000001, 0, 0, fcvt.d.l fa3, a1, rdn)
        TEST_FP_D(245, 0x01, 0xc340000000000002, 0xffdffffffffffffd, 0, 0, fcvt.d.l fa3, a1, rdn)
        TEST_FP_D(246, 0x01, 0x43efffffffffffff, 0xffffffffffffffff, 0, 0, fcvt.d.lu fa3, a1, rdn)
        TEST_FP_D(247, 0x01, 0x43dfffffffffffff, 0x7fffffffffffffff, 0, 0, fcvt.d.l fa3, a1, rdn)
        TEST_FP_D(248, 0x01, 0x4340000000000001, 0x0020000000000001, 0, 0, fcvt.d.l fa3, a1, rup)
        TEST_FP_D(249, 0x01, 0xc340000000000001, 0xffdffffffffffffd, 0, 0, fcvt.d.l fa3, a1, rup)
        TEST_FP_D(250, 0x01, 0x43f0000000000000, 0xffffffffffffffff, 0, 0, fcvt.d.lu fa3, a1, rup)
        TEST_FP_D(251, 0x01, 0x43e0000000000000, 0x7fffffffffffffff, 0, 0, fcvt.d.l fa3, a1, rup)
        TEST_FP_D(252, 0x01, 0x4340000000000001, 0x0020000000000001, 0, 0, fcvt.d.l fa3, a1, rmm)
        TEST_FP_D(253, 0x01, 0xc340000000000002, 0xffdffffffffffffd, 0, 0, fcvt.d.l fa3, a1, rmm)
        TEST_FP_D(254, 0x01, 0x43f0000000000000, 0xffffffffffffffff, 0, 0, fcvt.d.lu fa3, a1, rmm)
        TEST_FP_D(255, 0x01, 0x43e0000000000000, 0x7fffffffffffffff, 0, 0, fcvt.d.l fa3, a1, rmm)
        TEST_FP_D(256, 0x00, 0xc3e0000000000000, 0x8000000000000000, 0, 0, fcvt.d.l fa3, a1, rne)
        TEST_FP_D(257, 0x00, 0x0000000000000000, 0x0000000000000000, 0, 0, fcvt.d.lu fa3, a1, rne)

        /* moves, loads and stores: raw 64-bit patterns */
        TEST_FP_D_X(300, 0x00, 0x7ff0000000000001, 0x7ff0000000000001, 0, 0, fmv.x.d a0, fa0)
        TEST_FP_D_X(301, 0x00, 0xffffffff7f800001, 0, 0, 0,
                    li a1, 0x7f800001; fmv.w.x fa3, a1; fmv.x.d a0, fa3)
        TEST_FP_D_X(302, 0x00, 0x8000000000000001, 0, 0, 0,
                    la a1, ddata; fld fa3, 8(a1); fmv.x.d a0, fa3)
        TEST_FP_D_X(303, 0x00, 0xffffffff12345678, 0, 0, 0,
                    li a2, 0x12345678; fmv.w.x fa3, a2; la a1, dscratch; fsd fa3, 0(a1); ld a0, 0(a1))
        TEST_FP_D_X(304, 0x00, 0x000000013ff00000, 0, 0, 0,
                    la a1, ddata; fld fa3, 4(a1); fmv.x.d a0, fa3)   /* misaligned fld */
        TEST_FP_D_X(305, 0x00, 0x0123456789abcdef, 0x0123456789abcdef, 0, 0,
                    la a1, dscratch; fsd fa0, 11(a1); ld a0, 11(a1))  /* misaligned fsd */
        TEST_FP_D_X(306, 0x00, 0x0123456789abcdef, 0x0123456789abcdef, 0, 0,
                    fsgnj.d fa3, fa0, fa0; fmv.x.d a0, fa3)

        /* reserved rounding modes */
        TEST_ILLEGAL32(307, FADD_D_RM5)
        TEST_ILLEGAL32(308, FCVT_S_D_RM6)
        csrwi frm, 7
        TEST_ILLEGAL32(309, FADD_D_DYN)
        csrwi frm, 0
        TEST_FP_D(310, 0x00, 0x4000000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0,
                  fsrmi 1; fadd.d fa3, fa0, fa1, dyn)

        /* FS = Off */
        li a1, MSTATUS_FS
        csrc mstatus, a1
        la a1, ddata
        TEST_TRAP(311, CAUSE_ILLEGAL, fld fa0, 0(a1))
        TEST_TRAP(312, CAUSE_ILLEGAL, fsd fa0, 0(a1))
        TEST_TRAP(313, CAUSE_ILLEGAL, fmv.d.x fa0, a1)
        TEST_TRAP(314, CAUSE_ILLEGAL, fmv.x.d a0, fa0)
        TEST_TRAP(315, CAUSE_ILLEGAL, fcvt.d.w fa0, a1)
        TEST_TRAP(316, CAUSE_ILLEGAL, fdiv.d fa0, fa1, fa2)
        li a1, MSTATUS_FS_INITIAL
        csrs mstatus, a1

        j pass
RVTEST_CODE_END

RVTEST_DATA_BEGIN
        .balign 16
ddata:
        .dword 0x3ff0000000000000, 0x8000000000000001
        .balign 16
dscratch:
        .fill 32, 1, 0
RVTEST_DATA_END
