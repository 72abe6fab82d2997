/* Tiny freestanding runtime for deja's guest tests. */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <stdarg.h>
#include "platform.h"
#include "csr.h"
#include "runtime_asm.h"

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef unsigned char u8;

#define NOINLINE __attribute__((noinline))
#define ALIGNED(n) __attribute__((aligned(n)))
#define barrier() __asm__ volatile("" ::: "memory")

/* ---- console (uart.c / printf.c) ---- */
void uart_putc(char c);
int uart_getc_nonblock(void);       /* -1 when LSR.DR is clear */
int uart_getc(void);                /* spins on LSR.DR */
void puts_raw(const char *s);
int kprintf(const char *fmt, ...);
int kvprintf(const char *fmt, va_list ap);
int ksnprintf(char *buf, unsigned long n, const char *fmt, ...);

/* ---- lib.c ---- */
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
unsigned long strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- power (test.c) ---- */
void poweroff_pass(void) __attribute__((noreturn));
void poweroff_fail(int code) __attribute__((noreturn));
void test_exit(int code) __attribute__((noreturn)); /* 0 = pass */

/* ---- TAP-like reporting (test.c) ---- */
void test_begin(const char *name);
int  test_ok(int cond, const char *fmt, ...);
int  test_eq(u64 got, u64 expected, const char *fmt, ...);
void test_skip(const char *reason, const char *fmt, ...);
void test_diag(const char *fmt, ...);
int  test_end(void) __attribute__((noreturn));
extern int test_failures;

/* ---- traps (trap.c, start.S) ---- */
struct trap_frame {
    u64 x[32];          /* x[2] is the interrupted sp */
    u64 epc, cause, tval, status;
    i64 vec;            /* vector slot, -1 for the direct entry */
    u64 pad;
};

/* A hook returns nonzero when it handled the trap. */
typedef int (*trap_hook_t)(struct trap_frame *f);
extern volatile trap_hook_t m_hook;
extern volatile trap_hook_t s_hook;

struct trap_record {
    u64 cause, epc, tval, status;
    i64 vec;
    int by;             /* 'M' or 'S': which handler took it */
    int prev_priv;      /* privilege the trap came from */
};
/* When trap_expected > 0, a synchronous exception is recorded in last_trap,
 * trap_expected is decremented, and execution resumes at the interrupted
 * code's ra (so probes are leaf functions whose first instruction faults),
 * or at trap_resume_pc when that is nonzero. */
extern volatile int trap_expected;
extern volatile u64 trap_resume_pc;
extern volatile u64 trap_count;
extern volatile struct trap_record last_trap;
void expect_trap(void);             /* trap_expected = 1, clear last_trap */
int  trap_taken(void);              /* 1 when the expected trap happened */

extern u64 boot_hartid, boot_fdt;
extern volatile u64 run_va_offset;
long m_run_lower(long priv, long (*fn)(long), long arg);
long s_run_user(long (*fn)(long), long arg);
long run_in_s(long (*fn)(long), long arg);
long run_in_u(long (*fn)(long), long arg);

extern char m_trap_entry[], s_trap_entry[], m_vec_table[], s_vec_table[];
extern char __image_start[], __image_end[];

void pmp_allow_all(void);          /* entry 15: NAPOT all of memory RWX */

/* ---- probes (probes.S): leaf functions whose first instruction may trap ---- */
u64 probe_ld(u64 addr);
u64 probe_lw(u64 addr);
u64 probe_lwu(u64 addr);
u64 probe_lh(u64 addr);
u64 probe_lhu(u64 addr);
u64 probe_lb(u64 addr);
u64 probe_lbu(u64 addr);
u64 probe_sd(u64 addr, u64 val);
u64 probe_sw(u64 addr, u64 val);
u64 probe_sh(u64 addr, u64 val);
u64 probe_sb(u64 addr, u64 val);
u64 probe_jump(u64 addr);          /* jr a0 */
u64 probe_ecall(u64 a0, u64 a7);
u64 probe_ebreak(void);
u64 probe_cebreak(void);
u64 probe_lr_w(u64 addr);
u64 probe_lr_d(u64 addr);
u64 probe_sc_w(u64 addr, u64 val);
u64 probe_sc_d(u64 addr, u64 val);
u64 probe_amoadd_w(u64 addr, u64 val);
u64 probe_amoadd_d(u64 addr, u64 val);
u64 probe_amoswap_w(u64 addr, u64 val);
u64 probe_amoswap_d(u64 addr, u64 val);
extern char probe_ecall_insn[], probe_ebreak_insn[], probe_cebreak_insn[];

/* ---- CLINT / misc helpers ---- */
static inline u64 mtime_read(void) { return mmio_read64(CLINT_MTIME); }
static inline void mtimecmp_write(u64 v) { mmio_write64(CLINT_MTIMECMP, v); }
static inline u64 rdtime(void) { u64 v; __asm__ volatile("rdtime %0" : "=r"(v)); return v; }
static inline u64 rdcycle(void) { u64 v; __asm__ volatile("rdcycle %0" : "=r"(v)); return v; }
static inline u64 rdinstret(void) { u64 v; __asm__ volatile("rdinstret %0" : "=r"(v)); return v; }

#endif
