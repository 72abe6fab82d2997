/*
 * htif: the HTIF host interface itself.  Prints through the system-call
 * proxy (tohost = &magic_mem with SYS_write to fd 1, then waits for
 * fromhost) and through the console device (device 1, command 1), then
 * exits with tohost = 1.  On a host without HTIF (QEMU's virt board) the
 * waits time out, and after the exit request the program spins for a
 * while and then powers off through sifive_test, so it passes there too;
 * deja's test checks that it stopped long before that.  (deja polls
 * tohost every 10,000 instructions, so each wait and the spin are longer
 * than that: 10,000 rounds of 4 instructions, 50,000 of 2.)
 */
#include "test_macros.h"

#define SYS_WRITE 64
#define SPIN 50000

RVTEST_CODE_BEGIN

        /* write(1, msg, len) through magic_mem */
        li TESTNUM, 2
        la a0, magic_mem
        li a1, SYS_WRITE
        sd a1, 0(a0)
        li a1, 1
        sd a1, 8(a0)
        la a1, msg
        sd a1, 16(a0)
        li a1, 16
        sd a1, 24(a0)
        fence
        la a1, tohost
        sd a0, 0(a1)
        call wait_fromhost
        /* the host wrote the byte count into magic_mem[0] (or timed out) */
        beqz a0, 1f
        la a0, magic_mem
        ld a0, 0(a0)
        li a1, 16
        bne a0, a1, fail
1:
        /* console putchar: "ok\n" */
        li TESTNUM, 3
        la s0, msg2
2:      lbu a0, 0(s0)
        beqz a0, 3f
        li a1, 0x0101000000000000
        or a0, a0, a1
        la a1, tohost
        sd a0, 0(a1)
        call wait_fromhost
        addi s0, s0, 1
        j 2b
3:
        /* exit through tohost; without HTIF, power off after a while */
        fence
        li a0, 1
        la a1, tohost
        sd a0, 0(a1)
        li a0, SPIN
4:      addi a0, a0, -1
        bnez a0, 4b
        j pass

/* Wait for fromhost != 0, then clear it.  a0 = 1 if the host answered. */
wait_fromhost:
        la a1, fromhost
        li a2, 10000
5:      ld a0, 0(a1)
        bnez a0, 6f
        addi a2, a2, -1
        bnez a2, 5b
        li a0, 0
        ret
6:      sd x0, 0(a1)
        li a0, 1
        ret
RVTEST_CODE_END

RVTEST_DATA_BEGIN
        .balign 64
magic_mem: .fill 8, 8, 0
msg:    .ascii "hello from HTIF\n"   /* 16 bytes */
msg_end:
msg2:   .asciz "ok\n"
RVTEST_DATA_END
