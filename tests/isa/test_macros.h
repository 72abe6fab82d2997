/*
 * deja's ISA test harness: bare-metal assembly tests, one program per
 * extension, in the manner of riscv-tests (numbered cases, TESTNUM in gp,
 * the result reported through HTIF's tohost) but written for deja.
 *
 * A program starts in M-mode at 0x80000000 (QEMU's reset ROM jumps there
 * with -bios none), runs its cases in order, and ends in one of two ways:
 *
 *   pass: tohost = 1, then sifive_test (0x100000) = 0x5555;
 *   fail: tohost = (TESTNUM << 1) | 1, then sifive_test =
 *         (TESTNUM << 16) | 0x3333,
 *
 * so that HTIF hosts (Spike, deja) and QEMU's virt board (which ignores
 * tohost but honours sifive_test) both exit with status 0 or the number of
 * the failing case.
 *
 * Register use: gp holds the case number; t5 and t6 are scratch for these
 * macros and the trap handler, so cases keep their values elsewhere.
 *
 * Traps: every trap goes to an M-mode handler.  A case that expects one
 * announces it with EXPECT_TRAP(cause, resume): the handler records mcause,
 * mtval and mepc in trap_rec, and returns to `resume` in the privilege mode
 * the trap came from (or in M-mode when bit 0 of the resume address is
 * set); after an interrupt, with mstatus.MIE = 0.  Any other trap fails
 * the current case.
 */
#ifndef DEJA_ISA_TEST_MACROS_H
#define DEJA_ISA_TEST_MACROS_H

#define TESTNUM gp
#define SIFIVE_TEST 0x100000

/* mstatus bits */
#define MSTATUS_SIE  0x2
#define MSTATUS_MIE  0x8
#define MSTATUS_SPIE 0x20
#define MSTATUS_MPIE 0x80
#define MSTATUS_SPP  0x100
#define MSTATUS_MPP  0x1800
#define MSTATUS_MPP_S 0x800
#define MSTATUS_FS   0x6000
#define MSTATUS_FS_INITIAL 0x2000
#define MSTATUS_FS_CLEAN 0x4000
#define MSTATUS_FS_DIRTY 0x6000
#define MSTATUS_MPRV 0x20000
#define MSTATUS_SUM  0x40000
#define MSTATUS_MXR  0x80000
#define MSTATUS_TVM  0x100000
#define MSTATUS_TW   0x200000
#define MSTATUS_TSR  0x400000
#define MSTATUS_SD   0x8000000000000000

/* exception causes */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

/* fflags */
#define FF_NX 0x01
#define FF_UF 0x02
#define FF_OF 0x04
#define FF_DZ 0x08
#define FF_NV 0x10

/* rounding modes */
#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

/* trap_rec layout */
#define TR_EXPECT 0
#define TR_RESUME 8
#define TR_CAUSE 16
#define TR_TVAL 24
#define TR_EPC 32
#define TR_COUNT 40
#define TR_SAVE 48
#define TR_PRIV 64
#define TR_ALT 72

/* ------------------------------------------------------------------ */
/* Program frame                                                       */
/* ------------------------------------------------------------------ */

/* Start of the program: hart 0 only, trap vector, FPU on, TESTNUM = 0. */
#define RVTEST_CODE_BEGIN                                               \
        .section .text.init, "ax", @progbits;                           \
        .globl _start;                                                  \
_start:                                                                 \
        csrr t0, mhartid;                                               \
1:      bnez t0, 1b;                                                    \
        la t0, m_trap_vector;                                           \
        csrw mtvec, t0;                                                 \
        la t0, trap_rec;                                                \
        li t1, -1;                                                      \
        sd t1, TR_EXPECT(t0);                                           \
        sd t1, TR_ALT(t0);                                              \
        li t0, MSTATUS_FS_INITIAL;                                      \
        csrs mstatus, t0;                                               \
        csrwi fcsr, 0;                                                  \
        la sp, stack_top;                                               \
        li TESTNUM, 0;                                                  \
        j tests_begin;                                                  \
                                                                        \
        .balign 4;                                                      \
m_trap_vector:                                                          \
        csrw mscratch, t6;                                              \
        la t6, trap_rec;                                                \
        sd t5, TR_SAVE(t6);                                             \
        sd t4, TR_SAVE + 8(t6);                                         \
        csrr t4, mcause;                                                \
        sd t4, TR_CAUSE(t6);                                            \
        ld t5, TR_EXPECT(t6);                                           \
        beq t4, t5, 1f;                                                 \
        ld t5, TR_ALT(t6);                                              \
        bne t4, t5, unexpected_trap;                                    \
1:                                                                      \
        csrr t4, mtval;                                                 \
        sd t4, TR_TVAL(t6);                                             \
        csrr t4, mepc;                                                  \
        sd t4, TR_EPC(t6);                                              \
        csrr t4, mstatus;                                               \
        srli t4, t4, 11;                                                \
        andi t4, t4, 3;                                                 \
        sd t4, TR_PRIV(t6);                                             \
        ld t4, TR_COUNT(t6);                                            \
        addi t4, t4, 1;                                                 \
        sd t4, TR_COUNT(t6);                                            \
        li t4, -1;                                                      \
        sd t4, TR_EXPECT(t6);                                           \
        sd t4, TR_ALT(t6);                                              \
        csrr t4, mcause;                                                \
        bgez t4, 3f;                                                    \
        li t4, MSTATUS_MPIE;                                            \
        csrc mstatus, t4;                                               \
3:      ld t4, TR_RESUME(t6);                                           \
        andi t5, t4, 1;                                                 \
        beqz t5, 2f;                                                    \
        li t5, MSTATUS_MPP;                                             \
        csrs mstatus, t5;                                               \
        andi t4, t4, -2;                                                \
2:      csrw mepc, t4;                                                  \
        ld t4, TR_SAVE + 8(t6);                                         \
        ld t5, TR_SAVE(t6);                                             \
        csrr t6, mscratch;                                              \
        mret;                                                           \
unexpected_trap:                                                        \
        j fail;                                                         \
tests_begin:

/* End of the cases: the pass and fail exits. */
#define RVTEST_CODE_END                                                 \
pass:                                                                   \
        fence;                                                          \
        li TESTNUM, 1;                                                  \
        la t0, tohost;                                                  \
        sd TESTNUM, 0(t0);                                              \
        li t0, SIFIVE_TEST;                                             \
        li t1, 0x5555;                                                  \
        sw t1, 0(t0);                                                   \
1:      j 1b;                                                           \
fail:                                                                   \
        fence;                                                          \
        bnez TESTNUM, 2f;                                               \
        li TESTNUM, 0x7ff;                                              \
2:      slli t1, TESTNUM, 1;                                            \
        ori t1, t1, 1;                                                  \
        la t0, tohost;                                                  \
        sd t1, 0(t0);                                                   \
        li t0, SIFIVE_TEST;                                             \
        slli t1, TESTNUM, 16;                                           \
        li t2, 0x3333;                                                  \
        or t1, t1, t2;                                                  \
        sw t1, 0(t0);                                                   \
3:      j 3b;

/* Data: tohost/fromhost (HTIF), the trap record and a small stack. */
#define RVTEST_DATA_BEGIN                                               \
        .pushsection .tohost, "aw", @progbits;                          \
        .balign 64;                                                     \
        .globl tohost;                                                  \
tohost: .dword 0;                                                       \
        .balign 64;                                                     \
        .globl fromhost;                                                \
fromhost: .dword 0;                                                     \
        .balign 64;                                                     \
        .popsection;                                                    \
        .data;                                                          \
        .balign 64;                                                     \
trap_rec: .fill 16, 8, 0;                                               \
        .balign 16;                                                     \
stack_bottom: .fill 512, 8, 0;                                          \
stack_top:                                                              \
        .balign 16;

#define RVTEST_DATA_END

/* ------------------------------------------------------------------ */
/* Traps                                                               */
/* ------------------------------------------------------------------ */

/* The next trap must have this cause; the handler resumes at `resume`. */
#define EXPECT_TRAP(cause, resume)                                      \
        la t6, trap_rec;                                                \
        li t5, cause;                                                   \
        sd t5, TR_EXPECT(t6);                                           \
        la t5, resume;                                                  \
        sd t5, TR_RESUME(t6);

/*
 * As EXPECT_TRAP, but `alt` is accepted too: for the few places where
 * QEMU 7.2 departs from the spec (each use says why).
 */
#define EXPECT_TRAP_OR(cause, alt, resume)                              \
        EXPECT_TRAP(cause, resume)                                      \
        li t5, alt;                                                     \
        sd t5, TR_ALT(t6);

/*
 * Enter privilege `mode` (0 = U, 1 = S) at the next instruction, with
 * mstatus.MIE = 0 (so that MIE is still 0 when a trap brings us back).
 */
#define GOTO_MODE(mode)                                                 \
        li t5, MSTATUS_MPP | MSTATUS_MPIE;                              \
        csrc mstatus, t5;                                               \
        li t5, (mode) << 11;                                            \
        csrs mstatus, t5;                                               \
        la t5, 1f;                                                      \
        csrw mepc, t5;                                                  \
        mret;                                                           \
1:

/* From U or S (ecall cause `cause`), back to M-mode. */
#define RETURN_TO_M(cause)                                              \
        EXPECT_TRAP(cause, 1f + 1)                                      \
        ecall;                                                          \
        j fail;                                                         \
1:

/* Let S and U access all of memory through PMP entry 0 (NAPOT, RWX). */
#define PMP_ALLOW_ALL                                                   \
        li t5, -1;                                                      \
        csrw pmpaddr0, t5;                                              \
        li t5, 0x1f;                                                    \
        csrw pmpcfg0, t5;

/* Compare a recorded trap field with a constant or an address. */
#define CHECK_TRAP_FIELD(off, val)                                      \
        la t6, trap_rec;                                                \
        ld t5, off(t6);                                                 \
        li t6, val;                                                     \
        bne t5, t6, fail;
#define CHECK_TRAP_TVAL(val) CHECK_TRAP_FIELD(TR_TVAL, val)
#define CHECK_TRAP_PRIV(val) CHECK_TRAP_FIELD(TR_PRIV, val)
#define CHECK_TRAP_TVAL_ADDR(label)                                     \
        la t6, trap_rec;                                                \
        ld t5, TR_TVAL(t6);                                             \
        la t6, label;                                                   \
        bne t5, t6, fail;
#define CHECK_TRAP_TVAL_REG(reg)                                        \
        la t6, trap_rec;                                                \
        ld t5, TR_TVAL(t6);                                             \
        bne t5, reg, fail;
#define CHECK_TRAP_EPC(label)                                           \
        la t6, trap_rec;                                                \
        ld t5, TR_EPC(t6);                                              \
        la t6, label;                                                   \
        bne t5, t6, fail;

/*
 * Case n: `code` must trap with `cause` at its first instruction; the case
 * goes on at the resume label with the epc checked.
 */
#define TEST_TRAP(n, cause, code...)                                    \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        EXPECT_TRAP(cause, test_##n##_resume)                           \
test_##n##_insn:                                                        \
        code;                                                           \
        j fail;                                                         \
test_##n##_resume:                                                      \
        CHECK_TRAP_EPC(test_##n##_insn)

/* As TEST_TRAP, accepting cause `alt` as well. */
#define TEST_TRAP_OR(n, cause, alt, code...)                            \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        EXPECT_TRAP_OR(cause, alt, test_##n##_resume)                   \
test_##n##_insn:                                                        \
        code;                                                           \
        j fail;                                                         \
test_##n##_resume:                                                      \
        CHECK_TRAP_EPC(test_##n##_insn)

/* As TEST_TRAP, and mtval must hold `tval`. */
#define TEST_TRAP_TVAL(n, cause, tval, code...)                         \
        TEST_TRAP(n, cause, code)                                       \
        CHECK_TRAP_TVAL(tval)

/* An illegal instruction given as a 32-bit word: mtval = the word. */
#define TEST_ILLEGAL32(n, bits)                                         \
        TEST_TRAP_TVAL(n, CAUSE_ILLEGAL, bits, .word bits)

/* An illegal instruction given as a 16-bit parcel: mtval = the parcel. */
#define TEST_ILLEGAL16(n, half)                                         \
        TEST_TRAP_TVAL(n, CAUSE_ILLEGAL, half, .2byte half; .2byte 0x0001)

/* ------------------------------------------------------------------ */
/* Integer cases                                                       */
/* ------------------------------------------------------------------ */

/* Case n: run `code`, then `reg` must equal `val`. */
#define TEST_CASE(n, reg, val, code...)                                 \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        code;                                                           \
        li t6, val;                                                     \
        bne reg, t6, fail;

/* rd = rs1 op rs2, in the three register-overlap shapes. */
#define TEST_RR(n, inst, result, v1, v2)                                \
        TEST_CASE(n, a0, result, li a1, v1; li a2, v2; inst a0, a1, a2)
#define TEST_RR_D1(n, inst, result, v1, v2)                             \
        TEST_CASE(n, a1, result, li a1, v1; li a2, v2; inst a1, a1, a2)
#define TEST_RR_D2(n, inst, result, v1, v2)                             \
        TEST_CASE(n, a2, result, li a1, v1; li a2, v2; inst a2, a1, a2)
#define TEST_RR_X0(n, inst, v1, v2)                                     \
        TEST_CASE(n, x0, 0, li a1, v1; li a2, v2; inst x0, a1, a2)

/* rd = rs1 op imm. */
#define TEST_IMM(n, inst, result, v1, imm)                              \
        TEST_CASE(n, a0, result, li a1, v1; inst a0, a1, imm)
#define TEST_IMM_D1(n, inst, result, v1, imm)                           \
        TEST_CASE(n, a1, result, li a1, v1; inst a1, a1, imm)

/* Load `inst` from label+off must give `result`. */
#define TEST_LOAD(n, inst, result, label, off)                          \
        TEST_CASE(n, a0, result, la a1, label; inst a0, off(a1))

/* Store `val` with `sinst` at label+off, reload with `linst`. */
#define TEST_STORE(n, linst, sinst, val, label, off)                    \
        TEST_CASE(n, a0, val, la a1, label; li a2, val;                 \
                  sinst a2, off(a1); linst a0, off(a1))

/* Branch: taken (1) or not (0). */
#define TEST_BR(n, inst, taken, v1, v2)                                 \
        TEST_CASE(n, a0, taken, li a1, v1; li a2, v2; li a0, 0;         \
                  inst a1, a2, 1f; j 2f; 1: li a0, 1; 2:)

/* ------------------------------------------------------------------ */
/* Floating-point cases                                                */
/* ------------------------------------------------------------------ */

/*
 * Operands a, b, c go to a1, a2, a3 and to fa0, fa1, fa2; fcsr is cleared;
 * `code` runs; then fflags must equal `flags` and the result must match.
 *
 * _S:   singles, NaN-boxed by fmv.w.x; result in fa3, which must be a
 *       NaN-boxed `result` (checked with fmv.x.d).
 * _D:   doubles; result in fa3.
 * _X:   result in a0 (integer), compared as 64 bits.
 * _RAW: operands and result as raw 64-bit patterns (for unboxed singles).
 */
#define FP_LOAD_S(a, b, c)                                              \
        li a1, a; fmv.w.x fa0, a1;                                      \
        li a2, b; fmv.w.x fa1, a2;                                      \
        li a3, c; fmv.w.x fa2, a3;                                      \
        csrwi fcsr, 0;
#define FP_LOAD_D(a, b, c)                                              \
        li a1, a; fmv.d.x fa0, a1;                                      \
        li a2, b; fmv.d.x fa1, a2;                                      \
        li a3, c; fmv.d.x fa2, a3;                                      \
        csrwi fcsr, 0;
#define FP_CHECK_FLAGS(flags)                                           \
        frflags t5;                                                     \
        li t6, flags;                                                   \
        bne t5, t6, fail;

#define TEST_FP_S(n, flags, result, a, b, c, code...)                   \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        FP_LOAD_S(a, b, c)                                              \
        code;                                                           \
        FP_CHECK_FLAGS(flags)                                           \
        fmv.x.d a0, fa3;                                                \
        li t6, (0xffffffff00000000 | (result));                         \
        bne a0, t6, fail;

#define TEST_FP_S_X(n, flags, result, a, b, c, code...)                 \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        FP_LOAD_S(a, b, c)                                              \
        code;                                                           \
        FP_CHECK_FLAGS(flags)                                           \
        li t6, result;                                                  \
        bne a0, t6, fail;

#define TEST_FP_D(n, flags, result, a, b, c, code...)                   \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        FP_LOAD_D(a, b, c)                                              \
        code;                                                           \
        FP_CHECK_FLAGS(flags)                                           \
        fmv.x.d a0, fa3;                                                \
        li t6, result;                                                  \
        bne a0, t6, fail;

#define TEST_FP_D_X(n, flags, result, a, b, c, code...)                 \
test_##n:                                                               \
        li TESTNUM, n;                                                  \
        FP_LOAD_D(a, b, c)                                              \
        code;                                                           \
        FP_CHECK_FLAGS(flags)                                           \
        li t6, result;                                                  \
        bne a0, t6, fail;

#define TEST_FP_RAW(n, flags, result, a, b, c, code...)                 \
        TEST_FP_D(n, flags, result, a, b, c, code)

/* Common shapes. */
#define TEST_FS_OP2(n, inst, flags, result, a, b)                       \
        TEST_FP_S(n, flags, result, a, b, 0, inst fa3, fa0, fa1)
#define TEST_FS_OP2_RM(n, inst, rm, flags, result, a, b)                \
        TEST_FP_S(n, flags, result, a, b, 0, inst fa3, fa0, fa1, rm)
#define TEST_FS_OP3(n, inst, flags, result, a, b, c)                    \
        TEST_FP_S(n, flags, result, a, b, c, inst fa3, fa0, fa1, fa2)
#define TEST_FD_OP2(n, inst, flags, result, a, b)                       \
        TEST_FP_D(n, flags, result, a, b, 0, inst fa3, fa0, fa1)
#define TEST_FD_OP2_RM(n, inst, rm, flags, result, a, b)                \
        TEST_FP_D(n, flags, result, a, b, 0, inst fa3, fa0, fa1, rm)
#define TEST_FD_OP3(n, inst, flags, result, a, b, c)                    \
        TEST_FP_D(n, flags, result, a, b, c, inst fa3, fa0, fa1, fa2)

#endif
