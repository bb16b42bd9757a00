// SPDX-License-Identifier: MIT
/*
 * MIPS64 n64 signal frames in the guest, laid out as the kernel's
 * setup_rt_frame() does (sigframe.h), so handlers and their
 * rt_sigreturn(2) see what they would natively: a0 = signo, a1 = &info,
 * a2 = &uc, t9 = the handler, ra = the return code (the kernel's is in
 * the vDSO, dune's is mips_sigreturn_code, in libdune's text).
 */
#include <errno.h>
#include <signal.h>
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
	struct mips_fpu fpu;
	uint64_t sp;
	size_t size;

	if (mips_take_state(vcpu) || mips_get_fpu(vcpu, &fpu))
		return dune_fail(-EIO, "cannot read the vCPU's registers for a signal frame");
	if (restart) {
		f->pc -= 4;
		f->regs[R_V0] = restart_nr;
		f->regs[R_A3] = mc->orig_a3;
	}
	memset(&frame, 0, sizeof(frame));
	sp = frame_top(f->regs[R_SP], act->flags & SA_ONSTACK, &frame.rs_uc.uc_stack);
	size = mips_sigframe_size(&fpu);
	sp = (sp - size) & ALMASK;
	entry = *f;
	mips_sigframe_setup(&entry, &fpu, info, act, old_mask, sp, (uintptr_t)mips_sigreturn_code,
			    &frame);
	if (dune_write_guest(vcpu->vm, sp, &frame, size))
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
	struct mips_fpu fpu = { .msa = 0 };	/* no MSA context: its state stays the handler's */
	uint64_t sp = f->regs[R_SP];
	size_t size = offsetof(struct mips_rt_sigframe, rs_msa);

	/* a frame in dune's own memory is as unreadable as natively */
	if (dune_overlaps_own(vcpu->vm, sp, sp + size) || dune_read_guest(&frame, sp, size))
		return dune_fail(-EFAULT, "no signal frame at %#lx (pc %#lx)", (unsigned long)sp,
				 (unsigned long)f->pc);
	if (frame.rs_uc.uc_mcontext.sc_used_math & MIPS_USED_EXTCONTEXT) {
		size = sizeof(frame);
		fpu.msa = mips_vm(vcpu->vm)->has_msa;
		if (dune_overlaps_own(vcpu->vm, sp, sp + size) || dune_read_guest(&frame, sp, size) ||
		    mips_extcontext_to_fpu(&frame, &fpu))
			return dune_fail(-EFAULT, "no extended context in the signal frame at %#lx",
					 (unsigned long)sp);
	}
	mips_sigcontext_to_frame(&frame.rs_uc.uc_mcontext, f, &fpu);
	*mask = frame.rs_uc.uc_sigmask[0];
	*ret = f->regs[R_V0];
	mc->regs_set = 1;	/* v0, a3 and pc are the frame's: arch_syscall_return leaves them */
	return mips_set_fpu(vcpu, &fpu) ? dune_fail(-EIO, "cannot restore the FPU") : 0;
}

/* t9 the entry as well: PIC code finds gp from it (tools/mips64/tool-arch.h) */
int arch_exec_start(struct dune_vcpu *vcpu, uintptr_t entry, uintptr_t sp)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct mips_frame *f = mc->frame;

	memset(f->regs, 0, sizeof(f->regs));
	f->hi = f->lo = 0;
	f->regs[R_SP] = sp;
	f->regs[R_T9] = entry;
	f->pc = entry;
	mc->regs_set = 1;	/* v0 stays 0: no rtld_fini */
	return 0;
}

/*
 * The interrupted host code was in arch_forward_syscall (entry.S) past its
 * check of *call, or at the template's `syscall` called from there, which
 * the kernel has not taken yet: the call returns as if SIGNALLED.  $16 says
 * which call arch_forward_syscall is making.
 */
void arch_forward_cancel(void *uc, const void *insn, const int *call)
{
	extern const char mips_forward_check[], mips_forward_call[], mips_forward_made[],
		mips_forward_cancelled[];
	mcontext_t *m = &((ucontext_t *)uc)->uc_mcontext;
	const char *pc = (const char *)m->pc;

	if (m->gregs[R_S0] != (uintptr_t)call)
		return;
	if ((pc >= mips_forward_check && pc <= mips_forward_call) ||
	    (pc == insn && m->gregs[R_RA] == (uintptr_t)mips_forward_made))
		m->pc = (uintptr_t)mips_forward_cancelled;
}
