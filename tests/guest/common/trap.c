/* C side of the M- and S-mode trap handlers. */
#include "runtime.h"

volatile trap_hook_t m_hook;
volatile trap_hook_t s_hook;
volatile int trap_expected;
volatile u64 trap_resume_pc;
volatile u64 trap_count;
volatile struct trap_record last_trap;
volatile u64 run_va_offset;
u64 boot_hartid, boot_fdt;

/* context stack used by m_run_lower / s_run_user (start.S) */
struct ctx { u64 sp, priv, ie; };
struct ctx ctx_tab[8];
u64 ctx_depth;
extern char ctx_return[];
void s_forward_ret(u64 a0) __attribute__((noreturn));
void s_report_fail(u64 cause, u64 epc, u64 tval) __attribute__((noreturn));

void expect_trap(void)
{
    last_trap.cause = ~0UL;
    last_trap.epc = 0;
    last_trap.tval = 0;
    last_trap.status = 0;
    last_trap.vec = -2;
    last_trap.by = 0;
    last_trap.prev_priv = -1;
    trap_resume_pc = 0;
    barrier();
    trap_expected = 1;
}

int trap_taken(void)
{
    return trap_expected == 0 && last_trap.cause != ~0UL;
}

long run_in_s(long (*fn)(long), long arg) { return m_run_lower(PRV_S, fn, arg); }
long run_in_u(long (*fn)(long), long arg) { return m_run_lower(PRV_U, fn, arg); }

static void record(struct trap_frame *f, int by, int prev)
{
    last_trap.cause = f->cause;
    last_trap.epc = f->epc;
    last_trap.tval = f->tval;
    last_trap.status = f->status;
    last_trap.vec = f->vec;
    last_trap.by = by;
    last_trap.prev_priv = prev;
    trap_expected--;
    f->epc = trap_resume_pc ? trap_resume_pc : f->x[1];
    trap_resume_pc = 0;
}

void m_trap_c(struct trap_frame *f)
{
    trap_count++;
    if (m_hook && m_hook(f))
        return;
    int prev = (int)((f->status & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    if (!(f->cause & CAUSE_INTR)) {
        if ((f->cause == EXC_ECALL_U || f->cause == EXC_ECALL_S) && f->x[17] == MAGIC_RET
            && ctx_depth > 0) {
            struct ctx *c = &ctx_tab[--ctx_depth];
            f->x[2] = c->sp;
            f->epc = (u64)ctx_return;
            f->status &= ~(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_SPIE);
            if (c->priv == PRV_M) {
                f->status |= (u64)PRV_M << MSTATUS_MPP_SHIFT;
                if (c->ie) f->status |= MSTATUS_MPIE;
            } else {
                /* the caller was S: go back there with its SIE */
                f->status |= (u64)PRV_S << MSTATUS_MPP_SHIFT;
                f->status &= ~MSTATUS_SIE;
                if (c->ie) f->status |= MSTATUS_SIE;
            }
            return;
        }
        if (f->cause == EXC_ECALL_S && f->x[17] == MAGIC_SFAIL) {
            kprintf("# unexpected S-mode trap: scause=0x%lx sepc=0x%lx stval=0x%lx\n",
                    f->x[10], f->x[11], f->x[12]);
            test_failures++;
            test_end();
        }
        if (trap_expected > 0) {
            record(f, 'M', prev);
            return;
        }
    }
    kprintf("# unexpected M-mode trap: mcause=0x%lx mepc=0x%lx mtval=0x%lx mstatus=0x%lx\n",
            f->cause, f->epc, f->tval, f->status);
    test_failures++;
    test_end();
}

void s_trap_c(struct trap_frame *f)
{
    trap_count++;
    if (s_hook && s_hook(f))
        return;
    int prev = (f->status & MSTATUS_SPP) ? PRV_S : PRV_U;
    if (!(f->cause & CAUSE_INTR)) {
        if (f->cause == EXC_ECALL_U && f->x[17] == MAGIC_RET && ctx_depth > 0) {
            struct ctx *c = &ctx_tab[ctx_depth - 1];
            if (c->priv == PRV_S) {
                ctx_depth--;
                f->x[2] = c->sp;
                f->epc = (u64)ctx_return;
                f->status |= MSTATUS_SPP;
                f->status &= ~MSTATUS_SPIE;
                if (c->ie) f->status |= MSTATUS_SPIE;
                return;
            }
            s_forward_ret(f->x[10]);
        }
        if (trap_expected > 0) {
            record(f, 'S', prev);
            return;
        }
    }
    s_report_fail(f->cause, f->epc, f->tval);
}

void pmp_allow_all(void)
{
    /* NAPOT over the whole address space, RWX, in the last entry so that
     * tests can put higher-priority rules in entries 0..14. */
    csr_write(pmpaddr15, ~0UL >> 10);
    u64 cfg = csr_read(pmpcfg2);
    cfg &= ~(0xffUL << 56);
    cfg |= 0x1fUL << 56;        /* A=NAPOT, X, W, R */
    csr_write(pmpcfg2, cfg);
}

void runtime_init(void)
{
    csr_write(sscratch, (u64)0);
    extern char s_trap_stack_top[];
    csr_write(sscratch, (u64)s_trap_stack_top);
    csr_write(stvec, (u64)s_trap_entry);
    pmp_allow_all();
    /* all counters visible to lower modes unless a test says otherwise */
    csr_write(mcounteren, 0xffffffffUL);
    csr_write(scounteren, 0xffffffffUL);
    csr_write(medeleg, 0);
    csr_write(mideleg, 0);
}
