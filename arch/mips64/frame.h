/* SPDX-License-Identifier: MIT */
/*
 * The guest half's memory, shared by guest.S (included from assembly) and
 * the host: each vCPU has a 4 KiB block of guest-kernel memory in KSEG0,
 * its EBase, holding a copy of the vectors and, at MIPS_FRAME_OFF, the frame
 * its exception handler saves the user registers to and restores them from.
 */
#ifndef DUNE_MIPS_FRAME_H
#define DUNE_MIPS_FRAME_H

#define MIPS_BLOCK_SIZE		0x1000	/* EBase is 4 KiB-aligned */
#define MIPS_FRAME_OFF		0xc00

/* Frame offsets (struct mips_frame) */
#define MF_REGS		0	/* gpr[32]; k0, k1 not saved */
#define MF_HI		256
#define MF_LO		264
#define MF_PC		272	/* EPC of the exception; where eret goes */
#define MF_CAUSE	280
#define MF_BADVADDR	288
#define MF_STATUS	296
#define MF_TLS		304	/* UserLocal, written back before each eret */
#define MF_PGD		312	/* XKPHYS address of the top page table */
#define MF_EXIT		320	/* where the exit store goes (KSEG1: the MMIO hole) */
#define MF_FLUSH	328	/* before eret: 1 drops the entry of BADVADDR, 2 all */
#define MF_SIZE		336

#define MIPS_FLUSH_ONE	1
#define MIPS_FLUSH_ALL	2

/* Guest-physical hole of the exit store, below the memslots (DUNE_GPA_BASE) */
#define MIPS_EXIT_GPA	0x01000000

#define MIPS_KSEG0	0xffffffff80000000
#define MIPS_KSEG1	0xffffffffa0000000
#define MIPS_XKPHYS_CACHED	0x9800000000000000	/* CCA 3: cacheable */

/* Page tables: 16 KiB pages of 2048 entries, three levels: 47-bit user space */
#define MIPS_PT_SHIFT	11
#define MIPS_VA_BITS	47

#endif /* DUNE_MIPS_FRAME_H */
