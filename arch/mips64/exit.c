// SPDX-License-Identifier: MIT
/*
 * MIPS64 host-loop side: entering, exits, syscall returns, leaving the VM,
 * threads.  The user state lives in the vCPU's frame at every exit the
 * guest half makes; only when KVM_RUN was interrupted elsewhere does it sit
 * in KVM's registers, and mips_take_state() moves it into the frame.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "mips.h"

/* entry.S's offsets into struct mips_entry_ctx and struct mips_native */
_Static_assert(offsetof(struct mips_entry_ctx, fpu.fpr) == 96 &&
	       offsetof(struct mips_entry_ctx, fpu.wr_hi) == 352 &&
	       offsetof(struct mips_entry_ctx, fpu.fcsr) == 608 &&
	       offsetof(struct mips_entry_ctx, fpu.msacsr) == 612 &&
	       offsetof(struct mips_entry_ctx, fpu.msa) == 616 &&
	       offsetof(struct mips_entry_ctx, tls) == 624, "entry.S's CTX_*");
_Static_assert(offsetof(struct mips_native, pc) == 272 &&
	       offsetof(struct mips_native, fpu.fpr) == 280 &&
	       offsetof(struct mips_native, fpu.wr_hi) == 536 &&
	       offsetof(struct mips_native, fpu.fcsr) == 792 &&
	       offsetof(struct mips_native, fpu.msacsr) == 796 &&
	       offsetof(struct mips_native, fpu.msa) == 800 &&
	       offsetof(struct mips_native, tls) == 808, "entry.S's NAT_*");

/* The caller's MSA registers are noted too where the VM has MSA (the CPU has it then). */
int arch_enter(struct dune_vcpu *vcpu, void *host_stack_top)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);

	mc->ctx.fpu.msa = mips_vm(vcpu->vm)->has_msa;
	return mips_enter(&mc->ctx, vcpu, host_stack_top, dune_host_start);
}

/* The next KVM_RUN starts the guest half's return path: eret to the frame. */
int mips_run_from_frame(struct dune_vcpu *vcpu)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	uint64_t resume = mips_kseg0(vcpu->vm, mc->block) + mips_block_offset(mips_guest_resume);
	int err = mips_set_one(vcpu, KVM_REG_MIPS_PC, resume);

	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_STATUS, MIPS_USER_STATUS | ST_EXL);
	mc->in_frame = !err;
	return err;
}

/* First KVM_RUN: the caller's saved registers, dune_enter() returning 0. */
void arch_vcpu_start(struct dune_vcpu *vcpu)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct mips_entry_ctx *ctx = &mc->ctx;
	struct mips_frame *f = mc->frame;

	for (int i = 0; i < 32; i++)
		f->regs[i] = 0;
	for (int i = 0; i < 8; i++)
		f->regs[16 + i] = ctx->s[i];
	f->regs[R_GP] = ctx->gp;
	f->regs[R_SP] = ctx->sp;
	f->regs[30] = ctx->fp;
	f->regs[R_RA] = ctx->ra;
	f->hi = f->lo = 0;
	f->pc = ctx->ra;
	f->tls = ctx->tls;
	f->flush = MIPS_FLUSH_ALL;
	mc->syscall = 0;
	mc->start_err = mips_set_fpu(vcpu, &ctx->fpu);
	if (!mc->start_err)
		mc->start_err = mips_run_from_frame(vcpu);
}

/*
 * Make the frame hold the user state.  In user code, or in the guest half
 * before its exit (a refill, or an exception being saved: the user's
 * registers are all intact but k0/k1, and EPC says where it stood), KVM's
 * registers have it and the exception is taken again after whatever the
 * host does; past the exit the frame has it already and the return path
 * starts over.
 */
int mips_take_state(struct dune_vcpu *vcpu)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct mips_frame *f = mc->frame;
	enum mips_state_at at;
	struct kvm_regs r;

	if (mc->in_frame)
		return 0;
	if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_REGS, &r))
		return -EIO;
	at = mips_state_at(mips_kseg0(vcpu->vm, mc->block), r.pc);
	if (at != MIPS_STATE_FRAME) {
		for (int i = 1; i < 32; i++)
			f->regs[i] = r.gpr[i];
		f->hi = r.hi;
		f->lo = r.lo;
		f->pc = r.pc;
		if (at == MIPS_STATE_REGS_EPC && mips_get_one(vcpu, KVM_REG_MIPS_CP0_EPC, &f->pc))
			return -EIO;
		f->cause = 0;
	}
	return mips_run_from_frame(vcpu);
}

long arch_prepare_run(struct dune_vcpu *vcpu)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);

	if (mc->start_err)
		return mc->start_err;
	if (vcpu->flush_pending) {
		if (mips_take_state(vcpu))
			return -EIO;
		mc->frame->flush = MIPS_FLUSH_ALL;
		vcpu->flush_pending = 0;
	}
	return 0;
}

/* What Linux reads for the exception: the Bp/Tr instruction, FCSR for an FPE. */
static void exception_inputs(struct dune_vcpu *vcpu, uint32_t *insn, uint32_t *fcsr)
{
	const struct mips_frame *f = mips_vcpu(vcpu)->frame;
	unsigned int exc = CAUSE_EXCCODE(f->cause);
	uint64_t csr = 0;

	*insn = 0;
	*fcsr = 0;
	if (exc == EXC_BP || exc == EXC_TR)
		(void)dune_read_guest(insn, mips_fault_pc(f), 4);	/* unreadable: 0, SIGTRAP */
	if (exc == EXC_FPE && !mips_get_one(vcpu, KVM_REG_MIPS_FCR_CSR, &csr))
		*fcsr = csr;
}

void arch_decode_exit(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct kvm_run *run = vcpu->run;
	uint32_t insn, fcsr;

	mc->syscall = 0;
	mc->regs_set = 0;
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		if (!run->mmio.is_write || run->mmio.phys_addr != MIPS_EXIT_GPA) {
			e->event = DUNE_EV_MMIO;
			e->mmio_gpa = run->mmio.phys_addr;
			return;
		}
		mc->in_frame = 1;
		exception_inputs(vcpu, &insn, &fcsr);
		mips_decode_frame(mc->frame, insn, fcsr, e);
		if (e->event == DUNE_EV_SYSCALL) {
			mc->syscall = 1;
			mc->orig_a3 = mc->frame->regs[R_A3];
		}
		/* the refill left an invalid or clean entry for the address: drop it */
		if (e->event == DUNE_EV_FAULT && e->fault.is_page_fault && !mc->frame->flush)
			mc->frame->flush = MIPS_FLUSH_ONE;
		return;
	case KVM_EXIT_INTR:
		mc->in_frame = 0;
		e->event = DUNE_EV_INTR;
		return;
	default:
		e->event = DUNE_EV_FATAL;
		e->why = "unexpected KVM exit (not the guest half's MMIO store)";
		return;
	}
}

void arch_syscall_return(struct dune_vcpu *vcpu, long ret)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);

	if (!mc->regs_set)
		mips_syscall_set_return(mc->frame, ret);
	mc->regs_set = 0;
	mc->syscall = 0;
}

/* set_thread_area(2) sets UserLocal, which the guest half loads before each eret. */
int arch_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long *ret)
{
	if (sys->nr != SYS_set_thread_area)
		return 0;
	mips_vcpu(vcpu)->frame->tls = sys->args[0];
	*ret = 0;
	return 1;
}

/* o32 and n32 numbers from n64 code (asm/unistd.h's other ranges): not served. */
long arch_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	if (vcpu->vm->debug)
		dune_log("syscall %ld of another MIPS ABI (AUDIT_ARCH %#x): ENOSYS", sys->nr,
			 sys->compat_arch);
	return -ENOSYS;
}

/* The guest's registers as native code must see them after this exit. */
void arch_capture_native(struct dune_vcpu *vcpu)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	struct mips_native *n = &mc->native;
	const struct mips_frame *f = mc->frame;

	/* Without a usable vCPU (a fork child that got no VM) the state of the fork is it. */
	if (mips_take_state(vcpu) || mips_get_fpu(vcpu, &n->fpu)) {
		f = &mc->saved;
		n->fpu = mc->saved_fpu;
		mc->syscall = 1;
	}
	for (int i = 0; i < 32; i++)
		n->regs[i] = f->regs[i];
	n->regs[0] = 0;
	n->hi = f->hi;
	n->lo = f->lo;
	n->pc = f->pc + (mc->syscall ? 4 : 0);	/* a syscall not returned yet: after it */
	n->tls = f->tls;
}

void arch_native_set(struct dune_vcpu *vcpu, long ret, uintptr_t sp)
{
	struct mips_native *n = &mips_vcpu(vcpu)->native;

	mips_regs_set_return(n->regs, ret);
	if (sp)
		n->regs[R_SP] = sp;
}

void arch_resume_native(struct dune_vcpu *vcpu)
{
	mips_resume_native(&mips_vcpu(vcpu)->native);
}

/* The state at this syscall exit, for a clone of this thread or process. */
int arch_vcpu_save(struct dune_vcpu *vcpu)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu);

	mc->saved = *mc->frame;
	return mips_get_fpu(vcpu, &mc->saved_fpu) ? -EIO : 0;
}

/*
 * Make vcpu return 0 from the syscall saved in from, after the `syscall`:
 * the child of a clone, with its own stack and TLS if the clone gave them.
 * Its block keeps its own page table and exit address.
 */
int arch_vcpu_restore(struct dune_vcpu *vcpu, struct dune_vcpu *from, uintptr_t stack,
		      int settls, unsigned long tls)
{
	struct mips_vcpu *mc = mips_vcpu(vcpu), *mf = mips_vcpu(from);
	struct mips_frame *f = mc->frame;
	uint64_t pgd = f->pgd, exit = f->exit;

	*f = mf->saved;
	f->pgd = pgd;
	f->exit = exit;
	mips_syscall_set_return(f, 0);
	if (stack)
		f->regs[R_SP] = stack;
	if (settls)
		f->tls = tls;
	f->flush = MIPS_FLUSH_ALL;
	mc->syscall = 0;
	if (mips_set_fpu(vcpu, &mf->saved_fpu) || mips_run_from_frame(vcpu))
		return -EIO;
	return 0;
}

/* clone(2) of a thread whose host loop starts on the child vCPU's stack. */
long arch_clone_thread(struct dune_vcpu *child, unsigned long flags, long ptid, long ctid,
		       long tls)
{
	void **top = (void **)(child->stack_top - 16);

	top[0] = child;		/* the child pops both (entry.S) */
	top[1] = (void *)dune_thread_main;
	return mips_clone_thread(flags, top, ptid, tls, ctid);
}

void arch_exit_thread(int *busy, long status)
{
	mips_exit_thread(busy, status);
}
