/* Assembly helpers for interrupts.c */
        .text
        .option norvc
        .globl do_wfi, do_wfi_next
do_wfi:
        wfi
do_wfi_next:
        ret

        .globl read_stimecmp, write_stimecmp, read_stimecmp_insn
read_stimecmp:
read_stimecmp_insn:
        csrr    a0, 0x14d
        ret
write_stimecmp:
        csrw    0x14d, a0
        ret
