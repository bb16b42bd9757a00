// SPDX-License-Identifier: MIT
/*
 * The i386 system call ABI, `int $0x80`, which Linux x86-64 (with IA32
 * emulation) accepts from 64-bit and 32-bit code alike.  dune runs such a call
 * natively, as the same `int $0x80` issued by the host loop with the program's
 * registers: the kernel's compat layer then does exactly what it would for the
 * program (i386 numbers, 32-bit structures and results, AUDIT_ARCH_I386 for a
 * native seccomp filter).  dune's intercepts (lib/syscalls.h) speak x86-64
 * numbers; the i386 calls that would need one are refused with ENOSYS.
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
 * could reach dune's memory or fds past the checks the x86-64 calls get.
 */
#define X86_COMPAT_REFUSED(X)						\
	X(mmap) X(mmap2) X(munmap) X(mprotect) X(pkey_mprotect) X(mremap)	\
	X(brk) X(remap_file_pages) X(madvise) X(mlock) X(mlock2)	\
	X(munlock) X(mlockall) X(ipc) X(shmat) X(shmdt)			\
	X(close) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64) X(ioctl)	\
	X(close_range) X(io_uring_setup) X(io_uring_enter)		\
	X(io_uring_register) X(process_vm_readv) X(process_vm_writev)	\
	X(clone) X(clone3) X(fork) X(vfork) X(exit) X(exit_group)	\
	X(execve) X(execveat)						\
	X(signal) X(sigaction) X(rt_sigaction) X(sigprocmask)		\
	X(rt_sigprocmask) X(sigreturn) X(rt_sigreturn)			\
	X(seccomp) X(prctl) X(arch_prctl) X(modify_ldt)			\
	X(set_thread_area) X(vm86) X(vm86old)				\
	X(setrlimit) X(prlimit64) X(getrlimit) X(ugetrlimit)

#define NR_I386_SYSCALLS	512
#define REFUSED(name)		[__NR_##name] = 1,

static const uint8_t refused[NR_I386_SYSCALLS] = { X86_COMPAT_REFUSED(REFUSED) };

long arch_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct kvm_regs *g = &vcpu->run->s.regs.regs, r = *g;
	struct x86_vm *xv = x86_vm(vcpu->vm);

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
