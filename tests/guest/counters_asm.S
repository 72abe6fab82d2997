/* Assembly helpers for counters.c: straight-line blocks between two reads. */
        .text
        .option norvc

.macro DELTA name, csr, n
        .globl \name
\name:
        csrr    a0, \csr
        .rept   \n
        nop
        .endr
        csrr    a1, \csr
        sub     a0, a1, a0
        ret
.endm

DELTA minstret_d0, minstret, 0
DELTA minstret_d1, minstret, 1
DELTA minstret_d10, minstret, 10
DELTA minstret_d100, minstret, 100
DELTA instret_d10, instret, 10
DELTA mcycle_d100, mcycle, 100

/* u64 minstret_mixed(u64 *scratch): 24 instructions of assorted kinds
 * between the two reads (the count includes the first csrr). */
        .globl minstret_mixed
minstret_mixed:
        csrr    t0, minstret        /* 1 */
        addi    t1, zero, 5         /* 2 */
        .option rvc
        c.addi  t1, 3               /* 3 */
        c.mv    t2, t1              /* 4 */
        c.nop                       /* 5 */
        .option norvc
        sd      t1, 0(a0)           /* 6 */
        ld      t2, 0(a0)           /* 7 */
        lui     t3, 0x12345         /* 8 */
        auipc   t4, 0               /* 9 */
        mul     t5, t1, t2          /* 10 */
        div     t5, t5, t1          /* 11 */
        bne     t1, t2, 1f          /* 12: not taken */
        beq     t1, t2, 2f          /* 13: taken */
1:      addi    t1, t1, 100         /* skipped */
        addi    t1, t1, 100         /* skipped */
2:      jal     t6, 3f              /* 14 */
        addi    t1, t1, 100         /* skipped */
3:      slli    t1, t1, 2           /* 15 */
        srai    t1, t1, 1           /* 16 */
        sltu    t2, t1, t2          /* 17 */
        andi    t2, t2, 1           /* 18 */
        amoadd.d t3, t2, (a0)       /* 19 */
        fence                       /* 20 */
        csrr    t3, mscratch        /* 21 */
        xor     t3, t3, t3          /* 22 */
        or      t3, t3, t1          /* 23 */
        addiw   t3, t3, -1          /* 24 */
        csrr    a1, minstret
        sub     a0, a1, t0
        ret

        .globl read_cycle, read_cycle_insn, read_time, read_time_insn
        .globl read_instret, read_instret_insn
read_cycle:
read_cycle_insn:
        csrr    a0, cycle
        ret
read_time:
read_time_insn:
        csrr    a0, time
        ret
read_instret:
read_instret_insn:
        csrr    a0, instret
        ret

        .globl write_instret, write_instret_insn
write_instret:
write_instret_insn:
        csrw    instret, a0
        ret
