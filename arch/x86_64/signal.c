// SPDX-License-Identifier: MIT
/*
 * x86-64 signal frames, as the kernel builds them (arch/x86/kernel/signal.c):
 * rt_sigframe = return address (sa_restorer), ucontext, siginfo, XSAVE image.
 * The guest's user state is read and written whatever the exit was: in the
 * LSTAR stub (a syscall), in an exception stub (its iret frame holds RIP, RSP
 * and RFLAGS), or interrupted CPL3 code.  Host loop code: raw syscalls only.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define FP_XSTATE_MAGIC1	0x46505853U
#define FP_XSTATE_MAGIC2	0x46505845U
#define XSAVE_SIZE		sizeof(struct kvm_xsave)
#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4
#define RFLAGS_USER		0x254dd5ULL	/* flags sigreturn may change (FIX_EFLAGS) */

/* The kernel's ucontext (glibc's ucontext_t is longer); glibc's sigcontext. */
struct kernel_ucontext {
	unsigned long uc_flags;
	void *uc_link;
	stack_t uc_stack;
	struct sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode;
	struct kernel_ucontext uc;
	siginfo_t info;
};

/* The registers as the program sees them at this exit. */
static void user_regs(struct dune_vcpu *vcpu, struct kvm_regs *r)
{
	x86_user_regs(vcpu, &vcpu->run->s.regs.regs, r);
}

/*
 * The code segment of the program at this exit: 64-bit, or compat mode (an
 * exception frame says; a syscall comes from 64-bit code; interrupted CPL3
 * code is asked for: a far jump or return changes it without an exit, and
 * KVM reports CS only with all of KVM_GET_SREGS, or by KVM_SYNC_X86_SREGS on
 * every exit, which would cost each syscall what it saves a signal).
 */
static uint16_t user_cs(struct dune_vcpu *vcpu)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	struct kvm_sregs s;

	if (xc->exc_frame)
		return xc->exc_frame[1];
	if (x86_in_syscall_stub(vcpu, &vcpu->run->s.regs.regs) ||
	    sys3(SYS_ioctl, vcpu->fd, KVM_GET_SREGS, &s))
		return GDT_USER_CS;
	return s.cs.selector;
}

/*
 * Continue at CPL3 with r in code segment cs (now: the one the vCPU has).
 * From an exception stub its iretq does it; from the syscall stub on
 * hardware the vCPU is at CPL0, so its segments go back to user ones
 * (kvm_pvm runs the stub at CPL3 already), as they do for a change of mode.
 */
static int set_user_regs(struct dune_vcpu *vcpu, const struct kvm_regs *r, uint16_t cs,
			 uint16_t now)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	struct kvm_regs *g = &vcpu->run->s.regs.regs;
	struct kvm_sregs s;

	if (cs != GDT_USER_CS && cs != GDT_USER_CS32)
		return dune_fail(-EINVAL, "code segment %#x (now %#x, rip %#llx)", cs, now, g->rip);
	if (xc->exc_frame) {
		uint64_t rsp = g->rsp, rip = g->rip, rflags = g->rflags;

		*g = *r;
		g->rsp = rsp;
		g->rip = rip;
		g->rflags = rflags;
		xc->exc_frame[0] = r->rip;
		xc->exc_frame[1] = cs;
		xc->exc_frame[2] = r->rflags;
		xc->exc_frame[3] = r->rsp;
		xc->exc_frame[4] = GDT_USER_DS;
	} else {
		if (cs != now || (x86_in_syscall_stub(vcpu, g) && x86_vcpu_hw_semantics())) {
			if (dune_ioctl(vcpu->fd, KVM_GET_SREGS, &s))
				return -EIO;
			x86_fill_user_sregs(vcpu, &s);
			s.cs = x86_user_code_segment(cs);
			if (dune_ioctl(vcpu->fd, KVM_SET_SREGS, &s))
				return -EIO;
		}
		*g = *r;
	}
	xc->last_syscall = 0;
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

static void regs_to_sigcontext(const struct kvm_regs *r, uint16_t cs, struct sigcontext *sc)
{
	sc->r8 = r->r8; sc->r9 = r->r9; sc->r10 = r->r10; sc->r11 = r->r11;
	sc->r12 = r->r12; sc->r13 = r->r13; sc->r14 = r->r14; sc->r15 = r->r15;
	sc->rdi = r->rdi; sc->rsi = r->rsi; sc->rbp = r->rbp; sc->rbx = r->rbx;
	sc->rdx = r->rdx; sc->rax = r->rax; sc->rcx = r->rcx; sc->rsp = r->rsp;
	sc->rip = r->rip; sc->eflags = r->rflags;
	sc->cs = cs;
	sc->__pad0 = GDT_USER_DS;	/* ss */
}

static void sigcontext_to_regs(const struct sigcontext *sc, struct kvm_regs *r)
{
	r->r8 = sc->r8; r->r9 = sc->r9; r->r10 = sc->r10; r->r11 = sc->r11;
	r->r12 = sc->r12; r->r13 = sc->r13; r->r14 = sc->r14; r->r15 = sc->r15;
	r->rdi = sc->rdi; r->rsi = sc->rsi; r->rbp = sc->rbp; r->rbx = sc->rbx;
	r->rdx = sc->rdx; r->rax = sc->rax; r->rcx = sc->rcx; r->rsp = sc->rsp;
	r->rip = sc->rip;
	r->rflags = (r->rflags & ~RFLAGS_USER) | (sc->eflags & RFLAGS_USER);
}

/* Where the frame goes: the alternate stack if asked for and not on it yet. */
static uint64_t frame_top(uint64_t rsp, int onstack, stack_t *ss)
{
	if (sys2(SYS_sigaltstack, NULL, ss) || (ss->ss_flags & SS_DISABLE))
		ss->ss_flags = SS_DISABLE;
	if (onstack && !(ss->ss_flags & (SS_DISABLE | SS_ONSTACK)))
		return (uint64_t)ss->ss_sp + ss->ss_size;
	return rsp - 128;	/* below the red zone */
}

/* The software bytes the kernel puts in an XSAVE image for sigreturn. */
static void mark_xsave(uint8_t *image, uint64_t xcr0)
{
	uint32_t *sw = (uint32_t *)(image + 464);

	sw[0] = FP_XSTATE_MAGIC1;
	sw[1] = XSAVE_SIZE + 4;		/* extended_size: with FP_XSTATE_MAGIC2 */
	memcpy(image + 464 + 8, &xcr0, 8);	/* xfeatures */
	sw[4] = XSAVE_SIZE;		/* xstate_size */
}

/*
 * Push a signal frame for a handler and go there.  restart: the interrupted
 * syscall is re-issued when the handler returns.
 */
int arch_signal_deliver(struct dune_vcpu *vcpu, const siginfo_t *info,
			const struct dune_sigaction *act, uint64_t old_mask, int restart,
			long restart_nr)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	uint8_t *image = (uint8_t *)xc->xsave.region;
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	struct rt_sigframe frame;
	struct kvm_regs r;
	uint64_t top, fp, sp;
	uint16_t cs = user_cs(vcpu);
	stack_t ss;

	user_regs(vcpu, &r);
	if (restart) {
		r.rip -= 2;		/* the `syscall` instruction again */
		r.rax = restart_nr;
	}
	top = frame_top(r.rsp, act->flags & SA_ONSTACK, &ss);
	fp = DUNE_ALIGN_DOWN(top - XSAVE_SIZE - sizeof(magic2), 64);
	sp = DUNE_ALIGN_DOWN(fp - sizeof(frame), 16) - 8;	/* as right after a call */
	if (!xc->xsave_current && dune_ioctl(vcpu->fd, KVM_GET_XSAVE, &xc->xsave))
		return -EIO;
	xc->xsave_current = 0;		/* a second frame reads what this one leaves */
	mark_xsave(image, x86_vm(vcpu->vm)->guest_xcr0);
	memset(&frame, 0, sizeof(frame));
	frame.pretcode = (uint64_t)act->restorer;
	frame.uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	frame.uc.uc_stack = ss;
	regs_to_sigcontext(&r, cs, &frame.uc.uc_mcontext);
	frame.uc.uc_mcontext.trapno = xc->exc_taken ? xc->exc_vector : 0;
	frame.uc.uc_mcontext.err = xc->exc_taken ? xc->exc_error : 0;
	frame.uc.uc_mcontext.cr2 = info->si_signo == SIGSEGV ? (uint64_t)info->si_addr : 0;
	frame.uc.uc_mcontext.oldmask = old_mask;
	frame.uc.uc_mcontext.fpstate = (struct _fpstate *)fp;
	frame.uc.uc_sigmask = old_mask;
	frame.info = *info;
	if (dune_write_guest(vcpu->vm, fp, image, XSAVE_SIZE) ||
	    dune_write_guest(vcpu->vm, fp + XSAVE_SIZE, &magic2, sizeof(magic2)) ||
	    dune_write_guest(vcpu->vm, sp, &frame, sizeof(frame)))
		return dune_fail(-EFAULT, "no room for a signal frame at %#lx (rip %#llx)",
				 (unsigned long)sp, r.rip);
	if (x86_pkru_for_handler(vcpu, image))
		return -EIO;
	r.rdi = info->si_signo;
	r.rsi = sp + offsetof(struct rt_sigframe, info);
	r.rdx = sp + offsetof(struct rt_sigframe, uc);
	r.rax = 0;
	r.rsp = sp;
	r.rip = (uint64_t)act->handler;
	r.rflags &= ~(0x400ULL | 0x100ULL | 0x10000ULL);	/* DF TF RF, as Linux */
	return set_user_regs(vcpu, &r, GDT_USER_CS, cs);	/* handlers run in 64-bit mode */
}

/* rt_sigreturn(): the state the frame holds, changes by the handler included. */
int arch_sigreturn(struct dune_vcpu *vcpu, uint64_t *mask, long *rax)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	struct rt_sigframe frame;
	struct kvm_regs r;
	uint64_t fpstate;

	user_regs(vcpu, &r);
	/* the restorer was entered by the handler's ret: rsp is past pretcode */
	/* a frame in dune's own memory is as unreadable as natively */
	if (dune_overlaps_own(vcpu->vm, r.rsp - 8, r.rsp - 8 + sizeof(frame)) ||
	    dune_read_guest(&frame, r.rsp - 8, sizeof(frame)))
		return dune_fail(-EFAULT, "no signal frame at %#llx (rip %#llx)", r.rsp - 8, r.rip);
	sigcontext_to_regs(&frame.uc.uc_mcontext, &r);
	*mask = frame.uc.uc_sigmask;
	*rax = r.rax;
	fpstate = (uint64_t)frame.uc.uc_mcontext.fpstate;
	if (fpstate && !dune_overlaps_own(vcpu->vm, fpstate, fpstate + XSAVE_SIZE) &&
	    !dune_read_guest(&xc->xsave, fpstate, XSAVE_SIZE))
		dune_ioctl(vcpu->fd, KVM_SET_XSAVE, &xc->xsave);
	return set_user_regs(vcpu, &r, frame.uc.uc_mcontext.cs | 3, user_cs(vcpu));
}

int arch_exec_start(struct dune_vcpu *vcpu, uintptr_t entry, uintptr_t sp)
{
	struct kvm_regs r;

	user_regs(vcpu, &r);
	r = (struct kvm_regs){ .rip = entry, .rsp = sp, .rflags = r.rflags & ~RFLAGS_USER };
	return set_user_regs(vcpu, &r, GDT_USER_CS, user_cs(vcpu));
}

/*
 * The interrupted host code was in arch_forward_syscall (entry.S) past its
 * check of *call, or at the template's `syscall` called from there, which
 * the kernel has not taken yet: return -DUNE_ERESTARTNOINTR from there
 * instead.  (Before the check, the check sees the call SIGNALLED.)  Its
 * frame: the pushed rbx, our caller's return address, then a5, insn, call.
 */
void arch_forward_cancel(void *uc, const void *insn, const int *call)
{
	extern const char x86_forward_check[], x86_forward_call[], x86_forward_made[],
		x86_forward_cancelled[];
	greg_t *g = ((ucontext_t *)uc)->uc_mcontext.gregs;
	const uint64_t *sp = (const uint64_t *)g[REG_RSP];
	const char *ip = (const char *)g[REG_RIP];

	if (ip >= x86_forward_check && ip <= x86_forward_call) {
		if (sp[4] == (uintptr_t)call)
			g[REG_RIP] = (greg_t)x86_forward_cancelled;
	} else if (ip == insn && sp[0] == (uintptr_t)x86_forward_made && sp[5] == (uintptr_t)call) {
		g[REG_RIP] = (greg_t)x86_forward_cancelled;	/* off the call's frame */
		g[REG_RSP] += 8;
	}
}
