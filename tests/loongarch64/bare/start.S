/* SPDX-License-Identifier: MIT */
/*
 * Bare-metal harness for the LoongArch64 guest kernel (arch/loongarch64/
 * guest.S) under qemu-system TCG: the entry, the TLB refill that traps the
 * guest kernel's exit store (the harness plays the host there), and the
 * program the guest kernel serves, at PLV3.
 */
#include "la-guest.h"
#include "bare.h"

#define UC_MCONTEXT	176	/* the ucontext's sigcontext, whose first word is sc_pc */

	.section .text.start, "ax"
	.globl	_start
_start:
	la.pcrel $sp, bare_stack_top
	bl	bare_main
1:	b	1b

/*
 * TLBRENTRY: the exit store's address is never mapped, so it comes here;
 * anything else goes to the guest kernel's refill.  At the exit, the guest
 * kernel has saved everything in its frame and reloads it all after the
 * store, so the "host" (bare_host_exit) may clobber every GPR; then skip the
 * store, as KVM does once the MMIO exit is done.  Every GPR is poisoned
 * first, so that a register the guest kernel fails to restore shows.
 */
	.balign	4096
	.globl	bare_tlbr
bare_tlbr:
	csrwr	$t0, 0x37		/* SAVE7, which guest.S does not use */
	csrwr	$t1, 0x36
	csrrd	$t0, 0x89		/* TLBRBADV */
	li.d	$t1, BARE_EXIT_VA
	beq	$t0, $t1, 1f
	csrrd	$t1, 0x36
	csrrd	$t0, 0x37
	b	la_guest_tlbr
1:	.irp	n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	li.w	$r\n, -1		/* what the guest kernel does not restore shows */
	.endr
	la.pcrel $sp, bare_host_stack_top
	bl	bare_host_exit
	csrrd	$t0, LA_CSR_TLBRERA
	addi.d	$t0, $t0, 4
	csrwr	$t0, LA_CSR_TLBRERA
	ertn

/*
 * The program (PLV3, on its own page).  Each step exits with a syscall or
 * an exception the host checks (bare.c says what it expects of each).
 */
	.section .text.user, "ax"
	.globl	user_entry
user_entry:
	li.d	$s0, 0x5a5a5a5a
	li.d	$a0, 1
	li.d	$a1, 2
	li.d	$a2, 3
	li.d	$a3, 4
	li.d	$a4, 5
	li.d	$a5, 6
	li.d	$a7, BARE_NR_FIRST
	syscall	0			/* step 0: a syscall; the host returns a0 = a0 + a5 */
	move	$s1, $a0
	li.d	$t0, BARE_DATA_VA
	ld.d	$a1, $t0, 0		/* through the TLB refill: the page the host put there */
	move	$a0, $s1
	move	$a2, $s0
	li.d	$a7, BARE_NR_REPORT
	syscall	0			/* step 1: the host checks a0, a1, a2 */
	li.d	$t0, BARE_RO_VA
	ld.d	$a1, $t0, 0
	st.d	$a1, $t0, 0		/* step 2: PME, to a handler and back past it */
	li.d	$t0, BARE_UNMAPPED_VA
	ld.d	$a1, $t0, 0		/* step 4: PIL at an unmapped address, mapped then */
	li.d	$t0, BARE_UNMAPPED_VA + 0x4000
	ld.d	$a2, $t0, 0		/* step 5: PIL again (the other page of the TLB pair) */
	break	7			/* step 6: SIGFPE FPE_INTDIV, with a1 = the page's word */
	li.d	$t0, BARE_KERNEL_VA
	ld.d	$a1, $t0, 0		/* step 7: PPI: a PLV0 page */
	li.d	$a7, BARE_NR_EXIT
	syscall	0			/* step 8: the end */
1:	b	1b

	.globl	user_handler
user_handler:				/* (signo, info, ucontext), as a handler gets them */
	ld.d	$t0, $a2, UC_MCONTEXT	/* sc_pc: past the faulting store */
	addi.d	$t0, $t0, 4
	st.d	$t0, $a2, UC_MCONTEXT
	li.d	$a1, 99			/* sigreturn must bring back the program's a1 */
	jr	$ra

	.globl	user_sigreturn
user_sigreturn:				/* the vDSO's __vdso_rt_sigreturn */
	li.w	$a7, BARE_NR_SIGRETURN
	syscall	0			/* step 3 */
1:	b	1b

	.bss
	.balign	16
	.space	16384
bare_stack_top:
	.space	16384
bare_host_stack_top:

	.section .note.GNU-stack, "", @progbits
