/* Leaf probes: the first instruction may trap; an expected trap resumes at ra. */
        .text
        .option norvc
.macro PROBE name, insn:vararg
        .globl \name
        .balign 4
\name:
        \insn
        ret
.endm

PROBE probe_ld,  ld a0, 0(a0)
PROBE probe_lw,  lw a0, 0(a0)
PROBE probe_lwu, lwu a0, 0(a0)
PROBE probe_lh,  lh a0, 0(a0)
PROBE probe_lhu, lhu a0, 0(a0)
PROBE probe_lb,  lb a0, 0(a0)
PROBE probe_lbu, lbu a0, 0(a0)
PROBE probe_sd,  sd a1, 0(a0)
PROBE probe_sw,  sw a1, 0(a0)
PROBE probe_sh,  sh a1, 0(a0)
PROBE probe_sb,  sb a1, 0(a0)
PROBE probe_jump, jr a0
PROBE probe_lr_w, lr.w a0, (a0)
PROBE probe_lr_d, lr.d a0, (a0)
PROBE probe_sc_w, sc.w a0, a1, (a0)
PROBE probe_sc_d, sc.d a0, a1, (a0)
PROBE probe_amoadd_w, amoadd.w a0, a1, (a0)
PROBE probe_amoadd_d, amoadd.d a0, a1, (a0)
PROBE probe_amoswap_w, amoswap.w a0, a1, (a0)
PROBE probe_amoswap_d, amoswap.d a0, a1, (a0)

        .globl probe_ecall, probe_ecall_insn
        .balign 4
probe_ecall:
        mv      t0, a7
        mv      a7, a1
probe_ecall_insn:
        ecall
        mv      a7, t0
        ret

        .globl probe_ebreak, probe_ebreak_insn
        .balign 4
probe_ebreak:
probe_ebreak_insn:
        ebreak
        ret

        .globl probe_cebreak, probe_cebreak_insn
        .balign 4
probe_cebreak:
probe_cebreak_insn:
        .option rvc
        c.ebreak
        .option norvc
        ret
