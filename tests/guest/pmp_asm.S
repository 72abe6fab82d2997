/* Assembly helpers for pmp.c */
        .text
        .option norvc

/* u64 pmpaddr_read(int i) / void pmpaddr_write(int i, u64 v) and the
 * pmpcfg0/pmpcfg2 accessors, through jump tables (CSR numbers are
 * immediates). */
        .globl pmpaddr_read
pmpaddr_read:
        la      t0, 1f
        slli    a0, a0, 3
        add     t0, t0, a0
        jr      t0
1:
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        csrr    a0, pmpaddr\n
        ret
        .endr

        .globl pmpaddr_write
pmpaddr_write:
        la      t0, 1f
        slli    a0, a0, 3
        add     t0, t0, a0
        jr      t0
1:
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        csrw    pmpaddr\n, a1
        ret
        .endr

/* void mret_to_s_bare(u64 target): enter S-mode at target via mret. */
        .globl mret_to_s_bare, mret_to_s_bare_insn
mret_to_s_bare:
        csrw    mepc, a0
        li      t0, 0x1800
        csrc    mstatus, t0
        li      t0, 0x0800
        csrs    mstatus, t0
mret_to_s_bare_insn:
        mret

        .globl read_pmpcfg1, read_pmpcfg1_insn
read_pmpcfg1:
read_pmpcfg1_insn:
        csrr    a0, pmpcfg1
        ret

        .globl sfence_all
sfence_all:
        sfence.vma
        ret
