/*
 * rv64si: supervisor mode with Sv39 virtual memory.  The kernel image is
 * identity-mapped with a 1 GiB page (and the devices below 1 GiB with
 * another), and the 1 GiB at 0x40000000 is mapped through two more levels
 * so that single 4 KiB pages can carry different permissions.  Checked:
 * translation, R/W/X/U permissions, SUM and MXR, hardware A/D updates (as
 * QEMU 7.2 does them), invalid and reserved PTEs, misaligned superpages,
 * non-canonical addresses, sfence.vma, MPRV, delegation of page faults to
 * S-mode (scause/stval/sepc), sret, and TVM.
 */
#include "test_macros.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80
#define SATP_SV39 (8 << 60)

#define VA_BASE 0x40000000
#define VA(i) (VA_BASE + (i) * 0x1000)

/* table[idx] = leaf or pointer to `target` with `flags` (t0, t1 scratch) */
#define SET_PTE(table, idx, target, flags)                              \
        la t0, target;                                                  \
        srli t0, t0, 12;                                                \
        slli t0, t0, 10;                                                \
        ori t0, t0, flags;                                              \
        la t1, table;                                                   \
        sd t0, (idx) * 8(t1);
#define SET_PTE_PA(table, idx, pa, flags)                               \
        li t0, ((pa) >> 12 << 10) | (flags);                            \
        la t1, table;                                                   \
        sd t0, (idx) * 8(t1);

/*
 * U-mode code runs from a user alias of the kernel image at +1 GiB
 * (0xc0000000), since S-mode may not execute user pages and U-mode may only
 * execute them.  pc-relative addresses (la) then point into the alias.
 */
#define ALIAS 0x40000000
#define GOTO_U_ALIAS                                                    \
        li t5, MSTATUS_MPP | MSTATUS_MPIE;                              \
        csrc mstatus, t5;                                               \
        la t5, 1f;                                                      \
        li t4, ALIAS;                                                   \
        add t5, t5, t4;                                                 \
        csrw mepc, t5;                                                  \
        mret;                                                           \
1:
#define RETURN_TO_M_FROM_ALIAS                                          \
        la t6, trap_rec;                                                \
        li t5, CAUSE_ECALL_U;                                           \
        sd t5, TR_EXPECT(t6);                                           \
        la t5, 1f + 1;                                                  \
        li t4, ALIAS;                                                   \
        sub t5, t5, t4;                                                 \
        sd t5, TR_RESUME(t6);                                           \
        ecall;                                                          \
        j fail;                                                         \
1:

RVTEST_CODE_BEGIN

        PMP_ALLOW_ALL
        la t0, s_trap_vector
        csrw stvec, t0

        /* root: devices (RW), 0x40000000 -> l1, kernel (RWX) */
        SET_PTE_PA(pt_root, 0, 0x0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        SET_PTE(pt_root, 1, pt_l1, PTE_V)
        SET_PTE_PA(pt_root, 2, 0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
        SET_PTE_PA(pt_root, 3, 0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
        SET_PTE(pt_l1, 0, pt_l0, PTE_V)
        /* a 2 MiB leaf whose PPN is not 2 MiB aligned: misaligned superpage */
        SET_PTE(pt_l1, 1, page_data, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        /* the 4 KiB pages */
        SET_PTE(pt_l0, 0, page_data, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        SET_PTE(pt_l0, 1, page_data, PTE_V | PTE_R | PTE_A)
        /* pt_l0[2] stays invalid */
        SET_PTE(pt_l0, 3, page_data, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D)
        SET_PTE(pt_l0, 4, page_data, PTE_V | PTE_R | PTE_W)   /* A = D = 0 */
        SET_PTE(pt_l0, 5, page_data, PTE_V | PTE_X | PTE_A)   /* execute-only */
        SET_PTE(pt_l0, 6, page_code, PTE_V | PTE_R | PTE_X | PTE_A)
        SET_PTE(pt_l0, 7, page_code, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)  /* no X */
        SET_PTE(pt_l0, 8, page_data, PTE_V | PTE_W | PTE_A | PTE_D)  /* W without R */
        SET_PTE(pt_l0, 9, page_code, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A)  /* user code */
        SET_PTE(pt_l0, 10, page_data2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

        /* fill page_data with a known pattern */
        la t0, page_data
        li t1, 0x1122334455667788
        sd t1, 0(t0)
        li t1, 0x0123456789abcdef
        sd t1, 8(t0)
        la t0, page_data2
        li t1, 0x2222222222222222
        sd t1, 0(t0)

        la t0, pt_root
        srli t0, t0, 12
        li t1, SATP_SV39
        or t0, t0, t1
        csrw satp, t0
        sfence.vma

        TEST_CASE(2, a0, (8 << 60) >> 60, csrr a0, satp; srli a0, a0, 60)
        /* satp is not used in M-mode */
        TEST_CASE(3, a0, 0x1122334455667788, la a1, page_data; ld a0, 0(a1))

        GOTO_MODE(1)
        /* S-mode: identity map and the 4 KiB pages */
        TEST_CASE(4, a0, 0x1122334455667788, la a1, page_data; ld a0, 0(a1))
        TEST_CASE(5, a0, 0x1122334455667788, li a1, VA(0); ld a0, 0(a1))
        TEST_CASE(6, a0, 0x0123456789abcdef, li a1, VA(1); ld a0, 8(a1))
        TEST_CASE(7, a0, 0x55, li a1, VA(0); li a2, 0x55; sb a2, 16(a1);
                  li a1, VA(1); lbu a0, 16(a1))
        /* misaligned accesses within a page and across two mapped pages */
        TEST_CASE(8, a0, 0x8899aabbccddeeff, li a1, VA(0) + 4013; li a2, 0x8899aabbccddeeff;
                  sd a2, 0(a1); ld a0, 0(a1))
        TEST_CASE(9, a0, 0x5566778800000000, li a1, VA(0) + 0xffc; ld a0, 0(a1))

        /* store to a read-only page: store page fault, stval = VA */
        li a1, VA(1) + 8
        TEST_TRAP_TVAL(10, CAUSE_STORE_PAGE, VA(1) + 8, sd a0, 0(a1))
        /* AMO to a read-only page: store/AMO page fault */
        TEST_TRAP_TVAL(11, CAUSE_STORE_PAGE, VA(1) + 8, amoadd.d a0, a0, (a1))
        /* invalid PTE: load page fault */
        li a1, VA(2) + 0x10
        TEST_TRAP_TVAL(12, CAUSE_LOAD_PAGE, VA(2) + 0x10, ld a0, 0(a1))
        TEST_TRAP_TVAL(13, CAUSE_STORE_PAGE, VA(2) + 0x10, sw a0, 0(a1))
        /* user page from S without SUM */
        li a1, VA(3)
        TEST_TRAP_TVAL(14, CAUSE_LOAD_PAGE, VA(3), ld a0, 0(a1))
        /* misaligned load crossing into an invalid page: fault on the second page */
        li a1, VA(2) - 4
        TEST_TRAP(15, CAUSE_LOAD_PAGE, ld a0, 0(a1))
        /* W without R is reserved: page fault */
        li a1, VA(8)
        TEST_TRAP_TVAL(16, CAUSE_LOAD_PAGE, VA(8), ld a0, 0(a1))
        TEST_TRAP_TVAL(17, CAUSE_STORE_PAGE, VA(8), sd a0, 0(a1))
        /* misaligned superpage */
        li a1, 0x40200000
        TEST_TRAP_TVAL(18, CAUSE_LOAD_PAGE, 0x40200000, ld a0, 0(a1))
        /* non-canonical address */
        li a1, 0x0000008000000000
        TEST_TRAP_TVAL(19, CAUSE_LOAD_PAGE, 0x0000008000000000, ld a0, 0(a1))
        li a1, 0xffffffc000000000 - 0x1000 * 0 + 0x7f0000000
        TEST_TRAP(20, CAUSE_LOAD_PAGE, ld a0, 0(a1))
        /* execute-only page: loads fault */
        li a1, VA(5)
        TEST_TRAP_TVAL(21, CAUSE_LOAD_PAGE, VA(5), ld a0, 0(a1))
        /* fetch from a page without X: instruction page fault, tval = VA */
        test_22:
        li TESTNUM, 22
        EXPECT_TRAP(CAUSE_FETCH_PAGE, test_22_resume)
        li a1, VA(7)
        jalr ra, 0(a1)
        j fail
test_22_resume:
        CHECK_TRAP_TVAL(VA(7))
        CHECK_TRAP_FIELD(TR_EPC, VA(7))
        /* fetch from an executable page works */
        TEST_CASE(23, a0, 0x77, li a1, VA(6); jalr ra, 0(a1))
        /* S-mode may not execute a user page */
        test_24:
        li TESTNUM, 24
        EXPECT_TRAP(CAUSE_FETCH_PAGE, test_24_resume)
        li a1, VA(9)
        jalr ra, 0(a1)
        j fail
test_24_resume:
        CHECK_TRAP_TVAL(VA(9))
        RETURN_TO_M(CAUSE_ECALL_S)

        /* A/D bits: QEMU 7.2 sets them in the PTE */
        GOTO_MODE(1)
        TEST_CASE(25, a0, 0x1122334455667788, li a1, VA(4); ld a0, 0(a1))
        RETURN_TO_M(CAUSE_ECALL_S)
        TEST_CASE(26, a0, PTE_A, la a1, pt_l0; ld a0, 4 * 8(a1); andi a0, a0, PTE_A | PTE_D)
        GOTO_MODE(1)
        TEST_CASE(27, a0, 0, li a1, VA(4); sd x0, 24(a1); li a0, 0)
        RETURN_TO_M(CAUSE_ECALL_S)
        TEST_CASE(28, a0, PTE_A | PTE_D, la a1, pt_l0; ld a0, 4 * 8(a1); andi a0, a0, PTE_A | PTE_D)

        /* SUM lets S read and write user pages; MXR lets it read X-only pages */
        li a1, MSTATUS_SUM | MSTATUS_MXR
        csrs mstatus, a1
        GOTO_MODE(1)
        TEST_CASE(29, a0, 0x1122334455667788, li a1, VA(3); ld a0, 0(a1))
        TEST_CASE(30, a0, 0x1122334455667788, li a1, VA(5); ld a0, 0(a1))
        RETURN_TO_M(CAUSE_ECALL_S)
        li a1, MSTATUS_SUM | MSTATUS_MXR
        csrc mstatus, a1

        /* U-mode: user pages only */
        GOTO_U_ALIAS
        TEST_CASE(31, a0, 0x1122334455667788, li a1, VA(3); ld a0, 0(a1))
        li a1, VA(0)
        TEST_TRAP_TVAL(32, CAUSE_LOAD_PAGE, VA(0), ld a0, 0(a1))
        TEST_CASE(33, a0, 0x77, li a1, VA(9); jalr ra, 0(a1))
        /* U-mode may not execute a supervisor page */
        test_51:
        li TESTNUM, 51
        EXPECT_TRAP(CAUSE_FETCH_PAGE, test_51_resume)
        li a1, VA(6)
        jalr ra, 0(a1)
        j fail
test_51_resume:
        CHECK_TRAP_TVAL(VA(6))
        RETURN_TO_M_FROM_ALIAS

        /* sfence.vma makes a changed PTE visible */
        GOTO_MODE(1)
        TEST_CASE(34, a0, 0x1122334455667788, li a1, VA(10) - 0x1000 * 10; ld a0, 0(a1))
        RETURN_TO_M(CAUSE_ECALL_S)
        SET_PTE(pt_l0, 0, page_data2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        GOTO_MODE(1)
        TEST_CASE(35, a0, 0x2222222222222222, sfence.vma; li a1, VA(0); ld a0, 0(a1))
        li a1, VA(0)
        TEST_CASE(36, a0, 0x2222222222222222, sfence.vma a1, x0; ld a0, 0(a1))
        RETURN_TO_M(CAUSE_ECALL_S)
        SET_PTE(pt_l0, 0, page_data, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
        sfence.vma

        /* MPRV: M-mode loads and stores translated as S */
        li a1, MSTATUS_MPRV | MSTATUS_MPP_S
        csrs mstatus, a1
        TEST_CASE(37, a0, 0x1122334455667788, li a1, VA(0); ld a0, 0(a1))
        /*
         * A faulting MPRV load.  The handler's mret leaves MPRV = 1 (it
         * returns to M) and sets MPP = U, so from the resume point on,
         * loads would be translated as U-mode loads: clear MPRV before
         * touching memory.  (QEMU 7.2 does not flush its TLB when mret
         * changes MPP, and so would not fault here; the spec has it fault.)
         */
test_38:
        li TESTNUM, 38
        li a1, VA(2)
        EXPECT_TRAP(CAUSE_LOAD_PAGE, test_38_resume)
test_38_insn:
        ld a0, 0(a1)
        j fail
test_38_resume:
        li t5, MSTATUS_MPRV
        csrc mstatus, t5
        CHECK_TRAP_EPC(test_38_insn)
        CHECK_TRAP_TVAL(VA(2))
        TEST_CASE(52, a0, 0, csrr a0, mstatus; li a1, MSTATUS_MPP; and a0, a0, a1)
        /* fetches ignore MPRV; so do M-mode accesses with MPRV = 0 */
        TEST_CASE(39, a0, 0x1122334455667788, la a1, page_data; ld a0, 0(a1))

        /* delegate load page faults to S-mode */
        li a1, 1 << CAUSE_LOAD_PAGE
        csrw medeleg, a1
        GOTO_MODE(1)
        li a1, VA(2) + 8
        TEST_TRAP_TVAL(40, CAUSE_LOAD_PAGE, VA(2) + 8, ld a0, 0(a1))
        TEST_CASE(41, a0, 1, la a1, s_hits; ld a0, 0(a1))
        /* sret came back to S-mode (sstatus is readable) */
        TEST_CASE(42, a0, 0, csrr a0, sstatus; andi a0, a0, 0x100)   /* SPP = U after sret */
        RETURN_TO_M(CAUSE_ECALL_S)
        GOTO_U_ALIAS
        li a1, VA(0)
        TEST_TRAP_TVAL(43, CAUSE_LOAD_PAGE, VA(0), ld a0, 0(a1))
        TEST_CASE(44, a0, 2, la a1, s_hits; ld a0, 0(a1))
        RETURN_TO_M_FROM_ALIAS
        csrw medeleg, x0
        TEST_CASE(45, a0, VA(0), csrr a0, stval)
        TEST_CASE(46, a0, CAUSE_LOAD_PAGE, csrr a0, scause)

        /* TVM: satp and sfence.vma are illegal in S-mode */
        li a1, MSTATUS_TVM
        csrs mstatus, a1
        GOTO_MODE(1)
        TEST_TRAP(47, CAUSE_ILLEGAL, csrr a0, satp)
        TEST_TRAP(48, CAUSE_ILLEGAL, sfence.vma)
        RETURN_TO_M(CAUSE_ECALL_S)
        li a1, MSTATUS_TVM
        csrc mstatus, a1
        GOTO_MODE(1)
        TEST_CASE(49, a0, 8, csrr a0, satp; srli a0, a0, 60)
        RETURN_TO_M(CAUSE_ECALL_S)

        /* bare mode again */
        csrw satp, x0
        sfence.vma
        TEST_CASE(50, a0, 0, csrr a0, satp)
        j pass

/* S-mode handler for delegated traps: like the M one, with s-CSRs. */
        .balign 4
s_trap_vector:
        csrw sscratch, t6
        la t6, trap_rec
        sd t5, TR_SAVE(t6)
        sd t4, TR_SAVE + 8(t6)
        csrr t4, scause
        sd t4, TR_CAUSE(t6)
        ld t5, TR_EXPECT(t6)
        bne t4, t5, fail
        csrr t4, stval
        sd t4, TR_TVAL(t6)
        csrr t4, sepc
        sd t4, TR_EPC(t6)
        li t4, -1
        sd t4, TR_EXPECT(t6)
        sd t4, TR_ALT(t6)
        la t4, s_hits
        ld t5, 0(t4)
        addi t5, t5, 1
        sd t5, 0(t4)
        ld t4, TR_RESUME(t6)
        csrw sepc, t4
        ld t4, TR_SAVE + 8(t6)
        ld t5, TR_SAVE(t6)
        csrr t6, sscratch
        sret

        /* code reached through VA(6), VA(7) and VA(9) */
        .balign 4096
page_code:
        li a0, 0x77
        ret
        .balign 4096
RVTEST_CODE_END

RVTEST_DATA_BEGIN
        .balign 8
s_hits: .dword 0
        .balign 4096
pt_root: .fill 512, 8, 0
pt_l1:   .fill 512, 8, 0
pt_l0:   .fill 512, 8, 0
page_data: .fill 4096, 1, 0
page_data2: .fill 4096, 1, 0
RVTEST_DATA_END
