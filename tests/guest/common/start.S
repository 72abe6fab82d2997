/*
 * Boot code, trap entry points and privilege-switch helpers shared by all
 * guest tests.  Entered at 0x80000000 in M-mode with a0 = hartid, a1 = FDT.
 */
#include "runtime_asm.h"

        .section .text.init, "ax"
        .globl _start
_start:
        .option push
        .option norelax
        csrw    mie, zero
        csrr    t0, mhartid
        bnez    t0, park
        la      t0, m_trap_entry
        csrw    mtvec, t0
        la      t0, m_trap_stack_top
        csrw    mscratch, t0
        la      sp, main_stack_top
        mv      s0, a0
        mv      s1, a1
        /* clear .bss */
        la      t0, __bss_start
        la      t1, __bss_end
1:      bgeu    t0, t1, 2f
        sd      zero, 0(t0)
        addi    t0, t0, 8
        j       1b
2:      la      t0, boot_hartid
        sd      s0, 0(t0)
        la      t0, boot_fdt
        sd      s1, 0(t0)
        call    runtime_init
        mv      a0, s0
        mv      a1, s1
        call    main
        call    test_exit
park:   wfi
        j       park
        .option pop

/* ---------------------------------------------------------------------
 * Trap entry.  The scratch CSR holds the top of the handler stack; the
 * interrupted sp is saved in the frame.  VEC is the vector slot (-1 for
 * the direct entry).
 * ------------------------------------------------------------------- */
.macro SAVE_REGS
        sd      x1, 1*8(sp)
        sd      x3, 3*8(sp)
        sd      x4, 4*8(sp)
        sd      x5, 5*8(sp)
        sd      x6, 6*8(sp)
        sd      x7, 7*8(sp)
        sd      x8, 8*8(sp)
        sd      x9, 9*8(sp)
        sd      x10, 10*8(sp)
        sd      x11, 11*8(sp)
        sd      x12, 12*8(sp)
        sd      x13, 13*8(sp)
        sd      x14, 14*8(sp)
        sd      x15, 15*8(sp)
        sd      x16, 16*8(sp)
        sd      x17, 17*8(sp)
        sd      x18, 18*8(sp)
        sd      x19, 19*8(sp)
        sd      x20, 20*8(sp)
        sd      x21, 21*8(sp)
        sd      x22, 22*8(sp)
        sd      x23, 23*8(sp)
        sd      x24, 24*8(sp)
        sd      x25, 25*8(sp)
        sd      x26, 26*8(sp)
        sd      x27, 27*8(sp)
        sd      x28, 28*8(sp)
        sd      x29, 29*8(sp)
        sd      x30, 30*8(sp)
        sd      x31, 31*8(sp)
.endm

.macro RESTORE_REGS
        ld      x1, 1*8(sp)
        ld      x3, 3*8(sp)
        ld      x4, 4*8(sp)
        ld      x5, 5*8(sp)
        ld      x6, 6*8(sp)
        ld      x7, 7*8(sp)
        ld      x8, 8*8(sp)
        ld      x9, 9*8(sp)
        ld      x10, 10*8(sp)
        ld      x11, 11*8(sp)
        ld      x12, 12*8(sp)
        ld      x13, 13*8(sp)
        ld      x14, 14*8(sp)
        ld      x15, 15*8(sp)
        ld      x16, 16*8(sp)
        ld      x17, 17*8(sp)
        ld      x18, 18*8(sp)
        ld      x19, 19*8(sp)
        ld      x20, 20*8(sp)
        ld      x21, 21*8(sp)
        ld      x22, 22*8(sp)
        ld      x23, 23*8(sp)
        ld      x24, 24*8(sp)
        ld      x25, 25*8(sp)
        ld      x26, 26*8(sp)
        ld      x27, 27*8(sp)
        ld      x28, 28*8(sp)
        ld      x29, 29*8(sp)
        ld      x30, 30*8(sp)
        ld      x31, 31*8(sp)
        ld      x2, 2*8(sp)
.endm

/* pfx = m or s; vec = slot number or -1 */
.macro TRAP_ENTRY pfx, vec
        csrrw   sp, \pfx\()scratch, sp
        addi    sp, sp, -FRAME_SIZE
        SAVE_REGS
        csrr    t0, \pfx\()scratch
        sd      t0, 2*8(sp)
        addi    t0, sp, FRAME_SIZE
        csrw    \pfx\()scratch, t0
        li      t0, \vec
        sd      t0, FRAME_VEC(sp)
        csrr    t0, \pfx\()epc
        sd      t0, FRAME_EPC(sp)
        csrr    t0, \pfx\()cause
        sd      t0, FRAME_CAUSE(sp)
        csrr    t0, \pfx\()tval
        sd      t0, FRAME_TVAL(sp)
        csrr    t0, \pfx\()status
        sd      t0, FRAME_STATUS(sp)
        mv      a0, sp
        call    \pfx\()_trap_c
        ld      t0, FRAME_EPC(sp)
        csrw    \pfx\()epc, t0
        ld      t0, FRAME_STATUS(sp)
        csrw    \pfx\()status, t0
        RESTORE_REGS
        \pfx\()ret
.endm

        .text
        .balign 64
        .globl m_trap_entry
m_trap_entry:
        TRAP_ENTRY m, -1

        .balign 64
        .globl s_trap_entry
s_trap_entry:
        TRAP_ENTRY s, -1

/* Vector tables for mtvec/stvec MODE=1: slot n jumps to a copy of the
 * entry that records n in the frame. */
.macro VEC_TABLE pfx
        .balign 256
        .globl \pfx\()_vec_table
\pfx\()_vec_table:
        .option push
        .option norvc
        j       \pfx\()_vec_0
        j       \pfx\()_vec_1
        j       \pfx\()_vec_2
        j       \pfx\()_vec_3
        j       \pfx\()_vec_4
        j       \pfx\()_vec_5
        j       \pfx\()_vec_6
        j       \pfx\()_vec_7
        j       \pfx\()_vec_8
        j       \pfx\()_vec_9
        j       \pfx\()_vec_10
        j       \pfx\()_vec_11
        j       \pfx\()_vec_12
        j       \pfx\()_vec_13
        j       \pfx\()_vec_14
        j       \pfx\()_vec_15
        .option pop
.endm

.macro VEC_STUB pfx, n
        .balign 4
\pfx\()_vec_\n\():
        TRAP_ENTRY \pfx, \n
.endm

        VEC_TABLE m
        VEC_STUB m, 0
        VEC_STUB m, 1
        VEC_STUB m, 2
        VEC_STUB m, 3
        VEC_STUB m, 4
        VEC_STUB m, 5
        VEC_STUB m, 6
        VEC_STUB m, 7
        VEC_STUB m, 8
        VEC_STUB m, 9
        VEC_STUB m, 10
        VEC_STUB m, 11
        VEC_STUB m, 12
        VEC_STUB m, 13
        VEC_STUB m, 14
        VEC_STUB m, 15
        VEC_TABLE s
        VEC_STUB s, 0
        VEC_STUB s, 1
        VEC_STUB s, 2
        VEC_STUB s, 3
        VEC_STUB s, 4
        VEC_STUB s, 5
        VEC_STUB s, 6
        VEC_STUB s, 7
        VEC_STUB s, 8
        VEC_STUB s, 9
        VEC_STUB s, 10
        VEC_STUB s, 11
        VEC_STUB s, 12
        VEC_STUB s, 13
        VEC_STUB s, 14
        VEC_STUB s, 15

/* ---------------------------------------------------------------------
 * long m_run_lower(long priv, long (*fn)(long), long arg)
 *   From M-mode: run fn(arg) in priv (0 = U, 1 = S) and return its result.
 * long s_run_user(long (*fn)(long), long arg)
 *   From S-mode: run fn(arg) in U-mode.
 * The lower mode returns with `ecall` and a7 = MAGIC_RET; whichever
 * handler gets it unwinds the context stack (see trap.c).  The target pc
 * and stack are offset by run_va_offset (for aliased mappings).
 * ------------------------------------------------------------------- */
.macro PUSH_CALLER priv_reg
        addi    sp, sp, -112
        sd      ra, 0(sp)
        sd      s0, 8(sp)
        sd      s1, 16(sp)
        sd      s2, 24(sp)
        sd      s3, 32(sp)
        sd      s4, 40(sp)
        sd      s5, 48(sp)
        sd      s6, 56(sp)
        sd      s7, 64(sp)
        sd      s8, 72(sp)
        sd      s9, 80(sp)
        sd      s10, 88(sp)
        sd      s11, 96(sp)
        sd      gp, 104(sp)
        /* ctx_tab[ctx_depth] = { sp, priv, ie } ; ctx_depth++ */
        la      t0, ctx_depth
        ld      t1, 0(t0)
        li      t2, 24
        mul     t2, t1, t2
        la      t3, ctx_tab
        add     t3, t3, t2
        sd      sp, 0(t3)
        sd      \priv_reg, 8(t3)
        sd      t5, 16(t3)
        addi    t1, t1, 1
        sd      t1, 0(t0)
.endm

        .globl m_run_lower
m_run_lower:
        csrr    t5, mstatus
        andi    t5, t5, MSTATUS_MIE_BIT
        li      t4, 3
        PUSH_CALLER t4
        li      t0, MSTATUS_MPP_MASK
        csrc    mstatus, t0
        slli    t1, a0, 11
        csrs    mstatus, t1
        la      t6, run_va_offset
        ld      t6, 0(t6)
        la      t0, lower_entry
        add     t0, t0, t6
        csrw    mepc, t0
        la      sp, u_stack_top
        beqz    a0, 1f
        la      sp, s_stack_top
1:      add     sp, sp, t6
        mv      a0, a2
        mret

        .globl s_run_user
s_run_user:
        csrr    t5, sstatus
        andi    t5, t5, MSTATUS_SIE_BIT
        li      t4, 1
        PUSH_CALLER t4
        li      t0, MSTATUS_SPP_BIT
        csrc    sstatus, t0
        la      t6, run_va_offset
        ld      t6, 0(t6)
        la      t0, lower_entry
        add     t0, t0, t6
        csrw    sepc, t0
        mv      a2, a1
        mv      a1, a0
        la      sp, u_stack_top
        add     sp, sp, t6
        mv      a0, a2
        sret

lower_entry:
        jalr    a1
        li      a7, MAGIC_RET
        ecall
1:      j       1b

        .globl ctx_return
ctx_return:
        ld      ra, 0(sp)
        ld      s0, 8(sp)
        ld      s1, 16(sp)
        ld      s2, 24(sp)
        ld      s3, 32(sp)
        ld      s4, 40(sp)
        ld      s5, 48(sp)
        ld      s6, 56(sp)
        ld      s7, 64(sp)
        ld      s8, 72(sp)
        ld      s9, 80(sp)
        ld      s10, 88(sp)
        ld      s11, 96(sp)
        ld      gp, 104(sp)
        addi    sp, sp, 112
        ret

/* Leave S-mode for good from the S handler: forward a0 to the M context. */
        .globl s_forward_ret
s_forward_ret:
        li      a7, MAGIC_RET
        ecall
1:      j       1b

        .globl s_report_fail
s_report_fail:
        li      a7, MAGIC_SFAIL
        ecall
1:      j       1b

/* ---------------------------------------------------------------------
 * Stacks
 * ------------------------------------------------------------------- */
        .section .stacks, "aw", @nobits
        .balign 4096
        .space  16384
        .globl main_stack_top
main_stack_top:
        .space  8192
        .globl m_trap_stack_top
m_trap_stack_top:
        .space  8192
        .globl s_trap_stack_top
s_trap_stack_top:
        .space  8192
        .globl s_stack_top
s_stack_top:
        .space  8192
        .globl u_stack_top
u_stack_top:
