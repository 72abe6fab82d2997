/* TAP-like reporting and power-off through the sifive_test device. */
#include "runtime.h"

static const char *test_name = "?";
static int test_num;
int test_failures;

void poweroff_pass(void)
{
    mmio_write32(TEST_BASE, TEST_PASS);
    for (;;)
        __asm__ volatile("wfi");
}

void poweroff_fail(int code)
{
    mmio_write32(TEST_BASE, ((u32)code << 16) | TEST_FAIL);
    for (;;)
        __asm__ volatile("wfi");
}

void test_exit(int code)
{
    if (code == 0)
        poweroff_pass();
    poweroff_fail(code);
}

void test_begin(const char *name)
{
    test_name = name;
    test_num = 0;
    test_failures = 0;
    kprintf("# %s: deja guest test\n", name);
}

static void report(int cond, const char *fmt, va_list ap)
{
    test_num++;
    if (!cond)
        test_failures++;
    kprintf("%s %d - ", cond ? "ok" : "not ok", test_num);
    kvprintf(fmt, ap);
}

int test_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(cond, fmt, ap);
    va_end(ap);
    kprintf("\n");
    return cond;
}

int test_eq(u64 got, u64 expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(got == expected, fmt, ap);
    va_end(ap);
    kprintf("\n");
    if (got != expected)
        kprintf("#   got 0x%lx, expected 0x%lx\n", got, expected);
    return got == expected;
}

void test_skip(const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(1, fmt, ap);
    va_end(ap);
    kprintf(" # SKIP %s\n", reason);
}

void test_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kprintf("# ");
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
}

int test_end(void)
{
    kprintf("1..%d\n", test_num);
    if (test_failures) {
        kprintf("FAIL %s (%d of %d failed)\n", test_name, test_failures, test_num);
        poweroff_fail(1);
    }
    kprintf("PASS %s\n", test_name);
    poweroff_pass();
}
