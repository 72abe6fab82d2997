/*
 * fpu_vectors: prints reference results of every RV64 F/D OP-FP and fused
 * multiply-add instruction, for a deterministic pseudo-random set of
 * operands (with special values mixed in), in every rounding mode.
 *
 * One line per case:
 *   mnemonic rm a b c -> result fflags
 * rm is "-" for instructions without a rounding mode, else "R:F" with R the
 * instruction's rm field and F the frm value at the time; a, b, c are the
 * full 64-bit source registers in hex ("-" if unused); result is the full
 * 64-bit destination register, or "illegal" if the instruction trapped.
 * Registers: rs1 = 10, rs2 = 11, rs3 = 12, rd = 13.
 */

typedef unsigned long u64;
typedef unsigned int u32;

#ifndef CASES
#define CASES 20
#endif
#ifndef SEED
#define SEED 0x243f6a8885a308d3ul
#endif

extern void run_insn(u64 a, u64 b, u64 c, u64 unused, u64 *out, u64 frm,
		     u64 sentinel);
extern u32 insn_slot[];
extern volatile u64 trap_save[2];

#define UART ((volatile unsigned char *)0x10000000)

static void putch(char ch)
{
	while ((UART[5] & 0x20) == 0)
		;
	UART[0] = ch;
}

static void puts_(const char *s)
{
	while (*s)
		putch(*s++);
}

static void hex(u64 v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putch("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

/* xoshiro-style generator (splitmix64), fully deterministic. */
static u64 rng_state = SEED;

static u64 rnd(void)
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ul);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ul;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebul;
	return z ^ (z >> 31);
}

static u32 below(u32 n)
{
	return (u32)(rnd() % n);
}

enum { K_NONE, K_S, K_D, K_X };
enum { D_F, D_X };

struct op {
	const char *name;
	u32 enc;	/* encoding with rm field 0 */
	unsigned char a, b, c;	/* operand kinds */
	unsigned char dest;
	unsigned char rm;	/* has a rounding-mode field */
};

#define RD (13u << 7)
#define RS1 (10u << 15)
#define RS2 (11u << 20)
#define RS3 (12u << 27)
#define OPFP(f7, rs2, f3) (((u32)(f7) << 25) | ((u32)(rs2) << 20) | RS1 | \
			   ((u32)(f3) << 12) | RD | 0x53u)
#define R4(opc, fmt) (RS3 | ((u32)(fmt) << 25) | RS2 | RS1 | RD | (opc))

static const struct op ops[] = {
	{ "fadd.s", OPFP(0x00, 11, 0), K_S, K_S, K_NONE, D_F, 1 },
	{ "fsub.s", OPFP(0x04, 11, 0), K_S, K_S, K_NONE, D_F, 1 },
	{ "fmul.s", OPFP(0x08, 11, 0), K_S, K_S, K_NONE, D_F, 1 },
	{ "fdiv.s", OPFP(0x0c, 11, 0), K_S, K_S, K_NONE, D_F, 1 },
	{ "fsqrt.s", OPFP(0x2c, 0, 0), K_S, K_NONE, K_NONE, D_F, 1 },
	{ "fadd.d", OPFP(0x01, 11, 0), K_D, K_D, K_NONE, D_F, 1 },
	{ "fsub.d", OPFP(0x05, 11, 0), K_D, K_D, K_NONE, D_F, 1 },
	{ "fmul.d", OPFP(0x09, 11, 0), K_D, K_D, K_NONE, D_F, 1 },
	{ "fdiv.d", OPFP(0x0d, 11, 0), K_D, K_D, K_NONE, D_F, 1 },
	{ "fsqrt.d", OPFP(0x2d, 0, 0), K_D, K_NONE, K_NONE, D_F, 1 },
	{ "fmadd.s", R4(0x43, 0), K_S, K_S, K_S, D_F, 1 },
	{ "fmsub.s", R4(0x47, 0), K_S, K_S, K_S, D_F, 1 },
	{ "fnmsub.s", R4(0x4b, 0), K_S, K_S, K_S, D_F, 1 },
	{ "fnmadd.s", R4(0x4f, 0), K_S, K_S, K_S, D_F, 1 },
	{ "fmadd.d", R4(0x43, 1), K_D, K_D, K_D, D_F, 1 },
	{ "fmsub.d", R4(0x47, 1), K_D, K_D, K_D, D_F, 1 },
	{ "fnmsub.d", R4(0x4b, 1), K_D, K_D, K_D, D_F, 1 },
	{ "fnmadd.d", R4(0x4f, 1), K_D, K_D, K_D, D_F, 1 },
	{ "fcvt.s.d", OPFP(0x20, 1, 0), K_D, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.d.s", OPFP(0x21, 0, 0), K_S, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.w.s", OPFP(0x60, 0, 0), K_S, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.wu.s", OPFP(0x60, 1, 0), K_S, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.l.s", OPFP(0x60, 2, 0), K_S, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.lu.s", OPFP(0x60, 3, 0), K_S, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.w.d", OPFP(0x61, 0, 0), K_D, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.wu.d", OPFP(0x61, 1, 0), K_D, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.l.d", OPFP(0x61, 2, 0), K_D, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.lu.d", OPFP(0x61, 3, 0), K_D, K_NONE, K_NONE, D_X, 1 },
	{ "fcvt.s.w", OPFP(0x68, 0, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.s.wu", OPFP(0x68, 1, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.s.l", OPFP(0x68, 2, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.s.lu", OPFP(0x68, 3, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.d.w", OPFP(0x69, 0, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.d.wu", OPFP(0x69, 1, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.d.l", OPFP(0x69, 2, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fcvt.d.lu", OPFP(0x69, 3, 0), K_X, K_NONE, K_NONE, D_F, 1 },
	{ "fsgnj.s", OPFP(0x10, 11, 0), K_S, K_S, K_NONE, D_F, 0 },
	{ "fsgnjn.s", OPFP(0x10, 11, 1), K_S, K_S, K_NONE, D_F, 0 },
	{ "fsgnjx.s", OPFP(0x10, 11, 2), K_S, K_S, K_NONE, D_F, 0 },
	{ "fsgnj.d", OPFP(0x11, 11, 0), K_D, K_D, K_NONE, D_F, 0 },
	{ "fsgnjn.d", OPFP(0x11, 11, 1), K_D, K_D, K_NONE, D_F, 0 },
	{ "fsgnjx.d", OPFP(0x11, 11, 2), K_D, K_D, K_NONE, D_F, 0 },
	{ "fmin.s", OPFP(0x14, 11, 0), K_S, K_S, K_NONE, D_F, 0 },
	{ "fmax.s", OPFP(0x14, 11, 1), K_S, K_S, K_NONE, D_F, 0 },
	{ "fmin.d", OPFP(0x15, 11, 0), K_D, K_D, K_NONE, D_F, 0 },
	{ "fmax.d", OPFP(0x15, 11, 1), K_D, K_D, K_NONE, D_F, 0 },
	{ "fle.s", OPFP(0x50, 11, 0), K_S, K_S, K_NONE, D_X, 0 },
	{ "flt.s", OPFP(0x50, 11, 1), K_S, K_S, K_NONE, D_X, 0 },
	{ "feq.s", OPFP(0x50, 11, 2), K_S, K_S, K_NONE, D_X, 0 },
	{ "fle.d", OPFP(0x51, 11, 0), K_D, K_D, K_NONE, D_X, 0 },
	{ "flt.d", OPFP(0x51, 11, 1), K_D, K_D, K_NONE, D_X, 0 },
	{ "feq.d", OPFP(0x51, 11, 2), K_D, K_D, K_NONE, D_X, 0 },
	{ "fmv.x.w", OPFP(0x70, 0, 0), K_S, K_NONE, K_NONE, D_X, 0 },
	{ "fclass.s", OPFP(0x70, 0, 1), K_S, K_NONE, K_NONE, D_X, 0 },
	{ "fmv.x.d", OPFP(0x71, 0, 0), K_D, K_NONE, K_NONE, D_X, 0 },
	{ "fclass.d", OPFP(0x71, 0, 1), K_D, K_NONE, K_NONE, D_X, 0 },
	{ "fmv.w.x", OPFP(0x78, 0, 0), K_X, K_NONE, K_NONE, D_F, 0 },
	{ "fmv.d.x", OPFP(0x79, 0, 0), K_X, K_NONE, K_NONE, D_F, 0 },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* Encodings that must be illegal (reserved fields, other formats). */
static const u32 illegal[] = {
	OPFP(0x2c, 1, 0),	/* fsqrt.s with rs2 != 0 */
	OPFP(0x2d, 3, 0),	/* fsqrt.d with rs2 != 0 */
	OPFP(0x10, 11, 3),	/* fsgnj.s funct3 3 */
	OPFP(0x11, 11, 7),	/* fsgnj.d funct3 7 */
	OPFP(0x14, 11, 2),	/* fmin.s funct3 2 */
	OPFP(0x15, 11, 3),	/* fmax.d funct3 3 */
	OPFP(0x50, 11, 3),	/* fcmp.s funct3 3 */
	OPFP(0x51, 11, 7),	/* fcmp.d funct3 7 */
	OPFP(0x20, 0, 0),	/* fcvt.s.s */
	OPFP(0x20, 2, 0),	/* fcvt.s.h */
	OPFP(0x21, 1, 0),	/* fcvt.d.d */
	OPFP(0x60, 4, 0),	/* fcvt.?.s rs2 4 */
	OPFP(0x61, 8, 0),	/* fcvt.?.d rs2 8 */
	OPFP(0x68, 5, 0),	/* fcvt.s.? rs2 5 */
	OPFP(0x69, 31, 0),	/* fcvt.d.? rs2 31 */
	OPFP(0x70, 0, 2),	/* fmv.x.w funct3 2 */
	OPFP(0x70, 1, 0),	/* fmv.x.w rs2 1 */
	OPFP(0x71, 0, 3),	/* fclass.d funct3 3 */
	OPFP(0x78, 0, 1),	/* fmv.w.x funct3 1 */
	OPFP(0x79, 2, 0),	/* fmv.d.x rs2 2 */
	OPFP(0x02, 11, 0),	/* fadd.h */
	OPFP(0x03, 11, 0),	/* fadd.q */
	OPFP(0x06, 11, 0),	/* fsub.h */
	OPFP(0x0b, 11, 0),	/* fmul.q */
	OPFP(0x2e, 0, 0),	/* fsqrt.h */
	OPFP(0x7e, 0, 0),	/* unknown */
	OPFP(0x24, 11, 0),	/* unknown */
	R4(0x43, 2),		/* fmadd.h */
	R4(0x4f, 3),		/* fnmadd.q */
};

#define NILLEGAL (sizeof(illegal) / sizeof(illegal[0]))

static const u32 s_special[] = {
	0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
	0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0xff800001, 0x7fbfffff,
	0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000,
	0x00800001, 0x7f7fffff, 0xff7fffff, 0x7f7ffffe, 0x3f000000, 0xbf000000,
	0x3fc00000, 0x40200000, 0xc0200000, 0x40600000, 0x3effffff, 0x3f7fffff,
	0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000,
	0x5effffff, 0x5f000000, 0xdf000000, 0xdf000001, 0x5f7fffff, 0x5f800000,
	0x4b7fffff, 0x4b800000, 0x4b800001, 0x34000000, 0x33800000, 0x00400000,
	0x3f800001, 0x40400000, 0x3eaaaaab, 0xbf7fffff, 0x0ff00000, 0x3400000,
};

static const u64 d_special[] = {
	0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000,
	0xbff0000000000000, 0x7ff0000000000000, 0xfff0000000000000,
	0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000000000001,
	0x7ff0000000000001, 0xfff0000000000001, 0x7ff7ffffffffffff,
	0x0000000000000001, 0x8000000000000001, 0x000fffffffffffff,
	0x800fffffffffffff, 0x0010000000000000, 0x8010000000000000,
	0x0010000000000001, 0x7fefffffffffffff, 0xffefffffffffffff,
	0x7feffffffffffffe, 0x3fe0000000000000, 0xbfe0000000000000,
	0x3ff8000000000000, 0x4004000000000000, 0xc004000000000000,
	0x400c000000000000, 0x3fdfffffffffffff, 0x3fefffffffffffff,
	0x41dfffffffc00000, 0x41dfffffffe00000, 0x41e0000000000000,
	0xc1e0000000000000, 0xc1e0000000100000, 0xc1e0000000200000,
	0x41efffffffe00000, 0x41effffffff00000, 0x41f0000000000000,
	0x43dfffffffffffff, 0x43e0000000000000, 0xc3e0000000000000,
	0xc3e0000000000001, 0x43efffffffffffff, 0x43f0000000000000,
	0x433fffffffffffff, 0x4340000000000000, 0x4330000000000001,
	0x47efffffe0000000, 0x47efffff00000000, 0x47f0000000000000,
	0x36a0000000000000, 0x3690000000000000, 0x380fffffe0000000,
	0x3810000000000000, 0x380ffffff0000000, 0x3ca0000000000000,
	0x3ff0000000000001, 0x4008000000000000, 0x3fd5555555555555,
	0x0008000000000000, 0x36a8000000000000, 0x3800000000000000,
};

static const u64 x_special[] = {
	0, 1, 2, 3, 0xffffffffffffffff, 0x7fffffff, 0x80000000,
	0xffffffff80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
	0x8000000000000000, 0x8000000000000001, 0xfffffffffffffffe,
	0x20000000000000, 0x20000000000001, 0x1fffffffffffff, 0x1000001,
	0x1000003, 0xffffff, 0x7fffffc0, 0x7fffffc1, 0x7fffff40, 0x80000040,
	0xfffffffffeffffff, 0x7ffffffffffffc00, 0x7ffffffffffffe00,
	0x7fffffffffffffe0, 0xffffffffffffff80, 0xfffffffffffff800,
	0x12345678deadbeef,
};

#define NS (sizeof(s_special) / sizeof(s_special[0]))
#define ND (sizeof(d_special) / sizeof(d_special[0]))
#define NX_ (sizeof(x_special) / sizeof(x_special[0]))

/* A random mantissa, sometimes with its low bits cleared. */
static u64 mant(int bits)
{
	u64 m = rnd() & ((1ul << bits) - 1);
	switch (below(4)) {
	case 0:
		return m & ~((1ul << below(bits)) - 1);
	case 1:
		return m & ((1ul << below(bits)) - 1);
	default:
		return m;
	}
}

static u32 gen_s_bits(void)
{
	u32 sign = below(2) << 31;
	switch (below(10)) {
	case 0:
	case 1:
		return s_special[below(NS)];
	case 2:
		return (u32)rnd();
	case 3: /* subnormal or near the bottom */
		return sign | (below(6) << 23) | (u32)mant(23);
	case 4: /* near overflow */
		return sign | ((250 + below(5)) << 23) | (u32)mant(23);
	case 5: /* integers and halves in conversion range */
		return sign | ((126 + below(40)) << 23) | (u32)mant(23);
	default: /* ordinary */
		return sign | ((100 + below(56)) << 23) | (u32)mant(23);
	}
}

static u64 gen_d_bits(void)
{
	u64 sign = (u64)below(2) << 63;
	switch (below(10)) {
	case 0:
	case 1:
		return d_special[below(ND)];
	case 2:
		return rnd();
	case 3:
		return sign | ((u64)below(60) << 52) | mant(52);
	case 4:
		return sign | ((u64)(2000 + below(47)) << 52) | mant(52);
	case 5:
		return sign | ((u64)(1022 + below(70)) << 52) | mant(52);
	case 6: /* single-representable values */
		return sign | ((u64)(1023 - 160 + below(320)) << 52) |
		       (mant(23) << 29);
	default:
		return sign | ((u64)(900 + below(246)) << 52) | mant(52);
	}
}

static u64 box(u32 v)
{
	switch (below(40)) {
	case 0:
		return (u64)v; /* not boxed */
	case 1:
		return ((u64)(u32)rnd() << 32) | v;
	case 2:
		return 0xfffffffe00000000ul | v;
	default:
		return 0xffffffff00000000ul | v;
	}
}

static u64 gen_x(void)
{
	switch (below(6)) {
	case 0:
	case 1:
		return x_special[below(NX_)];
	case 2:
		return rnd();
	case 3: {
		u64 v = rnd() >> below(64);
		return below(2) ? -v : v;
	}
	case 4: {
		u64 v = (rnd() >> below(64)) & ~((1ul << below(40)) - 1);
		return below(2) ? -v : v;
	}
	default: {
		u32 v = (u32)rnd() >> below(32);
		return below(2) ? (u64)(long)(int)-v : v;
	}
	}
}

static double as_d(u64 v)
{
	union { u64 u; double d; } x = { .u = v };
	return x.d;
}

static u64 d_bits(double d)
{
	union { u64 u; double d; } x = { .d = d };
	return x.u;
}

static float as_s(u32 v)
{
	union { u32 u; float f; } x = { .u = v };
	return x.f;
}

static u32 s_bits(float f)
{
	union { u32 u; float f; } x = { .f = f };
	return x.u;
}

static u64 gen(int kind)
{
	switch (kind) {
	case K_S:
		return box(gen_s_bits());
	case K_D:
		return gen_d_bits();
	default:
		return gen_x();
	}
}

/* A value related to v (for cancellation, ties and equality). */
static u64 related(int kind, u64 v)
{
	if (kind == K_S) {
		u32 s = (u32)v;
		switch (below(4)) {
		case 0:
			return box(s);
		case 1:
			return box(s ^ 0x80000000u);
		case 2:
			return box(s + below(5) - 2);
		default:
			return box((s ^ (below(2) << 31)) - (below(30) << 23) +
				   (u32)mant(8));
		}
	}
	switch (below(4)) {
	case 0:
		return v;
	case 1:
		return v ^ 0x8000000000000000ul;
	case 2:
		return v + below(5) - 2;
	default:
		return (v ^ ((u64)below(2) << 63)) - ((u64)below(60) << 52) +
		       mant(8);
	}
}

static void gen_case(const struct op *op, u64 *a, u64 *b, u64 *c)
{
	*a = gen(op->a);
	*b = op->b == K_NONE ? 0 : below(3) == 0 ? related(op->b, *a) :
							  gen(op->b);
	*c = 0;
	if (op->c == K_NONE)
		return;
	*c = gen(op->c);
	if (below(3) == 0) {
		/* Addend close to -(a*b): cancellation and exact zeros. */
		if (op->c == K_S) {
			float p = as_s((u32)*a) * as_s((u32)*b);
			u32 pb = s_bits(p) ^ 0x80000000u;
			if (below(2))
				pb += below(5) - 2;
			*c = box(pb);
		} else {
			double p = as_d(*a) * as_d(*b);
			u64 pb = d_bits(p) ^ 0x8000000000000000ul;
			if (below(2))
				pb += below(5) - 2;
			*c = pb;
		}
	}
}

#define SENTINEL 0x5a5a5a5aa5a5a5a5ul

static void run(u32 enc, u64 a, u64 b, u64 c, u64 frm, u64 *out)
{
	insn_slot[0] = enc;
	__asm__ volatile("fence.i" ::: "memory");
	trap_save[1] = 0;
	run_insn(a, b, c, 0, out, frm, SENTINEL);
}

static void operand(int kind, u64 v)
{
	putch(' ');
	if (kind == K_NONE)
		putch('-');
	else
		hex(v, 16);
}

static void report(const char *name, const struct op *op, int rm, int frm,
		   u64 a, u64 b, u64 c, const u64 *out)
{
	puts_(name);
	putch(' ');
	if (rm < 0) {
		putch('-');
	} else {
		putch('0' + rm);
		putch(':');
		putch('0' + frm);
	}
	operand(op->a, a);
	operand(op->b, b);
	operand(op->c, c);
	puts_(" -> ");
	if (trap_save[1] != 0) {
		puts_(trap_save[1] == 2 ? "illegal" : "trap?");
	} else {
		hex(op->dest == D_F ? out[0] : out[1], 16);
		putch(' ');
		hex(out[2], 2);
	}
	putch('\n');
}

/* Special operands for the cross-product phase (last: unboxed / NaN). */
static const u64 s_combo[] = {
	0xffffffff00000000, 0xffffffff80000000, 0xffffffff7f800000,
	0xffffffffff800000, 0xffffffff7fc00000, 0xffffffff7f800001,
	0xffffffff3f800000, 0xffffffffff7fffff, 0xffffffff00000001,
	0x000000003f800000,
};

static const u64 d_combo[] = {
	0x0000000000000000, 0x8000000000000000, 0x7ff0000000000000,
	0xfff0000000000000, 0x7ff8000000000000, 0x7ff0000000000001,
	0x3ff0000000000000, 0xffefffffffffffff, 0x0000000000000001,
	0xfff8000000000001,
};

/* Multiplicands and addends for fused multiply-add. */
static const unsigned fma_ab[] = { 0, 1, 2, 3, 5, 6, 7 };
static const unsigned fma_c[] = { 0, 1, 2, 3, 4, 5, 6, 7 };

#define NCOMBO 10
#define NFMA_AB (sizeof(fma_ab) / sizeof(fma_ab[0]))
#define NFMA_C (sizeof(fma_c) / sizeof(fma_c[0]))

static u64 combo(int kind, unsigned i, int negate)
{
	if (kind == K_S)
		return s_combo[i] ^ (negate ? 0x80000000ul : 0);
	if (kind == K_D)
		return d_combo[i] ^ (negate ? 0x8000000000000000ul : 0);
	return x_special[i];
}

static const int rms[] = { 0, 1, 2, 3, 4, 7 };
static unsigned rm_turn;

static void run_combo(const struct op *op, u64 a, u64 b, u64 c)
{
	u64 out[3];
	int rm = -1, frm = 0;
	if (op->rm) {
		rm = rms[rm_turn % 6];
		frm = rm == 7 ? (int)((rm_turn / 6) % 5) : (int)below(8);
		rm_turn++;
	}
	run(op->enc | (rm < 0 ? 0 : (u32)rm << 12), a, b, c, frm, out);
	report(op->name, op, rm, frm, a, b, c, out);
}

/* Every op on every combination of special operands. */
static void specials(void)
{
	for (unsigned i = 0; i < NOPS; i++) {
		const struct op *op = &ops[i];
		if (op->c != K_NONE) {
			for (unsigned x = 0; x < NFMA_AB; x++)
				for (unsigned y = 0; y < NFMA_AB; y++)
					for (unsigned z = 0; z < NFMA_C; z++)
						run_combo(op,
							  combo(op->a, fma_ab[x], 0),
							  combo(op->b, fma_ab[y], 0),
							  combo(op->c, fma_c[z], z == 6));
		} else if (op->b != K_NONE) {
			for (unsigned x = 0; x < NCOMBO; x++)
				for (unsigned y = 0; y < NCOMBO; y++)
					run_combo(op, combo(op->a, x, 0),
						  combo(op->b, y, 0), 0);
		} else {
			unsigned n = op->a == K_X ? NX_ : NCOMBO;
			for (unsigned x = 0; x < n; x++)
				run_combo(op, combo(op->a, x, 0), 0, 0);
		}
	}
}

int main(void)
{
	u64 out[3];
	u64 a, b, c;

	specials();

	for (unsigned i = 0; i < NOPS; i++) {
		const struct op *op = &ops[i];
		if (!op->rm) {
			for (int n = 0; n < 4 * CASES; n++) {
				gen_case(op, &a, &b, &c);
				run(op->enc, a, b, c, below(8), out);
				report(op->name, op, -1, 0, a, b, c, out);
			}
			continue;
		}
		for (int r = 0; r < 6; r++) {
			int rm = rms[r];
			for (int n = 0; n < CASES; n++) {
				int frm = rm == 7 ? n % 5 : (int)below(8);
				gen_case(op, &a, &b, &c);
				run(op->enc | ((u32)rm << 12), a, b, c, frm, out);
				report(op->name, op, rm, frm, a, b, c, out);
			}
		}
		/* Reserved rounding modes. */
		for (int r = 5; r <= 9; r++) {
			int rm = r <= 6 ? r : 7;
			int frm = r <= 6 ? (int)below(5) : r - 2;
			gen_case(op, &a, &b, &c);
			run(op->enc | ((u32)rm << 12), a, b, c, frm, out);
			report(op->name, op, rm, frm, a, b, c, out);
		}
	}
	for (unsigned i = 0; i < NILLEGAL; i++) {
		static const struct op raw = { "", 0, K_D, K_D, K_D, D_F, 0 };
		gen_case(&raw, &a, &b, &c);
		char name[13] = "raw.";
		for (int d = 0; d < 8; d++)
			name[4 + d] = "0123456789abcdef"[(illegal[i] >> (28 - 4 * d)) & 15];
		name[12] = 0;
		run(illegal[i], a, b, c, 0, out);
		report(name, &raw, -1, 0, a, b, c, out);
	}
	puts_("end\n");
	return 0;
}
