/* SPDX-License-Identifier: MIT */
/*
 * Bare-metal test of the MIPS64 guest half under qemu-system-mips64el
 * (malta): start-up, the harness's end of the exit, and the user program
 * that runs through guest.S at user level.
 */
#include <asm/unistd.h>

#include "bare.h"

	.set	noreorder
	.set	noat
	.set	mips64r2

	.section .text.start, "ax"
	.globl	_start
_start:
	dla	$29, bare_stack_top
	jal	bare_main
	nop
1:	b	1b
	nop

	.bss
	.balign	16
	.space	16384
bare_stack_top:

	.text
/*
 * The patched exit (jalr k1) lands here in kernel mode, EXL set, the user
 * registers in the frame: run bare_exit() on the harness's stack and
 * go back to the guest half's return path (it reloads everything).
 */
	.globl	bare_exit_hook
bare_exit_hook:
	move	$16, $31
	dla	$29, bare_stack_top
	jal	bare_exit
	nop
	jr	$16
	nop

/* Enter the guest half's return path at a0, in kernel mode with EXL set. */
	.globl	bare_resume
bare_resume:
	mtc0	$5, $12
	ehb
	jr	$4
	nop

/* The user program: each step reports through syscall BARE_NR_REPORT(step, ok). */
#define REPORT(step, okreg)			\
	move	$5, okreg;			\
	li	$4, step;			\
	li	$2, BARE_NR_REPORT;		\
	syscall

	.section .user, "ax"
	.globl	user_start, user_sys1, user_load, user_store, user_break, user_handler
	.globl	user_sigreturn
user_start:
	li	$16, 0x5a50
	li	$17, 0x5a51
	li	$18, 0x5a52
	li	$19, 0x5a53
	li	$20, 0x5a54
	li	$21, 0x5a55
	li	$22, 0x5a56
	li	$23, 0x5a57
	/* 1: a syscall, all six arguments; the host returns BARE_RET1 */
	li	$4, 0x100
	li	$5, 0x101
	li	$6, 0x102
	li	$7, 0x103
	li	$8, 0x104
	li	$9, 0x105
	li	$2, BARE_NR_SYS1
user_sys1:
	syscall
	xori	$12, $2, BARE_RET1
	sltiu	$12, $12, 1
	sltiu	$13, $7, 1
	and	$12, $12, $13
	REPORT(1, $12)
	/* 2: a failing syscall: v0 the positive errno, a3 set */
	li	$2, BARE_NR_SYS2
	syscall
	xori	$12, $2, BARE_ERRNO2
	sltiu	$12, $12, 1
	and	$12, $12, $7
	REPORT(2, $12)
	/* 3: a load from a page the table lacks: refill, TLBL, the host maps it, retry */
	li	$8, BARE_FAULT_VA
user_load:
	lw	$9, 0($8)
	xori	$12, $9, BARE_FAULT_WORD
	sltiu	$12, $12, 1
	REPORT(3, $12)
	/* 4: a store to a read-only page: Mod, the host makes it writable, retry */
	li	$8, BARE_RO_VA
	li	$9, 0x77
user_store:
	sw	$9, 0($8)
	lw	$10, 0($8)
	xori	$12, $10, 0x77
	sltiu	$12, $12, 1
	REPORT(4, $12)
	/* 6: break 7 is SIGFPE; the handler skips it and leaves a mark */
user_break:
	break	7
	li	$8, BARE_FAULT_VA
	lw	$9, 8($8)
	xori	$12, $9, 8		/* SIGFPE */
	sltiu	$12, $12, 1
	REPORT(6, $12)
	/* 7: the TLS register: UserLocal from the frame, read as glibc reads it (fp = 0: the CPU has no UserLocal) */
	li	$12, 2
	beqz	$30, 1f
	nop
	.set	push
	.set	mips32r2
	rdhwr	$3, $29
	.set	pop
	li	$12, BARE_TLS
	xor	$12, $12, $3
	sltiu	$12, $12, 1
1:	REPORT(7, $12)
	/* 5: callee-saved registers survived every exit */
	xori	$12, $16, 0x5a50
	xori	$13, $23, 0x5a57
	or	$12, $12, $13
	xori	$13, $19, 0x5a53
	or	$12, $12, $13
	sltiu	$12, $12, 1
	REPORT(5, $12)
	li	$4, 0
	li	$2, __NR_exit_group
	syscall
1:	b	1b
	nop

/* handler(sig, info, uc): mark, step the context's pc past the break, return. */
user_handler:
	li	$8, BARE_FAULT_VA
	sw	$4, 8($8)
	ld	$9, BARE_UC_PC($6)
	daddiu	$9, $9, 4
	sd	$9, BARE_UC_PC($6)
	jr	$31
	nop
user_sigreturn:
	li	$2, __NR_rt_sigreturn
	syscall
