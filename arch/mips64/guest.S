/* SPDX-License-Identifier: MIT */
/*
 * The MIPS64 guest half: one 4 KiB block, copied to each vCPU's block in
 * KSEG0, which is that vCPU's EBase (so the handlers find their frame from
 * EBase, with no scratch register the CPU may lack).  Position-independent:
 * relative branches only.  The program runs in user mode; every exception
 * but the TLB refill saves its registers to the frame and makes one exit, a
 * store to MF_EXIT (the MMIO hole: KVM_EXIT_MMIO), then restores them from
 * the frame (which the host may have changed) and erets to MF_PC.
 * k0/k1 are the kernel's, as on Linux.
 */
#include "frame.h"

#define k0	$26
#define k1	$27
#define t0	$12
#define t1	$13
#define t2	$14
#define t3	$15

/* k0 = this vCPU's frame: EBase without its CPUNum bits, plus the offset */
#define FRAME(r)			\
	mfc0	r, $15, 1;		\
	ins	r, $0, 0, 12;		\
	daddiu	r, r, MIPS_FRAME_OFF

#define SAVE(n)		sd	$##n, (MF_REGS + 8 * n)(k0)
#define LOAD(n)		ld	$##n, (MF_REGS + 8 * n)(k0)

	.set	noreorder
	.set	noat
	.set	mips64r2
	.section .rodata.mips_guest, "a"
	.balign	MIPS_BLOCK_SIZE
	.globl	mips_guest_block, mips_guest_block_end, mips_guest_exit, mips_guest_resume
	.hidden	mips_guest_block, mips_guest_block_end, mips_guest_exit, mips_guest_resume

mips_guest_block:
	/* 0x000: the 32-bit TLB refill, never taken with UX and KX set */
	b	general
	nop

	.org	0x080
	/*
	 * XTLB refill: walk the three levels for BadVAddr and write the
	 * even/odd pair; a missing table writes an invalid pair, so the retry
	 * takes TLBL/TLBS to the general vector and the host loop.
	 */
xtlb_refill:
	FRAME(k0)
	ld	k1, MF_PGD(k0)
	dmfc0	k0, $8
	dsrl	k0, k0, MIPS_VA_BITS
	bnez	k0, refill_invalid
	dmfc0	k0, $8
	dsrl	k0, k0, 14 + 2 * MIPS_PT_SHIFT - 3
	andi	k0, k0, ((1 << MIPS_PT_SHIFT) - 1) << 3
	daddu	k1, k1, k0
	ld	k1, 0(k1)
	beqz	k1, refill_invalid
	dmfc0	k0, $8
	dsrl	k0, k0, 14 + MIPS_PT_SHIFT - 3
	andi	k0, k0, ((1 << MIPS_PT_SHIFT) - 1) << 3
	daddu	k1, k1, k0
	ld	k1, 0(k1)
	beqz	k1, refill_invalid
	dmfc0	k0, $8
	dsrl	k0, k0, 14 - 3
	andi	k0, k0, ((1 << MIPS_PT_SHIFT) - 2) << 3
	daddu	k1, k1, k0
	/*
	 * All of the refill lies before the exit, where the host takes the
	 * user state from KVM's registers and EPC (exit.c); 0x100, the cache
	 * error vector, never runs under KVM.
	 */
refill_write:
	ld	k0, 0(k1)
	ld	k1, 8(k1)
	dmtc0	k0, $2
	dmtc0	k1, $3
	ehb
	tlbwr
	eret

refill_invalid:
	dmtc0	$0, $2
	dmtc0	$0, $3
	ehb
	tlbwr
	eret

	.org	0x180
	/* General exception: save, exit, restore. */
general:
	FRAME(k0)
	SAVE(1); SAVE(2); SAVE(3); SAVE(4); SAVE(5); SAVE(6); SAVE(7); SAVE(8)
	SAVE(9); SAVE(10); SAVE(11); SAVE(12); SAVE(13); SAVE(14); SAVE(15)
	SAVE(16); SAVE(17); SAVE(18); SAVE(19); SAVE(20); SAVE(21); SAVE(22)
	SAVE(23); SAVE(24); SAVE(25); SAVE(28); SAVE(29); SAVE(30); SAVE(31)
	mfhi	k1
	sd	k1, MF_HI(k0)
	mflo	k1
	sd	k1, MF_LO(k0)
	dmfc0	k1, $14
	sd	k1, MF_PC(k0)
	mfc0	k1, $13
	sd	k1, MF_CAUSE(k0)
	dmfc0	k1, $8
	sd	k1, MF_BADVADDR(k0)
	mfc0	k1, $12
	sd	k1, MF_STATUS(k0)
	ld	k1, MF_EXIT(k0)
mips_guest_exit:
	sd	k0, 0(k1)		/* the one exit (bare-metal test: jalr k1) */
mips_guest_resume:
	FRAME(k0)			/* also where a vCPU starts from its frame */
	ld	k1, MF_FLUSH(k0)
	bnez	k1, flush
	nop
restore:
	ld	k1, MF_TLS(k0)
	dmtc0	k1, $4, 2		/* UserLocal, for rdhwr $29 */
	ld	k1, MF_PC(k0)
	dmtc0	k1, $14
	ld	k1, MF_HI(k0)
	mthi	k1
	ld	k1, MF_LO(k0)
	mtlo	k1
	LOAD(1); LOAD(2); LOAD(3); LOAD(4); LOAD(5); LOAD(6); LOAD(7); LOAD(8)
	LOAD(9); LOAD(10); LOAD(11); LOAD(12); LOAD(13); LOAD(14); LOAD(15)
	LOAD(16); LOAD(17); LOAD(18); LOAD(19); LOAD(20); LOAD(21); LOAD(22)
	LOAD(23); LOAD(24); LOAD(25); LOAD(28); LOAD(29); LOAD(30); LOAD(31)
	ehb
	eret

	/*
	 * Before returning: drop the TLB entry of MF_BADVADDR (a fault the host
	 * fixed) or every entry (the host changed valid entries).  t0..t3 are
	 * the user's, restored from the frame afterwards.  The host restarts
	 * an interrupted return path from mips_guest_resume.  A dropped entry gets
	 * a unique EntryHi in unmapped CKSEG0, as Linux's UNIQUE_ENTRYHI.
	 */
flush:
	li	t0, MIPS_FLUSH_ONE
	bne	k1, t0, flush_all
	ld	t1, MF_BADVADDR(k0)
	dins	t1, $0, 0, 15		/* VPN2 of a 16 KiB pair, ASID 0 */
	dmtc0	t1, $10
	ehb
	tlbp
	ehb
	mfc0	t2, $0
	bltz	t2, flush_done
	nop
	b	flush_entry
	move	t3, t2
flush_all:
	mfc0	t3, $16, 1
	ext	t3, t3, 25, 6		/* Config1.MMUSize: entries - 1 */
	move	t2, $0
flush_entry:
	mtc0	t2, $0
	dsll	t1, t2, 15
	lui	t0, 0x8000		/* CKSEG0 */
	daddu	t1, t1, t0
	dmtc0	t1, $10
	dmtc0	$0, $2
	dmtc0	$0, $3
	ehb
	tlbwi
	bne	t2, t3, flush_entry
	addiu	t2, t2, 1
flush_done:
	ehb
	b	restore
	sd	$0, MF_FLUSH(k0)	/* done: an interrupted flush starts over */
mips_guest_block_end:
	.org	MIPS_FRAME_OFF
