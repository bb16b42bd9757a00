// SPDX-License-Identifier: MIT
/*
 * LoongArch64 signals in the guest: the kernel's frame (sigframe.c) on the
 * program's stack or sigaltstack, the handler returning through the vDSO's
 * __vdso_rt_sigreturn in ra.  Host loop code: raw syscalls only.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "la.h"

static int vec_bytes(struct dune_vm *vm)
{
	uint64_t euen = la_vm(vm)->euen;

	return euen & LA_EUEN_ASXE ? 32 : euen & LA_EUEN_SXE ? 16 : 8;
}

/* Where the frame goes: the alternate stack if asked for and not on it yet. */
static uint64_t frame_top(uint64_t sp, int onstack, stack_t *ss)
{
	if (sys2(SYS_sigaltstack, NULL, ss) || (ss->ss_flags & SS_DISABLE))
		ss->ss_flags = SS_DISABLE;
	if (onstack && !(ss->ss_flags & (SS_DISABLE | SS_ONSTACK)))
		return (uint64_t)ss->ss_sp + ss->ss_size;
	return sp;
}

int arch_signal_deliver(struct dune_vcpu *vcpu, const siginfo_t *info,
			const struct dune_sigaction *act, uint64_t old_mask, int restart,
			long restart_nr)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	uint8_t buf[LA_SIGFRAME_MAX] __attribute__((aligned(16)));
	uint64_t regs[32], pc, sp, top, end;
	struct la_sigframe_in in;

	if (la_user_regs(vcpu, regs, &pc) || sys3(SYS_ioctl, vcpu->fd, KVM_GET_FPU, &lc->fpu))
		return -EIO;
	if (restart) {		/* the `syscall` again, with its first argument */
		pc -= LA_INSN_SIZE;
		regs[LA_A0] = lc->orig_a0;
		regs[LA_A7] = restart_nr;
	}
	in = (struct la_sigframe_in){ .regs = regs, .pc = pc, .fpu = &lc->fpu,
				      .vec_bytes = vec_bytes(vcpu->vm), .info = info,
				      .mask = old_mask };
	top = frame_top(regs[LA_SP], act->flags & SA_ONSTACK, &in.stack);
	sp = la_sigframe_build(buf, top, &in);
	end = la_sigframe_end(top);
	if (dune_overlaps_own(vcpu->vm, sp, end) || dune_write_guest(vcpu->vm, sp, buf, end - sp))
		return dune_fail(-EFAULT, "no room for a signal frame at %#lx (pc %#lx)",
				 (unsigned long)sp, (unsigned long)pc);
	regs[LA_A0] = info->si_signo;
	regs[LA_A0 + 1] = sp + LA_SIGFRAME_INFO;
	regs[LA_A0 + 2] = sp + LA_SIGFRAME_UC;
	regs[LA_SP] = sp;
	regs[LA_RA] = la_vm(vcpu->vm)->sigreturn;
	return la_set_user_regs(vcpu, regs, (uint64_t)act->handler);
}

/* rt_sigreturn(): the frame at sp, with the handler's changes. */
int arch_sigreturn(struct dune_vcpu *vcpu, uint64_t *mask, long *ret)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	uint8_t buf[LA_SIGFRAME_MAX] __attribute__((aligned(16)));
	size_t len = la_sigframe_size(vec_bytes(vcpu->vm));
	uint64_t regs[32], pc, sp;
	int fp;

	if (la_user_regs(vcpu, regs, &pc))
		return -EIO;
	sp = regs[LA_SP];
	/* a frame in dune's own memory is as unreadable as natively */
	if (dune_overlaps_own(vcpu->vm, sp, sp + len))
		return dune_fail(-EFAULT, "no signal frame at %#lx (pc %#lx)", (unsigned long)sp,
				 (unsigned long)pc);
	/* a frame at the top of a stack: its mapping may end before len */
	if (dune_read_guest(buf, sp, len) &&
	    DUNE_ALIGN_UP(sp + LA_SIGFRAME_BASE, DUNE_PAGE_SIZE) - sp < len)
		len = DUNE_ALIGN_UP(sp + LA_SIGFRAME_BASE, DUNE_PAGE_SIZE) - sp;
	if (dune_read_guest(buf, sp, len))
		return dune_fail(-EFAULT, "no signal frame at %#lx (pc %#lx)", (unsigned long)sp,
				 (unsigned long)pc);
	fp = la_sigframe_parse(buf, len, regs, &pc, &lc->fpu, mask);
	if (fp < 0)
		return dune_fail(-EFAULT, "bad signal frame at %#lx", (unsigned long)sp);
	if (fp && sys3(SYS_ioctl, vcpu->fd, KVM_SET_FPU, &lc->fpu))
		return -EIO;
	*ret = regs[LA_A0];
	return la_set_user_regs(vcpu, regs, pc);
}

/* (a0, the syscall's result, is 0: no rtld_fini) */
int arch_exec_start(struct dune_vcpu *vcpu, uintptr_t entry, uintptr_t sp)
{
	uint64_t regs[32] = { 0 };

	regs[LA_SP] = sp;
	return la_set_user_regs(vcpu, regs, entry);
}

/*
 * The interrupted host code was in arch_forward_syscall (entry.S) past its
 * check of *call (in s0 there) but before the kernel took the call: return
 * -DUNE_ERESTARTNOINTR from there instead.
 */
void arch_forward_cancel(void *uc, const void *insn, const int *call)
{
	extern const char la_forward_check[], la_forward_call[], la_forward_made[],
		la_forward_cancelled[];
	mcontext_t *m = &((ucontext_t *)uc)->uc_mcontext;
	const char *pc = (const char *)m->__pc;

	if (m->__gregs[LA_S0] != (uintptr_t)call)
		return;
	if ((pc >= la_forward_check && pc <= la_forward_call) ||
	    (pc == insn && m->__gregs[LA_RA] == (uintptr_t)la_forward_made))
		m->__pc = (uintptr_t)la_forward_cancelled;
}
