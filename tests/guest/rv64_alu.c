/*
 * rv64_alu: corner cases of RV64IMC: wrap-around, shifts and shift-amount
 * masking, sign extension of the *W forms and of loads, set-less-than,
 * multiply high parts, division by zero and overflow, every compressed
 * instruction (explicit c.* encodings), control transfers, misaligned
 * loads/stores in M-mode (QEMU performs them), and fence.i after
 * self-modifying code.
 */
#include "runtime.h"

#define R(op, a, b) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define I(op, a, imm) ({ u64 _r; __asm__ volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "i"(imm)); _r; })
#define CHK(got, want, ...) test_eq((u64)(got), (u64)(want), __VA_ARGS__)

#define MIN64 0x8000000000000000UL
#define MAX64 0x7fffffffffffffffUL
#define ALL1  0xffffffffffffffffUL

typedef u64 (*f0)(void);
typedef u64 (*f1)(u64);
typedef u64 (*f2)(u64, u64);
#define D0(n) u64 n(void);
#define D1(n) u64 n(u64);
#define D2(n) u64 n(u64, u64);
D0(c_li_neg) D0(c_li_pos) D0(c_lui_pos) D0(c_lui_neg) D1(c_addi_m1) D1(c_addi_31) D1(c_addiw_1)
D1(c_addiw_0) D0(c_addi16sp) D0(c_addi4spn) D1(c_slli_63) D1(c_slli_1) D1(c_srli_63) D1(c_srli_4)
D1(c_srai_4) D1(c_srai_63) D1(c_andi_m2) D1(c_andi_15) D2(c_mv) D2(c_add) D2(c_sub) D2(c_xor)
D2(c_or) D2(c_and) D2(c_addw) D2(c_subw) D1(c_lw_4) D1(c_ld_8) D2(c_sw_4) D2(c_sd_8)
D1(c_sdsp_ldsp) D1(c_swsp_lwsp) D0(c_j_test) D0(c_jr_test) D0(c_jalr_test) D1(c_beqz_test)
D1(c_bnez_test) D0(c_nop_test) D0(c_ebreak_len) D0(jalr_same_reg) D0(x0_test) D0(lui_neg)
D0(auipc_test) D1(call_code) D0(do_fence_i)

static u8 buf[64] ALIGNED(16);
static u32 code_buf[16] ALIGNED(16);

int main(void)
{
    test_begin("rv64_alu");

    /* ---- integer ALU ---- */
    CHK(R("add", MAX64, 1), MIN64, "add wraps INT64_MAX + 1 to INT64_MIN");
    CHK(R("sub", MIN64, 1), MAX64, "sub wraps INT64_MIN - 1 to INT64_MAX");
    CHK(R("addw", 0x7fffffff, 1), 0xffffffff80000000UL, "addw sign-extends the 32-bit overflow");
    CHK(R("addw", 0x1234567800000000UL, 0x100000005UL), 5, "addw ignores the upper halves");
    CHK(R("subw", 0, 1), ALL1, "subw 0 - 1 = -1 (sign-extended)");
    CHK(I("addiw", 0x7fffffffUL, 1), 0xffffffff80000000UL, "addiw overflow sign-extends");
    CHK(I("addiw", 0xfffffffffUL, 0), ALL1, "addiw rd, rs, 0 is sext.w");
    CHK(R("sll", 1, 64), 1, "sll uses shamt[5:0] (64 -> 0)");
    CHK(R("sll", 1, 63), MIN64, "sll by 63");
    CHK(R("srl", MIN64, 63), 1, "srl is logical");
    CHK(R("sra", MIN64, 63), ALL1, "sra is arithmetic");
    CHK(R("sra", MIN64, 0x7f), ALL1, "sra masks shamt to 6 bits (0x7f -> 63)");
    CHK(I("srai", 0xf000000000000000UL, 4), 0xff00000000000000UL, "srai keeps the sign");
    CHK(I("slli", 0xffUL, 56), 0xff00000000000000UL, "slli by 56");
    CHK(R("sllw", 1, 31), 0xffffffff80000000UL, "sllw into bit 31 sign-extends");
    CHK(R("sllw", 1, 33), 2, "sllw uses shamt[4:0] (33 -> 1)");
    CHK(R("srlw", 0xffffffff80000000UL, 0), 0xffffffff80000000UL, "srlw by 0 sign-extends bit 31");
    CHK(R("srlw", 0xffffffff80000000UL, 1), 0x40000000, "srlw shifts in zeros at bit 31");
    CHK(R("sraw", 0x0000000080000000UL, 4), 0xfffffffff8000000UL, "sraw uses bit 31 as the sign");
    CHK(I("sraiw", 0x12345678f0000000UL, 28), ALL1, "sraiw ignores the upper half");
    CHK(I("srliw", 0xfffffffff0000000UL, 28), 0xf, "srliw");
    CHK(R("slt", ALL1, 0), 1, "slt -1 < 0");
    CHK(R("sltu", ALL1, 0), 0, "sltu 0xff..ff > 0");
    CHK(I("slti", MIN64, -1), 1, "slti INT64_MIN < -1");
    CHK(I("sltiu", 0xfffffffffffffffeUL, -1), 1, "sltiu compares with the sign-extended immediate");
    CHK(I("sltiu", 0, 1), 1, "sltiu rd, rs, 1 is seqz");
    CHK(I("xori", 0x5a, -1), ~0x5aUL, "xori -1 is not");
    CHK(I("andi", ALL1, -2048), 0xfffffffffffff800UL, "andi sign-extends its immediate");
    CHK(lui_neg(), 0xffffffff80000000UL, "lui 0x80000 sign-extends bit 31");
    CHK(auipc_test(), 0x1000, "auipc adds (imm << 12) to its own pc");
    CHK(x0_test(), 0, "writes to x0 are discarded");
    CHK(jalr_same_reg(), 0, "jalr t0, 0(t0) jumps to the old t0 and links the next pc");

    /* ---- multiply ---- */
    CHK(R("mul", ALL1, ALL1), 1, "mul -1 * -1");
    CHK(R("mul", 0x0123456789abcdefUL, 0xfedcba9876543210UL), 0x2236d88fe5618cf0UL, "mul low 64 bits");
    CHK(R("mulh", ALL1, ALL1), 0, "mulh -1 * -1 = 0");
    CHK(R("mulhu", ALL1, ALL1), 0xfffffffffffffffeUL, "mulhu max * max");
    CHK(R("mulhsu", ALL1, ALL1), ALL1, "mulhsu -1 * (2^64-1)");
    CHK(R("mulh", MIN64, MIN64), 0x4000000000000000UL, "mulh INT64_MIN^2");
    CHK(R("mulhsu", MIN64, MIN64), 0xc000000000000000UL, "mulhsu INT64_MIN * 2^63");
    CHK(R("mulhu", MIN64, ALL1), 0x7fffffffffffffffUL, "mulhu 2^63 * (2^64-1)");
    CHK(R("mulhsu", MIN64, ALL1), 0x8000000000000000UL, "mulhsu INT64_MIN * (2^64-1)");
    CHK(R("mulh", 0x0123456789abcdefUL, 0xfedcba9876543210UL), 0xfffeb49923cc0953UL, "mulh mixed signs");
    CHK(R("mulhu", 0x0123456789abcdefUL, 0xfedcba9876543210UL), 0x0121fa00ad77d742UL, "mulhu");
    CHK(R("mulhsu", 0x0123456789abcdefUL, 0xfedcba9876543210UL), 0x0121fa00ad77d742UL, "mulhsu positive rs1");
    CHK(R("mulh", ALL1, 2), ALL1, "mulh -1 * 2 = -1 (high)");
    CHK(R("mulw", 0x7fffffff, 2), 0xfffffffffffffffeUL, "mulw sign-extends the low 32 bits");
    CHK(R("mulw", 0xffffffff12345678UL, 0x9abcdef1), 0x366176f8, "mulw ignores the upper halves");

    /* ---- divide ---- */
    CHK(R("div", 1234, 0), ALL1, "div by zero = -1");
    CHK(R("divu", 1234, 0), ALL1, "divu by zero = 2^64-1");
    CHK(R("rem", (u64)-1234, 0), (u64)-1234, "rem by zero = dividend");
    CHK(R("remu", 1234, 0), 1234, "remu by zero = dividend");
    CHK(R("div", MIN64, ALL1), MIN64, "div INT64_MIN / -1 = INT64_MIN");
    CHK(R("rem", MIN64, ALL1), 0, "rem INT64_MIN % -1 = 0");
    CHK(R("div", (u64)-7, 2), (u64)-3, "div rounds toward zero");
    CHK(R("rem", (u64)-7, 2), (u64)-1, "rem takes the dividend's sign");
    CHK(R("rem", 7, (u64)-2), 1, "rem with a negative divisor");
    CHK(R("divu", ALL1, 3), 0x5555555555555555UL, "divu");
    CHK(R("divw", 0x80000000UL, ALL1), 0xffffffff80000000UL, "divw INT32_MIN / -1 = INT32_MIN");
    CHK(R("remw", 0x80000000UL, ALL1), 0, "remw INT32_MIN % -1 = 0");
    CHK(R("divw", 5, 0), ALL1, "divw by zero = -1");
    CHK(R("divuw", 5, 0), ALL1, "divuw by zero = sext(0xffffffff)");
    CHK(R("remw", 0xfffffff9UL, 0), ALL1 - 6, "remw by zero = sext(dividend)");
    CHK(R("remuw", 0x80000005UL, 0), 0xffffffff80000005UL, "remuw by zero = sext(dividend[31:0])");
    CHK(R("divuw", 0x100000010UL, 4), 4, "divuw ignores the upper halves");
    CHK(R("divw", 0xfffffff9UL, 2), ALL1 - 2, "divw -7 / 2 = -3");
    CHK(R("remuw", 0xfffffff9UL, 16), 9, "remuw");

    /* ---- compressed instructions ---- */
    CHK(c_li_neg(), (u64)-32, "c.li -32");
    CHK(c_li_pos(), 31, "c.li 31");
    CHK(c_lui_pos(), 0x1f000, "c.lui 0x1f");
    CHK(c_lui_neg(), 0xfffffffffffe0000UL, "c.lui with negative nzimm");
    CHK(c_addi_m1(0), ALL1, "c.addi -1");
    CHK(c_addi_31(MAX64), MIN64 + 30, "c.addi 31 wraps");
    CHK(c_addiw_1(0x7fffffff), 0xffffffff80000000UL, "c.addiw sign-extends");
    CHK(c_addiw_0(0x1234567880000000UL), 0xffffffff80000000UL, "c.addiw 0 (sext.w)");
    CHK(c_addi16sp(), 496, "c.addi16sp -496 / +496");
    CHK(c_addi4spn(), 1020, "c.addi4spn 1020");
    CHK(c_slli_63(1), MIN64, "c.slli 63");
    CHK(c_slli_1(MIN64 | 1), 2, "c.slli 1 drops bit 63");
    CHK(c_srli_63(MIN64), 1, "c.srli 63");
    CHK(c_srli_4(ALL1), 0x0fffffffffffffffUL, "c.srli 4");
    CHK(c_srai_4(MIN64), 0xf800000000000000UL, "c.srai 4");
    CHK(c_srai_63(0x4000000000000000UL), 0, "c.srai 63 of a positive value");
    CHK(c_andi_m2(ALL1), ALL1 - 1, "c.andi -2");
    CHK(c_andi_15(0x1234), 4, "c.andi 15");
    CHK(c_mv(1, 0xabcdef), 0xabcdef, "c.mv");
    CHK(c_add(MAX64, 1), MIN64, "c.add wraps");
    CHK(c_sub(0, 1), ALL1, "c.sub");
    CHK(c_xor(0xff00, 0x0ff0), 0xf0f0, "c.xor");
    CHK(c_or(0xff00, 0x0ff0), 0xfff0, "c.or");
    CHK(c_and(0xff00, 0x0ff0), 0x0f00, "c.and");
    CHK(c_addw(0x7fffffff, 1), 0xffffffff80000000UL, "c.addw sign-extends");
    CHK(c_subw(0x100000000UL, 1), ALL1, "c.subw uses the low halves");
    {
        u64 *w = (u64 *)buf;
        w[0] = 0x80000000ffffffffUL;
        w[1] = 0x1122334455667788UL;
        CHK(c_lw_4((u64)buf), 0xffffffff80000000UL, "c.lw sign-extends");
        CHK(c_ld_8((u64)buf), 0x1122334455667788UL, "c.ld");
        c_sw_4((u64)buf, 0xdeadbeef12345678UL);
        CHK(w[0], 0x12345678ffffffffUL, "c.sw stores 32 bits");
        c_sd_8((u64)buf, 0xdeadbeef12345678UL);
        CHK(w[1], 0xdeadbeef12345678UL, "c.sd stores 64 bits");
    }
    CHK(c_sdsp_ldsp(0x0123456789abcdefUL), 0x0123456789abcdefUL, "c.sdsp / c.ldsp round trip");
    CHK(c_swsp_lwsp(0x89abcdefUL), 0xffffffff89abcdefUL, "c.swsp / c.lwsp sign-extends");
    CHK(c_j_test(), 1, "c.j skips forward");
    CHK(c_jr_test(), 2, "c.jr");
    CHK(c_jalr_test(), 0, "c.jalr links pc + 2");
    CHK(c_beqz_test(0) * 2 + c_beqz_test(5), 2, "c.beqz taken on 0 only");
    CHK(c_bnez_test(0) * 2 + c_bnez_test(5), 1, "c.bnez taken on non-zero only");
    CHK(c_nop_test(), 7, "c.nop");
    CHK(c_ebreak_len(), 0x9002, "c.ebreak encodes as 0x9002");

    /* ---- loads: sign and zero extension ---- */
    {
        u64 *w = (u64 *)buf;
        w[0] = 0x8081828384858687UL;
        CHK(probe_lb((u64)buf), 0xffffffffffffff87UL, "lb sign-extends");
        CHK(probe_lbu((u64)buf), 0x87, "lbu zero-extends");
        CHK(probe_lh((u64)buf), 0xffffffffffff8687UL, "lh sign-extends");
        CHK(probe_lhu((u64)buf), 0x8687, "lhu zero-extends");
        CHK(probe_lw((u64)buf + 4), 0xffffffff80818283UL, "lw sign-extends");
        CHK(probe_lwu((u64)buf + 4), 0x80818283UL, "lwu zero-extends");
    }

    /* ---- misaligned accesses in M-mode (performed, not trapped, on QEMU) ---- */
    {
        for (int i = 0; i < 32; i++)
            buf[i] = (u8)(0x10 + i);
        u64 want_d = 0, want_w = 0, want_h = 0;
        for (int i = 7; i >= 0; i--)
            want_d = (want_d << 8) | (u8)(0x10 + 3 + i);
        for (int i = 3; i >= 0; i--)
            want_w = (want_w << 8) | (u8)(0x10 + 1 + i);
        want_h = (u8)(0x10 + 5) | ((u64)(u8)(0x10 + 6) << 8);
        expect_trap();
        u64 d = probe_ld((u64)buf + 3);
        u64 wv = probe_lw((u64)buf + 1);
        u64 h = probe_lhu((u64)buf + 5);
        int trapped = trap_taken();
        trap_expected = 0;
        test_ok(!trapped && d == want_d && wv == want_w && h == want_h,
                "misaligned ld/lw/lhu in M read the right bytes");
        expect_trap();
        probe_sd((u64)buf + 9, 0x0807060504030201UL);
        probe_sw((u64)buf + 18, 0xd4d3d2d1);
        probe_sh((u64)buf + 23, 0xe2e1);
        trapped = trap_taken();
        trap_expected = 0;
        int good = !trapped;
        for (int i = 0; i < 8; i++)
            good = good && buf[9 + i] == i + 1;
        for (int i = 0; i < 4; i++)
            good = good && buf[18 + i] == 0xd1 + i;
        good = good && buf[23] == 0xe1 && buf[24] == 0xe2 && buf[8] == 0x18 && buf[17] == 0x21 &&
               buf[22] == 0x26 && buf[25] == 0x29;
        test_ok(good, "misaligned sd/sw/sh in M write the right bytes only");
        expect_trap();
        u64 cl = c_ld_8((u64)buf + 1);      /* reads buf[9..16] */
        trapped = trap_taken();
        trap_expected = 0;
        test_ok(!trapped && cl == 0x0807060504030201UL, "misaligned c.ld in M");
    }

    /* ---- self-modifying code ---- */
    {
        code_buf[0] = 0x00100513;   /* li a0, 1 */
        code_buf[1] = 0x00008067;   /* ret */
        do_fence_i();
        u64 r1 = call_code((u64)code_buf);
        code_buf[0] = 0x00200513;   /* li a0, 2 */
        do_fence_i();
        u64 r2 = call_code((u64)code_buf);
        test_ok(r1 == 1 && r2 == 2, "fence.i makes rewritten code visible");
    }
    return test_end();
}
