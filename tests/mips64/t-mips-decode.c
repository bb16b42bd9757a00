// SPDX-License-Identifier: MIT
/*
 * The MIPS64 backend's exit decoding without KVM: fabricated frames and
 * kvm_run images decoded into syscalls and faults as Linux's traps.c would
 * deliver them, the n64 error convention, clone's argument order,
 * set_thread_area, and the
 * registers a first entry and a syscall return leave in the frame.
 * Run under qemu-user by `make ARCH=mips64 check-cross`.
 */
#include <linux/audit.h>
#include <sched.h>
#include <sys/syscall.h>

#include "check.h"
#include "mips.h"

static uint8_t block[MIPS_BLOCK_SIZE] __attribute__((aligned(MIPS_BLOCK_SIZE)));
static struct dune_vm vm;
static struct dune_vcpu vcpu;
static struct mips_vcpu mc;
static struct mips_vm mv;		/* no MSA */
static struct kvm_run run;

static struct mips_frame *frame_for(unsigned int exc, uint64_t pc, uint64_t badvaddr)
{
	struct mips_frame *f = mc.frame;

	memset(f->regs, 0, sizeof(f->regs));
	f->cause = exc << 2;
	f->pc = pc;
	f->badvaddr = badvaddr;
	f->flush = 0;
	return f;
}

static void mmio_exit(uint64_t gpa, int write)
{
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = gpa;
	run.mmio.is_write = write;
	run.mmio.len = 8;
}

static struct dune_exit decode(void)
{
	struct dune_exit e;

	memset(&e, 0, sizeof(e));
	arch_decode_exit(&vcpu, &e);
	return e;
}

static void test_syscall(void)
{
	struct mips_frame *f = frame_for(EXC_SYS, 0x120001000, 0);
	struct dune_exit e;

	f->regs[R_V0] = SYS_openat;
	for (int i = 0; i < 6; i++)
		f->regs[R_A0 + i] = 100 + i;
	mmio_exit(MIPS_EXIT_GPA, 1);
	e = decode();
	CHECK(e.event == DUNE_EV_SYSCALL && e.sys.nr == SYS_openat, "event %d nr %ld", e.event,
	      e.sys.nr);
	CHECK(e.sys.args[0] == 100 && e.sys.args[3] == 103 && e.sys.args[5] == 105,
	      "args %ld %ld %ld", e.sys.args[0], e.sys.args[3], e.sys.args[5]);
	CHECK(e.sys.ip == 0x120001004 && e.sys.compat_arch == 0, "ip %#lx", (unsigned long)e.sys.ip);
	CHECK(mc.syscall && mc.orig_a3 == 103, "orig a3 %lu", (unsigned long)mc.orig_a3);
	arch_syscall_return(&vcpu, -ENOENT);
	CHECK(f->regs[R_V0] == ENOENT && f->regs[R_A3] == 1 && f->pc == 0x120001004,
	      "error: v0 %lu a3 %lu pc %#lx", (unsigned long)f->regs[R_V0],
	      (unsigned long)f->regs[R_A3], (unsigned long)f->pc);
	f = frame_for(EXC_SYS, 0x120001000, 0);
	f->regs[R_A3] = 9;
	mips_syscall_set_return(f, 4096);
	CHECK(f->regs[R_V0] == 4096 && f->regs[R_A3] == 0, "success: v0 %lu a3 %lu",
	      (unsigned long)f->regs[R_V0], (unsigned long)f->regs[R_A3]);
	mips_syscall_set_return(f, -4095);
	CHECK(f->regs[R_V0] == 4095 && f->regs[R_A3] == 1, "-4095 is an error");
	mips_syscall_set_return(f, -4096);
	CHECK((long)f->regs[R_V0] == -4096 && f->regs[R_A3] == 0, "-4096 is a value");

	f = frame_for(EXC_SYS, 0x1000, 0);
	f->regs[R_V0] = 4001;	/* o32 exit */
	mmio_exit(MIPS_EXIT_GPA, 1);
	e = decode();
	CHECK(e.sys.compat_arch == AUDIT_ARCH_MIPSEL, "o32: %#x", e.sys.compat_arch);
	f->regs[R_V0] = 6058;	/* n32 exit */
	e = decode();
	CHECK(e.sys.compat_arch == AUDIT_ARCH_MIPSEL64N32, "n32: %#x", e.sys.compat_arch);
	CHECK(arch_compat_syscall(&vcpu, &e.sys) == -ENOSYS, "another ABI's call is ENOSYS");
}

struct fault_case {
	unsigned int exc;
	uint32_t insn, fcsr;
	int signo, code, page, not_present, write, exec;
};

static const struct fault_case faults[] = {
	{ EXC_MOD, 0, 0, SIGSEGV, SEGV_ACCERR, 1, 0, 1, 0 },
	{ EXC_TLBL, 0, 0, SIGSEGV, SEGV_MAPERR, 1, 1, 0, 0 },
	{ EXC_TLBS, 0, 0, SIGSEGV, SEGV_MAPERR, 1, 1, 1, 0 },
	{ EXC_TLBRI, 0, 0, SIGSEGV, SEGV_ACCERR, 1, 0, 0, 0 },
	{ EXC_TLBXI, 0, 0, SIGSEGV, SEGV_ACCERR, 1, 0, 0, 1 },
	{ EXC_ADEL, 0, 0, SIGBUS, SI_KERNEL, 0, 0, 0, 0 },
	{ EXC_DBE, 0, 0, SIGBUS, SI_KERNEL, 0, 0, 0, 0 },
	{ EXC_BP, 0x0007000d, 0, SIGFPE, FPE_INTDIV, 0, 0, 0, 0 },	/* break 7 */
	{ EXC_BP, 0x0006000d, 0, SIGFPE, FPE_INTOVF, 0, 0, 0, 0 },	/* break 6 */
	{ EXC_BP, 0x0000000d, 0, SIGTRAP, TRAP_BRKPT, 0, 0, 0, 0 },	/* break */
	{ EXC_TR, 0x000001f4, 0, SIGFPE, FPE_INTDIV, 0, 0, 0, 0 },	/* teq $0, $0, 7 */
	{ EXC_TR, 0x040c0000, 0, SIGTRAP, SI_KERNEL, 0, 0, 0, 0 },	/* teqi $0, 0 */
	{ EXC_RI, 0, 0, SIGILL, SI_KERNEL, 0, 0, 0, 0 },
	{ EXC_CPU, 0, 0, SIGILL, SI_KERNEL, 0, 0, 0, 0 },
	{ EXC_OV, 0, 0, SIGFPE, FPE_INTOVF, 0, 0, 0, 0 },
	{ EXC_FPE, 0, FCSR_CAUSE_Z | FCSR_CAUSE_I, SIGFPE, FPE_FLTDIV, 0, 0, 0, 0 },
	{ EXC_FPE, 0, FCSR_CAUSE_V | FCSR_CAUSE_Z, SIGFPE, FPE_FLTINV, 0, 0, 0, 0 },
	{ EXC_FPE, 0, FCSR_CAUSE_U, SIGFPE, FPE_FLTUND, 0, 0, 0, 0 },
	{ EXC_FPE, 0, FCSR_CAUSE_I, SIGFPE, FPE_FLTRES, 0, 0, 0, 0 },
};

static void test_faults(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
		const struct fault_case *c = &faults[i];
		struct mips_frame *f = frame_for(c->exc, 0x120002000, 0x7fff0000);
		struct dune_exit e = { 0 };

		mips_decode_frame(f, c->insn, c->fcsr, &e);
		CHECK(e.event == DUNE_EV_FAULT && e.fault.signo == c->signo && e.fault.code == c->code,
		      "exc %u insn %#x: event %d signal %d code %d", c->exc, c->insn, e.event,
		      e.fault.signo, e.fault.code);
		CHECK(e.fault.is_page_fault == c->page && e.fault.not_present == c->not_present &&
		      e.fault.write == c->write && e.fault.exec == c->exec && e.fault.pc == f->pc,
		      "exc %u: page %d not-present %d write %d exec %d", c->exc, e.fault.is_page_fault,
		      e.fault.not_present, e.fault.write, e.fault.exec);
		if (c->page)
			CHECK(e.fault.addr == 0x7fff0000, "exc %u: addr %#lx", c->exc,
			      (unsigned long)e.fault.addr);
	}
}

/* A fetch from an unmapped page: BadVAddr is the pc. */
static void test_exec_fault(void)
{
	struct mips_frame *f = frame_for(EXC_TLBL, 0x7fff0000, 0x7fff0000);
	struct dune_exit e = { 0 };

	mips_decode_frame(f, 0, 0, &e);
	CHECK(e.fault.exec && !e.fault.write, "an instruction fetch is an exec fault");
	f = frame_for(EXC_TLBL, 0x7ffefffc, 0x7fff0000);
	f->cause |= CAUSE_BD;
	mips_decode_frame(f, 0, 0, &e);
	CHECK(e.fault.exec, "a delay slot's fetch on the next page is an exec fault");
	f = frame_for(EXC_TLBL, 0x7ffefffc, 0x7fff0000);
	mips_decode_frame(f, 0, 0, &e);
	CHECK(!e.fault.exec, "a load is not an exec fault");
}

/* A break in the program's memory, read by the backend as Linux's do_bp() reads it. */
static void test_break_read(void)
{
	static const uint32_t code[2] = { 0x10000003, 0x0007000d };	/* b +4; break 7 (delay slot) */
	struct mips_frame *f = frame_for(EXC_BP, (uintptr_t)code, 0);
	struct dune_exit e;

	f->cause |= CAUSE_BD;
	mmio_exit(MIPS_EXIT_GPA, 1);
	e = decode();
	if (dune_guest_copy_check()) {
		/* qemu-user has no process_vm_readv: the instruction reads as 0 */
		printf("# no process_vm_readv here: checked that an unreadable break is SIGTRAP\n");
		CHECK(e.event == DUNE_EV_FAULT && e.fault.signo == SIGTRAP, "signal %d",
		      e.fault.signo);
		return;
	}
	CHECK(e.event == DUNE_EV_FAULT && e.fault.signo == SIGFPE && e.fault.code == FPE_INTDIV,
	      "break 7 in a delay slot: signal %d code %d", e.fault.signo, e.fault.code);
}

static void test_exits(void)
{
	struct mips_frame *f = frame_for(EXC_TLBS, 0x1000, 0x2000);
	struct dune_exit e;

	mmio_exit(MIPS_EXIT_GPA, 1);
	e = decode();
	CHECK(e.event == DUNE_EV_FAULT && e.fault.is_page_fault && f->flush == MIPS_FLUSH_ONE,
	      "a page fault drops the entry the refill left (flush %lu)", (unsigned long)f->flush);
	frame_for(EXC_INT, 0x1000, 0);
	e = decode();
	CHECK(e.event == DUNE_EV_INTR, "an interrupt: event %d", e.event);
	mmio_exit(0x12345000, 1);
	e = decode();
	CHECK(e.event == DUNE_EV_MMIO && e.mmio_gpa == 0x12345000, "another hole: event %d", e.event);
	mmio_exit(MIPS_EXIT_GPA, 0);
	e = decode();
	CHECK(e.event == DUNE_EV_MMIO, "a load from the exit hole is no exit: event %d", e.event);
	run.exit_reason = KVM_EXIT_INTR;
	e = decode();
	CHECK(e.event == DUNE_EV_INTR && !mc.in_frame, "KVM_EXIT_INTR: event %d", e.event);
	run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	e = decode();
	CHECK(e.event == DUNE_EV_FATAL && e.why, "an unknown exit is fatal: event %d", e.event);
	frame_for(31, 0x1000, 0);
	mmio_exit(MIPS_EXIT_GPA, 1);
	e = decode();
	CHECK(e.event == DUNE_EV_FATAL, "a reserved exception code is fatal: event %d", e.event);
}

/*
 * clone's n64 order (CLONE_BACKWARDS: flags, stack, ptid, tls, ctid) as
 * lib/ reads it through DUNE_CLONE_ARG_*, and as the kernel (here qemu-user's
 * emulation of it) takes it from the raw syscall.
 */
static void test_clone_order(void)
{
	struct mips_frame *f = frame_for(EXC_SYS, 0x1000, 0);
	int ptid = 0, ctid = 0, status = -1;
	struct dune_exit e;
	long pid;

	f->regs[R_V0] = SYS_clone;
	for (int i = 0; i < 5; i++)
		f->regs[R_A0 + i] = 0xc0 + i;
	mmio_exit(MIPS_EXIT_GPA, 1);
	e = decode();
	CHECK(e.sys.args[DUNE_CLONE_ARG_TLS] == 0xc3 && e.sys.args[DUNE_CLONE_ARG_CTID] == 0xc4,
	      "tls %#lx ctid %#lx", e.sys.args[DUNE_CLONE_ARG_TLS], e.sys.args[DUNE_CLONE_ARG_CTID]);

	/* qemu-user ignores CLONE_PARENT_SETTID without CLONE_VM: ptid stays unchecked */
	long a[5] = { SIGCHLD | CLONE_CHILD_SETTID, 0, (long)&ptid };

	a[DUNE_CLONE_ARG_TLS] = 0;
	a[DUNE_CLONE_ARG_CTID] = (long)&ctid;
	pid = arch_raw_syscall(SYS_clone, a[0], a[1], a[2], a[3], a[4], 0);
	if (pid == 0)
		_exit(ctid == sys0(SYS_gettid) ? 0 : 1);
	CHECK(pid > 0, "clone: %ld", pid);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child found its tid at the child_tid argument: status %#x", status);
}

static void test_tls_and_start(void)
{
	struct dune_syscall sys = { .nr = SYS_set_thread_area, .args = { 0x7ff0001234 } };
	struct mips_frame *f = mc.frame;
	long ret = -1;

	CHECK(arch_syscall(&vcpu, &sys, &ret) == 1 && ret == 0 && f->tls == 0x7ff0001234,
	      "set_thread_area: tls %#lx", (unsigned long)f->tls);
	sys.nr = SYS_getpid;
	CHECK(arch_syscall(&vcpu, &sys, &ret) == 0, "getpid is lib/'s");

	for (int i = 0; i < 8; i++)
		mc.ctx.s[i] = 0x1600 + i;
	mc.ctx.gp = 0x28;
	mc.ctx.sp = 0x7fff1000;
	mc.ctx.fp = 0x30;
	mc.ctx.ra = 0x120003000;
	mc.ctx.tls = 0x7ff0005678;
	f->regs[R_V0] = 99;
	arch_vcpu_start(&vcpu);		/* no KVM vCPU: the frame is filled, the run refused */
	CHECK(f->regs[16] == 0x1600 && f->regs[23] == 0x1607 && f->regs[R_GP] == 0x28 &&
	      f->regs[R_SP] == 0x7fff1000 && f->regs[30] == 0x30 && f->regs[R_RA] == 0x120003000,
	      "callee-saved registers");
	CHECK(f->regs[R_V0] == 0 && f->pc == 0x120003000 && f->tls == 0x7ff0005678 &&
	      f->flush == MIPS_FLUSH_ALL, "dune_enter() returns 0 at its caller, TLS, flushed TLB");
	CHECK(arch_prepare_run(&vcpu) < 0, "without a vCPU the run is refused");
}

/*
 * Leaving and cloning without a KVM vCPU: the state saved at the syscall
 * (a fork child's) is what native code continues from, after the syscall;
 * a clone's child frame returns 0 there with its own stack and TLS.
 */
static void test_native_and_clone(void)
{
	struct mips_native *n = &mc.native;
	struct mips_frame *f = mc.frame;
	uint64_t pgd = f->pgd, exit = f->exit;

	memset(&mc.saved, 0, sizeof(mc.saved));
	for (int i = 1; i < 32; i++)
		mc.saved.regs[i] = 0x900 + i;
	mc.saved.pc = 0x120005000;
	mc.saved.hi = 7;
	mc.saved.tls = 0x7ff0009abc;
	mc.saved_fpu.fpr[3] = 0x3ff0000000000000ULL;
	mc.saved_fpu.fcsr = 0x800;
	mc.in_frame = 1;
	arch_capture_native(&vcpu);
	CHECK(n->regs[0] == 0 && n->regs[5] == 0x905 && n->regs[31] == 0x91f && n->hi == 7,
	      "native registers from the saved state");
	CHECK(n->pc == 0x120005004 && n->tls == 0x7ff0009abc &&
	      n->fpu.fpr[3] == 0x3ff0000000000000ULL && n->fpu.fcsr == 0x800,
	      "native pc after the syscall %#lx, TLS, FPU", (unsigned long)n->pc);
	arch_native_set(&vcpu, -EAGAIN, 0x7fff2000);
	CHECK(n->regs[R_V0] == EAGAIN && n->regs[R_A3] == 1 && n->regs[R_SP] == 0x7fff2000,
	      "native return value and stack");
	arch_native_set(&vcpu, 1234, 0);
	CHECK(n->regs[R_V0] == 1234 && n->regs[R_A3] == 0 && n->regs[R_SP] == 0x7fff2000,
	      "a pid, same stack");

	CHECK(arch_vcpu_restore(&vcpu, &vcpu, 0x7fff3000, 1, 0x7ff000cafe) == -EIO,
	      "restore without a KVM vCPU fails");
	CHECK(f->regs[R_V0] == 0 && f->regs[R_A3] == 0 && f->pc == 0x120005004 &&
	      f->regs[R_SP] == 0x7fff3000 && f->tls == 0x7ff000cafe && f->regs[16] == 0x910,
	      "the child's frame: 0 after the syscall, its stack and TLS");
	CHECK(f->pgd == pgd && f->exit == exit && f->flush == MIPS_FLUSH_ALL,
	      "the child keeps its block's table and exit, and flushes its TLB");
}

/*
 * exit.c takes the user state from KVM's registers where KVM_RUN stopped at
 * or before the exit: all of the refill (its tlbwr writes) must lie there.
 */
static void test_block_layout(void)
{
	const uint32_t *insn = (const uint32_t *)mips_guest_block;
	long exit = mips_block_offset(mips_guest_exit), tlbwr = 0, late = 0;

	CHECK(insn[exit / 4] == MIPS_INSN_EXIT_SD, "the exit store: %#x", insn[exit / 4]);
	CHECK(mips_block_offset(mips_guest_resume) == exit + 4, "the return path follows the exit");
	for (long i = 0; i < mips_block_offset(mips_guest_block_end) / 4; i++) {
		if (insn[i] != MIPS_INSN_TLBWR)
			continue;
		tlbwr++;
		late += i * 4 > exit;
	}
	CHECK(tlbwr == 2 && late == 0, "%ld tlbwr, %ld after the exit", tlbwr, late);
	CHECK(mips_block_offset(mips_guest_block_end) <= MIPS_FRAME_OFF, "code below the frame");

	uint64_t b = MIPS_KSEG0 | 0x2200000;

	CHECK(mips_state_at(b, 0x120000000) == MIPS_STATE_REGS, "user code: KVM's registers");
	CHECK(mips_state_at(b, b + 0x80) == MIPS_STATE_REGS_EPC &&
	      mips_state_at(b, b + 0x180) == MIPS_STATE_REGS_EPC &&
	      mips_state_at(b, b + exit) == MIPS_STATE_REGS_EPC, "refill, saving, at the exit: EPC");
	CHECK(mips_state_at(b, b + exit + 4) == MIPS_STATE_FRAME &&
	      mips_state_at(b, b + MIPS_BLOCK_SIZE - 4) == MIPS_STATE_FRAME, "past the exit: the frame");
	CHECK(mips_state_at(b, b + MIPS_BLOCK_SIZE) == MIPS_STATE_REGS, "the next block is not ours");
}

int main(void)
{
	vm.area = block;	/* only mips_kseg0() arithmetic uses it */
	vm.area_gpa = DUNE_GPA_BASE + DUNE_AREA_GUEST;
	vm.arch = &mv;
	vcpu.vm = &vm;
	vcpu.fd = -1;
	vcpu.run = &run;
	vcpu.arch = &mc;
	mc.block = block;
	mc.frame = mips_block_frame(block);
	mips_block_init(block, mips_table_entry(0x4000000), MIPS_KSEG1 | MIPS_EXIT_GPA);
	CHECK(mc.frame->exit == 0xffffffffa1000000 && mc.frame->pgd == 0x9800000004000000,
	      "block: exit %#lx pgd %#lx", (unsigned long)mc.frame->exit,
	      (unsigned long)mc.frame->pgd);
	CHECK(!memcmp(block + 0x180, mips_guest_block + 0x180, 64), "the vectors are copied");
	test_block_layout();
	test_syscall();
	test_faults();
	test_exec_fault();
	test_break_read();
	test_exits();
	test_clone_order();
	test_native_and_clone();
	test_tls_and_start();
	return finish();
}
