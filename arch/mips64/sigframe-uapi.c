// SPDX-License-Identifier: MIT
/*
 * Compile-time check of sigframe.h against the MIPS kernel's UAPI headers
 * (no code: this file cannot include libc's signal.h, whose struct
 * sigcontext clashes with the kernel's).
 */
#include <stddef.h>
#include <asm/signal.h>
#include <asm/siginfo.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>

#include "sigframe.h"

/* arch/mips/kernel/signal.c */
struct kernel_rt_sigframe {
	__u32 rs_ass[4];
	__u32 rs_pad[2];
	siginfo_t rs_info;
	struct ucontext rs_uc;
};

#define SAME(a, b, f) \
	_Static_assert(offsetof(a, f) == offsetof(b, f), #f " of " #b)

SAME(struct sigcontext, struct mips_sigcontext, sc_regs);
SAME(struct sigcontext, struct mips_sigcontext, sc_fpregs);
SAME(struct sigcontext, struct mips_sigcontext, sc_mdhi);
SAME(struct sigcontext, struct mips_sigcontext, sc_mdlo);
SAME(struct sigcontext, struct mips_sigcontext, sc_pc);
SAME(struct sigcontext, struct mips_sigcontext, sc_fpc_csr);
SAME(struct sigcontext, struct mips_sigcontext, sc_used_math);
SAME(struct ucontext, struct mips_ucontext, uc_flags);
SAME(struct ucontext, struct mips_ucontext, uc_link);
SAME(struct ucontext, struct mips_ucontext, uc_stack);
SAME(struct ucontext, struct mips_ucontext, uc_mcontext);
SAME(struct ucontext, struct mips_ucontext, uc_sigmask);
SAME(struct kernel_rt_sigframe, struct mips_rt_sigframe, rs_info);
SAME(struct kernel_rt_sigframe, struct mips_rt_sigframe, rs_uc);
SAME(stack_t, struct mips_stack, ss_sp);
SAME(stack_t, struct mips_stack, ss_size);
SAME(stack_t, struct mips_stack, ss_flags);
_Static_assert(sizeof(struct sigcontext) == sizeof(struct mips_sigcontext), "sigcontext size");
_Static_assert(sizeof(struct ucontext) == sizeof(struct mips_ucontext), "ucontext size");
_Static_assert(sizeof(siginfo_t) == MIPS_SIGINFO_SIZE, "siginfo size");
_Static_assert(sizeof(sigset_t) == sizeof(((struct mips_ucontext *)0)->uc_sigmask), "sigset size");
_Static_assert(USED_FP == MIPS_USED_FP && USED_FR1 == MIPS_USED_FR1 &&
	       USED_EXTCONTEXT == MIPS_USED_EXTCONTEXT, "sc_used_math bits");
SAME(struct msa_extcontext, struct mips_msa_extcontext, wr);
SAME(struct msa_extcontext, struct mips_msa_extcontext, csr);
_Static_assert(offsetof(struct msa_extcontext, ext.magic) ==
	       offsetof(struct mips_msa_extcontext, magic) &&
	       offsetof(struct msa_extcontext, ext.size) == offsetof(struct mips_msa_extcontext, size),
	       "extcontext header");
_Static_assert(sizeof(struct msa_extcontext) == sizeof(struct mips_msa_extcontext),
	       "msa_extcontext size");
_Static_assert(offsetof(struct kernel_rt_sigframe, rs_uc.uc_extcontext) ==
	       offsetof(struct mips_rt_sigframe, rs_msa), "uc_extcontext");
_Static_assert(MSA_EXTCONTEXT_MAGIC == MIPS_MSA_EXTCONTEXT_MAGIC &&
	       END_EXTCONTEXT_MAGIC == MIPS_END_EXTCONTEXT_MAGIC, "extcontext magics");
