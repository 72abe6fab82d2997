/*
 * rv64ui: the RV64I base integer instructions, user-level behaviour.
 * Corner cases: overflow wraps, shifts use only the low 6 (or 5 for *W)
 * bits of the amount, *W results are sign-extended from bit 31, x0 ignores
 * writes, jalr clears bit 0 of the target, and misaligned loads and stores
 * to RAM succeed (as on QEMU's virt board).
 */
#include "test_macros.h"

RVTEST_CODE_BEGIN

        /* add / sub: wrap-around, sign */
        TEST_RR(2, add, 0x0000000000000000, 0x0, 0x0)
        TEST_RR(3, add, 0x0000000000000002, 0x1, 0x1)
        TEST_RR(4, add, 0xffffffff80000000, 0x0, 0xffffffff80000000)
        TEST_RR(5, add, 0x8000000000000000, 0x7fffffffffffffff, 0x1)
        TEST_RR(6, add, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff)
        TEST_RR(7, add, 0x0000000080000000, 0x7fffffff, 0x1)
        TEST_RR_D1(8, add, 24, 13, 11)
        TEST_RR_D2(9, add, 25, 14, 11)
        TEST_RR_X0(10, add, 1, 2)
        TEST_RR(11, sub, 0xffffffffffffffff, 0x0, 0x1)
        TEST_RR(12, sub, 0x7fffffffffffffff, 0x8000000000000000, 0x1)
        TEST_RR(13, sub, 0x8000000000000001, 0x0, 0x7fffffffffffffff)
        TEST_RR(14, sub, 0x0, 0x8000000000000000, 0x8000000000000000)

        /* addw / subw: 32-bit result, sign-extended */
        TEST_RR(15, addw, 0xffffffff80000000, 0x7fffffff, 0x1)
        TEST_RR(16, addw, 0x0, 0xffffffff, 0x1)
        TEST_RR(17, addw, 0x000000007fffffff, 0x80000000, 0xffffffff)
        TEST_RR(18, addw, 0x0000000000000003, 0x1234567800000001, 0x9abcdef000000002)
        TEST_RR(19, subw, 0x000000007fffffff, 0xffffffff80000000, 0x1)
        TEST_RR(20, subw, 0xffffffff80000000, 0x0, 0x80000000)
        TEST_RR(21, subw, 0xffffffffffffffff, 0x100000000, 0x1)

        /* addi / addiw */
        TEST_IMM(22, addi, 0x0, 0x0, 0)
        TEST_IMM(23, addi, 0xffffffffffffffff, 0x0, -1)
        TEST_IMM(24, addi, 0x8000000000000000, 0x7fffffffffffffff, 1)
        TEST_IMM(25, addi, 0x00000000000007ff, 0x0, 2047)
        TEST_IMM(26, addi, 0xfffffffffffff800, 0x0, -2048)
        TEST_IMM_D1(27, addi, 24, 13, 11)
        TEST_IMM(28, addiw, 0xffffffff80000000, 0x7fffffff, 1)
        TEST_IMM(29, addiw, 0xffffffff9abcdef0, 0x123456789abcdef0, 0)
        TEST_IMM(30, addiw, 0x0000000000000000, 0xffffffffffffffff, 1)
        TEST_IMM(31, addiw, 0x000000007fffffff, 0xffffffff80000000, -1)

        /* logic */
        TEST_RR(32, and, 0x0f000f000f000f00, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
        TEST_RR(33, or, 0xff0fff0fff0fff0f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
        TEST_RR(34, xor, 0xf00ff00ff00ff00f, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f)
        TEST_IMM(35, andi, 0xff00ff00ff00ff00, 0xff00ff00ff00ff00, -256)
        TEST_IMM(36, andi, 0x0000000000000700, 0xff00ff00ff00ff00, 0x7f0)
        TEST_IMM(37, ori, 0xffffffffffffff0f, 0x00ff00ff00ff0f0f, -241)
        TEST_IMM(38, xori, 0xff00ff00ff00f00f, 0x00ff00ff00ff0ff0, -1)
        TEST_IMM(39, xori, 0x00ff00ff00ff0fff, 0x00ff00ff00ff0f0f, 0x0f0)

        /* shifts: 64-bit use amount[5:0] */
        TEST_RR(40, sll, 0x8000000000000000, 0x1, 63)
        TEST_RR(41, sll, 0x0000000000000002, 0x1, 65)
        TEST_RR(42, sll, 0x2468acf13579bde0, 0x123456789abcdef0, 0xffffffffffffffc1)
        TEST_RR(43, srl, 0x0000000000000001, 0x8000000000000000, 63)
        TEST_RR(44, srl, 0x7fffffffffffffff, 0xffffffffffffffff, 0x41)
        TEST_RR(45, sra, 0xffffffffffffffff, 0x8000000000000000, 63)
        TEST_RR(46, sra, 0xc000000000000000, 0x8000000000000000, 0x1)
        TEST_RR(47, sra, 0x3fffffffffffffff, 0x7fffffffffffffff, 0x1)
        TEST_IMM(48, slli, 0x8000000000000000, 0x1, 63)
        TEST_IMM(49, slli, 0x0000000100000000, 0x1, 32)
        TEST_IMM(50, srli, 0x00000000ffffffff, 0xffffffffffffffff, 32)
        TEST_IMM(51, srai, 0xffffffffffffff80, 0x8000000000000000, 56)
        TEST_IMM(52, srai, 0x0000000000000000, 0x7fffffffffffffff, 63)

        /* 32-bit shifts: amount[4:0], sign-extended results */
        TEST_RR(53, sllw, 0xffffffff80000000, 0x1, 31)
        TEST_RR(54, sllw, 0x0000000000000002, 0x1, 33)
        TEST_RR(55, sllw, 0x0000000000000000, 0xffffffff00000000, 0)
        TEST_RR(56, srlw, 0x0000000000000001, 0x80000000, 31)
        TEST_RR(57, srlw, 0xffffffff80000000, 0xffffffff80000000, 32)
        TEST_RR(58, srlw, 0x000000007fffffff, 0xffffffffffffffff, 33)
        TEST_RR(59, sraw, 0xffffffffffffffff, 0x80000000, 31)
        TEST_RR(60, sraw, 0xffffffffc0000000, 0x0000000080000000, 1)
        TEST_RR(61, sraw, 0x0000000000000000, 0xffffffff00000000, 5)
        TEST_IMM(62, slliw, 0xffffffff80000000, 0x1, 31)
        TEST_IMM(63, slliw, 0x0000000012345678, 0xabcdef0012345678, 0)
        TEST_IMM(64, srliw, 0x0000000000000001, 0xffffffff80000000, 31)
        TEST_IMM(65, srliw, 0xffffffff80000000, 0x0000000080000000, 0)
        TEST_IMM(66, sraiw, 0xffffffffffffffff, 0x0000000080000000, 31)
        TEST_IMM(67, sraiw, 0x0000000001234567, 0xff00000012345678, 4)

        /* compares */
        TEST_RR(68, slt, 1, 0x8000000000000000, 0)
        TEST_RR(69, slt, 0, 0x7fffffffffffffff, 0x8000000000000000)
        TEST_RR(70, slt, 0, 5, 5)
        TEST_RR(71, sltu, 0, 0x8000000000000000, 0)
        TEST_RR(72, sltu, 1, 0, 0xffffffffffffffff)
        TEST_IMM(73, slti, 1, 0xffffffffffffffff, 0)
        TEST_IMM(74, slti, 0, 0, -1)
        TEST_IMM(75, sltiu, 1, 5, -1)
        TEST_IMM(76, sltiu, 0, 0xffffffffffffffff, -1)
        TEST_IMM(77, sltiu, 1, 0, 1)

        /* lui / auipc */
        TEST_CASE(78, a0, 0xffffffff80000000, lui a0, 0x80000)
        TEST_CASE(79, a0, 0x000000007ffff000, lui a0, 0x7ffff)
        TEST_CASE(80, a0, 0x0, lui x0, 0x12345; mv a0, x0)
        TEST_CASE(81, a0, 0x1000,
                  1: auipc a0, 1; la a1, 1b; sub a0, a0, a1)
        TEST_CASE(82, a0, 0xfffffffffffff000,
                  1: auipc a0, 0xfffff; la a1, 1b; sub a0, a0, a1)

        /* branches */
        TEST_BR(83, beq, 1, 0x8000000000000000, 0x8000000000000000)
        TEST_BR(84, beq, 0, 1, 0x100000001)
        TEST_BR(85, bne, 1, 1, 0x100000001)
        TEST_BR(86, bne, 0, -1, -1)
        TEST_BR(87, blt, 1, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR(88, blt, 0, 0, 0xffffffffffffffff)
        TEST_BR(89, blt, 0, 3, 3)
        TEST_BR(90, bge, 1, 3, 3)
        TEST_BR(91, bge, 1, 0, 0xffffffffffffffff)
        TEST_BR(92, bge, 0, 0x8000000000000000, 0)
        TEST_BR(93, bltu, 1, 0, 0xffffffffffffffff)
        TEST_BR(94, bltu, 0, 0x8000000000000000, 1)
        TEST_BR(95, bgeu, 1, 0x8000000000000000, 0x7fffffffffffffff)
        TEST_BR(96, bgeu, 0, 1, 2)
        TEST_BR(97, bgeu, 1, 2, 2)
        /* a backward branch */
        TEST_CASE(98, a0, 3, li a0, 0; li a1, 3; 1: addi a0, a0, 1; bne a0, a1, 1b)

        /* jal / jalr: link value, bit 0 of the target cleared, rd = rs1 */
        TEST_CASE(99, a0, 0,
                  la a1, 2f; jal a2, 1f; 2: j fail; 1: sub a0, a1, a2)
        TEST_CASE(100, a0, 1,
                  la a1, 1f; addi a1, a1, 1; li a0, 0; jalr a2, 0(a1);
                  j fail; .balign 4; 1: li a0, 1)
        TEST_CASE(101, a0, 1,
                  la a1, 1f; addi a1, a1, -3; li a0, 0; jalr a1, 3(a1);
                  j fail; .balign 4; 1: li a0, 1)
        TEST_CASE(102, a0, 0,
                  la a1, 1f; jalr a1, 0(a1); 2: j fail; 1: la a2, 2b; sub a0, a1, a2)
        TEST_CASE(103, a0, 0,
                  la a1, 1f; jalr x0, 0(a1); j fail; 1: mv a0, x0)

        /* loads: sign and zero extension */
        TEST_LOAD(104, lb, 0xffffffffffffff80, ldata, 0)
        TEST_LOAD(105, lbu, 0x0000000000000080, ldata, 0)
        TEST_LOAD(106, lb, 0x000000000000007f, ldata, 1)
        TEST_LOAD(107, lh, 0xffffffffffff8001, ldata, 2)
        TEST_LOAD(108, lhu, 0x0000000000008001, ldata, 2)
        TEST_LOAD(109, lw, 0xffffffff80000001, ldata, 4)
        TEST_LOAD(110, lwu, 0x0000000080000001, ldata, 4)
        TEST_LOAD(111, ld, 0x8000000000000001, ldata, 8)
        TEST_LOAD(112, ld, 0x8000000180017f80, ldata, 0)
        TEST_CASE(113, a0, 0xffffffff80000001,
                  la a1, ldata + 2048; lw a0, -2044(a1))

        /* misaligned loads succeed */
        TEST_LOAD(114, lh, 0x000000000000017f, ldata, 1)
        TEST_LOAD(115, lw, 0x000000000180017f, ldata, 1)
        TEST_LOAD(116, lh, 0x0000000000000180, ldata, 3)
        TEST_LOAD(117, lwu, 0x0000000000000180, ldata, 3)
        TEST_LOAD(118, ld, 0x0000018000000180, ldata, 3)
        TEST_LOAD(119, ld, 0x0000000000000080, ldata, 15)

        /* stores, aligned and misaligned */
        TEST_STORE(120, lb, sb, 0xffffffffffffffaa, sdata, 0)
        TEST_STORE(121, lh, sh, 0xffffffffffffaa55, sdata, 2)
        TEST_STORE(122, lw, sw, 0xffffffff8badf00d, sdata, 4)
        TEST_STORE(123, ld, sd, 0x0123456789abcdef, sdata, 8)
        TEST_STORE(124, lh, sh, 0x0000000000001234, sdata, 17)
        TEST_STORE(125, lw, sw, 0x0000000012345678, sdata, 19)
        TEST_STORE(126, ld, sd, 0xfedcba9876543210, sdata, 21)
        TEST_STORE(127, ld, sd, 0x1122334455667788, sdata, 60)
        /* the bytes a misaligned store wrote */
        TEST_CASE(128, a0, 0x0000000000000010,
                  la a1, sdata; lbu a0, 21(a1))
        TEST_CASE(129, a0, 0x00000000000000fe,
                  la a1, sdata; lbu a0, 28(a1))
        /* sb only touches one byte */
        TEST_CASE(130, a0, 0x1122334455667799,
                  la a1, sdata; li a2, 0x99; sb a2, 60(a1); ld a0, 60(a1))

        /* x0 stays zero */
        TEST_CASE(131, a0, 0, addi x0, x0, 5; mv a0, x0)
        TEST_CASE(132, a0, 0, la a1, ldata; ld x0, 8(a1); mv a0, x0)

        /* fence and fence.i are accepted */
        TEST_CASE(133, a0, 7, fence; fence rw, rw; fence.i; li a0, 7)

        /* self-modifying code after fence.i */
        TEST_CASE(134, a0, 42,
                  la a1, 1f; li a2, 0x02a00513; sw a2, 0(a1); fence.i;
                  .option push; .option norvc;
                  1: li a0, 1;
                  .option pop)

        j pass
RVTEST_CODE_END

RVTEST_DATA_BEGIN
        .balign 16
ldata:
        .byte 0x80, 0x7f, 0x01, 0x80, 0x01, 0x00, 0x00, 0x80
        .byte 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80
        .fill 16, 1, 0
        .balign 16
sdata:
        .fill 80, 1, 0
RVTEST_DATA_END
