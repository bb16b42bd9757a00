/* SPDX-License-Identifier: MIT */
/* LoongArch64 entry into the guest, native resume, threads and raw system calls. */
#include <asm/unistd.h>

	.text

/* A function of the library: global, hidden outside it. */
.macro	FUNC name
	.globl	\name
	.hidden	\name
	.type	\name, @function
.endm

/* struct la_entry_ctx and struct la_native_frame (la.h) */
#define CTX_S		32
#define CTX_FPR		104
#define CTX_FCC		360
#define CTX_FCSR	368
#define NF_FPR		256
#define NF_FCC		512
#define NF_FCSR		520

/*
 * int la_enter(struct la_entry_ctx *ctx, struct dune_vcpu *vcpu, void *top)
 * Save what the caller expects preserved (and the FPU state, whose f24-f31
 * are callee-saved), then run dune_host_start(vcpu) on the host stack.  The
 * guest resumes at our return address with a0 = 0.
 */
	FUNC	la_enter
la_enter:
	st.d	$ra, $a0, 0
	st.d	$tp, $a0, 8
	st.d	$sp, $a0, 16
	st.d	$fp, $a0, 24
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8
	st.d	$s\n, $a0, CTX_S + 8 * \n
	.endr
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	fst.d	$f\n, $a0, CTX_FPR + 8 * \n
	.endr
	move	$t1, $zero
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7
	movcf2gr $t0, $fcc\n
	bstrins.d $t1, $t0, 8 * \n + 7, 8 * \n
	.endr
	st.d	$t1, $a0, CTX_FCC
	movfcsr2gr $t0, $fcsr0
	st.d	$t0, $a0, CTX_FCSR
	move	$sp, $a2
	move	$a0, $a1
	bl	dune_host_start
	break	0
	.size	la_enter, .-la_enter

/* void arch_call_on_stack(void *top, void (*fn)(struct dune_vcpu *), vcpu) */
	FUNC	arch_call_on_stack
arch_call_on_stack:
	move	$sp, $a0
	move	$a0, $a2
	jirl	$ra, $a1, 0
	break	0
	.size	arch_call_on_stack, .-arch_call_on_stack

/*
 * void la_resume_native(struct la_native_frame *f)
 * Load the FPU state and every GPR, and jump to f->regs[0].  The jump needs
 * one register: $r21, which the ABI reserves (compilers never allocate it).
 */
	FUNC	la_resume_native
la_resume_native:
	ld.d	$t0, $a0, NF_FCSR
	movgr2fcsr $fcsr0, $t0
	ld.d	$t0, $a0, NF_FCC
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7
	movgr2cf $fcc\n, $t0
	srli.d	$t0, $t0, 8
	.endr
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	fld.d	$f\n, $a0, NF_FPR + 8 * \n
	.endr
	ld.d	$r21, $a0, 0
	.irp	n, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ld.d	$r\n, $a0, 8 * \n
	.endr
	ld.d	$a0, $a0, 8 * 4
	jr	$r21
	.size	la_resume_native, .-la_resume_native

/*
 * long la_clone_thread(flags, void **stack, ptid, ctid, tls, struct dune_vcpu *vcpu)
 * clone(2) (flags, stack, parent_tid, child_tid, tls); the child starts on
 * the host stack, whose top word we make its vCPU, and runs
 * dune_thread_main(vcpu) there.
 */
	FUNC	la_clone_thread
la_clone_thread:
	st.d	$a5, $a1, 0
	li.w	$a7, __NR_clone
	syscall	0
	bnez	$a0, 1f
	ld.d	$a0, $sp, 0
	bl	dune_thread_main
	break	0
1:	jr	$ra
	.size	la_clone_thread, .-la_clone_thread

/*
 * void arch_exit_thread(int *busy, long status)
 * Free the vCPU (and so this host stack) and exit without touching the stack
 * again: the next thread may already be starting on it.
 */
	FUNC	arch_exit_thread
arch_exit_thread:
	beqz	$a0, 1f
	st.w	$zero, $a0, 0
1:	move	$a0, $a1
	li.w	$a7, __NR_exit
	syscall	0
	break	0
	.size	arch_exit_thread, .-arch_exit_thread

/* The C arguments nr, a0..a5 in the syscall's registers. */
.macro	SYSCALL_ARGS
	move	$a7, $a0
	move	$a0, $a1
	move	$a1, $a2
	move	$a2, $a3
	move	$a3, $a4
	move	$a4, $a5
	move	$a5, $a6
.endm

/*
 * long arch_raw_syscall(long nr, long a0, ..., long a5): a system call from
 * arch_forward_template, which returns to our caller.  -errno on failure.
 * The kernel may clobber t0-t8, never ra.
 */
	FUNC	arch_raw_syscall
arch_raw_syscall:
	SYSCALL_ARGS
	b	arch_forward_template
	.size	arch_raw_syscall, .-arch_raw_syscall

/*
 * long arch_forward_syscall(long nr, long a0, ..., long a5, const void *insn,
 * int *call): the same from the instruction at insn (the template's copy on
 * DUNE_FORWARD_PAGE), unless *call is DUNE_CALL_SIGNALLED (2): then
 * -DUNE_ERESTARTNOINTR (-513).  *call is DUNE_CALL_IDLE (0) once the kernel
 * returned.  A host signal from the check to the syscall instruction itself
 * makes the call return as if it had been SIGNALLED (arch_forward_cancel):
 * s0 holds call from before the check until the return.
 */
	FUNC	arch_forward_syscall
arch_forward_syscall:
	addi.d	$sp, $sp, -16
	st.d	$ra, $sp, 8
	st.d	$s0, $sp, 0
	ld.d	$s0, $sp, 16
	move	$t0, $a7
	SYSCALL_ARGS
	FUNC	la_forward_check
la_forward_check:
	ld.w	$t1, $s0, 0
	addi.w	$t2, $zero, 2
	beq	$t1, $t2, la_forward_cancelled
	FUNC	la_forward_call
la_forward_call:
	jirl	$ra, $t0, 0
	FUNC	la_forward_made
la_forward_made:
	st.w	$zero, $s0, 0
	b	1f
	FUNC	la_forward_cancelled
la_forward_cancelled:
	addi.d	$a0, $zero, -513
1:	ld.d	$s0, $sp, 0
	ld.d	$ra, $sp, 8
	addi.d	$sp, $sp, 16
	jr	$ra
	.size	arch_forward_syscall, .-arch_forward_syscall

	.globl	arch_forward_template
	.hidden	arch_forward_template
arch_forward_template:
	syscall	0
	jr	$ra
2:

	.section .rodata
	.globl	arch_forward_template_size
	.hidden	arch_forward_template_size
	.balign	8
arch_forward_template_size:
	.dword	2b - arch_forward_template
	.text

	.section .note.GNU-stack, "", @progbits
