// SPDX-License-Identifier: MIT
/*
 * The i386 system call ABI, `int $0x80`, which Linux x86-64 (with IA32
 * emulation) accepts from 64-bit and 32-bit code alike.  dune runs such a call
 * natively, as the same `int $0x80` issued by the host loop with the program's
 * registers: the kernel's compat layer then does exactly what it would for the
 * program (i386 numbers, 32-bit structures and results, AUDIT_ARCH_I386 for a
 * native seccomp filter).  dune's intercepts (lib/syscalls.h) speak x86-64
 * numbers: an i386 call that would need one is served as the x86-64 call
 * where the kernel's function is the same (X86_COMPAT_NATIVE), and refused
 * with ENOSYS otherwise.
 * Host loop: raw syscalls only.  (No <sys/syscall.h> here: its __NR_* are
 * x86-64's.)
 */
#include <asm/unistd_32.h>
#include <errno.h>

#include "dune-internal.h"
#include "x86.h"

/*
 * What dune intercepts natively (memory it mirrors, its fds, threads,
 * processes and images, signals, seccomp, vCPU state, RLIMIT_NOFILE), by
 * the i386 names of those calls and of their i386-only variants, and what
 * could reach dune's memory or fds past the checks the x86-64 calls get;
 * but those of X86_COMPAT_NATIVE.
 */
#define X86_COMPAT_REFUSED(X)						\
	X(mmap) X(mmap2) X(pkey_mprotect) X(mremap) X(brk)		\
	X(remap_file_pages) X(mlock2) X(ipc) X(shmat) X(shmdt)		\
	X(fcntl) X(fcntl64) X(ioctl)					\
	X(io_uring_setup) X(io_uring_enter) X(io_uring_register)	\
	X(process_vm_readv) X(process_vm_writev)			\
	X(clone) X(clone3) X(fork) X(vfork) X(execve) X(execveat)	\
	X(signal) X(sigaction) X(rt_sigaction) X(sigprocmask)		\
	X(rt_sigprocmask) X(sigreturn) X(rt_sigreturn)			\
	X(seccomp) X(prctl) X(arch_prctl) X(modify_ldt)			\
	X(set_thread_area) X(vm86) X(vm86old)				\
	X(setrlimit) X(prlimit64) X(getrlimit) X(ugetrlimit)

#define NR_I386_SYSCALLS	512
#define REFUSED(name)		[__NR_##name] = 1,
#define NATIVE(name)		[__NR_##name] = X86_COMPAT_##name + 1,

static const uint8_t refused[NR_I386_SYSCALLS] = { X86_COMPAT_REFUSED(REFUSED) };
static const uint8_t native[NR_I386_SYSCALLS] = { X86_COMPAT_NATIVE(NATIVE) };

/* As the x86-64 call of the same kernel function, through dune's table. */
static long serve_as_native(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_syscall n = *sys;

	n.nr = x86_compat_native_nr(native[sys->nr] - 1);
	n.compat_arch = 0;
	return dune_syscall_serve(vcpu, &n);
}

long arch_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct kvm_regs *g = &vcpu->run->s.regs.regs, r = *g;
	struct x86_vm *xv = x86_vm(vcpu->vm);

	if ((unsigned long)sys->nr < NR_I386_SYSCALLS && native[sys->nr])
		return serve_as_native(vcpu, sys);
	if ((unsigned long)sys->nr < NR_I386_SYSCALLS && refused[sys->nr]) {
		if (!xv->compat_refused++)
			dune_log("int $0x80: i386 system call %ld would need dune's intercept; "
				 "refused with ENOSYS (only the x86-64 ABI gets them)", sys->nr);
		return -ENOSYS;
	}
	x86_int80(&r);
	r.rsp = g->rsp;		/* not loaded: the host's */
	r.rip = g->rip;
	r.rflags = g->rflags;
	*g = r;
	vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return r.rax;
}
