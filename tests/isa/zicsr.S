/*
 * zicsr: the six CSR instructions and the user counters.  Checked: the old
 * value comes back in rd, csrrs/csrrc with rs1 = x0 (or uimm = 0) do not
 * write (so they are legal on read-only CSRs), csrrw with rd = x0 still
 * writes, rd = rs1 swaps, immediates are zero-extended 5-bit values, writes
 * to read-only CSRs and accesses to unimplemented CSRs raise an
 * illegal-instruction exception with mtval = the instruction, and the
 * counters count up.  (QEMU 7.2 without -icount derives cycle and instret
 * from the host clock, so only monotonicity is checked.)
 */
#include "test_macros.h"

RVTEST_CODE_BEGIN

        TEST_CASE(2, a0, 0, csrw mscratch, x0; li a1, 0x1234; csrrw a0, mscratch, a1)
        TEST_CASE(3, a0, 0x1234, csrr a0, mscratch)
        TEST_CASE(4, a0, 0x1234, li a1, 0xf0f0; csrrs a0, mscratch, a1)
        TEST_CASE(5, a0, 0xf2f4, csrr a0, mscratch)
        TEST_CASE(6, a0, 0xf2f4, li a1, 0x00ff; csrrc a0, mscratch, a1)
        TEST_CASE(7, a0, 0xf200, csrr a0, mscratch)
        TEST_CASE(8, a0, 0xf200, csrrwi a0, mscratch, 31)
        TEST_CASE(9, a0, 0x1f, csrr a0, mscratch)
        TEST_CASE(10, a0, 0x1f, csrrci a0, mscratch, 0x15)
        TEST_CASE(11, a0, 0x0a, csrrsi a0, mscratch, 0x10)
        TEST_CASE(12, a0, 0x1a, csrr a0, mscratch)
        TEST_CASE(13, a0, 0x1a, csrrs a0, mscratch, x0)
        TEST_CASE(14, a0, 0x1a, csrrsi a0, mscratch, 0)
        TEST_CASE(15, a0, 0xffffffffffffffff, li a1, -1; csrw mscratch, a1; csrr a0, mscratch)
        TEST_CASE(16, a0, 0x8000000000000000, li a1, 0x7fffffffffffffff; csrc mscratch, a1; csrr a0, mscratch)
        TEST_CASE(17, a0, 0x5555, li a0, 0x5555; csrw mscratch, x0; csrrw a0, mscratch, a0; csrr a0, mscratch)
        TEST_CASE(18, a1, 0x5555, li a1, 0x7777; csrrw a1, mscratch, a1)
        TEST_CASE(19, a0, 0x7777, csrr a0, mscratch)
        TEST_CASE(20, a0, 0, csrrw x0, mscratch, x0; csrr a0, mscratch)

        /* counters: readable in M-mode, increasing */
        TEST_CASE(21, a0, 1, rdinstret a1; rdinstret a2; sltu a0, a1, a2)
        TEST_CASE(22, a0, 1, rdcycle a1; nop; nop; rdcycle a2; sltu a0, a1, a2)
        TEST_CASE(23, a0, 1, csrr a1, minstret; csrr a2, instret; sltu a0, a1, a2)
        TEST_CASE(24, a0, 1, csrr a1, mcycle; csrr a2, cycle; sltu a0, a1, a2)
        TEST_CASE(25, a0, 1, rdtime a1; li a3, 1000; 1: addi a3, a3, -1; bnez a3, 1b;
                  rdtime a2; sltu a0, a1, a2)
        /* minstret is writable: the count restarts from the value written */
        TEST_CASE(26, a0, 1, li a1, 1000000; csrw minstret, a1; csrr a2, minstret;
                  sub a2, a2, a1; li a3, 10000000; sltu a0, a2, a3)
        TEST_CASE(27, a0, 1, li a1, 0x4000000000000000; csrw mcycle, a1; csrr a2, mcycle;
                  sltu a0, a2, a1; xori a0, a0, 1)

        /* read-only CSRs: reads with rs1 = x0 are legal, writes are not */
        TEST_CASE(28, a0, 0, csrrs a0, mhartid, x0)
        TEST_CASE(29, a0, 1, csrrc a1, cycle, x0; csrrsi a2, instret, 0; csrrci a3, time, 0; li a0, 1)
        TEST_TRAP_TVAL(30, CAUSE_ILLEGAL, 0xc0059073, csrw cycle, a1)
        TEST_TRAP_TVAL(31, CAUSE_ILLEGAL, 0xc0101073, csrrw x0, time, x0)
        TEST_TRAP_TVAL(32, CAUSE_ILLEGAL, 0xf140e073, csrsi mhartid, 1)
        TEST_TRAP_TVAL(33, CAUSE_ILLEGAL, 0xc0217073, csrci instret, 2)
        TEST_TRAP_TVAL(34, CAUSE_ILLEGAL, 0xf1159073, csrw mvendorid, a1)
        li a2, 1
        TEST_TRAP(35, CAUSE_ILLEGAL, csrs mimpid, a2)

        /* unimplemented CSRs */
        TEST_TRAP_TVAL(36, CAUSE_ILLEGAL, 0x7c002573, csrr a0, 0x7c0)
        TEST_TRAP_TVAL(37, CAUSE_ILLEGAL, 0x80002573, csrr a0, 0x800)
        TEST_TRAP_TVAL(38, CAUSE_ILLEGAL, 0x5c002573, csrr a0, 0x5c0)
        TEST_TRAP(39, CAUSE_ILLEGAL, csrw 0x7c0, x0)
        TEST_TRAP(40, CAUSE_ILLEGAL, csrr a0, 0x015)  /* seed (Zkr, not implemented) */
        /* the destination is not written when the instruction traps */
        TEST_CASE(41, a0, 0x77, li a0, 0x77; EXPECT_TRAP(CAUSE_ILLEGAL, 1f);
                  csrr a0, 0x7c0; j fail; 1:)

        /* the FP CSRs through all six instructions */
        TEST_CASE(42, a0, 0, csrwi fcsr, 0; li a1, 0x1f; csrrw a0, fflags, a1)
        TEST_CASE(43, a0, 0x1f, csrrci a0, fflags, 0x3)
        TEST_CASE(44, a0, 0, csrrsi a0, frm, 3)
        TEST_CASE(45, a0, 0x7c, csrrc a0, fcsr, x0)
        TEST_CASE(46, a0, 0x7c, li a1, 0xe0; csrrc a0, fcsr, a1)
        TEST_CASE(47, a0, 0x1c, csrrwi a0, fcsr, 0)

        j pass
RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
