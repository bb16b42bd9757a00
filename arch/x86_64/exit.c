// SPDX-License-Identifier: MIT
/*
 * x86-64 host-loop side: start the guest, decode exits, return syscall
 * results, and continue natively when the VM cannot go on.  Runs on the host
 * stack: raw syscalls only.
 */
#include <asm/prctl.h>
#include <linux/prctl.h>
#include <linux/audit.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define RFLAGS_IF	(1ULL << 9)
#define RFLAGS_FIXED	(1ULL << 1)

int arch_enter(struct dune_vcpu *vcpu, void *host_stack_top)
{
	return x86_enter(&x86_vcpu(vcpu)->ctx, vcpu, host_stack_top);
}

/* First KVM_RUN: the caller's saved registers, dune_enter() returning 0. */
void arch_vcpu_start(struct dune_vcpu *vcpu)
{
	struct x86_entry_ctx *ctx = &x86_vcpu(vcpu)->ctx;
	struct kvm_regs *r = &vcpu->run->s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rbx = ctx->rbx;
	r->rbp = ctx->rbp;
	r->r12 = ctx->r12;
	r->r13 = ctx->r13;
	r->r14 = ctx->r14;
	r->r15 = ctx->r15;
	r->rsp = ctx->rsp;
	r->rip = ctx->rip;
	r->rflags = RFLAGS_IF | RFLAGS_FIXED;
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
}

/*
 * The synced sregs, to change before the next KVM_RUN applies them: fetched
 * unless changes are already pending (KVM clears the bit once it took them).
 */
struct kvm_sregs *x86_sregs_to_change(struct dune_vcpu *vcpu)
{
	struct kvm_sregs *s = &vcpu->run->s.regs.sregs;

	if (!(vcpu->run->kvm_dirty_regs & KVM_SYNC_X86_SREGS)) {
		if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_SREGS, s))
			return NULL;
		vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	return s;
}

/*
 * A guest TLB flush without an extra ioctl: change CR3 (its PWT bit) through
 * the synced sregs, which makes KVM reset the guest MMU context.
 */
static long flush_tlb(struct dune_vcpu *vcpu)
{
	struct kvm_sregs *s = x86_sregs_to_change(vcpu);

	if (!s)
		return -EIO;
	s->cr3 ^= PTE_PWT;
	return 0;
}

/*
 * The CPU and node the thread runs on, as Linux gives them to getcpu(): the
 * CPUNODE segment's limit in the GDT (the vDSO reads it with LSL, or TSC_AUX
 * with RDPID or RDTSCP).  The guest gets the same where it reads them, as of
 * its last exit (natively too it is a snapshot): the guest GDT's entry, and
 * on hardware the vCPU's TSC_AUX (kvm_pvm runs RDPID and RDTSCP natively,
 * reading the host's, but answers LSL from the guest GDT as it first saw it:
 * stale after a migration there).
 */
static void sync_cpunode(struct dune_vcpu *vcpu)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	uint64_t *gdt = (uint64_t *)(xc->kv + KV_GDT);
	uint32_t cpunode;
	uint8_t valid;

	asm("lsl %2, %0; setz %1" : "=r"(cpunode), "=q"(valid) : "r"((uint32_t)GDT_CPUNODE));
	if (!valid || (xc->cpunode_set && cpunode == xc->cpunode))
		return;
	/* present, DPL3, read-only data, 32-bit: as Linux's setup_getcpu() */
	gdt[GDT_CPUNODE / 8] = (cpunode & 0xffff) | ((uint64_t)0xf5 << 40) |
			       ((uint64_t)((cpunode >> 16) & 0xf) << 48) | (1ULL << 54);
	if (x86_vcpu_hw_semantics())	/* refused: a guest without RDPID and RDTSCP */
		(void)x86_set_msr(vcpu, MSR_TSC_AUX, cpunode);
	xc->cpunode = cpunode;
	xc->cpunode_set = 1;
}

/* A pending flush stays pending until it is done: the guest must not run before. */
long arch_prepare_run(struct dune_vcpu *vcpu)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	long err = x86_sync_ldt(vcpu);

	if (err)
		return err;
	sync_cpunode(vcpu);
	x86_open_host_pkru(vcpu->vm);
	xc->last_syscall = 0;
	xc->exc_frame = NULL;
	xc->exc_taken = 0;
	xc->xsave_current = 0;
	if (vcpu->flush_pending) {
		err = flush_tlb(vcpu);
		if (err)
			return err;
		vcpu->flush_pending = 0;
	}
	return 0;
}

static void decode_syscall(struct kvm_regs *r, struct dune_syscall *sys)
{
	sys->nr = r->rax;
	sys->args[0] = r->rdi;
	sys->args[1] = r->rsi;
	sys->args[2] = r->rdx;
	sys->args[3] = r->r10;
	sys->args[4] = r->r8;
	sys->args[5] = r->r9;
	sys->ip = r->rcx;
	sys->compat_arch = 0;
}

uint32_t arch_audit_arch(void)
{
	return AUDIT_ARCH_X86_64;
}

void arch_syscall_return(struct dune_vcpu *vcpu, long ret)
{
	vcpu->run->s.regs.regs.rax = ret;
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* Vectors whose exception pushes an error code (the IDT stubs pop it). */
int x86_vector_has_error_code(int vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
	       vector == 29 || vector == 30;
}

/*
 * What Linux delivers for an exception at CPL3 (arch/x86/kernel/traps.c):
 * the signal, its code before the state refines it, and whether si_addr is
 * the instruction pointer (0 otherwise; a page fault's is CR2).
 */
static void exception_signal(int vector, struct dune_fault *f)
{
	static const struct { uint8_t signo, at_pc; int16_t code; } map[NR_VECTORS] = {
		[0] = { SIGFPE, 1, FPE_INTDIV },	[1] = { SIGTRAP, 1, TRAP_BRKPT },
		[3] = { SIGTRAP, 0, SI_KERNEL },	[4] = { SIGSEGV, 0, SI_KERNEL },
		[5] = { SIGSEGV, 0, SI_KERNEL },	[6] = { SIGILL, 1, ILL_ILLOPN },
		[11] = { SIGBUS, 0, SI_KERNEL },	[12] = { SIGBUS, 0, SI_KERNEL },
		[13] = { SIGSEGV, 0, SI_KERNEL },	[14] = { SIGSEGV, 0, SEGV_MAPERR },
		[16] = { SIGFPE, 1, FPE_FLTINV },	[17] = { SIGBUS, 0, BUS_ADRALN },
		[19] = { SIGFPE, 1, FPE_FLTINV },
	};

	f->signo = map[vector].signo ? map[vector].signo : SIGSEGV;
	f->code = map[vector].signo ? map[vector].code : SI_KERNEL;
	f->addr = map[vector].at_pc ? f->pc : 0;
}

/*
 * #MF and #XM: which unmasked x87 or SSE exception it was, from the FPU
 * state, as the kernel's fpu__exception_code() (0: spurious, no signal).
 */
static int fpu_exception_code(struct dune_vcpu *vcpu, int vector, int code)
{
	const uint8_t *fx = (const uint8_t *)x86_vcpu(vcpu)->xsave.region;	/* FXSAVE layout */
	unsigned int err;

	if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_XSAVE, &x86_vcpu(vcpu)->xsave))
		return code;
	x86_vcpu(vcpu)->xsave_current = 1;	/* the signal frame's image */
	if (vector == 16) {
		uint16_t cwd = fx[0] | fx[1] << 8, swd = fx[2] | fx[3] << 8;

		err = swd & ~cwd;
	} else {
		uint32_t mxcsr;

		memcpy(&mxcsr, fx + 24, sizeof(mxcsr));
		err = ~(mxcsr >> 7) & mxcsr;
	}
	if (err & 0x001)
		return FPE_FLTINV;
	if (err & 0x004)
		return FPE_FLTDIV;
	if (err & 0x008)
		return FPE_FLTOVF;
	if (err & 0x012)
		return FPE_FLTUND;
	if (err & 0x020)
		return FPE_FLTRES;
	return code;
}

#define DR6_TRAP_BITS	0xfULL
#define DR6_BS		(1ULL << 14)
#define DR6_RESET	0xffff0ff0ULL

/*
 * #DB: single-step or a hardware breakpoint by DR6, else icebp; DR6 is
 * reset for the next one, as the kernel does.
 */
static int debug_exception_code(struct dune_vcpu *vcpu, int code)
{
	struct kvm_debugregs d;
	uint64_t dr6;

	if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_DEBUGREGS, &d))
		return code;
	dr6 = d.dr6;
	d.dr6 = DR6_RESET;
	sys3(SYS_ioctl, vcpu->fd, KVM_SET_DEBUGREGS, &d);
	if (dr6 & DR6_BS)
		return TRAP_TRACE;
	if (dr6 & DR6_TRAP_BITS)
		return TRAP_HWBKPT;
	return code;
}

/*
 * Does the host kernel emulate the vsyscall page (its maps show it
 * executable)?  Asked once: the page is the kernel's gate area, fixed for
 * the process image by the boot's vsyscall= mode, and no mmap, mprotect or
 * munmap reaches it (it is above TASK_SIZE); a fork child keeps the answer.
 */
static int vsyscall_emulated(struct dune_vm *vm)
{
	struct x86_vm *xv = x86_vm(vm);
	struct dune_vma vma;

	if (xv->vsyscall < 0) {
		dune_lock(&vm->lock);		/* vm->maps_buf */
		xv->vsyscall = !dune_maps_find(vm, VSYSCALL_PAGE, &vma) && (vma.prot & PROT_EXEC);
		dune_unlock(&vm->lock);
	}
	return xv->vsyscall;
}

/*
 * A call into the legacy vsyscall page (the guest maps no kernel half): the
 * host kernel emulates it, so dune does too, as that syscall, returning to
 * the caller (arch/x86/entry/vsyscall/vsyscall_64.c).  A bad entry or
 * return address stays the page fault.
 */
static int decode_vsyscall(struct dune_vcpu *vcpu, uint64_t *frame, struct dune_exit *e)
{
	static const long calls[] = { SYS_gettimeofday, SYS_time, SYS_getcpu };
	struct kvm_regs *r = &vcpu->run->s.regs.regs;
	uint64_t off = e->fault.addr - VSYSCALL_PAGE, caller;

	if (!e->fault.exec || e->fault.addr != frame[0] || off % 1024 ||
	    off / 1024 >= sizeof(calls) / sizeof(calls[0]) || dune_read_guest(&caller, frame[3], 8) ||
	    !vsyscall_emulated(vcpu->vm))
		return 0;
	frame[0] = caller;
	frame[3] += 8;
	x86_vcpu(vcpu)->exc_taken = 0;
	e->event = DUNE_EV_SYSCALL;
	e->sys = (struct dune_syscall){
		.nr = calls[off / 1024], .args = { r->rdi, r->rsi, r->rdx }, .ip = caller,
	};
	return 1;
}

#define INSN_INT	0xcd		/* int $imm8 */
#define INT_COMPAT	0x80		/* the i386 system call ABI */

/* A #GP's error code names IDT vector n: vector*8+2, or vector*16+2 (QEMU's TCG). */
static int gp_names_vector(uint64_t error, unsigned int n)
{
	return (error & 7) == 2 && (error >> 3 == n || error >> 4 == n);
}

/*
 * The `int $n` that raised this #GP: at the frame's RIP, or just before it
 * (nested KVM on AMD may report a #GP in an INTn's delivery past it, unlike
 * the hardware): n, with the frame moved to the instruction; or -1.
 */
static int gp_int_vector(uint64_t error, uint64_t *frame)
{
	uint8_t insn[2];

	for (int back = 0; back <= 2; back += 2)
		if (!dune_read_guest(insn, frame[0] - back, 2) && insn[0] == INSN_INT &&
		    gp_names_vector(error, insn[1])) {
			frame[0] -= back;
			return insn[1];
		}
	return -1;
}

/*
 * `int $n` whose gate CPL3 may not use: natively #GP (SIGSEGV, SI_KERNEL) at
 * the instruction, but n = 0x80 is the i386 system call (an ABI of Linux
 * x86-64, from 64-bit code too), continuing after the 2-byte instruction.
 * Hardware reports #GP naming the vector (dune's IDT ends at vector 31);
 * kvm_pvm reports #UD for every `int $n` and for `sysenter` (natively #GP on
 * Intel, #UD on AMD, as the guest CPU of hardware KVM gives it), so there
 * the bytes tell.
 */
static void decode_int(struct dune_vcpu *vcpu, int vector, uint64_t *frame, struct dune_exit *e)
{
	struct kvm_regs *r = &vcpu->run->s.regs.regs;
	uint8_t insn[2] = { 0 };
	int n = -1;

	if (vector == 13)
		n = gp_int_vector(x86_vcpu(vcpu)->exc_error, frame);
	if (vector == 6 && !x86_vcpu_hw_semantics() && !dune_read_guest(insn, frame[0], 2)) {
		if (insn[0] == INSN_INT)
			n = insn[1];
		if (insn[0] == INSN_INT || (insn[0] == 0x0f && insn[1] == 0x34))	/* sysenter */
			exception_signal(13, &e->fault);
	}
	e->fault.pc = frame[0];
	if (n != INT_COMPAT)
		return;
	frame[0] += 2;
	x86_vcpu(vcpu)->exc_taken = 0;
	e->event = DUNE_EV_SYSCALL;
	e->sys = (struct dune_syscall){
		.nr = (uint32_t)r->rax,
		.args = { (uint32_t)r->rbx, (uint32_t)r->rcx, (uint32_t)r->rdx,
			  (uint32_t)r->rsi, (uint32_t)r->rdi, (uint32_t)r->rbp },
		.ip = frame[0], .compat_arch = AUDIT_ARCH_I386,
	};
}

static void decode_exception(struct dune_vcpu *vcpu, int vector, struct dune_exit *e)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	struct kvm_regs *r = &vcpu->run->s.regs.regs;
	uint64_t *frame = (uint64_t *)r->rsp;	/* [error code,] rip cs rflags rsp ss */
	uint64_t error = 0;
	struct kvm_sregs s;

	if (x86_vector_has_error_code(vector))
		error = *frame++;
	xc->exc_frame = frame;
	xc->exc_taken = 1;
	xc->exc_vector = vector;
	xc->exc_error = error;
	memset(&e->fault, 0, sizeof(e->fault));
	e->event = DUNE_EV_FAULT;
	e->fault.pc = frame[0];
	exception_signal(vector, &e->fault);
	if (vector == 16 || vector == 19)
		e->fault.code = fpu_exception_code(vcpu, vector, e->fault.code);
	else if (vector == 1)
		e->fault.code = debug_exception_code(vcpu, e->fault.code);
	if ((frame[1] & 3) != 3) {	/* the guest kernel itself faulted */
		if (vcpu->vm->debug)
			dune_log("vcpu %d: vector %d at CPL0, rip %p", vcpu->id, vector,
				 (void *)frame[0]);
		e->event = DUNE_EV_FATAL;
		e->why = "exception in the guest kernel";
		return;
	}
	if (vector == 13 && !error && (x86_vm(vcpu->vm)->cr4 & X86_CR4_UMIP) &&
	    x86_emulate_umip(vcpu, frame, e))
		return;
	if (vector == 6 || vector == 13)
		decode_int(vcpu, vector, frame, e);
	if (vector != 14)
		return;
	if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_SREGS, &s)) {
		e->event = DUNE_EV_FATAL;
		e->why = "KVM_GET_SREGS failed";
		return;
	}
	e->fault.is_page_fault = 1;
	e->fault.addr = s.cr2;
	e->fault.not_present = !(error & 1);
	e->fault.write = !!(error & 2);
	e->fault.exec = !!(error & 16);
	e->fault.pkey_denied = !!(error & 32);
	decode_vsyscall(vcpu, frame, e);
}

static uint64_t syscall_stub(struct dune_vcpu *vcpu)
{
	return (uint64_t)x86_vm(vcpu->vm)->ka + KA_SYSCALL;
}

/* The vCPU stands in the LSTAR stub (at CPL0 on hardware). */
int x86_in_syscall_stub(struct dune_vcpu *vcpu, const struct kvm_regs *g)
{
	return x86_vcpu(vcpu)->last_syscall ||
	       (g->rip >= syscall_stub(vcpu) && g->rip < syscall_stub(vcpu) + DUNE_PAGE_SIZE);
}

/*
 * The program's registers, given the vCPU's g.  Besides CPL3 code, the vCPU
 * may stand in a guest-kernel stub.  In the LSTAR stub at its `out`, the
 * `syscall` trapped but nothing serviced it yet (a signal interrupted
 * KVM_RUN in between): the program stands at its `syscall` again, RAX still
 * the number, as if the signal had come just before it.  Past that `out` the
 * call is done: RCX and R11 say where and with which flags the program goes
 * on.  In an exception stub the user state is its iret frame (exc_frame).
 */
void x86_user_regs(struct dune_vcpu *vcpu, const struct kvm_regs *g, struct kvm_regs *r)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);

	*r = *g;
	if (xc->exc_frame) {
		r->rip = xc->exc_frame[0];
		r->rflags = xc->exc_frame[2];
		r->rsp = xc->exc_frame[3];
	} else if (x86_in_syscall_stub(vcpu, g)) {
		r->rip = g->rip == syscall_stub(vcpu) && !xc->last_syscall ? g->rcx - 2 : g->rcx;
		r->rflags = g->r11;
	}
}

/*
 * KVM_RUN was interrupted.  In an exception stub before its `out`, the
 * exception is taken now, as if the `out` had run (the guest continues after
 * it); past the `out`, the stub's iret frame holds the user state.
 */
static void decode_interrupted(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct kvm_regs *g = &vcpu->run->s.regs.regs;
	uint64_t stubs = (uint64_t)x86_vm(vcpu->vm)->ka + KA_EXC;
	uint64_t off = g->rip - stubs;
	int vector = off / EXC_STUB_SIZE;

	e->event = DUNE_EV_INTR;
	if (g->rip < stubs || vector >= NR_VECTORS)
		return;
	off %= EXC_STUB_SIZE;
	if (off == 0) {
		decode_exception(vcpu, vector, e);
		g->rip += STUB_OUT_LEN;
		vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return;
	}
	/* the error code is popped by the instruction right after the `out` */
	x86_vcpu(vcpu)->exc_frame = (uint64_t *)g->rsp +
				    (off == STUB_OUT_LEN && x86_vector_has_error_code(vector));
}

/* A stub's `out` exits with RIP at it (hardware) or past it (kvm_pvm). */
static int from_stub(uint64_t rip, uint64_t stub)
{
	return rip == stub || rip == stub + STUB_OUT_LEN;
}

/*
 * Port I/O by the program itself: kvm_pvm's I/O bitmap lets CPL3 reach the
 * syscall port (the stub runs at CPL3 there), natively it is #GP.  The exit
 * stands past the instruction and gives no length: it is one byte (port in
 * DX), or two (e4-e7, port in imm8), with an operand-size prefix maybe.
 */
static void decode_program_io(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct kvm_regs *g = &vcpu->run->s.regs.regs;
	uint8_t before[3] = { 0 };
	uint64_t start = g->rip - 1;

	(void)dune_read_guest(before, g->rip - 3, sizeof(before));	/* 0s if unreadable */
	if (before[1] >= 0xe4 && before[1] <= 0xe7 && before[2] == vcpu->run->io.port)
		start = g->rip - 2;
	if (start == g->rip - 1 ? before[1] == 0x66 : before[0] == 0x66)
		start--;
	g->rip = start;
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	memset(&e->fault, 0, sizeof(e->fault));
	e->event = DUNE_EV_FAULT;
	e->fault.signo = SIGSEGV;
	e->fault.code = SI_KERNEL;
	e->fault.pc = start;
}

void arch_decode_exit(struct dune_vcpu *vcpu, struct dune_exit *e)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs *g = &run->s.regs.regs;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == DUNE_X86_PORT_SYSCALL &&
		    from_stub(g->rip, syscall_stub(vcpu))) {
			e->event = DUNE_EV_SYSCALL;
			x86_vcpu(vcpu)->last_syscall = 1;
			decode_syscall(g, &e->sys);
			/*
			 * Hardware stops at the `out` and skips it on the next
			 * KVM_RUN; step over it now, so that a vCPU found at the
			 * `out` always has a syscall nobody serviced yet.  KVM
			 * skips nothing once RIP changed.
			 */
			if (g->rip == syscall_stub(vcpu)) {
				g->rip += STUB_OUT_LEN;
				run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
			}
			return;
		}
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port >= DUNE_X86_PORT_EXC &&
		    run->io.port < DUNE_X86_PORT_EXC + NR_VECTORS) {
			decode_exception(vcpu, run->io.port - DUNE_X86_PORT_EXC, e);
			return;
		}
		if (!x86_vcpu_hw_semantics() && vcpu->vm->bare_exits &&
		    run->io.direction == KVM_EXIT_IO_OUT && run->io.port == DUNE_X86_PORT_SYSCALL) {
			e->event = DUNE_EV_SYSCALL;	/* a benchmark's bare exit */
			decode_syscall(g, &e->sys);
			return;
		}
		if (!x86_vcpu_hw_semantics()) {
			decode_program_io(vcpu, e);
			return;
		}
		break;
	case KVM_EXIT_INTR:
		decode_interrupted(vcpu, e);
		return;
	case KVM_EXIT_MMIO:
		e->event = DUNE_EV_MMIO;
		e->mmio_gpa = run->mmio.phys_addr;
		return;
	case KVM_EXIT_SHUTDOWN:
		e->event = DUNE_EV_FATAL;
		e->why = "triple fault";
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		e->event = DUNE_EV_FATAL;
		e->why = "KVM internal error";
		return;
	}
	e->event = DUNE_EV_FATAL;
	e->why = "unexpected exit";
}

/* arch_prctl(ARCH_SET_FS/GS) must also move the vCPU's segment base. */
static long set_segment_base(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct kvm_sregs *s = &vcpu->run->s.regs.sregs;
	long ret = sys2(SYS_arch_prctl, sys->args[0], sys->args[1]);

	if (ret || sys3(SYS_ioctl, vcpu->fd, KVM_GET_SREGS, s))
		return ret;
	if (sys->args[0] == ARCH_SET_FS)
		s->fs.base = sys->args[1];
	else
		s->gs.base = sys->args[1];
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	return 0;
}

/* prctl(PR_SET_TSC): the guest's rdtsc must trap (CR4.TSD) when the host's would. */
static long set_tsc_mode(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct kvm_sregs *s = &vcpu->run->s.regs.sregs;
	long ret = sys5(SYS_prctl, PR_SET_TSC, sys->args[1], 0, 0, 0);

	if (ret || sys3(SYS_ioctl, vcpu->fd, KVM_GET_SREGS, s))
		return ret;
	s->cr4 = (s->cr4 & ~X86_CR4_TSD) | x86_tsc_cr4();
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	return 0;
}

int arch_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long *ret)
{
	if (sys->nr == SYS_arch_prctl &&
	    (sys->args[0] == ARCH_SET_FS || sys->args[0] == ARCH_SET_GS))
		*ret = set_segment_base(vcpu, sys);
	else if (sys->nr == SYS_prctl && sys->args[0] == PR_SET_TSC)
		*ret = set_tsc_mode(vcpu, sys);
	else if (sys->nr == SYS_modify_ldt)
		*ret = x86_modify_ldt(vcpu, sys);
	else if (sys->nr == SYS_pkey_alloc)
		*ret = x86_pkey_alloc(vcpu, sys);
	else
		return 0;
	return 1;
}

/* The guest's registers as native code must see them after this exit. */
void arch_capture_native(struct dune_vcpu *vcpu)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	struct kvm_regs regs, user, *r = &user;
	struct x86_native_frame *f = &xc->native;
	int saved;

	/*
	 * After a failed KVM_RUN the synced copy is stale: ask KVM.  Without a
	 * vCPU (a fork child that got no VM) the state saved at the fork is it.
	 */

	saved = sys3(SYS_ioctl, vcpu->fd, KVM_GET_REGS, &regs) != 0;
	if (saved) {
		regs = xc->saved_regs;
		xc->last_syscall = 1;
	}
	x86_user_regs(vcpu, &regs, &user);
	/* a trap (#BP from int3) reports the next instruction: natively it must trap again */
	if (xc->exc_taken && xc->exc_vector == 3)
		user.rip--;
	*f = (struct x86_native_frame){
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rbp = r->rbp, .r8 = r->r8,
		.r9 = r->r9, .r10 = r->r10, .r11 = r->r11, .r12 = r->r12,
		.r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rip = r->rip, .rflags = r->rflags, .rsp = r->rsp,
		.xcr0 = x86_vm(vcpu->vm)->guest_xcr0, .xsave = NULL,
	};
	if (saved || !sys3(SYS_ioctl, vcpu->fd, KVM_GET_XSAVE, &xc->xsave))
		f->xsave = (uint8_t *)xc->xsave.region;
}

void arch_native_set(struct dune_vcpu *vcpu, long ret, uintptr_t sp)
{
	struct x86_native_frame *f = &x86_vcpu(vcpu)->native;

	f->rax = ret;
	if (sp)
		f->rsp = sp;
}

/* The state at this syscall exit, for a clone of this thread or process. */
int arch_vcpu_save(struct dune_vcpu *vcpu)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);

	xc->saved_regs = vcpu->run->s.regs.regs;
	if (dune_ioctl(vcpu->fd, KVM_GET_SREGS, &xc->saved_sregs) ||
	    dune_ioctl(vcpu->fd, KVM_GET_XSAVE, &xc->xsave))
		return -EIO;
	return 0;
}

/*
 * Make vcpu return 0 from the syscall saved in from, at CPL3 right after the
 * `syscall` (a new KVM vCPU has no stub exit to complete): the child of a
 * clone, with its own stack and TLS if the clone gave them.
 */
int arch_vcpu_restore(struct dune_vcpu *vcpu, struct dune_vcpu *from, uintptr_t stack,
		      int settls, unsigned long tls)
{
	struct x86_vcpu *xf = x86_vcpu(from);
	struct kvm_regs *r = &vcpu->run->s.regs.regs;
	struct kvm_sregs sregs;

	*r = xf->saved_regs;
	r->rax = 0;
	r->rip = xf->saved_regs.rcx;
	r->rflags = xf->saved_regs.r11;
	if (stack)
		r->rsp = stack;
	if (dune_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))	/* keeps KVM's other fields */
		return -EIO;
	x86_fill_user_sregs(vcpu, &sregs);
	sregs.fs.base = settls ? tls : xf->saved_sregs.fs.base;
	sregs.gs.base = xf->saved_sregs.gs.base;
	if (dune_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) ||
	    dune_ioctl(vcpu->fd, KVM_SET_XSAVE, &xf->xsave))
		return -EIO;
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	vcpu->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	return 0;
}

/* clone(2) of a thread whose host loop starts on the child vCPU's stack. */
long arch_clone_thread(struct dune_vcpu *child, unsigned long flags, long ptid, long ctid,
		       long tls)
{
	void **top = (void **)(child->stack_top - 16);

	*top = child;		/* the child pops it (entry.S) */
	return x86_clone_thread(flags, top, ptid, ctid, tls);
}

void arch_exit_thread(int *busy, long status)
{
	x86_exit_thread(busy, status);
}

void arch_resume_native(struct dune_vcpu *vcpu)
{
	x86_resume_native(&x86_vcpu(vcpu)->native);
}
