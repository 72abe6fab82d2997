/* Assembly helpers for atomics.c: every AMO and LR/SC scenarios that must
 * not be disturbed by compiler-generated stores. */
        .text
        .option norvc

.macro AMO op, sz
        .globl amo_\op\()_\sz
amo_\op\()_\sz:
        amo\op\().\sz a0, a1, (a0)
        ret
.endm
        .irp sz, w, d
        .irp op, swap, add, and, or, xor, min, max, minu, maxu
        AMO \op, \sz
        .endr
        .endr

/* the same with aq/rl set, and with rd = x0 */
        .globl amoadd_w_aqrl, amoor_d_aq, amoxor_d_rl, amoadd_d_x0
amoadd_w_aqrl:
        amoadd.w.aqrl a0, a1, (a0)
        ret
amoor_d_aq:
        amoor.d.aq a0, a1, (a0)
        ret
amoxor_d_rl:
        amoxor.d.rl a0, a1, (a0)
        ret
amoadd_d_x0:
        amoadd.d zero, a1, (a0)
        li      a0, 7
        ret

/* u64 lrsc_d(u64 *p, u64 newval, u64 *loaded): lr.d then sc.d;
 * returns the sc result (0 = success) and stores the lr value. */
        .globl lrsc_d, lrsc_w
lrsc_d:
        lr.d    t0, (a0)
        sc.d    t1, a1, (a0)
        sd      t0, 0(a2)
        mv      a0, t1
        ret
lrsc_w:
        lr.w    t0, (a0)
        sc.w    t1, a1, (a0)
        sd      t0, 0(a2)
        mv      a0, t1
        ret

/* u64 sc_without_lr_d(u64 *p, u64 v): a successful lr/sc pair, then a
 * second sc.d with no reservation; returns that second result. */
        .globl sc_without_lr_d, sc_without_lr_w
sc_without_lr_d:
        lr.d    t0, (a0)
        sc.d    t1, t0, (a0)
        sc.d    a0, a1, (a0)
        ret
sc_without_lr_w:
        lr.w    t0, (a0)
        sc.w    t1, t0, (a0)
        sc.w    a0, a1, (a0)
        ret

/* u64 lr_sc_other(u64 *lr_addr, u64 *sc_addr, u64 v) */
        .globl lr_sc_other
lr_sc_other:
        lr.d    t0, (a0)
        sc.d    a0, a2, (a1)
        ret

/* u64 lr_store_sc(u64 *p, u64 store_val, u64 sc_val) */
        .globl lr_store_sc
lr_store_sc:
        lr.d    t0, (a0)
        sd      a1, 0(a0)
        sc.d    a0, a2, (a0)
        ret

/* u64 lr_sc_twice(u64 *p, u64 v): lr, lr, sc -> result (newest LR counts) */
        .globl lr_lr_sc
lr_lr_sc:
        lr.d    t0, (a0)
        lr.d    t0, (a0)
        sc.d    a0, a1, (a0)
        ret

/* u64 lrsc_inc(u64 *p, u64 n): n increments with LR/SC retry loops;
 * returns the number of sc failures. */
        .globl lrsc_inc
lrsc_inc:
        li      t2, 0
1:      beqz    a1, 3f
2:      lr.d    t0, (a0)
        addi    t0, t0, 1
        sc.d    t1, t0, (a0)
        beqz    t1, 4f
        addi    t2, t2, 1
        j       2b
4:      addi    a1, a1, -1
        j       1b
3:      mv      a0, t2
        ret
