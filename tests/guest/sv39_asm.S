/* Assembly helpers for sv39.c */
        .text
        .option norvc

/* u64 mprv_ld(u64 va, u64 mpp): load with mstatus.MPRV=1 and MPP=mpp.
 * A faulting load resumes at mprv_resume (set trap_resume_pc), which
 * clears MPRV before any other data access. */
        .globl mprv_ld, mprv_sd, mprv_resume
mprv_ld:
        li      t0, 0x1800
        csrc    mstatus, t0
        slli    a1, a1, 11
        csrs    mstatus, a1
        li      t0, 0x20000
        csrs    mstatus, t0
        ld      a0, 0(a0)
        j       mprv_resume
/* u64 mprv_sd(u64 va, u64 val, u64 mpp) */
mprv_sd:
        li      t0, 0x1800
        csrc    mstatus, t0
        slli    a2, a2, 11
        csrs    mstatus, a2
        li      t0, 0x20000
        csrs    mstatus, t0
        sd      a1, 0(a0)
mprv_resume:
        li      t0, 0x20000
        csrc    mstatus, t0
        ret

        .globl sfence_all, sfence_va
sfence_all:
        sfence.vma
        ret
sfence_va:
        sfence.vma a0
        ret
