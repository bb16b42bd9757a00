// SPDX-License-Identifier: MIT
/*
 * Exit decoding without /dev/kvm: kvm_run images and guest stacks made up
 * here, for every place a vCPU can stand when KVM_RUN returns.  The
 * program's view of its registers must say whether a syscall was serviced;
 * an interrupted exception stub takes its exception; error-code vectors pop
 * their error code; a #GP from `int $n` is found at its instruction, the i386
 * system call for n = 0x80; a TLB flush that cannot be done stays pending.
 */
#include <stdlib.h>

#include "check.h"
#include "dune-internal.h"
#include "x86.h"

static struct dune_vm *vm;
static struct dune_vcpu *vcpu;
static uint8_t *ka;
static uint64_t stack[64];

static struct kvm_regs *guest(void)
{
	return &vcpu->run->s.regs.regs;
}

static void setup(void)
{
	struct x86_vm *xv = calloc(1, sizeof(*xv));

	vm = calloc(1, sizeof(*vm));
	vcpu = calloc(1, sizeof(*vcpu));
	ka = aligned_alloc(DUNE_PAGE_SIZE, KA_PAGES * DUNE_PAGE_SIZE);
	if (!xv || !vm || !vcpu || !ka)
		exit(2);
	xv->ka = ka;
	vm->arch = xv;
	vcpu->vm = vm;
	vcpu->fd = -1;			/* every ioctl fails */
	vcpu->arch = calloc(1, sizeof(struct x86_vcpu));
	vcpu->run = calloc(1, sizeof(struct kvm_run));
	if (!vcpu->arch || !vcpu->run)
		exit(2);
	x86_vcpu(vcpu)->kv = aligned_alloc(DUNE_PAGE_SIZE, KV_PAGES * DUNE_PAGE_SIZE);
	if (!x86_vcpu(vcpu)->kv)
		exit(2);
}

/* A fresh stop: what arch_prepare_run() leaves before KVM_RUN. */
static void stop_at(uint64_t rip)
{
	CHECK(arch_prepare_run(vcpu) == 0, "arch_prepare_run");
	memset(guest(), 0, sizeof(*guest()));
	guest()->rip = rip;
	guest()->rax = 1;		/* write */
	guest()->rcx = 0x401002;	/* after the program's syscall at 0x401000 */
	guest()->r11 = 0x246;
	guest()->rsp = 0x7ff000;
	vcpu->run->kvm_dirty_regs = 0;
}

static void check_syscall_stub(void)
{
	uint64_t stub = (uint64_t)ka + KA_SYSCALL;
	struct kvm_regs user;
	struct dune_exit e;

	/* interrupted at the out: not serviced, the program stands at its syscall */
	stop_at(stub);
	x86_user_regs(vcpu, guest(), &user);
	CHECK(user.rip == 0x401000 && user.rax == 1 && user.rflags == 0x246,
	      "at the stub's out: rip %#llx rax %lld rflags %#llx", user.rip, user.rax,
	      user.rflags);

	/* past the out (kvm_pvm's RIP after the exit, or sysretq next): done */
	stop_at(stub + STUB_OUT_LEN);
	x86_user_regs(vcpu, guest(), &user);
	CHECK(user.rip == 0x401002, "past the stub's out: rip %#llx", user.rip);

	/* the syscall exit itself, hardware style (RIP at the out) */
	stop_at(stub);
	vcpu->run->exit_reason = KVM_EXIT_IO;
	vcpu->run->io.direction = KVM_EXIT_IO_OUT;
	vcpu->run->io.port = DUNE_X86_PORT_SYSCALL;
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_SYSCALL && e.sys.nr == 1 && e.sys.ip == 0x401002,
	      "syscall exit: event %d nr %ld ip %#lx", e.event, e.sys.nr, (long)e.sys.ip);
	CHECK(guest()->rip == stub + STUB_OUT_LEN &&
	      (vcpu->run->kvm_dirty_regs & KVM_SYNC_X86_REGS),
	      "syscall exit: RIP %#llx not stepped over the out", guest()->rip);
	x86_user_regs(vcpu, guest(), &user);
	CHECK(user.rip == 0x401002, "after the syscall exit: rip %#llx", user.rip);
}

/* An exception frame on the guest-kernel stack: [error code,] rip cs rflags rsp ss. */
static uint64_t *push_frame(int with_error)
{
	uint64_t *f = stack + 32;

	f[0] = 0xe;
	f[with_error + 0] = 0x402000;
	f[with_error + 1] = 0x33;
	f[with_error + 2] = 0x202;
	f[with_error + 3] = 0x7fe000;
	f[with_error + 4] = 0x2b;
	return f;
}

static void check_exception_stubs(void)
{
	uint64_t stubs = (uint64_t)ka + KA_EXC;
	struct kvm_regs user;
	struct dune_exit e;

	/* interrupted before #GP's out: the exception is taken now */
	stop_at(stubs + 13 * EXC_STUB_SIZE);
	guest()->rsp = (uint64_t)push_frame(1);
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_FAULT && e.fault.signo == SIGSEGV && e.fault.pc == 0x402000,
	      "interrupted #GP stub: event %d signo %d pc %#lx", e.event, e.fault.signo,
	      (long)e.fault.pc);
	CHECK(guest()->rip == stubs + 13 * EXC_STUB_SIZE + STUB_OUT_LEN,
	      "interrupted #GP stub: RIP %#llx not past the out", guest()->rip);

	/* interrupted past #PF's out, its error code not popped yet */
	stop_at(stubs + 14 * EXC_STUB_SIZE + STUB_OUT_LEN);
	guest()->rsp = (uint64_t)push_frame(1);
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	arch_decode_exit(vcpu, &e);
	x86_user_regs(vcpu, guest(), &user);
	CHECK(e.event == DUNE_EV_INTR && user.rip == 0x402000 && user.rsp == 0x7fe000,
	      "past #PF's out: event %d rip %#llx rsp %#llx", e.event, user.rip, user.rsp);

	/* #CP (21) and #VC (29) push error codes; #DE (0) does not */
	for (int v = 0; v < NR_VECTORS; v++) {
		int with_error = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 ||
				 v == 30;

		if (v == 14)	/* reads CR2 through KVM_GET_SREGS */
			continue;
		stop_at((uint64_t)ka + KA_EXC + v * EXC_STUB_SIZE);
		guest()->rsp = (uint64_t)push_frame(with_error);
		vcpu->run->exit_reason = KVM_EXIT_IO;
		vcpu->run->io.direction = KVM_EXIT_IO_OUT;
		vcpu->run->io.port = DUNE_X86_PORT_EXC + v;
		arch_decode_exit(vcpu, &e);
		CHECK(e.fault.pc == 0x402000, "vector %d: pc %#lx (error code %s)", v,
		      (long)e.fault.pc, with_error ? "pushed" : "none");
	}
}

/* A #GP of vector 13 with this error code, its frame's RIP at rip. */
static void gp_exit(uint64_t error, uint64_t rip, struct dune_exit *e)
{
	uint64_t *f = push_frame(1);

	f[0] = error;
	f[1] = rip;
	stop_at((uint64_t)ka + KA_EXC + 13 * EXC_STUB_SIZE);
	guest()->rsp = (uint64_t)f;
	guest()->rax = 20;		/* i386 getpid */
	guest()->rbx = 0xffffffff00000001;
	vcpu->run->exit_reason = KVM_EXIT_IO;
	vcpu->run->io.direction = KVM_EXIT_IO_OUT;
	vcpu->run->io.port = DUNE_X86_PORT_EXC + 13;
	arch_decode_exit(vcpu, e);
}

static void check_int_gp(void)
{
	static const uint8_t code[] = { 0x90, 0x90, 0xcd, 0x80, 0xcd, 0x0d, 0x90 };
	uint64_t at = (uint64_t)code;
	struct dune_exit e;

	/* hardware names vector 0x80 as 0x80*8+2, QEMU's TCG as 0x80*16+2 */
	for (uint64_t error = 0x402; error <= 0x802; error += 0x400) {
		gp_exit(error, at + 2, &e);
		CHECK(e.event == DUNE_EV_SYSCALL && e.sys.compat_arch && e.sys.nr == 20 &&
		      e.sys.args[0] == 1 && e.sys.ip == at + 4,
		      "int $0x80, error %#lx: event %d nr %ld arg0 %#lx ip %+ld", (long)error,
		      e.event, e.sys.nr, e.sys.args[0], (long)(e.sys.ip - at));
	}
	/* int $0x0d reported past itself (nested SVM): SIGSEGV at the instruction */
	gp_exit(0x6a, at + 6, &e);
	CHECK(e.event == DUNE_EV_FAULT && e.fault.signo == SIGSEGV && e.fault.pc == at + 4,
	      "int $0x0d: event %d signo %d pc %+ld", e.event, e.fault.signo,
	      (long)(e.fault.pc - at));
	/* a #GP naming another vector than the bytes: not an int $0x80 */
	gp_exit(0x40a, at + 2, &e);
	CHECK(e.event == DUNE_EV_FAULT && e.fault.pc == at + 2,
	      "#GP(0x40a) at int $0x80: event %d pc %+ld", e.event, (long)(e.fault.pc - at));
}

static void check_flush_kept(void)
{
	vcpu->flush_pending = 1;
	CHECK(arch_prepare_run(vcpu) != 0, "a TLB flush without KVM_GET_SREGS succeeded");
	CHECK(vcpu->flush_pending, "a TLB flush that failed is no longer pending");
	vcpu->flush_pending = 0;
}

int main(void)
{
	setup();
	check_syscall_stub();
	check_exception_stubs();
	check_int_gp();
	check_flush_kept();
	return finish();
}
