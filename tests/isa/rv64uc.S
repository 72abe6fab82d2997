/*
 * rv64uc: the compressed instructions, executed as 16-bit parcels, plus the
 * reserved compressed encodings, which must raise an illegal-instruction
 * exception with mtval = the 16-bit parcel (QEMU 7.2 writes the faulting
 * instruction bits to mtval).  Also: jumps to 2-byte-aligned targets and a
 * 32-bit instruction that straddles a page boundary.
 */
#include "test_macros.h"

        .option rvc

RVTEST_CODE_BEGIN

        /* CIW / CL / CS: x8..x15 only */
        TEST_CASE(2, s0, 0x40,
                  mv t0, sp; la sp, cdata; c.addi4spn s0, sp, 0x40;
                  sub s0, s0, sp; mv sp, t0)
        TEST_CASE(3, s1, 0x3fc,
                  mv t0, sp; la sp, cdata; c.addi4spn s1, sp, 1020;
                  sub s1, s1, sp; mv sp, t0)
        TEST_CASE(4, a0, 0xffffffff80000001, la s0, cdata; c.lw a0, 4(s0))
        TEST_CASE(5, a1, 0x8000000000000001, la s0, cdata; c.ld a1, 8(s0))
        TEST_CASE(6, a2, 0x0000000000000001, la s1, cdata; c.ld a2, 8(s1); srli a2, a2, 63)
        TEST_CASE(7, a3, 0xffffffffdeadbeef,
                  la s0, cscratch; li a4, 0xdeadbeef; c.sw a4, 124(s0); lw a3, 124(s0))
        TEST_CASE(8, a3, 0x0123456789abcdef,
                  la s0, cscratch; li a4, 0x0123456789abcdef; c.sd a4, 248(s0); ld a3, 248(s0))
        TEST_CASE(9, a3, 0x400921fb54442d18,
                  la s0, cdata; c.fld fa0, 16(s0); fmv.x.d a3, fa0)
        TEST_CASE(10, a3, 0x400921fb54442d18,
                  la s0, cscratch; c.fsd fa0, 64(s0); ld a3, 64(s0))

        /* CI */
        TEST_CASE(11, a0, 0x1234, li a0, 0x1234; c.nop; c.nop)
        TEST_CASE(12, a0, 0x0000000000001233, li a0, 0x1234; c.addi a0, -1)
        TEST_CASE(13, a0, 0x8000000000000000, li a0, 0x7fffffffffffffff; c.addi a0, 1)
        TEST_CASE(14, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
        TEST_CASE(15, a0, 0x0000000000000000, li a0, 0xffffffffffffffff; c.addiw a0, 1)
        TEST_CASE(16, a0, 0xffffffff9abcdef0, li a0, 0x123456789abcdef0; c.addiw a0, 0)
        TEST_CASE(17, a0, 0xffffffffffffffe0, c.li a0, -32)
        TEST_CASE(18, a0, 0x000000000000001f, c.li a0, 31)
        TEST_CASE(19, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
        TEST_CASE(20, a0, 0x000000000001f000, c.lui a0, 0x1f)
        TEST_CASE(21, a0, 0x1f0,
                  mv t0, sp; li sp, 0; c.addi16sp sp, 496; mv a0, sp; mv sp, t0)
        TEST_CASE(22, a0, 0xfffffffffffffe00,
                  mv t0, sp; li sp, 0; c.addi16sp sp, -512; mv a0, sp; mv sp, t0)
        TEST_CASE(23, a0, 0x8000000000000000, li a0, 1; c.slli a0, 63)
        TEST_CASE(24, a0, 0x0000000100000000, li a0, 1; c.slli a0, 32)
        TEST_CASE(25, s0, 0x0000000000000001, li s0, 0x8000000000000000; c.srli s0, 63)
        TEST_CASE(26, s0, 0xffffffffffffffff, li s0, 0x8000000000000000; c.srai s0, 63)
        TEST_CASE(27, s0, 0xf800000000000000, li s0, 0x8000000000000000; c.srai s0, 4)
        TEST_CASE(28, s0, 0x0000000000000010, li s0, 0x8000000000000010; c.andi s0, 31)
        TEST_CASE(29, s0, 0x8000000000000010, li s0, 0x8000000000000010; c.andi s0, -16)

        /* CA */
        TEST_CASE(30, s0, 0xffffffffffffffff, li s0, 0; li s1, 1; c.sub s0, s1)
        TEST_CASE(31, s0, 0x0ff00ff00ff00ff0, li s0, 0xff00ff00ff00ff00; li s1, 0xf0f0f0f0f0f0f0f0; c.xor s0, s1)
        TEST_CASE(32, s0, 0xfff0fff0fff0fff0, li s0, 0xff00ff00ff00ff00; li s1, 0xf0f0f0f0f0f0f0f0; c.or s0, s1)
        TEST_CASE(33, s0, 0xf000f000f000f000, li s0, 0xff00ff00ff00ff00; li s1, 0xf0f0f0f0f0f0f0f0; c.and s0, s1)
        TEST_CASE(34, s0, 0x000000007fffffff, li s0, 0xffffffff80000000; li s1, 1; c.subw s0, s1)
        TEST_CASE(35, s0, 0xffffffff80000000, li s0, 0x7fffffff; li s1, 1; c.addw s0, s1)
        TEST_CASE(36, s0, 0x0000000000000000, li s0, 0x1ffffffff; li s1, 0x100000001; c.addw s0, s1)

        /* CR */
        TEST_CASE(37, a0, 0x0123456789abcdef, li a1, 0x0123456789abcdef; c.mv a0, a1)
        TEST_CASE(38, a0, 0x0000000000000003, li a0, 1; li a1, 2; c.add a0, a1)

        /* CSS / CI with sp */
        TEST_CASE(39, a0, 0xffffffff80000001,
                  mv t0, sp; la sp, cdata; c.lwsp a0, 4(sp); mv sp, t0)
        TEST_CASE(40, a0, 0x8000000000000001,
                  mv t0, sp; la sp, cdata; c.ldsp a0, 8(sp); mv sp, t0)
        TEST_CASE(41, a0, 0x400921fb54442d18,
                  mv t0, sp; la sp, cdata; c.fldsp fa1, 16(sp); mv sp, t0; fmv.x.d a0, fa1)
        TEST_CASE(42, a0, 0xffffffffcafef00d,
                  mv t0, sp; la sp, cscratch; li a1, 0xcafef00d; c.swsp a1, 252(sp);
                  lw a0, 252(sp); mv sp, t0)
        TEST_CASE(43, a0, 0xfedcba9876543210,
                  mv t0, sp; la sp, cscratch; li a1, 0xfedcba9876543210; c.sdsp a1, 504(sp);
                  ld a0, 504(sp); mv sp, t0)
        TEST_CASE(44, a0, 0x400921fb54442d18,
                  mv t0, sp; la sp, cscratch; c.fsdsp fa1, 8(sp); ld a0, 8(sp); mv sp, t0)

        /* CJ / CB / CR jumps */
        TEST_CASE(45, a0, 1, li a0, 0; c.j 1f; c.j fail_c; 1: li a0, 1)
        TEST_CASE(46, a0, 1, li s0, 0; li a0, 0; c.beqz s0, 1f; j fail; 1: li a0, 1)
        TEST_CASE(47, a0, 1, li s0, 0x100000000; li a0, 0; c.beqz s0, 2f; li a0, 1; 2:)
        TEST_CASE(48, a0, 1, li s0, 0x8000000000000000; li a0, 0; c.bnez s0, 1f; j fail; 1: li a0, 1)
        TEST_CASE(49, a0, 0,
                  la a1, 1f; c.jr a1; j fail; 1: li a0, 0)
        TEST_CASE(50, a0, 0,
                  la a1, 1f; c.jalr a1; 2: j fail; 1: la a2, 2b; sub a0, ra, a2)
        /* a backward loop with c.bnez */
        TEST_CASE(51, a0, 5,
                  li s1, 5; li a0, 0; 1: c.addi a0, 1; c.addi s1, -1; c.bnez s1, 1b)
        /* jalr to a 2-byte-aligned target (bit 1 set) */
        TEST_CASE(52, a0, 9,
                  la a1, 1f; li a0, 0; jalr x0, 0(a1); j fail;
                  .balign 4; c.nop; 1: c.li a0, 9)
        /* c.ebreak: a breakpoint; QEMU 7.2 writes 0 to mtval (the spec
           allows 0 or the pc) */
        TEST_TRAP_TVAL(53, CAUSE_BREAKPOINT, 0, c.ebreak)

        /* HINTs: legal, no effect */
        TEST_CASE(54, a1, 0x55,
                  li a1, 0x55; .2byte 0x0582 /* c.slli a1, 0 */;
                  .2byte 0x6005 /* c.lui x0, 1 */)
        TEST_CASE(55, a0, 0x55, li a0, 0x55;
                  .2byte 0x4001 /* c.li x0, 0 */;
                  .2byte 0x0005 /* c.addi x0, 1 (nop with imm) */;
                  .2byte 0x8006 /* c.mv x0, ra */;
                  .2byte 0x9006 /* c.add x0, ra */;
                  .2byte 0x0002 /* c.slli x0, 0 */)
        TEST_CASE(56, s0, 0x1234, li s0, 0x1234;
                  .2byte 0x8001 /* c.srli s0, 0 */;
                  .2byte 0x8401 /* c.srai s0, 0 */)

        /* reserved encodings */
        TEST_ILLEGAL16(57, 0x0000)   /* all zeros */
        TEST_ILLEGAL16(58, 0x0004)   /* c.addi4spn nzuimm = 0 */
        TEST_ILLEGAL16(59, 0x6501)   /* c.lui a0, 0 */
        TEST_ILLEGAL16(60, 0x6101)   /* c.addi16sp 0 */
        TEST_ILLEGAL16(61, 0x4002)   /* c.lwsp x0 */
        TEST_ILLEGAL16(62, 0x6002)   /* c.ldsp x0 */
        TEST_ILLEGAL16(63, 0x8002)   /* c.jr x0 */
        TEST_ILLEGAL16(64, 0x2001)   /* c.addiw x0 */
        TEST_ILLEGAL16(65, 0x9c41)   /* CA funct 100111, funct2 10 */
        TEST_ILLEGAL16(66, 0x9c61)   /* CA funct 100111, funct2 11 */
        TEST_ILLEGAL16(67, 0x8000)   /* quadrant 0, funct3 100 */
        TEST_ILLEGAL16(68, 0x9ffc)   /* quadrant 0, funct3 100, other bits set */
        /* c.fld with mstatus.FS = Off */
        TEST_CASE(69, a0, 0, li a0, MSTATUS_FS; csrc mstatus, a0; li a0, 0)
        TEST_ILLEGAL16(70, 0x2000 | (0 << 7) | (0 << 2))  /* c.fld fs0, 0(s0) */
        TEST_ILLEGAL16(71, 0x2002)   /* c.fldsp f0, 0(sp) */
        TEST_CASE(72, a0, 0, li a0, MSTATUS_FS_INITIAL; csrs mstatus, a0; li a0, 0)

        /* a 32-bit instruction straddling a page boundary */
        TEST_CASE(73, a0, 0x123, la a1, straddle; jalr ra, 0(a1))

        j pass
fail_c: j fail

        .balign 4096
        .skip 4096 - 6
straddle:
        .option push
        .option norvc
        .2byte 0x0001 /* c.nop */
        addi a0, x0, 0x123
        ret
        .option pop

RVTEST_CODE_END

RVTEST_DATA_BEGIN
        .balign 16
cdata:
        .word 0x00000000, 0x80000001
        .dword 0x8000000000000001
        .dword 0x400921fb54442d18
        .balign 16
cscratch:
        .fill 1024, 1, 0
RVTEST_DATA_END
