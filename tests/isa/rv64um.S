/*
 * rv64um: multiply and divide.  Corner cases from the spec's division table
 * (unprivileged ISA, "Division Operations"): x/0 = -1 (all ones), x%0 = x,
 * MIN/-1 = MIN with remainder 0, and the *W forms work on the low 32 bits
 * and sign-extend their 32-bit result (divuw/remuw included).
 */
#include "test_macros.h"

#define MIN64 0x8000000000000000
#define MAX64 0x7fffffffffffffff

RVTEST_CODE_BEGIN

        /* mul: low 64 bits */
        TEST_RR(2, mul, 0x0000000000000000, 0x0, 0x0)
        TEST_RR(3, mul, 0x0000000000000015, 0x3, 0x7)
        TEST_RR(4, mul, 0xffffffffffffff8e, 0xffffffffffffffed, 0x6)
        TEST_RR(5, mul, 0x8000000000000000, MIN64, 0xffffffffffffffff)
        TEST_RR(6, mul, 0x0000000000000001, MAX64, MAX64)
        TEST_RR(7, mul, 0x2236d88fe5618cf0, 0x0123456789abcdef, 0xfedcba9876543210)
        TEST_RR_D1(8, mul, 143, 13, 11)
        TEST_RR_D2(9, mul, 154, 14, 11)
        TEST_RR_X0(10, mul, 5, 7)

        /* mulh / mulhsu / mulhu: high 64 bits */
        TEST_RR(11, mulh, 0x0000000000000000, 0x3, 0x7)
        TEST_RR(12, mulh, 0xffffffffffffffff, 0xffffffffffffffff, 0x1)
        TEST_RR(13, mulh, 0x0000000000000000, 0xffffffffffffffff, 0xffffffffffffffff)
        TEST_RR(14, mulh, 0x4000000000000000, MIN64, MIN64)
        TEST_RR(15, mulh, 0xc000000000000000, MIN64, MAX64)
        TEST_RR(16, mulh, 0x3fffffffffffffff, MAX64, MAX64)
        TEST_RR(17, mulhu, 0xfffffffffffffffe, 0xffffffffffffffff, 0xffffffffffffffff)
        TEST_RR(18, mulhu, 0x0000000000000000, 0xffffffffffffffff, 0x1)
        TEST_RR(19, mulhu, 0x4000000000000000, MIN64, MIN64)
        TEST_RR(20, mulhu, 0x0123456789abcdee, 0x0123456789abcdef, 0xffffffffffffffff)
        TEST_RR(21, mulhsu, 0xffffffffffffffff, 0xffffffffffffffff, 0xffffffffffffffff)
        TEST_RR(22, mulhsu, 0x0000000000000000, 0x1, 0xffffffffffffffff)
        TEST_RR(23, mulhsu, 0xc000000000000000, MIN64, MIN64)
        TEST_RR(24, mulhsu, 0x7ffffffffffffffe, MAX64, 0xffffffffffffffff)
        TEST_RR(25, mulhsu, 0x8000000000000000, MIN64, 0xffffffffffffffff)

        /* mulw: low 32 bits, sign-extended; upper input bits ignored */
        TEST_RR(26, mulw, 0xffffffff80000000, 0x40000000, 0x2)
        TEST_RR(27, mulw, 0x0000000000000001, 0xffffffffffffffff, 0xffffffffffffffff)
        TEST_RR(28, mulw, 0x0000000000000015, 0xabcdef0100000003, 0x1234567800000007)
        TEST_RR(29, mulw, 0xffffffff80000000, 0x80000000, 0xffffffff)

        /* div / divu / rem / remu */
        TEST_RR(30, div, 0x0000000000000003, 20, 6)
        TEST_RR(31, div, 0xfffffffffffffffd, -20, 6)
        TEST_RR(32, div, 0xfffffffffffffffd, 20, -6)
        TEST_RR(33, div, 0x0000000000000003, -20, -6)
        TEST_RR(34, div, MIN64, MIN64, 0xffffffffffffffff)
        TEST_RR(35, div, 0xffffffffffffffff, 20, 0)
        TEST_RR(36, div, 0xffffffffffffffff, MIN64, 0)
        TEST_RR(37, divu, 0x0000000000000003, 20, 6)
        TEST_RR(38, divu, 0x2aaaaaaaaaaaaaa7, -20, 6)
        TEST_RR(39, divu, 0x0000000000000000, 20, -6)
        TEST_RR(40, divu, 0xffffffffffffffff, 20, 0)
        TEST_RR(41, divu, 0x0000000000000001, MIN64, MIN64)
        TEST_RR(42, rem, 0x0000000000000002, 20, 6)
        TEST_RR(43, rem, 0xfffffffffffffffe, -20, 6)
        TEST_RR(44, rem, 0x0000000000000002, 20, -6)
        TEST_RR(45, rem, 0xfffffffffffffffe, -20, -6)
        TEST_RR(46, rem, 0x0000000000000000, MIN64, 0xffffffffffffffff)
        TEST_RR(47, rem, 20, 20, 0)
        TEST_RR(48, rem, MIN64, MIN64, 0)
        TEST_RR(49, remu, 0x0000000000000002, 20, 6)
        TEST_RR(50, remu, 0x0000000000000002, -20, 6)
        TEST_RR(51, remu, 20, 20, -6)
        TEST_RR(52, remu, 0xffffffffffffffec, -20, 0)
        TEST_RR(53, remu, 0x0000000000000000, MIN64, MIN64)
        TEST_RR(54, divu, 0x0000000000000001, 0xffffffffffffffff, 0xfffffffffffffffe)
        TEST_RR(55, remu, 0x0000000000000001, 0xffffffffffffffff, 0xfffffffffffffffe)
        TEST_RR(56, div, 0x0000000000000000, 5, MIN64)
        TEST_RR(57, div, 0x0000000000000001, 0x0123456789abcdef, 0x0123456789abcdef)
        TEST_RR_D1(58, div, 7, 77, 11)
        TEST_RR_D2(59, rem, 3, 80, 11)

        /* divw / divuw / remw / remuw: 32-bit, sign-extended results */
        TEST_RR(60, divw, 0x0000000000000003, 20, 6)
        TEST_RR(61, divw, 0xfffffffffffffffd, -20, 6)
        TEST_RR(62, divw, 0xffffffff80000000, 0x80000000, 0xffffffff)
        TEST_RR(63, divw, 0xffffffffffffffff, 0x80000000, 0)
        TEST_RR(64, divw, 0x0000000000000003, 0xffffffff00000014, 0x1200000006)
        TEST_RR(65, divuw, 0x0000000000000003, 20, 6)
        TEST_RR(66, divuw, 0x000000002aaaaaa7, -20, 6)
        TEST_RR(67, divuw, 0xffffffffffffffff, 20, 0)
        TEST_RR(68, divuw, 0xffffffff80000000, 0x80000000, 1)
        TEST_RR(69, divuw, 0x0000000000000001, 0xffffffff, 0xfffffffe)
        TEST_RR(70, remw, 0x0000000000000002, 20, 6)
        TEST_RR(71, remw, 0xfffffffffffffffe, -20, 6)
        TEST_RR(72, remw, 0x0000000000000000, 0x80000000, 0xffffffff)
        TEST_RR(73, remw, 0xffffffff80000000, 0x80000000, 0)
        TEST_RR(74, remw, 0x0000000000000014, 0x5500000014, 0)
        TEST_RR(75, remuw, 0x0000000000000002, 20, 6)
        TEST_RR(76, remuw, 0x0000000000000002, -20, 6)
        TEST_RR(77, remuw, 0xffffffffffffffec, -20, 0)
        TEST_RR(78, remuw, 0xffffffff80000000, 0x0000001280000000, 0xffffffff)
        TEST_RR(79, remuw, 0x0000000000000001, 0xffffffff, 0xfffffffe)

        j pass
RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
