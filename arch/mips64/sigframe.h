/* SPDX-License-Identifier: MIT */
/*
 * The kernel's n64 signal frame (arch/mips/kernel/signal.c: struct
 * rt_sigframe, UAPI asm/ucontext.h and asm/sigcontext.h) in fixed-width
 * types, so that it can be checked against those headers (sigframe-uapi.c),
 * which clash with libc's.
 */
#ifndef DUNE_MIPS_SIGFRAME_H
#define DUNE_MIPS_SIGFRAME_H

#include <stdint.h>

#define MIPS_USED_FP		(1U << 0)
#define MIPS_USED_FR1		(1U << 1)
#define MIPS_USED_EXTCONTEXT	(1U << 3)
#define MIPS_SIGINFO_SIZE	128

struct mips_stack {
	uint64_t ss_sp;
	uint64_t ss_size;
	int32_t ss_flags;
	int32_t pad;
};

struct mips_sigcontext {
	uint64_t sc_regs[32];
	uint64_t sc_fpregs[32];
	uint64_t sc_mdhi, sc_hi1, sc_hi2, sc_hi3;
	uint64_t sc_mdlo, sc_lo1, sc_lo2, sc_lo3;
	uint64_t sc_pc;
	uint32_t sc_fpc_csr, sc_used_math, sc_dsp, sc_reserved;
};

struct mips_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct mips_stack uc_stack;
	struct mips_sigcontext uc_mcontext;
	uint64_t uc_sigmask[2];		/* 128 signals */
	/* uc_extcontext[] follows */
};

/* The extended context of a thread with MSA: the vector registers' high halves. */
#define MIPS_MSA_EXTCONTEXT_MAGIC	0x784d5341	/* xMSA */
#define MIPS_END_EXTCONTEXT_MAGIC	0x78454e44	/* xEND */

struct mips_msa_extcontext {
	uint32_t magic, size;
	uint64_t wr[32];
	uint32_t csr;
	uint32_t pad;
};

/*
 * rs_msa and rs_end are there only for a thread with MSA: without, the
 * frame ends at rs_msa (mips_sigframe_size()).
 */
struct mips_rt_sigframe {
	uint32_t rs_ass[4];		/* argument save space for o32 */
	uint32_t rs_pad[2];		/* was the trampoline (now in the vDSO) */
	uint8_t rs_info[MIPS_SIGINFO_SIZE];
	struct mips_ucontext rs_uc;
	struct mips_msa_extcontext rs_msa;	/* rs_uc.uc_extcontext */
	uint32_t rs_end;			/* MIPS_END_EXTCONTEXT_MAGIC */
};

/* Where the kernel puts it: 32 bytes below sp (or the top of the alternate stack), 16-aligned. */
#define MIPS_SIGFRAME_GAP	32
#define MIPS_SIGFRAME_ALIGN	16

#endif /* DUNE_MIPS_SIGFRAME_H */
