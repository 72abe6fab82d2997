/*
 * Boot code for the fpu_vectors guest: M-mode, bare metal, QEMU virt.
 * Enables the FPU, installs a trap handler that skips illegal instructions,
 * runs main() and powers off through the SiFive test device.
 */
	.file	"start.S"
	.section .text.start, "ax"
	.globl _start
_start:
	csrr	t0, mhartid
	bnez	t0, park
	la	sp, __stack_top
	la	t0, trap_entry
	csrw	mtvec, t0
	li	t0, 0x2000		/* mstatus.FS = Initial */
	csrs	mstatus, t0
	csrwi	fcsr, 0
	call	main
	li	t0, 0x100000
	li	t1, 0x5555
	sw	t1, 0(t0)
park:
	wfi
	j	park

/* Records mcause in trap_save[1] and resumes after the trapping insn. */
	.align	2
trap_entry:
	csrw	mscratch, t0
	la	t0, trap_save
	sd	t1, 0(t0)
	csrr	t1, mcause
	sd	t1, 8(t0)
	csrr	t1, mepc
	addi	t1, t1, 4
	csrw	mepc, t1
	ld	t1, 0(t0)
	csrr	t0, mscratch
	mret

/*
 * run_insn(a, b, c, _, out, frm, sentinel): f10/f11/f12 and x10/x11/x12 hold
 * the operands, f13 and x13 the sentinel; executes the instruction patched
 * into insn_slot with fflags cleared and frm set, then stores f13, x13 and
 * fflags to out[0..2] and clears fcsr.
 */
	.section .tramp, "awx"
	.option norvc
	.align	3
	.globl	run_insn
	.globl	insn_slot
run_insn:
	fmv.d.x	f10, a0
	fmv.d.x	f11, a1
	fmv.d.x	f12, a2
	fmv.d.x	f13, a6
	mv	a3, a6
	csrw	frm, a5
	csrwi	fflags, 0
insn_slot:
	nop
	csrr	t0, fflags
	sd	t0, 16(a4)
	fmv.x.d	t0, f13
	sd	t0, 0(a4)
	sd	a3, 8(a4)
	csrwi	fcsr, 0
	ret

	.bss
	.align	3
	.globl	trap_save
trap_save:
	.zero	16
