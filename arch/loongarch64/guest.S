/* SPDX-License-Identifier: MIT */
/*
 * LoongArch64 guest kernel: copied to the guest-kernel page of the dune
 * area, run at PLV0 (the program runs at PLV3, as on x86-64 at CPL3: it
 * cannot touch CSRs or the TLB, and its faults are the ones Linux turns into
 * signals).  Position-independent; reaches memory only through the DMW
 * windows (no TLB refill inside it), with addresses the host put in SAVE1
 * (this vCPU's exit frame) and SAVE2 (the exit hole).
 *
 * Every exception of the program (syscall, break, page and address faults,
 * reserved instructions, FP) enters at EENTRY (ECFG.VS = 0): all its GPRs
 * and the exception CSRs go to the frame, then ONE store to the exit hole
 * exits KVM_RUN (KVM_EXIT_MMIO), and the host reads and edits the frame in
 * place.  KVM resumes after the store: the registers come back from the
 * frame (its ERA too), with a TLB flush first if the host asked for one, and
 * ertn returns to the program.  The TLB refill walks the host's page table
 * with lddir/ldpte, as Linux's handle_tlb_refill does.
 */
#include "la-guest.h"

	.section .text.la_guest, "ax"
	.balign	4096
	.globl	la_guest_code
	.hidden	la_guest_code
la_guest_code:
la_guest_eentry:
	csrwr	$t0, LA_CSR_SAVE0
	csrrd	$t0, LA_CSR_SAVE1
	.irp	n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	st.d	$r\n, $t0, LA_FRAME_REGS + 8 * \n
	.endr
	csrrd	$t1, LA_CSR_SAVE0
	st.d	$t1, $t0, LA_FRAME_REGS + 8 * 12
	csrrd	$t1, LA_CSR_ERA
	st.d	$t1, $t0, LA_FRAME_ERA
	csrrd	$t1, LA_CSR_ESTAT
	st.d	$t1, $t0, LA_FRAME_ESTAT
	csrrd	$t1, LA_CSR_BADV
	st.d	$t1, $t0, LA_FRAME_BADV
	csrrd	$t1, LA_CSR_BADI
	st.d	$t1, $t0, LA_FRAME_BADI
	csrrd	$t1, LA_CSR_PRMD
	st.d	$t1, $t0, LA_FRAME_PRMD
	/*
	 * A page-invalid exception (PIL, PIS, PIF: ecodes 1-3) came from an
	 * invalid entry the refill put in the TLB: drop it, so that the access
	 * refills once the host has mapped the page.
	 */
	csrrd	$t1, LA_CSR_ESTAT
	bstrpick.d $t1, $t1, 21, 16
	addi.d	$t1, $t1, -1
	sltui	$t1, $t1, 3
	beqz	$t1, 1f
	csrrd	$t1, LA_CSR_BADV
	invtlb	5, $zero, $t1		/* G=0, ASID 0, this address */
1:	csrrd	$t1, LA_CSR_PRMD
	csrrd	$t2, LA_CSR_SAVE2
	.globl	la_guest_exit
	.hidden	la_guest_exit
la_guest_exit:
	st.d	$t1, $t2, 0		/* the exit: KVM_EXIT_MMIO at LA_EXIT_GPA */
	.globl	la_guest_restore
	.hidden	la_guest_restore
la_guest_restore:
	csrrd	$t0, LA_CSR_SAVE1
	ld.d	$t1, $t0, LA_FRAME_FLUSH
	beqz	$t1, 2f
	invtlb	0, $zero, $zero
	st.d	$zero, $t0, LA_FRAME_FLUSH
2:	ld.d	$t1, $t0, LA_FRAME_ERA
	csrwr	$t1, LA_CSR_ERA
	.irp	n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ld.d	$r\n, $t0, LA_FRAME_REGS + 8 * \n
	.endr
	ld.d	$t0, $t0, LA_FRAME_REGS + 8 * 12
	ertn

	.org	la_guest_code + LA_KA_TLBR	/* fails to assemble if the entry grew past it */
	.globl	la_guest_tlbr
	.hidden	la_guest_tlbr
la_guest_tlbr:			/* at LA_KA_TLBR, direct-address mode */
	csrwr	$t0, LA_CSR_TLBRSAVE
	csrrd	$t0, 0x1b		/* PGD: PGDL or PGDH by the address's bit 63 */
	lddir	$t0, $t0, 3
	lddir	$t0, $t0, 1
	ldpte	$t0, 0
	ldpte	$t0, 1
	tlbfill
	csrrd	$t0, LA_CSR_TLBRSAVE
	ertn
	.globl	la_guest_code_end
	.hidden	la_guest_code_end
la_guest_code_end:

	.section .note.GNU-stack, "", @progbits
