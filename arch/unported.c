// SPDX-License-Identifier: MIT
/*
 * The lib/arch.h backend of an ISA whose guest half is not written yet
 * (MIPS64; LoongArch64 has its own): it builds, so lib/, the tools and the
 * tests are cross-compiled and their ISA-neutral logic runs under qemu-user, but it
 * refuses every VM.  arch_vm_init() is the first backend call dune_enter()
 * makes, so no other function here is reached: those that return a value
 * fail with -ENOSYS all the same, the others end the process with a message.
 * The ISA's own files (arch/<isa>/) give its raw syscall and ABI constants.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "dune-internal.h"

#define UNPORTED	"the " DUNE_ARCH_NAME " backend cannot run a guest yet"

static int unported(void)
{
	return dune_fail(-ENOSYS, UNPORTED ": its vCPU set-up, guest vectors, page tables "
			 "and exit decoding are not written (see README.md)");
}

/* Not reached (no VM exists): say so rather than go on with no vCPU. */
static void __attribute__((noreturn)) not_reached(const char *fn)
{
	dune_log(UNPORTED ": %s reached", fn);
	for (;;)
		sys1(SYS_exit_group, 127);
}

size_t arch_vm_size(void) { return 0; }
size_t arch_vcpu_size(void) { return 0; }
size_t arch_area_pages(void) { return 0; }
int arch_vm_init(struct dune_vm *vm) { (void)vm; return unported(); }
int arch_vcpu_init(struct dune_vcpu *vcpu) { (void)vcpu; return unported(); }
int arch_vcpu_reenter(struct dune_vcpu *vcpu) { (void)vcpu; return unported(); }
unsigned int arch_guest_phys_bits(struct dune_vm *vm) { (void)vm; return 0; }

int arch_map(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, int prot)
{
	(void)vm, (void)va, (void)gpa, (void)len, (void)prot;
	return unported();
}

int arch_unmap(struct dune_vm *vm, uintptr_t va, size_t len)
{
	(void)vm, (void)va, (void)len;
	return unported();
}

int arch_pt_reset(struct dune_vm *vm) { (void)vm; return unported(); }

int arch_is_mapped(struct dune_vm *vm, uintptr_t va, size_t len)
{
	(void)vm, (void)va, (void)len;
	return 0;
}

void arch_pt_prune(struct dune_vm *vm) { (void)vm; }

int arch_enter(struct dune_vcpu *vcpu, void *host_stack_top)
{
	(void)vcpu, (void)host_stack_top;
	return unported();
}

void arch_call_on_stack(void *host_stack_top, void (*fn)(struct dune_vcpu *),
			struct dune_vcpu *vcpu)
{
	(void)host_stack_top, (void)fn, (void)vcpu;
	not_reached(__func__);
}

void arch_vcpu_start(struct dune_vcpu *vcpu) { (void)vcpu; not_reached(__func__); }
long arch_prepare_run(struct dune_vcpu *vcpu) { (void)vcpu; return unported(); }

void arch_decode_exit(struct dune_vcpu *vcpu, struct dune_exit *exit)
{
	(void)vcpu;
	exit->event = DUNE_EV_FATAL;
	exit->why = UNPORTED;
}

void arch_syscall_return(struct dune_vcpu *vcpu, long ret)
{
	(void)vcpu, (void)ret;
	not_reached(__func__);
}

/* No ISA intercept: lib/ forwards the syscall. */
int arch_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long *ret)
{
	(void)vcpu, (void)sys, (void)ret;
	return 0;
}

void arch_capture_native(struct dune_vcpu *vcpu) { (void)vcpu; not_reached(__func__); }

void arch_native_set(struct dune_vcpu *vcpu, long ret, uintptr_t sp)
{
	(void)vcpu, (void)ret, (void)sp;
	not_reached(__func__);
}

void arch_resume_native(struct dune_vcpu *vcpu) { (void)vcpu; not_reached(__func__); }
int arch_vcpu_save(struct dune_vcpu *vcpu) { (void)vcpu; return unported(); }

int arch_vcpu_restore(struct dune_vcpu *vcpu, struct dune_vcpu *from, uintptr_t stack,
		      int settls, unsigned long tls)
{
	(void)vcpu, (void)from, (void)stack, (void)settls, (void)tls;
	return unported();
}

long arch_clone_thread(struct dune_vcpu *child, unsigned long flags, long ptid, long ctid,
		       long tls)
{
	(void)child, (void)flags, (void)ptid, (void)ctid, (void)tls;
	return unported();
}

int arch_signal_deliver(struct dune_vcpu *vcpu, const siginfo_t *info,
			const struct dune_sigaction *act, uint64_t old_mask, int restart,
			long restart_nr)
{
	(void)vcpu, (void)info, (void)act, (void)old_mask, (void)restart, (void)restart_nr;
	return unported();
}

int arch_sigreturn(struct dune_vcpu *vcpu, uint64_t *mask, long *ret)
{
	(void)vcpu, (void)mask, (void)ret;
	return unported();
}

void arch_exit_thread(int *busy, long status)
{
	(void)busy, (void)status;
	not_reached(__func__);
}

long arch_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	(void)vcpu, (void)sys;
	return unported();
}

/* The host loop forwards nothing without a VM. */
long arch_forward_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5,
			  const void *insn)
{
	(void)nr, (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)insn;
	not_reached(__func__);
}

const char arch_forward_template[1];
const size_t arch_forward_template_size;
