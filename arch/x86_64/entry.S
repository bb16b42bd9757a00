/* SPDX-License-Identifier: MIT */
/* x86-64 entry into the guest, native resume, and raw system calls. */

	.text

/*
 * int x86_enter(struct x86_entry_ctx *ctx, struct dune_vcpu *vcpu, void *top)
 * Save what the caller expects preserved, then run dune_host_start(vcpu) on
 * the host stack.  The guest resumes at our return address with RAX = 0.
 */
	.globl	x86_enter
	.hidden	x86_enter
	.type	x86_enter, @function
x86_enter:
	mov	%rbx, 0(%rdi)
	mov	%rbp, 8(%rdi)
	mov	%r12, 16(%rdi)
	mov	%r13, 24(%rdi)
	mov	%r14, 32(%rdi)
	mov	%r15, 40(%rdi)
	lea	8(%rsp), %rax
	mov	%rax, 48(%rdi)
	mov	(%rsp), %rax
	mov	%rax, 56(%rdi)
	mov	%rdx, %rsp
	mov	%rsi, %rdi
	call	dune_host_start
	ud2
	.size	x86_enter, .-x86_enter

/*
 * void arch_call_on_stack(void *top, void (*fn)(struct dune_vcpu *), vcpu)
 */
	.globl	arch_call_on_stack
	.hidden	arch_call_on_stack
	.type	arch_call_on_stack, @function
arch_call_on_stack:
	mov	%rdi, %rsp
	mov	%rdx, %rdi
	call	*%rsi
	ud2
	.size	arch_call_on_stack, .-arch_call_on_stack

/*
 * void x86_resume_native(struct x86_native_frame *f)
 * Load the guest's FPU state and registers and continue there natively.  The
 * target RIP goes just below the target stack's red zone (where a signal
 * frame would go too), so the last instruction can be an indirect jump:
 * user-mode iretq would do it all at once, but QEMU's TCG performs IRET's
 * stack reads as supervisor accesses (an oops in the guest kernel).
 */
	.globl	x86_resume_native
	.hidden	x86_resume_native
	.type	x86_resume_native, @function
x86_resume_native:
	mov	%rdi, %rbx
	mov	152(%rbx), %rdi
	test	%rdi, %rdi
	jz	1f
	mov	144(%rbx), %eax
	mov	148(%rbx), %edx
	xrstor64 (%rdi)
1:	mov	136(%rbx), %rax		/* target rsp */
	mov	120(%rbx), %rcx		/* target rip */
	mov	%rcx, -136(%rax)
	pushq	128(%rbx)		/* rflags; nothing below changes flags */
	popfq
	mov	0(%rbx), %rax
	mov	16(%rbx), %rcx
	mov	24(%rbx), %rdx
	mov	32(%rbx), %rsi
	mov	40(%rbx), %rdi
	mov	48(%rbx), %rbp
	mov	56(%rbx), %r8
	mov	64(%rbx), %r9
	mov	72(%rbx), %r10
	mov	80(%rbx), %r11
	mov	88(%rbx), %r12
	mov	96(%rbx), %r13
	mov	104(%rbx), %r14
	mov	112(%rbx), %r15
	mov	136(%rbx), %rsp
	mov	8(%rbx), %rbx
	jmp	*-136(%rsp)
	.size	x86_resume_native, .-x86_resume_native

/*
 * long x86_clone_thread(flags, void **stack, ptid, ctid, tls)
 * clone(2); the child starts on the given host stack, whose top word is its
 * vCPU, and runs dune_thread_main(vcpu) there.
 */
	.globl	x86_clone_thread
	.hidden	x86_clone_thread
	.type	x86_clone_thread, @function
x86_clone_thread:
	mov	%rcx, %r10
	mov	$56, %eax	/* SYS_clone */
	syscall
	test	%rax, %rax
	jnz	1f
	mov	(%rsp), %rdi
	and	$-16, %rsp
	call	dune_thread_main
	ud2
1:	ret
	.size	x86_clone_thread, .-x86_clone_thread

/*
 * void x86_exit_thread(int *busy, long status)
 * Free the vCPU (and so this host stack) and exit without touching the stack
 * again: the next thread may already be starting on it.
 */
	.globl	x86_exit_thread
	.hidden	x86_exit_thread
	.type	x86_exit_thread, @function
x86_exit_thread:
	test	%rdi, %rdi
	jz	1f
	movl	$0, (%rdi)
1:	mov	%rsi, %rdi
	mov	$60, %eax	/* SYS_exit */
	syscall
	ud2
	.size	x86_exit_thread, .-x86_exit_thread

/* The C arguments nr, a0..a4 and a5 (at \a5) in the syscall's registers. */
.macro	SYSCALL_ARGS a5
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
	mov	%r8, %r10
	mov	%r9, %r8
	mov	\a5, %r9
.endm

/*
 * long arch_raw_syscall(long nr, long a0, ..., long a5): a system call from
 * arch_forward_template, which returns to our caller.  -errno on failure.
 */
	.globl	arch_raw_syscall
	.hidden	arch_raw_syscall
	.type	arch_raw_syscall, @function
arch_raw_syscall:
	SYSCALL_ARGS 8(%rsp)
	jmp	arch_forward_template
	.size	arch_raw_syscall, .-arch_raw_syscall

/*
 * long arch_forward_syscall(long nr, long a0, ..., long a5, const void *insn,
 * int *call): the same from the instruction at insn (the template's copy on
 * DUNE_FORWARD_PAGE), unless *call is DUNE_CALL_SIGNALLED (2): then
 * -DUNE_ERESTARTNOINTR (-513).  *call is DUNE_CALL_IDLE (0) once the kernel
 * returned.  A host signal from the check to the syscall instruction itself
 * makes the call return as if it had been SIGNALLED (arch_forward_cancel).
 * On the stack: a5 8(%rsp), insn 16(%rsp), call 24(%rsp) at entry.
 */
	.globl	arch_forward_syscall
	.hidden	arch_forward_syscall
	.type	arch_forward_syscall, @function
arch_forward_syscall:
	push	%rbx
	mov	32(%rsp), %rbx
	mov	24(%rsp), %r11
	SYSCALL_ARGS 16(%rsp)
	.globl	x86_forward_check
	.hidden	x86_forward_check
x86_forward_check:
	cmpl	$2, (%rbx)
	je	x86_forward_cancelled
	.globl	x86_forward_call
	.hidden	x86_forward_call
x86_forward_call:
	call	*%r11
	.globl	x86_forward_made
	.hidden	x86_forward_made
x86_forward_made:
	movl	$0, (%rbx)
	pop	%rbx
	ret
	.globl	x86_forward_cancelled
	.hidden	x86_forward_cancelled
x86_forward_cancelled:
	mov	$-513, %rax
	pop	%rbx
	ret
	.size	arch_forward_syscall, .-arch_forward_syscall

	.globl	arch_forward_template
	.hidden	arch_forward_template
arch_forward_template:
	syscall
	ret
1:

	.section .rodata
	.globl	arch_forward_template_size
	.hidden	arch_forward_template_size
	.balign	8
arch_forward_template_size:
	.quad	1b - arch_forward_template
	.text

/*
 * void x86_int80(struct kvm_regs *r)
 * The i386 system call r describes, issued natively with `int $0x80` (from
 * 64-bit code that is the compat ABI on Linux x86-64): every GPR but RSP is
 * loaded from r before and stored back after, so r ends as the program's
 * registers would natively.  (struct kvm_regs: rax rbx rcx rdx rsi rdi rsp
 * rbp r8-r15, 8 bytes each.)
 */
	.globl	x86_int80
	.hidden	x86_int80
	.type	x86_int80, @function
x86_int80:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi
	mov	0(%rdi), %rax
	mov	8(%rdi), %rbx
	mov	16(%rdi), %rcx
	mov	24(%rdi), %rdx
	mov	32(%rdi), %rsi
	mov	56(%rdi), %rbp
	mov	64(%rdi), %r8
	mov	72(%rdi), %r9
	mov	80(%rdi), %r10
	mov	88(%rdi), %r11
	mov	96(%rdi), %r12
	mov	104(%rdi), %r13
	mov	112(%rdi), %r14
	mov	120(%rdi), %r15
	mov	40(%rdi), %rdi
	int	$0x80
	xchg	%rdi, (%rsp)		/* r again; the call's RDI on the stack */
	mov	%rax, 0(%rdi)
	mov	%rbx, 8(%rdi)
	mov	%rcx, 16(%rdi)
	mov	%rdx, 24(%rdi)
	mov	%rsi, 32(%rdi)
	mov	%rbp, 56(%rdi)
	mov	%r8, 64(%rdi)
	mov	%r9, 72(%rdi)
	mov	%r10, 80(%rdi)
	mov	%r11, 88(%rdi)
	mov	%r12, 96(%rdi)
	mov	%r13, 104(%rdi)
	mov	%r14, 112(%rdi)
	mov	%r15, 120(%rdi)
	pop	%rax
	mov	%rax, 40(%rdi)
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size	x86_int80, .-x86_int80

	.section .note.GNU-stack, "", @progbits
