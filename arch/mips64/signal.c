// SPDX-License-Identifier: MIT
/*
 * MIPS64 n64 signal frames in the guest, laid out as the kernel's
 * setup_rt_frame() does (sigframe.h), so handlers and their
 * rt_sigreturn(2) see what they would natively: a0 = signo, a1 = &info,
 * a2 = &uc, t9 = the handler, ra = the return code (the kernel's is in
 * the vDSO, dune's is mips_sigreturn_code, in libdune's text).
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "mips.h"
#include "sigframe.h"

#define ALMASK	(~(uint64_t)(MIPS_SIGFRAME_ALIGN - 1))

_Static_assert(sizeof(siginfo_t) == MIPS_SIGINFO_SIZE, "siginfo_t");

/* get_sigframe(): the alternate stack if asked for and not on it yet. */
static uint64_t frame_top(uint64_t sp, int onstack, struct mips_stack *ms)
{
	stack_t ss;

	sp -= MIPS_SIGFRAME_GAP;
	if (sys2(SYS_sigaltstack, NULL, &ss))
		ss.ss_flags = SS_DISABLE;
	ms->ss_sp = (uintptr_t)ss.ss_sp;
	ms->ss_size = ss.ss_size;
	ms->ss_flags = ss.ss_flags;
	if (onstack && !(ss.ss_flags & (SS_DISABLE | SS_ONSTACK)))
		return (uintptr_t)ss.ss_sp + ss.ss_size;
	return sp;
}

/* setup_sigcontext(): the frame's registers, FPU in FR=1 layout. */
void mips_frame_to_sigcontext(const struct mips_frame *f, const uint64_t fpr[32], uint32_t fcsr,
			      struct mips_sigcontext *sc)
{
	memset(sc, 0, sizeof(*sc));
	for (int i = 1; i < 32; i++)
		sc->sc_regs[i] = f->regs[i];
	memcpy(sc->sc_fpregs, fpr, sizeof(sc->sc_fpregs));
	sc->sc_mdhi = f->hi;
	sc->sc_mdlo = f->lo;
	sc->sc_pc = f->pc;
	sc->sc_fpc_csr = fcsr;
	sc->sc_used_math = MIPS_USED_FP | MIPS_USED_FR1;
}

/* restore_sigcontext(): everything but k0/k1, which the guest half clobbers anyway. */
void mips_sigcontext_to_frame(const struct mips_sigcontext *sc, struct mips_frame *f,
			      uint64_t fpr[32], uint32_t *fcsr)
{
	for (int i = 1; i < 32; i++)
		f->regs[i] = sc->sc_regs[i];
	f->regs[0] = 0;
	f->hi = sc->sc_mdhi;
	f->lo = sc->sc_mdlo;
	f->pc = sc->sc_pc;
	memcpy(fpr, sc->sc_fpregs, sizeof(sc->sc_fpregs));
	*fcsr = sc->sc_fpc_csr;
}

/*
 * The frame for act's handler at sp, and the registers that enter it
 * (frame.rs_uc.uc_stack is the caller's).
 */
void mips_sigframe_setup(struct mips_frame *f, const uint64_t fpr[32], uint32_t fcsr,
			 const siginfo_t *info, const struct dune_sigaction *act, uint64_t old_mask,
			 uint64_t sp, struct mips_rt_sigframe *frame)
{
	memcpy(frame->rs_info, info, sizeof(frame->rs_info));
	mips_frame_to_sigcontext(f, fpr, fcsr, &frame->rs_uc.uc_mcontext);
	frame->rs_uc.uc_sigmask[0] = old_mask;
	frame->rs_uc.uc_sigmask[1] = 0;
	f->regs[R_A0] = info->si_signo;
	f->regs[R_A0 + 1] = sp + offsetof(struct mips_rt_sigframe, rs_info);
	f->regs[R_A0 + 2] = sp + offsetof(struct mips_rt_sigframe, rs_uc);
	f->regs[R_SP] = sp;
	f->regs[R_RA] = (uintptr_t)mips_sigreturn_code;
	f->regs[R_T9] = (uintptr_t)act->handler;
	f->pc = (uintptr_t)act->handler;
}

/*
 * Push a signal frame for a handler and go there.  restart: the interrupted
 * syscall is re-issued when the handler returns (pc back on `syscall`, v0
 * its number, a3 its fourth argument again, as Linux's handle_signal()).
 */
int arch_signal_deliver(struct dune_vcpu *vcpu, const siginfo_t *info,
			const struct dune_sigaction *act, uint64_t old_mask, int restart,
			long restart_nr)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct mips_frame *f = mc->frame, entry;
	struct mips_rt_sigframe frame;
	uint64_t fpr[32], sp;
	uint32_t fcsr;

	if (mips_take_state(vcpu) || mips_get_fpu(vcpu, fpr, &fcsr))
		return dune_fail(-EIO, "cannot read the vCPU's registers for a signal frame");
	if (restart) {
		f->pc -= 4;
		f->regs[R_V0] = restart_nr;
		f->regs[R_A3] = mc->orig_a3;
	}
	memset(&frame, 0, sizeof(frame));
	sp = frame_top(f->regs[R_SP], act->flags & SA_ONSTACK, &frame.rs_uc.uc_stack);
	sp = (sp - sizeof(frame)) & ALMASK;
	entry = *f;
	mips_sigframe_setup(&entry, fpr, fcsr, info, act, old_mask, sp, &frame);
	if (dune_write_guest(vcpu->vm, sp, &frame, sizeof(frame)))
		return dune_fail(-EFAULT, "no room for a signal frame at %#lx (pc %#lx)",
				 (unsigned long)sp, (unsigned long)f->pc);
	*f = entry;
	mc->syscall = 0;
	return 0;
}

/* rt_sigreturn(): the state the frame at sp holds, changes by the handler included. */
int arch_sigreturn(struct dune_vcpu *vcpu, uint64_t *mask, long *ret)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct mips_frame *f = mc->frame;
	struct mips_rt_sigframe frame;
	uint64_t sp = f->regs[R_SP], fpr[32];
	uint32_t fcsr;

	/* a frame in dune's own memory is as unreadable as natively */
	if (dune_overlaps_own(vcpu->vm, sp, sp + sizeof(frame)) ||
	    dune_read_guest(&frame, sp, sizeof(frame)))
		return dune_fail(-EFAULT, "no signal frame at %#lx (pc %#lx)", (unsigned long)sp,
				 (unsigned long)f->pc);
	mips_sigcontext_to_frame(&frame.rs_uc.uc_mcontext, f, fpr, &fcsr);
	*mask = frame.rs_uc.uc_sigmask[0];
	*ret = f->regs[R_V0];
	mc->regs_set = 1;	/* v0, a3 and pc are the frame's: arch_syscall_return leaves them */
	return mips_set_fpu(vcpu, fpr, fcsr) ? dune_fail(-EIO, "cannot restore the FPU") : 0;
}
