/* Assembly for rv64_alu.c: one small function per compressed instruction
 * (explicit c.* mnemonics, so each is guaranteed to be 16 bits), plus
 * control-transfer and self-modifying-code helpers. */
        .text
        .option rvc

.macro FN name
        .globl \name
        .balign 4
\name:
.endm

FN c_li_neg
        c.li    a0, -32
        ret
FN c_li_pos
        c.li    a0, 31
        ret
FN c_lui_pos
        c.lui   a0, 0x1f            /* 0x1f000 */
        ret
FN c_lui_neg
        c.lui   a0, 0xfffe0         /* nzimm = -32 -> 0xfffffffffffe0000 */
        ret
FN c_addi_m1
        c.addi  a0, -1
        ret
FN c_addi_31
        c.addi  a0, 31
        ret
FN c_addiw_1
        c.addiw a0, 1
        ret
FN c_addiw_0
        c.addiw a0, 0               /* sext.w */
        ret
FN c_addi16sp
        mv      a1, sp
        c.addi16sp sp, -496
        sub     a0, a1, sp
        c.addi16sp sp, 496
        ret
FN c_addi4spn
        c.addi4spn a0, sp, 1020
        sub     a0, a0, sp
        ret
FN c_slli_63
        c.slli  a0, 63
        ret
FN c_slli_1
        c.slli  a0, 1
        ret
FN c_srli_63
        c.srli  a0, 63
        ret
FN c_srli_4
        c.srli  a0, 4
        ret
FN c_srai_4
        c.srai  a0, 4
        ret
FN c_srai_63
        c.srai  a0, 63
        ret
FN c_andi_m2
        c.andi  a0, -2
        ret
FN c_andi_15
        c.andi  a0, 15
        ret
FN c_mv
        c.mv    a0, a1
        ret
FN c_add
        c.add   a0, a1
        ret
FN c_sub
        c.sub   a0, a1
        ret
FN c_xor
        c.xor   a0, a1
        ret
FN c_or
        c.or    a0, a1
        ret
FN c_and
        c.and   a0, a1
        ret
FN c_addw
        c.addw  a0, a1
        ret
FN c_subw
        c.subw  a0, a1
        ret
FN c_lw_4                           /* a0 = pointer */
        c.lw    a0, 4(a0)
        ret
FN c_ld_8
        c.ld    a0, 8(a0)
        ret
FN c_sw_4                           /* a0 = pointer, a1 = value */
        c.sw    a1, 4(a0)
        ret
FN c_sd_8
        c.sd    a1, 8(a0)
        ret
FN c_sdsp_ldsp                      /* round trip through the stack */
        addi    sp, sp, -32
        c.sdsp  a0, 16(sp)
        c.ldsp  a1, 16(sp)
        addi    sp, sp, 32
        mv      a0, a1
        ret
FN c_swsp_lwsp                      /* lwsp sign-extends */
        addi    sp, sp, -32
        c.swsp  a0, 8(sp)
        c.lwsp  a1, 8(sp)
        addi    sp, sp, 32
        mv      a0, a1
        ret
FN c_j_test
        li      a0, 0
        c.j     1f
        li      a0, -1
        ret
1:      addi    a0, a0, 1
        ret
FN c_jr_test
        la      t0, 1f
        li      a0, 0
        c.jr    t0
        li      a0, -1
        ret
1:      addi    a0, a0, 2
        ret
FN c_jalr_test                      /* returns link - (address after c.jalr) */
        mv      t1, ra
        la      t0, 2f
        c.jalr  t0
1:      mv      ra, t1
        la      a1, 1b
        sub     a0, a0, a1
        ret
2:      mv      a0, ra
        ret
FN c_beqz_test                      /* a0 = value; 1 if branch taken */
        c.beqz  a0, 1f
        li      a0, 0
        ret
1:      li      a0, 1
        ret
FN c_bnez_test
        c.bnez  a0, 1f
        li      a0, 0
        ret
1:      li      a0, 1
        ret
FN c_nop_test
        li      a0, 7
        c.nop
        c.nop
        ret
FN c_ebreak_len                     /* length of the c.ebreak encoding */
        la      a0, 1f
        lhu     a0, 0(a0)
        ret
1:      c.ebreak

        .option norvc
/* u64 jalr_same_reg(void): jalr t0, 0(t0) uses the old t0 as target and
 * writes the link; returns link - (address after the jalr). */
FN jalr_same_reg
        la      t0, 2f
        jalr    t0, 0(t0)
1:      ret
2:      la      a0, 1b
        sub     a0, t0, a0
        ret

/* u64 x0_test(void): writes to x0 are discarded. */
FN x0_test
        addi    x0, x0, 5
        li      t0, 9
        add     x0, t0, t0
        mv      a0, x0
        ret

/* u64 lui_auipc_test(void): lui sign-extends bit 31; auipc adds pc. */
FN lui_neg
        lui     a0, 0x80000
        ret
FN auipc_test
        auipc   a0, 0x1
1:      la      a1, 1b
        sub     a0, a0, a1
        addi    a0, a0, 4       /* auipc is 4 bytes before label 1 */
        ret

/* u64 call_code(void *p): jump into generated code */
FN call_code
        jr      a0

FN do_fence_i
        fence.i
        ret
