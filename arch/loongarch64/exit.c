// SPDX-License-Identifier: MIT
/*
 * LoongArch64 host-loop side: start the guest, decode exits, return syscall
 * results, continue natively.  The program's registers are in the vCPU's
 * exit frame after a stub exit (no ioctl needed), or in KVM's registers
 * when KVM_RUN was interrupted; a vCPU interrupted inside the guest kernel
 * is first put back where the program stands.  Runs on the host stack: raw
 * syscalls only.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "la.h"

#define ECODE_SYS	11
#define ECODE_FPE	18
#define FCSR_CAUSE	(0x1fU << 24)

int la_set_csr(struct dune_vcpu *vcpu, uint32_t csr, uint64_t value)
{
	struct kvm_one_reg reg = { .id = LA_KVM_CSR_ID(csr), .addr = (uint64_t)&value };

	return sys3(SYS_ioctl, vcpu->fd, KVM_SET_ONE_REG, &reg);
}

int la_get_csr(struct dune_vcpu *vcpu, uint32_t csr, uint64_t *value)
{
	struct kvm_one_reg reg = { .id = LA_KVM_CSR_ID(csr), .addr = (uint64_t)value };

	return sys3(SYS_ioctl, vcpu->fd, KVM_GET_ONE_REG, &reg);
}

int arch_enter(struct dune_vcpu *vcpu, void *host_stack_top)
{
	return la_enter(&la_vcpu(vcpu)->ctx, vcpu, host_stack_top);
}

static uint64_t guest_code(struct dune_vcpu *vcpu, const char *sym)
{
	return LA_DMW1_BASE | (la_vm(vcpu->vm)->ka_gpa + la_guest_offset(sym));
}

/*
 * First KVM_RUN: the caller's saved registers and FPU, dune_enter() returning
 * 0, in user mode (after dune_escape() the vCPU stood in the guest kernel).
 */
void arch_vcpu_start(struct dune_vcpu *vcpu)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	struct la_entry_ctx *ctx = &lc->ctx;

	memset(&lc->regs, 0, sizeof(lc->regs));
	lc->regs.gpr[LA_RA] = ctx->ra;
	lc->regs.gpr[LA_TP] = ctx->tp;
	lc->regs.gpr[LA_SP] = ctx->sp;
	lc->regs.gpr[LA_FP] = ctx->fp;
	memcpy(&lc->regs.gpr[LA_S0], ctx->s, sizeof(ctx->s));
	lc->regs.pc = ctx->ra;
	memset(&lc->fpu, 0, sizeof(lc->fpu));
	for (int i = 0; i < 32; i++)
		lc->fpu.fpr[i].val64[0] = ctx->fpr[i];
	lc->fpu.fcc = ctx->fcc;
	lc->fpu.fcsr = ctx->fcsr;
	/* a failure shows at once: KVM_RUN of a vCPU with no sane state */
	(void)sys3(SYS_ioctl, vcpu->fd, KVM_SET_FPU, &lc->fpu);
	(void)la_set_csr(vcpu, LA_CSR_CRMD, LA_CRMD_USER);
	lc->state = LA_IN_VCPU;
	lc->regs_dirty = 1;
}

/*
 * Run the program from the frame next time: the vCPU enters the guest
 * kernel's restore path at PLV0, as if it had just taken an exception there.
 */
static int stop_in_kernel(struct dune_vcpu *vcpu)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	if (lc->state == LA_IN_FRAME)
		return 0;
	memcpy(lc->frame->regs, lc->regs.gpr, sizeof(lc->frame->regs));
	lc->frame->era = lc->regs.pc;
	if (la_set_csr(vcpu, LA_CSR_PRMD, LA_PRMD_PPLV3 | LA_PRMD_PIE) ||
	    la_set_csr(vcpu, LA_CSR_CRMD, LA_CRMD_PG | LA_CRMD_DATF_CC | LA_CRMD_DATM_CC))
		return -EIO;
	lc->regs.pc = guest_code(vcpu, la_guest_restore);
	lc->regs_dirty = 1;
	lc->state = LA_IN_FRAME;
	return 0;
}

/* vDSO getcpu() reads the TID with rdtime: the host thread's CPU, as of this exit. */
static void sync_tid(struct dune_vcpu *vcpu)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	unsigned int cpu;

	if (sys3(SYS_getcpu, &cpu, NULL, NULL) || cpu == lc->tid)
		return;
	if (!la_set_csr(vcpu, LA_CSR_TID, cpu))
		lc->tid = cpu;
}

/* A pending flush stays pending until it is done: the guest must not run before. */
long arch_prepare_run(struct dune_vcpu *vcpu)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	sync_tid(vcpu);
	if (vcpu->flush_pending) {
		if (stop_in_kernel(vcpu))
			return -EIO;
		lc->frame->flush = 1;	/* invtlb on the way back */
		vcpu->flush_pending = 0;
	}
	if (lc->regs_dirty) {
		long err = sys3(SYS_ioctl, vcpu->fd, KVM_SET_REGS, &lc->regs);

		if (err)
			return err;
		lc->regs_dirty = 0;
	}
	return 0;
}

int la_user_regs(struct dune_vcpu *vcpu, uint64_t regs[32], uint64_t *pc)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	if (lc->state == LA_IN_FRAME) {
		memcpy(regs, lc->frame->regs, 32 * 8);
		*pc = lc->frame->era;
	} else {
		memcpy(regs, lc->regs.gpr, 32 * 8);
		*pc = lc->regs.pc;
	}
	return 0;
}

int la_set_user_regs(struct dune_vcpu *vcpu, const uint64_t regs[32], uint64_t pc)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	if (lc->state == LA_IN_FRAME) {
		memcpy(&lc->frame->regs[1], &regs[1], 31 * 8);
		lc->frame->era = pc;
	} else {
		memcpy(&lc->regs.gpr[1], &regs[1], 31 * 8);
		lc->regs.pc = pc;
		lc->regs_dirty = 1;
	}
	return 0;
}

static void decode_syscall(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	const uint64_t *r = lc->frame->regs;

	e->event = DUNE_EV_SYSCALL;
	e->sys.nr = r[LA_A7];
	for (int i = 0; i < 6; i++)
		e->sys.args[i] = r[LA_A0 + i];
	lc->frame->era += LA_INSN_SIZE;	/* a vCPU found past the exit has its syscall done */
	e->sys.ip = lc->frame->era;
	e->sys.compat_arch = 0;
	lc->orig_a0 = r[LA_A0];
}

static void fatal(struct dune_exit *e, const char *why)
{
	e->event = DUNE_EV_FATAL;
	e->why = why;
}

/* The program took an exception: the signal Linux sends for it. */
static void decode_exception(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	uint32_t fcsr = 0;

	if (LA_ESTAT_ECODE(lc->frame->estat) == ECODE_FPE) {
		if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_FPU, &lc->fpu))
			return fatal(e, "KVM_GET_FPU failed");
		fcsr = lc->fpu.fcsr;
		lc->fpu.fcsr &= ~FCSR_CAUSE;	/* as do_fpe() before the signal */
		(void)sys3(SYS_ioctl, vcpu->fd, KVM_SET_FPU, &lc->fpu);	/* else it traps again */
	}
	e->event = la_exception_signal(lc->frame, fcsr, &e->fault) ? DUNE_EV_FAULT : DUNE_EV_INTR;
}

/* The exit store of the guest kernel: a syscall or an exception of the program. */
static void decode_stub_exit(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	lc->state = LA_IN_FRAME;
	if ((lc->frame->prmd & LA_PRMD_PPLV3) != LA_PRMD_PPLV3) {
		if (vcpu->vm->debug)
			dune_log("vcpu %d: exception %#lx at PLV0, era %p", vcpu->id,
				 (unsigned long)lc->frame->estat, (void *)lc->frame->era);
		return fatal(e, "exception in the guest kernel");
	}
	if (LA_ESTAT_ECODE(lc->frame->estat) == ECODE_SYS)
		decode_syscall(vcpu, e);
	else
		decode_exception(vcpu, e);
}

/* CRMD for going back to the mode PRMD-like bits (PPLV, PIE) describe. */
static uint64_t crmd_of(uint64_t prmd)
{
	return (prmd & (LA_PRMD_PPLV3 | LA_PRMD_PIE)) | LA_CRMD_PG | LA_CRMD_DATF_CC |
	       LA_CRMD_DATM_CC;
}

/*
 * Undo an exception entry the guest kernel has not finished (before its
 * exit store, or in the TLB refill): the program stands at the instruction
 * again, which traps again when it runs.  scratch holds t0 once the entry
 * code saved it there.
 */
static int rewind(struct dune_vcpu *vcpu, uint32_t scratch, int saved, uint32_t era_csr,
		  uint32_t prmd_csr)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	uint64_t t0 = lc->regs.gpr[LA_T0], era, prmd;

	if ((saved && la_get_csr(vcpu, scratch, &t0)) || la_get_csr(vcpu, era_csr, &era) ||
	    la_get_csr(vcpu, prmd_csr, &prmd) || la_set_csr(vcpu, LA_CSR_CRMD, crmd_of(prmd)))
		return -EIO;
	lc->regs.gpr[LA_T0] = t0;
	lc->regs.pc = era & ~3ULL;	/* TLBRERA's bit 0 says "in a refill" */
	lc->regs_dirty = 1;
	return 0;
}

/* Where pc stands: in the program, or where in the guest kernel at ka_gpa. */
enum la_where la_guest_where(uint64_t pc, uint64_t ka_gpa)
{
	uint64_t entry = LA_DMW1_BASE | ka_gpa, tlbr = ka_gpa + LA_KA_TLBR;
	uint64_t exit = entry + la_guest_offset(la_guest_exit);

	if (pc == entry)
		return LA_AT_ENTRY;
	if (pc > entry && pc <= exit)
		return LA_AT_ENTRY_SAVED;
	if (pc > exit && pc < entry + LA_KA_TLBR)
		return LA_AT_RESTORE;
	if (pc == tlbr)
		return LA_AT_TLBR;
	if (pc > tlbr && pc < ka_gpa + la_guest_offset(la_guest_code_end))
		return LA_AT_TLBR_SAVED;
	return LA_AT_PROGRAM;
}

/*
 * KVM_RUN was interrupted (a signal for the thread).  In the guest kernel
 * before its exit store the exception is undone; after it the frame holds
 * the program's state and the restore path starts again from its top.
 */
static void decode_interrupted(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	enum la_where where;
	int err = 0;

	e->event = DUNE_EV_INTR;
	if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_REGS, &lc->regs))
		return fatal(e, "KVM_GET_REGS failed");
	lc->state = LA_IN_VCPU;
	where = la_guest_where(lc->regs.pc, la_vm(vcpu->vm)->ka_gpa);
	switch (where) {
	case LA_AT_PROGRAM:
		break;
	case LA_AT_ENTRY:
	case LA_AT_ENTRY_SAVED:
		err = rewind(vcpu, LA_CSR_SAVE0, where == LA_AT_ENTRY_SAVED, LA_CSR_ERA, LA_CSR_PRMD);
		break;
	case LA_AT_RESTORE:
		lc->state = LA_IN_FRAME;
		lc->regs.pc = guest_code(vcpu, la_guest_restore);
		lc->regs_dirty = 1;
		break;
	case LA_AT_TLBR:
	case LA_AT_TLBR_SAVED:
		err = rewind(vcpu, LA_CSR_TLBRSAVE, where == LA_AT_TLBR_SAVED, LA_CSR_TLBRERA,
			     LA_CSR_TLBRPRMD);
		break;
	}
	if (err)
		fatal(e, "cannot read the guest kernel's CSRs");
}

void arch_decode_exit(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		/* KVM stepped past the store already (kvm_emu_mmio_write's update_pc) */
		if (run->mmio.is_write && run->mmio.phys_addr == LA_EXIT_GPA) {
			decode_stub_exit(vcpu, e);
			return;
		}
		e->event = DUNE_EV_MMIO;
		e->mmio_gpa = run->mmio.phys_addr;
		return;
	case KVM_EXIT_INTR:
		decode_interrupted(vcpu, e);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		return fatal(e, "KVM internal error");
	}
	fatal(e, "unexpected exit");
}

/* In place: the exit store's frame is the program's state until it runs again. */
void arch_syscall_return(struct dune_vcpu *vcpu, long ret)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	if (lc->state == LA_IN_FRAME)
		lc->frame->regs[LA_A0] = ret;
	else {
		lc->regs.gpr[LA_A0] = ret;
		lc->regs_dirty = 1;
	}
}

/* The TLS register is a GPR (tp): no ISA syscall to intercept. */
int arch_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long *ret)
{
	(void)vcpu, (void)sys, (void)ret;
	return 0;
}

/* LoongArch64 Linux has one syscall ABI. */
long arch_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	(void)vcpu, (void)sys;
	return -ENOSYS;
}

/* The guest's registers as native code must see them after this exit. */
void arch_capture_native(struct dune_vcpu *vcpu)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	struct la_native_frame *f = &lc->native;
	uint64_t pc;

	/*
	 * After a failed KVM_RUN ask KVM (unless our copy is newer: a rewind, a
	 * signal frame); without a vCPU the state saved at the fork is it.
	 */
	if (lc->state == LA_IN_VCPU && !lc->regs_dirty &&
	    sys3(SYS_ioctl, vcpu->fd, KVM_GET_REGS, &lc->regs)) {
		*lc->frame = lc->saved;
		lc->fpu = lc->saved_fpu;
		lc->state = LA_IN_FRAME;
	} else if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_FPU, &lc->fpu)) {
		lc->fpu = lc->saved_fpu;
	}
	la_user_regs(vcpu, f->regs, &pc);
	f->regs[0] = pc;
	for (int i = 0; i < 32; i++)
		f->fpr[i] = lc->fpu.fpr[i].val64[0];	/* LSX/LASX upper halves: see README */
	f->fcc = lc->fpu.fcc;
	f->fcsr = lc->fpu.fcsr;
}

void arch_native_set(struct dune_vcpu *vcpu, long ret, uintptr_t sp)
{
	struct la_native_frame *f = &la_vcpu(vcpu)->native;

	f->regs[LA_A0] = ret;
	if (sp)
		f->regs[LA_SP] = sp;
}

void arch_resume_native(struct dune_vcpu *vcpu)
{
	la_resume_native(&la_vcpu(vcpu)->native);
}

/* The state at this syscall exit (in the frame), for a clone of this thread or process. */
int arch_vcpu_save(struct dune_vcpu *vcpu)
{
	struct la_vcpu *lc = la_vcpu(vcpu);

	if (lc->state != LA_IN_FRAME)
		return -EIO;
	lc->saved = *lc->frame;
	return dune_ioctl(vcpu->fd, KVM_GET_FPU, &lc->saved_fpu) ? -EIO : 0;
}

/*
 * Make vcpu return 0 from the syscall saved in from, at PLV3 past the
 * `syscall` (a new KVM vCPU is there after arch_vcpu_init): the child of a
 * clone, with its own stack and TLS if the clone gave them.
 */
int arch_vcpu_restore(struct dune_vcpu *vcpu, struct dune_vcpu *from, uintptr_t stack,
		      int settls, unsigned long tls)
{
	struct la_vcpu *lc = la_vcpu(vcpu), *lf = la_vcpu(from);

	memcpy(lc->regs.gpr, lf->saved.regs, sizeof(lc->regs.gpr));
	lc->regs.gpr[0] = 0;
	lc->regs.gpr[LA_A0] = 0;
	lc->regs.pc = lf->saved.era;
	if (stack)
		lc->regs.gpr[LA_SP] = stack;
	if (settls)
		lc->regs.gpr[LA_TP] = tls;
	lc->state = LA_IN_VCPU;
	lc->regs_dirty = 1;
	return dune_ioctl(vcpu->fd, KVM_SET_FPU, &lf->saved_fpu) ? -EIO : 0;
}

/* clone(2) of a thread whose host loop starts on the child vCPU's stack (entry.S). */
long arch_clone_thread(struct dune_vcpu *child, unsigned long flags, long ptid, long ctid,
		       long tls)
{
	return la_clone_thread(flags, child->stack_top - 16, ptid, ctid, tls, child);
}
