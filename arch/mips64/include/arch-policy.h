/* SPDX-License-Identifier: MIT */
/*
 * MIPS64 (n64) facts a dune-run policy filter (lib/policy.c) is built from;
 * see arch/x86_64/include/arch-policy.h.  o32 and n32 calls come with
 * AUDIT_ARCHes of their own, which the filter kills.  The page sits below
 * 2^40, the smallest user address space of MIPS64 CPUs.
 */
#ifndef DUNE_ARCH_POLICY_H
#define DUNE_ARCH_POLICY_H

#define DUNE_FORWARD_PAGE	0x7d0e000000UL
#define DUNE_FORWARD_IP		(DUNE_FORWARD_PAGE + 4)	/* after its `syscall` */
#define DUNE_SCMP_ARCH		"SCMP_ARCH_MIPSEL64"
#define DUNE_PROFILE_ARCH	"mips64le"

/* What glibc's loader issues natively on MIPS64 besides the asm-generic calls. */
#define DUNE_ARCH_NATIVE_SYSCALLS(X)	\
	X(access) X(open) X(stat) X(lstat) X(readlink) X(getrlimit) X(dup2) X(fork) X(poll)

#endif /* DUNE_ARCH_POLICY_H */
