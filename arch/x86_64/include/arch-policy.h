/* SPDX-License-Identifier: MIT */
/*
 * x86-64 facts a dune-run policy filter (lib/policy.c) is built from.  The
 * filter is installed before execve, so it cannot know where libraries will
 * be: the host loop forwards every program syscall from one instruction on a
 * page at a fixed address, which seccomp tells apart by the instruction
 * pointer it reports (the address after the `syscall`).
 */
#ifndef DUNE_ARCH_POLICY_H
#define DUNE_ARCH_POLICY_H

#define DUNE_FORWARD_PAGE	0x10d0e0000000UL	/* below PIE and mmap bases */
#define DUNE_FORWARD_IP		(DUNE_FORWARD_PAGE + 2)	/* after its `syscall` */
#define DUNE_SCMP_ARCH		"SCMP_ARCH_X86_64"	/* its name in seccomp profiles */
#define DUNE_PROFILE_ARCH	"amd64"			/* ... in their includes/excludes (Go's) */
/* From here on, numbers belong to another ABI (x32) that dune does not serve
 * (an ISA whose other ABIs have AUDIT_ARCHes of their own leaves it out). */
#define DUNE_FOREIGN_NR_MIN	0x40000000U		/* __X32_SYSCALL_BIT */

/*
 * What glibc's dynamic loader and start-up issue natively on x86-64 before
 * dune's constructor enters, besides the asm-generic calls of lib/policy.c.
 */
#define DUNE_ARCH_NATIVE_SYSCALLS(X)	\
	X(arch_prctl) X(access) X(open) X(stat) X(lstat) X(readlink) X(getrlimit) \
	X(dup2) X(fork) X(vfork) X(poll)

#endif /* DUNE_ARCH_POLICY_H */
