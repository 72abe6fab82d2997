/*
 * sdtrig: debug triggers (Sdtrig, RISC-V Debug Specification 1.0) as a
 * guest's own debugger uses them: tselect/tinfo/tdata1-3, trigger 0 as an
 * execute breakpoint on a function and trigger 1 as a store or load watch on
 * a global (mcontrol, type 2), the m/s/u bits choosing the privilege modes,
 * and an mcontrol6 (type 6) execute trigger.  Every hit is a breakpoint
 * exception (mcause 3) taken in M-mode before the instruction or access; the
 * handler disables the triggers and resumes at mepc, so the instruction then
 * runs.  mtval holds the pc (execute) or the address (load/store), or 0, which
 * the privileged spec also allows and QEMU 7.2 writes.  QEMU 7.2 lists types 2
 * and 6 in tinfo (0x44) and fires M-mode triggers whatever mstatus.MIE is.
 */
#include "runtime.h"

#define CSR_TSELECT 0x7a0
#define CSR_TDATA1 0x7a1
#define CSR_TDATA2 0x7a2
#define CSR_TDATA3 0x7a3
#define CSR_TINFO 0x7a4

/* tdata1 fields shared by mcontrol (type 2) and mcontrol6 (type 6) */
#define T_TYPE(t) ((u64)(t) << 60)
#define T_M (1UL << 6)
#define T_S (1UL << 4)
#define T_U (1UL << 3)
#define T_EXEC (1UL << 2)
#define T_STORE (1UL << 1)
#define T_LOAD (1UL << 0)
#define T_MSU (T_M | T_S | T_U)
#define T_OFF T_TYPE(2) /* an mcontrol that matches in no mode */

static volatile u64 watched ALIGNED(16);
static volatile u64 neighbour;

NOINLINE long target_fn(long a)
{
    __asm__ volatile("" ::: "memory");
    return a * 3 + 1;
}

static void trig_set(int i, u64 tdata1, u64 tdata2)
{
    csr_write(CSR_TSELECT, i);
    csr_write(CSR_TDATA1, T_OFF);
    csr_write(CSR_TDATA2, tdata2);
    csr_write(CSR_TDATA1, tdata1);
}

static void trig_off_all(void)
{
    for (int i = 0; i < 2; i++) {
        csr_write(CSR_TSELECT, i);
        csr_write(CSR_TDATA1, T_OFF);
    }
}

/* what the breakpoint handler saw */
static volatile struct { int hits; u64 cause, epc, tval; int prev; } hit;
/* hits whose mtval was the address, and those whose mtval was 0 */
static int tval_addr, tval_zero;

static int bp_hook(struct trap_frame *f)
{
    if (f->cause != EXC_BREAKPOINT)
        return 0;
    hit.hits++;
    hit.cause = f->cause;
    hit.epc = f->epc;
    hit.tval = f->tval;
    hit.prev = (int)((f->status & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
    trig_off_all();
    return 1; /* resume at mepc: the instruction runs, now untriggered */
}

static void hit_clear(void)
{
    hit.hits = 0;
    hit.cause = ~0UL;
    hit.epc = 0;
    hit.tval = 0;
    hit.prev = -1;
}

static const char *mname(int priv) { return priv == PRV_M ? "M" : priv == PRV_S ? "S" : "U"; }

/* run fn(arg) in priv; returns its result */
static long run_at(int priv, long (*fn)(long), long arg)
{
    if (priv == PRV_M)
        return fn(arg);
    return m_run_lower(priv, fn, arg);
}

static long call_target(long a) { return target_fn(a); }
static long do_store(long v) { probe_sd((u64)&watched, (u64)v); return 0; }
static long do_load(long a) { return (long)probe_ld((u64)&watched); }
static long do_store_neighbour(long v) { probe_sd((u64)&neighbour, (u64)v); return 0; }

static void check_hit(int priv, u64 epc, u64 tval, const char *what)
{
    int good = hit.hits == 1 && hit.cause == EXC_BREAKPOINT && hit.epc == epc && hit.prev == priv;
    test_ok(good, "%s %s: one breakpoint exception, mepc at the instruction, from %s", mname(priv),
            what, mname(priv));
    if (!good)
        test_diag("  hits=%d cause=%ld epc=0x%lx (want 0x%lx) prev=%d", hit.hits, hit.cause, hit.epc,
                  epc, hit.prev);
    /* the spec lets mtval be 0 or the address; QEMU 7.2 writes 0, deja the address */
    test_ok(hit.tval == tval || hit.tval == 0, "%s %s: mtval is the address or 0", mname(priv),
            what);
    if (hit.tval != tval && hit.tval != 0)
        test_diag("  mtval=0x%lx (want 0x%lx or 0)", hit.tval, tval);
    tval_addr += hit.tval == tval;
    tval_zero += hit.tval == 0;
}

static void exec_case(int priv, u64 modes, int type, const char *what)
{
    hit_clear();
    trig_set(0, T_TYPE(type) | modes | T_EXEC, (u64)target_fn);
    long r = run_at(priv, call_target, 5);
    trig_off_all();
    check_hit(priv, (u64)target_fn, (u64)target_fn, what);
    test_eq(r, 16, "%s %s: the function then runs", mname(priv), what);
}

static void no_fire_exec(int priv, u64 modes, const char *what)
{
    hit_clear();
    trig_set(0, T_TYPE(2) | modes | T_EXEC, (u64)target_fn);
    long r = run_at(priv, call_target, 7);
    trig_off_all();
    test_ok(hit.hits == 0 && r == 22, "%s %s: no exception", mname(priv), what);
}

static void store_case(int priv)
{
    hit_clear();
    watched = 1;
    trig_set(1, T_TYPE(2) | T_MSU | T_STORE, (u64)&watched);
    run_at(priv, do_store_neighbour, 0x55);
    test_ok(hit.hits == 0 && neighbour == 0x55,
            "%s store to the next dword does not match the store watch", mname(priv));
    run_at(priv, do_load, 0);
    test_ok(hit.hits == 0, "%s load does not match a store-only watch", mname(priv));
    run_at(priv, do_store, 0x1234);
    trig_off_all();
    check_hit(priv, (u64)probe_sd, (u64)&watched, "store watch");
    test_eq(watched, 0x1234, "%s store watch: the store then completes", mname(priv));
}

static void load_case(int priv)
{
    hit_clear();
    watched = 0xabcd;
    trig_set(1, T_TYPE(2) | T_MSU | T_LOAD, (u64)&watched);
    run_at(priv, do_store, 0xabce);
    test_ok(hit.hits == 0, "%s store does not match a load-only watch", mname(priv));
    long v = run_at(priv, do_load, 0);
    trig_off_all();
    check_hit(priv, (u64)probe_ld, (u64)&watched, "load watch");
    test_eq(v, 0xabce, "%s load watch: the load then completes", mname(priv));
}

int main(void)
{
    test_begin("sdtrig");
    trig_off_all();
    m_hook = bp_hook;

    /* ---- registers ---- */
    csr_write(CSR_TSELECT, 1);
    u64 sel1 = csr_read(CSR_TSELECT);
    csr_write(CSR_TSELECT, 0);
    u64 sel0 = csr_read(CSR_TSELECT);
    test_ok(sel0 == 0 && sel1 == 1, "tselect selects triggers 0 and 1");
    u64 tinfo = csr_read(CSR_TINFO);
    test_diag("tinfo = 0x%lx", tinfo);
    test_ok((tinfo & (1UL << 2)) != 0, "tinfo lists mcontrol (type 2)");
    int has6 = (tinfo & (1UL << 6)) != 0;
    test_eq(csr_read(CSR_TDATA1) >> 60, 2, "trigger 0's tdata1 type is mcontrol (2)");
    csr_write(CSR_TSELECT, 1);
    csr_write(CSR_TDATA2, 0x80001234UL);
    csr_write(CSR_TSELECT, 0);
    csr_write(CSR_TDATA2, 0x80005678UL);
    u64 d0 = csr_read(CSR_TDATA2);
    csr_write(CSR_TSELECT, 1);
    u64 d1 = csr_read(CSR_TDATA2);
    test_ok(d0 == 0x80005678UL && d1 == 0x80001234UL, "tdata2 is per trigger");
    u64 want = T_TYPE(2) | T_M | T_U | T_LOAD | T_STORE;
    csr_write(CSR_TDATA1, want);
    u64 got1 = csr_read(CSR_TDATA1);
    test_eq(got1 & (T_TYPE(15) | T_MSU | T_EXEC | T_STORE | T_LOAD), want,
            "tdata1 keeps type, m/s/u and execute/store/load");
    test_eq(csr_read(CSR_TDATA3), 0, "tdata3 reads 0");
    trig_off_all();

    /* ---- execute breakpoints ---- */
    exec_case(PRV_M, T_MSU, 2, "execute trigger");
    exec_case(PRV_S, T_MSU, 2, "execute trigger");
    exec_case(PRV_U, T_MSU, 2, "execute trigger");
    exec_case(PRV_U, T_U, 2, "execute trigger (u only)");
    no_fire_exec(PRV_M, T_S | T_U, "execute trigger with m clear");
    no_fire_exec(PRV_S, T_M | T_U, "execute trigger with s clear");
    no_fire_exec(PRV_U, T_M | T_S, "execute trigger with u clear");
    if (has6) {
        exec_case(PRV_M, T_MSU, 6, "mcontrol6 execute trigger");
        exec_case(PRV_U, T_U, 6, "mcontrol6 execute trigger");
    } else {
        test_ok(0, "tinfo lists mcontrol6 (type 6)");
    }

    /* ---- store / load watches ---- */
    store_case(PRV_M);
    store_case(PRV_S);
    store_case(PRV_U);
    load_case(PRV_M);
    load_case(PRV_S);
    load_case(PRV_U);

    /* ---- accesses that read and write, or cover the watched byte ---- */
    {
        static const char *names[4] = { "amoadd.d matches a load watch",
                                        "amoadd.d matches a store watch",
                                        "lr.d matches a load watch",
                                        "sd over the watched word's upper half matches" };
        for (int k = 0; k < 4; k++) {
            hit_clear();
            watched = 1;
            u64 addr = (u64)&watched + (k == 3 ? 4 : 0);
            trig_set(1, T_TYPE(2) | T_MSU | (k == 1 || k == 3 ? T_STORE : T_LOAD), addr);
            u64 probe;
            if (k < 2) {
                probe = (u64)probe_amoadd_d;
                probe_amoadd_d((u64)&watched, 1);
            } else if (k == 2) {
                probe = (u64)probe_lr_d;
                probe_lr_d((u64)&watched);
            } else {
                probe = (u64)probe_sd;
                probe_sd((u64)&watched, 3);
            }
            trig_off_all();
            int good = hit.hits == 1 && hit.epc == probe;
            test_ok(good, "M %s", names[k]);
            if (!good)
                test_diag("  hits=%d epc=0x%lx", hit.hits, hit.epc);
        }
    }

    /* ---- both triggers armed; the first to match fires ---- */
    hit_clear();
    trig_set(0, T_TYPE(2) | T_MSU | T_EXEC, (u64)probe_sd);
    trig_set(1, T_TYPE(2) | T_MSU | T_STORE, (u64)&watched);
    run_at(PRV_S, do_store, 0x77);
    trig_off_all();
    check_hit(PRV_S, (u64)probe_sd, (u64)probe_sd, "execute+store on one instruction");
    test_eq(watched, 0x77, "S execute+store: one exception for both, then the store runs");

    test_diag("mtval on trigger hits: %d the address, %d zero", tval_addr, tval_zero);
    m_hook = 0;
    return test_end();
}
