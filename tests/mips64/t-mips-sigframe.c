// SPDX-License-Identifier: MIT
/*
 * The MIPS64 signal frame without KVM: its layout at the offsets of the
 * kernel's n64 UAPI (also checked at compile time by
 * arch/mips64/sigframe-uapi.c), a frame built for a handler and parsed back
 * as rt_sigreturn would, and the registers the handler starts with.
 */
#include "check.h"
#include "mips.h"
#include "sigframe.h"

static void handler(int sig)
{
	(void)sig;
}

/*
 * A thread with MSA: save_msa_extcontext()'s high halves and MSACSR after
 * the ucontext, then the end marker, sc_used_math saying so, and a frame
 * 276 bytes longer (get_sigframe()'s extcontext_max_size()).
 */
static void test_msa(const struct mips_frame *f, const struct mips_fpu *base)
{
	struct mips_fpu fpu = *base, back;
	struct mips_frame entry = *f, regs;
	struct mips_rt_sigframe frame;
	struct dune_sigaction act = { .flags = SA_SIGINFO, .handler = (void *)handler };
	siginfo_t info = { .si_signo = SIGUSR1, .si_code = SI_USER };

	fpu.msa = 1;
	fpu.msacsr = 0x4;
	for (int i = 0; i < 32; i++)
		fpu.wr_hi[i] = 0x5000000000000000ULL + i;
	CHECK(mips_sigframe_size(&fpu) == 808 + 272 + 4, "frame size with MSA: %zu",
	      mips_sigframe_size(&fpu));
	memset(&frame, 0, sizeof(frame));
	mips_sigframe_setup(&entry, &fpu, &info, &act, 0, 0x7fff0000,
			    (uintptr_t)mips_sigreturn_code, &frame);
	CHECK(frame.rs_uc.uc_mcontext.sc_used_math ==
	      (MIPS_USED_FP | MIPS_USED_FR1 | MIPS_USED_EXTCONTEXT), "sc_used_math with MSA");
	CHECK(frame.rs_msa.magic == 0x784d5341 && frame.rs_msa.size == 272 &&
	      frame.rs_msa.wr[0] == fpu.wr_hi[0] && frame.rs_msa.wr[31] == fpu.wr_hi[31] &&
	      frame.rs_msa.csr == 0x4 && frame.rs_end == 0x78454e44, "MSA extended context");
	CHECK(frame.rs_uc.uc_mcontext.sc_fpregs[9] == fpu.fpr[9], "low halves in sc_fpregs");

	/* rt_sigreturn takes the handler's edits of the high halves */
	frame.rs_msa.wr[2] = 0x77;
	frame.rs_msa.csr = 0x8;
	back = fpu;
	mips_sigcontext_to_frame(&frame.rs_uc.uc_mcontext, &regs, &back);
	CHECK(!mips_extcontext_to_fpu(&frame, &back) && back.wr_hi[2] == 0x77 &&
	      back.wr_hi[3] == fpu.wr_hi[3] && back.msacsr == 0x8, "MSA state back");

	/* restore_extcontext(): only the end marker is fine, anything else is not */
	frame.rs_msa.magic = 0x78454e44;
	back = fpu;
	CHECK(!mips_extcontext_to_fpu(&frame, &back) && back.wr_hi[2] == fpu.wr_hi[2],
	      "an empty extended context leaves MSA as it is");
	frame.rs_msa.magic = 0x12345678;
	CHECK(mips_extcontext_to_fpu(&frame, &back) == -EINVAL, "unknown extended context");
	frame.rs_msa.magic = 0x784d5341;
	frame.rs_msa.size = 264;
	CHECK(mips_extcontext_to_fpu(&frame, &back) == -EINVAL, "MSA context of a wrong size");
	frame.rs_msa.size = 272;
	frame.rs_end = 0;
	CHECK(mips_extcontext_to_fpu(&frame, &back) == -EINVAL, "no end marker");
	frame.rs_end = 0x78454e44;
	back.msa = 0;
	CHECK(mips_extcontext_to_fpu(&frame, &back) == -EINVAL, "MSA context without MSA");
}

int main(void)
{
	struct mips_frame f = { 0 }, entry, back = { 0 };
	struct mips_rt_sigframe frame;
	struct dune_sigaction act = { .flags = SA_SIGINFO, .handler = (void *)handler };
	siginfo_t info = { .si_signo = SIGUSR1, .si_code = SI_USER };
	struct mips_fpu fpu = { .fcsr = 0x01000f80 }, fpu_back = { 0 };
	uint64_t *fpr = fpu.fpr, sp = 0x7fff0000;

	/* asm/ucontext.h, asm/sigcontext.h, arch/mips/kernel/signal.c (n64) */
	CHECK(offsetof(struct mips_rt_sigframe, rs_info) == 24, "rs_info");
	CHECK(offsetof(struct mips_rt_sigframe, rs_uc) == 152, "rs_uc");
	CHECK(offsetof(struct mips_ucontext, uc_mcontext) == 40, "uc_mcontext");
	CHECK(offsetof(struct mips_ucontext, uc_sigmask) == 640, "uc_sigmask");
	CHECK(offsetof(struct mips_sigcontext, sc_mdhi) == 512 &&
	      offsetof(struct mips_sigcontext, sc_mdlo) == 544, "hi/lo");
	CHECK(offsetof(struct mips_sigcontext, sc_pc) == 576 &&
	      offsetof(struct mips_sigcontext, sc_fpc_csr) == 584 &&
	      offsetof(struct mips_sigcontext, sc_used_math) == 588 &&
	      sizeof(struct mips_sigcontext) == 600, "sigcontext");
	CHECK(sizeof(struct mips_ucontext) == 656, "ucontext %zu", sizeof(struct mips_ucontext));
	CHECK(offsetof(struct mips_rt_sigframe, rs_msa) == 808 &&
	      sizeof(struct mips_msa_extcontext) == 272, "uc_extcontext, msa_extcontext");
	CHECK(mips_sigframe_size(&fpu) == 808, "frame size without MSA");

	for (int i = 0; i < 32; i++) {
		f.regs[i] = 0x1000 + i;
		fpr[i] = 0x4000000000000000ULL + i;
	}
	f.hi = 0x11;
	f.lo = 0x22;
	f.pc = 0x120004000;
	entry = f;
	memset(&frame, 0, sizeof(frame));
	mips_sigframe_setup(&entry, &fpu, &info, &act, 0x8000000000000101ULL, sp,
			    (uintptr_t)mips_sigreturn_code, &frame);
	CHECK(frame.rs_uc.uc_mcontext.sc_regs[0] == 0 && frame.rs_uc.uc_mcontext.sc_regs[31] == 0x101f,
	      "sc_regs");
	CHECK(frame.rs_uc.uc_mcontext.sc_pc == 0x120004000 && frame.rs_uc.uc_mcontext.sc_mdhi == 0x11 &&
	      frame.rs_uc.uc_mcontext.sc_mdlo == 0x22, "pc, hi, lo");
	CHECK(frame.rs_uc.uc_mcontext.sc_fpregs[5] == fpr[5] &&
	      frame.rs_uc.uc_mcontext.sc_fpc_csr == 0x01000f80 &&
	      frame.rs_uc.uc_mcontext.sc_used_math == (MIPS_USED_FP | MIPS_USED_FR1), "FPU");
	CHECK(frame.rs_uc.uc_sigmask[0] == 0x8000000000000101ULL && frame.rs_uc.uc_sigmask[1] == 0,
	      "mask");
	CHECK(((siginfo_t *)frame.rs_info)->si_signo == SIGUSR1, "siginfo");
	CHECK(entry.regs[R_A0] == SIGUSR1 && entry.regs[R_A0 + 1] == sp + 24 &&
	      entry.regs[R_A0 + 2] == sp + 152, "a0..a2: %lu %#lx %#lx",
	      (unsigned long)entry.regs[R_A0], (unsigned long)entry.regs[R_A0 + 1],
	      (unsigned long)entry.regs[R_A0 + 2]);
	CHECK(entry.pc == (uintptr_t)handler && entry.regs[R_T9] == (uintptr_t)handler &&
	      entry.regs[R_SP] == sp && entry.regs[R_RA] == (uintptr_t)mips_sigreturn_code,
	      "pc, t9, sp, ra");

	/* the handler edits its frame; rt_sigreturn takes the edits */
	frame.rs_uc.uc_mcontext.sc_regs[R_V0] = 42;
	frame.rs_uc.uc_mcontext.sc_pc += 8;
	frame.rs_uc.uc_mcontext.sc_fpregs[31] = 7;
	mips_sigcontext_to_frame(&frame.rs_uc.uc_mcontext, &back, &fpu_back);
	CHECK(back.regs[R_V0] == 42 && back.regs[R_A3] == f.regs[R_A3] && back.regs[0] == 0 &&
	      back.regs[R_RA] == f.regs[R_RA], "registers back");
	CHECK(back.pc == f.pc + 8 && back.hi == 0x11 && back.lo == 0x22, "pc, hi, lo back");
	CHECK(fpu_back.fpr[31] == 7 && fpu_back.fpr[0] == fpr[0] && fpu_back.fcsr == 0x01000f80,
	      "FPU back");
	test_msa(&f, &fpu);
	return finish();
}
