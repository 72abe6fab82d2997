/* Assembly helpers for traps.c */
#include "runtime_asm.h"
        .text
        .option norvc

/* u64 mret_m_to_m(void): mret with MPP=M, MPIE=1 to the next label;
 * returns mstatus as seen right after the mret (MIE cleared again). */
        .globl mret_m_to_m, mret_m_to_m_target
mret_m_to_m:
        li      t0, MSTATUS_MPP_MASK
        csrs    mstatus, t0
        li      t0, 0x80            /* MPIE */
        csrs    mstatus, t0
        la      t0, mret_m_to_m_target
        csrw    mepc, t0
        li      a0, 0
        mret
        li      a0, -1              /* must be skipped */
mret_m_to_m_target:
        csrr    a0, mstatus
        csrci   mstatus, 8
        ret

/* u64 sret_s_to_s(void): the same with sret in S-mode. */
        .globl sret_s_to_s, sret_s_to_s_target
sret_s_to_s:
        li      t0, MSTATUS_SPP_BIT
        csrs    sstatus, t0
        li      t0, 0x20            /* SPIE */
        csrs    sstatus, t0
        la      t0, sret_s_to_s_target
        csrw    sepc, t0
        li      a0, 0
        sret
        li      a0, -1
sret_s_to_s_target:
        csrr    a0, sstatus
        csrci   sstatus, 2
        ret

/* u64 jalr_odd(void): jr to label+1 must land on label (bit 0 cleared). */
        .globl jalr_odd
jalr_odd:
        la      t0, 1f
        addi    t0, t0, 1
        li      a0, 0
        jr      t0
        li      a0, -1
        ret
1:      li      a0, 1
        ret

/* u64 jalr_odd_imm(void): jalr with an odd immediate. */
        .globl jalr_odd_imm
jalr_odd_imm:
        la      t0, 1f
        li      a0, 0
        jalr    x0, 1(t0)
        li      a0, -1
        ret
1:      li      a0, 2
        ret

/* u64 jump_half_aligned(void): a 32-bit instruction at pc % 4 == 2. */
        .globl jump_half_aligned, half_aligned_target
jump_half_aligned:
        la      t0, half_aligned_target
        li      a0, 0
        jr      t0
        .balign 4
        .option rvc
        c.nop
half_aligned_target:
        .option norvc
        addi    a0, a0, 3
        ret

/* Instructions whose encodings the test reads back as expected mtval. */
        .globl read_mstatus_insn, read_mstatus
read_mstatus:
read_mstatus_insn:
        csrr    a0, mstatus
        ret

        .globl illegal_word, illegal_word_insn
illegal_word:
illegal_word_insn:
        .word   0x0000006b          /* reserved major opcode */
        ret
