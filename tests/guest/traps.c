/*
 * traps: synchronous exceptions, delegation, trap vector modes, and
 * xRET semantics in M, S and U mode.
 */
#include "runtime.h"

u64 mret_m_to_m(void);
u64 sret_s_to_s(void);
u64 jalr_odd(void);
u64 jalr_odd_imm(void);
u64 jump_half_aligned(void);
u64 read_mstatus(void);
u64 illegal_word(void);
extern char mret_m_to_m_target[], sret_s_to_s_target[], half_aligned_target[];
extern char read_mstatus_insn[], illegal_word_insn[];

#define GAP_ADDR 0x00200000UL   /* nothing is mapped here on virt */

static u64 insn_at(const void *p)
{
    const u16 *h = p;
    u32 lo = h[0];
    if ((lo & 3) != 3)
        return lo;
    return lo | ((u32)h[1] << 16);
}

static int check_trap(u64 cause, u64 epc, u64 tval, int by, int prev, const char *what)
{
    int good = trap_taken() && last_trap.cause == cause && last_trap.epc == epc &&
               last_trap.tval == tval && last_trap.by == by && last_trap.prev_priv == prev;
    test_ok(good, "%s: cause %ld epc/tval right, taken by %c from %s", what, cause, by,
            prev == PRV_M ? "M" : prev == PRV_S ? "S" : "U");
    if (!good)
        test_diag("  got taken=%d cause=0x%lx epc=0x%lx tval=0x%lx by=%c prev=%d; "
                  "expected epc=0x%lx tval=0x%lx", trap_taken(), last_trap.cause,
                  last_trap.epc, last_trap.tval, last_trap.by ? last_trap.by : '-',
                  last_trap.prev_priv, epc, tval);
    return good;
}

/* ---- code run in lower modes ---- */
static long lower_ecall(long a)
{
    expect_trap();
    probe_ecall(0, 42);
    return 1;
}

static long lower_ebreak(long a)
{
    expect_trap();
    probe_ebreak();
    return 1;
}

static long lower_read_mstatus(long a)
{
    expect_trap();
    read_mstatus();
    return 1;
}

static long lower_load(long addr)
{
    expect_trap();
    probe_ld(addr);
    return 1;
}

static long s_read_sstatus(long a)
{
    return (long)csr_read(sstatus);
}

static long s_sret_test(long a)
{
    return (long)sret_s_to_s();
}

static long s_runs_user_read(long a)
{
    return s_run_user(lower_read_mstatus, 0);
}

static long s_runs_user_ecall(long a)
{
    return s_run_user(lower_ecall, 0);
}

static volatile u64 m_ecall_u_count;
static int count_m_ecall_u(struct trap_frame *f)
{
    if (f->cause == EXC_ECALL_U)
        m_ecall_u_count++;
    return 0;
}

/* ---- interrupt hooks for the vector tests ---- */
static volatile i64 seen_vec = -5;
static volatile u64 seen_cause;

static int m_msi_hook(struct trap_frame *f)
{
    if (f->cause != (CAUSE_INTR | IRQ_M_SOFT))
        return 0;
    mmio_write32(CLINT_MSIP, 0);
    seen_vec = f->vec;
    seen_cause = f->cause;
    return 1;
}

static int s_ssi_hook(struct trap_frame *f)
{
    if (f->cause != (CAUSE_INTR | IRQ_S_SOFT))
        return 0;
    csr_clear(sip, MIP_SSIP);
    seen_vec = f->vec;
    seen_cause = f->cause;
    return 1;
}

static long s_wait_ssi(long a)
{
    csr_set(sie, MIP_SSIP);
    csr_set(sstatus, SSTATUS_SIE);
    for (int i = 0; i < 1000 && seen_vec == -5; i++)
        barrier();
    csr_clear(sstatus, SSTATUS_SIE);
    csr_clear(sie, MIP_SSIP);
    return 0;
}

static void fire_msi(void)
{
    seen_vec = -5;
    seen_cause = 0;
    m_hook = m_msi_hook;
    csr_set(mie, MIP_MSIP);
    mmio_write32(CLINT_MSIP, 1);
    csr_set(mstatus, MSTATUS_MIE);
    for (int i = 0; i < 1000 && seen_vec == -5; i++)
        barrier();
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mie, MIP_MSIP);
    m_hook = 0;
}

int main(void)
{
    test_begin("traps");

    /* --- environment calls --- */
    expect_trap();
    probe_ecall(0, 42);
    check_trap(EXC_ECALL_M, (u64)probe_ecall_insn, 0, 'M', PRV_M, "ecall from M");

    run_in_s(lower_ecall, 0);
    check_trap(EXC_ECALL_S, (u64)probe_ecall_insn, 0, 'M', PRV_S, "ecall from S");

    run_in_u(lower_ecall, 0);
    check_trap(EXC_ECALL_U, (u64)probe_ecall_insn, 0, 'M', PRV_U, "ecall from U");

    /* --- breakpoints (QEMU 7.2 leaves mtval = 0 for ebreak) --- */
    expect_trap();
    probe_ebreak();
    check_trap(EXC_BREAKPOINT, (u64)probe_ebreak_insn, 0, 'M', PRV_M, "ebreak in M");

    expect_trap();
    probe_cebreak();
    check_trap(EXC_BREAKPOINT, (u64)probe_cebreak_insn, 0, 'M', PRV_M, "c.ebreak in M");

    run_in_u(lower_ebreak, 0);
    check_trap(EXC_BREAKPOINT, (u64)probe_ebreak_insn, 0, 'M', PRV_U, "ebreak in U");

    /* --- illegal instruction: mtval holds the instruction bits --- */
    expect_trap();
    illegal_word();
    check_trap(EXC_ILLEGAL, (u64)illegal_word_insn, 0x6b, 'M', PRV_M,
               "reserved opcode in M, mtval = instruction");

    run_in_u(lower_read_mstatus, 0);
    check_trap(EXC_ILLEGAL, (u64)read_mstatus_insn, insn_at(read_mstatus_insn), 'M', PRV_U,
               "csrr mstatus in U (mret entered U)");

    run_in_s(lower_read_mstatus, 0);
    check_trap(EXC_ILLEGAL, (u64)read_mstatus_insn, insn_at(read_mstatus_insn), 'M', PRV_S,
               "csrr mstatus in S (mret entered S)");

    /* --- access faults on an unmapped physical address --- */
    expect_trap();
    probe_ld(GAP_ADDR + 8);
    check_trap(EXC_LOAD_ACCESS, (u64)probe_ld, GAP_ADDR + 8, 'M', PRV_M, "load access fault");

    expect_trap();
    probe_sw(GAP_ADDR + 4, 1);
    check_trap(EXC_STORE_ACCESS, (u64)probe_sw, GAP_ADDR + 4, 'M', PRV_M, "store access fault");

    expect_trap();
    probe_jump(GAP_ADDR + 0x40);
    check_trap(EXC_INSN_ACCESS, GAP_ADDR + 0x40, GAP_ADDR + 0x40, 'M', PRV_M,
               "instruction access fault");

    run_in_u(lower_load, 0x10);
    check_trap(EXC_LOAD_ACCESS, (u64)probe_ld, 0x10, 'M', PRV_U, "load access fault from U (addr 0x10)");

    /* --- misaligned atomics --- */
    static u64 amo_buf[4] ALIGNED(16);
    u64 mis = (u64)amo_buf + 2;
    expect_trap();
    probe_amoadd_w(mis, 1);
    {
        int c = (int)last_trap.cause;
        int good = trap_taken() && (c == EXC_STORE_MISALIGNED || c == EXC_LOAD_MISALIGNED) &&
                   last_trap.tval == mis && last_trap.epc == (u64)probe_amoadd_w;
        test_ok(good, "misaligned amoadd.w traps with mtval = address");
        if (good && c == EXC_LOAD_MISALIGNED)
            test_diag("  mcause 4 (QEMU 7.2); the spec says 6");
        else if (!good)
            test_diag("  got taken=%d cause=%d tval=0x%lx", trap_taken(), c, last_trap.tval);
    }
    expect_trap();
    probe_lr_d((u64)amo_buf + 4);
    check_trap(EXC_LOAD_MISALIGNED, (u64)probe_lr_d, (u64)amo_buf + 4, 'M', PRV_M,
               "misaligned lr.d");

    /* --- xRET semantics --- */
    {
        u64 st = mret_m_to_m();
        test_ok(st != (u64)-1 && (st & MSTATUS_MPP) == 0 && (st & MSTATUS_MPIE) &&
                (st & MSTATUS_MIE),
                "mret to M: lands on mepc, MIE=MPIE, MPIE=1, MPP=U");
        if (st == (u64)-1 || (st & MSTATUS_MPP))
            test_diag("  mstatus after mret 0x%lx", st);
    }
    {
        u64 st = (u64)run_in_s(s_sret_test, 0);
        test_ok(st != (u64)-1 && !(st & SSTATUS_SPP) && (st & SSTATUS_SPIE) &&
                (st & SSTATUS_SIE),
                "sret to S: lands on sepc, SIE=SPIE, SPIE=1, SPP=U");
        if (st == (u64)-1)
            test_diag("  sstatus after sret 0x%lx", st);
    }
    {
        u64 st = (u64)run_in_s(s_read_sstatus, 0);
        test_ok(!(st & SSTATUS_SPP), "S-mode entered by mret reads its sstatus (SPP=0)");
    }
    run_in_s(s_runs_user_read, 0);
    check_trap(EXC_ILLEGAL, (u64)read_mstatus_insn, insn_at(read_mstatus_insn), 'M', PRV_U,
               "sret from S entered U (csrr mstatus traps from U)");

    /* --- control transfers (IALIGN = 16 with C) --- */
    test_eq(jalr_odd(), 1, "jalr clears bit 0 of the target");
    test_eq(jalr_odd_imm(), 2, "jalr with odd immediate clears bit 0");
    test_eq(jump_half_aligned(), 3, "32-bit instruction at pc %% 4 == 2 executes");

    /* --- delegation to S-mode --- */
    csr_write(medeleg, (1UL << EXC_ECALL_U) | (1UL << EXC_BREAKPOINT));
    test_eq(csr_read(medeleg) & ((1UL << EXC_ECALL_U) | (1UL << EXC_BREAKPOINT)),
            (1UL << EXC_ECALL_U) | (1UL << EXC_BREAKPOINT), "medeleg bits 3 and 8 writable");
    run_in_u(lower_ecall, 0);
    check_trap(EXC_ECALL_U, (u64)probe_ecall_insn, 0, 'S', PRV_U, "delegated ecall from U goes to stvec");
    /* the U->S->M return path ran through M, so look at an S-only run */
    m_ecall_u_count = 0;
    m_hook = count_m_ecall_u;
    run_in_s(s_runs_user_ecall, 0);
    m_hook = 0;
    check_trap(EXC_ECALL_U, (u64)probe_ecall_insn, 0, 'S', PRV_U, "delegated ecall from U under an S caller");
    test_eq(m_ecall_u_count, 0, "no ecall-from-U reached M while delegated");

    run_in_u(lower_ebreak, 0);
    check_trap(EXC_BREAKPOINT, (u64)probe_ebreak_insn, 0, 'S', PRV_U, "delegated ebreak from U");
    run_in_s(lower_ebreak, 0);
    check_trap(EXC_BREAKPOINT, (u64)probe_ebreak_insn, 0, 'S', PRV_S, "delegated ebreak in S stays in S");
    expect_trap();
    probe_ebreak();
    check_trap(EXC_BREAKPOINT, (u64)probe_ebreak_insn, 0, 'M', PRV_M,
               "ebreak in M is never delegated");
    run_in_s(lower_ecall, 0);
    check_trap(EXC_ECALL_S, (u64)probe_ecall_insn, 0, 'M', PRV_S,
               "undelegated ecall from S still goes to M");
    csr_write(medeleg, 0);

    /* --- vectored and direct trap vectors --- */
    csr_write(mtvec, (u64)m_vec_table | 1);
    test_eq(csr_read(mtvec), (u64)m_vec_table | 1, "mtvec accepts MODE=1 (vectored)");
    expect_trap();
    probe_ecall(0, 0);
    test_ok(trap_taken() && last_trap.vec == 0 && last_trap.cause == EXC_ECALL_M,
            "vectored mtvec: exception enters at BASE");
    fire_msi();
    test_ok(seen_vec == IRQ_M_SOFT && seen_cause == (CAUSE_INTR | IRQ_M_SOFT),
            "vectored mtvec: machine software interrupt enters at BASE+4*3");
    csr_write(mtvec, (u64)m_trap_entry);
    fire_msi();
    test_ok(seen_vec == -1 && seen_cause == (CAUSE_INTR | IRQ_M_SOFT),
            "direct mtvec: interrupt enters at BASE");

    csr_write(stvec, (u64)s_vec_table | 1);
    csr_write(mideleg, MIP_SSIP);
    seen_vec = -5;
    s_hook = s_ssi_hook;
    csr_set(mip, MIP_SSIP);
    run_in_s(s_wait_ssi, 0);
    test_ok(seen_vec == IRQ_S_SOFT && seen_cause == (CAUSE_INTR | IRQ_S_SOFT),
            "vectored stvec: delegated supervisor software interrupt enters at BASE+4*1");
    csr_write(medeleg, 1UL << EXC_ECALL_U);
    run_in_u(lower_ecall, 0);
    test_ok(trap_taken() && last_trap.vec == 0 && last_trap.by == 'S',
            "vectored stvec: delegated exception enters at BASE");
    csr_write(stvec, (u64)s_trap_entry);
    seen_vec = -5;
    csr_set(mip, MIP_SSIP);
    run_in_s(s_wait_ssi, 0);
    test_ok(seen_vec == -1 && seen_cause == (CAUSE_INTR | IRQ_S_SOFT),
            "direct stvec: interrupt enters at BASE");
    s_hook = 0;
    csr_write(mideleg, 0);
    csr_write(medeleg, 0);

    return test_end();
}
