/*
 * htif_exit: exit through HTIF with a nonzero code.  Writes
 * (42 << 1) | 1 to tohost, so an HTIF host (Spike, deja) ends the run and
 * exits with status 42.  Without HTIF (QEMU's virt board) the program spins
 * for 100,000 instructions and then reports the same 42 through
 * sifive_test; deja's test checks that it stopped long before that.
 */
#include "test_macros.h"

#define EXIT_CODE 42
#define SPIN 50000

RVTEST_CODE_BEGIN
        li TESTNUM, EXIT_CODE
        fence
        li a0, (EXIT_CODE << 1) | 1
        la a1, tohost
        sd a0, 0(a1)
        li a0, SPIN
1:      addi a0, a0, -1
        bnez a0, 1b
        /* no HTIF host: power off with the same code */
        li t0, SIFIVE_TEST
        li t1, (EXIT_CODE << 16) | 0x3333
        sw t1, 0(t0)
2:      j 2b
RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
