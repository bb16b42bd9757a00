// SPDX-License-Identifier: MIT
/*
 * MIPS64 host-side logic that needs no KVM: what an exit of the guest half
 * means (its frame, the instruction and FCSR where Linux reads them) as
 * Linux's arch/mips/kernel/traps.c would deliver it, the n64 syscall error
 * convention, signal frames, and a vCPU's block.  Built into libdune, and into the
 * bare-metal test (tests/mips64/bare/) that runs guest.S under qemu-system.
 */
#include <errno.h>
#include <linux/audit.h>
#include <sys/mman.h>

#include "mips.h"
#include "sigframe.h"

/* Syscall number ranges of the three MIPS ABIs (asm/unistd.h's __NR_*_Linux) */
#define NR_O32_BASE	4000
#define NR_N32_BASE	6000
#define NR_ABI_COUNT	1000

static void decode_syscall(const struct mips_frame *f, struct dune_syscall *sys)
{
	long nr = (long)f->regs[R_V0];

	sys->nr = nr;
	for (int i = 0; i < 6; i++)
		sys->args[i] = (long)f->regs[R_A0 + i];
	sys->ip = f->pc + 4;
	sys->compat_arch = 0;
	if (nr >= NR_O32_BASE && nr < NR_O32_BASE + NR_ABI_COUNT)
		sys->compat_arch = AUDIT_ARCH_MIPSEL;
	else if (nr >= NR_N32_BASE && nr < NR_N32_BASE + NR_ABI_COUNT)
		sys->compat_arch = AUDIT_ARCH_MIPSEL64N32;
}

static void set_fault(struct dune_fault *fault, int signo, int code, uint64_t addr)
{
	fault->signo = signo;
	fault->code = code;
	fault->addr = addr;
}

static void page_fault(const struct mips_frame *f, struct dune_fault *fault, int code,
		       int write, int exec)
{
	set_fault(fault, SIGSEGV, code, f->badvaddr);
	fault->is_page_fault = 1;
	fault->not_present = code == SEGV_MAPERR;
	fault->write = write;
	fault->exec = exec;
}

/* The instruction that raised it: in a branch delay slot EPC is the branch's. */
uint64_t mips_fault_pc(const struct mips_frame *f)
{
	return f->pc + (f->cause & CAUSE_BD ? 4 : 0);
}

/* do_trap_or_bp(): the code of a break or trap instruction */
static void trap_or_bp(struct dune_fault *fault, unsigned int code, int si_code, uint64_t pc)
{
	if (code == BRK_OVERFLOW)
		set_fault(fault, SIGFPE, FPE_INTOVF, pc);
	else if (code == BRK_DIVZERO)
		set_fault(fault, SIGFPE, FPE_INTDIV, pc);
	else
		set_fault(fault, SIGTRAP, si_code ? si_code : SI_KERNEL, si_code ? 0 : pc);
}

/* do_bp(): the 20-bit code field, its halves swapped when the upper is used */
static unsigned int break_code(uint32_t insn)
{
	unsigned int code = (insn >> 6) & ((1U << 20) - 1);

	if (code >= (1U << 10))
		code = ((code & ((1U << 10) - 1)) << 10) | (code >> 10);
	return code;
}

/* do_fpe(): the first cause bit in Linux's order of precedence */
static int fpe_code(uint32_t fcsr)
{
	if (fcsr & FCSR_CAUSE_V)
		return FPE_FLTINV;
	if (fcsr & FCSR_CAUSE_Z)
		return FPE_FLTDIV;
	if (fcsr & FCSR_CAUSE_O)
		return FPE_FLTOVF;
	if (fcsr & FCSR_CAUSE_U)
		return FPE_FLTUND;
	if (fcsr & FCSR_CAUSE_I)
		return FPE_FLTRES;
	return FPE_FLTINV;	/* unimplemented operation: Linux emulates it, dune does not */
}

/*
 * An exit of the guest half: its frame (f->cause says why), the instruction
 * that raised a Bp or Tr exception (at pc, or pc + 4 in a delay slot) and
 * FCSR for an FPE.  Faults keep f->pc: a handler returns to the instruction.
 */
void mips_decode_frame(const struct mips_frame *f, uint32_t insn, uint32_t fcsr,
		       struct dune_exit *e)
{
	struct dune_fault *fault = &e->fault;
	unsigned int exc = CAUSE_EXCCODE(f->cause);

	*fault = (struct dune_fault){ .pc = f->pc };
	e->event = DUNE_EV_FAULT;
	switch (exc) {
	case EXC_SYS:
		e->event = DUNE_EV_SYSCALL;
		decode_syscall(f, &e->sys);
		return;
	case EXC_INT:
		e->event = DUNE_EV_INTR;	/* interrupts stay off: nothing to do */
		return;
	case EXC_MOD:
		page_fault(f, fault, SEGV_ACCERR, 1, 0);
		return;
	case EXC_TLBL:
		page_fault(f, fault, SEGV_MAPERR, 0, f->badvaddr == mips_fault_pc(f));
		return;
	case EXC_TLBS:
		page_fault(f, fault, SEGV_MAPERR, 1, 0);
		return;
	case EXC_TLBRI:
		page_fault(f, fault, SEGV_ACCERR, 0, 0);
		return;
	case EXC_TLBXI:
		page_fault(f, fault, SEGV_ACCERR, 0, 1);
		return;
	case EXC_ADEL:
	case EXC_ADES:		/* do_ade(): dune does not emulate unaligned accesses */
	case EXC_IBE:
	case EXC_DBE:		/* do_be() */
		set_fault(fault, SIGBUS, SI_KERNEL, f->badvaddr);
		return;
	case EXC_BP:
		trap_or_bp(fault, break_code(insn), TRAP_BRKPT, f->pc);
		return;
	case EXC_TR:		/* teq..tne carry a code, the immediate forms none */
		trap_or_bp(fault, MIPS_INSN_IS_TRAP_REG(insn) ? (insn >> 6) & 0x3ff : 0, 0, f->pc);
		return;
	case EXC_RI:
	case EXC_CPU:
	case EXC_MSADIS:	/* do_ri(), do_cpu(), do_msa(): force_sig(SIGILL) */
		set_fault(fault, SIGILL, SI_KERNEL, 0);
		return;
	case EXC_OV:
		set_fault(fault, SIGFPE, FPE_INTOVF, f->pc);
		return;
	case EXC_FPE:
		set_fault(fault, SIGFPE, fpe_code(fcsr), f->pc);
		return;
	case EXC_MSAFPE:
		set_fault(fault, SIGFPE, SI_KERNEL, 0);
		return;
	default:
		e->event = DUNE_EV_FATAL;
		e->why = "unexpected guest exception (watch, machine check or reserved code)";
		return;
	}
}

/* n64: a3 says whether v0 holds a result or a positive errno. */
void mips_regs_set_return(uint64_t regs[32], long ret)
{
	int err = (unsigned long)ret >= (unsigned long)-DUNE_MAX_ERRNO;

	regs[R_V0] = err ? -ret : ret;
	regs[R_A3] = err;
}

/* A syscall's return, then past the `syscall`. */
void mips_syscall_set_return(struct mips_frame *f, long ret)
{
	mips_regs_set_return(f->regs, ret);
	f->pc += 4;
}

/* A leaf page-table entry: the EntryLo the refill handler loads as it is. */
uint64_t mips_pte(uint64_t gpa, int prot)
{
	uint64_t pte = ((gpa >> 12) << ENTRYLO_PFN_SHIFT) | ENTRYLO_C_CACHED | ENTRYLO_V;

	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	if (prot & PROT_WRITE)
		pte |= ENTRYLO_D;
	if (!(prot & PROT_EXEC))
		pte |= ENTRYLO_XI;
	return pte;
}

/* A table's entry for the next level: the address the refill handler loads from. */
uint64_t mips_table_entry(uint64_t gpa)
{
	return MIPS_XKPHYS_CACHED | gpa;
}

/*
 * Where the user state is when KVM_RUN stopped at pc: in user code, in
 * KVM's registers; in the block up to the exit (a refill, or an exception
 * being saved), there too but for k0/k1, with EPC the user's pc; past it,
 * in the frame (the return path).
 */
enum mips_state_at mips_state_at(uint64_t block, uint64_t pc)
{
	if (pc < block || pc >= block + MIPS_BLOCK_SIZE)
		return MIPS_STATE_REGS;
	if (pc - block <= (uint64_t)mips_block_offset(mips_guest_exit))
		return MIPS_STATE_REGS_EPC;
	return MIPS_STATE_FRAME;
}

/* A vCPU's block: the vectors, and a frame that exits to exit and walks pgd. */
void mips_block_init(void *block, uint64_t pgd, uint64_t exit)
{
	struct mips_frame *f = mips_block_frame(block);

	__builtin_memcpy(block, mips_guest_block, mips_guest_block_end - mips_guest_block);
	__builtin_memset(f, 0, sizeof(*f));
	f->pgd = pgd;
	f->exit = exit;
	f->flush = MIPS_FLUSH_ALL;
}

/*
 * setup_sigcontext(): the frame's registers, FPU in FR=1 layout; an
 * extended context follows for MSA (mips_sigframe_setup()).
 */
void mips_frame_to_sigcontext(const struct mips_frame *f, const struct mips_fpu *fpu,
			      struct mips_sigcontext *sc)
{
	__builtin_memset(sc, 0, sizeof(*sc));
	for (int i = 1; i < 32; i++)
		sc->sc_regs[i] = f->regs[i];
	__builtin_memcpy(sc->sc_fpregs, fpu->fpr, sizeof(sc->sc_fpregs));
	sc->sc_mdhi = f->hi;
	sc->sc_mdlo = f->lo;
	sc->sc_pc = f->pc;
	sc->sc_fpc_csr = fpu->fcsr;
	sc->sc_used_math = MIPS_USED_FP | MIPS_USED_FR1 | (fpu->msa ? MIPS_USED_EXTCONTEXT : 0);
}

/*
 * restore_sigcontext(): everything but k0/k1, which the guest half clobbers
 * anyway; the MSA state comes from mips_extcontext_to_fpu().
 */
void mips_sigcontext_to_frame(const struct mips_sigcontext *sc, struct mips_frame *f,
			      struct mips_fpu *fpu)
{
	for (int i = 1; i < 32; i++)
		f->regs[i] = sc->sc_regs[i];
	f->regs[0] = 0;
	f->hi = sc->sc_mdhi;
	f->lo = sc->sc_mdlo;
	f->pc = sc->sc_pc;
	__builtin_memcpy(fpu->fpr, sc->sc_fpregs, sizeof(sc->sc_fpregs));
	fpu->fcsr = sc->sc_fpc_csr;
}

/*
 * restore_extcontext(), for a frame whose sc_used_math says it has one: an
 * MSA context of its size, then the end marker; -EINVAL for anything else
 * (the kernel's SIGSEGV), as for MSA context where the VM has no MSA
 * (fpu->msa 0).  With no MSA context fpu->msa becomes 0: the vector
 * registers' high halves and MSACSR stay as they are.
 */
int mips_extcontext_to_fpu(const struct mips_rt_sigframe *frame, struct mips_fpu *fpu)
{
	const struct mips_msa_extcontext *msa = &frame->rs_msa;

	if (msa->magic == MIPS_END_EXTCONTEXT_MAGIC) {
		fpu->msa = 0;
		return 0;
	}
	if (msa->magic != MIPS_MSA_EXTCONTEXT_MAGIC || msa->size != sizeof(*msa) || !fpu->msa ||
	    frame->rs_end != MIPS_END_EXTCONTEXT_MAGIC)
		return -EINVAL;
	__builtin_memcpy(fpu->wr_hi, msa->wr, sizeof(fpu->wr_hi));
	fpu->msacsr = msa->csr;
	return 0;
}

/*
 * The frame's size as the kernel's get_sigframe() counts it: the extended
 * context and its end marker only for a thread with MSA.  dune counts a
 * thread of a VM with MSA as one whose MSA context is live (README.md).
 */
size_t mips_sigframe_size(const struct mips_fpu *fpu)
{
	return fpu->msa ? offsetof(struct mips_rt_sigframe, rs_end) + sizeof(uint32_t)
			: offsetof(struct mips_rt_sigframe, rs_msa);
}

/*
 * The frame for act's handler at sp, and the registers that enter it; the
 * handler returns to ret_code (frame.rs_uc.uc_stack is the caller's).
 */
void mips_sigframe_setup(struct mips_frame *f, const struct mips_fpu *fpu,
			 const siginfo_t *info, const struct dune_sigaction *act, uint64_t old_mask,
			 uint64_t sp, uint64_t ret_code, struct mips_rt_sigframe *frame)
{
	__builtin_memcpy(frame->rs_info, info, sizeof(frame->rs_info));
	mips_frame_to_sigcontext(f, fpu, &frame->rs_uc.uc_mcontext);
	if (fpu->msa) {
		frame->rs_msa.magic = MIPS_MSA_EXTCONTEXT_MAGIC;
		frame->rs_msa.size = sizeof(frame->rs_msa);
		__builtin_memcpy(frame->rs_msa.wr, fpu->wr_hi, sizeof(frame->rs_msa.wr));
		frame->rs_msa.csr = fpu->msacsr;
		frame->rs_end = MIPS_END_EXTCONTEXT_MAGIC;
	}
	frame->rs_uc.uc_sigmask[0] = old_mask;
	frame->rs_uc.uc_sigmask[1] = 0;
	f->regs[R_A0] = info->si_signo;
	f->regs[R_A0 + 1] = sp + offsetof(struct mips_rt_sigframe, rs_info);
	f->regs[R_A0 + 2] = sp + offsetof(struct mips_rt_sigframe, rs_uc);
	f->regs[R_SP] = sp;
	f->regs[R_RA] = ret_code;
	f->regs[R_T9] = (uintptr_t)act->handler;
	f->pc = (uintptr_t)act->handler;
}
