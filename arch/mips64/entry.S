/* SPDX-License-Identifier: MIT */
/*
 * MIPS64 n64 host-side entry code: switching to the host stack at
 * dune_enter(), continuing natively, host threads for clone, the template
 * the host loop forwards syscalls from, and the program's signal return.
 * Function pointers come as arguments, so nothing here needs the GOT.
 */
#include <asm/unistd.h>

/* struct mips_entry_ctx and struct mips_native (mips.h, checked in exit.c) */
#define CTX_S		0
#define CTX_GP		64
#define CTX_SP		72
#define CTX_FP		80
#define CTX_RA		88
#define CTX_FPR		96
#define CTX_WR_HI	352
#define CTX_FCSR	608
#define CTX_MSACSR	612
#define CTX_MSA		616
#define CTX_TLS		624
#define NAT_REGS	0
#define NAT_HI		256
#define NAT_LO		264
#define NAT_PC		272
#define NAT_FPR		280
#define NAT_WR_HI	536
#define NAT_FCSR	792
#define NAT_MSACSR	796
#define NAT_MSA		800
#define NAT_TLS		808

#define FPR(op, n, base, off)	op	$f##n, (off + 8 * n)(base)
#define FPRS(op, base, off)						\
	FPR(op, 0, base, off); FPR(op, 1, base, off); FPR(op, 2, base, off);	\
	FPR(op, 3, base, off); FPR(op, 4, base, off); FPR(op, 5, base, off);	\
	FPR(op, 6, base, off); FPR(op, 7, base, off); FPR(op, 8, base, off);	\
	FPR(op, 9, base, off); FPR(op, 10, base, off); FPR(op, 11, base, off);	\
	FPR(op, 12, base, off); FPR(op, 13, base, off); FPR(op, 14, base, off);	\
	FPR(op, 15, base, off); FPR(op, 16, base, off); FPR(op, 17, base, off);	\
	FPR(op, 18, base, off); FPR(op, 19, base, off); FPR(op, 20, base, off);	\
	FPR(op, 21, base, off); FPR(op, 22, base, off); FPR(op, 23, base, off);	\
	FPR(op, 24, base, off); FPR(op, 25, base, off); FPR(op, 26, base, off);	\
	FPR(op, 27, base, off); FPR(op, 28, base, off); FPR(op, 29, base, off);	\
	FPR(op, 30, base, off); FPR(op, 31, base, off)

/*
 * MSA: what follows up to label 1 runs if the word at off(base) says the
 * state has MSA; the high half of $wN from or to (off + 8 * n)(base),
 * through $12.
 */
#define IF_MSA(base, off)	lw $12, off(base); beqz $12, 1f; nop;	\
				.set push; .set mips64r5; .set fp=64; .set msa
#define END_MSA			.set pop; 1:
#define SAVE_HI(n, base, off)	copy_s.d $12, $w##n[1]; sd $12, (off + 8 * n)(base)
#define LOAD_HI(n, base, off)	ld $12, (off + 8 * n)(base); insert.d $w##n[1], $12
#define WRS_HI(op, base, off)						\
	op(0, base, off); op(1, base, off); op(2, base, off); op(3, base, off);	\
	op(4, base, off); op(5, base, off); op(6, base, off); op(7, base, off);	\
	op(8, base, off); op(9, base, off); op(10, base, off); op(11, base, off); \
	op(12, base, off); op(13, base, off); op(14, base, off); op(15, base, off); \
	op(16, base, off); op(17, base, off); op(18, base, off); op(19, base, off); \
	op(20, base, off); op(21, base, off); op(22, base, off); op(23, base, off); \
	op(24, base, off); op(25, base, off); op(26, base, off); op(27, base, off); \
	op(28, base, off); op(29, base, off); op(30, base, off); op(31, base, off)

#define GPR(n)	ld	$##n, (NAT_REGS + 8 * n)($1)

	.set	noreorder
	.set	noat
	.set	mips64r2
	.text

/*
 * int mips_enter(ctx, vcpu, host_stack_top, fn): note the caller's
 * callee-saved registers, FPU state and TLS for the guest, then run
 * fn(vcpu) on the host stack; the guest returns 0 from here (arch_vcpu_start).
 */
	.globl	mips_enter
	.hidden	mips_enter
	.type	mips_enter, @function
mips_enter:
	sd	$16, CTX_S + 0($4)
	sd	$17, CTX_S + 8($4)
	sd	$18, CTX_S + 16($4)
	sd	$19, CTX_S + 24($4)
	sd	$20, CTX_S + 32($4)
	sd	$21, CTX_S + 40($4)
	sd	$22, CTX_S + 48($4)
	sd	$23, CTX_S + 56($4)
	sd	$28, CTX_GP($4)
	sd	$29, CTX_SP($4)
	sd	$30, CTX_FP($4)
	sd	$31, CTX_RA($4)
	FPRS(sdc1, $4, CTX_FPR)
	cfc1	$12, $31
	sw	$12, CTX_FCSR($4)
	IF_MSA($4, CTX_MSA)
	WRS_HI(SAVE_HI, $4, CTX_WR_HI)
	cfcmsa	$12, $1			/* MSACSR */
	sw	$12, CTX_MSACSR($4)
	END_MSA
	rdhwr	$12, $29
	sd	$12, CTX_TLS($4)
	move	$29, $6
	move	$25, $7
	jalr	$25
	move	$4, $5
	break
	.size	mips_enter, . - mips_enter

/* void arch_call_on_stack(top, fn, vcpu) */
	.globl	arch_call_on_stack
	.hidden	arch_call_on_stack
	.type	arch_call_on_stack, @function
arch_call_on_stack:
	move	$29, $4
	move	$25, $5
	jalr	$25
	move	$4, $6
	break
	.size	arch_call_on_stack, . - arch_call_on_stack

/*
 * void mips_resume_native(struct mips_native *n): TLS, FPU, then every
 * register but at ($1), which carries the pc (the kernel's syscall ABI
 * lets it be clobbered, as glibc's syscall clobbers say).
 */
	.globl	mips_resume_native
	.hidden	mips_resume_native
	.type	mips_resume_native, @function
mips_resume_native:
	move	$1, $4
	ld	$4, NAT_TLS($1)
	li	$2, __NR_set_thread_area
	syscall
	FPRS(ldc1, $1, NAT_FPR)
	lw	$2, NAT_FCSR($1)
	ctc1	$2, $31
	IF_MSA($1, NAT_MSA)		/* after ldc1, which leaves the high halves UNPREDICTABLE */
	WRS_HI(LOAD_HI, $1, NAT_WR_HI)
	lw	$12, NAT_MSACSR($1)
	ctcmsa	$1, $12			/* MSACSR */
	END_MSA
	ld	$2, NAT_HI($1)
	mthi	$2
	ld	$2, NAT_LO($1)
	mtlo	$2
	GPR(2); GPR(3); GPR(4); GPR(5); GPR(6); GPR(7); GPR(8); GPR(9)
	GPR(10); GPR(11); GPR(12); GPR(13); GPR(14); GPR(15); GPR(16)
	GPR(17); GPR(18); GPR(19); GPR(20); GPR(21); GPR(22); GPR(23)
	GPR(24); GPR(25); GPR(28); GPR(29); GPR(30); GPR(31)
	ld	$1, NAT_PC($1)
	jr	$1
	nop
	.size	mips_resume_native, . - mips_resume_native

/*
 * long mips_clone_thread(flags, stack, ptid, tls, ctid): clone(2) in n64's
 * order; the child pops its vCPU and function from the new stack and runs
 * fn(vcpu) there.  -errno or the child's tid.
 */
	.globl	mips_clone_thread
	.hidden	mips_clone_thread
	.type	mips_clone_thread, @function
mips_clone_thread:
	li	$2, __NR_clone
	syscall
	bnez	$7, 1f
	nop
	beqz	$2, 2f
	nop
	jr	$31
	nop
1:	jr	$31
	dsubu	$2, $0, $2
2:	ld	$4, 0($29)
	ld	$25, 8($29)
	jalr	$25
	nop
	break
	.size	mips_clone_thread, . - mips_clone_thread

/* void mips_exit_thread(int *busy, long status): no stack after *busy is released. */
	.globl	mips_exit_thread
	.hidden	mips_exit_thread
	.type	mips_exit_thread, @function
mips_exit_thread:
	beqz	$4, 1f
	nop
	sync
	sw	$0, 0($4)
	sync
1:	move	$4, $5
	li	$2, __NR_exit
	syscall
	break
	.size	mips_exit_thread, . - mips_exit_thread

/*
 * long arch_forward_syscall(long nr, long a0, ..., long a5, const void *insn,
 * int *call): the system call from the instruction at insn (the template's
 * copy on DUNE_FORWARD_PAGE), -errno on failure, unless *call is
 * DUNE_CALL_SIGNALLED (2): then -DUNE_ERESTARTNOINTR (-513).  *call is
 * DUNE_CALL_IDLE (0) once the kernel returned.  A host signal from the
 * check to the syscall instruction itself makes the call return as if it
 * had been SIGNALLED (arch_forward_cancel): $16 (s0) holds call from before
 * the check until the return.  n64: nr..a5 and insn in $4-$11, call on the
 * stack.
 */
	.globl	arch_forward_syscall, mips_forward_check, mips_forward_call
	.globl	mips_forward_made, mips_forward_cancelled
	.hidden	arch_forward_syscall, mips_forward_check, mips_forward_call
	.hidden	mips_forward_made, mips_forward_cancelled
	.type	arch_forward_syscall, @function
arch_forward_syscall:
	daddiu	$29, $29, -16
	sd	$31, 8($29)
	sd	$16, 0($29)
	ld	$16, 16($29)
	move	$25, $11
	move	$2, $4
	move	$4, $5
	move	$5, $6
	move	$6, $7
	move	$7, $8
	move	$8, $9
	move	$9, $10
mips_forward_check:
	lw	$12, 0($16)
	li	$13, 2
	beq	$12, $13, mips_forward_cancelled
	nop
mips_forward_call:
	jalr	$25
	nop
mips_forward_made:
	sw	$0, 0($16)
	beqz	$7, 1f
	nop
	b	1f
	dsubu	$2, $0, $2
mips_forward_cancelled:
	li	$2, -513
1:	ld	$16, 0($29)
	ld	$31, 8($29)
	jr	$31
	daddiu	$29, $29, 16
	.size	arch_forward_syscall, . - arch_forward_syscall

/* Copied to DUNE_FORWARD_PAGE; arch_forward_syscall() calls it with jalr. */
	.globl	arch_forward_template, arch_forward_template_size
	.hidden	arch_forward_template, arch_forward_template_size
	.balign	8
arch_forward_template:
	syscall
	jr	$31
	nop
arch_forward_template_end:

/* Where a handler that ran in the guest returns: rt_sigreturn(2) with the frame at sp. */
	.globl	mips_sigreturn_code
	.hidden	mips_sigreturn_code
	.type	mips_sigreturn_code, @function
mips_sigreturn_code:
	li	$2, __NR_rt_sigreturn
	syscall
	break
	.size	mips_sigreturn_code, . - mips_sigreturn_code

	.section .rodata
	.balign	8
arch_forward_template_size:
	.dword	arch_forward_template_end - arch_forward_template
