/*
 * illegal: encodings and privilege violations that must raise an illegal
 * instruction exception (mcause 2) with mepc at the instruction and mtval
 * holding the instruction bits (16 bits for compressed encodings), as
 * QEMU 7.2 reports them.
 */
#include "runtime.h"

#define X(n) void n(void);
X(ill_c_zero) X(ill_c_addi4spn0) X(ill_c_lui0) X(ill_c_addi16sp0) X(ill_c_lwsp0) X(ill_c_ldsp0)
X(ill_c_jr0) X(ill_opcode) X(ill_op_funct7) X(ill_fadd_fs_off) X(ill_csrw_mvendorid)
X(ill_csrs_mhartid) X(ok_csrs_mhartid_x0) X(ill_csr_unknown) X(ill_csrr_mstatus)
X(ill_csrw_mscratch) X(ill_mret) X(ill_sret) X(ill_wfi) X(ill_csrr_satp) X(ill_sfence)
X(ill_csrr_sstatus) X(ill_csrw_cycle)

extern char ill_csrs_mhartid_insn[];

struct icase {
    void (*fn)(void);
    u32 bits;           /* expected mtval */
    const char *what;
    const void *insn;   /* the faulting instruction when not at fn */
};

static u64 insn_at(const void *p)
{
    const u16 *h = p;
    if ((h[0] & 3) != 3)
        return h[0];
    return h[0] | ((u32)h[1] << 16);
}

static volatile u64 r_taken, r_cause, r_epc, r_tval, r_prev;
static void (*volatile lower_fn)(void);

static long run_probe(long a)
{
    expect_trap();
    lower_fn();
    r_taken = trap_taken();
    trap_expected = 0;
    r_cause = last_trap.cause;
    r_epc = last_trap.epc;
    r_tval = last_trap.tval;
    r_prev = last_trap.prev_priv;
    return 0;
}

static void check(int priv, const struct icase *c)
{
    const void *at = c->insn ? c->insn : (const void *)c->fn;
    lower_fn = c->fn;
    if (priv == PRV_M)
        run_probe(0);
    else
        m_run_lower(priv, run_probe, 0);
    int good = insn_at(at) == c->bits && r_taken && r_cause == EXC_ILLEGAL &&
               r_epc == (u64)at && r_tval == c->bits && r_prev == (u64)priv;
    test_ok(good, "%s: %s -> illegal, mtval 0x%x", priv == PRV_M ? "M" : priv == PRV_S ? "S" : "U",
            c->what, c->bits);
    if (!good)
        test_diag("  taken=%lu cause=%lu epc=0x%lx (insn at 0x%lx) tval=0x%lx prev=%lu bits=0x%lx",
                  r_taken, r_cause, r_epc, (u64)at, r_tval, r_prev, insn_at(at));
}

int main(void)
{
    test_begin("illegal");
    csr_clear(mstatus, MSTATUS_FS | MSTATUS_TSR | MSTATUS_TVM | MSTATUS_TW);

    static const struct icase m_cases[] = {
        { ill_c_zero, 0x0000, "all-zero 16-bit instruction" },
        { ill_c_addi4spn0, 0x0004, "c.addi4spn with nzuimm 0" },
        { ill_c_lui0, 0x6501, "c.lui with imm 0" },
        { ill_c_addi16sp0, 0x6101, "c.addi16sp with imm 0" },
        { ill_c_lwsp0, 0x4002, "c.lwsp with rd x0" },
        { ill_c_ldsp0, 0x6002, "c.ldsp with rd x0" },
        { ill_c_jr0, 0x8002, "c.jr with rs1 x0" },
        { ill_opcode, 0x0000006b, "reserved major opcode 0x6b" },
        { ill_op_funct7, 0x04000033, "OP with undefined funct7" },
        { ill_fadd_fs_off, 0x00000053, "fadd.s while mstatus.FS=Off" },
        { ill_csrw_mvendorid, 0xf1151073, "csrw to read-only mvendorid" },
        { ill_csrs_mhartid, 0xf142a073, "csrs with rs1!=x0 to read-only mhartid", ill_csrs_mhartid_insn },
        { ill_csr_unknown, 0x7c002573, "csrr of unimplemented CSR 0x7c0" },
        { ill_csrw_cycle, 0xc0051073, "csrw to read-only cycle" },
    };
    for (unsigned i = 0; i < sizeof m_cases / sizeof m_cases[0]; i++)
        check(PRV_M, &m_cases[i]);

    lower_fn = ok_csrs_mhartid_x0;
    run_probe(0);
    test_ok(!r_taken, "M: csrs mhartid, x0 (no write) is legal");

    static const struct icase s_cases[] = {
        { ill_csrr_mstatus, 0x30002573, "csrr mstatus" },
        { ill_csrw_mscratch, 0x34051073, "csrw mscratch" },
        { ill_mret, 0x30200073, "mret" },
        { ill_c_zero, 0x0000, "all-zero 16-bit instruction" },
    };
    for (unsigned i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++)
        check(PRV_S, &s_cases[i]);

    static const struct icase tsr = { ill_sret, 0x10200073, "sret with mstatus.TSR=1" };
    static const struct icase tvm1 = { ill_csrr_satp, 0x18002573, "csrr satp with mstatus.TVM=1" };
    static const struct icase tvm2 = { ill_sfence, 0x12000073, "sfence.vma with mstatus.TVM=1" };
    static const struct icase tw = { ill_wfi, 0x10500073, "wfi with mstatus.TW=1" };
    csr_set(mstatus, MSTATUS_TSR);
    check(PRV_S, &tsr);
    csr_clear(mstatus, MSTATUS_TSR);
    csr_set(mstatus, MSTATUS_TVM);
    check(PRV_S, &tvm1);
    check(PRV_S, &tvm2);
    csr_clear(mstatus, MSTATUS_TVM);
    csr_set(mstatus, MSTATUS_TW);
    check(PRV_S, &tw);
    csr_clear(mstatus, MSTATUS_TW);

    static const struct icase u_cases[] = {
        { ill_wfi, 0x10500073, "wfi" },
        { ill_sret, 0x10200073, "sret" },
        { ill_mret, 0x30200073, "mret" },
        { ill_csrr_sstatus, 0x10002573, "csrr sstatus" },
        { ill_csrr_satp, 0x18002573, "csrr satp" },
        { ill_sfence, 0x12000073, "sfence.vma" },
        { ill_c_lui0, 0x6501, "c.lui with imm 0" },
    };
    for (unsigned i = 0; i < sizeof u_cases / sizeof u_cases[0]; i++)
        check(PRV_U, &u_cases[i]);

    return test_end();
}
