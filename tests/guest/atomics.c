/*
 * atomics: the A extension: LR/SC success and failure cases, every AMO in
 * .w and .d form (with .w sign extension and untouched neighbours),
 * aq/rl variants, and misaligned or faulting atomics.
 */
#include "runtime.h"

#define DECL(op) u64 amo_##op##_w(u64 a, u64 v); u64 amo_##op##_d(u64 a, u64 v);
DECL(swap) DECL(add) DECL(and) DECL(or) DECL(xor) DECL(min) DECL(max) DECL(minu) DECL(maxu)
u64 amoadd_w_aqrl(u64 a, u64 v);
u64 amoor_d_aq(u64 a, u64 v);
u64 amoxor_d_rl(u64 a, u64 v);
u64 amoadd_d_x0(u64 a, u64 v);
u64 lrsc_d(u64 *p, u64 v, u64 *loaded);
u64 lrsc_w(u32 *p, u64 v, u64 *loaded);
u64 sc_without_lr_d(u64 *p, u64 v);
u64 sc_without_lr_w(u32 *p, u64 v);
u64 lr_sc_other(u64 *a, u64 *b, u64 v);
u64 lr_store_sc(u64 *p, u64 st, u64 sc);
u64 lr_lr_sc(u64 *p, u64 v);
u64 lrsc_inc(u64 *p, u64 n);

enum { SWAP, ADD, AND, OR, XOR, MIN, MAX, MINU, MAXU };
static const char *const op_names[] = { "swap", "add", "and", "or", "xor", "min", "max", "minu", "maxu" };
typedef u64 (*amo_fn)(u64, u64);
static const amo_fn fn_w[] = { amo_swap_w, amo_add_w, amo_and_w, amo_or_w, amo_xor_w,
                               amo_min_w, amo_max_w, amo_minu_w, amo_maxu_w };
static const amo_fn fn_d[] = { amo_swap_d, amo_add_d, amo_and_d, amo_or_d, amo_xor_d,
                               amo_min_d, amo_max_d, amo_minu_d, amo_maxu_d };

static u64 ref_d(int op, u64 a, u64 b)
{
    switch (op) {
    case SWAP: return b;
    case ADD: return a + b;
    case AND: return a & b;
    case OR: return a | b;
    case XOR: return a ^ b;
    case MIN: return (i64)a < (i64)b ? a : b;
    case MAX: return (i64)a > (i64)b ? a : b;
    case MINU: return a < b ? a : b;
    default: return a > b ? a : b;
    }
}

static u32 ref_w(int op, u32 a, u32 b)
{
    switch (op) {
    case MIN: return (i32)a < (i32)b ? a : b;
    case MAX: return (i32)a > (i32)b ? a : b;
    case MINU: return a < b ? a : b;
    case MAXU: return a > b ? a : b;
    default: return (u32)ref_d(op, a, b);
    }
}

static u64 sext32(u32 v) { return (u64)(i64)(i32)v; }

static volatile u64 mem[16] ALIGNED(64);
static volatile u64 far_mem[16] ALIGNED(256);

int main(void)
{
    test_begin("atomics");

    /* ---- every AMO ---- */
    static const struct { u64 a, b; } dvals[] = {
        { 0x8000000000000001UL, 0x7fffffffffffffffUL },
        { 0x00000000fffffff0UL, 0xffffffff00000010UL },
        { 0x0123456789abcdefUL, 0xfedcba9876543210UL },
    };
    for (int op = 0; op <= MAXU; op++) {
        int good = 1;
        for (unsigned k = 0; k < sizeof dvals / sizeof dvals[0]; k++) {
            mem[0] = dvals[k].a;
            mem[1] = 0x5555555555555555UL;
            u64 old = fn_d[op]((u64)&mem[0], dvals[k].b);
            u64 want = ref_d(op, dvals[k].a, dvals[k].b);
            if (old != dvals[k].a || mem[0] != want || mem[1] != 0x5555555555555555UL) {
                good = 0;
                test_diag("  amo%s.d a=0x%lx b=0x%lx: rd=0x%lx mem=0x%lx want 0x%lx", op_names[op],
                          dvals[k].a, dvals[k].b, old, mem[0], want);
            }
        }
        test_ok(good, "amo%s.d returns the old value and stores %s(old, rs2)", op_names[op], op_names[op]);
    }
    static const struct { u32 a, b; } wvals[] = {
        { 0x80000001u, 0x7fffffffu },
        { 0xfffffff0u, 0x00000010u },
        { 0x789abcdeu, 0x87654321u },
    };
    for (int op = 0; op <= MAXU; op++) {
        int good = 1;
        for (unsigned k = 0; k < sizeof wvals / sizeof wvals[0]; k++) {
            mem[0] = 0xa5a5a5a500000000UL | wvals[k].a;     /* high word is a neighbour */
            u64 old = fn_w[op]((u64)&mem[0], sext32(wvals[k].b) ^ 0xdead000000000000UL);
            u32 want = ref_w(op, wvals[k].a, wvals[k].b);
            if (old != sext32(wvals[k].a) || mem[0] != (0xa5a5a5a500000000UL | want)) {
                good = 0;
                test_diag("  amo%s.w a=0x%x b=0x%x: rd=0x%lx mem=0x%lx want 0x%x", op_names[op],
                          wvals[k].a, wvals[k].b, old, mem[0], want);
            }
            /* the upper word of a .w AMO */
            mem[0] = ((u64)wvals[k].a << 32) | 0x11111111u;
            old = fn_w[op]((u64)&mem[0] + 4, wvals[k].b);
            if (old != sext32(wvals[k].a) || mem[0] != (((u64)want << 32) | 0x11111111u)) {
                good = 0;
                test_diag("  amo%s.w (upper word) rd=0x%lx mem=0x%lx", op_names[op], old, mem[0]);
            }
        }
        test_ok(good, "amo%s.w sign-extends the old value, ignores rs2[63:32], keeps neighbours",
                op_names[op]);
    }
    mem[0] = 0x7fffffff;
    test_ok(amoadd_w_aqrl((u64)&mem[0], 1) == 0x7fffffff && mem[0] == 0x80000000u,
            "amoadd.w.aqrl wraps at 32 bits without touching the high word");
    mem[0] = 0xf0;
    test_ok(amoor_d_aq((u64)&mem[0], 0x0f) == 0xf0 && mem[0] == 0xff, "amoor.d.aq");
    test_ok(amoxor_d_rl((u64)&mem[0], 0xff) == 0xff && mem[0] == 0, "amoxor.d.rl");
    test_ok(amoadd_d_x0((u64)&mem[0], 9) == 7 && mem[0] == 9, "amoadd.d with rd = x0 still stores");

    /* ---- LR/SC ---- */
    {
        u64 loaded = 0;
        mem[2] = 0x1111222233334444UL;
        u64 r = lrsc_d((u64 *)&mem[2], 0x5555666677778888UL, &loaded);
        test_ok(r == 0 && loaded == 0x1111222233334444UL && mem[2] == 0x5555666677778888UL,
                "lr.d/sc.d: sc succeeds (rd = 0) and stores");
        mem[3] = 0x00000000f0000000UL;
        r = lrsc_w((u32 *)&mem[3], 0x12345678, &loaded);
        test_ok(r == 0 && loaded == 0xfffffffff0000000UL && mem[3] == 0x12345678,
                "lr.w sign-extends; sc.w succeeds and stores 32 bits");
        mem[4] = 42;
        r = sc_without_lr_d((u64 *)&mem[4], 99);
        test_ok(r != 0 && mem[4] == 42, "sc.d without a reservation fails (rd != 0) and does not store");
        if (r != 0 && r != 1)
            test_diag("  sc failure code %lu", r);
        mem[5] = 43;
        r = sc_without_lr_w((u32 *)&mem[5], 99);
        test_ok(r != 0 && mem[5] == 43, "sc.w without a reservation fails and does not store");
        far_mem[0] = 1;
        mem[6] = 2;
        r = lr_sc_other((u64 *)&mem[6], (u64 *)&far_mem[0], 77);
        test_ok(r != 0 && far_mem[0] == 1, "sc.d to another address than the lr.d fails");
        mem[7] = 5;
        r = lr_store_sc((u64 *)&mem[7], 6, 7);
        test_ok(r != 0 && mem[7] == 6, "sc.d after an intervening store of a new value fails (QEMU)");
        mem[8] = 8;
        r = lr_lr_sc((u64 *)&mem[8], 9);
        test_ok(r == 0 && mem[8] == 9, "lr.d twice then sc.d succeeds");
        mem[9] = 0;
        r = lrsc_inc((u64 *)&mem[9], 1000);
        test_ok(mem[9] == 1000, "1000 LR/SC increments give 1000");
    }

    /* ---- misaligned and faulting atomics ---- */
    {
        u64 base = (u64)&mem[10];
        static const struct { u64 (*fn)(u64, u64); u64 off; const char *name; int is_lr; } mis[] = {
            { probe_amoadd_w, 2, "amoadd.w at +2", 0 },
            { probe_amoswap_w, 1, "amoswap.w at +1", 0 },
            { probe_amoadd_d, 4, "amoadd.d at +4", 0 },
            { probe_amoswap_d, 6, "amoswap.d at +6", 0 },
        };
        for (unsigned i = 0; i < sizeof mis / sizeof mis[0]; i++) {
            mem[10] = mem[11] = 0;
            expect_trap();
            mis[i].fn(base + mis[i].off, 1);
            int c = (int)last_trap.cause;
            int good = trap_taken() && (c == EXC_STORE_MISALIGNED || c == EXC_LOAD_MISALIGNED) &&
                       last_trap.tval == base + mis[i].off && mem[10] == 0 && mem[11] == 0;
            test_ok(good, "misaligned %s traps (mtval = address, memory untouched)", mis[i].name);
            if (!good)
                test_diag("  taken=%d cause=%d tval=0x%lx", trap_taken(), c, last_trap.tval);
            else if (c == EXC_LOAD_MISALIGNED)
                test_diag("  mcause 4 (QEMU 7.2); the spec says 6 for AMOs");
        }
        expect_trap();
        probe_lr_w(base + 2);
        test_ok(trap_taken() && last_trap.cause == EXC_LOAD_MISALIGNED && last_trap.tval == base + 2,
                "misaligned lr.w: load address misaligned (4)");
        expect_trap();
        probe_lr_d(base + 4);
        test_ok(trap_taken() && last_trap.cause == EXC_LOAD_MISALIGNED && last_trap.tval == base + 4,
                "misaligned lr.d: load address misaligned (4)");
        expect_trap();
        probe_amoadd_d(0x00200000UL, 1);
        {
            u64 c = last_trap.cause;
            int good = trap_taken() && (c == EXC_STORE_ACCESS || c == EXC_LOAD_ACCESS) &&
                       last_trap.tval == 0x00200000UL;
            test_ok(good, "amoadd.d to unmapped memory: access fault, mtval = address");
            if (!good)
                test_diag("  taken=%d cause=%lu", trap_taken(), c);
            else if (c == EXC_LOAD_ACCESS)
                test_diag("  mcause 5 (QEMU 7.2); the spec says 7 for AMOs");
        }
        expect_trap();
        probe_lr_d(0x00200000UL);
        test_ok(trap_taken() && last_trap.cause == EXC_LOAD_ACCESS && last_trap.tval == 0x00200000UL,
                "lr.d from unmapped memory: load access fault (5)");
        trap_expected = 0;
    }

    return test_end();
}
