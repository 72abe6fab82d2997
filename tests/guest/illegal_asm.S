/* Illegal (or privileged) encodings for illegal.c, each a leaf probe. */
        .text
        .option norvc

.macro ILL name
        .globl \name
        .balign 4
\name:
.endm

ILL ill_c_zero
        .2byte  0x0000          /* all-zero 16-bit instruction */
        ret
ILL ill_c_addi4spn0
        .2byte  0x0004          /* c.addi4spn a1', sp, 0 (nzuimm = 0: reserved) */
        ret
ILL ill_c_lui0
        .2byte  0x6501          /* c.lui a0, 0 (reserved) */
        ret
ILL ill_c_addi16sp0
        .2byte  0x6101          /* c.addi16sp sp, 0 (reserved) */
        ret
ILL ill_c_lwsp0
        .2byte  0x4002          /* c.lwsp x0, 0(sp) (reserved) */
        ret
ILL ill_c_ldsp0
        .2byte  0x6002          /* c.ldsp x0, 0(sp) (reserved) */
        ret
ILL ill_c_jr0
        .2byte  0x8002          /* c.jr x0 (reserved) */
        ret
ILL ill_opcode
        .word   0x0000006b      /* reserved major opcode */
        ret
ILL ill_op_funct7
        .word   0x04000033      /* OP with funct7 = 0000010 */
        ret
ILL ill_fadd_fs_off
        .word   0x00000053      /* fadd.s f0, f0, f0 with mstatus.FS = Off */
        ret
ILL ill_csrw_mvendorid
        csrw    mvendorid, a0   /* read-only CSR (address bits 11:10 = 11) */
        ret
ILL ill_csrs_mhartid
        li      t0, 1
        .globl ill_csrs_mhartid_insn
ill_csrs_mhartid_insn:
        csrs    mhartid, t0     /* a set with rs1 != x0 is a write */
        ret
ILL ok_csrs_mhartid_x0
        csrs    mhartid, x0     /* rs1 = x0: no write, legal */
        ret
ILL ill_csr_unknown
        csrr    a0, 0x7c0       /* unimplemented custom CSR */
        ret
ILL ill_csrr_mstatus
        csrr    a0, mstatus
        ret
ILL ill_csrw_mscratch
        csrw    mscratch, a0
        ret
ILL ill_mret
        mret
        ret
ILL ill_sret
        sret
        ret
ILL ill_wfi
        wfi
        ret
ILL ill_csrr_satp
        csrr    a0, satp
        ret
ILL ill_sfence
        sfence.vma
        ret
ILL ill_csrr_sstatus
        csrr    a0, sstatus
        ret
ILL ill_csrw_cycle
        csrw    cycle, a0
        ret
