// SPDX-License-Identifier: MIT
/*
 * Which syscall semantics does this KVM have?  Hardware VMX/SVM switch to CPL0
 * at LSTAR on a CPL3 `syscall`; the kvm_pvm fork stays at CPL3.  Run CPL3 code
 * that executes `syscall` with LSTAR at `out %al, $DUNE_X86_PORT_PROBE` on a user
 * page (SMEP off, so both semantics can execute it) and look at CS there.
 * The page is the syscall stub's, user code only where the stub must be.
 */
#include <errno.h>

#include "dune-internal.h"
#include "x86.h"

static int run_probe(struct dune_vcpu *vcpu)
{
	long r;

	do
		r = dune_ioctl(vcpu->fd, KVM_RUN, 0);
	while (r == -EINTR || r == -EAGAIN);
	if (r < 0)
		return dune_fail(r, "KVM_RUN (syscall probe): %s", dune_strerror(r));
	if (vcpu->run->exit_reason != KVM_EXIT_IO || vcpu->run->io.port != DUNE_X86_PORT_PROBE)
		return dune_fail(-EIO, "syscall probe: unexpected exit %u (port %#x)",
				 vcpu->run->exit_reason, vcpu->run->io.port);
	return 0;
}

/* Returns 1 (hardware), 0 (kvm_pvm) or -errno. */
int x86_probe_hw_semantics(struct dune_vcpu *vcpu, struct kvm_sregs *sregs)
{
	uint8_t *probe = x86_vm(vcpu->vm)->ka + KA_PROBE;
	struct kvm_regs regs = { .rip = (uint64_t)probe, .rflags = 0x2 };
	struct kvm_sregs s = *sregs;
	long err;

	probe[0] = 0x0f;	/* syscall */
	probe[1] = 0x05;
	probe[2] = 0x0f;	/* ud2: not reached */
	probe[3] = 0x0b;
	probe[0x800] = 0xe6;	/* out %al, $DUNE_X86_PORT_PROBE */
	probe[0x801] = DUNE_X86_PORT_PROBE;
	probe[0x802] = 0x0f;
	probe[0x803] = 0x0b;
	s.cr4 &= ~X86_CR4_SMEP;
	if (dune_ioctl(vcpu->fd, KVM_SET_SREGS, &s) || dune_ioctl(vcpu->fd, KVM_SET_REGS, &regs) ||
	    x86_set_msr(vcpu, MSR_LSTAR, (uint64_t)probe + 0x800) ||
	    x86_set_msr(vcpu, MSR_SFMASK, 0) ||
	    x86_set_msr(vcpu, MSR_STAR, ((uint64_t)GDT_USER_CS32 << 48) |
			((uint64_t)GDT_KERNEL_CS << 32)))
		return dune_fail(-EINVAL, "cannot set up the syscall probe");
	err = run_probe(vcpu);
	if (err)
		return err;
	err = dune_ioctl(vcpu->fd, KVM_GET_SREGS, &s);
	if (err)
		return dune_fail(err, "KVM_GET_SREGS (probe): %s", dune_strerror(err));
	return (s.cs.selector & 3) == 0;
}
