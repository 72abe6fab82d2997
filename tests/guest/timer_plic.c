/*
 * timer_plic: the CLINT timer (mtime, mtimecmp, MTIP timing) and the PLIC
 * (priority, threshold, enables, pending, claim/complete, arbitration
 * between sources, per-context routing).  The UART THRE interrupt (source
 * 10) and the goldfish RTC alarm (source 11) are the interrupt sources.
 */
#include "runtime.h"

#define RTC_BASE 0x00101000UL
#define RTC_TIME_LOW 0x00
#define RTC_ALARM_LOW 0x08
#define RTC_ALARM_HIGH 0x0c
#define RTC_IRQ_ENABLED 0x10
#define RTC_CLEAR_ALARM 0x14
#define RTC_CLEAR_INTERRUPT 0x1c
#define RTC_IRQ 11

static void uart_thri(int on) { mmio_write8(UART_BASE + UART_IER, on ? UART_IER_THRI : 0); }

static void rtc_fire(void)
{
    mmio_write32(RTC_BASE + RTC_IRQ_ENABLED, 1);
    mmio_write32(RTC_BASE + RTC_ALARM_HIGH, 0);
    mmio_write32(RTC_BASE + RTC_ALARM_LOW, 0);      /* in the past: fires now */
}

static void rtc_quiet(void)
{
    mmio_write32(RTC_BASE + RTC_CLEAR_INTERRUPT, 1);
    mmio_write32(RTC_BASE + RTC_IRQ_ENABLED, 0);
}

static u32 pending_word(void) { return mmio_read32(PLIC_PENDING(0)); }
static u32 claim(int ctx) { return mmio_read32(PLIC_CLAIM(ctx)); }
static void complete(int ctx, u32 id) { mmio_write32(PLIC_CLAIM(ctx), id); }

static void plic_reset(void)
{
    uart_thri(0);
    for (int ctx = 0; ctx < 2; ctx++) {
        for (int i = 0; i < 8; i++) {
            u32 id = claim(ctx);
            if (!id)
                break;
            complete(ctx, id);
        }
        for (int w = 0; w < 3; w++)
            mmio_write32(PLIC_ENABLE(ctx, 0) + 4 * w, 0);
        mmio_write32(PLIC_THRESHOLD(ctx), 0);
    }
    for (int s = 1; s < PLIC_NUM_SOURCES; s++)
        mmio_write32(PLIC_PRIORITY(s), 0);
}

static void enable(int ctx, int src, int on)
{
    u64 a = PLIC_ENABLE(ctx, src);
    u32 v = mmio_read32(a);
    if (on)
        v |= 1u << (src % 32);
    else
        v &= ~(1u << (src % 32));
    mmio_write32(a, v);
}

static void spin_ticks(u64 n)
{
    u64 end = mtime_read() + n;
    while (mtime_read() < end)
        barrier();
}

int main(void)
{
    test_begin("timer_plic");
    csr_write(mie, 0);
    mtimecmp_write(~0UL);

    /* ================= CLINT ================= */
    {
        u64 prev = mtime_read(), first = prev;
        int mono = 1;
        for (int i = 0; i < 2000; i++) {
            u64 t = mtime_read();
            if (t < prev)
                mono = 0;
            prev = t;
        }
        test_ok(mono, "mtime never goes backwards over 2000 reads");
        test_ok(prev > first, "mtime advances");
    }
    {
        u64 lo = mmio_read32(CLINT_MTIME), hi = mmio_read32(CLINT_MTIME + 4);
        u64 full = mtime_read();
        u64 split = (hi << 32) | lo;
        test_ok(full >= split && full - split < 10000,
                "mtime readable as two 32-bit halves");
    }
    {
        mtimecmp_write(0x123456789abcdef0UL);
        u64 r = mmio_read64(CLINT_MTIMECMP);
        mmio_write32(CLINT_MTIMECMP, 0x11111111);
        mmio_write32(CLINT_MTIMECMP + 4, 0x7fffffff);
        u64 r2 = mmio_read64(CLINT_MTIMECMP);
        test_ok(r == 0x123456789abcdef0UL && r2 == 0x7fffffff11111111UL,
                "mtimecmp reads back (64-bit and 32-bit halves)");
        mtimecmp_write(~0UL);
    }
    {
        mtimecmp_write(0);
        int on = (csr_read(mip) & MIP_MTIP) != 0;
        mtimecmp_write(~0UL);
        int off = (csr_read(mip) & MIP_MTIP) == 0;
        test_ok(on && off, "mip.MTIP is level: set while mtime >= mtimecmp, cleared by a later mtimecmp");
    }
    {
        /* Poll mip.MTIP around a deadline: it must never be set while mtime < cmp
         * and must appear soon after.  mtime is read once per 32 polls of mip
         * (on QEMU without -icount each CLINT read takes the global lock). */
        u64 cmp = mtime_read() + 3000;
        mtimecmp_write(cmp);
        int early = 0, seen = 0;
        u64 seen_at = 0, limit = cmp + TIMEBASE_HZ;
        for (;;) {
            int p = 0;
            for (int i = 0; i < 32 && !p; i++)
                p = (csr_read(mip) & MIP_MTIP) != 0;
            u64 t1 = mtime_read();
            if (p) {
                if (t1 < cmp)
                    early = 1;
                seen = 1;
                seen_at = t1;
                break;
            }
            if (t1 > limit)
                break;
        }
        test_ok(seen && !early, "mip.MTIP rises at mtime >= mtimecmp, not before");
        test_ok(seen && seen_at - cmp < 1000000, "mip.MTIP rises within 100 ms of the deadline");
        mtimecmp_write(~0UL);
    }
    {
        /* wfi waits for the deadline: elapsed time ~ requested */
        csr_write(mie, MIP_MTIP);
        u64 start = mtime_read();
        mtimecmp_write(start + 50000);      /* 5 ms */
        while (!(csr_read(mip) & MIP_MTIP))
            __asm__ volatile("wfi");
        u64 end = mtime_read();
        csr_write(mie, 0);
        mtimecmp_write(~0UL);
        test_ok(end >= start + 50000, "wfi loop until MTIP: at least 50000 ticks passed");
    }

    /* ================= PLIC ================= */
    plic_reset();
    {
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 5);
        u32 p5 = mmio_read32(PLIC_PRIORITY(UART_IRQ));
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 0xffffffff);
        u32 pmax = mmio_read32(PLIC_PRIORITY(UART_IRQ));
        test_ok(p5 == 5 && pmax == 7, "source priority is 3 bits (5 -> 5, ~0 -> 7)");
        if (pmax != 7)
            test_diag("  priority after writing ~0: 0x%x", pmax);
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 0);
        mmio_write32(PLIC_PRIORITY(PLIC_NUM_SOURCES - 1), 3);
        test_eq(mmio_read32(PLIC_PRIORITY(PLIC_NUM_SOURCES - 1)), 3, "priority of source 95 writable");
        mmio_write32(PLIC_PRIORITY(PLIC_NUM_SOURCES - 1), 0);
    }
    {
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 3);
        u32 t3 = mmio_read32(PLIC_THRESHOLD(PLIC_CTX_M));
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0xffffffff);
        u32 tmax = mmio_read32(PLIC_THRESHOLD(PLIC_CTX_M));
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
        test_ok(t3 == 3 && tmax == 7, "threshold is 3 bits (3 -> 3, ~0 -> 7)");
        if (tmax != 7)
            test_diag("  threshold after writing ~0: 0x%x", tmax);
    }
    {
        int good = 1;
        for (int w = 0; w < 3; w++) {
            mmio_write32(PLIC_ENABLE(PLIC_CTX_M, 0) + 4 * w, 0xffffffff);
            u32 v = mmio_read32(PLIC_ENABLE(PLIC_CTX_M, 0) + 4 * w);
            u32 want = w == 0 ? 0xfffffffe : 0xffffffff;
            if (v != want && !(w == 0 && v == 0xffffffff)) {
                test_diag("  enable word %d reads 0x%x", w, v);
                good = 0;
            }
            mmio_write32(PLIC_ENABLE(PLIC_CTX_M, 0) + 4 * w, 0);
            if (mmio_read32(PLIC_ENABLE(PLIC_CTX_M, 0) + 4 * w) != 0)
                good = 0;
        }
        test_ok(good, "enable bits for sources 1..95 are read/write in context 0");
        mmio_write32(PLIC_ENABLE(PLIC_CTX_S, 64), 0x80000001);
        test_eq(mmio_read32(PLIC_ENABLE(PLIC_CTX_S, 64)), 0x80000001,
                "context 1 has its own enable bits");
        mmio_write32(PLIC_ENABLE(PLIC_CTX_S, 64), 0);
    }

    /*
     * UART THRE drives source 10.  Nothing is printed while the THRE
     * interrupt is enabled (transmitting would re-raise the line), so the
     * observations are collected first and reported afterwards.
     */
    plic_reset();
    {
        struct { u32 pend, meip_off, claim_off, meip_en_only, meip, thr_masks, prio_beats,
                 prio0, id, claim_clears, claim_again, low_complete; } r;
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
        uart_thri(1);
        r.pend = (pending_word() >> UART_IRQ) & 1;
        r.meip_off = (csr_read(mip) & MIP_MEIP) != 0;
        r.claim_off = claim(PLIC_CTX_M);
        enable(PLIC_CTX_M, UART_IRQ, 1);
        r.meip_en_only = (csr_read(mip) & MIP_MEIP) != 0;
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);    /* any PLIC update */
        r.meip = (csr_read(mip) & MIP_MEIP) != 0;
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 1);
        r.thr_masks = !(csr_read(mip) & MIP_MEIP);
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 2);
        r.prio_beats = (csr_read(mip) & MIP_MEIP) != 0;
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 0);
        r.prio0 = !(csr_read(mip) & MIP_MEIP);
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
        r.id = claim(PLIC_CTX_M);
        r.claim_clears = !((pending_word() >> UART_IRQ) & 1) && !(csr_read(mip) & MIP_MEIP);
        r.claim_again = claim(PLIC_CTX_M);
        uart_thri(0);
        complete(PLIC_CTX_M, r.id);
        r.low_complete = !((pending_word() >> UART_IRQ) & 1) && !(csr_read(mip) & MIP_MEIP);

        test_ok(r.pend, "UART THRE interrupt sets PLIC pending bit 10");
        test_ok(!r.meip_off, "pending but not enabled: no mip.MEIP");
        test_eq(r.claim_off, 0, "claim with nothing enabled returns 0");
        if (r.meip_en_only)
            test_ok(1, "the enable write alone raises mip.MEIP");
        else if (r.meip)
            test_skip("QEMU 7.2 quirk: enable writes do not re-evaluate the PLIC outputs",
                      "the enable write alone raises mip.MEIP");
        else
            test_ok(0, "the enable write alone raises mip.MEIP");
        test_ok(r.meip, "source 10 enabled in context 0 with priority 1 > threshold 0 raises mip.MEIP");
        test_ok(r.thr_masks, "threshold 1 masks priority 1 (needs priority > threshold)");
        test_ok(r.prio_beats, "priority 2 beats threshold 1");
        test_ok(r.prio0, "priority 0 never interrupts");
        test_eq(r.id, UART_IRQ, "claim returns source 10");
        test_ok(r.claim_clears, "claim clears the pending bit and mip.MEIP");
        test_eq(r.claim_again, 0, "a claimed source is not claimable again before completion");
        test_ok(r.low_complete, "line low at completion: nothing pending");
    }

    /* routing by context */
    plic_reset();
    {
        struct { u32 seip_only, claim_m, thr_masks, id, dropped; } r;
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 1);
        enable(PLIC_CTX_S, UART_IRQ, 1);
        uart_thri(1);
        r.seip_only = (csr_read(mip) & (MIP_MEIP | MIP_SEIP)) == MIP_SEIP;
        r.claim_m = claim(PLIC_CTX_M);
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_S), 1);
        r.thr_masks = !(csr_read(mip) & MIP_SEIP);
        mmio_write32(PLIC_THRESHOLD(PLIC_CTX_S), 0);
        r.id = claim(PLIC_CTX_S);
        uart_thri(0);
        complete(PLIC_CTX_S, r.id);
        r.dropped = !(csr_read(mip) & MIP_SEIP);
        test_ok(r.seip_only, "source enabled only in context 1 raises mip.SEIP, not MEIP");
        test_eq(r.claim_m, 0, "context 0 cannot claim it");
        test_ok(r.thr_masks, "context 1 threshold masks it");
        test_eq(r.id, UART_IRQ, "context 1 claims source 10");
        test_ok(r.dropped, "context 1 complete with the line low drops mip.SEIP");
    }

    /* arbitration between two sources: UART (10) and goldfish RTC (11) */
    plic_reset();
    expect_trap();
    probe_lw(RTC_BASE + RTC_TIME_LOW);
    int have_rtc = !trap_taken();
    trap_expected = 0;
    if (have_rtc) {
        static const struct { u32 pu, pr, thr, first, second; const char *what; } cases[] = {
            { 2, 5, 0, RTC_IRQ, UART_IRQ, "higher priority (11: 5 over 10: 2) claimed first" },
            { 6, 3, 0, UART_IRQ, RTC_IRQ, "higher priority (10: 6 over 11: 3) claimed first" },
            { 4, 4, 0, UART_IRQ, RTC_IRQ, "equal priorities: lower source id claimed first" },
            { 2, 5, 3, RTC_IRQ, 0, "threshold 3: only the priority-5 source is claimable" },
            { 0, 1, 0, RTC_IRQ, 0, "priority-0 source is never claimed" },
        };
        enable(PLIC_CTX_M, UART_IRQ, 1);
        enable(PLIC_CTX_M, RTC_IRQ, 1);
        for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            mmio_write32(PLIC_PRIORITY(UART_IRQ), cases[i].pu);
            mmio_write32(PLIC_PRIORITY(RTC_IRQ), cases[i].pr);
            mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), cases[i].thr);
            rtc_fire();
            uart_thri(1);
            u32 pend = pending_word();
            u32 a = claim(PLIC_CTX_M);
            u32 b = claim(PLIC_CTX_M);
            u32 c = claim(PLIC_CTX_M);
            uart_thri(0);
            rtc_quiet();
            if (a) complete(PLIC_CTX_M, a);
            if (b) complete(PLIC_CTX_M, b);
            mmio_write32(PLIC_THRESHOLD(PLIC_CTX_M), 0);
            if (i == 0)
                test_ok(((pend >> RTC_IRQ) & 1) && ((pend >> UART_IRQ) & 1),
                        "goldfish RTC alarm in the past and UART THRE: pending bits 11 and 10");
            int good = a == cases[i].first && b == cases[i].second && c == 0;
            test_ok(good, "%s", cases[i].what);
            if (!good)
                test_diag("  claims: %u %u %u", a, b, c);
        }
        /* A level source still asserted at completion: the PLIC spec's gateway
         * forwards a new request; QEMU 7.2 only re-pends when the device
         * signals again (the RTC does not). */
        mmio_write32(PLIC_PRIORITY(RTC_IRQ), 1);
        mmio_write32(PLIC_PRIORITY(UART_IRQ), 0);
        rtc_fire();
        u32 a = claim(PLIC_CTX_M);
        complete(PLIC_CTX_M, a);
        u32 again = (pending_word() >> RTC_IRQ) & 1;
        u32 b = claim(PLIC_CTX_M);
        if (b) complete(PLIC_CTX_M, b);
        rtc_quiet();
        u32 after = (pending_word() >> RTC_IRQ) & 1;
        test_eq(a, RTC_IRQ, "RTC source 11 claimed");
        if (again && b == RTC_IRQ)
            test_ok(1, "a level source still high at completion is pending again");
        else if (!again && !b)
            test_skip("QEMU 7.2 quirk: no re-request until the device signals again",
                      "a level source still high at completion is pending again");
        else
            test_ok(0, "a level source still high at completion is pending again");
        test_ok(!after, "RTC CLEAR_INTERRUPT lowers source 11");
    } else {
        const char *why = "no goldfish RTC at 0x101000";
        test_skip(why, "goldfish RTC and UART pending together");
        for (int i = 0; i < 5; i++)
            test_skip(why, "two-source arbitration case %d", i);
        test_skip(why, "RTC source 11 claimed");
        test_skip(why, "a level source still high at completion is pending again");
        test_skip(why, "RTC CLEAR_INTERRUPT lowers source 11");
    }
    plic_reset();
    spin_ticks(10);
    return test_end();
}
