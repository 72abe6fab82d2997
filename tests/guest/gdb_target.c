/*
 * gdb_target: a small program for the GDB stub's tests, built with debug
 * information (-g) so that gdb can break at its functions, print its
 * globals and show a backtrace.
 *
 * Without a debugger it computes a sum through three nested calls, stores
 * each intermediate result in `watched` (what the watchpoint tests watch),
 * and powers off with PASS.  A debugger can set `spin_wanted` to make it
 * spin in spin() until `spin_release` is set (the Ctrl-C test).
 */
#include "runtime.h"

volatile long watched;          /* written once per round, in middle() */
long rounds;                    /* rounds completed */
volatile int spin_wanted;       /* set by a debugger: spin before the end */
volatile int spin_release;      /* set by a debugger: leave spin() */
volatile unsigned long spins;   /* iterations of spin() */

NOINLINE long leaf(long n)
{
    return n * 3 + 1;
}

NOINLINE long middle(long n)
{
    long r = leaf(n);
    watched = r;
    return r + 1;
}

NOINLINE long outer(long n)
{
    return middle(n) * 2;
}

NOINLINE void spin(void)
{
    while (!spin_release)
        spins++;
}

int main(void)
{
    test_begin("gdb_target");
    long sum = 0;
    for (long i = 0; i < 5; i++) {
        sum += outer(i);
        rounds++;
    }
    /* sum over i of 2 * (3i + 2) = 6 * 10 + 20 */
    test_eq(sum, 80, "sum of outer(0..4)");
    test_eq(rounds, 5, "rounds");
    if (spin_wanted)
        spin();
    return test_end();
}
